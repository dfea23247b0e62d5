"""Worker processes for the Python-bound steps that spread over the CPUs.

What belongs here: the one multiprocessing context that profile packs
(`profiles.exports.batch`) and rankings (`profiles.triangulate.batch`) start their workers
from, and nothing else: what a worker does is up to its caller.

Why one context: workers are forked from a `forkserver`, a clean single-threaded process
started once per parent process, never from the parent itself (a Dagster run holds
threads and a DuckDB library state that must not be copied mid-flight). The forkserver
imports `PRELOAD` when it starts, so a worker starts with the libraries loaded instead of
importing them (about 1.5 s of CPU each). The forkserver reads that list only when it
first starts, so every caller asks for the same one. Without a forkserver (Windows)
workers are spawned. Either way each worker imports the parent's main module (as
multiprocessing does), so a script that starts workers needs the usual
`if __name__ == "__main__":` guard and is quicker with its heavy imports inside functions.
"""

from __future__ import annotations

import multiprocessing

PRELOAD = ("profiles.exports.batch", "profiles.triangulate.batch")
"""The modules workers run, imported once by the forkserver."""


def worker_context() -> multiprocessing.context.BaseContext:
    """The context to start workers from: the forkserver, or spawn where there is none."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    return context


def start_early() -> None:
    """Start the forkserver now, where there is one, so that workers asked for later in this
    process find it ready: it imports `PRELOAD` (about a second) in its own process while
    this one goes on, instead of while the first pool waits. Nothing happens if it runs.
    """
    if worker_context().get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    forkserver.ensure_running()
