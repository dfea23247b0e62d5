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
