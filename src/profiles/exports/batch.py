"""Building several councils' profile packs, side by side in worker processes.

What belongs here: `build_packs`, which builds each council's pack from the warehouse (one
read-only connection per council and process, opened and closed around loading its data)
and, with more than one worker, spreads the work over a pool of processes: whole councils,
largest first, when there are enough of them; otherwise one council's localities. Packs
are independent files written through `profiles.exports.pack`, so the result does not
depend on the number of workers, only the time does.

Why processes: a pack is Python-bound work (charts, workbook cells) and a build of many
councils is most of an all-Scotland run; threads would share one interpreter lock.

How they start: from `profiles.workers.worker_context()`, forked from a clean forkserver
that has the libraries loaded, never from the parent; a script that builds packs needs an
`if __name__ == "__main__":` guard (see that module).

Why the parent only waits: the council-wide files go to the workers as one task and the
localities a few at a time, so the workers share all the work and finish together, and
the parent (which only loads the layout, waits and publishes) does not compete with them
for the CPU.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, wait
from pathlib import Path

from profiles import warehouse as wh
from profiles.exports.data import PackData, load_pack_data, load_pack_outline
from profiles.exports.pack import (
    PackLayout,
    PackManifest,
    Written,
    build_council_packs,
    check_disclosure,
    finish_council_pack,
    open_council_pack,
    write_council_files,
    write_locality_files,
)
from profiles.stats.disclosure import load_disclosure_rules
from profiles.workers import worker_context

LOCALITY_TASKS_PER_WORKER = 4
"""A split council's localities go out in about this many tasks per worker: small enough
to even out, large enough that each task's hand-over stays a small part of it."""


def _load(database: Path, council_code: str, config_dir: Path) -> PackData:
    rules = load_disclosure_rules(Path(config_dir) / "disclosure.yaml")
    with wh.connect(Path(database), read_only=True) as con:
        return load_pack_data(con, council_code, config_dir=Path(config_dir), rules=rules)


_worker_pack: dict[tuple[str, str, str], PackData] = {}
"""The council a worker is writing files of, loaded by its first task (a worker lives for
one `build_packs` call, so this never outlives the warehouse state it was read from)."""


def _worker_data(database: Path, council_code: str, config_dir: Path) -> PackData:
    key = (str(database), council_code, str(config_dir))
    if key not in _worker_pack:
        _worker_pack.clear()
        _worker_pack[key] = _load(database, council_code, config_dir)
    return _worker_pack[key]


def build_one_pack(
    database: Path, council_code: str, out_dir: Path, config_dir: Path
) -> PackManifest:
    """Load one council's pack data from the warehouse (read-only) and write its pack."""
    return build_council_packs(_load(database, council_code, config_dir), Path(out_dir))


def _locality_files(
    database: Path, council_code: str, config_dir: Path, layout: PackLayout, ids: list[str]
) -> list[Written]:
    return write_locality_files(_worker_data(database, council_code, config_dir), layout, ids)


def _council_files(
    database: Path, council_code: str, config_dir: Path, layout: PackLayout
) -> list[Written]:
    data = _worker_data(database, council_code, config_dir)
    check_disclosure(data)  # the parent only has the outline: the last look happens here
    return write_council_files(data, layout)


def _load_outline(database: Path, council_code: str) -> PackData:
    with wh.connect(Path(database), read_only=True) as con:
        return load_pack_outline(con, council_code)


def _split_council(
    pool: ProcessPoolExecutor,
    database: Path,
    council_code: str,
    out_dir: Path,
    config_dir: Path,
    workers: int,
) -> PackManifest:
    """One council's pack, its files written by the workers: the council-wide files (the
    longest task, which also checks disclosure) first, then the localities a few at a time,
    each task taken by whichever worker is free, so the workers finish together.

    The parent reads only the council's outline (name and localities) to lay out and
    publish the pack: the full data is loaded by the workers, and loading it here too
    would hold them up (it came before the first task). A pack that fails the disclosure
    check, or any task, leaves nothing behind: the staging folder is removed."""
    outline = _load_outline(database, council_code)
    layout = open_council_pack(outline, out_dir)
    ids = list(layout.stems)
    size = max(1, len(ids) // (workers * LOCALITY_TASKS_PER_WORKER))
    futures = [pool.submit(_council_files, database, council_code, config_dir, layout)]
    futures += [
        pool.submit(_locality_files, database, council_code, config_dir, layout, ids[k : k + size])
        for k in range(0, len(ids), size)
    ]
    try:
        written = [item for future in futures for item in future.result()]
    except BaseException:
        wait(futures)  # no task may still be writing into the folder removed next
        shutil.rmtree(layout.staging, ignore_errors=True)
        raise
    return finish_council_pack(outline, layout, written)


def build_packs(
    database: Path,
    councils: Sequence[str],
    out_dir: Path,
    *,
    config_dir: Path,
    workers: int = 1,
    sizes: Mapping[str, int] | None = None,
    min_split_localities: int = 12,
) -> list[PackManifest]:
    """Every council's pack, in `councils` order.

    With one worker everything is built here. With at least as many councils as workers,
    each worker builds whole councils, largest first (`sizes`, e.g. localities per
    council); with fewer (a new export rebuilds one council's pack), the councils are
    built one after another with their localities spread over the workers — if there are
    at least `min_split_localities` of them (starting a worker costs about as much as a
    few localities' files, so a small council is built here).
    """
    database, out_dir, config_dir = Path(database), Path(out_dir), Path(config_dir)
    workers = max(1, workers)
    sizes = sizes or {}
    splitting = len(councils) < workers
    if splitting and all(sizes.get(code, 0) < min_split_localities for code in councils):
        workers = 1
    if workers == 1 or not councils:
        return [build_one_pack(database, code, out_dir, config_dir) for code in councils]
    context = worker_context()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        if splitting:
            return [
                _split_council(pool, database, code, out_dir, config_dir, workers)
                for code in councils
            ]
        order = sorted(councils, key=lambda code: (-sizes.get(code, 0), code))
        futures = {
            code: pool.submit(build_one_pack, database, code, out_dir, config_dir) for code in order
        }
        return [futures[code].result() for code in councils]
