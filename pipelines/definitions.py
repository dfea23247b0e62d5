"""The code location: every asset, check, job, schedule and sensor of the project.

What belongs here: assembling `Definitions` from `assets/` and `pipelines/` pieces for one
set of settings. `defs` (what `dg dev` / `dagster dev` load) reads `PROFILES_*` environment
variables; the CLI calls `build_definitions` with its own flags. Nothing here connects to
the warehouse or reads a source file.
"""

from __future__ import annotations

import dagster as dg

from pipelines.jobs import BUILD_PACKS, INGEST_SURVEY, all_jobs
from pipelines.resources import resources_for
from pipelines.schedules import release_check_schedule
from pipelines.sensors import inbox_sensor, outputs_after_ingest
from profiles.settings import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    import assets.deprivation
    import assets.exports
    import assets.geography
    import assets.localities
    import assets.profiles
    import assets.sources
    import assets.triangulation
    import assets.voice

    modules = [
        assets.sources,
        assets.geography,
        assets.localities,
        assets.deprivation,
        assets.profiles,
        assets.voice,
        assets.triangulation,
        assets.exports,
    ]
    jobs = {job.name: job for job in all_jobs()}
    return dg.Definitions(
        assets=dg.load_assets_from_modules(modules),
        asset_checks=dg.load_asset_checks_from_modules(modules),
        jobs=list(jobs.values()),
        schedules=[release_check_schedule(settings)],
        sensors=[
            inbox_sensor(settings),
            outputs_after_ingest(jobs[INGEST_SURVEY], jobs[BUILD_PACKS]),
        ],
        resources=resources_for(settings),
        executor=dg.in_process_executor,
    )


defs = build_definitions(Settings.from_env())
