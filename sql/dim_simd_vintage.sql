-- marts.dim_simd_vintage: the SIMD releases in the warehouse and the geography each is built
-- on. A DZ2022-based SIMD 2026 is a new row here, not a schema change. A source folder that
-- declares its own universe (the synthetic demo) overrides n_zones for its vintages.
CREATE OR REPLACE TABLE marts.dim_simd_vintage AS
SELECT
    c.vintage,
    c.dz_version,
    CAST(coalesce(declared.n_zones, CAST(c.n_zones AS BIGINT)) AS INTEGER) AS n_zones,
    c.published,
    c.population_year,
    c.notes,
    count(DISTINCT r.dz_code) AS dz_loaded
FROM read_csv($vintages_csv, header = true, all_varchar = true) AS c
JOIN staging.simd_rank AS r ON r.vintage = c.vintage
LEFT JOIN (
    SELECT vintage, max(universe_n_zones) AS n_zones
    FROM raw.source_file
    WHERE role = 'primary' AND kind LIKE 'simd%'
    GROUP BY vintage
) AS declared ON declared.vintage = c.vintage
GROUP BY ALL
ORDER BY c.vintage;
