"""Export assets: the profile packs that go to Local Community Planning Partnerships.

What belongs here: building `profiles.exports` packs — per council, a workbook and an
offline HTML report per locality, a council overview, CSV and Parquet of every mart and a
GeoPackage — and the table that lists them. Which councils get packs: the one `--council`
names; otherwise every council with its own locality definitions or an ingested survey
(packs for all 32 councils are a `--council` away, one at a time).
"""

from pathlib import Path

import dagster as dg
import pandas as pd

from assets._io import DUCKDB_POOL, OWNERS, check_result, write_frame
from pipelines.resources import SourcesResource, WarehouseResource
from profiles import warehouse as wh
from profiles.exports.batch import build_packs
from profiles.exports.safety import live_formula_cells
from profiles.localities import load_locality_configs, resolve_council

GROUP = "exports"
DEPS = [
    ["marts", "locality_profile"],
    ["marts", "locality_summary"],
    ["marts", "locality_inequality"],
    ["marts", "locality_most_deprived_dz"],
    ["marts", "voice_theme_summary"],
    ["marts", "engagement_reach"],
    ["marts", "priority_ranking"],
    ["marts", "triangulation_matrix"],
    ["marts", "geo_datazone"],
    ["marts", "geo_ward"],
]


def pack_councils(con, sources: SourcesResource) -> list[str]:
    in_scope = {
        row[0]
        for row in con.execute("SELECT DISTINCT council_code FROM marts.dim_locality").fetchall()
    }
    if sources.council:
        dim_council = con.execute(
            "SELECT council_code, council_name FROM marts.dim_council"
        ).fetchdf()
        wanted = resolve_council(dim_council, sources.council)
        if wanted not in in_scope:
            raise dg.Failure(f"council {sources.council!r} has no localities in this build")
        return [wanted]
    configured = set(load_locality_configs(Path(sources.config_dir)))
    surveyed = set()
    if wh.table_exists(con, "marts", "voice_response"):
        surveyed = {
            row[0]
            for row in con.execute(
                "SELECT DISTINCT council_code FROM marts.voice_response"
            ).fetchall()
        }
    return sorted(in_scope & (configured | surveyed))


@dg.asset(
    key_prefix=["exports"],
    name="profile_packs",
    group_name=GROUP,
    owners=OWNERS,
    deps=DEPS,
    pool=DUCKDB_POOL,
    tags={"dagster/kind/excel": "", "dagster/kind/html": "", "dagster/kind/parquet": ""},
    description="Profile packs for LCPPs, per council: per locality an Excel workbook (summary, "
    "deprivation, indicators with intervals, community voice, priorities, reach, notes and "
    "sources) and a self-contained HTML report that opens offline (decile map, spine chart, "
    "Place Standard compass, need-vs-voice matrix, reach by SIMD quintile, ranked priorities "
    "with quotes); a council overview; CSV and Parquet of every mart; a GeoPackage for QGIS. "
    "Text from communities is redacted and formula-neutralised; disclosure control applied. "
    "This table lists every file of the packs the last materialization built (all councils "
    "in scope, or the one a new export or `--council` names), with its checksum.",
)
def profile_packs(warehouse: WarehouseResource, sources: SourcesResource) -> dg.MaterializeResult:
    config_dir = Path(sources.config_dir)
    out_dir = Path(sources.outputs_dir) / "packs"
    with warehouse.connect(read_only=True) as con:
        councils = pack_councils(con, sources)
        sizes = dict(
            con.execute(
                "SELECT council_code, count(*) FROM marts.dim_locality GROUP BY 1"
            ).fetchall()
        )
    # Each council's data is loaded where its pack is built (worker processes when there
    # are several councils): read-only connections, none held by this process meanwhile.
    manifests = build_packs(
        Path(warehouse.path),
        councils,
        out_dir,
        config_dir=config_dir,
        workers=sources.pack_workers,
        sizes=sizes,
    )
    rows = [
        {
            "council_code": manifest.council_code,
            "council_name": manifest.council_name,
            "path": str(item_path),
            **{k: v for k, v in vars(item).items() if k != "path"},
        }
        for manifest in manifests
        for item, item_path in zip(manifest.files, manifest.paths(), strict=True)
    ]
    listing = pd.DataFrame(rows)
    if listing.empty:
        listing = pd.DataFrame(
            {c: pd.Series(dtype="string") for c in ("council_code", "council_name", "path")}
        )
    with warehouse.connect() as con:
        metadata = write_frame(
            con, "exports", "profile_packs", listing, order_by=("council_code", "path")
        )
    for manifest in manifests:
        metadata[f"pack_{manifest.council_code}"] = dg.MetadataValue.path(str(manifest.folder))
        overview = manifest.folder / "overview.html"
        if overview.exists():
            metadata[f"overview_{manifest.council_code}"] = dg.MetadataValue.url(overview.as_uri())
    metadata["councils"] = ", ".join(m.council_name for m in manifests) or "none in scope"
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(
    asset=profile_packs,
    description="Every pack's CSV files are free of "
    "spreadsheet formulas coming from text: no cell starts with =, +, -, @, tab or CR "
    "unless it is a number.",
)
def profile_packs_formula_safe(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        files = [
            row[0]
            for row in con.execute(
                "SELECT path FROM exports.profile_packs WHERE path LIKE '%.csv'"
            ).fetchall()
        ]
    findings = [
        {"file": Path(path).name, "column": column, "cells": cells}
        for path in files
        for column, cells in live_formula_cells(Path(path)).items()
    ]
    failures = pd.DataFrame(findings, columns=["file", "column", "cells"])
    return check_result(
        failures.empty,
        "no live formula in any exported CSV cell",
        failures=failures,
        files_checked=len(files),
    )
