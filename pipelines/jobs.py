"""Jobs: named selections of the asset graph that analysts run from the UI or the CLI.

What belongs here: `define_asset_job` calls and the selections behind them.
- `refresh_statistics`: sources, geography, deprivation (statistics and locality profiles);
- `ingest_survey`: one survey partition — validate, redact, geocode, code its comments;
- `build_packs`: what depends on every survey — voice marts, triangulation, exports;
- `build_all`: every unpartitioned asset (statistics, then voice marts, rankings, packs).
"""

from __future__ import annotations

import dagster as dg

BUILD_ALL = "build_all"
REFRESH_STATISTICS = "refresh_statistics"
INGEST_SURVEY = "ingest_survey"
BUILD_PACKS = "build_packs"

STATISTICS_GROUPS = ("sources", "geography", "deprivation")
OUTPUT_GROUPS = ("voice", "triangulation", "exports")


def _partitioned() -> dg.AssetSelection:
    from assets.voice import voice_comment_code, voice_ingest

    return dg.AssetSelection.assets(voice_ingest, voice_comment_code)


def all_jobs() -> list[dg.UnresolvedAssetJobDefinition]:
    partitioned = _partitioned()
    return [
        dg.define_asset_job(
            BUILD_ALL,
            selection=dg.AssetSelection.all() - partitioned,
            description="Build everything that is not per survey: statistics, locality "
            "profiles, voice marts over the surveys ingested so far, rankings and packs.",
        ),
        dg.define_asset_job(
            REFRESH_STATISTICS,
            selection=dg.AssetSelection.groups(*STATISTICS_GROUPS),
            description="Reload the statistics (SIMD, lookups, population, boundaries, "
            "postcodes) and rebuild geography, deprivation and the locality profiles.",
        ),
        dg.define_asset_job(
            INGEST_SURVEY,
            selection=partitioned,
            description="Ingest one survey export (a `survey` partition): validate with "
            "nothing lost, redact, geocode and theme-code its comments.",
        ),
        dg.define_asset_job(
            BUILD_PACKS,
            selection=dg.AssetSelection.groups(*OUTPUT_GROUPS) - partitioned,
            description="Rebuild what depends on every survey: voice summaries and reach, "
            "priority rankings and the LCPP profile packs.",
        ),
    ]
