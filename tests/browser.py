"""A small headless-Chromium driver for tests, speaking the DevTools protocol over a websocket.

What belongs here: finding a Chromium binary (Debian's `/usr/bin/chromium` first), launching
it headless with networking features off and a fresh profile, and `Browser.open_page`, which
loads a URL and reports what a test needs to judge a page: console errors and uncaught
exceptions, every request the page made, the result of a JavaScript readiness check, and a
full-page PNG screenshot. Tests skip (with the reason) when no Chromium is installed.

Why the DevTools protocol rather than `--dump-dom`/`--screenshot`: it tells console errors
apart from Chromium's own log noise, records network requests exactly, and can wait for
asynchronous rendering (plotly draws after the load event) before the screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-port=0",
)


def find_chromium() -> str | None:
    """Path of a Chromium binary (env `PROFILES_CHROMIUM` wins), or None."""
    override = os.environ.get("PROFILES_CHROMIUM")
    if override:
        return override if Path(override).is_file() else None
    for candidate in CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@dataclass
class PageReport:
    """What happened while a page loaded and rendered."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    ready: Any = None
    screenshot: bytes = b""
    segments: list[bytes] = field(default_factory=list)


class DevToolsError(RuntimeError):
    pass


class _Session:
    """One page target, attached in flat mode so commands carry a sessionId."""

    def __init__(self, socket: ClientConnection, session_id: str) -> None:
        self.socket = socket
        self.session_id = session_id
        self.next_id = 1000
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30.0):
        self.next_id += 1
        message_id = self.next_id
        self.socket.send(
            json.dumps(
                {
                    "id": message_id,
                    "method": method,
                    "params": params or {},
                    "sessionId": self.session_id,
                }
            )
        )
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline, method)
            if message.get("id") == message_id:
                if "error" in message:
                    raise DevToolsError(f"{method}: {message['error']}")
                return message.get("result", {})

    def wait_for_event(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        for event in self.events:
            if event["method"] == name:
                return event
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline, name)
            if message.get("method") == name:
                return message

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"timed out waiting for {waiting_for}")
        try:
            message = json.loads(self.socket.recv(timeout=remaining))
        except TimeoutError:
            raise TimeoutError(f"timed out waiting for {waiting_for}") from None
        if "method" in message:
            self.events.append(message)
        return message


def _console_error(event: dict[str, Any]) -> str | None:
    method, params = event["method"], event.get("params", {})
    if method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        description = details.get("exception", {}).get("description") or details.get("text")
        return f"exception: {description}"
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        texts = [str(arg.get("value", arg.get("description", ""))) for arg in params["args"]]
        return "console.error: " + " ".join(texts)
    if method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        entry = params["entry"]
        return f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}".strip()
    return None


class Browser:
    """A running headless Chromium; use `launch()`."""

    def __init__(self, process: subprocess.Popen, socket: ClientConnection) -> None:
        self.process = process
        self.socket = socket
        self._ids = 0

    def _browser_call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._ids += 1
        self.socket.send(json.dumps({"id": self._ids, "method": method, "params": params}))
        deadline = time.monotonic() + 30
        while True:
            message = json.loads(self.socket.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            if message.get("id") == self._ids:
                if "error" in message:
                    raise DevToolsError(f"{method}: {message['error']}")
                return message["result"]

    def open_page(
        self,
        url: str,
        *,
        ready_expression: str = "true",
        timeout: float = 60.0,
        width: int = 1280,
        height: int = 900,
        segment_height: int | None = None,
        scale: float = 1.0,
    ) -> PageReport:
        """Load `url`, await `ready_expression` (may return a Promise), screenshot it.

        With `segment_height`, the page is also captured in slices of that height (easier
        to look at than one very tall image); `scale` shrinks the full-page screenshot.
        """
        target = self._browser_call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session_id = self._browser_call(
            "Target.attachToTarget", {"targetId": target, "flatten": True}
        )["sessionId"]
        page = _Session(self.socket, session_id)
        report = PageReport(url=url)
        try:
            for domain in ("Page", "Runtime", "Log"):
                page.send(f"{domain}.enable")
            # Record requests without keeping their bodies (the pages embed plotly.js).
            page.send("Network.enable", {"maxTotalBufferSize": 0, "maxResourceBufferSize": 0})
            page.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            )
            page.send("Page.navigate", {"url": url})
            page.wait_for_event("Page.loadEventFired", timeout)
            result = page.send(
                "Runtime.evaluate",
                {"expression": ready_expression, "awaitPromise": True, "returnByValue": True},
                timeout,
            )
            if "exceptionDetails" in result:
                details = result["exceptionDetails"]
                text = details.get("exception", {}).get("description") or details.get("text")
                report.console_errors.append(f"readiness check failed: {text}")
            report.ready = result.get("result", {}).get("value")
            metrics = page.send("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            shot = page.send(
                "Page.captureScreenshot",
                {
                    "format": "png",
                    "captureBeyondViewport": True,
                    "clip": {
                        "x": 0,
                        "y": 0,
                        "width": size["width"],
                        "height": size["height"],
                        "scale": scale,
                    },
                },
                timeout,
            )
            report.screenshot = base64.b64decode(shot["data"])
            for top in range(0, int(size["height"]), segment_height or 1 << 30):
                if segment_height is None:
                    break
                piece = page.send(
                    "Page.captureScreenshot",
                    {
                        "format": "png",
                        "captureBeyondViewport": True,
                        "clip": {
                            "x": 0,
                            "y": top,
                            "width": size["width"],
                            "height": min(segment_height, size["height"] - top),
                            "scale": 1,
                        },
                    },
                    timeout,
                )
                report.segments.append(base64.b64decode(piece["data"]))
            # Let late console messages arrive before reading the event log.
            page.send("Runtime.evaluate", {"expression": "1"})
        finally:
            self._browser_call("Target.closeTarget", {"targetId": target})
        for event in page.events:
            if event["method"] == "Network.requestWillBeSent":
                report.requests.append(event["params"]["request"]["url"])
            error = _console_error(event)
            if error:
                report.console_errors.append(error)
        return report


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def launch(binary: str, *, startup_timeout: float = 30.0) -> Iterator[Browser]:
    """Start headless Chromium with a fresh profile; close and clean up on exit."""
    with tempfile.TemporaryDirectory(prefix="profiles-chromium-") as profile:
        process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + startup_timeout
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            if process.poll() is not None:
                raise DevToolsError(f"{binary} exited with code {process.returncode} at start")
            if time.monotonic() > deadline:
                process.kill()
                raise DevToolsError(f"{binary} did not open a DevTools port in time")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        try:
            with connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=30) as socket:
                yield Browser(process, socket)
        finally:
            _stop(process)
