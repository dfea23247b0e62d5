"""Robust download of one HTTP resource into a file.

What belongs here: `fetch_to_file` and what it needs — retries with backoff, Retry-After
handling, a per-attempt deadline, streaming to a temporary file with a checksum, and the
checks that reject a body which is not the CSV that was asked for (HTML or JSON error
pages, empty or truncated bodies, changed column names). It knows nothing about
statistics.gov.scot or about the cache layout; the destination only ever receives a
complete, verified file (written to a temporary file in the same folder, then renamed).
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import logging
import os
import random
import re
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal

import requests
import urllib3.exceptions

from profiles.errors import FetchError

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = (
    "locality-profiles/0.1 (+statistics.gov.scot open-data client; python-requests)"
)

DEFAULT_CSV_CONTENT_TYPES: frozenset[str] = frozenset(
    {
        "text/csv",
        "application/csv",
        "text/comma-separated-values",
        "application/x-csv",
        "text/plain",
        "application/octet-stream",
        "binary/octet-stream",
        "application/vnd.ms-excel",
        "application/download",
        "application/force-download",
    }
)
"""Media types a CSV download may arrive with. A missing Content-Type is also accepted; the
body is sniffed either way."""

_CHUNK = 64 * 1024
_SNIFF_BYTES = 64 * 1024
_SNIPPET_CHARS = 200

ColumnSpec = str | Sequence[str]
"""A required column: one name, or a sequence of accepted alternative spellings."""


# --- errors --------------------------------------------------------------------------------


class HTTPFetchError(FetchError):
    """A download failed for good; carries the URL, the reason and how many attempts were made."""

    def __init__(self, url: str, reason: str, *, attempts: int, status: int | None = None) -> None:
        self.url = url
        self.reason = reason
        self.attempts = attempts
        self.status = status
        plural = "" if attempts == 1 else "s"
        super().__init__(f"{url}: {reason} [{attempts} attempt{plural}]")


class ContentRejectedError(HTTPFetchError):
    """The server answered 2xx but the body is not what was asked for (HTML, JSON, empty...).

    Not retried: a server that sends an error page with status 200 tends to keep doing so.
    """


class ColumnsChangedError(ContentRejectedError):
    """The CSV header lacks required columns: the publisher changed the layout."""

    def __init__(
        self,
        url: str,
        *,
        missing: Sequence[str],
        found: Sequence[str],
        attempts: int,
    ) -> None:
        self.missing = tuple(missing)
        self.found = tuple(found)
        reason = (
            f"CSV columns changed: missing {', '.join(self.missing)}; "
            f"header is {', '.join(self.found) or '(empty)'}"
        )
        super().__init__(url, reason, attempts=attempts)


class _RetryableError(Exception):
    """One attempt failed in a way worth trying again (5xx, 429, timeout, broken body)."""

    def __init__(
        self, reason: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchResult:
    """A completed download: the verified file at `path` and how it was obtained.

    `url` is the final URL after redirects; `retrieved_at` is ISO 8601 UTC.
    """

    url: str
    path: Path
    sha256: str
    bytes: int
    status: int
    attempts: int
    retrieved_at: str
    content_type: str


# --- public helpers ------------------------------------------------------------------------


def make_session(
    user_agent: str = DEFAULT_USER_AGENT, *, trust_env: bool = True
) -> requests.Session:
    """A `requests.Session` that identifies the client; retries are done by `fetch_to_file`.

    `trust_env=False` ignores proxy settings from the environment (used by tests that talk
    to 127.0.0.1).
    """
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    session.trust_env = trust_env
    return session


def is_retryable_status(status: int) -> bool:
    """408, 429 and server errors except those that cannot change on retry (501, 505)."""
    return status in (408, 429) or (500 <= status < 600 and status not in (501, 505))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent
    or unreadable. A date in the past gives 0."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def backoff_delay(
    attempt: int, *, backoff: float, backoff_cap: float, jitter: Callable[[], float]
) -> float:
    """Exponential backoff with jitter: between half and all of `backoff * 2**(attempt-1)`,
    capped at `backoff_cap`. Jitter spreads retries from many clients apart."""
    base = min(backoff_cap, backoff * 2 ** (attempt - 1))
    return base * (0.5 + 0.5 * jitter())


def fetch_to_file(
    session: requests.Session,
    method: str,
    url: str,
    *,
    dest: str | Path,
    params: Mapping[str, str] | None = None,
    data: Mapping[str, str] | str | bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: tuple[float, float] = (10.0, 60.0),
    max_attempts: int = 4,
    backoff: float = 1.0,
    backoff_cap: float = 60.0,
    retry_after_cap: float = 120.0,
    expect: Literal["csv", "any"] = "csv",
    required_columns: Sequence[ColumnSpec] | None = None,
    total_deadline: float | None = 900.0,
    csv_content_types: frozenset[str] = DEFAULT_CSV_CONTENT_TYPES,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    jitter: Callable[[], float] = random.random,
) -> FetchResult:
    """Download `url` into `dest`, retrying transient failures, and verify the body.

    Retried (up to `max_attempts`, sleeping `backoff_delay` or the server's Retry-After):
    connection errors, timeouts, HTTP 408/429/5xx, bodies shorter than Content-Length or
    cut off mid-chunk, and attempts that exceed `total_deadline` seconds (a read timeout
    alone never stops a server that trickles a byte at a time). A Retry-After longer than
    `retry_after_cap` ends the download at once rather than waiting less than asked.

    Not retried: other 4xx, and with `expect="csv"` a Content-Type outside
    `csv_content_types`, an HTML or JSON body, an empty body, a header without data rows,
    or a header missing any of `required_columns` (`ColumnsChangedError`).

    `dest` is replaced atomically only after every check passed; on failure it is left as it
    was and no temporary file remains. Raises `HTTPFetchError` (a `FetchError`).
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    dest_path = Path(dest)
    dest_path.parent.mkdir(parents=True, exist_ok=True)
    request_kwargs: dict[str, Any] = {
        "params": params,
        "data": data,
        "headers": dict(headers or {}),
        "timeout": timeout,
    }
    last: _RetryableError | None = None
    for attempt in range(1, max_attempts + 1):
        try:
            return _attempt(
                session,
                method,
                url,
                attempt=attempt,
                dest=dest_path,
                request_kwargs=request_kwargs,
                expect=expect,
                required_columns=required_columns,
                total_deadline=total_deadline,
                csv_content_types=csv_content_types,
                clock=clock,
            )
        except _RetryableError as error:
            last = error
            if attempt == max_attempts:
                break
            if error.retry_after is not None:
                if error.retry_after > retry_after_cap:
                    raise HTTPFetchError(
                        url,
                        f"{error.reason}; server asked to retry after {error.retry_after:g} s, "
                        f"more than the {retry_after_cap:g} s this client waits",
                        attempts=attempt,
                        status=error.status,
                    ) from None
                delay = error.retry_after
            else:
                delay = backoff_delay(
                    attempt, backoff=backoff, backoff_cap=backoff_cap, jitter=jitter
                )
            log.warning(
                "%s %s: %s; retrying in %.1f s (attempt %d of %d)",
                method,
                url,
                error.reason,
                delay,
                attempt + 1,
                max_attempts,
            )
            sleep(delay)
    assert last is not None
    raise HTTPFetchError(url, last.reason, attempts=max_attempts, status=last.status)


# --- one attempt ---------------------------------------------------------------------------


def _attempt(
    session: requests.Session,
    method: str,
    url: str,
    *,
    attempt: int,
    dest: Path,
    request_kwargs: dict[str, Any],
    expect: str,
    required_columns: Sequence[ColumnSpec] | None,
    total_deadline: float | None,
    csv_content_types: frozenset[str],
    clock: Callable[[], float],
) -> FetchResult:
    started = clock()
    try:
        response = session.request(method, url, stream=True, **request_kwargs)
    except requests.exceptions.Timeout as error:
        raise _RetryableError(f"timed out waiting for the server ({_describe(error)})") from None
    except requests.exceptions.ConnectionError as error:
        raise _RetryableError(f"connection failed: {_connection_problem(error)}") from None
    except requests.exceptions.RequestException as error:
        raise HTTPFetchError(url, f"request failed: {_describe(error)}", attempts=attempt) from None

    with response:
        final_url = response.url or url
        status = response.status_code
        if not 200 <= status < 300:
            reason = f"HTTP {status} {response.reason or ''}".rstrip() + _body_snippet(response)
            if is_retryable_status(status):
                raise _RetryableError(
                    reason,
                    status=status,
                    retry_after=parse_retry_after(response.headers.get("Retry-After")),
                )
            raise HTTPFetchError(final_url, reason, attempts=attempt, status=status)

        content_type = response.headers.get("Content-Type", "")
        if expect == "csv":
            media_type = content_type.split(";", 1)[0].strip().lower()
            if media_type and media_type not in csv_content_types:
                raise ContentRejectedError(
                    final_url,
                    f"expected CSV but the server sent Content-Type {content_type!r}"
                    + _body_snippet(response),
                    attempts=attempt,
                )

        temp, sha256, size = _stream_to_temp(response, dest, started, total_deadline, clock)
        try:
            if expect == "csv":
                _check_csv_file(temp, final_url, required_columns, attempt)
            os.replace(temp, dest)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        fsync_dir(dest.parent)

    return FetchResult(
        url=final_url,
        path=dest,
        sha256=sha256,
        bytes=size,
        status=status,
        attempts=attempt,
        retrieved_at=datetime.now(UTC).isoformat(timespec="seconds"),
        content_type=content_type,
    )


def _stream_to_temp(
    response: requests.Response,
    dest: Path,
    started: float,
    total_deadline: float | None,
    clock: Callable[[], float],
) -> tuple[Path, str, int]:
    """Write the body to a temp file beside `dest`; return (path, sha256, size).

    `read1` returns after a single socket read, so the deadline is checked at least once per
    read timeout even when the server trickles bytes.
    """
    handle, name = tempfile.mkstemp(
        dir=dest.parent, prefix=f".{dest.name}.pid{os.getpid()}.", suffix=".part"
    )
    temp = Path(name)
    digest = hashlib.sha256()
    written = 0
    raw = response.raw
    try:
        with os.fdopen(handle, "wb") as out:
            while True:
                if total_deadline is not None and clock() - started > total_deadline:
                    raise _RetryableError(
                        f"download did not finish within the {total_deadline:g} s deadline "
                        f"({written} bytes received)"
                    )
                try:
                    chunk = raw.read1(_CHUNK, decode_content=True)
                except urllib3.exceptions.ReadTimeoutError:
                    raise _RetryableError(
                        f"timed out reading the body after {written} bytes"
                    ) from None
                except (
                    urllib3.exceptions.HTTPError,
                    http.client.HTTPException,
                    requests.exceptions.ChunkedEncodingError,
                    OSError,
                ) as error:
                    expected = _content_length(response)
                    if expected is not None and raw.tell() < expected:
                        reason = (
                            f"body truncated: received {raw.tell()} of {expected} bytes "
                            "before the connection closed"
                        )
                    else:
                        reason = f"connection broke after {written} bytes ({_describe(error)})"
                    raise _RetryableError(reason) from None
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        expected = _content_length(response)
        if expected is not None and raw.tell() != expected:
            raise _RetryableError(f"body truncated: received {raw.tell()} of {expected} bytes")
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp, digest.hexdigest(), written


# --- body checks ---------------------------------------------------------------------------


def _check_csv_file(
    path: Path, url: str, required_columns: Sequence[ColumnSpec] | None, attempt: int
) -> None:
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    text = _decode(head)
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise ContentRejectedError(url, "empty body where CSV was expected", attempts=attempt)
    lowered = stripped[:1024].lower()
    if lowered.startswith(("<!doctype", "<html", "<?xml", "<head", "<body")) or (
        "<html" in lowered
    ):
        raise ContentRejectedError(
            url, "got an HTML/XML page, not CSV" + _snippet_of(stripped), attempts=attempt
        )
    if lowered.startswith(("{", "[")):
        raise ContentRejectedError(
            url, "got JSON, not CSV" + _snippet_of(stripped), attempts=attempt
        )

    lines = stripped.splitlines()
    if len(lines) == 1 and len(head) == _SNIFF_BYTES:
        raise ContentRejectedError(
            url, f"no CSV header line within the first {_SNIFF_BYTES} bytes", attempts=attempt
        )
    header = [name.strip() for name in next(csv.reader([lines[0]]))]
    if required_columns:
        missing = [
            " or ".join(alternatives)
            for alternatives in (_alternatives(spec) for spec in required_columns)
            if not any(name in header for name in alternatives)
        ]
        if missing:
            raise ColumnsChangedError(url, missing=missing, found=header, attempts=attempt)
    if not any(line.strip() for line in lines[1:]):
        raise ContentRejectedError(url, "CSV has a header but no data rows", attempts=attempt)


def _alternatives(spec: ColumnSpec) -> tuple[str, ...]:
    return (spec,) if isinstance(spec, str) else tuple(spec)


def _decode(data: bytes) -> str:
    # cp1252 fallback: the data zone lookup is Windows-1252, and a UTF-8 sequence cut at the
    # sniff boundary must not fail the check either.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _body_snippet(response: requests.Response) -> str:
    """A short, one-line excerpt of an error body for the message (never blocks long)."""
    try:
        data = response.raw.read1(2048, decode_content=True)
    except Exception:
        return ""
    return _snippet_of(_decode(data or b""))


def _snippet_of(text: str) -> str:
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    excerpt = title.group(1) if title else re.sub(r"<[^>]+>", " ", text)
    excerpt = " ".join(excerpt.split())[:_SNIPPET_CHARS]
    return f": {excerpt!r}" if excerpt else ""


def _content_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length", "").strip()
    return int(value) if value.isdigit() else None


def _connection_problem(error: BaseException) -> str:
    """The OS-level reason ("Connection refused") buried in requests' wrapped errors."""
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(error))
    return found.group(1).strip() if found else _describe(error)


def _describe(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:_SNIPPET_CHARS]}" if text else type(error).__name__


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable; platforms that cannot open a directory skip it."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
