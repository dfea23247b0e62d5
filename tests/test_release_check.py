"""The daily release check asks statistics.gov.scot (here: the fake on 127.0.0.1) and says so."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.schedules import release_check_schedule
from profiles.live.release import check_release
from profiles.settings import Settings
from tests.live_server import FakeStatsGov, closed_port_url, html_error_reply


def _modified(date: str) -> bytes:
    return f"modified\r\n{date}\r\n".encode()


def test_first_check_records_then_newer_release_is_reported(tmp_path: Path) -> None:
    with FakeStatsGov() as server:
        server.set_body("/sparql", _modified("2024-01-31T09:30:00Z"))
        first = check_release(server.base_url, tmp_path)
        same = check_release(server.base_url, tmp_path)
        server.set_body("/sparql", _modified("2026-06-30T09:30:00Z"))
        newer = check_release(server.base_url, tmp_path)
        query = server.requests_to("/sparql")[0].form["query"][0]
    assert not first.newer and "recorded" in first.message
    assert not same.newer and same.message.startswith("up to date")
    assert newer.newer and "2026-06-30" in newer.message and "2024-01-31" in newer.message
    assert "dc/terms/modified" in query


def test_unreachable_or_html_is_said_not_raised(tmp_path: Path) -> None:
    refused = check_release(closed_port_url(), tmp_path, timeout_s=2)
    assert not refused.newer and refused.message.startswith("could not ask")
    with FakeStatsGov() as server:
        server.script("/sparql", html_error_reply(200))
        html = check_release(server.base_url, tmp_path)
    assert not html.newer and "HTML" in html.message


def test_schedule_tick_skips_with_the_message(tmp_path: Path) -> None:
    with FakeStatsGov() as server:
        server.set_body("/sparql", _modified("2024-01-31T09:30:00Z"))
        schedule = release_check_schedule(Settings(cache_dir=tmp_path, base_url=server.base_url))
        with dg.build_schedule_context() as context:
            result = schedule.evaluate_tick(context)
    assert result.run_requests == [] or result.run_requests is None
    assert "2024-01-31" in (result.skip_message or "")
