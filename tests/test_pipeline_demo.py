"""End to end on the embedded Demo City, and the `profiles` command-line contract."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pipeline_helpers import build, query, table_digest

pytestmark = pytest.mark.slow


def test_demo_flow_runs_every_stage_and_checks_pass(demo_build) -> None:
    _, runs = demo_build
    assert [run.job for run in runs] == ["refresh_statistics", "ingest_survey", "build_packs"]
    assert sum(run.checks_evaluated for run in runs) >= 18
    assert [check for run in runs for check in run.failed_checks] == []


def test_demo_city_shape(demo_build) -> None:
    settings, _ = demo_build
    rows = query(
        settings,
        "SELECT council_name, dz_count, ward_count FROM dim_council ORDER BY dz_count DESC",
    )
    city_name, city_dz, city_wards = rows[0]
    assert city_name == "Demo City"
    assert 170 <= city_dz <= 190 and city_wards == 8
    # Ranks are national across all demo councils, so the city is not all of "Scotland".
    ((n_zones,),) = query(settings, "SELECT max(rank) FROM fct_simd WHERE domain = 'overall'")
    assert n_zones > city_dz


def test_demo_is_deterministic(demo_build) -> None:
    settings, _ = demo_build
    tables = [
        "fct_simd",
        "fct_indicator",
        "dim_datazone",
        "geo_datazone",
        "dim_postcode",
        "locality_profile",
        "voice_theme_summary",
        "priority_ranking",
    ]
    before = {table: table_digest(settings, table) for table in tables}
    build(settings, "build_all")
    assert before == {table: table_digest(settings, table) for table in tables}


def _cli(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_cli_sql_reads_contract_tables_by_bare_name(demo_build) -> None:
    settings, _ = demo_build
    completed = _cli(
        "sql",
        "SELECT council_code, count(*) AS dz FROM dim_datazone GROUP BY 1 ORDER BY 1",
        "--warehouse",
        str(settings.warehouse),
    )
    assert completed.returncode == 0, completed.stderr
    rows = list(csv.DictReader(io.StringIO(completed.stdout)))
    assert rows and set(rows[0]) == {"council_code", "dz"}
    expected = query(settings, "SELECT count(*) FROM dim_datazone")[0][0]
    assert sum(int(row["dz"]) for row in rows) == expected


def test_cli_sql_is_read_only(demo_build) -> None:
    settings, _ = demo_build
    completed = _cli("sql", "DROP TABLE marts.fct_simd", "--warehouse", str(settings.warehouse))
    assert completed.returncode == 1
    assert completed.stderr.startswith("profiles: ") and len(completed.stderr.splitlines()) == 1
    assert query(settings, "SELECT count(*) FROM fct_simd")[0][0] > 0


def test_cli_reports_missing_folder_in_one_line(tmp_path: Path) -> None:
    completed = _cli(
        "build", "--from", str(tmp_path / "nowhere"), "--warehouse", str(tmp_path / "w.duckdb")
    )
    assert completed.returncode == 1
    assert "nowhere" in completed.stderr and len(completed.stderr.strip().splitlines()) == 1


def test_postcodes_missing_from_the_lookup_are_placed_by_point_in_polygon(
    demo_build, tmp_path: Path
) -> None:
    import shutil

    import dagster as dg

    from assets.geography import dim_postcode
    from pipelines.resources import resources_for
    from profiles import warehouse

    settings, _ = demo_build
    copy = settings.with_(warehouse=tmp_path / "warehouse.duckdb")
    shutil.copyfile(settings.warehouse, copy.warehouse)
    with warehouse.connect(copy.warehouse) as con:
        truth = dict(
            con.execute(
                "SELECT postcode_key, dz_code FROM staging.postcode "
                "WHERE easting IS NOT NULL ORDER BY postcode_key LIMIT 40"
            ).fetchall()
        )
        con.execute(
            "UPDATE staging.postcode SET dz_code = NULL WHERE postcode_key IN "
            "(SELECT unnest(?::VARCHAR[]))",
            [list(truth)],
        )
    result = dg.materialize([dim_postcode], resources=resources_for(copy))
    assert result.success
    placed = dict(
        query(
            copy,
            "SELECT postcode_key, dz_code FROM dim_postcode WHERE dz_method = 'point_in_polygon'",
        )
    )
    assert placed == truth


def test_profiles_demo_command_builds_everything(tmp_path: Path, repo_root: Path) -> None:
    """The README's main job, as a user runs it: `profiles demo`, in its own instance."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((repo_root / "dagster.yaml").read_text())
    env = {
        "DAGSTER_HOME": str(home),
        "PROFILES_DEMO_DIR": str(tmp_path / "demo"),
        "PROFILES_OUTPUTS": str(tmp_path / "outputs"),
        "PROFILES_ARCHIVE": str(tmp_path / "archive"),
        "PROFILES_CACHE": str(tmp_path / "cache"),
    }
    completed = _cli("demo", "--warehouse", str(tmp_path / "w.duckdb"), env_extra=env)
    assert completed.returncode == 0, completed.stderr[-2000:]
    jobs = re.findall(r"\(([a-z_]+)\): \d+ assets materialized", completed.stderr)
    assert jobs == ["refresh_statistics", "ingest_survey", "build_packs"]
    assert list((tmp_path / "outputs" / "packs").glob("*/localities/*.html"))
