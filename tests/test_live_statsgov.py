"""StatsGovSource + RawCache against a fake statistics.gov.scot on 127.0.0.1.

Every failure case asserts both the outcome (a clear FetchError, or a "live-cache" record
when falling back) and the cache state: the previous good file is still current, the
manifest matches the files on disk, checksums verify, and no partial file is left.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from live_server import (
    JSON_ERROR_BODY,
    LOOKUP_COLUMNS,
    FakeStatsGov,
    Reply,
    closed_port_url,
    html_error_reply,
    status_reply,
    synthetic_cube_csv,
    synthetic_lookup_csv,
    synthetic_sparql_csv,
)

from profiles.errors import ConfigError, FetchError
from profiles.live.cache import CacheError, RawCache
from profiles.live.http import make_session
from profiles.live.statsgov import StatsGovConfig, StatsGovSource, load_config

pytestmark = pytest.mark.timeout(60)

SIMD = "simd_sparql_2020v2"
CUBE = "cube_scottish-index-of-multiple-deprivation"
LOOKUP = "dz_lookup"
PATH_OF = {SIMD: "/sparql", CUBE: "/downloads/cube-table", LOOKUP: "/downloads/file"}
NEW_BODY_OF = {
    SIMD: synthetic_sparql_csv(zones=("S01999905", "S01999906")),
    CUBE: synthetic_cube_csv().replace(b",2020,", b",2021,"),
    LOOKUP: synthetic_lookup_csv().replace(b"Imaginary Ward", b"Renamed Ward"),
}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def server():
    with FakeStatsGov() as fake:
        yield fake


@pytest.fixture
def config() -> StatsGovConfig:
    """The real config with test-sized timeouts and retries."""
    base = load_config()
    return replace(
        base,
        http=replace(
            base.http,
            connect_timeout_s=0.5,
            read_timeout_s=0.3,
            attempt_deadline_s=0.5,
            max_attempts=3,
            backoff_s=0.01,
            retry_after_cap_s=5,
        ),
    )


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_source(tmp_path, config, sleeps):
    def build(base_url: str, **options) -> StatsGovSource:
        return StatsGovSource(
            base_url,
            cache=RawCache(tmp_path / "cache"),
            session=make_session(config.user_agent, trust_env=False),
            config=config,
            sleep=sleeps.append,
            jitter=lambda: 0.0,
            **options,
        )

    return build


def manifest_of(cache: RawCache) -> dict:
    return json.loads(cache.manifest_path.read_text(encoding="utf-8"))


def assert_cache_consistent(cache: RawCache) -> None:
    """Only manifest-referenced content files (plus manifest and lock) exist, all verified."""
    referenced = {"manifest.json", ".lock"}
    for record in manifest_of(cache)["datasets"].values():
        for entry in [record["current"], *record["history"]]:
            referenced.add(entry["file"])
    on_disk = {
        path.relative_to(cache.root).as_posix() for path in cache.root.rglob("*") if path.is_file()
    }
    assert on_disk == referenced, f"unexpected files: {on_disk - referenced}"
    assert cache.verify() == []


def current_sha(cache: RawCache, dataset: str) -> str:
    entry = cache.latest(dataset)
    assert entry is not None
    return entry.sha256


# --- success -------------------------------------------------------------------------------


def test_fetch_all_fills_cache_with_verified_files(server, make_source):
    source = make_source(server.base_url)

    records = source.fetch_all(["2020v2"])

    assert [r.dataset for r in records] == [SIMD, CUBE, LOOKUP]
    assert {r.mode for r in records} == {"live"}
    expected = {
        SIMD: synthetic_sparql_csv(),
        CUBE: synthetic_cube_csv(),
        LOOKUP: synthetic_lookup_csv(),
    }
    for record in records:
        body = expected[record.dataset]
        path = Path(record.path)
        assert path.read_bytes() == body  # byte for byte, cp1252 lookup included
        assert record.sha256 == sha(body) and record.bytes == len(body)
        assert path.name == f"{record.sha256}.csv"
        assert not path.stat().st_mode & stat.S_IWUSR  # immutable by content
    assert records[0].vintage == "2020v2" and records[2].vintage == "DZ2011"
    assert records[0].source == server.base_url + "/sparql"
    assert_cache_consistent(source.cache)


def test_requests_match_the_statistics_gov_scot_url_patterns(server, make_source):
    source = make_source(server.base_url)
    source.fetch_all(["2020v2"])

    (sparql,) = server.requests_to("/sparql")
    assert sparql.method == "POST"
    assert sparql.headers["accept"] == "text/csv"
    assert sparql.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sparql.headers["user-agent"].startswith("locality-profiles/")
    query = sparql.form["query"][0]
    assert query == source.simd_query("2020v2")
    assert "SELECT ?year ?zone ?domain ?measure ?value" in query
    assert "<http://reference.data.gov.uk/id/year/2020>" in query
    assert "<http://statistics.gov.scot/data/scottish-index-of-multiple-deprivation>" in query
    assert '"http://statistics.gov.scot/id/statistical-geography/S01"' in query
    assert "$" not in query

    (cube,) = server.requests_to("/downloads/cube-table")
    assert cube.raw_query == (
        "uri=http%3A%2F%2Fstatistics.gov.scot%2Fdata%2Fscottish-index-of-multiple-deprivation"
    )
    (lookup,) = server.requests_to("/downloads/file")
    assert lookup.raw_query == (
        "id=1ab6565e-10e0-4888-b91c-4ae6821b30d7%2FDatazone2011lookup+%288%29.csv"
    )


def test_cached_files_read_back_in_their_published_formats(server, make_source):
    records = {r.dataset: r for r in make_source(server.base_url).fetch_all(["2020v2"])}

    simd = pd.read_csv(records[SIMD].path, dtype=str)
    assert list(simd.columns) == ["year", "zone", "domain", "measure", "value"]
    assert len(simd) == 4 * 8 * 4
    assert simd.loc[(simd.zone == "S01999902") & (simd.domain == "Income"), "value"].iloc[0] == (
        "201.5"
    )
    lookup = pd.read_csv(records[LOOKUP].path, encoding="cp1252", dtype=str)
    assert list(lookup.columns) == LOOKUP_COLUMNS
    assert lookup["IZ2011_Name"].tolist()[:3] == [
        "Madeup Braes\xa0",
        "Madeup Braes\xa0",
        "Fictional Bo’ness ",
    ]


def test_materialise_folder_links_current_files_under_published_names(
    server, make_source, tmp_path
):
    source = make_source(server.base_url)
    records = source.fetch_all(["2020v2"])

    placed = source.materialise_folder(tmp_path / "published")

    assert sorted(p.name for p in (tmp_path / "published").iterdir()) == [
        "Datazone2011lookup.csv",
        "cube_scottish-index-of-multiple-deprivation.csv",
        "simd_sparql_2020v2.csv",
    ]
    for record in records:
        assert placed[record.dataset].read_bytes() == Path(record.path).read_bytes()
        assert os.path.samefile(placed[record.dataset], record.path)  # hard link, no copy

    server.set_body("/sparql", NEW_BODY_OF[SIMD])
    source.fetch_simd_ranks("2020v2")
    source.materialise_folder(tmp_path / "published")
    assert (tmp_path / "published" / "simd_sparql_2020v2.csv").read_bytes() == NEW_BODY_OF[SIMD]


def test_500_then_success_replaces_current_and_keeps_history(server, make_source, sleeps):
    source = make_source(server.base_url)
    first = source.fetch_simd_ranks("2020v2")
    server.set_body("/sparql", NEW_BODY_OF[SIMD])
    server.script("/sparql", status_reply(500))

    second = source.fetch_simd_ranks("2020v2")

    assert second.mode == "live" and second.sha256 == sha(NEW_BODY_OF[SIMD])
    assert sleeps == [0.005]  # one backoff: half of 0.01 with zero jitter
    assert current_sha(source.cache, SIMD) == second.sha256
    assert [e.sha256 for e in source.cache.history(SIMD)] == [first.sha256]
    assert Path(first.path).read_bytes() == synthetic_sparql_csv()  # old file still there
    assert_cache_consistent(source.cache)


# --- failures: clear error, previous good data kept ----------------------------------------

FAULTS = {
    "500 until gave up": (SIMD, [status_reply(500)] * 3, "HTTP 500"),
    "timeout": (SIMD, [Reply(delay_s=3)] * 3, "timed out"),
    "truncated body": (CUBE, [Reply(truncate_to=200)] * 3, "body truncated: received 200 of"),
    "chunked cut off": (CUBE, [Reply(chunked=True, truncate_to=300)] * 3, "connection broke"),
    "slow trickle": (SIMD, [Reply(trickle=(20, 0.05))] * 3, "0.5 s deadline"),
    "html error page": (LOOKUP, [html_error_reply(200)], "Temporarily unavailable"),
    "wrong content type": (
        LOOKUP,
        [Reply(body=JSON_ERROR_BODY, content_type="application/json")],
        "Content-Type 'application/json'",
    ),
    "changed column names": (
        CUBE,
        [Reply(rename_columns={"FeatureCode": "Feature Code"})],
        "missing FeatureCode or GeographyCode",
    ),
    "429 asks too long": (
        SIMD,
        [status_reply(429, retry_after="3600")],
        "retry after 3600 s",
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
def test_fault_gives_clear_error_and_keeps_last_good_file(server, make_source, fault):
    dataset, replies, message = FAULTS[fault]
    source = make_source(server.base_url)
    source.fetch_all(["2020v2"])
    good = {name: current_sha(source.cache, name) for name in (SIMD, CUBE, LOOKUP)}
    before = manifest_of(source.cache)["datasets"][dataset]
    server.set_body(PATH_OF[dataset], NEW_BODY_OF[dataset])  # a success would change the sha
    server.script(PATH_OF[dataset], *replies)

    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        source.fetch_all(["2020v2"])

    assert time.monotonic() - started < 10
    text = str(caught.value)
    assert message in text
    assert server.base_url + PATH_OF[dataset] in text
    assert text.startswith("1 of 3 statistics.gov.scot files unavailable")
    assert manifest_of(source.cache)["datasets"][dataset] == before  # untouched entry
    assert current_sha(source.cache, dataset) == good[dataset]
    assert_cache_consistent(source.cache)


@pytest.mark.parametrize(
    "fault", ["500 until gave up", "html error page", "changed column names", "slow trickle"]
)
def test_fault_with_fallback_replays_last_good_copy(server, make_source, fault):
    dataset, replies, message = FAULTS[fault]
    source = make_source(server.base_url, fallback_to_cache=True)
    first = {r.dataset: r for r in source.fetch_all(["2020v2"])}
    server.set_body(PATH_OF[dataset], NEW_BODY_OF[dataset])
    server.script(PATH_OF[dataset], *replies)

    records = {r.dataset: r for r in source.fetch_all(["2020v2"])}

    assert records[dataset].mode == "live-cache"
    assert records[dataset].sha256 == first[dataset].sha256
    assert records[dataset].path == first[dataset].path
    assert records[dataset].retrieved_at == first[dataset].retrieved_at
    assert message in source.failures[dataset]
    others = [name for name in records if name != dataset]
    assert all(records[name].mode == "live" for name in others)
    assert set(source.failures) == {dataset}
    assert_cache_consistent(source.cache)


def test_connection_refused_fails_every_file_and_keeps_the_cache(server, make_source, sleeps):
    make_source(server.base_url).fetch_all(["2020v2"])
    source = make_source(closed_port_url())
    before = manifest_of(source.cache)

    with pytest.raises(FetchError) as caught:
        source.fetch_all(["2020v2"])

    assert str(caught.value).startswith("3 of 3 statistics.gov.scot files unavailable")
    assert str(caught.value).count("connection failed: Connection refused") == 3
    assert len(sleeps) == 3 * 2  # two backoffs per file
    assert manifest_of(source.cache) == before
    assert_cache_consistent(source.cache)


def test_connection_refused_with_fallback_replays_everything(server, make_source):
    first = make_source(server.base_url).fetch_all(["2020v2"])
    source = make_source(closed_port_url(), fallback_to_cache=True)

    records = source.fetch_all(["2020v2"])

    assert [(r.dataset, r.sha256) for r in records] == [(r.dataset, r.sha256) for r in first]
    assert {r.mode for r in records} == {"live-cache"}
    assert sorted(source.failures) == sorted([SIMD, CUBE, LOOKUP])


def test_fallback_without_a_cached_copy_is_a_clear_error(make_source):
    source = make_source(closed_port_url(), fallback_to_cache=True)
    with pytest.raises(FetchError, match="no cached copy of dz_lookup to fall back on"):
        source.fetch_dz_lookup()


# --- offline replay ------------------------------------------------------------------------


def test_offline_replays_the_cache_without_touching_the_network(server, make_source):
    source = make_source(server.base_url)
    first = source.fetch_all(["2020v2"])
    requests_before = len(server.requests)

    replayed = source.fetch_all(["2020v2"], offline=True)

    assert len(server.requests) == requests_before
    assert [(r.dataset, r.path, r.sha256) for r in replayed] == [
        (r.dataset, r.path, r.sha256) for r in first
    ]
    assert {r.mode for r in replayed} == {"live-cache"}


def test_offline_with_empty_cache_names_what_is_missing(make_source):
    source = make_source(closed_port_url())
    with pytest.raises(CacheError) as caught:
        source.fetch_all(["2020v2", "2016"], offline=True)
    text = str(caught.value)
    assert text.startswith("4 of 4")
    for name in ("simd_sparql_2020v2", "simd_sparql_2016", CUBE, LOOKUP):
        assert f"no cached copy of {name}" in text


def test_corrupted_cache_file_is_reported_not_replayed(server, make_source):
    source = make_source(server.base_url)
    record = source.fetch_dz_lookup()
    path = Path(record.path)
    path.chmod(0o644)
    path.write_bytes(path.read_bytes().replace(b"S01999901", b"S01999999"))

    problems = source.cache.verify()

    assert [(p.dataset, p.path) for p in problems] == [(LOOKUP, path)]
    assert "does not match the manifest" in problems[0].problem
    with pytest.raises(CacheError, match="checksum"):
        source.fetch_all([], offline=True, cube_slugs=[])


# --- cache housekeeping --------------------------------------------------------------------


def test_stale_temp_files_from_a_killed_process_are_removed_on_open(tmp_path):
    root = tmp_path / "cache"
    folder = root / "dz_lookup"
    folder.mkdir(parents=True)
    dead = folder / ".incoming.pid99999999.0a1b.csv"  # beyond any pid_max: process is gone
    dead_part = folder / ".x.csv.pid99999999.abc.part"
    own = folder / f".incoming.pid{os.getpid()}.ffff.csv"  # this process: maybe in flight
    old_anonymous = root / ".manifest.json.tmp"
    fresh_anonymous = folder / ".something.part"
    content = folder / ("0" * 64 + ".csv")
    for path in (dead, dead_part, own, old_anonymous, fresh_anonymous, content):
        path.write_bytes(b"partial")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old_anonymous, (two_days_ago, two_days_ago))

    cache = RawCache(root)

    assert sorted(p.name for p in cache.removed_temps) == sorted(
        [dead.name, dead_part.name, old_anonymous.name]
    )
    assert own.exists() and fresh_anonymous.exists() and content.exists()


def test_unreadable_manifest_is_a_clear_error(tmp_path):
    cache = RawCache(tmp_path)
    cache.manifest_path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CacheError, match=r"manifest.json: unreadable cache manifest"):
        cache.latest("dz_lookup")


def test_commit_refuses_a_file_that_does_not_match_its_checksum(tmp_path):
    cache = RawCache(tmp_path / "cache")
    with cache.incoming("dz_lookup") as temp:
        temp.write_bytes(b"a,b\n1,2\n")
        with pytest.raises(CacheError, match="does not match"):
            cache.commit(
                "dz_lookup",
                temp,
                sha256=sha(b"something else"),
                url="http://127.0.0.1/x",
                retrieved_at="2024-01-01T00:00:00+00:00",
                vintage="DZ2011",
                publish_as="Datazone2011lookup.csv",
            )
    assert cache.latest("dz_lookup") is None
    assert [p.name for p in (tmp_path / "cache" / "dz_lookup").iterdir()] == []


# --- configuration -------------------------------------------------------------------------


def test_simd_query_for_listed_zones_and_unknown_vintage(make_source):
    source = make_source(closed_port_url())
    query = source.simd_query("2016", zones=["S01007801", "S01007802"])
    assert (
        "VALUES ?area { <http://statistics.gov.scot/id/statistical-geography/S01007801> "
        "<http://statistics.gov.scot/id/statistical-geography/S01007802> }"
    ) in query
    assert '"2016" AS ?year' in query and "STRSTARTS" not in query
    with pytest.raises(ValueError, match="not data zone codes: S12000042"):
        source.simd_query("2020v2", zones=["S12000042"])
    with pytest.raises(ConfigError, match=r"'2031' is not in statsgov\.yaml"):
        source.fetch_simd_ranks("2031")


def test_config_with_a_missing_key_names_it(tmp_path, repo_root):
    text = (repo_root / "data" / "config" / "statsgov.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "statsgov.yaml"
    broken.write_text(text.replace("  read_timeout_s:", "  read_timeout:"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"missing key 'http.read_timeout_s'"):
        load_config(broken)


# --- real published bodies through the fake server -----------------------------------------


@pytest.mark.real_data
def test_real_sparql_response_and_lookup_pass_the_checks_byte_for_byte(
    real_data, server, make_source
):
    sparql = real_data / "statsgovscot" / "sparql_response_simd2016_edinburgh_long.csv"
    lookup = real_data / "lookups" / "Datazone2011lookup_2022-05-31.csv"
    server.set_body("/sparql", sparql.read_bytes())
    server.set_body("/downloads/file", lookup.read_bytes(), "application/octet-stream")
    source = make_source(server.base_url)

    simd = source.fetch_simd_ranks("2016")
    dz = source.fetch_dz_lookup()

    assert simd.sha256 == "e86f77aad459a84a39bec11919d2b25fdcd72be79a238ce301fb57d288084315"
    assert dz.sha256 == "0cc10817b9ae5a0fb03eefa531f798e920b449ffb196e1b5683beb561d1d061b"
    frame = pd.read_csv(io.BytesIO(Path(simd.path).read_bytes()))
    assert (len(frame), frame["zone"].nunique()) == (19_104, 597)
    assert_cache_consistent(source.cache)
