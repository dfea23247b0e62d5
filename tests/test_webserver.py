"""The Dagster UI serves the code location: every asset group, description and check appears
in the webserver's GraphQL API (on 127.0.0.1 only), and the webserver stops cleanly."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.slow

GROUPS = {"sources", "geography", "deprivation", "voice", "triangulation", "exports"}
QUERY = """
{
  assetNodes {
    assetKey { path }
    groupName
    description
    assetChecksOrError { ... on AssetChecks { checks { name } } }
  }
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes { jobs { name } schedules { name } sensors { name } }
    }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def webserver(tmp_path: Path, repo_root: Path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((repo_root / "dagster.yaml").read_text())
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PROFILES_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "PROFILES_INBOX": str(tmp_path / "inbox"),
        "PROFILES_ARCHIVE": str(tmp_path / "archive"),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster_webserver",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-m",
            "pipelines.definitions",
        ],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"webserver exited: {process.stderr.read()[-2000:]}")
            try:
                if requests.get(f"{url}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(1)
        else:
            pytest.fail("webserver did not answer within 180 s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _graphql(url: str) -> dict:
    deadline = time.monotonic() + 120
    while True:  # the code location loads in a subprocess after the server is up
        answer = requests.post(f"{url}/graphql", json={"query": QUERY}, timeout=60).json()
        nodes = answer.get("data", {}).get("assetNodes") or []
        if nodes or time.monotonic() > deadline:
            return answer["data"]
        time.sleep(2)


def test_ui_shows_every_group_asset_description_and_check(webserver: str) -> None:
    from pipelines.definitions import build_definitions
    from profiles.settings import Settings

    data = _graphql(webserver)
    nodes = data["assetNodes"]
    assert {node["groupName"] for node in nodes} == GROUPS
    assert all(node["description"] for node in nodes), "every asset has a description"
    served_checks = {
        check["name"]
        for node in nodes
        for check in (node["assetChecksOrError"] or {}).get("checks", [])
    }
    graph = build_definitions(Settings()).resolve_asset_graph()
    assert served_checks == {key.name for key in graph.asset_check_keys}
    assert len(nodes) == len(list(graph.get_all_asset_keys()))
    (repository,) = data["repositoriesOrError"]["nodes"]
    assert {job["name"] for job in repository["jobs"]} >= {
        "build_all",
        "refresh_statistics",
        "ingest_survey",
        "build_packs",
    }
    assert {s["name"] for s in repository["schedules"]} == {"statistics_release_check"}
    assert {s["name"] for s in repository["sensors"]} == {"survey_inbox", "outputs_after_ingest"}
