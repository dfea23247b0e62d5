"""Dagster resources: the DuckDB warehouse and the place the source files come from.

What belongs here: thin `ConfigurableResource` wrappers over `profiles.settings` and
`profiles.warehouse`, so the same settings drive the UI (from `PROFILES_*` environment
variables) and the CLI (from its flags). Connections are opened late, inside an asset's
body, and closed in `finally` by `profiles.warehouse.connect`; nothing connects at import.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from profiles import warehouse
from profiles.settings import Settings


class WarehouseResource(dg.ConfigurableResource):
    """The embedded DuckDB warehouse file. Every asset that writes it is in the
    `duckdb_writer` concurrency pool (limit 1, see dagster.yaml)."""

    path: str
    lock_timeout_s: float = 120.0

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with warehouse.connect(
            self.path, read_only=read_only, lock_timeout_s=self.lock_timeout_s
        ) as con:
            yield con


class SourcesResource(dg.ConfigurableResource):
    """Where the published source files come from: `demo` (generated Demo City),
    `folder` (a folder of files as published) or `live` (statistics.gov.scot, cached)."""

    mode: str = "demo"
    source_dir: str | None = None
    base_url: str = "https://statistics.gov.scot"
    cache_dir: str
    demo_dir: str
    outputs_dir: str
    inbox_dir: str
    archive_dir: str
    config_dir: str
    council: str | None = None
    offline: bool = False
    simd_n_zones: int | None = None
    pack_workers: int = 1

    def settings(self, warehouse_path: str | Path) -> Settings:
        return Settings(
            warehouse=Path(warehouse_path),
            source_mode=self.mode,
            source_dir=Path(self.source_dir) if self.source_dir else None,
            base_url=self.base_url,
            cache_dir=Path(self.cache_dir),
            demo_dir=Path(self.demo_dir),
            outputs_dir=Path(self.outputs_dir),
            inbox_dir=Path(self.inbox_dir),
            archive_dir=Path(self.archive_dir),
            config_dir=Path(self.config_dir),
            council=self.council,
            offline=self.offline,
            simd_n_zones=self.simd_n_zones,
            pack_workers=self.pack_workers,
        )


def resources_for(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """The resource instances for one set of settings."""
    return {
        "warehouse": WarehouseResource(path=str(settings.warehouse)),
        "sources": SourcesResource(
            mode=settings.source_mode,
            source_dir=str(settings.source_dir) if settings.source_dir else None,
            base_url=settings.base_url,
            cache_dir=str(settings.cache_dir),
            demo_dir=str(settings.demo_dir),
            outputs_dir=str(settings.outputs_dir),
            inbox_dir=str(settings.inbox_dir),
            archive_dir=str(settings.archive_dir),
            config_dir=str(settings.config_dir),
            council=settings.council,
            offline=settings.offline,
            simd_n_zones=settings.simd_n_zones,
            pack_workers=settings.pack_workers,
        ),
    }
