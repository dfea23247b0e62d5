"""Rankings of several councils from the warehouse, side by side in worker processes.

What belongs here: reading what `triangulate` needs from the warehouse (`need_profile`,
shared by every council, and `council_inputs`, one council's voice rows and localities)
and `rank_councils`, which ranks each council in this process or spreads the councils over
a pool of workers from `profiles.workers`. Each worker reads its councils' rows itself
through its own read-only connection, so nothing large is copied between processes.

A council's rankings depend only on its own inputs and the shared profile (the bootstrap
seeds its generator per council), so the result does not depend on the number of workers,
only the time does.

Why processes: scoring, the bootstrap and the evidence trails are pandas and Python work,
about a third of a second per council and a second or more for a surveyed one, and an
all-Scotland build ranks 32 councils. A new export re-ranks one council, which is done
here (starting workers would cost more than it saves).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from profiles import warehouse as wh
from profiles.triangulate import triangulate
from profiles.triangulate.config import TriangulationConfig
from profiles.triangulate.scores import NEED_PROFILE_COLUMNS
from profiles.voice.stored import load_voice_frames
from profiles.workers import worker_context

MIN_COUNCILS_FOR_WORKERS = 4
"""Fewer councils than this are ranked in the calling process."""

Result = tuple[pd.DataFrame, pd.DataFrame]
"""A council's (`priority_ranking`, `triangulation_matrix`)."""

_KEY = ["survey_id", "response_id"]


def need_profile(
    con: duckdb.DuckDBPyConnection, configs: Iterable[TriangulationConfig]
) -> pd.DataFrame:
    """The `locality_profile` rows and columns scoring reads for these councils: every
    locality in the country (need scores can fall back to the spread across all of them),
    but only the mapped measures, not the ~470,000 rows of the whole profile."""
    columns = ", ".join(wh.checked_identifier(c) for c in NEED_PROFILE_COLUMNS)
    measures = sorted({m for config in configs for m in config.need_measure_ids})
    return con.execute(
        f"SELECT {columns} FROM marts.locality_profile WHERE area_level = 'locality' "
        "AND list_contains(?::VARCHAR[], measure_id)",
        [measures],
    ).fetchdf()


def placed_responses(
    public: pd.DataFrame, staged: pd.DataFrame, bridge: pd.DataFrame
) -> pd.DataFrame:
    """Counted responses with their locality and survey weight, as the bootstrap needs."""
    from profiles.voice.reach import assign_localities, counted_responses

    located = assign_localities(counted_responses(staged), bridge)
    if "weight" in public:
        located = located.merge(public[[*_KEY, "weight"]], on=_KEY, how="left")
        located["weight"] = located["weight"].fillna(1.0)
    else:
        located["weight"] = 1.0
    return located


def _rows_of(frame: pd.DataFrame, placed: pd.DataFrame) -> pd.DataFrame:
    """`frame`'s rows of the placed responses, in `frame`'s order."""
    keys = placed[_KEY].drop_duplicates()
    return frame.merge(keys, on=_KEY, how="inner").reset_index(drop=True)


def council_inputs(con: duckdb.DuckDBPyConnection, council_code: str) -> dict[str, pd.DataFrame]:
    """One council's `triangulate` arguments besides the config and the profile.

    A survey belongs to one council and its responses are placed only in that council's
    localities, so the council's rows are those of its surveys, and its own part of the
    data zone bridge is all the placing needs.
    """
    council = [council_code]
    summary = wh.rows_for_keys(con, "marts", "voice_theme_summary", "council_code", council)
    reach = wh.rows_for_keys(con, "marts", "engagement_reach", "council_code", council)
    public = wh.rows_for_keys(con, "marts", "voice_response", "council_code", council)
    dim_locality = con.execute(
        "SELECT * FROM marts.dim_locality WHERE council_code = ?", council
    ).fetchdf()
    bridge = con.execute(
        "SELECT * FROM marts.bridge_dz_locality WHERE council_code = ?", council
    ).fetchdf()
    voice = load_voice_frames(con, sorted(public["survey_id"].astype(str).unique()))
    placed = placed_responses(public, voice["responses"], bridge)
    placed = placed[placed["council_code"] == council_code]
    return {
        "theme_summary": summary,
        "reach": reach,
        "responses": placed,
        "voice_scores": _rows_of(voice["scores"], placed),
        "codes": _rows_of(voice["codes"], placed),
        "comments": _rows_of(voice["comments"], placed),
        "dim_locality": dim_locality,
    }


def _rank(
    con: duckdb.DuckDBPyConnection, config: TriangulationConfig, profile: pd.DataFrame
) -> Result:
    return triangulate(config, profile=profile, **council_inputs(con, config.council_code))


@dataclass(frozen=True)
class _WorkerState:
    """A worker's warehouse and the shared profile, handed over once when it starts."""

    database: Path
    profile: pd.DataFrame


_worker: list[_WorkerState] = []


def _start_worker(database: Path, profile: pd.DataFrame) -> None:
    _worker[:] = [_WorkerState(Path(database), profile)]


def _rank_in_worker(config: TriangulationConfig) -> Result:
    state = _worker[0]
    with wh.connect(state.database, read_only=True) as con:
        return _rank(con, config, state.profile)


def rank_councils(
    database: Path,
    configs: Sequence[TriangulationConfig],
    profile: pd.DataFrame,
    *,
    workers: int = 1,
    sizes: Mapping[str, int] | None = None,
    min_councils: int = MIN_COUNCILS_FOR_WORKERS,
) -> list[Result]:
    """(`priority_ranking`, `triangulation_matrix`) of each config's council, in order.

    With more than one worker and at least `min_councils` councils, the councils go to a
    pool of processes, largest first (`sizes`, e.g. responses per council) so the workers
    finish together; otherwise they are ranked here, through one read-only connection.
    No connection of this process is open while the workers read.
    """
    if workers <= 1 or len(configs) < max(min_councils, 1):
        with wh.connect(Path(database), read_only=True) as con:
            return [_rank(con, config, profile) for config in configs]
    sizes = sizes or {}
    order = sorted(range(len(configs)), key=lambda k: -sizes.get(configs[k].council_code, 0))
    with ProcessPoolExecutor(
        max_workers=min(workers, len(configs)),
        mp_context=worker_context(),
        initializer=_start_worker,
        initargs=(Path(database), profile),
    ) as pool:
        futures = {k: pool.submit(_rank_in_worker, configs[k]) for k in order}
        return [futures[k].result() for k in range(len(configs))]
