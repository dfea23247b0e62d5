-- marts.geo_datazone: data zone polygons, EPSG:27700, WKB.
CREATE OR REPLACE TABLE marts.geo_datazone AS
SELECT
    b.area_code AS dz_code,
    coalesce(d.dz_name, b.area_name) AS dz_name,
    d.ward_code,
    d.council_code,
    CAST(b.area_km2 AS DOUBLE) AS area_km2,
    CAST(b.was_repaired AS BOOLEAN) AS was_repaired,
    b.geometry_wkb
FROM staging.boundary AS b
LEFT JOIN marts.dim_datazone AS d ON d.dz_code = b.area_code
WHERE b.area_type = 'dz'
ORDER BY b.area_code;
