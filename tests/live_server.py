"""A fake statistics.gov.scot on 127.0.0.1 for testing the live client, with scriptable faults.

What belongs here: `FakeStatsGov` (a ThreadingHTTPServer in a background thread that serves
`/sparql`, `/downloads/cube-table` and `/downloads/file` in the real formats), `Reply` (one
scripted response: status, headers, delay, truncation, trickle, renamed columns, ...), the
synthetic bodies it serves by default, and `closed_port_url()` for "connection refused".
All rows are made up (`S0199990x` codes do not exist); real files are served only by tests
that read them through the `real_data` fixture.

Usage::

    with FakeStatsGov() as server:
        server.script("/sparql", Reply(status=500), Reply(status=500))  # then the default
        ... StatsGovSource(server.base_url, ...) ...
        assert len(server.requests_to("/sparql")) == 3
"""

from __future__ import annotations

import contextlib
import gzip
import io
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"  # never any other address

SPARQL_COLUMNS = ("year", "zone", "domain", "measure", "value")
CUBE_COLUMNS = ("FeatureCode", "DateCode", "Measurement", "Units", "Value", "SIMD Domain")
LOOKUP_COLUMNS = [
    *("DZ2011_Code", "DZ2011_Name", "IZ2011_Code", "IZ2011_Name", "MMWard_Code", "MMWard_Name"),
    *("LA_Code", "LA_Name", "SPC_Code", "SPC_Name", "UKPC_Code", "UKPC_Name", "HB_Code"),
    *("HB_Name", "HIA_Code", "HIA_Name", "SPD_Code", "SPD_Name", "SFRLSO_Code", "SFRLSO_Name"),
    *("SFRSDA_Code", "SFRSDA_Name", "RRP_Code", "RRP_Name", "LRP_Code", "LRP_Name"),
    *("TTWA2011_Code", "TTWA2011_Name", "UR2_Code", "UR2_Name", "UR3_Code", "UR3_Name"),
    *("UR6_Code", "UR6_Name", "UR8_Code", "UR8_Name", "Country_Code", "Country_Name"),
]

SYNTHETIC_ZONES = ("S01999901", "S01999902", "S01999903", "S01999904")
DOMAIN_LABELS = (
    "SIMD",
    "Income",
    "Employment",
    "Health",
    "Education Skills And Training",
    "Access To Services",
    "Crime",
    "Housing",
)
MEASURE_LABELS = ("Rank", "Decile", "Quintile", "Vigintile")

SIMD_DATASET_URI = "http://statistics.gov.scot/data/scottish-index-of-multiple-deprivation"
LOOKUP_FILE_ID = "1ab6565e-10e0-4888-b91c-4ae6821b30d7/Datazone2011lookup (8).csv"

HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html lang='en'><head><title>Statistics.gov.scot | Temporarily "
    b"unavailable</title></head><body><h1>Sorry, something went wrong</h1></body></html>\n"
)
JSON_ERROR_BODY = b'{"error": "Query timed out", "status": 503}\n'


# --- synthetic bodies (made-up rows in the real layouts) -----------------------------------


def synthetic_sparql_csv(year: str = "2020", zones: tuple[str, ...] = SYNTHETIC_ZONES) -> bytes:
    """SPARQL 1.1 CSV results (CRLF, header unquoted): 8 domains x 4 measures per zone,
    income ranks with a .5 tie as in the real data."""
    lines = [",".join(SPARQL_COLUMNS)]
    for index, zone in enumerate(zones):
        for domain_index, domain in enumerate(DOMAIN_LABELS):
            rank = 100 * (index + 1) + domain_index
            values = {
                "Rank": f"{rank}.5" if domain == "Income" else str(rank),
                "Decile": str(index + 1),
                "Quintile": str(index // 2 + 1),
                "Vigintile": str(2 * index + 1),
            }
            lines.extend(
                f"{year},{zone},{domain},{measure},{values[measure]}" for measure in MEASURE_LABELS
            )
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def synthetic_cube_csv(columns: tuple[str, ...] = CUBE_COLUMNS) -> bytes:
    """A cube-table download: tidy long CSV, mixed DateCode formats kept as text."""
    lines = [",".join(columns)]
    for index, zone in enumerate(SYNTHETIC_ZONES):
        for domain in ("SIMD", "Income", "Access To Services"):
            lines.append(f"{zone},2020,Rank,Rank,{1000 + 10 * index},{domain}")
            lines.append(f"{zone},2020,Decile,Decile,{index + 1},{domain}")
        lines.append(f"{zone},2016,Rank,Rank,{2000 + index},SIMD")
    return ("\n".join(lines) + "\n").encode("utf-8")


def synthetic_lookup_csv() -> bytes:
    """The data zone lookup in Windows-1252 with CRLF, a trailing no-break space and a
    curly apostrophe in made-up names (the quirks of the real file)."""
    rows = []
    for index, zone in enumerate(SYNTHETIC_ZONES):
        values = {name: "" for name in LOOKUP_COLUMNS}
        values.update(
            DZ2011_Code=zone,
            DZ2011_Name=f"Madeup Braes - 0{index + 1}",
            IZ2011_Code="S02999901" if index < 2 else "S02999902",
            IZ2011_Name="Madeup Braes\xa0" if index < 2 else "Fictional Bo’ness ",
            MMWard_Code="S13999901",
            MMWard_Name="Imaginary Ward",
            LA_Code="S12999901",
            LA_Name="Nowhere City",
            UR6_Code="1",
            UR6_Name="Large Urban Areas",
            Country_Code="S92000003",
            Country_Name="Scotland",
        )
        rows.append(",".join(values[name] for name in LOOKUP_COLUMNS))
    text = "\r\n".join([",".join(LOOKUP_COLUMNS), *rows]) + "\r\n"
    return text.encode("cp1252")


def rename_header(body: bytes, renames: dict[str, str]) -> bytes:
    """The same body with some header names changed (a publisher renaming columns)."""
    header, sep, rest = body.partition(b"\n")
    names = header.decode("utf-8").rstrip("\r").split(",")
    new_header = ",".join(renames.get(name, name) for name in names)
    ending = "\r" if header.endswith(b"\r") else ""
    return (new_header + ending).encode("utf-8") + sep + rest


# --- scripting -----------------------------------------------------------------------------


@dataclass
class Reply:
    """One scripted response. Fields left at None use the route's default body and type.

    delay_s: wait before sending anything (the client should time out).
    truncate_to: send Content-Length for the whole body but only this many bytes, then close.
    chunked: use Transfer-Encoding: chunked (with truncate_to: no terminating chunk).
    trickle: (bytes per write, seconds between writes) for a slow body.
    rename_columns: header renames applied to the body.
    gzip: send the body gzip-encoded.
    """

    status: int = 200
    body: bytes | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    truncate_to: int | None = None
    chunked: bool = False
    trickle: tuple[int, float] | None = None
    rename_columns: dict[str, str] | None = None
    gzip: bool = False


def status_reply(status: int, *, retry_after: str | None = None) -> Reply:
    """An error status with a short plain-text body, optionally with Retry-After."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Reply(
        status=status,
        body=f"error {status}\n".encode(),
        content_type="text/plain; charset=utf-8",
        headers=headers,
    )


def html_error_reply(status: int = 200) -> Reply:
    return Reply(status=status, body=HTML_ERROR_PAGE, content_type="text/html; charset=utf-8")


@dataclass
class RecordedRequest:
    method: str
    path: str
    raw_query: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class _Route:
    body: bytes
    content_type: str
    required_query: dict[str, str] = field(default_factory=dict)


class FakeStatsGov:
    """A scriptable fake statistics.gov.scot bound to 127.0.0.1 on a free port."""

    def __init__(self) -> None:
        self.routes: dict[str, _Route] = {
            "/sparql": _Route(synthetic_sparql_csv(), "text/csv; charset=utf-8"),
            "/downloads/cube-table": _Route(
                synthetic_cube_csv(), "text/csv", {"uri": SIMD_DATASET_URI}
            ),
            "/downloads/file": _Route(synthetic_lookup_csv(), "text/csv", {"id": LOOKUP_FILE_ID}),
        }
        self.requests: list[RecordedRequest] = []
        self._scripts: dict[str, deque[Reply]] = {}
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeStatsGov:
        server = ThreadingHTTPServer((HOST, 0), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeStatsGov:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        return f"http://{HOST}:{self._server.server_address[1]}"

    # --- scripting -----------------------------------------------------------------------

    def script(self, path: str, *replies: Reply) -> None:
        """Queue replies for `path`; once used up, the route's default body is served."""
        with self._lock:
            self._scripts.setdefault(path, deque()).extend(replies)

    def set_body(self, path: str, body: bytes, content_type: str | None = None) -> None:
        """Change the default body of a route (e.g. to serve a real file)."""
        route = self.routes[path]
        route.body = body
        if content_type is not None:
            route.content_type = content_type

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def _next_reply(self, path: str) -> Reply | None:
        with self._lock:
            queue = self._scripts.get(path)
            return queue.popleft() if queue else None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)


def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    return f"http://{HOST}:{port}"


# --- request handling ----------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeStatsGov/1.0"

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    @property
    def fake(self) -> FakeStatsGov:
        return self.server.fake  # type: ignore[attr-defined]

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length) if length else b""
        form = parse_qs(payload.decode("utf-8")) if payload else {}
        self.fake._record(
            RecordedRequest(
                method=self.command,
                path=parts.path,
                raw_query=parts.query,
                query=parse_qs(parts.query),
                form=form,
                headers={key.lower(): value for key, value in self.headers.items()},
            )
        )
        route = self.fake.routes.get(parts.path)
        reply = self.fake._next_reply(parts.path)
        if reply is None:
            reply = self._default_reply(route, parts.query, form)
        # The client may have given up (timeout, deadline); that is what the test wanted.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError):
            self._send(reply, route)
        self.close_connection = True

    def _default_reply(self, route: _Route | None, raw_query: str, form: dict) -> Reply:
        if route is None:
            return status_reply(404)
        query = parse_qs(raw_query)
        for key, expected in route.required_query.items():
            if query.get(key) != [expected]:
                return status_reply(404)
        if self.command == "POST" and "query" not in form:
            return Reply(status=400, body=b"missing query\n", content_type="text/plain")
        return Reply()

    def _send(self, reply: Reply, route: _Route | None) -> None:
        if reply.delay_s and self.fake.stopping.wait(reply.delay_s):
            return
        body = reply.body if reply.body is not None else (route.body if route else b"")
        if reply.rename_columns:
            body = rename_header(body, reply.rename_columns)
        if reply.gzip:
            buffer = io.BytesIO()
            with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped:
                zipped.write(body)
            body = buffer.getvalue()
        content_type = reply.content_type or (route.content_type if route else "text/plain")

        self.send_response(reply.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        if reply.gzip:
            self.send_header("Content-Encoding", "gzip")
        for key, value in reply.headers.items():
            self.send_header(key, value)
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()

        to_send = body if reply.truncate_to is None else body[: reply.truncate_to]
        if reply.trickle:
            size, interval = reply.trickle
            for start in range(0, len(to_send), size):
                self._write(to_send[start : start + size], reply.chunked)
                if self.fake.stopping.wait(interval):
                    return
        elif to_send:
            self._write(to_send, reply.chunked)
        if reply.chunked and reply.truncate_to is None:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write(self, data: bytes, chunked: bool) -> None:
        if chunked:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        else:
            self.wfile.write(data)
        self.wfile.flush()
