-- marts.dim_datazone: one row per data zone with its place in the geography hierarchy.
-- Population is the NRS estimate for $population_year (NULL = the latest year loaded),
-- falling back to the population the latest SIMD vintage was built on.
CREATE OR REPLACE TABLE marts.dim_datazone AS
WITH nrs AS (
    SELECT
        area_code AS dz_code,
        CAST(population AS BIGINT) AS population,
        CAST(year AS INTEGER) AS year,
        row_number() OVER (PARTITION BY area_code ORDER BY CAST(year AS INTEGER) DESC) AS newest
    FROM staging.population
    WHERE area_code LIKE 'S01%' AND sex = 'all' AND age_band = 'all'
      AND ($population_year IS NULL OR CAST(year AS INTEGER) = $population_year)
),
simd AS (
    SELECT
        dz_code,
        CAST(total_population AS BIGINT) AS population,
        vintage,
        row_number() OVER (PARTITION BY dz_code ORDER BY vintage DESC) AS newest
    FROM staging.simd_population
)
SELECT
    l.dz_code,
    l.dz_name,
    l.iz_code,
    l.iz_name,
    l.ward_code,
    l.ward_name,
    l.council_code,
    l.council_name,
    CAST(l.urban_rural_6 AS INTEGER) AS urban_rural_6,
    coalesce(nrs.population, simd.population) AS population,
    CASE
        WHEN nrs.population IS NOT NULL THEN 'NRS mid-' || nrs.year
        WHEN simd.population IS NOT NULL THEN 'SIMD ' || simd.vintage
    END AS population_source
FROM staging.dz_lookup AS l
LEFT JOIN nrs ON nrs.dz_code = l.dz_code AND nrs.newest = 1
LEFT JOIN simd ON simd.dz_code = l.dz_code AND simd.newest = 1
ORDER BY l.dz_code;
