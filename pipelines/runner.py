"""Running the code location's jobs in a Dagster instance: the flows behind the CLI.

What belongs here: executing a job (optionally one survey partition) and summarising the
run; `ingest_file` (archive → partition → ingest → rebuild outputs); and `run_demo`
(statistics → the Demo City's synthetic survey → ingest → outputs). The CLI passes the
project's persistent instance so these runs appear in the UI; tests pass an ephemeral one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import yaml

from pipelines.definitions import build_definitions
from pipelines.jobs import BUILD_ALL, BUILD_PACKS, INGEST_SURVEY, REFRESH_STATISTICS
from profiles import warehouse
from profiles.errors import ProfilesError
from profiles.settings import Settings
from profiles.voice.archive import ArchivedExport, archive_export


class RunFailed(ProfilesError):
    """A Dagster run failed; the message is the root cause, on one line."""


@dataclass
class RunSummary:
    job: str
    run_id: str
    seconds: float
    materialized: list[str]
    failed_checks: list[str] = field(default_factory=list)
    warned_checks: list[str] = field(default_factory=list)
    checks_evaluated: int = 0


def _root_cause(result: dg.ExecuteInProcessResult) -> str:
    failure = next(
        (e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE), None
    )
    if failure is None or failure.step_failure_data.error is None:
        return "run failed"
    error = failure.step_failure_data.error
    # Dagster wraps the user's exception: report the outermost error that is not Dagster's
    # (e.g. WarehouseLockedError, not the DuckDB IOException it was raised from).
    while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
        error = error.cause
    message = error.message.strip().splitlines()[0]
    head, _, text = message.partition(": ")
    if text and "." in head and " " not in head:
        message = text  # "package.module.ErrorType: text" -> "text"
    return f"{failure.step_key}: {message}"


def execute(
    settings: Settings,
    job_name: str,
    instance: dg.DagsterInstance,
    *,
    partition_key: str | None = None,
    log_level: str = "INFO",
) -> RunSummary:
    """Run one job of the code location for `settings`; raise `RunFailed` on failure."""
    definitions = build_definitions(settings)
    job = definitions.resolve_job_def(job_name)
    started = time.monotonic()
    result = job.execute_in_process(
        instance=instance,
        partition_key=partition_key,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )
    checks_failed, checks_warned, evaluated = [], [], 0
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluated += 1
            evaluation = event.event_specific_data
            if not evaluation.passed:
                name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                if evaluation.severity == dg.AssetCheckSeverity.ERROR:
                    checks_failed.append(name)
                else:
                    checks_warned.append(name)
    if not result.success:
        raise RunFailed(_root_cause(result))
    return RunSummary(
        job=job_name,
        run_id=result.run_id,
        seconds=time.monotonic() - started,
        materialized=[
            event.asset_key.to_user_string()
            for event in result.get_asset_materialization_events()
            if event.asset_key is not None
        ],
        failed_checks=checks_failed,
        warned_checks=checks_warned,
        checks_evaluated=evaluated,
    )


def ingest_file(
    settings: Settings,
    instance: dg.DagsterInstance,
    path: Path,
    *,
    schema: str = "place_standard",
    survey_id: str | None = None,
    council: str | None = None,
    rebuild_outputs: bool = True,
    log_level: str = "INFO",
) -> tuple[ArchivedExport, dict, list[RunSummary]]:
    """Archive an export, register its partition, ingest it, rebuild the outputs.

    The same path as the inbox sensor, run synchronously. Returns the archive entry, the
    row accounting from the warehouse and the run summaries.
    """
    entry = archive_export(
        path,
        settings.archive_dir,
        schema=schema,
        council=council or settings.council,
        survey_id=survey_id,
    )
    instance.add_dynamic_partitions("survey", [entry.survey_id])
    runs = [
        execute(
            settings, INGEST_SURVEY, instance, partition_key=entry.survey_id, log_level=log_level
        )
    ]
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        accounting, survey_council = con.execute(
            "SELECT accounting_json, council_code FROM raw.voice_ingest_log WHERE survey_id = ?",
            [entry.survey_id],
        ).fetchone()
    if rebuild_outputs:
        # A new export changes its own council's packs only: build those, not every council's.
        scoped = settings.with_(council=settings.council or survey_council)
        runs.append(execute(scoped, BUILD_PACKS, instance, log_level=log_level))
    return entry, json.loads(accounting), runs


def demo_survey_settings(config_dir: Path) -> dict:
    return yaml.safe_load((config_dir / "demo_survey.yaml").read_text(encoding="utf-8"))


def write_council_survey(
    settings: Settings,
    council_code: str,
    out_dir: Path,
    *,
    n_responses: int,
    seed: int,
    reference_date,
) -> Path:
    """A synthetic Place Standard export for one council of the warehouse, written as the
    published exports (CSV, cp1252 CSV, XLSX); returns the CSV's path.

    Respondents are placed by postcode where the warehouse's postcode directory covers the
    council; otherwise (e.g. real Dundee, whose postcodes are not among the staged files) the
    export carries each respondent's data zone code in a `place` column instead — a layout
    the Place Standard schema accepts. Synthetic: for trying the voice path, never evidence.
    """
    from profiles.demo.survey import simulate_place_standard_survey, write_survey_exports

    with warehouse.connect(settings.warehouse, read_only=True) as con:
        deprivation = con.execute(
            "SELECT s.dz_code, s.quintile AS simd_quintile, d.council_code "
            "FROM marts.fct_simd AS s JOIN marts.dim_datazone AS d USING (dz_code) "
            "WHERE s.domain = 'overall' AND s.vintage = (SELECT max(vintage) FROM marts.fct_simd) "
            "AND d.council_code = ? ORDER BY s.dz_code",
            [council_code],
        ).fetchdf()
        postcodes = con.execute(
            "SELECT p.postcode, p.dz_code FROM marts.dim_postcode AS p "
            "JOIN marts.dim_datazone AS d USING (dz_code) "
            "WHERE p.is_live AND d.council_code = ? ORDER BY p.postcode_key",
            [council_code],
        ).fetchdf()
    if deprivation.empty:
        raise ProfilesError(f"council {council_code} has no data zones in the warehouse")
    by_place = postcodes["dz_code"].nunique() < 0.8 * len(deprivation)
    if by_place:
        # Stand-in postcodes (one per data zone) only drive the generator; the export then
        # names the data zone and leaves the postcode blank.
        postcodes = deprivation[["dz_code"]].assign(
            postcode=[f"ZZ{1 + i // 9 % 99} {1 + i % 9}ZZ" for i in range(len(deprivation))]
        )
    survey = simulate_place_standard_survey(
        postcodes, deprivation, n_responses=n_responses, seed=seed, today=reference_date
    )
    frame = survey.responses
    if by_place:
        true_zone = survey.respondents.set_index("response_id")["dz_code"]
        frame = frame.assign(postcode=None)
        frame.insert(3, "place", frame["response_id"].map(true_zone))
    return write_survey_exports(frame, out_dir)["csv"]


def write_demo_survey(settings: Settings) -> Path:
    """The Demo City's synthetic Place Standard survey, from the demo's loaded statistics."""
    options = demo_survey_settings(settings.config_dir)
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        council = con.execute(
            "SELECT council_code FROM marts.dim_council WHERE council_name = ?",
            [options["council_name"]],
        ).fetchone()
    if council is None:
        raise ProfilesError(f"demo council {options['council_name']!r} is not loaded")
    return write_council_survey(
        settings,
        council[0],
        settings.demo_dir.parent / f"{settings.demo_dir.name}_survey",
        n_responses=int(options["responses"]),
        seed=int(options["seed"]),
        reference_date=options["reference_date"],
    )


def build_with_surveys(
    settings: Settings,
    instance: dg.DagsterInstance,
    job_name: str,
    *,
    surveys: list[Path] = (),
    sample_survey: int | None = None,
    log_level: str = "INFO",
) -> list[RunSummary]:
    """Build, then ingest each survey export (and, if asked, a synthetic sample survey for
    `--council`) through the inbox path; the outputs are rebuilt after the last one."""
    from profiles.localities import resolve_council

    runs = [execute(settings, job_name, instance, log_level=log_level)]
    files = list(surveys)
    if sample_survey:
        if not settings.council:
            raise ProfilesError("--sample-survey needs --council (the council to survey)")
        with warehouse.connect(settings.warehouse, read_only=True) as con:
            councils = con.execute("SELECT council_code, council_name FROM marts.dim_council")
            code = resolve_council(councils.fetchdf(), settings.council)
        options = demo_survey_settings(settings.config_dir)
        files.append(
            write_council_survey(
                settings,
                code,
                settings.outputs_dir / f"sample_survey_{code}",
                n_responses=sample_survey,
                seed=int(options["seed"]),
                reference_date=options["reference_date"],
            )
        )
    for index, path in enumerate(files):
        _, _, ingest_runs = ingest_file(
            settings,
            instance,
            path,
            council=settings.council,
            rebuild_outputs=index == len(files) - 1,
            log_level=log_level,
        )
        runs.extend(ingest_runs)
    return runs


def run_demo(
    settings: Settings, instance: dg.DagsterInstance, *, log_level: str = "INFO"
) -> list[RunSummary]:
    """Statistics, then the demo survey through the same path as any export, then outputs."""
    runs = [execute(settings, REFRESH_STATISTICS, instance, log_level=log_level)]
    survey = write_demo_survey(settings)
    _, _, ingest_runs = ingest_file(
        settings,
        instance,
        survey,
        council=demo_survey_settings(settings.config_dir)["council_name"],
        log_level=log_level,
    )
    return [*runs, *ingest_runs]


__all__ = ["BUILD_ALL", "RunFailed", "RunSummary", "execute", "ingest_file", "run_demo"]
