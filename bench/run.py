"""The Scotland-scale benchmark: `python -m bench.run [--out bench/results] [--quick] [--runs N]`.

What belongs here: timing the pipeline on the `bench.workload` workload, stage by stage,
against the floor of DuckDB reading the same input bytes, and reporting the result as a
table (printed, and written as Markdown + JSON into `--out`).

How it measures. Each run is a fresh child process (so its peak RSS is its own) that builds
a new warehouse in-process through `pipelines.runner` with an ephemeral Dagster instance:
`refresh_statistics`, then `ingest_file` for every survey export (without outputs), then
`build_packs` — the cold build; then `ingest_file` for one new export including
`build_packs` — the incremental re-build. Python start-up and imports are outside every
timing; building the Definitions and Dagster's own bookkeeping are inside. Stage times are
summed from Dagster's step start/success events, each step assigned to a stage by the
asset group of what it materialized or checked. A thread samples the RSS of the process and
its children (pack workers) every 20 ms, so each stage also gets the peak RSS seen while it
ran (memory kept from earlier stages included). With `--runs N` the table reports each
row's fastest run and the highest peak memory of any run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.workload import Workload

# bench.workload (and through it the demo generator) is imported where it is used: pack
# workers import this main module, and 2 s of imports each was a cost of the harness that
# no pipeline run pays.

DEFAULT_OUT = Path(__file__).resolve().parent / "results"
DEFAULT_WORKLOADS = Path(tempfile.gettempdir()) / "profiles-bench"

COLD_TARGET_S = 60.0
INCREMENTAL_TARGET_S = 15.0
MEMORY_TARGET_MB = 2048.0
CODING_TARGET_PER_S = 20_000.0

# Stage of a step, from the group (and for `deprivation`, the name) of its asset.
STAGES = (
    "source parsing",
    "geography joins",
    "deprivation marts",
    "profiles (all councils)",
    "voice ingestion + coding",
    "voice summaries",
    "triangulation",
    "exports",
)


def _stage_of(group: str | None, asset_name: str) -> str:
    if group == "sources":
        return "source parsing"
    if group == "geography":
        return "geography joins"
    if group == "deprivation":
        return (
            "profiles (all councils)"
            if asset_name.startswith("locality_")
            else ("deprivation marts")
        )
    if group == "triangulation":
        return "triangulation"
    if group == "exports":
        return "exports"
    if group == "voice":
        return "voice summaries"
    return "other"


# --- memory ---------------------------------------------------------------------------------


def _process_rss_mb(pid: str) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # the process ended between listing and reading
        pass
    return 0.0


def _descendants(pid: str) -> list[str]:
    found: list[str] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as children:
                kids = children.read().split()
        except OSError:
            continue
        for kid in kids:
            found += [kid, *_descendants(kid)]
    return found


def _rss_mb() -> float:
    """Resident memory of this process and every process it started (pack workers), summed:
    what the build needs of the machine at that moment."""
    me = str(os.getpid())
    return sum(_process_rss_mb(pid) for pid in [me, *_descendants(me)])


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _cpu_jiffies() -> tuple[int, int] | None:
    """(stolen, total) CPU time of the machine so far, from /proc/stat (None elsewhere).

    'Steal' is time the hypervisor gave this virtual machine's CPUs to someone else: on a
    shared host it is why the same code takes a third longer from one hour to the next.
    """
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal (guest time is inside user already)
    return (fields[7], sum(fields[:8])) if len(fields) >= 8 else None


def _steal_share(start: tuple[int, int] | None, end: tuple[int, int] | None) -> float | None:
    if start is None or end is None or end[1] <= start[1]:
        return None
    return (end[0] - start[0]) / (end[1] - start[1])


class RssSampler:
    """Samples the process's resident set size in a background thread."""

    def __init__(self, interval_s: float = 0.02) -> None:
        self.interval_s = interval_s
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), _rss_mb()))
            self._stop.wait(self.interval_s)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, intervals: list[tuple[float, float]]) -> float:
        """Highest RSS sampled inside any of `intervals` (or the last sample before one)."""
        peak = 0.0
        for start, end in intervals:
            before = [rss for t, rss in self.samples if t <= start]
            inside = [rss for t, rss in self.samples if start <= t <= end]
            peak = max([peak, *inside, *(before[-1:])])
        return peak


# --- the floor ------------------------------------------------------------------------------


def _read_csv_sql(path: Path, encoding: str | None) -> str:
    options = ["all_varchar = true", "null_padding = true", "ignore_errors = true"]
    if encoding:
        options.append(f"encoding = '{encoding}'")
    return f"SELECT * FROM read_csv('{path}', {', '.join(options)})"


def read_floor(files: list[Path]) -> dict[str, float]:
    """Seconds DuckDB takes to read each input into an in-memory table: `read_csv` of every
    CSV (text columns, lenient, latin-1 where UTF-8 fails), `read_json` of every GeoJSON
    (its raw bytes where it cannot be parsed as one object)."""
    import duckdb

    timings: dict[str, float] = {}
    con = duckdb.connect()
    try:
        for index, path in enumerate(files):
            table = f"floor_{index}"
            started = time.perf_counter()
            if path.suffix.lower() == ".geojson":
                try:
                    con.execute(
                        f"CREATE TEMP TABLE {table} AS SELECT * FROM read_json('{path}', "
                        "maximum_object_size = 1073741824)"
                    )
                except duckdb.Error:
                    con.execute(
                        f"CREATE TEMP TABLE {table} AS SELECT content FROM read_blob('{path}')"
                    )
            else:
                try:
                    con.execute(f"CREATE TEMP TABLE {table} AS {_read_csv_sql(path, None)}")
                except duckdb.Error:
                    con.execute(f"CREATE TEMP TABLE {table} AS {_read_csv_sql(path, 'latin-1')}")
            timings[str(path)] = time.perf_counter() - started
            con.execute(f"DROP TABLE {table}")
    finally:
        con.close()
    return timings


def python_reference() -> float:
    """Seconds of a fixed pure-Python loop, the fastest of three: how quickly this machine
    runs interpreter-bound work at the time (most stages are; the DuckDB floor is not, and
    on a shared host the two drift apart)."""
    fastest = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for number in range(2_000_000):
            total += number * number % 7
        fastest = min(fastest, time.perf_counter() - started)
    return fastest


# --- one run (child process) ----------------------------------------------------------------


@dataclass
class StepTiming:
    run: str
    step: str
    stage: str
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def _asset_groups(settings) -> dict[str, str | None]:
    from pipelines.definitions import build_definitions

    graph = build_definitions(settings).resolve_asset_graph()
    return {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}


def _step_timings(instance, run_id: str, job: str, groups: dict[str, str | None]):
    import dagster as dg

    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    assets_of_step: dict[str, list[str]] = defaultdict(list)
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        kind = event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = entry.timestamp
        elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            ends[event.step_key] = entry.timestamp
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            assets_of_step[event.step_key].append(event.asset_key.to_user_string())
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            key = event.event_specific_data.asset_key.to_user_string()
            assets_of_step[event.step_key].append(key)
    timings = []
    for step, start in starts.items():
        assets = assets_of_step.get(step, [])
        first = assets[0] if assets else ""
        stage = _stage_of(groups.get(first), first.rsplit("/", 1)[-1])
        if job == "ingest_survey":
            stage = "voice ingestion + coding"
        timings.append(StepTiming(job, step, stage, start, ends.get(step, start)))
    return timings


def run_once(workload: Workload, scratch: Path) -> dict:
    """Cold build, theme coding throughput and incremental re-build of one fresh warehouse."""
    import dagster as dg

    from pipelines.runner import execute, ingest_file
    from profiles import warehouse
    from profiles.settings import Settings

    settings = Settings(
        warehouse=scratch / "warehouse.duckdb",
        source_mode="folder",
        source_dir=workload.sources_dir,
        cache_dir=scratch / "cache",
        demo_dir=scratch / "demo",
        outputs_dir=scratch / "outputs",
        inbox_dir=scratch / "inbox",
        archive_dir=scratch / "archive",
    )
    groups = _asset_groups(settings)
    steps: list[StepTiming] = []
    runs: list[dict] = []
    checks_failed: list[str] = []

    def record(summary, started: float, ended: float) -> None:
        steps.extend(_step_timings(instance, summary.run_id, summary.job, groups))
        checks_failed.extend(summary.failed_checks)
        runs.append({"job": summary.job, "start": started, "end": ended})

    with RssSampler() as sampler, dg.DagsterInstance.ephemeral() as instance:
        cold_cpu = _cpu_jiffies()
        cold_start = time.time()
        started = time.time()
        record(execute(settings, "refresh_statistics", instance), started, time.time())
        statistics_end = time.time()
        for survey in workload.surveys:
            started = time.time()
            _, _, summaries = ingest_file(
                settings,
                instance,
                Path(survey.path),
                council=survey.council_code,
                rebuild_outputs=False,
            )
            record(summaries[0], started, time.time())
        ingest_end = time.time()
        started = time.time()
        record(execute(settings, "build_packs", instance), started, time.time())
        cold_end = time.time()
        cold_steal = _steal_share(cold_cpu, _cpu_jiffies())

        # Theme coding alone: every comment of the cold build through the saved model.
        from assets.voice import theme_model
        from profiles.voice import coding

        with warehouse.connect(settings.warehouse, read_only=True) as con:
            comments = con.execute("SELECT * FROM staging.voice_comment").fetchdf()
        model = theme_model(settings.config_dir, str(settings.outputs_dir))
        analyst = coding.load_analyst_codes(settings.config_dir)
        coding_started = time.perf_counter()
        codes = coding.code_comments(comments, model, analyst)
        coding_s = time.perf_counter() - coding_started
        coded = int(comments["text_redacted"].astype("string").fillna("").str.strip().ne("").sum())
        del comments, codes

        incremental = workload.incremental
        assert incremental is not None
        incremental_cpu = _cpu_jiffies()
        incremental_start = time.time()
        _, accounting, summaries = ingest_file(
            settings, instance, Path(incremental.path), council=incremental.council_code
        )
        incremental_end = time.time()
        incremental_steal = _steal_share(incremental_cpu, _cpu_jiffies())
        for summary in summaries:
            steps.extend(_step_timings(instance, summary.run_id, summary.job, groups))

    cold_steps = [s for s in steps if s.end <= cold_end]
    by_stage: dict[str, list[StepTiming]] = defaultdict(list)
    for step in cold_steps:
        by_stage[step.stage].append(step)
    stages = {
        stage: {
            "seconds": sum(s.seconds for s in by_stage.get(stage, [])),
            "steps": len(by_stage.get(stage, [])),
            "peak_rss_mb": sampler.peak([(s.start, s.end) for s in by_stage.get(stage, [])]),
        }
        for stage in (*STAGES, "other")
    }
    pack_run = next(r for r in runs if r["job"] == "build_packs")
    slowest = sorted(cold_steps, key=lambda s: -s.seconds)[:12]
    incremental_steps = [s for s in steps if s.start >= incremental_start]
    incremental_stages: dict[str, float] = defaultdict(float)
    for step in incremental_steps:
        incremental_stages[step.stage] += step.seconds
    return {
        "stages": stages,
        "cold_s": cold_end - cold_start,
        "cold_steal_share": cold_steal,
        "incremental_steal_share": incremental_steal,
        "cold_peak_rss_mb": sampler.peak([(cold_start, cold_end)]),
        "statistics_s": statistics_end - cold_start,
        "statistics_peak_rss_mb": sampler.peak([(cold_start, statistics_end)]),
        "ingest_s": ingest_end - statistics_end,
        "build_packs_s": pack_run["end"] - pack_run["start"],
        "build_packs_peak_rss_mb": sampler.peak([(pack_run["start"], pack_run["end"])]),
        "steps_s": sum(s.seconds for s in cold_steps),
        "coding_s": coding_s,
        "coded_comments": coded,
        "incremental_s": incremental_end - incremental_start,
        "incremental_peak_rss_mb": sampler.peak([(incremental_start, incremental_end)]),
        "incremental_rows": accounting.get("rows_in"),
        "max_rss_mb": max(_max_rss_mb(), max((rss for _, rss in sampler.samples), default=0.0)),
        "failed_checks": sorted(set(checks_failed)),
        "slowest_steps": [
            {"step": s.step, "job": s.run, "stage": s.stage, "seconds": round(s.seconds, 3)}
            for s in slowest
        ],
        "incremental_stages": {k: round(v, 3) for k, v in incremental_stages.items()},
        "incremental_steps": [
            {"step": s.step, "job": s.run, "stage": s.stage, "seconds": round(s.seconds, 3)}
            for s in sorted(incremental_steps, key=lambda s: -s.seconds)
        ],
    }


# --- report ---------------------------------------------------------------------------------


def machine() -> dict[str, object]:
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        total_kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    import dagster
    import duckdb
    import pandas

    return {
        "nproc": len(os.sched_getaffinity(0)),
        "ram_gb": round(total_kb / 1024 / 1024, 1),
        "cpu": model,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "dagster": dagster.__version__,
        "pandas": pandas.__version__,
    }


def _row(stage, seconds, floor_s, rss, target="", met=None, note=""):
    return {
        "stage": stage,
        "seconds": None if seconds is None else round(seconds, 2),
        "floor_multiple": None if seconds is None or not floor_s else round(seconds / floor_s, 1),
        "peak_rss_mb": None if rss is None else round(rss),
        "target": target,
        "met": met,
        "note": note,
    }


def _steal_note(share: float | None) -> str:
    return "" if share is None else f"; CPU stolen by the host {share:.0%}"


def table_rows(best: dict, worst_rss: dict, floor: dict, workload: Workload) -> list[dict]:
    floor_s = floor["total_s"]
    rows = []
    for stage in STAGES:
        entry = best["stages"][stage]
        note = f"{entry['steps']} steps" if entry["steps"] else "no step in this stage"
        if stage == "voice ingestion + coding":
            note += f"; {len(workload.surveys)} exports, {workload.survey_responses:,} responses"
        rows.append(_row(stage, entry["seconds"], floor_s, worst_rss["stages"][stage], note=note))
    rows.append(
        _row(
            "orchestration (Definitions, Dagster events, checks' I/O)",
            best["cold_s"] - best["steps_s"],
            floor_s,
            None,
        )
    )
    rows.append(
        _row(
            "build_packs job (voice marts, triangulation, exports)",
            best["build_packs_s"],
            floor_s,
            worst_rss["build_packs_peak_rss_mb"],
        )
    )
    rows.append(
        _row(
            f"cold build, {'Demo City' if workload.spec.scale == 'demo' else 'all of Scotland'}",
            best["cold_s"],
            floor_s,
            worst_rss["cold_peak_rss_mb"],
            f"<= {COLD_TARGET_S:.0f} s",
            best["cold_s"] <= COLD_TARGET_S,
            f"statistics {best['statistics_s']:.1f} s + ingest {best['ingest_s']:.1f} s + "
            f"packs {best['build_packs_s']:.1f} s" + _steal_note(best["cold_steal_share"]),
        )
    )
    rows.append(
        _row(
            "incremental: one new export + build_packs",
            best["incremental_s"],
            floor_s,
            worst_rss["incremental_peak_rss_mb"],
            f"<= {INCREMENTAL_TARGET_S:.0f} s",
            best["incremental_s"] <= INCREMENTAL_TARGET_S,
            (f"{best['incremental_rows']:,} responses" if best["incremental_rows"] else "")
            + _steal_note(best["incremental_steal_share"]),
        )
    )
    rate = best["coded_comments"] / best["coding_s"] if best["coding_s"] else 0.0
    rows.append(
        _row(
            "theme coding (code_comments)",
            best["coding_s"],
            floor_s,
            None,
            f">= {CODING_TARGET_PER_S:,.0f} comments/s",
            rate >= CODING_TARGET_PER_S,
            f"{best['coded_comments']:,} comments, {rate:,.0f}/s",
        )
    )
    rows.append(
        _row(
            "peak memory (whole run)",
            None,
            floor_s,
            worst_rss["max_rss_mb"],
            f"<= {MEMORY_TARGET_MB:.0f} MB",
            worst_rss["max_rss_mb"] <= MEMORY_TARGET_MB,
            "the run's process and its pack workers, summed",
        )
    )
    rows.append(
        _row(
            "floor: DuckDB reads every input",
            floor_s,
            floor_s,
            None,
            note=f"statistics {floor['statistics_s']:.2f} s + surveys {floor['surveys_s']:.2f} s "
            f"({floor['bytes'] / 1e6:,.0f} MB)",
        )
    )
    if "python_s" in floor:
        rows.append(
            _row(
                "reference: a fixed pure-Python loop",
                floor["python_s"],
                None,  # not a multiple of the DuckDB floor: a different kind of work
                None,
                note="the interpreter's speed at the time; by run: "
                + ", ".join(f"{value:.2f} s" for value in floor["python_s_by_run"]),
            )
        )
    return rows


def combine(results: list[dict]) -> tuple[dict, dict]:
    """Fastest time per measure and highest memory per measure over the runs."""
    best = dict(min(results, key=lambda r: r["cold_s"]))
    worst = dict(best)
    for key in (
        "cold_s",
        "statistics_s",
        "ingest_s",
        "build_packs_s",
        "steps_s",
        "coding_s",
        "incremental_s",
    ):
        best[key] = min(r[key] for r in results)
    for key in ("cold", "incremental"):
        fastest = min(results, key=lambda r: r[f"{key}_s"])
        best[f"{key}_steal_share"] = fastest.get(f"{key}_steal_share")
    best["stages"] = {
        stage: {**entry, "seconds": min(r["stages"][stage]["seconds"] for r in results)}
        for stage, entry in best["stages"].items()
    }
    for key in (
        "cold_peak_rss_mb",
        "build_packs_peak_rss_mb",
        "incremental_peak_rss_mb",
        "max_rss_mb",
    ):
        worst[key] = max(r[key] for r in results)
    worst["stages"] = {
        stage: max(r["stages"][stage]["peak_rss_mb"] for r in results) for stage in best["stages"]
    }
    return best, worst


def markdown(rows: list[dict], meta: dict) -> str:
    def cell(value, fmt="{}"):
        return "" if value is None or value == "" else fmt.format(value)

    lines = [
        f"# Benchmark: {meta['workload']['title']}",
        "",
        f"{meta['when']} · {meta['runs']} run(s), fastest time and highest memory reported · "
        f"{meta['machine']['nproc']} CPUs ({meta['machine']['cpu']}), "
        f"{meta['machine']['ram_gb']} GB RAM · Python {meta['machine']['python']}, "
        f"DuckDB {meta['machine']['duckdb']}, Dagster {meta['machine']['dagster']}",
        "",
        "| stage | seconds | × floor | peak RSS MB | target | met? | notes |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    for row in rows:
        met = {True: "yes", False: "**no**", None: ""}[row["met"]]
        lines.append(
            f"| {row['stage']} | {cell(row['seconds'], '{:.2f}')} | "
            f"{cell(row['floor_multiple'], '{:.1f}')} | {cell(row['peak_rss_mb'])} | "
            f"{row['target']} | {met} | {row['note']} |"
        )
    if meta.get("incremental_stages"):
        lines += [
            "",
            "Incremental re-build by stage (fastest run): "
            + ", ".join(f"{k} {v:.1f} s" for k, v in meta["incremental_stages"].items()),
        ]
    lines += ["", "Slowest steps of the fastest cold build:", ""]
    lines += [
        f"- `{s['step']}` ({s['job']}, {s['stage']}): {s['seconds']:.2f} s"
        for s in meta["slowest_steps"]
    ]
    if meta["failed_checks"]:
        lines += [
            "",
            "Checks that failed (ERROR) during the build: "
            + ", ".join(f"`{c}`" for c in meta["failed_checks"]),
        ]
    return "\n".join(lines) + "\n"


def print_table(rows: list[dict]) -> None:
    header = f"{'stage':58s} {'seconds':>8s} {'×floor':>7s} {'RSS MB':>7s}  {'target':22s} met?"
    print(header)
    print("-" * len(header))
    for row in rows:
        seconds = "" if row["seconds"] is None else f"{row['seconds']:.2f}"
        multiple = "" if row["floor_multiple"] is None else f"{row['floor_multiple']:.1f}"
        rss = "" if row["peak_rss_mb"] is None else str(row["peak_rss_mb"])
        met = {True: "yes", False: "NO", None: ""}[row["met"]]
        print(
            f"{row['stage'][:58]:58s} {seconds:>8s} {multiple:>7s} {rss:>7s}  "
            f"{row['target']:22s} {met}"
        )


def _child(workload_root: Path, result_path: Path, keep: Path | None) -> None:
    from bench.workload import Workload

    workload = Workload.from_json(
        workload_root, json.loads((workload_root / "workload.json").read_text(encoding="utf-8"))
    )
    if keep is not None:
        shutil.rmtree(keep, ignore_errors=True)
        keep.mkdir(parents=True)
        result = run_once(workload, keep)
    else:
        with tempfile.TemporaryDirectory(prefix="profiles-bench-run-") as scratch:
            result = run_once(workload, Path(scratch))
    result_path.write_text(json.dumps(result, indent=2), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write results")
    parser.add_argument("--quick", action="store_true", help="Demo City scale (a smoke run)")
    parser.add_argument("--runs", type=int, default=1, help="runs; fastest time is reported")
    parser.add_argument(
        "--workload-dir",
        type=Path,
        default=None,
        help=f"where the generated workload is kept (default {DEFAULT_WORKLOADS}/<spec>)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="keep the last run's warehouse, archive and outputs in this folder (for profiling)",
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.result, args.keep)
        return 0

    from bench.workload import QUICK, SCOTLAND, generate_workload

    spec = QUICK if args.quick else SCOTLAND
    workload_root = args.workload_dir or DEFAULT_WORKLOADS / spec.key
    started = time.perf_counter()
    workload = generate_workload(workload_root, spec)
    print(
        f"workload {workload.root}: {workload.data_zones:,} data zones, {workload.councils} "
        f"councils, {workload.wards} wards, {workload.postcodes:,} postcodes, "
        f"{len(workload.surveys)} survey exports with {workload.survey_responses:,} responses "
        f"and {workload.survey_comments:,} comments ({time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    statistics_files = [p for p in workload.input_files() if workload.sources_dir in p.parents]
    survey_files = [Path(s.path) for s in workload.surveys]
    results, floors = [], []
    for run in range(args.runs):
        timings = read_floor(statistics_files + survey_files)
        floors.append(
            {
                "statistics_s": sum(timings[str(p)] for p in statistics_files),
                "surveys_s": sum(timings[str(p)] for p in survey_files),
                "python_s": python_reference(),
            }
        )
        with tempfile.TemporaryDirectory(prefix="profiles-bench-") as folder:
            result_path = Path(folder) / "result.json"
            completed = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.run",
                    "--child",
                    str(workload.root),
                    "--result",
                    str(result_path),
                    *(["--keep", str(args.keep)] if args.keep and run == args.runs - 1 else []),
                ],
                cwd=Path(__file__).resolve().parents[1],
                check=False,
            )
            if completed.returncode != 0:
                print(f"run {run + 1} failed (exit {completed.returncode})", file=sys.stderr)
                return 1
            results.append(json.loads(result_path.read_text(encoding="utf-8")))
        print(
            f"run {run + 1}/{args.runs}: cold build {results[-1]['cold_s']:.1f} s, "
            f"incremental {results[-1]['incremental_s']:.1f} s",
            flush=True,
        )
    floor = {
        "statistics_s": min(f["statistics_s"] for f in floors),
        "surveys_s": min(f["surveys_s"] for f in floors),
        "bytes": sum(p.stat().st_size for p in statistics_files + survey_files),
        "python_s": min(f["python_s"] for f in floors),
        "python_s_by_run": [round(f["python_s"], 3) for f in floors],
    }
    floor["total_s"] = floor["statistics_s"] + floor["surveys_s"]
    best, worst = combine(results)
    rows = table_rows(best, worst, floor, workload)
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta = {
        "when": when,
        "runs": args.runs,
        "machine": machine(),
        "workload": {
            "title": "Demo City (quick)" if args.quick else "Scotland scale",
            **workload.to_json(),
        },
        "floor": floor,
        "failed_checks": best["failed_checks"],
        "slowest_steps": best["slowest_steps"],
        "incremental_stages": min(results, key=lambda r: r["incremental_s"]).get(
            "incremental_stages", {}
        ),
        "incremental_steps": min(results, key=lambda r: r["incremental_s"]).get(
            "incremental_steps", []
        ),
    }
    print()
    print_table(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"bench_{'quick' if args.quick else 'scotland'}"
    document = {**meta, "rows": rows, "runs_raw": results}
    (args.out / f"{name}.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    (args.out / f"{name}.md").write_text(markdown(rows, meta), encoding="utf-8")
    print(f"\nwritten {args.out / name}.md and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
