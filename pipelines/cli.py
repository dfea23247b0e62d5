"""The `profiles` command: a thin front over Dagster.

What belongs here: argument parsing, turning flags into `Settings`, running a job of the
code location in the project's persistent Dagster instance (so CLI runs appear in the UI),
and printing a short summary. Exit status is 0 on success and 1 with a one-line reason on
failure. No pipeline logic lives here.

Commands: `demo`, `build --from DIR | --live`, `ingest FILE`, `packs`, `sql "SELECT …"`.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from profiles.errors import ProfilesError
from profiles.settings import DEFAULT_BASE_URL, DEFAULT_WAREHOUSE, REPO_ROOT, Settings


class CliError(ProfilesError):
    """A failure the CLI reports as one line."""


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show Dagster's run log (INFO) on stderr",
    )
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
        "--survey",
        type=Path,
        action="append",
        default=[],
        help="a survey export to ingest after the build (repeatable)",
    )
    build.add_argument(
        "--sample-survey",
        type=int,
        metavar="N",
        help="also generate and ingest a synthetic Place Standard survey of N responses for "
        "--council (to try the voice path where no real export is at hand)",
    )
    build.add_argument(
        "--job",
        default="build_all",
        help="job to run (build_all, refresh_statistics); default build_all",
    )

    ingest = commands.add_parser(
        "ingest",
        parents=[common],
        help="ingest a survey export (archive, validate, geocode, code, summarise)",
    )
    ingest.add_argument("file", type=Path, help="CSV or XLSX export")
    ingest.add_argument(
        "--schema",
        default="place_standard",
        help="survey schema: a name under data/config/surveys/ or a YAML path",
    )
    ingest.add_argument("--survey-id", help="partition id (default: file name + content hash)")
    ingest.add_argument("--council", help="the survey's council (name or S12 code)")

    packs = commands.add_parser(
        "packs",
        parents=[common],
        help="build the LCPP profile packs (Excel, HTML, CSV/Parquet, GeoPackage)",
    )
    packs.add_argument("--council", help="the council to build packs for (name or S12 code)")
    packs.add_argument("--out", type=Path, help="folder for the packs (default data/outputs)")

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


def _print_runs(runs, settings: Settings) -> None:
    for run in runs:
        print(
            f"run {run.run_id[:8]} ({run.job}): {len(run.materialized)} assets materialized "
            f"in {run.seconds:.1f} s",
            file=sys.stderr,
        )
        if run.failed_checks:
            print(f"  checks failed: {', '.join(run.failed_checks)}", file=sys.stderr)
        if run.warned_checks:
            print(f"  checks warned: {', '.join(run.warned_checks)}", file=sys.stderr)
    print(f"warehouse: {settings.warehouse}", file=sys.stderr)


LOG_LEVEL = {"quiet": "CRITICAL", "verbose": "INFO"}
"""Dagster's console log: quiet by default (the CLI prints its own summary and, on failure,
one line); the full run log is always in the UI."""


def run_job(settings: Settings, job_name: str, log_level: str) -> int:
    """Run `job_name` for `settings` in the persistent instance; print a summary."""
    from pipelines.runner import execute

    with _dagster_instance() as instance:
        _print_runs([execute(settings, job_name, instance, log_level=log_level)], settings)
    return 0


def run_build_with_surveys(settings: Settings, args: argparse.Namespace, log_level: str) -> int:
    from pipelines.runner import build_with_surveys

    surveys = [path.expanduser().resolve() for path in args.survey]
    with _dagster_instance() as instance:
        runs = build_with_surveys(
            settings,
            instance,
            args.job,
            surveys=surveys,
            sample_survey=args.sample_survey,
            log_level=log_level,
        )
        _print_runs(runs, settings)
    return 0


def run_demo(settings: Settings, log_level: str) -> int:
    from pipelines.runner import run_demo as demo_flow

    with _dagster_instance() as instance:
        _print_runs(demo_flow(settings, instance, log_level=log_level), settings)
    return 0


def run_ingest(settings: Settings, args: argparse.Namespace, log_level: str) -> int:
    """Ingest one export through the inbox path and print its row accounting."""
    from pipelines.runner import ingest_file

    path = args.file.expanduser().resolve()
    with _dagster_instance() as instance:
        entry, accounting, runs = ingest_file(
            settings,
            instance,
            path,
            schema=args.schema,
            survey_id=args.survey_id,
            council=args.council,
            log_level=log_level,
        )
        _print_runs(runs, settings)
    print(f"survey {entry.survey_id} ({entry.original_name}, sha256 {entry.sha256[:12]})")
    print(
        f"rows in {accounting['rows_in']} = loaded {accounting['rows_loaded']} "
        f"+ quarantined {accounting['rows_quarantined']}"
    )
    for title, key in (
        ("quarantined", "quarantined_by_reason"),
        ("cells set aside", "cells_set_aside_by_reason"),
        ("not placed on the map (kept, counted for the council)", "unmatched_by_reason"),
    ):
        reasons = {reason: n for reason, n in accounting.get(key, {}).items() if n}
        if reasons:
            print(f"{title}: " + ", ".join(f"{r} {n}" for r, n in sorted(reasons.items())))
    return 0


def run_packs(args: argparse.Namespace, log_level: str) -> int:
    """Rebuild the rankings and packs (through Dagster) and print where the packs are."""
    from pipelines.runner import BUILD_PACKS, execute
    from profiles import warehouse

    settings = Settings.from_env().with_(warehouse=_warehouse_path(args))
    if args.out is not None:
        settings = settings.with_(outputs_dir=args.out.expanduser().resolve())
    if args.council:
        settings = settings.with_(council=args.council)
    with _dagster_instance() as instance:
        _print_runs([execute(settings, BUILD_PACKS, instance, log_level=log_level)], settings)
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        folders = con.execute(
            "SELECT council_name, min(path) FROM exports.profile_packs "
            "WHERE path LIKE '%overview.html' GROUP BY 1 ORDER BY 1"
        ).fetchall()
    if not folders:
        raise CliError("no council in scope for packs: name one with --council")
    for council_name, overview in folders:
        print(f"{council_name}: {Path(overview).parent}")
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
            reader = con.execute(query).to_arrow_reader()
        except Exception as error:  # duckdb raises many specific types; report them alike
            raise CliError(f"query failed: {str(error).splitlines()[0]}") from error
        with pacsv.CSVWriter(sys.stdout.buffer, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
    sys.stdout.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    # pandas' deprecation notices are for developers (the test suite shows them), not for
    # analysts reading the command's output.
    warnings.filterwarnings("ignore", category=FutureWarning, module="pandas")
    warnings.filterwarnings("ignore", category=FutureWarning, module="profiles")
    args = _parser().parse_args(argv)
    try:
        if args.command == "sql":
            return run_sql(_warehouse_path(args), args.query)
        log_level = LOG_LEVEL["verbose" if getattr(args, "verbose", False) else "quiet"]
        if args.command == "packs":
            return run_packs(args, log_level)
        if args.command == "ingest":
            base = Settings.from_env().with_(warehouse=_warehouse_path(args))
            return run_ingest(base, args, log_level)
        settings = _settings(args)
        if args.command == "demo":
            return run_demo(settings, log_level)
        if args.survey or args.sample_survey:
            return run_build_with_surveys(settings, args, log_level)
        return run_job(settings, args.job, log_level)
    except (ProfilesError, ValueError, OSError) as error:
        print(f"profiles: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("profiles: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
