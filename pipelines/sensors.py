"""Sensors: the survey inbox, and rebuilding outputs after a survey is ingested.

What belongs here: `inbox_sensor`, which archives each file dropped into the inbox by
content hash (re-dropping the same bytes changes nothing), registers it as a `survey`
partition and asks for its ingestion; and `outputs_after_ingest`, which rebuilds the voice
marts, rankings and packs once an ingestion run succeeds. Neither touches the warehouse:
DuckDB writes happen only inside assets, in the `duckdb_writer` pool.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.jobs import INGEST_SURVEY
from profiles.errors import ProfilesError
from profiles.settings import Settings
from profiles.voice.archive import archive_export, inbox_files


def inbox_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(
        name="survey_inbox",
        job_name=INGEST_SURVEY,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Watches {settings.inbox_dir} for survey exports (CSV, XLSX): archives "
        "each by content hash, adds it as a `survey` partition and ingests it.",
    )
    def survey_inbox(context: dg.SensorEvaluationContext):
        requests, new_partitions, skipped = [], [], []
        for path in inbox_files(Path(settings.inbox_dir)):
            try:
                entry = archive_export(path, Path(settings.archive_dir), council=settings.council)
            except (ProfilesError, OSError) as error:
                skipped.append(f"{path.name}: {error}")
                continue
            if not context.instance.has_dynamic_partition("survey", entry.survey_id):
                new_partitions.append(entry.survey_id)
            requests.append(
                dg.RunRequest(
                    run_key=entry.sha256,  # the same bytes are ingested once
                    partition_key=entry.survey_id,
                    tags={"survey/source_file": entry.original_name},
                )
            )
        if not requests:
            return dg.SkipReason("; ".join(skipped) or "inbox empty")
        return dg.SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=[
                dg.AddDynamicPartitionsRequest("survey", sorted(set(new_partitions)))
            ]
            if new_partitions
            else [],
        )

    return survey_inbox


def outputs_after_ingest(
    ingest_job: dg.UnresolvedAssetJobDefinition, packs_job: dg.UnresolvedAssetJobDefinition
) -> dg.SensorDefinition:
    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[ingest_job],
        request_job=packs_job,
        name="outputs_after_ingest",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="After a survey is ingested, rebuild the voice marts, rankings and packs.",
    )
    def rebuild_outputs(context: dg.RunStatusSensorContext):
        return dg.RunRequest(run_key=context.dagster_run.run_id)

    return rebuild_outputs
