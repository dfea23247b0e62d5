"""Source assets: the raw provenance table and the staging tables parsed from it.

What belongs here: one asset per raw/staging table. Each asset asks the warehouse which
file is the primary one of its kind (so it depends, for real, on `raw_source_files`), calls a
parser from `profiles.sources`, writes the frame, and reports provenance (file, sha256,
vintage) in its metadata. Parsing rules live in the parsers, not here.
"""

from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from dagster import AssetExecutionContext

from assets._io import DUCKDB_POOL, OWNERS, check_result, write_frame
from pipelines.resources import SourcesResource, WarehouseResource
from profiles import contract
from profiles.source_folder import describe_source_files, resolve_source_folder

GROUP = "sources"
KIND_TAGS = {"dagster/kind/duckdb": "", "dagster/kind/pandas": ""}


def _primary_files(
    warehouse: WarehouseResource, kind: str, *, all_vintages: bool = False
) -> pd.DataFrame:
    with warehouse.connect(read_only=True) as con:
        frame = con.execute(
            "SELECT kind, vintage, path, sha256, source, retrieved_at, universe_n_zones "
            "FROM raw.source_file WHERE kind = ? AND role = 'primary' ORDER BY vintage, path",
            [kind],
        ).fetchdf()
    return frame if all_vintages else frame.head(1)


def _declared_zones(value: object) -> int | None:
    """The folder's declared SIMD universe (sources.yaml settings.simd_n_zones), if any."""
    return None if pd.isna(value) else int(value)


def _provenance(files: pd.DataFrame) -> dict[str, Any]:
    return {
        "source_files": dg.MetadataValue.md(
            files[["kind", "vintage", "path", "sha256", "retrieved_at"]].to_markdown(index=False)
            if len(files)
            else "_(none)_"
        ),
    }


@dg.asset(
    key_prefix=["raw"],
    name="source_file",
    group_name=GROUP,
    owners=OWNERS,
    pool=DUCKDB_POOL,
    tags=KIND_TAGS,
    description=(
        "Every file in the build's source folder (Demo City, a folder of published files, or "
        "the statistics.gov.scot cache), classified by content and recorded with its "
        "provenance: source URL or path, sha256, retrieval time and vintage."
    ),
)
def raw_source_files(
    context: AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource
) -> dg.MaterializeResult:
    settings = sources.settings(warehouse.path)
    resolved = resolve_source_folder(settings)
    files = describe_source_files(resolved)
    for note in resolved.notes:
        context.log.info(note)
    with warehouse.connect() as con:
        metadata = write_frame(
            con, "raw", "source_file", files, order_by=("kind", "vintage", "role", "path")
        )
    metadata["source_folder"] = dg.MetadataValue.path(str(resolved.folder))
    metadata["mode"] = resolved.mode
    metadata["files_by_kind"] = dg.MetadataValue.json(
        files.groupby(["kind", "role"]).size().reset_index(name="files").to_dict("records")
    )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(asset=raw_source_files, description="The folder holds every required kind.")
def raw_source_files_complete(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        found = {
            row[0]
            for row in con.execute(
                "SELECT DISTINCT kind FROM raw.source_file WHERE role = 'primary'"
            ).fetchall()
        }
    missing = [] if found & {"simd_withinds", "simd_sparql_long"} else ["simd (any format)"]
    missing += [] if "dz_lookup" in found else ["dz_lookup"]
    return check_result(
        not missing,
        "SIMD (with indicators, or SPARQL ranks) and the data zone lookup are required; "
        "population, boundaries and postcodes are optional but expected.",
        missing=", ".join(missing) or "none",
        optional_missing=", ".join(
            sorted(
                {"population_total", "boundaries_dz", "boundaries_ward", "postcodes_nspl"} - found
            )
        )
        or "none",
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["staging", "simd_rank"],
            group_name=GROUP,
            owners=OWNERS,
            deps=[raw_source_files],
            tags=KIND_TAGS,
            description="SIMD ranks (overall and 7 domains) with decile/quintile/vigintile, "
            "long, one row per data zone × vintage × domain; x.5 tied ranks kept.",
        ),
        dg.AssetSpec(
            ["staging", "simd_indicator"],
            group_name=GROUP,
            owners=OWNERS,
            deps=[raw_source_files],
            tags=KIND_TAGS,
            description="SIMD indicators, long: value as a number (percent strings become "
            "proportions), numerator/denominator where SIMD publishes counts, and a "
            "`suppressed` flag for the '*' marker (never a zero).",
        ),
        dg.AssetSpec(
            ["staging", "simd_population"],
            group_name=GROUP,
            owners=OWNERS,
            deps=[raw_source_files],
            tags=KIND_TAGS,
            description="The total and working-age population each SIMD vintage was built on.",
        ),
    ],
    pool=DUCKDB_POOL,
)
def staging_simd(warehouse: WarehouseResource, sources: SourcesResource):
    """Parse each vintage once, into three tables. A vintage comes from its SIMD 'with
    indicators' file when there is one, else from a statistics.gov.scot SPARQL response
    (ranks only: the live path), and says which in the metadata."""
    from profiles.sources.simd import read_simd_withinds
    from profiles.sources.statsgov import read_simd_sparql_long

    config_dir = Path(sources.config_dir)
    withinds = _primary_files(warehouse, "simd_withinds", all_vintages=True)
    sparql = _primary_files(warehouse, "simd_sparql_long", all_vintages=True)
    sparql = sparql[~sparql["vintage"].isin(withinds["vintage"])]
    if withinds.empty and sparql.empty:
        raise dg.Failure("no SIMD file (with indicators, or a SPARQL response) among the sources")
    ranks, indicators, populations = [], [], []
    for row in withinds.itertuples():
        tables = read_simd_withinds(
            Path(row.path),
            row.vintage or None,
            config_dir=config_dir,
            n_zones=_declared_zones(row.universe_n_zones),
        )
        ranks.append(tables.ranks)
        indicators.append(tables.indicators)
        populations.append(tables.population.assign(vintage=tables.vintage))
    for row in sparql.itertuples():
        ranks.append(
            read_simd_sparql_long(
                Path(row.path),
                config_dir=config_dir,
                n_zones=_declared_zones(row.universe_n_zones),
            )
        )
    files = pd.concat([withinds, sparql], ignore_index=True)
    ranks_only = sorted(sparql["vintage"])
    indicators = indicators or [contract.empty_frame(contract.STG_INDICATOR_COLUMNS)]
    populations = populations or [
        contract.empty_frame(["dz_code", "total_population", "working_age_population", "vintage"])
    ]
    rank_frame = pd.concat(ranks, ignore_index=True)
    indicator_frame = pd.concat(indicators, ignore_index=True)
    population_frame = pd.concat(populations, ignore_index=True)
    provenance = _provenance(files)
    if ranks_only:
        provenance["ranks_only_vintages"] = ", ".join(ranks_only)
    with warehouse.connect() as con:
        meta_rank = write_frame(
            con,
            "staging",
            "simd_rank",
            rank_frame,
            order_by=("vintage", "domain", "dz_code"),
            extra={**provenance, "vintages": ", ".join(sorted(rank_frame["vintage"].unique()))},
        )
        meta_ind = write_frame(
            con,
            "staging",
            "simd_indicator",
            indicator_frame,
            order_by=("vintage", "indicator", "dz_code"),
            extra={
                **provenance,
                "suppressed_cells": int(indicator_frame["suppressed"].sum()),
                "indicators": int(indicator_frame["indicator"].nunique()),
            },
        )
        meta_pop = write_frame(
            con,
            "staging",
            "simd_population",
            population_frame,
            order_by=("vintage", "dz_code"),
            extra=provenance,
        )
    yield dg.MaterializeResult(asset_key=["staging", "simd_rank"], metadata=meta_rank)
    yield dg.MaterializeResult(asset_key=["staging", "simd_indicator"], metadata=meta_ind)
    yield dg.MaterializeResult(asset_key=["staging", "simd_population"], metadata=meta_pop)


@dg.asset(
    key_prefix=["staging"],
    name="dz_lookup",
    group_name=GROUP,
    owners=OWNERS,
    deps=[raw_source_files],
    pool=DUCKDB_POOL,
    tags=KIND_TAGS,
    description="The statistics.gov.scot data zone lookup (DZ → IZ → multi-member ward → "
    "council, urban-rural 6-fold), decoded from cp1252 with names cleaned of trailing "
    "and no-break spaces.",
)
def stg_dz_lookup(warehouse: WarehouseResource) -> dg.MaterializeResult:
    from profiles.sources.lookup import read_dz_lookup

    files = _primary_files(warehouse, "dz_lookup")
    if files.empty:
        raise dg.Failure("no data zone lookup among the sources")
    frame = read_dz_lookup(Path(files.iloc[0]["path"]))
    with warehouse.connect() as con:
        metadata = write_frame(
            con, "staging", "dz_lookup", frame, order_by=("dz_code",), extra=_provenance(files)
        )
    return dg.MaterializeResult(metadata=metadata)


def _population_frames(files: pd.DataFrame) -> list[pd.DataFrame]:
    from profiles.sources import population

    readers = {
        "population_total": population.read_population_total,
        "population_sya": population.read_population_sya,
        "statsgov_download": population.population_from_statsgov_download,
    }
    frames = []
    for row in files.itertuples():
        frames.append(readers[row.kind](Path(row.path)))
    return frames


@dg.asset(
    key_prefix=["staging"],
    name="population",
    group_name=GROUP,
    owners=OWNERS,
    deps=[raw_source_files],
    pool=DUCKDB_POOL,
    tags=KIND_TAGS,
    description="Population estimates, long (area × year × sex × age band), from every "
    "population file among the sources: NRS data zone totals, single year of age, and "
    "statistics.gov.scot downloads (whose council and Scotland rows are the published "
    "totals the data zone sums are checked against).",
)
def stg_population(warehouse: WarehouseResource) -> dg.MaterializeResult:
    kinds = ("population_total", "population_sya", "statsgov_download")
    files = pd.concat([_primary_files(warehouse, k) for k in kinds], ignore_index=True)
    frames = _population_frames(files)
    frame = (
        pd.concat(frames, ignore_index=True)
        if frames
        else contract.empty_frame(contract.STG_POPULATION_COLUMNS)
    )
    # The same area-year-sex-age may come from two files (e.g. totals and single-year files);
    # keep the first file's figure and say so, rather than double counting.
    before = len(frame)
    frame = frame.drop_duplicates(["area_code", "year", "sex", "age_band"], keep="first")
    with warehouse.connect() as con:
        metadata = write_frame(
            con,
            "staging",
            "population",
            frame,
            order_by=("year", "area_code", "sex", "age_band"),
            extra={**_provenance(files), "duplicate_rows_dropped": before - len(frame)},
        )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    key_prefix=["staging"],
    name="postcode",
    group_name=GROUP,
    owners=OWNERS,
    deps=[raw_source_files],
    pool=DUCKDB_POOL,
    tags=KIND_TAGS,
    description="Postcode → data zone lookup (NSPL or Scottish Postcode Directory layout), "
    "postcodes normalised to 'DD1 1DD' form with a no-space join key; used to geocode "
    "survey responses.",
)
def stg_postcode(warehouse: WarehouseResource) -> dg.MaterializeResult:
    from profiles.sources.postcodes import read_nspl

    files = pd.concat(
        [_primary_files(warehouse, k) for k in ("postcodes_nspl", "postcodes_spd")],
        ignore_index=True,
    )
    if files.empty:
        frame = contract.empty_frame(contract.STG_POSTCODE_COLUMNS)
        stats: dict[str, Any] = {"note": "no postcode lookup among the sources"}
    else:
        load = read_nspl(Path(files.iloc[0]["path"]))
        frame = load.frame
        stats = {k: v for k, v in load.stats().items() if isinstance(v, int)}
    with warehouse.connect() as con:
        metadata = write_frame(
            con,
            "staging",
            "postcode",
            frame,
            order_by=("postcode_key",),
            extra={**_provenance(files), **{f"rows_{k}": v for k, v in stats.items()}},
        )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    key_prefix=["staging"],
    name="boundary",
    group_name=GROUP,
    owners=OWNERS,
    deps=[raw_source_files],
    pool=DUCKDB_POOL,
    tags={**KIND_TAGS, "dagster/kind/geopandas": ""},
    description="Data zone and ward polygons, validated (invalid ones repaired and flagged), "
    "reprojected to British National Grid (EPSG:27700) and stored as WKB with their area.",
)
def stg_boundary(warehouse: WarehouseResource) -> dg.MaterializeResult:
    from profiles.sources.boundaries import boundaries_to_frame, check_boundaries, read_boundaries

    files = pd.concat(
        [_primary_files(warehouse, k) for k in ("boundaries_dz", "boundaries_ward")],
        ignore_index=True,
    )
    frames, checks = [], {}
    for row in files.itertuples():
        area_type = row.kind.removeprefix("boundaries_")
        gdf = read_boundaries(Path(row.path), area_type)
        checks[area_type] = check_boundaries(gdf)
        frames.append(boundaries_to_frame(gdf, row.path))
    frame = (
        pd.concat(frames, ignore_index=True)
        if frames
        else contract.empty_frame(contract.STG_BOUNDARY_COLUMNS)
    )
    with warehouse.connect() as con:
        metadata = write_frame(
            con,
            "staging",
            "boundary",
            frame,
            order_by=("area_type", "area_code"),
            extra={**_provenance(files), "validation": dg.MetadataValue.json(checks)},
        )
    return dg.MaterializeResult(metadata=metadata)
