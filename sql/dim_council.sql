-- marts.dim_council: council areas with their data zone, ward and population totals.
CREATE OR REPLACE TABLE marts.dim_council AS
SELECT
    council_code,
    any_value(council_name) AS council_name,
    count(*) AS dz_count,
    count(DISTINCT iz_code) AS iz_count,
    count(DISTINCT ward_code) AS ward_count,
    sum(population) AS population
FROM marts.dim_datazone
GROUP BY council_code
ORDER BY council_code;
