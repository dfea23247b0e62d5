"""A factory for assets that are one SQL model in `sql/`.

What belongs here: `sql_model_asset`, which turns `sql/<name>.sql` into a Dagster asset that
runs the model with bound parameters and reports table metadata. Assets with Python logic
are written out in their own modules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import dagster as dg

from assets._io import DUCKDB_POOL, OWNERS, table_metadata
from pipelines.resources import SourcesResource, WarehouseResource
from profiles import warehouse as wh

ParamsFn = Callable[[SourcesResource], Mapping[str, Any]]


def sql_model_asset(
    name: str,
    *,
    group: str,
    description: str,
    deps: Sequence[dg.AssetsDefinition | dg.AssetKey | Sequence[str]],
    params: ParamsFn | None = None,
    schema: str = "marts",
    preview_sql: str | None = None,
) -> dg.AssetsDefinition:
    """An asset `schema.name` built by running `sql/<name>.sql`."""

    @dg.asset(
        key_prefix=[schema],
        name=name,
        group_name=group,
        owners=OWNERS,
        deps=list(deps),
        pool=DUCKDB_POOL,
        tags={"dagster/kind/duckdb": "", "dagster/kind/sql": ""},
        description=description,
    )
    def _model(warehouse: WarehouseResource, sources: SourcesResource) -> dg.MaterializeResult:
        bound = dict(params(sources)) if params else None
        with warehouse.connect() as con:
            wh.run_model(con, name, bound)
            metadata = table_metadata(con, schema, name, preview_sql=preview_sql)
        metadata["sql_model"] = dg.MetadataValue.path(f"sql/{name}.sql")
        return dg.MaterializeResult(metadata=metadata)

    return _model
