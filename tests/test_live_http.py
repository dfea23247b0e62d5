"""fetch_to_file against a fake server on 127.0.0.1: retries, timeouts, truncation, bad bodies.

Each test checks the outcome (data or a clear error) and the destination folder: the
destination is either the complete new body or untouched, and no temporary file is left.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from live_server import (
    CUBE_COLUMNS,
    SIMD_DATASET_URI,
    FakeStatsGov,
    Reply,
    closed_port_url,
    html_error_reply,
    status_reply,
    synthetic_sparql_csv,
)

from profiles.errors import FetchError
from profiles.live.http import (
    ColumnsChangedError,
    ContentRejectedError,
    HTTPFetchError,
    backoff_delay,
    fetch_to_file,
    make_session,
    parse_retry_after,
)

pytestmark = pytest.mark.timeout(30)

SPARQL_COLUMNS = ("year", "zone", "domain", "measure", "value")
GOOD_BODY = synthetic_sparql_csv()
OLD_BODY = b"year,zone,domain,measure,value\r\n2016,S01999909,SIMD,Rank,1\r\n"


@pytest.fixture
def server():
    with FakeStatsGov() as fake:
        yield fake


class Sleeps:
    """Records requested sleeps instead of sleeping, so retry tests run instantly."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    """A destination that already holds an older good file, which failures must keep."""
    path = tmp_path / "out" / "simd.csv"
    path.parent.mkdir()
    path.write_bytes(OLD_BODY)
    return path


def fetch(server: FakeStatsGov, dest: Path, sleeps: Sleeps, **overrides):
    options = {
        "dest": dest,
        "data": {"query": "SELECT ..."},
        "headers": {"Accept": "text/csv"},
        "timeout": (0.5, 0.5),
        "max_attempts": 3,
        "backoff": 0.2,
        "required_columns": SPARQL_COLUMNS,
        "total_deadline": 2.0,
        "sleep": sleeps,
        "jitter": lambda: 1.0,
    }
    options.update(overrides)
    session = make_session(trust_env=False)
    return fetch_to_file(session, "POST", server.base_url + "/sparql", **options)


def assert_untouched(dest: Path) -> None:
    assert dest.read_bytes() == OLD_BODY
    assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name], "temp file left"


def assert_replaced(dest: Path, body: bytes) -> None:
    assert dest.read_bytes() == body
    assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name], "temp file left"


# --- success paths -------------------------------------------------------------------------


def test_success_writes_body_with_checksum(server, dest, sleeps):
    result = fetch(server, dest, sleeps)

    assert_replaced(dest, GOOD_BODY)
    assert result.sha256 == hashlib.sha256(GOOD_BODY).hexdigest()
    assert result.bytes == len(GOOD_BODY)
    assert len(GOOD_BODY.splitlines()) == 1 + 4 * 8 * 4  # header + zones x domains x measures
    assert (result.status, result.attempts, sleeps.calls) == (200, 1, [])
    assert result.content_type == "text/csv; charset=utf-8"
    assert datetime.fromisoformat(result.retrieved_at).tzinfo is not None
    request = server.requests_to("/sparql")[0]
    assert request.method == "POST"
    assert request.form == {"query": ["SELECT ..."]}
    assert request.headers["accept"] == "text/csv"
    assert request.headers["user-agent"].startswith("locality-profiles/")


def test_500_500_then_success_backs_off_exponentially(server, dest, sleeps):
    server.script("/sparql", status_reply(500), status_reply(503))

    result = fetch(server, dest, sleeps)

    assert result.attempts == 3
    assert sleeps.calls == [0.2, 0.4]  # backoff * 2**(n-1), full jitter factor 1.0
    assert_replaced(dest, GOOD_BODY)
    assert len(server.requests_to("/sparql")) == 3


def test_gzip_encoded_body_is_decoded_and_length_checked_on_the_wire(server, dest, sleeps):
    server.script("/sparql", Reply(gzip=True))

    result = fetch(server, dest, sleeps)

    assert_replaced(dest, GOOD_BODY)
    assert result.sha256 == hashlib.sha256(GOOD_BODY).hexdigest()


def test_chunked_body_is_accepted(server, dest, sleeps):
    server.script("/sparql", Reply(chunked=True))
    fetch(server, dest, sleeps)
    assert_replaced(dest, GOOD_BODY)


# --- retried failures ----------------------------------------------------------------------


def test_persistent_500_gives_up_with_status_and_attempts(server, dest, sleeps):
    server.script("/sparql", *[status_reply(500)] * 3)

    with pytest.raises(HTTPFetchError) as caught:
        fetch(server, dest, sleeps)

    assert caught.value.status == 500
    assert caught.value.attempts == 3
    assert "HTTP 500" in str(caught.value) and "/sparql" in str(caught.value)
    assert "error 500" in str(caught.value)  # body excerpt included
    assert_untouched(dest)


def test_429_honours_retry_after_seconds(server, dest, sleeps):
    server.script("/sparql", status_reply(429, retry_after="3"))

    result = fetch(server, dest, sleeps)

    assert result.attempts == 2
    assert sleeps.calls == [3.0]
    assert_replaced(dest, GOOD_BODY)


def test_429_with_retry_after_beyond_cap_fails_at_once(server, dest, sleeps):
    server.script("/sparql", status_reply(429, retry_after="3600"))

    with pytest.raises(HTTPFetchError, match=r"retry after 3600 s, more than the 30 s"):
        fetch(server, dest, sleeps, retry_after_cap=30)

    assert sleeps.calls == []
    assert len(server.requests_to("/sparql")) == 1
    assert_untouched(dest)


def test_404_is_not_retried(server, dest, sleeps):
    with pytest.raises(HTTPFetchError, match="HTTP 404") as caught:
        fetch_to_file(
            make_session(trust_env=False),
            "GET",
            server.base_url + "/no/such/path",
            dest=dest,
            timeout=(0.5, 0.5),
            sleep=sleeps,
        )
    assert caught.value.attempts == 1
    assert sleeps.calls == []
    assert_untouched(dest)


def test_timeout_before_headers_retries_then_fails(server, dest, sleeps):
    server.script("/sparql", Reply(delay_s=3), Reply(delay_s=3))

    started = time.monotonic()
    with pytest.raises(HTTPFetchError, match="timed out") as caught:
        fetch(server, dest, sleeps, timeout=(0.5, 0.3), max_attempts=2)

    assert time.monotonic() - started < 2.5
    assert caught.value.attempts == 2
    assert_untouched(dest)


def test_timeout_then_success(server, dest, sleeps):
    server.script("/sparql", Reply(delay_s=3))

    result = fetch(server, dest, sleeps, timeout=(0.5, 0.3))

    assert result.attempts == 2
    assert_replaced(dest, GOOD_BODY)


def test_truncated_body_is_retried_then_reported(server, dest, sleeps):
    server.script("/sparql", *[Reply(truncate_to=500)] * 3)

    with pytest.raises(HTTPFetchError) as caught:
        fetch(server, dest, sleeps)

    message = str(caught.value)
    assert "500" in message and ("truncated" in message or "connection broke" in message)
    assert caught.value.attempts == 3
    assert_untouched(dest)


def test_truncated_then_complete_body_succeeds(server, dest, sleeps):
    server.script("/sparql", Reply(truncate_to=100))
    result = fetch(server, dest, sleeps)
    assert result.attempts == 2
    assert_replaced(dest, GOOD_BODY)


def test_chunked_body_cut_off_is_a_broken_connection(server, dest, sleeps):
    server.script("/sparql", *[Reply(chunked=True, truncate_to=700)] * 2)

    with pytest.raises(HTTPFetchError, match="connection broke after"):
        fetch(server, dest, sleeps, max_attempts=2)

    assert_untouched(dest)


def test_slow_trickle_hits_the_attempt_deadline(server, dest, sleeps):
    # 10 bytes every 50 ms never trips a 0.5 s read timeout, but would take ~20 s in all.
    server.script("/sparql", *[Reply(trickle=(10, 0.05))] * 2)

    started = time.monotonic()
    with pytest.raises(HTTPFetchError, match=r"did not finish within the 0.6 s deadline"):
        fetch(server, dest, sleeps, max_attempts=2, total_deadline=0.6)

    assert time.monotonic() - started < 3.0
    assert_untouched(dest)


def test_connection_refused_retries_then_fails(dest, sleeps):
    url = closed_port_url() + "/sparql"
    with pytest.raises(HTTPFetchError, match="connection failed") as caught:
        fetch_to_file(
            make_session(trust_env=False),
            "POST",
            url,
            dest=dest,
            timeout=(0.5, 0.5),
            max_attempts=3,
            backoff=0.1,
            sleep=sleeps,
            jitter=lambda: 0.0,
        )
    assert caught.value.attempts == 3
    assert sleeps.calls == [0.05, 0.1]  # half of 0.1 * 2**(n-1) with zero jitter
    assert_untouched(dest)


# --- rejected bodies (not retried) ---------------------------------------------------------


def test_html_error_page_with_200_is_rejected(server, dest, sleeps):
    server.script("/sparql", html_error_reply(200))

    with pytest.raises(ContentRejectedError, match="text/html") as caught:
        fetch(server, dest, sleeps)

    assert "Temporarily unavailable" in str(caught.value)  # the page title
    assert caught.value.attempts == 1
    assert len(server.requests_to("/sparql")) == 1
    assert_untouched(dest)


def test_html_page_labelled_as_csv_is_caught_by_sniffing(server, dest, sleeps):
    server.script(
        "/sparql",
        Reply(body=b"\n  <HTML><body>Maintenance</body></HTML>", content_type="text/csv"),
    )

    with pytest.raises(ContentRejectedError, match="HTML/XML page, not CSV"):
        fetch(server, dest, sleeps)
    assert_untouched(dest)


def test_json_error_body_is_rejected(server, dest, sleeps):
    server.script("/sparql", Reply(body=b'{"error": "Query timed out"}', content_type="text/plain"))
    with pytest.raises(ContentRejectedError, match=r"got JSON, not CSV.*Query timed out"):
        fetch(server, dest, sleeps)
    assert_untouched(dest)


def test_wrong_content_type_is_rejected_with_the_type_named(server, dest, sleeps):
    server.script("/sparql", Reply(content_type="application/sparql-results+json"))

    with pytest.raises(ContentRejectedError, match="application/sparql-results\\+json"):
        fetch(server, dest, sleeps)

    assert len(server.requests_to("/sparql")) == 1
    assert_untouched(dest)


def test_changed_column_names_name_the_missing_columns(server, dest, sleeps):
    server.script("/sparql", Reply(rename_columns={"zone": "area", "value": "val"}))

    with pytest.raises(ColumnsChangedError) as caught:
        fetch(server, dest, sleeps)

    error = caught.value
    assert error.missing == ("zone", "value")
    assert error.found == ("year", "area", "domain", "measure", "val")
    assert error.url.endswith("/sparql")
    assert "missing zone, value" in str(error)
    assert len(server.requests_to("/sparql")) == 1
    assert_untouched(dest)


def test_alternative_column_spellings_are_accepted(server, tmp_path, sleeps):
    server.script("/downloads/cube-table", Reply(rename_columns={"FeatureCode": "GeographyCode"}))
    result = fetch_to_file(
        make_session(trust_env=False),
        "GET",
        server.base_url + "/downloads/cube-table",
        dest=tmp_path / "cube.csv",
        params={"uri": SIMD_DATASET_URI},
        timeout=(0.5, 0.5),
        required_columns=[("FeatureCode", "GeographyCode"), *CUBE_COLUMNS[1:]],
        sleep=sleeps,
    )
    assert (tmp_path / "cube.csv").read_bytes().startswith(b"GeographyCode,DateCode,")
    assert result.attempts == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty body"),
        (b"year,zone,domain,measure,value\r\n", "header but no data rows"),
    ],
)
def test_empty_or_header_only_csv_is_rejected(server, dest, sleeps, body, reason):
    server.script("/sparql", Reply(body=body))
    with pytest.raises(ContentRejectedError, match=reason):
        fetch(server, dest, sleeps)
    assert_untouched(dest)


def test_errors_are_fetch_errors_for_the_cli(server, dest, sleeps):
    server.script("/sparql", html_error_reply(200))
    with pytest.raises(FetchError):
        fetch(server, dest, sleeps)


# --- pure helpers --------------------------------------------------------------------------


def test_parse_retry_after_accepts_seconds_and_http_dates():
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=now) == 120.0
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


def test_backoff_grows_exponentially_within_jitter_bounds_and_cap():
    low = [backoff_delay(n, backoff=1, backoff_cap=5, jitter=lambda: 0.0) for n in (1, 2, 3, 4)]
    high = [backoff_delay(n, backoff=1, backoff_cap=5, jitter=lambda: 1.0) for n in (1, 2, 3, 4)]
    assert low == [0.5, 1.0, 2.0, 2.5]
    assert high == [1.0, 2.0, 4.0, 5.0]
