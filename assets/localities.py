"""Locality assets: localities, the data zone bridge, coverage, and the ward cross-check.

What belongs here: materializing `profiles.localities` for the councils in scope (all, or
the one named by `--council`), and the checks that report overlapping or missing coverage
and best-fit wards that disagree with the polygons. Disagreements are WARN, not ERROR:
the official best-fit lookup is what we publish against; the polygons are a second opinion.
"""

import dagster as dg
import pandas as pd

from assets._io import DUCKDB_POOL, OWNERS, check_result, write_frame
from assets.geography import dim_council, dim_datazone, geo_datazone, geo_ward
from pipelines.resources import SourcesResource, WarehouseResource
from profiles import geocode
from profiles.localities import build_localities, load_locality_configs, resolve_council

GROUP = "geography"
TAGS = {"dagster/kind/duckdb": "", "dagster/kind/pandas": ""}


def councils_in_scope(con, council: str | None) -> list[str] | None:
    """`None` (all councils) or the one council `--council` names."""
    if not council:
        return None
    dim = con.execute("SELECT council_code, council_name FROM marts.dim_council").fetchdf()
    return [resolve_council(dim, council)]


def _dz_points(con) -> pd.DataFrame:
    frame = con.execute("SELECT dz_code, geometry_wkb FROM marts.geo_datazone").fetchdf()
    if frame.empty:
        return pd.DataFrame(columns=["dz_code", "x", "y"])
    x, y = geocode.representative_xy(geocode.polygons_from_wkb(frame["geometry_wkb"]))
    return pd.DataFrame({"dz_code": frame["dz_code"], "x": x, "y": y})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["marts", "dim_locality"],
            group_name=GROUP,
            owners=OWNERS,
            deps=[dim_datazone, dim_council, geo_datazone],
            tags=TAGS,
            description="Localities (LCPPs, neighbourhoods, regeneration areas) of the councils "
            "in scope: one per multi-member ward by default, or as defined in "
            "data/config/localities/<council>.yaml. Part of the data contract.",
        ),
        dg.AssetSpec(
            ["marts", "bridge_dz_locality"],
            group_name=GROUP,
            owners=OWNERS,
            deps=[dim_datazone, geo_datazone],
            tags=TAGS,
            description="Which data zones make up each locality (a data zone may be in several "
            "localities only where a definition says overlap is intended).",
        ),
        dg.AssetSpec(
            ["marts", "locality_coverage"],
            group_name=GROUP,
            owners=OWNERS,
            deps=[dim_datazone],
            tags=TAGS,
            description="Coverage problems of the locality definitions: data zones in no "
            "locality, unintended overlaps, codes that are not in the council, empty localities.",
        ),
    ],
    pool=DUCKDB_POOL,
)
def localities(warehouse: WarehouseResource, sources: SourcesResource):
    from pathlib import Path

    configs = load_locality_configs(Path(sources.config_dir))
    with warehouse.connect() as con:
        councils = councils_in_scope(con, sources.council)
        dim = con.execute(
            "SELECT dz_code, ward_code, ward_name, iz_code, council_code, population "
            "FROM marts.dim_datazone"
        ).fetchdf()
        needs_points = any(d.kind == "polygon" for defs in configs.values() for d in defs)
        built = build_localities(
            dim, configs, councils=councils, dz_points=_dz_points(con) if needs_points else None
        )
        scope = ", ".join(councils) if councils else "all councils"
        dim_locality = built.dim_locality
        meta_dim = write_frame(
            con,
            "marts",
            "dim_locality",
            dim_locality,
            order_by=("council_code", "locality_id"),
            extra={
                "scope": scope,
                "councils": int(dim_locality["council_code"].nunique()),
                "from_config": int(
                    (dim_locality["definition_version"] != "default-one-per-ward").sum()
                ),
            },
        )
        meta_bridge = write_frame(
            con,
            "marts",
            "bridge_dz_locality",
            built.bridge,
            order_by=("council_code", "locality_id", "dz_code"),
            extra={"scope": scope},
        )
        meta_cov = write_frame(
            con,
            "marts",
            "locality_coverage",
            built.coverage,
            order_by=("council_code", "issue", "dz_code", "locality_ids"),
            extra={
                "issues_by_kind": dg.MetadataValue.json(
                    built.coverage["issue"].value_counts().sort_index().to_dict()
                )
            },
        )
    yield dg.MaterializeResult(asset_key=["marts", "dim_locality"], metadata=meta_dim)
    yield dg.MaterializeResult(asset_key=["marts", "bridge_dz_locality"], metadata=meta_bridge)
    yield dg.MaterializeResult(asset_key=["marts", "locality_coverage"], metadata=meta_cov)


@dg.asset_check(
    asset=["marts", "locality_coverage"],
    blocking=False,
    description="Every data zone of a council in scope is in exactly one locality "
    "(unless overlap is declared intended), and every configured code exists.",
)
def locality_coverage_complete(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        issues = con.execute(
            "SELECT * FROM marts.locality_coverage ORDER BY council_code, issue, dz_code"
        ).fetchdf()
    return check_result(
        issues.empty,
        "no uncovered data zones, unintended overlaps, unknown codes or empty localities",
        severity=dg.AssetCheckSeverity.WARN,
        failures=issues,
    )


@dg.asset(
    key_prefix=["marts"],
    name="dz_ward_crosscheck",
    group_name=GROUP,
    owners=OWNERS,
    deps=[geo_datazone, geo_ward],
    pool=DUCKDB_POOL,
    tags={**TAGS, "dagster/kind/shapely": ""},
    description="The official best-fit data zone → ward lookup against the polygons: the ward "
    "polygon containing each data zone's representative point. Best-fit assignment is by "
    "population-weighted centroid, so some disagreement is expected; it is listed, not hidden.",
)
def dz_ward_crosscheck(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        zones = con.execute(
            "SELECT dz_code, ward_code, council_code, geometry_wkb FROM marts.geo_datazone"
        ).fetchdf()
        wards = con.execute("SELECT ward_code, geometry_wkb FROM marts.geo_ward").fetchdf()
        frame = zones[["dz_code", "council_code"]].copy()
        frame["lookup_ward_code"] = zones["ward_code"]
        if zones.empty or wards.empty:
            frame["polygon_ward_code"] = pd.Series(dtype=object)
        else:
            x, y = geocode.representative_xy(geocode.polygons_from_wkb(zones["geometry_wkb"]))
            frame["polygon_ward_code"] = geocode.locate_points(
                x, y, geocode.polygons_from_wkb(wards["geometry_wkb"]), list(wards["ward_code"])
            )
        frame["agrees"] = frame["lookup_ward_code"] == frame["polygon_ward_code"]
        metadata = write_frame(
            con,
            "marts",
            "dz_ward_crosscheck",
            frame,
            order_by=("dz_code",),
            extra={
                "agree": int(frame["agrees"].sum()),
                "disagree": int((~frame["agrees"]).sum()),
            },
        )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(
    asset=dz_ward_crosscheck,
    blocking=False,
    description="Best-fit ward and polygon ward agree for each data zone (WARN: "
    "disagreements are listed for review, not errors).",
)
def dz_ward_crosscheck_agrees(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        disagreements = con.execute(
            "SELECT c.dz_code, d.dz_name, c.council_code, c.lookup_ward_code, "
            "c.polygon_ward_code FROM marts.dz_ward_crosscheck AS c "
            "LEFT JOIN marts.dim_datazone AS d USING (dz_code) "
            "WHERE NOT c.agrees ORDER BY c.council_code, c.dz_code"
        ).fetchdf()
        total = con.execute("SELECT count(*) FROM marts.dz_ward_crosscheck").fetchone()[0]
    return check_result(
        disagreements.empty,
        "representative point of each data zone inside its best-fit ward's polygon",
        severity=dg.AssetCheckSeverity.WARN,
        failures=disagreements,
        data_zones=int(total),
    )
