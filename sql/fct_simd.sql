-- marts.fct_simd: SIMD ranks, long. Ranks are national (1 = most deprived of the vintage's
-- n_zones); compare vintages only through shares in deprived bands, never rank differences.
CREATE OR REPLACE TABLE marts.fct_simd AS
SELECT
    dz_code,
    vintage,
    domain,
    CAST(rank AS DOUBLE) AS rank,
    CAST(decile AS INTEGER) AS decile,
    CAST(quintile AS INTEGER) AS quintile,
    CAST(vigintile AS INTEGER) AS vigintile
FROM staging.simd_rank
ORDER BY vintage, domain, dz_code;
