"""Incremental rebuilds of keyed marts: which keys' inputs changed since the last build.

What belongs here: fingerprints of a mart's inputs per key (a survey, a council), computed
by DuckDB from the input rows themselves; the fingerprints stored by the last build
(`meta.build_fingerprint`, written in the same transaction as the mart's rows); and the
`RebuildPlan` they give — keys to recompute, keys to drop, keys whose rows stay.

Why: a new survey export changes one survey's voice summaries and one council's rankings,
yet rebuilding them for every survey and council was most of an all-Scotland incremental
run. A key's fingerprint covers its own input rows, the inputs every key shares (tables,
configuration files) and the code that computes the mart, so a stale row can only survive
if its inputs are byte-for-byte what they were. Anything unexpected (no stored state, the
mart missing, a shared input changed) means a full rebuild, never a partial one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from profiles import warehouse as wh

STATE_SCHEMA = "meta"
STATE_TABLE = "build_fingerprint"
_PACKAGE_ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class RebuildPlan:
    """What a build must do: `recompute` keys (new or changed inputs), `drop` keys (no
    inputs any more), and `keep` keys whose stored rows are still right. `full` is true
    when everything is recomputed (first build, or a shared input changed)."""

    recompute: tuple[str, ...]
    drop: tuple[str, ...]
    keep: tuple[str, ...]
    full: bool
    reason: str

    @property
    def changed(self) -> tuple[str, ...]:
        """Keys whose rows are replaced or removed."""
        return tuple(sorted({*self.recompute, *self.drop}))

    @property
    def rows_to_replace(self) -> tuple[str, ...] | None:
        """The `keys` argument of `warehouse.replace_keys`: None (the whole table) when
        everything was recomputed, else the changed keys."""
        return None if self.full else self.changed

    def describe(self, noun: str) -> dict[str, object]:
        """Materialization metadata saying how the build went, e.g. noun='surveys'."""
        return {
            "rebuild": "full" if self.full else "incremental",
            "rebuild_reason": self.reason,
            f"{noun}_recomputed": len(self.recompute),
            f"{noun}_kept": len(self.keep),
        }


def digest(*parts: object) -> str:
    """sha256 of the parts' text, in order."""
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(str(part).encode("utf-8"))
        hasher.update(b"\x1f")
    return hasher.hexdigest()


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A digest of the package's source: a change to how marts are computed rebuilds them."""
    files = sorted(_PACKAGE_ROOT.rglob("*.py"))
    return digest(*(f"{path.relative_to(_PACKAGE_ROOT)}:{path.read_bytes()!r}" for path in files))


def files_fingerprint(paths: Iterable[Path]) -> str:
    """A digest of configuration files (name and bytes; a missing file counts as missing)."""
    parts = []
    for path in sorted(Path(p) for p in paths):
        parts.append(f"{path.name}:{path.read_bytes()!r}" if path.exists() else f"{path}:absent")
    return digest(*parts)


def _row_digest_sql(alias: str) -> str:
    # Order-independent: the rows' hashes are combined by XOR and by sum, with the count.
    return (
        f"count(*)::VARCHAR || ':' || bit_xor(hash({alias}))::VARCHAR || ':' "
        f"|| coalesce(sum(hash({alias})::HUGEINT), 0)::VARCHAR"
    )


def table_fingerprint(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """A digest of every row of `schema.table` ('absent' when it does not exist)."""
    if not wh.table_exists(con, schema, table):
        return f"{schema}.{table}:absent"
    qualified = wh.qualified_name(schema, table)
    value = con.execute(f"SELECT {_row_digest_sql('t')} FROM {qualified} AS t").fetchone()[0]
    return f"{schema}.{table}:{value}"


def keyed_fingerprints(
    con: duckdb.DuckDBPyConnection, query: str, parameters: Sequence[object] = ()
) -> dict[str, str]:
    """Per-key digests of the rows `query` returns; its first column is the key.

    The query selects the input rows of each key, e.g. ``SELECT s.council_code AS key, r.*
    FROM ...``; rows are digested whole, key included.
    """
    rows = con.execute(
        f"SELECT t.key::VARCHAR, {_row_digest_sql('t')} FROM ({query}) AS t GROUP BY 1",
        list(parameters),
    ).fetchall()
    return {str(key): str(value) for key, value in rows}


def tables_by_key(
    con: duckdb.DuckDBPyConnection, tables: Sequence[tuple[str, str]], key_column: str
) -> list[dict[str, str]]:
    """`keyed_fingerprints` of each table by its own `key_column` (an empty mapping for a
    table that does not exist yet, e.g. before the first survey)."""
    key = wh.checked_identifier(key_column)
    return [
        keyed_fingerprints(con, f'SELECT "{key}" AS key, * FROM {wh.qualified_name(schema, table)}')
        if wh.table_exists(con, schema, table)
        else {}
        for schema, table in tables
    ]


def combine(
    shared: str, per_key: Sequence[Mapping[str, str]], keys: Iterable[str] | None = None
) -> dict[str, str]:
    """One fingerprint per key from the shared digest and each input's per-key digests
    (a key absent from an input contributes 'none' for it). `keys` defaults to every key
    any input has."""
    every = set(keys) if keys is not None else {k for digests in per_key for k in digests}
    return {
        key: digest(shared, *(digests.get(key, "none") for digests in per_key))
        for key in sorted(every)
    }


def stored_fingerprints(con: duckdb.DuckDBPyConnection, asset: str) -> dict[str, str]:
    if not wh.table_exists(con, STATE_SCHEMA, STATE_TABLE):
        return {}
    rows = con.execute(
        f"SELECT key, fingerprint FROM {STATE_SCHEMA}.{STATE_TABLE} WHERE asset = ?", [asset]
    ).fetchall()
    return {str(key): str(value) for key, value in rows}


def plan_rebuild(
    current: Mapping[str, str],
    stored: Mapping[str, str],
    *,
    outputs_exist: bool,
) -> RebuildPlan:
    """Compare the inputs' fingerprints now with those of the last build."""
    keys = tuple(sorted(current))
    if not outputs_exist or not stored:
        reason = "no earlier build" if not stored else "an output table is missing"
        return RebuildPlan(keys, (), (), True, reason)
    recompute = tuple(key for key in keys if stored.get(key) != current[key])
    drop = tuple(sorted(set(stored) - set(current)))
    keep = tuple(key for key in keys if key not in recompute)
    full = len(keep) == 0
    reason = (
        "every key's inputs changed"
        if full
        else f"{len(recompute)} changed, {len(drop)} gone, {len(keep)} unchanged"
    )
    return RebuildPlan(recompute, drop, keep, full, reason)


def save_fingerprints(
    con: duckdb.DuckDBPyConnection, asset: str, fingerprints: Mapping[str, str]
) -> None:
    """Store the fingerprints of what was just built (call inside the writing transaction)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {STATE_SCHEMA}")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {STATE_SCHEMA}.{STATE_TABLE} "
        "(asset VARCHAR, key VARCHAR, fingerprint VARCHAR)"
    )
    con.execute(f"DELETE FROM {STATE_SCHEMA}.{STATE_TABLE} WHERE asset = ?", [asset])
    frame = pd.DataFrame(
        {
            "asset": asset,
            "key": list(fingerprints),
            "fingerprint": list(fingerprints.values()),
        },
        columns=["asset", "key", "fingerprint"],
    ).astype("string")
    con.register("_fingerprints", frame)
    try:
        con.execute(
            f"INSERT INTO {STATE_SCHEMA}.{STATE_TABLE} SELECT asset, key, fingerprint "
            "FROM _fingerprints ORDER BY key"
        )
    finally:
        con.unregister("_fingerprints")
