"""The `profiles` command: a thin front over Dagster.

What belongs here: argument parsing, turning flags into `Settings`, running a job of the
code location in the project's persistent Dagster instance (so CLI runs appear in the UI),
and printing a short summary. Exit status is 0 on success and 1 with a one-line reason on
failure. No pipeline logic lives here.

Commands: `demo`, `build --from DIR | --live`, `sql "SELECT …"`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from profiles.errors import ProfilesError
from profiles.settings import DEFAULT_BASE_URL, DEFAULT_WAREHOUSE, REPO_ROOT, Settings


class CliError(ProfilesError):
    """A failure the CLI reports as one line."""


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help=f"DuckDB warehouse file (default: $PROFILES_WAREHOUSE or {DEFAULT_WAREHOUSE})",
    )
    parser = argparse.ArgumentParser(
        prog="profiles",
        description="Locality profiles: SIMD deprivation data triangulated with community "
        "voice, built with Dagster into a DuckDB warehouse.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", parents=[common], help="generate the Demo City sources and build everything"
    )
    demo.add_argument("--council", help="limit locality outputs to this council (name or S12 code)")

    build = commands.add_parser(
        "build", parents=[common], help="build from published files or from statistics.gov.scot"
    )
    origin = build.add_mutually_exclusive_group(required=True)
    origin.add_argument("--from", dest="source_dir", type=Path, help="folder of published files")
    origin.add_argument("--live", action="store_true", help="download from statistics.gov.scot")
    build.add_argument(
        "--base-url", default=DEFAULT_BASE_URL, help="statistics.gov.scot or a mirror"
    )
    build.add_argument(
        "--offline", action="store_true", help="with --live: replay the last good download cache"
    )
    build.add_argument(
        "--council", help="limit locality outputs to this council (name or S12 code)"
    )
    build.add_argument(
        "--job",
        default="build_all",
        help="job to run (build_all, refresh_statistics); default build_all",
    )

    sql = commands.add_parser(
        "sql", parents=[common], help="read-only query on the warehouse; CSV on stdout"
    )
    sql.add_argument("query", help="one SQL statement; contract tables by their bare names")
    return parser


def _warehouse_path(args: argparse.Namespace) -> Path:
    if args.warehouse is not None:
        return args.warehouse.expanduser().resolve()
    return Settings.from_env().warehouse


def _settings(args: argparse.Namespace) -> Settings:
    base = Settings.from_env().with_(warehouse=_warehouse_path(args))
    if args.command == "demo":
        return base.with_(source_mode="demo", source_dir=None, council=args.council)
    if args.live:
        return base.with_(
            source_mode="live",
            source_dir=None,
            base_url=args.base_url,
            offline=args.offline,
            council=args.council,
        )
    source_dir = args.source_dir.expanduser().resolve()
    if not source_dir.is_dir():
        raise CliError(f"{source_dir}: not a folder")
    return base.with_(source_mode="folder", source_dir=source_dir, council=args.council)


def _dagster_instance():
    import dagster as dg

    # The project's dagster.yaml lives at the repository root and names storage folders
    # relative to it, so runs started here are the same instance `dg dev` shows.
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT))
    os.chdir(os.environ["DAGSTER_HOME"])
    return dg.DagsterInstance.get()


def run_job(settings: Settings, job_name: str) -> int:
    """Run `job_name` for `settings` in the persistent instance; print a summary."""
    import dagster as dg

    from pipelines.definitions import build_definitions

    definitions = build_definitions(settings)
    job = definitions.resolve_job_def(job_name)
    started = time.monotonic()
    with _dagster_instance() as instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            # Progress at INFO; step-by-step DEBUG events stay in the UI's run log.
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
        elapsed = time.monotonic() - started
        materialized = [
            event.asset_key.to_user_string()
            for event in result.get_asset_materialization_events()
            if event.asset_key is not None
        ]
        check_failures = [
            f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            for evaluation in (
                event.event_specific_data
                for event in result.all_events
                if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
            )
            if not evaluation.passed
        ]
        print(
            f"run {result.run_id[:8]} ({job_name}): {len(materialized)} assets materialized "
            f"in {elapsed:.1f} s; warehouse {settings.warehouse}",
            file=sys.stderr,
        )
        if check_failures:
            print(f"checks failed: {', '.join(check_failures)}", file=sys.stderr)
        if not result.success:
            failure = next(
                (
                    event
                    for event in result.all_events
                    if event.event_type == dg.DagsterEventType.STEP_FAILURE
                ),
                None,
            )
            reason = "run failed"
            if failure is not None and failure.step_failure_data.error is not None:
                error = failure.step_failure_data.error
                # Dagster wraps the user's exception; the root cause is what to report.
                while error.cause is not None:
                    error = error.cause
                message = error.message.strip().splitlines()[0]
                # "package.module.ErrorType: text" -> "text": the type adds nothing for users.
                head, _, text = message.partition(": ")
                if text and "." in head and " " not in head:
                    message = text
                reason = f"{failure.step_key}: {message}"
            raise CliError(reason)
    return 0


def run_sql(warehouse_path: Path, query: str) -> int:
    """Run one read-only statement and stream CSV (with a header) to stdout."""
    import pyarrow.csv as pacsv

    from profiles import warehouse

    with warehouse.connect(warehouse_path, read_only=True) as con:
        # Only the warehouse is reachable: no reading or writing other files from a query.
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        try:
            reader = con.execute(query).fetch_record_batch()
        except Exception as error:  # duckdb raises many specific types; report them alike
            raise CliError(f"query failed: {str(error).splitlines()[0]}") from error
        with pacsv.CSVWriter(sys.stdout.buffer, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
    sys.stdout.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "sql":
            return run_sql(_warehouse_path(args), args.query)
        settings = _settings(args)
        job_name = getattr(args, "job", "build_all")
        return run_job(settings, job_name)
    except (ProfilesError, ValueError, OSError) as error:
        print(f"profiles: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("profiles: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
