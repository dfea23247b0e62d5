"""Helpers for tests that build the warehouse through Dagster."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.definitions import build_definitions
from profiles.settings import Settings


def settings_for(tmp: Path, **changes: object) -> Settings:
    """Settings that keep every file of a test build under `tmp`."""
    base = Settings(
        warehouse=tmp / "warehouse.duckdb",
        cache_dir=tmp / "cache",
        demo_dir=tmp / "demo",
        outputs_dir=tmp / "outputs",
        inbox_dir=tmp / "inbox",
        archive_dir=tmp / "archive",
    )
    return base.with_(**changes)


def build(settings: Settings, job: str = "build_all") -> dg.ExecuteInProcessResult:
    """Run a job of the code location in an ephemeral instance; fail loudly on error."""
    definitions = build_definitions(settings)
    result = definitions.resolve_job_def(job).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=True
    )
    assert result.success
    return result


def check_evaluations(result: dg.ExecuteInProcessResult) -> dict[str, tuple[bool, str]]:
    """`{"asset:check": (passed, severity)}` for every check evaluated in the run."""
    outcomes = {}
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            key = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            outcomes[key] = (evaluation.passed, evaluation.severity.value)
    return outcomes


def failed_checks(result: dg.ExecuteInProcessResult, severity: str = "ERROR") -> list[str]:
    return sorted(
        key
        for key, (passed, level) in check_evaluations(result).items()
        if not passed and level == severity
    )


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    """Read-only query with contract tables reachable by bare name, as `profiles sql` does."""
    from profiles import warehouse

    with warehouse.connect(settings.warehouse, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def table_digest(settings: Settings, table: str) -> str:
    """An order-sensitive digest of a whole table, to compare two builds."""
    from profiles import warehouse

    with warehouse.connect(settings.warehouse, read_only=True) as con:
        frame = con.execute(f"SELECT * FROM {table}").fetchdf()
    import hashlib

    import pandas as pd

    return hashlib.sha256(
        pd.util.hash_pandas_object(frame.astype(str), index=True).to_numpy().tobytes()
    ).hexdigest()
