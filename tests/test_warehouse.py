"""How frames become warehouse tables (profiles.warehouse): column types and missing values.

Text columns reach DuckDB as plain object columns (the fast scan) or, when every value is
missing, as pandas strings; either way the table column is VARCHAR and missing values are
NULL, whatever pandas dtype the frame held.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from profiles import warehouse as wh


def _types(con, table: str) -> dict[str, str]:
    return {row[0]: row[1] for row in con.execute(f"DESCRIBE {table}").fetchall()}


def test_text_columns_are_varchar_with_nulls(tmp_path) -> None:
    frame = pd.DataFrame(
        {
            "code": pd.Series(["S01000001", pd.NA, "S01000003"], dtype="string"),
            "name": pd.Series(["Hilltown", np.nan, None], dtype=object),
            "nothing": pd.Series([pd.NA] * 3, dtype="string"),
            "none_at_all": pd.Series([None] * 3, dtype=object),
            "count": [1, 2, 3],
        }
    )
    with wh.connect(tmp_path / "w.duckdb") as con:
        wh.replace_table(con, "staging", "t", frame, order_by=("count",))
        types = _types(con, "staging.t")
        rows = con.execute("SELECT code, name, nothing FROM staging.t ORDER BY count").fetchall()
    assert types["code"] == types["name"] == types["nothing"] == "VARCHAR"
    assert types["count"] == "BIGINT"
    assert rows == [("S01000001", "Hilltown", None), (None, None, None), ("S01000003", None, None)]
    # The caller's frame is not changed.
    assert isinstance(frame["code"].dtype, pd.StringDtype)


def test_partition_rows_store_mixed_objects_as_text(tmp_path) -> None:
    first = pd.DataFrame({"survey_id": ["a", "a"], "answer": pd.Series([None, None], dtype=object)})
    second = pd.DataFrame(
        {"survey_id": ["b", "b", "b"], "answer": pd.Series(["yes", 7, np.nan], dtype=object)}
    )
    with wh.connect(tmp_path / "w.duckdb") as con:
        wh.replace_rows(con, "raw", "r", first, key_column="survey_id", key_value="a")
        # An all-missing first partition still makes a text column the next one fits.
        assert _types(con, "raw.r")["answer"] == "VARCHAR"
        wh.replace_rows(con, "raw", "r", second, key_column="survey_id", key_value="b")
        rows = con.execute(
            "SELECT answer FROM raw.r WHERE survey_id = 'b' ORDER BY rowid"
        ).fetchall()
    assert rows == [("yes",), ("7",), (None,)]


def test_keyed_reads_come_in_table_order(tmp_path) -> None:
    """Several keys' rows, read again and again, come back in the order they were written:
    enough rows for DuckDB to read them in parallel (a semi-join did not keep the order)."""
    rng = np.random.default_rng(11)
    n = 400_000
    frame = pd.DataFrame(
        {
            "survey_id": rng.choice(["a", "b", "c", "d"], size=n),
            "response_id": np.arange(n).astype(str),
            "score": rng.integers(1, 8, size=n),
        }
    )
    with wh.connect(tmp_path / "w.duckdb") as con:
        wh.replace_table(con, "staging", "scores", frame)
        reads = [
            wh.rows_for_keys(con, "staging", "scores", "survey_id", ["b", "d"]) for _ in range(5)
        ]
    expected = frame[frame["survey_id"].isin(["b", "d"])].reset_index(drop=True)
    for read in reads:
        pd.testing.assert_frame_equal(read, expected, check_dtype=False)


def test_voice_frames_load_only_what_is_asked(tmp_path) -> None:
    from profiles.voice.stored import load_voice_frames

    comments = pd.DataFrame(
        {"survey_id": ["s1", "s2"], "response_id": ["1", "2"], "question": ["q", "q"],
         "text_redacted": ["Buses", "Parks"], "redactions": [0, 0]}
    )  # fmt: skip
    codes = pd.DataFrame(
        {"survey_id": ["s1", "s2"], "response_id": ["1", "2"], "question": ["q", "q"],
         "theme_id": ["public_transport", "play_recreation"]}
    )  # fmt: skip
    with wh.connect(tmp_path / "w.duckdb") as con:
        wh.replace_table(con, "staging", "voice_comment", comments)
        wh.replace_table(con, "marts", "voice_comment_code", codes)
        both = load_voice_frames(con, ["s2"], frames=("comments", "codes"))
        everything = load_voice_frames(con, None)
        try:
            load_voice_frames(con, None, frames=("comment",))
        except ValueError as error:
            assert "comment" in str(error)
        else:
            raise AssertionError("an unknown frame name must be refused")
    assert set(both) == {"comments", "codes"}
    assert both["comments"]["text_redacted"].tolist() == ["Parks"]
    assert both["codes"]["theme_id"].tolist() == ["play_recreation"]
    # Without the staged responses and scores, those frames are empty, not missing.
    assert set(everything) == {"responses", "scores", "comments", "codes"}
    assert everything["scores"].empty and len(everything["comments"]) == 2
