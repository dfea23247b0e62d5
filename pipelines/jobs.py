"""Jobs: named selections of the asset graph that analysts run from the UI or the CLI.

What belongs here: `define_asset_job` calls and the selections behind them. Executors run
in one process by default: the DuckDB writers are serialised by their pool anyway, and a
single process starts faster on a 2-core machine.
"""

from __future__ import annotations

import dagster as dg

BUILD_ALL = "build_all"
REFRESH_STATISTICS = "refresh_statistics"


def all_jobs() -> list[dg.UnresolvedAssetJobDefinition]:
    statistics = dg.AssetSelection.groups("sources", "geography", "deprivation")
    return [
        dg.define_asset_job(
            BUILD_ALL,
            selection=dg.AssetSelection.all(),
            description="Build everything: sources, geography, deprivation and every "
            "downstream mart and export.",
        ),
        dg.define_asset_job(
            REFRESH_STATISTICS,
            selection=statistics,
            description="Reload the statistics (SIMD, lookups, population, boundaries, "
            "postcodes) and rebuild the geography and deprivation marts.",
        ),
    ]
