"""End to end on the real published files in ../shared/data/real, through Dagster.

The facts asserted are the MANIFEST's verified ones (6,976 data zones, Dundee's 188 data
zones in 8 wards, SIMD 2020v2's most deprived data zone, population totals).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline_helpers import (
    build,
    check_evaluations,
    failed_checks,
    query,
    settings_for,
    table_digest,
)

pytestmark = pytest.mark.slow

DUNDEE = "S12000042"


@pytest.fixture(scope="module")
def real_build(real_data: Path, tmp_path_factory: pytest.TempPathFactory):
    settings = settings_for(
        tmp_path_factory.mktemp("real"), source_mode="folder", source_dir=real_data
    )
    result = build(settings)
    return settings, result


def test_error_checks_pass_and_warnings_are_the_known_ones(real_build) -> None:
    settings, result = real_build
    assert len(check_evaluations(result)) >= 15
    assert failed_checks(result, "ERROR") == []
    # Real, documented source properties surface as warnings, not silence: best-fit wards
    # that differ from the (coarse) ward polygons, and Census-2011 counts above later
    # populations in a few data zones.
    assert failed_checks(result, "WARN") == [
        "marts/dz_ward_crosscheck:dz_ward_crosscheck_agrees",
        "marts/fct_indicator:fct_indicator_numerator_within_denominator",
    ]
    ((dundee_disagree,),) = query(
        settings,
        "SELECT count(*) FILTER (NOT agrees) FROM marts.dz_ward_crosscheck WHERE council_code = ?",
        [DUNDEE],
    )
    assert dundee_disagree == 7  # MANIFEST: 181 of 188 representative points agree


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
    ((dz, iz, wards),) = query(
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
        "S13002545": 26,
        "S13002546": 25,
        "S13002547": 22,
        "S13002548": 23,
        "S13002549": 22,
        "S13002551": 22,
        "S13002552": 25,
        "S13002830": 23,
    }


def test_dundee_simd_headlines(real_build) -> None:
    settings, _ = real_build
    ((quintile1, decile1, most_deprived),) = query(
        settings,
        """
        SELECT count(*) FILTER (quintile = 1), count(*) FILTER (decile = 1), arg_min(dz_code, rank)
        FROM fct_simd JOIN dim_datazone USING (dz_code)
        WHERE vintage = '2020v2' AND domain = 'overall' AND council_code = ?
        """,
        [DUNDEE],
    )
    assert (quintile1, decile1, most_deprived) == (70, 45, "S01007801")
    ((scotland_first,),) = query(
        settings,
        "SELECT dz_code FROM fct_simd WHERE vintage = '2020v2' AND domain = 'overall' AND rank = 1",
    )
    assert scotland_first == "S01010891"


def test_suppressed_cells_are_not_zero(real_build) -> None:
    settings, _ = real_build
    ((suppressed, with_value),) = query(
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
    tables = [
        "fct_simd",
        "fct_indicator",
        "dim_datazone",
        "dim_ward",
        "geo_datazone",
        "locality_profile",
        "locality_inequality",
    ]
    before = {table: table_digest(settings, table) for table in tables}
    build(settings)
    after = {table: table_digest(settings, table) for table in tables}
    assert before == after


def test_dundee_profile_reproduces_simd_headlines(real_build) -> None:
    settings, _ = real_build
    measures = dict(
        query(
            settings,
            "SELECT measure_id, value FROM locality_profile WHERE council_code = ? "
            "AND locality_id = ? AND vintage = '2020v2' AND measure_id LIKE 'simd_overall_%_20'",
            [DUNDEE, DUNDEE],
        )
    )
    assert measures["simd_overall_dz_count_most_deprived_20"] == 70
    assert measures["simd_overall_dz_share_most_deprived_20"] == pytest.approx(70 / 188)
    assert measures["simd_overall_pop_count_most_deprived_20"] == 54_497
    assert measures["simd_overall_pop_share_most_deprived_20"] == pytest.approx(54_497 / 148_710)
    assert measures["simd_overall_national_share_most_deprived_20"] == pytest.approx(70 / 1395)
    ((most_deprived,),) = query(
        settings,
        "SELECT dz_code FROM locality_most_deprived_dz WHERE locality_id = ? "
        "AND vintage = '2020v2' AND position = 1",
        [DUNDEE],
    )
    assert most_deprived == "S01007801"
    ((q1_2016,),) = query(
        settings,
        "SELECT value FROM locality_profile WHERE locality_id = ? AND vintage = '2016' "
        "AND measure_id = 'simd_overall_dz_count_most_deprived_20'",
        [DUNDEE],
    )
    assert q1_2016 == 69


def test_all_eight_lcpps_have_complete_rows(real_build) -> None:
    settings, _ = real_build
    rows = query(
        settings,
        "SELECT l.locality_name, count(DISTINCT p.measure_id), "
        "max(p.value) FILTER (p.measure_id = 'simd_overall_dz_count_most_deprived_20' "
        "AND p.vintage = '2020v2') "
        "FROM dim_locality AS l JOIN locality_profile AS p USING (council_code, locality_id) "
        "WHERE l.council_code = ? GROUP BY 1 ORDER BY 1",
        [DUNDEE],
    )
    names = [name for name, _, _ in rows]
    assert names == sorted(
        [
            "Strathmartine",
            "Lochee",
            "West End",
            "Coldside",
            "Maryfield",
            "North East",
            "East End",
            "The Ferry",
        ]
    )
    assert len({count for _, count, _ in rows}) == 1  # every LCPP has the same measures
    quintile1 = {name: q1 for name, _, q1 in rows}
    assert quintile1 == {
        "East End": 15,
        "Coldside": 14,
        "Lochee": 12,
        "Strathmartine": 10,
        "Maryfield": 8,
        "North East": 8,
        "West End": 3,
        "The Ferry": 0,
    }


def test_rates_come_from_numerators_with_intervals(real_build) -> None:
    settings, _ = real_build
    ((value, lower, upper, numerator, denominator, vs_scotland),) = query(
        settings,
        "SELECT value, lower_ci, upper_ci, numerator, denominator, vs_scotland "
        "FROM locality_profile WHERE locality_id = ? AND vintage = '2020v2' "
        "AND measure_id = 'income_rate'",
        [DUNDEE],
    )
    assert value == pytest.approx(numerator / denominator)
    assert lower < value < upper
    assert vs_scotland == "worse"
    # No numerator, no interval: standardised ratios are labelled, not dressed up.
    ((label, lower, vs),) = query(
        settings,
        "SELECT measure_label, lower_ci, vs_scotland FROM locality_profile "
        "WHERE locality_id = 'east-end' AND vintage = '2020v2' AND measure_id = 'smr'",
    )
    assert "no interval" in label and lower is None and vs == "not_compared"


def test_change_between_vintages_is_in_shares(real_build) -> None:
    settings, _ = real_build
    ((change,),) = query(
        settings,
        "SELECT value FROM locality_profile WHERE locality_id = ? "
        "AND vintage = '2016_to_2020v2' "
        "AND measure_id = 'simd_overall_dz_share_most_deprived_20_change'",
        [DUNDEE],
    )
    assert change == pytest.approx(70 / 188 - 69 / 188)
    ((rank_measures,),) = query(
        settings, "SELECT count(*) FROM locality_profile WHERE measure_id LIKE '%rank%'"
    )
    assert rank_measures == 0


def test_other_councils_build_without_code_changes(real_data: Path, tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path, source_mode="folder", source_dir=real_data, council="Highland"
    )
    result = build(settings)
    assert failed_checks(result, "ERROR") == []
    rows = query(settings, "SELECT DISTINCT council_code, definition_version FROM dim_locality")
    assert rows == [("S12000017", "default-one-per-ward")]
    ((wards, localities),) = query(
        settings,
        "SELECT (SELECT count(*) FROM dim_ward WHERE council_code = 'S12000017'), "
        "(SELECT count(*) FROM dim_locality)",
    )
    assert localities == wards > 0
    # National tables stay whole when the locality outputs are limited to one council.
    assert query(settings, "SELECT count(*) FROM dim_datazone")[0][0] == 6976


def test_dundee_with_a_survey_ranks_all_eight_lcpps_and_builds_packs(
    real_build, tmp_path: Path
) -> None:
    """Real statistics plus a (synthetic, area-placed) Place Standard survey for Dundee:
    every LCPP gets need, voice and strategic scores, a category, a rank interval, and a pack.
    """
    import datetime
    import shutil

    import dagster as dg

    from pipelines.runner import ingest_file, write_council_survey

    settings, _ = real_build
    copy = settings.with_(
        warehouse=tmp_path / "warehouse.duckdb",
        archive_dir=tmp_path / "archive",
        outputs_dir=tmp_path / "outputs",
    )
    shutil.copyfile(settings.warehouse, copy.warehouse)
    survey = write_council_survey(
        copy,
        DUNDEE,
        tmp_path / "survey",
        n_responses=1500,
        seed=11,
        reference_date=datetime.date(2026, 10, 31),
    )
    with dg.DagsterInstance.ephemeral() as instance:
        _, accounting, runs = ingest_file(copy, instance, survey, council="Dundee City")
    assert [check for run in runs for check in run.failed_checks] == []
    assert accounting["rows_in"] == accounting["rows_loaded"] + accounting["rows_quarantined"]
    rows = query(
        copy,
        "SELECT l.locality_name, count(*) FILTER (r.rank IS NOT NULL), "
        "count(*) FILTER (r.need_score IS NOT NULL AND r.voice_score IS NOT NULL "
        "AND r.strategic_score IS NOT NULL), count(DISTINCT r.agreement), "
        "bool_and(r.rank IS NULL OR r.rank BETWEEN r.rank_low AND r.rank_high) "
        "FROM priority_ranking AS r JOIN dim_locality AS l USING (council_code, locality_id) "
        "WHERE r.council_code = ? GROUP BY 1 ORDER BY 1",
        [DUNDEE],
    )
    assert len(rows) == 8
    for name, ranked, complete, categories, inside in rows:
        assert ranked >= 8 and complete >= 6 and categories >= 1 and inside, name
    packs = query(
        copy,
        "SELECT count(*) FILTER (path LIKE '%/localities/%.xlsx'), "
        "count(*) FILTER (path LIKE '%/localities/%.html') FROM exports.profile_packs "
        "WHERE council_code = ?",
        [DUNDEE],
    )
    assert packs == [(8, 8)]
