"""Incremental rebuilds: a new export recomputes only its own survey's voice marts and its
own council's rankings, and leaves every table exactly as a full rebuild would."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from pipelines.runner import execute, ingest_file, write_council_survey
from profiles import incremental
from profiles import warehouse as wh
from tests.pipeline_helpers import query

INCREMENTAL_TABLES = (
    "marts.voice_response",
    "marts.voice_theme_summary",
    "marts.engagement_reach",
    "marts.voice_emergent_topics",
    "marts.priority_ranking",
    "marts.triangulation_matrix",
)


def _tables(settings) -> dict[str, pd.DataFrame]:
    with wh.connect(settings.warehouse, read_only=True) as con:
        return {
            table: con.execute(f"SELECT * FROM {table}").fetchdf() for table in INCREMENTAL_TABLES
        }


def _build_metadata(instance: dg.DagsterInstance, key: list[str]) -> dict[str, object]:
    event = instance.get_latest_materialization_event(dg.AssetKey(key))
    assert event is not None and event.asset_materialization is not None
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


@pytest.mark.slow
def test_a_new_export_recomputes_only_its_survey_and_council(demo_build, tmp_path: Path) -> None:
    settings, _ = demo_build
    copy = settings.with_(
        warehouse=tmp_path / "warehouse.duckdb",
        archive_dir=tmp_path / "archive",
        inbox_dir=tmp_path / "inbox",
        outputs_dir=tmp_path / "outputs",
    )
    shutil.copyfile(settings.warehouse, copy.warehouse)
    (council, surveyed), (other, _) = query(
        copy,
        "SELECT d.council_code, count(DISTINCT r.survey_id) FROM marts.dim_locality AS d "
        "LEFT JOIN marts.voice_response AS r USING (council_code) GROUP BY 1 ORDER BY 2 DESC, 1",
    )[:2]
    assert surveyed == 1 and other != council
    councils = len(query(copy, "SELECT DISTINCT council_code FROM marts.dim_locality"))
    before = _tables(copy)

    # A second council's first export, through the same path as the inbox sensor.
    export = write_council_survey(
        copy,
        other,
        tmp_path / "export",
        n_responses=600,
        seed=7,
        reference_date=date(2026, 10, 31),
    )
    with dg.DagsterInstance.ephemeral() as instance:
        ingest_file(copy, instance, export, council=other)
        voice = _build_metadata(instance, ["marts", "voice_theme_summary"])
        ranking = _build_metadata(instance, ["marts", "priority_ranking"])
        topics = _build_metadata(instance, ["marts", "voice_emergent_topics"])
    assert voice["rebuild"] == "incremental"
    assert (topics["surveys_recomputed"], topics["surveys_kept"]) == (1, 1)
    assert (voice["surveys_recomputed"], voice["surveys_kept"]) == (1, 1)
    assert ranking["rebuild"] == "incremental"
    assert (ranking["councils_recomputed"], ranking["councils_kept"]) == (1, councils - 1)
    after = _tables(copy)
    # Rows of the earlier survey, and of every other council, are untouched.
    for table in INCREMENTAL_TABLES:
        key, new_key = (
            ("council_code", other)
            if table.endswith(("priority_ranking", "triangulation_matrix"))
            else ("survey_id", None)
        )
        if new_key is None:
            kept = after[table][after[table][key].isin(before[table][key].unique())]
            old = before[table]
        else:
            kept = after[table][after[table][key] != new_key]
            old = before[table][before[table][key] != new_key]
        pd.testing.assert_frame_equal(kept.reset_index(drop=True), old.reset_index(drop=True))
    assert (after["marts.priority_ranking"]["council_code"] == other).any()

    # Forget what was built: the full rebuild gives the very same tables.
    with wh.connect(copy.warehouse) as con:
        con.execute(f"DROP TABLE {incremental.STATE_SCHEMA}.{incremental.STATE_TABLE}")
    with dg.DagsterInstance.ephemeral() as instance:
        execute(copy.with_(council=other), "build_packs", instance)
        assert _build_metadata(instance, ["marts", "priority_ranking"])["rebuild"] == "full"
    full = _tables(copy)
    for table in INCREMENTAL_TABLES:
        pd.testing.assert_frame_equal(full[table], after[table], check_dtype=True)

    # Nothing changed since: nothing is recomputed, and nothing moves.
    with dg.DagsterInstance.ephemeral() as instance:
        execute(copy.with_(council=other), "build_packs", instance)
        voice = _build_metadata(instance, ["marts", "voice_theme_summary"])
        ranking = _build_metadata(instance, ["marts", "priority_ranking"])
    assert (voice["rebuild"], voice["surveys_recomputed"], voice["surveys_kept"]) == (
        "incremental",
        0,
        2,
    )
    assert (ranking["councils_recomputed"], ranking["councils_kept"]) == (0, councils)
    again = _tables(copy)
    for table in INCREMENTAL_TABLES:
        pd.testing.assert_frame_equal(again[table], after[table], check_dtype=True)


def test_rebuild_plan_recomputes_changed_and_new_keys_and_drops_gone_ones() -> None:
    stored = {"a": "1", "b": "2", "c": "3"}
    plan = incremental.plan_rebuild({"a": "1", "b": "9", "d": "4"}, stored, outputs_exist=True)
    assert plan.recompute == ("b", "d") and plan.drop == ("c",) and plan.keep == ("a",)
    assert plan.changed == ("b", "c", "d") and not plan.full
    assert incremental.plan_rebuild({"a": "1"}, {}, outputs_exist=True).full
    assert incremental.plan_rebuild({"a": "1"}, {"a": "1"}, outputs_exist=False).full


def test_fingerprints_follow_the_rows_not_their_order(tmp_path: Path) -> None:
    with wh.connect(tmp_path / "w.duckdb") as con:
        con.execute("CREATE SCHEMA s")
        con.execute(
            "CREATE TABLE s.t AS SELECT * FROM (VALUES ('s1', 1.5), ('s1', 2.0), ('s2', 3.0)) "
            "v(k, x)"
        )
        first = incremental.keyed_fingerprints(con, "SELECT k AS key, * FROM s.t")
        whole = incremental.table_fingerprint(con, "s", "t")
        assert not whole.endswith("absent") and set(first) == {"s1", "s2"}
        con.execute("CREATE OR REPLACE TABLE s.t AS SELECT * FROM s.t ORDER BY x DESC")
        assert incremental.keyed_fingerprints(con, "SELECT k AS key, * FROM s.t") == first
        assert incremental.table_fingerprint(con, "s", "t") == whole
        con.execute("UPDATE s.t SET x = 2.5 WHERE x = 2.0")
        changed = incremental.keyed_fingerprints(con, "SELECT k AS key, * FROM s.t")
        assert changed["s1"] != first["s1"] and changed["s2"] == first["s2"]
        assert incremental.table_fingerprint(con, "s", "t") != whole
        assert incremental.table_fingerprint(con, "s", "missing") == "s.missing:absent"


def _pack_files(manifests) -> dict[str, str]:
    return {item.path: item.sha256 for manifest in manifests for item in manifest.files}


@pytest.mark.slow
def test_packs_built_in_worker_processes_equal_packs_built_in_one(
    demo_build, tmp_path: Path
) -> None:
    from profiles.exports.batch import build_packs

    settings, _ = demo_build
    councils = [
        row[0]
        for row in query(
            settings, "SELECT DISTINCT council_code FROM marts.dim_locality ORDER BY 1"
        )
    ][:2]
    assert len(councils) == 2
    in_process = build_packs(
        settings.warehouse,
        councils,
        tmp_path / "one",
        config_dir=settings.config_dir,
        workers=1,
    )
    in_workers = build_packs(
        settings.warehouse,
        councils,
        tmp_path / "two",
        config_dir=settings.config_dir,
        workers=2,
        sizes={councils[1]: 10},
    )
    assert [m.council_code for m in in_workers] == councils  # the order asked for
    assert _pack_files(in_workers) == _pack_files(in_process)
    assert all((tmp_path / "two" / path).exists() for path in _pack_files(in_workers))
    # One council with its localities shared among the workers.
    (split,) = build_packs(
        settings.warehouse,
        councils[:1],
        tmp_path / "split",
        config_dir=settings.config_dir,
        workers=2,
        sizes={councils[0]: 2},
        min_split_localities=2,
    )
    assert _pack_files([split]) == _pack_files(in_process[:1])
    assert not list((tmp_path / "split").glob(".*"))  # no staging folder left behind


@pytest.mark.slow
def test_councils_ranked_in_worker_processes_equal_councils_ranked_in_one(demo_build) -> None:
    """Each worker reads its councils' rows itself; the rankings are those of one process."""
    from profiles.triangulate import load_triangulation_config
    from profiles.triangulate.batch import need_profile, rank_councils

    settings, _ = demo_build
    councils = [
        row[0]
        for row in query(
            settings, "SELECT DISTINCT council_code FROM marts.dim_locality ORDER BY 1"
        )
    ]
    surveyed = {row[0] for row in query(settings, "SELECT council_code FROM marts.voice_response")}
    assert len(councils) >= 2 and surveyed & set(councils)  # a council with a survey among them
    configs = [load_triangulation_config(settings.config_dir, code) for code in councils]
    with wh.connect(settings.warehouse, read_only=True) as con:
        profile = need_profile(con, configs)
    here = rank_councils(settings.warehouse, configs, profile, workers=1)
    there = rank_councils(
        settings.warehouse, configs, profile, workers=2, sizes={councils[-1]: 1}, min_councils=1
    )
    assert sum(len(ranking) for ranking, _ in here) > 0
    for (ranking, matrix), (ranking_w, matrix_w) in zip(here, there, strict=True):
        pd.testing.assert_frame_equal(ranking, ranking_w)
        pd.testing.assert_frame_equal(matrix, matrix_w)
    # And they are the rankings the pipeline wrote.
    with wh.connect(settings.warehouse, read_only=True) as con:
        stored = con.execute(
            "SELECT council_code, locality_id, priority_theme, rank, priority_score "
            "FROM marts.priority_ranking ORDER BY ALL"
        ).fetchdf()
    columns = ["council_code", "locality_id", "priority_theme", "rank", "priority_score"]
    ranked = pd.concat([ranking[columns] for ranking, _ in here if len(ranking)])
    mine = ranked.sort_values(columns, ignore_index=True)
    pd.testing.assert_frame_equal(mine, stored, check_dtype=False)


@pytest.mark.slow
def test_a_split_pack_that_fails_disclosure_is_not_published(demo_build, tmp_path: Path) -> None:
    """The parent of a split pack reads only the outline; the disclosure check runs in a
    worker and still stops the pack: nothing is published and no staging folder is left."""
    from profiles.exports.batch import build_packs
    from profiles.exports.pack import DisclosureCheckError

    settings, _ = demo_build
    database = tmp_path / "warehouse.duckdb"
    shutil.copyfile(settings.warehouse, database)
    with wh.connect(database) as con:
        council, row = con.execute(
            "SELECT council_code, rowid FROM marts.voice_theme_summary "
            "WHERE area_level = 'locality' AND NOT suppressed AND responses IS NOT NULL "
            "ORDER BY council_code, rowid LIMIT 1"
        ).fetchone()
        # A count of three people made visible: what the pack's last look must refuse.
        con.execute("UPDATE marts.voice_theme_summary SET responses = 3 WHERE rowid = ?", [row])
    out = tmp_path / "packs"
    with pytest.raises(DisclosureCheckError, match=r"theme_summary\.responses: 1 visible"):
        build_packs(
            database,
            [council],
            out,
            config_dir=settings.config_dir,
            workers=2,
            sizes={council: 2},
            min_split_localities=2,
        )
    assert list(out.iterdir()) == []


def test_replacing_keys_keeps_types_and_order(tmp_path: Path) -> None:
    with wh.connect(tmp_path / "w.duckdb") as con:
        first = pd.DataFrame(
            {"k": ["a", "b", "c"], "x": [1.5, 2.5, 3.5], "why": [None, None, None]}
        )
        wh.replace_keys(con, "s", "t", first, key_column="k", keys=None, order_by=("k",))
        assert (
            dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE s.t)").fetchall())["x"]
            == "DOUBLE"
        )
        # b's new rows carry text where the stored column only ever held nulls: widened.
        wh.replace_keys(
            con,
            "s",
            "t",
            pd.DataFrame({"k": ["b", "b"], "x": [9.0, 8.0], "why": ["disclosure", None]}),
            key_column="k",
            keys=["b"],
            order_by=("k", "x"),
        )
        # c's rows are gone and nothing replaces them (an empty, untyped frame).
        wh.replace_keys(
            con,
            "s",
            "t",
            pd.DataFrame({"k": [], "x": [], "why": []}, dtype=object),
            key_column="k",
            keys=["c"],
            order_by=("k", "x"),
        )
        types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE s.t)").fetchall())
        assert types == {"k": "VARCHAR", "x": "DOUBLE", "why": "VARCHAR"}
        assert con.execute("SELECT k, x, why FROM s.t").fetchall() == [
            ("a", 1.5, None),
            ("b", 8.0, None),
            ("b", 9.0, "disclosure"),
        ]


def test_replacing_keys_of_a_table_built_before_any_data(tmp_path: Path) -> None:
    """Before the first survey the voice marts are empty and their untyped columns
    INTEGER: replacing some keys still works, and rows whose key is missing are kept."""
    with wh.connect(tmp_path / "w.duckdb") as con:
        con.execute("CREATE SCHEMA s")
        con.execute("CREATE TABLE s.t AS SELECT NULL::INTEGER AS k, 1.0 AS x")
        wh.replace_keys(
            con,
            "s",
            "t",
            pd.DataFrame({"k": ["a"], "x": [2.0]}),
            key_column="k",
            keys=["a"],
            order_by=("x",),
        )
        assert con.execute("SELECT k, x FROM s.t").fetchall() == [(None, 1.0), ("a", 2.0)]


def test_reading_the_rows_of_some_keys(tmp_path: Path) -> None:
    """`rows_for_keys` reads what `replace_keys` writes, even from an INTEGER key column
    of a table built before any data."""
    with wh.connect(tmp_path / "w.duckdb") as con:
        con.execute("CREATE SCHEMA s")
        con.execute("CREATE TABLE s.empty AS SELECT NULL::INTEGER AS k WHERE false")
        assert wh.rows_for_keys(con, "s", "empty", "k", ["a"]).empty
        con.execute(
            "CREATE TABLE s.t AS SELECT * FROM (VALUES ('a', 1), ('b', 2), ('c', 3)) v(k, x)"
        )
        assert wh.rows_for_keys(con, "s", "t", "k", ["c", "a"]).sort_values("x")["x"].tolist() == [
            1,
            3,
        ]
        assert len(wh.rows_for_keys(con, "s", "t", "k", None)) == 3
        assert wh.rows_for_keys(con, "s", "t", "k", []).empty
        with pytest.raises(ValueError):
            wh.rows_for_keys(con, "s", "t", 'k" OR 1=1 --', ["a"])
