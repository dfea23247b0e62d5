-- marts.dim_postcode: postcode -> data zone -> best-fit ward and council. The ward the
-- postcode file itself gives (exact, not best-fit) is kept as `lookup_ward_code`.
-- `dz_method` is 'lookup'; the asset then fills data zones the lookup lacks by
-- point-in-polygon on the postcode's grid reference ('point_in_polygon').
CREATE OR REPLACE TABLE marts.dim_postcode AS
SELECT
    p.postcode,
    p.postcode_key,
    CASE WHEN d.dz_code IS NOT NULL THEN p.dz_code END AS dz_code,
    d.ward_code,
    d.council_code,
    p.ward_code AS lookup_ward_code,
    CAST(p.easting AS DOUBLE) AS easting,
    CAST(p.northing AS DOUBLE) AS northing,
    CAST(p.latitude AS DOUBLE) AS latitude,
    CAST(p.longitude AS DOUBLE) AS longitude,
    CAST(p.is_live AS BOOLEAN) AS is_live,
    d.dz_code IS NOT NULL AS dz_known,
    CASE WHEN d.dz_code IS NOT NULL THEN 'lookup' END AS dz_method
FROM staging.postcode AS p
LEFT JOIN marts.dim_datazone AS d ON d.dz_code = p.dz_code
ORDER BY p.postcode_key;
