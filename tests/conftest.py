"""Shared pytest fixtures.

`real_data` points at ../shared/data/real (override with PROFILES_REAL_DATA). Tests that
need it are skipped, with the reason shown in the summary, when it is absent; CI always
has it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = Path(
    os.environ.get("PROFILES_REAL_DATA", REPO_ROOT.parent / "shared" / "data" / "real")
)


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The folder of real published files, or skip the test if it is not there."""
    if not (REAL_DATA / "MANIFEST.md").is_file():
        pytest.skip(f"real data not present at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory):
    """The Demo City built once for the session through the demo flow (statistics, its
    synthetic survey through the ingest path, outputs): (settings, run summaries)."""
    import dagster as dg

    from pipelines.runner import run_demo
    from tests.pipeline_helpers import settings_for

    settings = settings_for(tmp_path_factory.mktemp("demo"), source_mode="demo")
    with dg.DagsterInstance.ephemeral() as instance:
        runs = run_demo(settings, instance)
    return settings, runs
