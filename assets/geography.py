"""Geography assets: the data zone hierarchy, wards, councils, postcodes and polygons.

What belongs here: the marts that place everything on data zones, multi-member wards and
councils, and the checks that catch a broken hierarchy (a data zone in two wards, a
population that no longer adds up to the published total, an invalid polygon).
"""

from __future__ import annotations

import dagster as dg
import shapely

from assets._io import DUCKDB_POOL, OWNERS, check_result, table_metadata
from assets.models import sql_model_asset
from assets.sources import stg_boundary, stg_dz_lookup, stg_population, stg_postcode
from pipelines.resources import WarehouseResource
from profiles import geocode
from profiles import warehouse as wh

GROUP = "geography"

dim_datazone = sql_model_asset(
    "dim_datazone",
    group=GROUP,
    deps=[stg_dz_lookup, stg_population, ["staging", "simd_population"]],
    params=lambda sources: {"population_year": None},
    description="Data zones (DZ2011) with intermediate zone, multi-member ward, council, "
    "urban-rural 6-fold class and population (latest NRS estimate, else SIMD's). "
    "Part of the data contract.",
)
dim_ward = sql_model_asset(
    "dim_ward",
    group=GROUP,
    deps=[dim_datazone],
    description="Multi-member wards with their council, data zone count and population "
    "(best-fit aggregation of data zones).",
)
dim_council = sql_model_asset(
    "dim_council",
    group=GROUP,
    deps=[dim_datazone],
    description="Council areas with their data zone, intermediate zone and ward counts and "
    "population.",
)
geo_datazone = sql_model_asset(
    "geo_datazone",
    group=GROUP,
    deps=[stg_boundary, dim_datazone],
    description="Data zone polygons in British National Grid (EPSG:27700) as WKB.",
)
geo_ward = sql_model_asset(
    "geo_ward",
    group=GROUP,
    deps=[stg_boundary, dim_ward],
    description="Multi-member ward polygons in British National Grid (EPSG:27700) as WKB.",
)


@dg.asset_check(
    asset=dim_datazone,
    description="Every data zone maps to exactly one ward "
    "and one council, and codes have the right GSS prefixes.",
)
def dim_datazone_hierarchy(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        failures = con.execute(
            """
            SELECT dz_code, count(*) AS rows, count(DISTINCT ward_code) AS wards,
                   count(DISTINCT council_code) AS councils,
                   any_value(ward_code) AS ward_code, any_value(council_code) AS council_code
            FROM marts.dim_datazone
            GROUP BY dz_code
            HAVING rows <> 1 OR wards <> 1 OR councils <> 1
                OR any_value(ward_code) IS NULL OR any_value(council_code) IS NULL
                OR NOT regexp_matches(dz_code, '^S01[0-9]{6}$')
                OR NOT regexp_matches(any_value(ward_code), '^S13[0-9]{6}$')
                OR NOT regexp_matches(any_value(council_code), '^S12[0-9]{6}$')
            """
        ).fetchdf()
        counts = con.execute(
            "SELECT count(*), count(DISTINCT ward_code), count(DISTINCT council_code) "
            "FROM marts.dim_datazone"
        ).fetchone()
    return check_result(
        failures.empty,
        "one row per data zone; one ward and one council each",
        failures=failures,
        data_zones=int(counts[0]),
        wards=int(counts[1]),
        councils=int(counts[2]),
    )


@dg.asset_check(
    asset=dim_datazone,
    description="Data zone populations add up to the published "
    "council and Scotland totals of the same year and file.",
)
def dim_datazone_population_sums(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        comparison = con.execute(
            """
            WITH published AS (
                SELECT area_code, year, CAST(population AS BIGINT) AS published
                FROM staging.population
                WHERE sex = 'all' AND age_band = 'all'
                  AND (area_code LIKE 'S12%' OR area_code = 'S92000003')
            ),
            dz AS (
                SELECT p.year, d.council_code, CAST(p.population AS BIGINT) AS population
                FROM staging.population AS p
                JOIN marts.dim_datazone AS d ON d.dz_code = p.area_code
                WHERE p.sex = 'all' AND p.age_band = 'all'
            ),
            summed AS (
                SELECT year, council_code AS area_code, sum(population) AS dz_sum
                FROM dz GROUP BY ALL
                UNION ALL
                SELECT year, 'S92000003', sum(population) FROM dz GROUP BY ALL
            )
            SELECT p.area_code, p.year, p.published, s.dz_sum, s.dz_sum - p.published AS diff
            FROM published AS p JOIN summed AS s USING (area_code, year)
            ORDER BY abs(s.dz_sum - p.published) DESC, p.area_code
            """
        ).fetchdf()
    failures = comparison[comparison["diff"] != 0]
    return check_result(
        failures.empty,
        "sum of data zone populations equals each published council/Scotland total "
        "(same year); years without published totals are not compared",
        failures=failures,
        totals_compared=len(comparison),
    )


@dg.asset_check(
    asset=geo_datazone,
    description="Polygons are valid, non-empty, in "
    "EPSG:27700 (coordinates in the British National Grid range), one per data zone.",
)
def geo_datazone_valid(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        frame = con.execute(
            "SELECT dz_code, geometry_wkb FROM marts.geo_datazone ORDER BY dz_code"
        ).fetchdf()
        unmatched = con.execute(
            "SELECT count(*) FROM marts.geo_datazone WHERE ward_code IS NULL"
        ).fetchone()[0]
    if frame.empty:
        return check_result(True, "no data zone polygons among the sources", polygons=0)
    geoms = shapely.from_wkb(frame["geometry_wkb"].map(bytes).to_numpy())
    bounds = shapely.bounds(geoms)
    in_bng = (
        (bounds[:, 0] >= 0)
        & (bounds[:, 2] <= 700_000)
        & (bounds[:, 1] >= 0)
        & (bounds[:, 3] <= 1_300_000)
    )
    bad = ~shapely.is_valid(geoms) | shapely.is_empty(geoms) | ~in_bng
    failures = frame.loc[bad, ["dz_code"]]
    duplicates = int(frame["dz_code"].duplicated().sum())
    return check_result(
        failures.empty and duplicates == 0,
        "valid, non-empty polygons inside the British National Grid extent",
        failures=failures,
        polygons=len(frame),
        duplicates=duplicates,
        polygons_without_lookup_match=int(unmatched),
    )


@dg.asset(
    key_prefix=["marts"],
    name="dim_postcode",
    group_name=GROUP,
    owners=OWNERS,
    deps=[stg_postcode, dim_datazone, geo_datazone],
    pool=DUCKDB_POOL,
    tags={"dagster/kind/duckdb": "", "dagster/kind/sql": "", "dagster/kind/shapely": ""},
    description="Postcode → data zone → best-fit ward and council, for geocoding survey "
    "responses; the postcode file's own (exact) ward is kept alongside. Where the lookup "
    "gives no known data zone but a grid reference, the data zone is found by "
    "point-in-polygon (`dz_method`).",
)
def dim_postcode(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        wh.run_model(con, "dim_postcode")
        missing = con.execute(
            "SELECT postcode_key, easting, northing FROM marts.dim_postcode "
            "WHERE NOT dz_known AND easting IS NOT NULL AND northing IS NOT NULL"
        ).fetchdf()
        zones = con.execute("SELECT dz_code, geometry_wkb FROM marts.geo_datazone").fetchdf()
        located = 0
        if len(missing) and len(zones):
            missing["dz_code"] = geocode.locate_points(
                missing["easting"],
                missing["northing"],
                geocode.polygons_from_wkb(zones["geometry_wkb"]),
                list(zones["dz_code"]),
            )
            found = missing.dropna(subset=["dz_code"])[["postcode_key", "dz_code"]]
            located = len(found)
            if located:
                con.register("_located", found)
                try:
                    with wh.transaction(con):
                        con.execute(
                            """
                            UPDATE marts.dim_postcode AS p
                            SET dz_code = l.dz_code, ward_code = d.ward_code,
                                council_code = d.council_code, dz_known = true,
                                dz_method = 'point_in_polygon'
                            FROM _located AS l JOIN marts.dim_datazone AS d USING (dz_code)
                            WHERE p.postcode_key = l.postcode_key
                            """
                        )
                finally:
                    con.unregister("_located")
        metadata = table_metadata(
            con,
            "marts",
            "dim_postcode",
            extra={
                "located_by_point_in_polygon": located,
                "without_data_zone": int(len(missing) - located),
            },
        )
    metadata["sql_model"] = dg.MetadataValue.path("sql/dim_postcode.sql")
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(
    asset=dim_postcode, description="Live postcodes resolve to a known data zone.", blocking=False
)
def dim_postcode_resolves(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        total, live, unknown = con.execute(
            "SELECT count(*), count(*) FILTER (is_live), "
            "count(*) FILTER (is_live AND NOT dz_known) FROM marts.dim_postcode"
        ).fetchone()
        failures = con.execute(
            "SELECT postcode, dz_code FROM marts.dim_postcode "
            "WHERE is_live AND NOT dz_known LIMIT 20"
        ).fetchdf()
    return check_result(
        unknown == 0,
        "every live postcode points at a data zone in dim_datazone",
        severity=dg.AssetCheckSeverity.WARN,
        failures=failures,
        postcodes=int(total),
        live=int(live),
        live_with_unknown_dz=int(unknown),
    )
