-- marts.dim_simd_vintage: the SIMD releases in the warehouse and the geography each is built
-- on. A DZ2022-based SIMD 2026 is a new row here, not a schema change.
CREATE OR REPLACE TABLE marts.dim_simd_vintage AS
SELECT
    c.vintage,
    c.dz_version,
    CAST(c.n_zones AS INTEGER) AS n_zones,
    c.published,
    c.population_year,
    c.notes,
    count(DISTINCT r.dz_code) AS dz_loaded
FROM read_csv($vintages_csv, header = true, all_varchar = true) AS c
JOIN staging.simd_rank AS r ON r.vintage = c.vintage
GROUP BY ALL
ORDER BY c.vintage;
