-- marts.dim_ward: multi-member wards (best-fit aggregation of data zones).
CREATE OR REPLACE TABLE marts.dim_ward AS
SELECT
    ward_code,
    any_value(ward_name) AS ward_name,
    any_value(council_code) AS council_code,
    any_value(council_name) AS council_name,
    count(*) AS dz_count,
    sum(population) AS population
FROM marts.dim_datazone
GROUP BY ward_code
ORDER BY ward_code;
