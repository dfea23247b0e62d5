"""The DuckDB warehouse: connections, atomic table writes and SQL models.

What belongs here: everything that touches the DuckDB file — opening it late and closing
it early, waiting politely for another process's lock, replacing a table atomically and
deterministically, and running the one-statement models in `sql/` with bound parameters.
Nothing here knows about Dagster; the assets call these functions.

Layers are schemas: `raw` (provenance of what was read), `staging` (parsed, typed,
one table per source shape), `marts` (the published data contract). `profiles sql` puts
`marts` first on the search path so contract tables answer to their bare names.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from profiles.errors import ProfilesError
from profiles.settings import SQL_DIR

SCHEMAS = ("raw", "staging", "marts")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_LOCK_MESSAGES = ("could not set lock", "conflicting lock", "database is locked")


class WarehouseLockedError(ProfilesError):
    """Another process held the warehouse's write lock for longer than we were willing to wait."""


def _is_lock_error(error: Exception) -> bool:
    text = str(error).lower()
    return any(message in text for message in _LOCK_MESSAGES)


def _checked_identifier(name: str) -> str:
    # Identifiers cannot be bound as parameters, so they are validated instead.
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return name


@contextmanager
def connect(
    path: str | Path,
    *,
    read_only: bool = False,
    lock_timeout_s: float = 120.0,
    search_path: Sequence[str] = ("marts", "staging", "raw", "main"),
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse, waiting (with jittered backoff) while another process holds its lock.

    The connection is always closed on exit. A read-only connection to a file that does not
    exist yet is an error rather than an empty database.
    """
    db_path = Path(path)
    if read_only and not db_path.exists():
        raise ProfilesError(f"{db_path}: no warehouse here yet (run `profiles demo` or `build`)")
    if not read_only:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + lock_timeout_s
    delay = 0.05
    while True:
        try:
            con = duckdb.connect(str(db_path), read_only=read_only)
            break
        except (duckdb.IOException, duckdb.ConnectionException) as error:
            if not _is_lock_error(error) or time.monotonic() >= deadline:
                if _is_lock_error(error):
                    raise WarehouseLockedError(
                        f"{db_path}: still locked by another process after {lock_timeout_s:.0f} s"
                    ) from error
                raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 2.0)
    try:
        # A missing table must be an error, never a Python variable of the same name.
        con.execute("SET python_enable_replacements = false")
        if not read_only:
            for schema in SCHEMAS:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        existing = {
            row[0]
            for row in con.execute(
                "SELECT schema_name FROM information_schema.schemata "
                "WHERE catalog_name = current_database()"
            ).fetchall()
        }
        path_schemas = [s for s in search_path if s in existing]
        if path_schemas:
            con.execute(f"SET search_path = '{','.join(path_schemas)}'")
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN … COMMIT, or ROLLBACK and re-raise: readers never see half a change."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _scan_ready(frame: pd.DataFrame, *, text_for_mixed: bool = False) -> pd.DataFrame:
    """`frame` with its text columns in the form DuckDB scans fastest, typed as before.

    DuckDB reads pandas' Python-backed `string` columns about four times slower than plain
    object columns of str (it asks pandas for the missing-value mask value by value), which
    at two million rows was a second per table. So `string` columns with at least one value
    go as object columns; all-missing ones stay `string`, which DuckDB still types VARCHAR
    (an all-missing object column would be INTEGER). With `text_for_mixed`, as partitioned
    tables need, object columns become text: all-missing ones `string`, and ones holding
    anything but str (numbers beside text) their text.
    """
    converted = {}
    for name, column in frame.items():
        if isinstance(column.dtype, pd.StringDtype):
            if column.notna().any():
                converted[name] = column.astype(object)
        elif column.dtype == object and text_for_mixed:
            kind = pd.api.types.infer_dtype(column, skipna=True)
            if kind == "empty":
                converted[name] = column.astype("string")
            elif kind != "string":
                converted[name] = column.astype("string").astype(object)
    return frame.assign(**converted) if converted else frame


def replace_table(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    frame: pd.DataFrame,
    *,
    order_by: Sequence[str] = (),
) -> int:
    """Replace `schema.table` with `frame` in one transaction; returns the row count.

    Rows are written in `order_by` order so that re-materializing gives identical tables.
    Readers see either the old table or the new one, never a half-written one.
    """
    qualified = qualified_name(schema, table)
    order = ", ".join(f'"{_checked_identifier(c)}"' for c in order_by)
    con.register("_incoming_frame", _scan_ready(frame))
    try:
        with transaction(con):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {_checked_identifier(schema)}")
            con.execute(
                f"CREATE OR REPLACE TABLE {qualified} AS SELECT * FROM _incoming_frame"
                + (f" ORDER BY {order}" if order else "")
            )
    finally:
        con.unregister("_incoming_frame")
    return table_row_count(con, schema, table)


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    frame: pd.DataFrame,
    *,
    key_column: str,
    key_value: str,
    order_by: Sequence[str] = (),
) -> int:
    """Replace the rows of one partition (`key_column = key_value`) in one transaction.

    Used by partitioned assets (one survey = one partition): other partitions' rows are
    untouched, and re-running a partition gives the same rows. Text columns are stored as
    VARCHAR even when a partition's frame is empty or all-missing, so later partitions fit.
    Returns the partition's row count.
    """
    qualified = qualified_name(schema, table)
    key = _checked_identifier(key_column)
    incoming = _scan_ready(frame, text_for_mixed=True)
    order = ", ".join(f'"{_checked_identifier(c)}"' for c in order_by)
    con.register("_incoming_rows", incoming)
    try:
        with transaction(con):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {_checked_identifier(schema)}")
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {qualified} AS SELECT * FROM _incoming_rows LIMIT 0"
            )
            con.execute(f'DELETE FROM {qualified} WHERE "{key}" = ?', [key_value])
            con.execute(
                f"INSERT INTO {qualified} BY NAME SELECT * FROM _incoming_rows"
                + (f" ORDER BY {order}" if order else "")
            )
    finally:
        con.unregister("_incoming_rows")
    return int(
        con.execute(f'SELECT count(*) FROM {qualified} WHERE "{key}" = ?', [key_value]).fetchone()[
            0
        ]
    )


def checked_identifier(name: str) -> str:
    """`name` if it is a plain SQL identifier (for column and table names in SQL text)."""
    return _checked_identifier(name)


def qualified_name(schema: str, table: str) -> str:
    """`schema.table`, each part checked to be a plain identifier."""
    return f"{_checked_identifier(schema)}.{_checked_identifier(table)}"


def replace_keys(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    frame: pd.DataFrame,
    *,
    key_column: str,
    keys: Sequence[str] | None,
    order_by: Sequence[str] = (),
) -> int:
    """Replace the rows of `keys` (all rows when `keys` is None) with `frame`'s rows.

    Unlike `replace_rows` it opens no transaction: call it inside `transaction(con)` with
    the other tables of the same build, so readers see all of them change at once. The
    table is rewritten in `order_by` order, so an incremental build leaves the same table a
    full build would. Returns the table's row count.
    """
    qualified = qualified_name(schema, table)
    key = _checked_identifier(key_column)
    order = ", ".join(f'"{_checked_identifier(c)}"' for c in order_by)
    ordering = f" ORDER BY {order}" if order else ""
    con.register("_incoming_keyed", _scan_ready(frame))
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_checked_identifier(schema)}")
        if keys is None or not table_exists(con, schema, table):
            con.execute(
                f"CREATE OR REPLACE TABLE {qualified} AS SELECT * FROM _incoming_keyed{ordering}"
            )
        else:
            # DuckDB widens each column to fit both the stored and the new rows (an
            # all-missing column stored as INTEGER takes new text as VARCHAR), except that
            # a column missing throughout the new rows takes the stored type: a few keys'
            # empty column must not turn a DOUBLE column into VARCHAR.
            stored = {row[0]: row[1] for row in con.execute(f"DESCRIBE {qualified}").fetchall()}
            unknown = sorted(set(frame.columns) - set(stored))
            if unknown:
                raise ProfilesError(
                    f"{qualified}: new rows have columns the table lacks ({', '.join(unknown)});"
                    " rebuild it whole"
                )
            selected = ", ".join(
                f'CAST("{_checked_identifier(name)}" AS {stored[name]}) AS "{name}"'
                if frame[name].isna().all()
                else f'"{_checked_identifier(name)}"'
                for name in frame.columns
            )
            con.execute(
                f"CREATE OR REPLACE TABLE {qualified} AS SELECT * FROM ("
                f"SELECT * FROM {qualified} WHERE NOT coalesce("
                f'CAST("{key}" AS VARCHAR) IN (SELECT unnest(?::VARCHAR[])), false) '
                f"UNION ALL BY NAME SELECT {selected} FROM _incoming_keyed){ordering}",
                [list(keys)],
            )
    finally:
        con.unregister("_incoming_keyed")
    return table_row_count(con, schema, table)


def rows_for_keys(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    key_column: str,
    keys: Sequence[str] | None,
) -> pd.DataFrame:
    """The rows of `keys` (all rows when `keys` is None), the read side of `replace_keys`.

    Keys are compared as text, as there: before the first survey the voice tables are
    empty and their untyped columns INTEGER. Rows come in the table's order: a filter, not
    `IN (SELECT unnest(…))`, whose parallel semi-join returned them in a different order
    from one read to the next (and was slower).
    """
    qualified = qualified_name(schema, table)
    if keys is None:
        return con.execute(f"SELECT * FROM {qualified}").fetchdf()
    key = _checked_identifier(key_column)
    return con.execute(
        f'SELECT * FROM {qualified} WHERE list_contains(?::VARCHAR[], CAST("{key}" AS VARCHAR))',
        [list(keys)],
    ).fetchdf()


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
            "AND table_name = ? AND table_catalog = current_database()",
            [schema, table],
        ).fetchone()[0]
    )


def table_row_count(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> int:
    qualified = qualified_name(schema, table)
    return int(con.execute(f"SELECT count(*) FROM {qualified}").fetchone()[0])


def model_sql(name: str, sql_dir: Path = SQL_DIR) -> str:
    """The text of SQL model `sql/<name>.sql`."""
    path = sql_dir / f"{_checked_identifier(name)}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"no SQL model {path}")
    return path.read_text(encoding="utf-8")


def run_model(
    con: duckdb.DuckDBPyConnection,
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    sql_dir: Path = SQL_DIR,
) -> None:
    """Run model `sql/<name>.sql` (one statement, usually CREATE OR REPLACE TABLE … AS SELECT)
    inside a transaction, with `$param` placeholders bound from `params`."""
    sql = model_sql(name, sql_dir)
    with transaction(con):
        con.execute(sql, dict(params) if params else None)


def query_frame(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: Mapping[str, Any] | Sequence[Any] | None = None,
) -> pd.DataFrame:
    return con.execute(sql, params or []).fetchdf()


def preview_markdown(frame: pd.DataFrame, rows: int = 10) -> str:
    """A small Markdown table for asset metadata (never more than `rows` rows)."""
    head = frame.head(rows)
    if head.empty:
        return "_(no rows)_"
    return head.to_markdown(index=False)
