"""Community voice end to end: the demo survey, other export formats, the inbox sensor,
the `profiles ingest` command, and a privacy sweep of everything outside the raw layer."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipelines.runner import ingest_file
from pipelines.sensors import inbox_sensor
from tests.pipeline_helpers import query

pytestmark = pytest.mark.slow

# Deliberately simpler than the redaction patterns, so the sweep is an independent check.
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PHONE = re.compile(r"(?:\+44\s?|\b0)\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}\b")
POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)


def _survey_files(settings) -> dict[str, Path]:
    folder = settings.demo_dir.parent / f"{settings.demo_dir.name}_survey"
    return {
        "csv": folder / "place_standard_demo.csv",
        "cp1252": folder / "place_standard_demo_cp1252.csv",
        "xlsx": folder / "place_standard_demo.xlsx",
    }


@pytest.fixture()
def demo_copy(demo_build, tmp_path: Path):
    """A private copy of the demo warehouse, so ingesting more surveys changes nothing else."""
    settings, _ = demo_build
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(settings.warehouse, warehouse)
    return settings.with_(
        warehouse=warehouse,
        archive_dir=tmp_path / "archive",
        inbox_dir=tmp_path / "inbox",
        outputs_dir=tmp_path / "outputs",
    )


def test_demo_survey_accounting_and_flags(demo_build) -> None:
    settings, _ = demo_build
    ((rows_in, loaded, quarantined),) = query(
        settings, "SELECT rows_in, rows_loaded, rows_quarantined FROM raw.voice_ingest_log"
    )
    assert rows_in == loaded + quarantined and loaded > 2_500
    ((responses, duplicates, campaigns, campaign_size),) = query(
        settings,
        "SELECT count(*), count(*) FILTER (is_duplicate), count(DISTINCT campaign_group), "
        "max(n) FROM voice_response LEFT JOIN (SELECT campaign_group, count(*) AS n "
        "FROM voice_response WHERE campaign_group IS NOT NULL GROUP BY 1) USING (campaign_group)",
    )
    assert responses == loaded
    assert duplicates >= 3 and campaigns >= 1 and campaign_size >= 20
    placed = dict(query(settings, "SELECT geocode_status, count(*) FROM voice_response GROUP BY 1"))
    assert placed["matched"] > 0.85 * responses
    assert sum(placed.values()) == responses  # unmatched responses are kept, not dropped


def test_every_locality_has_theme_summaries_and_rankings(demo_build) -> None:
    settings, _ = demo_build
    ((localities,),) = query(
        settings,
        "SELECT count(*) FROM dim_locality WHERE council_code = "
        "(SELECT council_code FROM dim_council WHERE council_name = 'Demo City')",
    )
    assert localities == 8
    rows = query(
        settings,
        "SELECT locality_id, count(DISTINCT theme_id), count(DISTINCT weighting) "
        "FROM voice_theme_summary WHERE area_level = 'locality' GROUP BY 1",
    )
    assert len(rows) == localities and {(t, w) for _, t, w in rows} == {(14, 2)}
    ranked = query(
        settings,
        "SELECT locality_id, count(*) FILTER (rank IS NOT NULL), "
        "count(*) FILTER (need_score IS NOT NULL AND voice_score IS NOT NULL) "
        "FROM priority_ranking WHERE council_code = "
        "(SELECT council_code FROM dim_council WHERE council_name = 'Demo City') GROUP BY 1",
    )
    assert len(ranked) == localities
    assert all(n_ranked >= 8 and n_both >= 5 for _, n_ranked, n_both in ranked)


def test_nothing_outside_raw_holds_personal_data(demo_build) -> None:
    settings, _ = demo_build
    tables = query(
        settings,
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE table_schema IN ('staging', 'marts') AND data_type = 'VARCHAR' "
        "AND table_catalog = current_database() AND column_name NOT LIKE '%code%' "
        "AND column_name NOT IN ('postcode', 'postcode_key', 'path', 'source_file')",
    )
    hits = []
    for schema, table, column in tables:
        if table in {"dim_postcode", "postcode"}:  # the postcode directory itself
            continue
        values = query(settings, f'SELECT DISTINCT "{column}" FROM {schema}.{table}')
        for (value,) in values:
            if value and (EMAIL.search(value) or PHONE.search(value) or POSTCODE.search(value)):
                hits.append((f"{schema}.{table}.{column}", value[:80]))
    assert hits == []
    # The raw layer does hold what was redacted, so the sweep above could have failed.
    ((raw_postcodes,),) = query(
        settings, "SELECT count(*) FROM raw.voice_response WHERE postcode_raw IS NOT NULL"
    )
    assert raw_postcodes > 0


def test_xlsx_and_cp1252_exports_load_like_the_csv(demo_copy, demo_build) -> None:
    settings, _ = demo_build
    files = _survey_files(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        _, xlsx_accounting, _ = ingest_file(
            demo_copy, instance, files["xlsx"], council="Demo City", rebuild_outputs=False
        )
        cp1252, cp_accounting, _ = ingest_file(
            demo_copy, instance, files["cp1252"], council="Demo City", rebuild_outputs=False
        )
    ((csv_loaded,),) = query(settings, "SELECT rows_loaded FROM raw.voice_ingest_log")
    assert xlsx_accounting["rows_loaded"] == cp_accounting["rows_loaded"] == csv_loaded
    assert cp_accounting["encoding"] in {"cp1252", "windows-1252"}
    ((pounds,),) = query(
        demo_copy,
        "SELECT count(*) FROM staging.voice_comment "
        "WHERE survey_id = ? AND text_redacted LIKE '%£%'",
        [cp1252.survey_id],
    )
    assert pounds > 0  # decoded, not mojibake
    scores = query(
        demo_copy,
        "SELECT survey_id, sum(score), count(*) FROM staging.voice_score GROUP BY 1 ORDER BY 1",
    )
    assert len({(total, n) for _, total, n in scores}) == 1  # same answers in all three formats


def test_inbox_sensor_archives_once_and_requests_the_partition(demo_copy, demo_build) -> None:
    settings, _ = demo_build
    inbox = demo_copy.inbox_dir
    inbox.mkdir(parents=True)
    shutil.copyfile(_survey_files(settings)["csv"], inbox / "ps_export.csv")
    sensor = inbox_sensor(demo_copy)
    # Invoked directly: the daemon adds the requested partitions before it launches runs.
    with dg.DagsterInstance.ephemeral() as instance:
        first = sensor(dg.build_sensor_context(instance=instance))
        for request in first.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
        # The same bytes dropped again under another name change nothing.
        shutil.copyfile(inbox / "ps_export.csv", inbox / "ps_export (copy).csv")
        second = sensor(dg.build_sensor_context(instance=instance))
    assert len(first.run_requests) == 1
    request = first.run_requests[0]
    assert request.partition_key.startswith("ps-export-") and len(request.run_key) == 64
    assert {r.run_key for r in second.run_requests} == {request.run_key}
    assert second.dynamic_partitions_requests == []
    archived = list(demo_copy.archive_dir.glob("*/*.csv"))
    assert len(archived) == 1
    assert archived[0].stat().st_mode & 0o222 == 0  # archived read-only


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=600,
    )


def test_cli_ingest_prints_accounting_and_rejects_bad_files(
    demo_copy, demo_build, repo_root: Path, tmp_path: Path
) -> None:
    settings, _ = demo_build
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((repo_root / "dagster.yaml").read_text())
    env = {
        "DAGSTER_HOME": str(home),
        "PROFILES_ARCHIVE": str(demo_copy.archive_dir),
        "PROFILES_OUTPUTS": str(demo_copy.outputs_dir),
    }
    good = _cli(
        "ingest",
        str(_survey_files(settings)["csv"]),
        "--council",
        "Demo City",
        "--warehouse",
        str(demo_copy.warehouse),
        env=env,
    )
    assert good.returncode == 0, good.stderr
    assert re.search(r"rows in (\d+) = loaded (\d+) \+ quarantined (\d+)", good.stdout)
    html = tmp_path / "export.csv"
    html.write_text("<!DOCTYPE html><html><body>Service unavailable</body></html>\n")
    bad = _cli(
        "ingest",
        str(html),
        "--council",
        "Demo City",
        "--warehouse",
        str(demo_copy.warehouse),
        env=env,
    )
    assert bad.returncode == 1
    message = bad.stderr.strip().splitlines()
    assert len(message) == 1 and message[0].startswith("profiles: ") and "export" in message[0]


def test_no_export_holds_personal_data(demo_build) -> None:
    """Every CSV and workbook cell of the demo's packs, searched with the same independent
    patterns (the postcode directory's own postcode columns excepted)."""
    import csv

    import openpyxl

    settings, _ = demo_build
    packs = settings.outputs_dir / "packs"
    files = sorted(packs.rglob("*.csv")) + sorted(packs.rglob("*.xlsx"))
    assert files, "the demo built no packs"
    hits = []
    for path in files:
        if path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as handle:
                reader = csv.DictReader(handle)
                cells = [
                    (column, value)
                    for row in reader
                    for column, value in row.items()
                    if "postcode" not in (column or "")
                ]
        else:
            workbook = openpyxl.load_workbook(path, read_only=True)
            cells = [
                (sheet.title, value)
                for sheet in workbook.worksheets
                for row in sheet.iter_rows(values_only=True)
                for value in row
                if isinstance(value, str)
            ]
            workbook.close()
        for where, value in cells:
            if not value or re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", value):
                continue  # a number, not text
            if EMAIL.search(value) or PHONE.search(value) or POSTCODE.search(value):
                hits.append((path.name, where, value[:80]))
    assert hits == []


@pytest.mark.parametrize(
    "bands",
    [None, ["16-24", "20-40", "65+", "not a band"], []],
    ids=["survey bands", "overlapping and unreadable bands", "no bands"],
)
def test_weighting_population_in_sql_equals_the_library(demo_build, bands) -> None:
    """The voice marts band the population in DuckDB; profiles.voice.population is the
    reference it must equal (overlapping bands: the last listed wins, as there)."""
    import pandas as pd

    from assets.voice import survey_age_bands, weighting_population
    from profiles import warehouse
    from profiles.voice.population import population_for_weights

    settings, _ = demo_build
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        if bands is None:
            bands = survey_age_bands(con)
            assert len(bands) >= 5
        got = weighting_population(con, bands)
        population = con.execute("SELECT * FROM staging.population").fetchdf()
        dim = con.execute("SELECT dz_code, council_code, population FROM marts.dim_datazone")
        dim = dim.fetchdf()
        quintiles = con.execute(
            "SELECT dz_code, quintile FROM marts.fct_simd WHERE domain = 'overall' "
            "AND vintage = (SELECT max(vintage) FROM marts.fct_simd)"
        ).fetchdf()
    expected = population_for_weights(population, dim[["dz_code", "population"]], quintiles, bands)
    expected = expected.merge(dim[["dz_code", "council_code"]], on="dz_code", how="left")
    assert len(got) > 0
    pd.testing.assert_frame_equal(got, expected)
