-- marts.geo_ward: multi-member ward polygons, EPSG:27700, WKB.
CREATE OR REPLACE TABLE marts.geo_ward AS
SELECT
    b.area_code AS ward_code,
    coalesce(w.ward_name, b.area_name) AS ward_name,
    w.council_code,
    CAST(b.area_km2 AS DOUBLE) AS area_km2,
    CAST(b.was_repaired AS BOOLEAN) AS was_repaired,
    b.geometry_wkb
FROM staging.boundary AS b
LEFT JOIN marts.dim_ward AS w ON w.ward_code = b.area_code
WHERE b.area_type = 'ward'
ORDER BY b.area_code;
