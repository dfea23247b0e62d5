"""Shared plumbing for assets: write a frame or run a model, and describe the result.

What belongs here: the one way every asset turns a table into Dagster metadata (row
count, column schema, table name, Markdown preview), so the UI reads the same everywhere.
No domain logic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from profiles import warehouse

OWNERS = ["team:community-planning-analysts"]
"""Who answers for the assets in the UI (Dagster owners: e-mail addresses or team:<name>)."""

DUCKDB_POOL = "duckdb_writer"
"""Every asset that writes the warehouse is in this pool; dagster.yaml limits it to 1."""


def _column_schema(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dg.TableSchema:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return dg.TableSchema(columns=[dg.TableColumn(name=n, type=t) for n, t in rows])


def table_metadata(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    *,
    preview_sql: str | None = None,
    preview_params: Sequence[Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Readable metadata for a warehouse table: row count, schema, a 10-row preview."""
    qualified = f"{schema}.{table}"
    preview = warehouse.query_frame(
        con, preview_sql or f"SELECT * FROM {qualified} LIMIT 10", preview_params
    )
    if "geometry_wkb" in preview.columns:
        preview = preview.drop(columns=["geometry_wkb"])
    metadata: dict[str, Any] = {
        "dagster/row_count": warehouse.table_row_count(con, schema, table),
        "dagster/table_name": f"warehouse.{qualified}",
        "dagster/column_schema": _column_schema(con, schema, table),
        "preview": dg.MetadataValue.md(warehouse.preview_markdown(preview)),
    }
    if extra:
        metadata.update(extra)
    return metadata


def write_frame(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    frame: pd.DataFrame,
    *,
    order_by: Sequence[str],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Replace the table with `frame` and return its metadata."""
    warehouse.replace_table(con, schema, table, frame, order_by=order_by)
    return table_metadata(con, schema, table, extra=extra)


def check_result(
    passed: bool,
    description: str,
    *,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    failures: pd.DataFrame | None = None,
    asset_key: dg.AssetKey | None = None,
    **extra: Any,
) -> dg.AssetCheckResult:
    """An asset check result with the failing rows (up to 20) as a Markdown table."""
    metadata: dict[str, Any] = {"description": description, **extra}
    if failures is not None:
        metadata["failing_rows"] = len(failures)
        if len(failures):
            metadata["examples"] = dg.MetadataValue.md(warehouse.preview_markdown(failures, 20))
    return dg.AssetCheckResult(
        passed=bool(passed), severity=severity, metadata=metadata, asset_key=asset_key
    )
