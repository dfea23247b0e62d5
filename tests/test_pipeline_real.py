"""End to end on the real published files in ../shared/data/real, through Dagster.

The facts asserted are the MANIFEST's verified ones (6,976 data zones, Dundee's 188 data
zones in 8 wards, SIMD 2020v2's most deprived data zone, population totals).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline_helpers import build, check_evaluations, query, settings_for, table_digest

pytestmark = pytest.mark.slow

DUNDEE = "S12000042"


@pytest.fixture(scope="module")
def real_build(real_data: Path, tmp_path_factory: pytest.TempPathFactory):
    settings = settings_for(
        tmp_path_factory.mktemp("real"), source_mode="folder", source_dir=real_data
    )
    result = build(settings, "refresh_statistics")
    return settings, result


def test_every_check_passes(real_build) -> None:
    _, result = real_build
    outcomes = check_evaluations(result)
    assert outcomes, "no checks were evaluated"
    failed = sorted(key for key, passed in outcomes.items() if not passed)
    # The NSPL sample is for postcode area PH only: all its live postcodes are Scottish DZs.
    assert failed == []


def test_all_data_zones_both_vintages(real_build) -> None:
    settings, _ = real_build
    rows = query(
        settings,
        "SELECT vintage, domain, count(DISTINCT dz_code) FROM fct_simd GROUP BY ALL ORDER BY ALL",
    )
    assert len(rows) == 16  # 2 vintages x 8 domains
    assert {count for _, _, count in rows} == {6976}


def test_dundee_geography(real_build) -> None:
    settings, _ = real_build
    (dz, iz, wards), = query(
        settings,
        "SELECT count(*), count(DISTINCT iz_code), count(DISTINCT ward_code) "
        "FROM dim_datazone WHERE council_code = ?",
        [DUNDEE],
    )
    assert (dz, iz, wards) == (188, 31, 8)
    per_ward = dict(
        query(
            settings,
            "SELECT ward_code, dz_count FROM dim_ward WHERE council_code = ? ORDER BY 1",
            [DUNDEE],
        )
    )
    assert per_ward == {
        "S13002545": 26, "S13002546": 25, "S13002547": 22, "S13002548": 23,
        "S13002549": 22, "S13002551": 22, "S13002552": 25, "S13002830": 23,
    }


def test_dundee_simd_headlines(real_build) -> None:
    settings, _ = real_build
    (quintile1, decile1, most_deprived), = query(
        settings,
        """
        SELECT count(*) FILTER (quintile = 1), count(*) FILTER (decile = 1), arg_min(dz_code, rank)
        FROM fct_simd JOIN dim_datazone USING (dz_code)
        WHERE vintage = '2020v2' AND domain = 'overall' AND council_code = ?
        """,
        [DUNDEE],
    )
    assert (quintile1, decile1, most_deprived) == (70, 45, "S01007801")
    (scotland_first,), = query(
        settings,
        "SELECT dz_code FROM fct_simd WHERE vintage = '2020v2' AND domain = 'overall' AND rank = 1",
    )
    assert scotland_first == "S01010891"


def test_suppressed_cells_are_not_zero(real_build) -> None:
    settings, _ = real_build
    (suppressed, with_value), = query(
        settings,
        "SELECT count(*), count(value) FROM fct_indicator "
        "WHERE vintage = '2020v2' AND indicator = 'attendance' AND suppressed",
    )
    assert (suppressed, with_value) == (565, 0)


def test_provenance_recorded(real_build) -> None:
    settings, _ = real_build
    rows = query(
        settings,
        "SELECT kind, vintage, sha256 FROM raw.source_file WHERE role = 'primary' ORDER BY 1, 2",
    )
    kinds = {(kind, vintage) for kind, vintage, _ in rows}
    assert {("simd_withinds", "2016"), ("simd_withinds", "2020v2"), ("dz_lookup", "")} <= kinds
    manifest = (settings.source_dir / "MANIFEST.md").read_text(encoding="utf-8")
    # Every primary file's checksum is the one the MANIFEST publishes for it.
    for kind, _, sha in rows:
        if kind.startswith(("simd_withinds", "dz_lookup")):
            assert sha in manifest


def test_rebuild_is_identical(real_build) -> None:
    settings, _ = real_build
    tables = ["fct_simd", "fct_indicator", "dim_datazone", "dim_ward", "geo_datazone"]
    before = {table: table_digest(settings, table) for table in tables}
    build(settings, "refresh_statistics")
    after = {table: table_digest(settings, table) for table in tables}
    assert before == after
