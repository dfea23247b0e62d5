"""The code location: every asset, check, job, schedule and sensor of the project.

What belongs here: assembling `Definitions` from `assets/` and `pipelines/` pieces for one
set of settings. `defs` (what `dg dev` / `dagster dev` load) reads `PROFILES_*` environment
variables; the CLI calls `build_definitions` with its own flags. Nothing here connects to
the warehouse or reads a source file.
"""

from __future__ import annotations

import dagster as dg

from pipelines.jobs import all_jobs
from pipelines.resources import resources_for
from pipelines.schedules import release_check_schedule
from profiles.settings import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    import assets.deprivation
    import assets.geography
    import assets.localities
    import assets.profiles
    import assets.sources

    modules = [
        assets.sources,
        assets.geography,
        assets.localities,
        assets.deprivation,
        assets.profiles,
    ]
    return dg.Definitions(
        assets=dg.load_assets_from_modules(modules),
        asset_checks=dg.load_asset_checks_from_modules(modules),
        jobs=all_jobs(),
        schedules=[release_check_schedule(settings)],
        resources=resources_for(settings),
        executor=dg.in_process_executor,
    )


defs = build_definitions(Settings.from_env())
