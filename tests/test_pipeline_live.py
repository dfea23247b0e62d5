"""End to end through the live path: `build --live` against a fake statistics.gov.scot.

The fake server (127.0.0.1 only) serves the Demo City's ranks as SPARQL CSV results and its
data zone lookup as the statistics.gov.scot file download, so the whole pipeline runs on
downloaded files; then the service breaks and the last good download keeps the build alive.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from profiles.demo.generate import generate_demo
from profiles.sources.simd import read_simd_withinds
from tests.live_server import FakeStatsGov, Reply, status_reply
from tests.pipeline_helpers import build, failed_checks, query, settings_for

pytestmark = pytest.mark.slow

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
YEAR = {"2016": "2016", "2020v2": "2020"}
DEMO_ZONES = 340  # the fake service serves the Demo City's universe, not Scotland's


def _sparql_body(ranks, vintage: str) -> bytes:
    """The demo's ranks as a SPARQL CSV result, values as URIs like the live endpoint's."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["year", "zone", "domain", "measure", "value"])
    rows = ranks[ranks["vintage"] == vintage]
    for row in rows.itertuples():
        zone = f"http://statistics.gov.scot/id/statistical-geography/{row.dz_code}"
        for measure in ("Rank", "Decile", "Quintile", "Vigintile"):
            value = getattr(row, measure.lower())
            text = f"{value:g}" if measure == "Rank" else str(int(value))
            writer.writerow([YEAR[vintage], zone, DOMAIN_LABEL[row.domain], measure, text])
    return out.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def demo_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo-sources")
    generate_demo(folder)
    return folder


def _serve_demo(server: FakeStatsGov, demo: Path) -> None:
    ranks = {
        vintage: read_simd_withinds(demo / f"simd{vintage}_withinds.csv", n_zones=DEMO_ZONES).ranks
        for vintage in ("2016", "2020v2")
    }
    server.script(
        "/sparql",
        Reply(body=_sparql_body(ranks["2016"], "2016")),
        Reply(body=_sparql_body(ranks["2020v2"], "2020v2")),
    )
    server.set_body("/downloads/file", (demo / "Datazone2011lookup.csv").read_bytes())


def test_live_build_then_service_failure_keeps_last_good_data(
    demo_sources: Path, tmp_path: Path
) -> None:
    with FakeStatsGov() as server:
        _serve_demo(server, demo_sources)
        settings = settings_for(
            tmp_path, source_mode="live", base_url=server.base_url, simd_n_zones=DEMO_ZONES
        )
        result = build(settings, "refresh_statistics")
        assert failed_checks(result, "ERROR") == []
        sparql_requests = len(server.requests_to("/sparql"))
    assert sparql_requests == 2
    counts = dict(
        query(settings, "SELECT vintage, count(DISTINCT dz_code) FROM fct_simd GROUP BY 1")
    )
    ((zones,),) = query(settings, "SELECT count(*) FROM dim_datazone")
    assert counts == {"2016": zones, "2020v2": zones}
    sources = query(
        settings,
        "SELECT kind, source, mode FROM raw.source_file WHERE role = 'primary' ORDER BY 1, 2",
    )
    assert {kind for kind, _, _ in sources} >= {"simd_sparql_long", "dz_lookup"}
    assert all(source.startswith("http://127.0.0.1") for _, source, _ in sources)
    before = query(settings, "SELECT * FROM fct_simd ORDER BY ALL")

    # The service now fails every request: the build replays the last good downloads.
    with FakeStatsGov() as broken:
        for path in ("/sparql", "/downloads/file", "/downloads/cube-table"):
            broken.script(path, *[status_reply(503) for _ in range(40)])
        settings = settings.with_(base_url=broken.base_url)
        result = build(settings, "refresh_statistics")
        assert failed_checks(result, "ERROR") == []
    assert query(settings, "SELECT * FROM fct_simd ORDER BY ALL") == before
    modes = {
        mode
        for (mode,) in query(
            settings, "SELECT DISTINCT mode FROM raw.source_file WHERE kind = 'simd_sparql_long'"
        )
    }
    assert modes == {"live-cache"}


def test_offline_replay_without_a_cache_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, repo_root: Path
) -> None:
    from pipelines.cli import main

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((repo_root / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("PROFILES_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.chdir(tmp_path)
    code = main(["build", "--live", "--offline", "--warehouse", str(tmp_path / "w.duckdb")])
    assert code == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("profiles: ") and "cache" in error.lower()
