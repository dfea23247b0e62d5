"""Fault tolerance end to end: a misbehaving service, killed processes, lock contention,
determinism and hostile survey content, each through the real pipeline.

- statistics.gov.scot misbehaving (the fake server on 127.0.0.1, Demo City content):
  after a good live build, every fault either replays the last good cache with identical
  marts or fails with a one-line reason; the cache is never half-written.
- SIGKILL of a process in the middle of a build: the warehouse opens, every table in it is
  complete, and the next run publishes the same marts as a clean build.
- DuckDB contention: a reader in another process makes a run wait (or fail with a clear
  lock message after its timeout); two runs at once both succeed.
- Determinism: two demo builds in two folders give identical marts and outputs.
- Hostile content (formulas, very long lines, confusables, NUL bytes) is quarantined or
  neutralised and never crashes the run.

Builds are shared through module-scoped fixtures; every network socket is on 127.0.0.1.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pytest
import yaml

from pipelines.runner import RunFailed, execute, ingest_file, run_demo
from profiles import warehouse
from profiles.demo.generate import generate_demo
from profiles.live import statsgov
from profiles.live.cache import RawCache
from profiles.settings import CONFIG_DIR, REPO_ROOT, Settings
from profiles.sources.simd import read_simd_withinds
from tests.live_server import (
    JSON_ERROR_BODY,
    FakeStatsGov,
    Reply,
    closed_port_url,
    html_error_reply,
    status_reply,
)
from tests.pipeline_helpers import settings_for, table_digest

pytestmark = pytest.mark.slow

DEMO_ZONES = 340
STATISTICS = "refresh_statistics"
SIMD_2016 = "simd_sparql_2016"
SIMD_2020 = "simd_sparql_2020v2"
LOOKUP = "dz_lookup"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# --- shared helpers ---------------------------------------------------------------------------


def _tables(settings: Settings, schemas: tuple[str, ...] = ("raw", "staging", "marts")):
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        rows = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() ORDER BY ALL"
        ).fetchall()
    return [f"{schema}.{table}" for schema, table in rows if schema in schemas]


def _row_counts(settings: Settings) -> dict[str, int]:
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        return {
            table: int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in _tables(settings)
        }


def _marts_digests(settings: Settings) -> dict[str, str]:
    return {table: table_digest(settings, table) for table in _tables(settings, ("marts",))}


def _output_digests(settings: Settings) -> dict[str, str]:
    root = settings.outputs_dir
    if not root.exists():
        return {}
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _one_line(message: str) -> bool:
    return bool(message.strip()) and "\n" not in message.strip()


def _python(code: str, *args: str) -> subprocess.Popen:
    """A Python child in the repository root (so `pipelines` and `tests` import)."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


BUILD_IN_CHILD = """
import sys
from pathlib import Path
import dagster as dg
from pipelines.runner import execute
from tests.pipeline_helpers import settings_for
settings = settings_for(Path(sys.argv[1]), source_mode="folder", source_dir=Path(sys.argv[2]))
with dg.DagsterInstance.ephemeral() as instance:
    summary = execute(settings, "refresh_statistics", instance, log_level="WARNING")
print("built", len(summary.materialized), flush=True)
"""

HOLD_READ_CONNECTION = """
import sys, time
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SELECT count(*) FROM marts.dim_datazone").fetchone()
print("reading", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
print("closed", flush=True)
"""


# --- module fixtures: Demo City sources and a clean statistics build --------------------------


@pytest.fixture(scope="module")
def demo_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fault-demo-sources")
    generate_demo(folder)
    return folder


@dataclass
class CleanBuild:
    settings: Settings
    row_counts: dict[str, int]
    marts: dict[str, str]


@pytest.fixture(scope="module")
def clean_statistics(tmp_path_factory: pytest.TempPathFactory, demo_sources: Path) -> CleanBuild:
    """`refresh_statistics` on the Demo City sources, once, undisturbed: the reference."""
    settings = settings_for(
        tmp_path_factory.mktemp("fault-clean"), source_mode="folder", source_dir=demo_sources
    )
    with dg.DagsterInstance.ephemeral() as instance:
        summary = execute(settings, STATISTICS, instance, log_level="WARNING")
    assert summary.failed_checks == []
    return CleanBuild(settings, _row_counts(settings), _marts_digests(settings))


# --- statistics.gov.scot misbehaving ----------------------------------------------------------

DOMAIN_LABEL = {
    "overall": "SIMD",
    "income": "Income",
    "employment": "Employment",
    "health": "Health",
    "education": "Education Skills And Training",
    "access": "Access To Services",
    "crime": "Crime",
    "housing": "Housing",
}


def _sparql_body(ranks, vintage: str) -> bytes:
    """The demo's ranks for one vintage as a SPARQL CSV result (zones as URIs)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["year", "zone", "domain", "measure", "value"])
    year = {"2016": "2016", "2020v2": "2020"}[vintage]
    for row in ranks[ranks["vintage"] == vintage].itertuples():
        zone = f"http://statistics.gov.scot/id/statistical-geography/{row.dz_code}"
        for measure in ("Rank", "Decile", "Quintile", "Vigintile"):
            value = getattr(row, measure.lower())
            text = f"{value:g}" if measure == "Rank" else str(int(value))
            writer.writerow([year, zone, DOMAIN_LABEL[row.domain], measure, text])
    return out.getvalue().encode("utf-8")


@dataclass
class LiveService:
    """The Demo City as statistics.gov.scot would serve it, and a live build's state."""

    simd: dict[str, bytes]
    lookup: bytes
    settings: Settings
    marts: dict[str, str] = field(default_factory=dict)
    cache: dict[str, str] = field(default_factory=dict)

    def serve(self, server: FakeStatsGov, *sparql_replies: Reply) -> None:
        """Script the SPARQL replies (default: both vintages, good) and the lookup file."""
        replies = sparql_replies or (Reply(body=self.simd["2016"]), Reply(body=self.simd["2020v2"]))
        server.script("/sparql", *replies)
        server.set_body("/downloads/file", self.lookup)


def _cache_state(cache_dir: Path) -> dict[str, str]:
    """Current sha256 per dataset, every file re-verified against its checksum."""
    cache = RawCache(cache_dir)
    return {dataset: cache.latest(dataset, verify=True).sha256 for dataset in cache.datasets()}


def _modes(settings: Settings) -> dict[str, str]:
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        rows = con.execute(
            "SELECT dataset, mode FROM raw.source_file WHERE role = 'primary'"
        ).fetchall()
    return dict(rows)


@pytest.fixture(scope="module")
def fast_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """statsgov.yaml with second-scale timeouts and retries, so faults take seconds."""
    raw = yaml.safe_load((CONFIG_DIR / "statsgov.yaml").read_text(encoding="utf-8"))
    raw["http"].update(
        connect_timeout_s=1,
        read_timeout_s=1,
        attempt_deadline_s=2,
        max_attempts=2,
        backoff_s=0.05,
        backoff_cap_s=0.2,
        retry_after_cap_s=3,
    )
    path = tmp_path_factory.mktemp("fast-http") / "statsgov.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(statsgov, "DEFAULT_CONFIG_PATH", path)
        yield


@pytest.fixture(scope="module")
def live_service(
    tmp_path_factory: pytest.TempPathFactory, demo_sources: Path, fast_http: None
) -> LiveService:
    """A good live build from the fake service: the last good data every fault must keep."""
    ranks = {
        vintage: read_simd_withinds(
            demo_sources / f"simd{vintage}_withinds.csv", n_zones=DEMO_ZONES
        ).ranks
        for vintage in ("2016", "2020v2")
    }
    service = LiveService(
        simd={vintage: _sparql_body(frame, vintage) for vintage, frame in ranks.items()},
        lookup=(demo_sources / "Datazone2011lookup.csv").read_bytes(),
        settings=settings_for(
            tmp_path_factory.mktemp("fault-live"), source_mode="live", simd_n_zones=DEMO_ZONES
        ),
    )
    with FakeStatsGov() as server:
        service.serve(server)
        service.settings = service.settings.with_(base_url=server.base_url)
        with dg.DagsterInstance.ephemeral() as instance:
            summary = execute(service.settings, STATISTICS, instance, log_level="WARNING")
    assert summary.failed_checks == []
    assert set(_modes(service.settings).values()) == {"live"}
    service.marts = _marts_digests(service.settings)
    service.cache = _cache_state(service.settings.cache_dir)
    assert {SIMD_2016, SIMD_2020, LOOKUP} <= set(service.cache)
    return service


@dataclass(frozen=True)
class Fault:
    name: str
    script: Callable[[LiveService, FakeStatsGov], None]
    faulted: tuple[str, ...]  # datasets that must be replayed from the cache
    live: tuple[str, ...] = ()  # datasets that must still come fresh from the service
    refused: bool = False  # point the build at a closed port instead of the server


def _script(
    sparql: Callable[[LiveService], list[Reply]] | None = None,
    lookup: Callable[[LiveService], list[Reply]] | None = None,
    status_everywhere: int | None = None,
) -> Callable[[LiveService, FakeStatsGov], None]:
    """Script the fake service: SPARQL replies in request order (2016, then 2020v2), the
    lookup's replies, or one error status for every request. Faults the client retries
    (5xx, truncation, trickle) are scripted once per attempt (max_attempts = 2), the others
    once, as `fetch_to_file` documents; unscripted requests get the good answer."""

    def script(service: LiveService, server: FakeStatsGov) -> None:
        if status_everywhere is not None:
            for path in ("/sparql", "/downloads/file", "/downloads/cube-table"):
                server.script(path, *[status_reply(status_everywhere) for _ in range(8)])
            return
        service.serve(server, *(sparql(service) if sparql else ()))
        if lookup:
            server.script("/downloads/file", *lookup(service))

    return script


def _good(service: LiveService, vintage: str) -> Reply:
    return Reply(body=service.simd[vintage])


def _truncated(service: LiveService, vintage: str) -> list[Reply]:
    body = service.simd[vintage]
    return [Reply(body=body, truncate_to=len(body) // 2)] * 2


def _trickled(service: LiveService, vintage: str) -> list[Reply]:
    # 200 bytes every 0.25 s: never done within the 2 s attempt deadline.
    return [Reply(body=service.simd[vintage], trickle=(200, 0.25))] * 2


FAULTS = [
    Fault(
        "connection refused",
        _script(),
        (SIMD_2016, SIMD_2020, LOOKUP),
        refused=True,
    ),
    Fault(
        "HTTP 500 on every request", _script(status_everywhere=500), (SIMD_2016, SIMD_2020, LOOKUP)
    ),
    Fault(
        "429 with a long Retry-After, truncated body, HTML page for the lookup",
        _script(
            sparql=lambda s: [status_reply(429, retry_after="3600"), *_truncated(s, "2020v2")],
            lookup=lambda s: [html_error_reply(200)],
        ),
        (SIMD_2016, SIMD_2020, LOOKUP),
    ),
    Fault(
        "slow trickle, renamed columns, renamed lookup key",
        _script(
            sparql=lambda s: [
                *_trickled(s, "2016"),
                Reply(body=s.simd["2020v2"], rename_columns={"zone": "refArea"}),
            ],
            lookup=lambda s: [Reply(rename_columns={"DZ2011_Code": "DataZone"})],
        ),
        (SIMD_2016, SIMD_2020, LOOKUP),
    ),
    Fault(
        "JSON error with a wrong content type for one vintage only",
        _script(
            sparql=lambda s: [
                Reply(body=JSON_ERROR_BODY, content_type="application/json"),
                _good(s, "2020v2"),
            ]
        ),
        (SIMD_2016,),
        live=(SIMD_2020, LOOKUP),
    ),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_service_fault_replays_last_good_data(live_service: LiveService, fault: Fault) -> None:
    with FakeStatsGov() as server:
        fault.script(live_service, server)
        base_url = closed_port_url() if fault.refused else server.base_url
        settings = live_service.settings.with_(base_url=base_url)
        with dg.DagsterInstance.ephemeral() as instance:
            summary = execute(settings, STATISTICS, instance, log_level="WARNING")
    assert summary.failed_checks == []
    modes = _modes(settings)
    assert {modes[dataset] for dataset in fault.faulted} == {"live-cache"}, modes
    assert {modes[dataset] for dataset in fault.live} <= {"live"}, modes
    assert _marts_digests(settings) == live_service.marts
    # The cache is whole: same current files, each matching its checksum, no temp files.
    assert _cache_state(settings.cache_dir) == live_service.cache
    assert list(settings.cache_dir.rglob(".incoming*")) == []


def test_retry_after_is_honoured_then_the_data_is_live(live_service: LiveService) -> None:
    with FakeStatsGov() as server:
        live_service.serve(
            server,
            status_reply(429, retry_after="1"),
            Reply(body=live_service.simd["2016"]),
            Reply(body=live_service.simd["2020v2"]),
        )
        settings = live_service.settings.with_(base_url=server.base_url)
        with dg.DagsterInstance.ephemeral() as instance:
            execute(settings, STATISTICS, instance, log_level="WARNING")
        sparql = server.requests_to("/sparql")
    assert len(sparql) == 3
    assert _modes(settings)[SIMD_2016] == "live"
    assert _marts_digests(settings) == live_service.marts
    assert _cache_state(settings.cache_dir) == live_service.cache


def test_service_down_without_a_cache_fails_in_one_line(tmp_path: Path, fast_http: None) -> None:
    settings = settings_for(
        tmp_path, source_mode="live", base_url=closed_port_url(), simd_n_zones=DEMO_ZONES
    )
    with dg.DagsterInstance.ephemeral() as instance, pytest.raises(RunFailed) as failure:
        execute(settings, STATISTICS, instance, log_level="CRITICAL")
    message = str(failure.value)
    assert _one_line(message)
    assert message.startswith("raw__source_file: ")
    assert "no cached copy" in message and "127.0.0.1" in message
    # Nothing was published, and the cache holds no partial download.
    assert not settings.warehouse.exists() or _tables(settings, ("marts",)) == []
    assert [
        p for p in settings.cache_dir.rglob("*") if p.is_file() and p.name != "manifest.json"
    ] == []


# --- a process killed in the middle of a build ------------------------------------------------


def _kill_during_build(
    work: Path, sources: Path, wait_for_write: float, seed: int
) -> tuple[bool, bool]:
    """Start a build in a child, SIGKILL it while it writes; (killed, wal_present_at_kill).

    The kill comes `wait_for_write` seconds (plus up to 0.5 s of seeded jitter) after the
    first write-ahead log appears, at a moment the log exists again: a write is open.
    """
    db = work / "warehouse.duckdb"
    wal = db.with_name(db.name + ".wal")
    child = _python(BUILD_IN_CHILD, str(work), str(sources))
    deadline = time.monotonic() + 120
    first_wal = None
    delay = wait_for_write + random.Random(seed).uniform(0, 0.5)
    try:
        while child.poll() is None and time.monotonic() < deadline:
            if wal.exists():
                first_wal = first_wal or time.monotonic()
                if time.monotonic() - first_wal >= delay:
                    os.kill(child.pid, signal.SIGKILL)
                    child.wait(timeout=30)
                    return True, True
            time.sleep(0.002)
        return False, False
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()


@pytest.mark.parametrize("wait_for_write", [0.0, 1.0, 2.5])
def test_sigkill_during_a_write_leaves_no_partial_table(
    tmp_path: Path, demo_sources: Path, clean_statistics: CleanBuild, wait_for_write: float
) -> None:
    # On a machine fast enough to finish first, try again sooner (a fresh folder each time).
    for attempt, delay in enumerate((wait_for_write, wait_for_write / 2, 0.0)):
        for leftover in tmp_path.glob("warehouse.duckdb*"):
            leftover.unlink()
        killed, during_write = _kill_during_build(tmp_path, demo_sources, delay, seed=attempt)
        if killed:
            break
    assert killed and during_write, "the build finished before it could be killed"
    settings = settings_for(tmp_path, source_mode="folder", source_dir=demo_sources)
    # The warehouse opens (the write-ahead log is replayed: committed writes kept, the
    # uncommitted one gone), and every table it holds is complete.
    with warehouse.connect(settings.warehouse):
        pass
    survived = _row_counts(settings)
    assert set(survived) <= set(clean_statistics.row_counts)
    assert {table: clean_statistics.row_counts[table] for table in survived} == survived
    # The next run recovers: the same marts as an undisturbed build.
    with dg.DagsterInstance.ephemeral() as instance:
        summary = execute(settings, STATISTICS, instance, log_level="WARNING")
    assert summary.failed_checks == []
    assert _marts_digests(settings) == clean_statistics.marts


# --- DuckDB contention ------------------------------------------------------------------------


def _start_reader(db: Path, hold_s: float) -> subprocess.Popen:
    reader = _python(HOLD_READ_CONNECTION, str(db), str(hold_s))
    assert reader.stdout.readline().strip() == "reading", reader.stderr.read()
    return reader


def _copy_of(build: CleanBuild, work: Path) -> Settings:
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(build.settings.warehouse, work / "warehouse.duckdb")
    return build.settings.with_(warehouse=work / "warehouse.duckdb")


def test_run_waits_for_a_reader_in_another_process(
    tmp_path: Path, clean_statistics: CleanBuild
) -> None:
    settings = _copy_of(clean_statistics, tmp_path)
    reader = _start_reader(settings.warehouse, hold_s=3)
    try:
        started = time.monotonic()
        with dg.DagsterInstance.ephemeral() as instance:
            summary = execute(settings, STATISTICS, instance, log_level="WARNING")
        waited = time.monotonic() - started
        assert reader.wait(timeout=30) == 0
    finally:
        reader.kill()
        reader.communicate()
    assert waited >= 2.5  # the first write could not start before the reader let go
    assert summary.failed_checks == []
    assert _marts_digests(settings) == clean_statistics.marts


@dataclass
class LockedOut:
    settings: Settings
    message: str
    waited_s: float


@pytest.fixture(scope="module")
def locked_out(tmp_path_factory: pytest.TempPathFactory, clean_statistics: CleanBuild) -> LockedOut:
    """A run with a 2 s lock timeout against a warehouse another process keeps open."""
    import pipelines.definitions
    from pipelines.resources import WarehouseResource, resources_for

    def impatient(settings: Settings) -> dict:
        resources = resources_for(settings)
        resources["warehouse"] = WarehouseResource(path=str(settings.warehouse), lock_timeout_s=2)
        return resources

    settings = _copy_of(clean_statistics, tmp_path_factory.mktemp("fault-locked"))
    reader = _start_reader(settings.warehouse, hold_s=60)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(pipelines.definitions, "resources_for", impatient)
            started = time.monotonic()
            with dg.DagsterInstance.ephemeral() as instance, pytest.raises(RunFailed) as failure:
                execute(settings, STATISTICS, instance, log_level="CRITICAL")
            waited = time.monotonic() - started
    finally:
        reader.kill()
        reader.communicate()
    return LockedOut(settings, str(failure.value), waited)


def test_reader_held_past_the_lock_timeout_fails_in_one_line(
    locked_out: LockedOut, clean_statistics: CleanBuild
) -> None:
    assert _one_line(locked_out.message)
    assert locked_out.message.startswith("raw__source_file: ")
    assert "lock" in locked_out.message.lower()
    assert str(locked_out.settings.warehouse) in locked_out.message
    assert 2 <= locked_out.waited_s < 30  # retried for the timeout, then gave up
    # Nothing was changed by the failed run.
    assert _marts_digests(locked_out.settings) == clean_statistics.marts


def test_lock_timeout_reports_how_long_it_waited(locked_out: LockedOut) -> None:
    assert "still locked by another process after 2 s" in locked_out.message


def test_two_runs_at_once_both_succeed(
    tmp_path: Path, demo_sources: Path, clean_statistics: CleanBuild
) -> None:
    runs = [_python(BUILD_IN_CHILD, str(tmp_path), str(demo_sources)) for _ in range(2)]
    outcomes = [run.communicate(timeout=300) for run in runs]
    for run, (out, err) in zip(runs, outcomes, strict=True):
        assert run.returncode == 0, err[-2000:]
        assert out.startswith("built ")
        assert "locked" not in err.lower()
    settings = settings_for(tmp_path, source_mode="folder", source_dir=demo_sources)
    assert _row_counts(settings) == clean_statistics.row_counts
    assert _marts_digests(settings) == clean_statistics.marts


# --- determinism ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def second_demo(tmp_path_factory: pytest.TempPathFactory):
    """The whole demo flow again in another folder, its marts and outputs digested at once
    (later tests add surveys to it)."""
    settings = settings_for(tmp_path_factory.mktemp("fault-demo-again"), source_mode="demo")
    with dg.DagsterInstance.ephemeral() as instance:
        run_demo(settings, instance)
    return settings, _marts_digests(settings), _output_digests(settings)


def test_two_demo_builds_give_identical_marts(demo_build, second_demo) -> None:
    settings, _ = demo_build
    other_settings, other_marts, _ = second_demo
    assert settings.warehouse.parent != other_settings.warehouse.parent
    # No marts column holds a path of the build folder, so no column is excluded.
    assert len(other_marts) >= 20
    assert _marts_digests(settings) == other_marts


def test_two_demo_builds_give_identical_outputs(demo_build, second_demo) -> None:
    settings, _ = demo_build
    _, _, other_outputs = second_demo
    # Pack files hold no absolute path (sources are listed by file name): compared whole.
    assert len(other_outputs) >= 10
    assert _output_digests(settings) == other_outputs


# --- hostile survey content -------------------------------------------------------------------

HOSTILE_TEXTS = (
    '=HYPERLINK("http://attacker.example/x","Click for your results")',
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C notepad'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1 after a tab",
    "=1+1",
    "Тhе раrk іs lоvеly (Cyrillic look-alikes)",
    "Parks\u200b are\u200b great\u202e desrever txet",
    "ｆｕｌｌ ｗｉｄｔｈ ｐａｒｋｓ ａｒｅ ｎｉｃｅ",
)


def _hostile_export(source: Path, destination: Path) -> dict[str, str]:
    """The demo export's first rows with hostile answers planted; returns planted ids."""
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:40]
    good = header.index("what_is_good")
    better = header.index("what_could_be_better")
    planted: dict[str, str] = {}
    for index, text in enumerate(HOSTILE_TEXTS):
        body[index][good] = text
        body[index][better] = text
        planted[body[index][0]] = "formula-or-confusable"
    body[10][better] = "The park needs benches. " * 1200  # ~29 kB, under the 32 KiB limit
    body[11][better] = "x" * 40_000  # over the cell limit: quarantined
    planted[body[11][0]] = "cell_too_large"
    body[12][good] = "fine\x00then a NUL byte"
    planted[body[12][0]] = "nul_bytes"
    body[13][header.index("age_band")] = "=1+2"
    body[14][header.index("gender")] = "@evil"
    body[15][0] = "=cmd|' /C calc'!A0"  # a formula as a response id
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *body])
    destination.write_text(out.getvalue(), encoding="utf-8")
    return planted


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value)


@dataclass
class HostileIngest:
    settings: Settings
    accounting: dict
    jobs: list[str]
    formula_cells: list[tuple[str, str, str]]  # (table, column, value) in marts
    quotes: list[str]  # voice_theme_summary quote lists that hold the planted formula
    nul_cells: int


@pytest.fixture(scope="module")
def hostile_ingest(second_demo, tmp_path_factory: pytest.TempPathFactory) -> HostileIngest:
    """A hostile export through the ingest path on a built demo, outputs rebuilt."""
    settings, _, _ = second_demo
    folder = settings.demo_dir.parent / f"{settings.demo_dir.name}_survey"
    hostile = tmp_path_factory.mktemp("fault-hostile") / "hostile_export.csv"
    _hostile_export(folder / "place_standard_demo.csv", hostile)
    with dg.DagsterInstance.ephemeral() as instance:
        _, accounting, runs = ingest_file(settings, instance, hostile, council="Demo City")
    formula_cells = []
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'marts' AND data_type = 'VARCHAR' "
            "AND table_catalog = current_database() ORDER BY ALL"
        ).fetchall()
        for table, column in columns:
            values = con.execute(
                f'SELECT DISTINCT "{column}" FROM marts.{table} WHERE "{column}" IS NOT NULL'
            ).fetchall()
            formula_cells += [
                (table, column, value[:60]) for (value,) in values if _formula_like(value)
            ]
        quotes = [
            row[0]
            for row in con.execute(
                "SELECT quotes FROM marts.voice_theme_summary WHERE quotes LIKE '%HYPERLINK%'"
            ).fetchall()
        ]
        nul_cells = con.execute(
            "SELECT count(*) FROM staging.voice_comment WHERE contains(text_redacted, chr(0))"
        ).fetchone()[0]
    return HostileIngest(
        settings, accounting, [run.job for run in runs], formula_cells, quotes, nul_cells
    )


def test_hostile_export_completes_with_nothing_lost(hostile_ingest: HostileIngest) -> None:
    assert hostile_ingest.jobs == ["ingest_survey", "build_packs"]
    accounting = hostile_ingest.accounting
    assert accounting["rows_in"] == 39
    assert accounting["rows_in"] == accounting["rows_loaded"] + accounting["rows_quarantined"]
    reasons = accounting["quarantined_by_reason"]
    assert reasons == {"cell_too_large": 1, "nul_bytes": 1}
    assert hostile_ingest.nul_cells == 0


def test_hostile_text_reaches_no_mart_cell_as_a_formula(hostile_ingest: HostileIngest) -> None:
    # The planted formulas did travel (quoted in the theme summary's JSON list) ...
    assert hostile_ingest.quotes
    # ... but no text cell of a mart starts like one (identifiers are the next test's).
    text_cells = [cell for cell in hostile_ingest.formula_cells if cell[1] != "response_id"]
    assert text_cells == [], "\n".join(map(repr, text_cells))


def test_formula_like_response_ids_reach_no_mart(hostile_ingest: HostileIngest) -> None:
    assert hostile_ingest.formula_cells == []


def test_hostile_text_is_neutralised_in_every_export(hostile_ingest: HostileIngest) -> None:
    outputs = hostile_ingest.settings.outputs_dir
    assert list(outputs.rglob("*.xlsx")) and list(outputs.rglob("*.csv"))
    _assert_outputs_neutralised(outputs)


def _assert_outputs_neutralised(outputs: Path) -> None:
    """Every CSV/XLSX under the outputs: no cell a spreadsheet would run as a formula."""
    from openpyxl import load_workbook

    for path in sorted(outputs.rglob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            cells = [cell for row in csv.reader(handle) for cell in row]
        assert [cell for cell in cells if _formula_like(cell)] == [], path
    for path in sorted(outputs.rglob("*.xlsx")):
        workbook = load_workbook(path)
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", f"{path}:{sheet.title}!{cell.coordinate}"
                    if _formula_like(cell.value):
                        assert cell.quotePrefix, f"{path}:{sheet.title}!{cell.coordinate}"
