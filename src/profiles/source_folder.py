"""The three ways in, reduced to one: a folder of files in their published formats.

What belongs here: turning a build's settings into that folder — generating the Demo
City (`demo`), taking a folder as given (`folder`), or downloading from
statistics.gov.scot into the raw cache (`live`) — and describing every file found there
with its provenance. Parsing the files is `profiles.sources`' job.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from profiles.errors import ProfilesError
from profiles.provenance import SourceRecord, record_for_file
from profiles.settings import Settings

DEMO_FILES_TIME = 1_767_225_600  # 2026-01-01T00:00:00Z: the demo's fixed "published" time

RAW_SOURCE_FILE_COLUMNS = (
    "kind",
    "vintage",
    "role",
    "dataset",
    "source",
    "path",
    "sha256",
    "bytes",
    "retrieved_at",
    "mode",
    "detail",
    "universe_n_zones",
)


@dataclass(frozen=True)
class ResolvedSources:
    folder: Path
    mode: str
    notes: tuple[str, ...]
    live_records: tuple[SourceRecord, ...] = ()
    simd_n_zones: int | None = None


def resolve_source_folder(settings: Settings) -> ResolvedSources:
    """Make sure the folder of published files exists for this build and return it."""
    if settings.source_mode == "demo":
        from profiles.demo.generate import generate_demo

        manifest = generate_demo(settings.demo_dir)
        # Regenerated files get the same modification time every build, so provenance
        # (retrieved_at) and everything stamped with it are identical between builds.
        for path in settings.demo_dir.rglob("*"):
            if path.is_file():
                os.utime(path, (DEMO_FILES_TIME, DEMO_FILES_TIME))
        return ResolvedSources(
            folder=settings.demo_dir,
            mode="demo",
            notes=(f"Demo City generated with seed {getattr(manifest, 'seed', '?')}",),
        )
    if settings.source_mode == "folder":
        folder = settings.source_dir
        if folder is None or not folder.is_dir():
            raise ProfilesError(f"{folder}: source folder does not exist")
        return ResolvedSources(
            folder=folder, mode="folder", notes=(), simd_n_zones=settings.simd_n_zones
        )
    return _fetch_live(settings)


def _fetch_live(settings: Settings) -> ResolvedSources:
    """Download (or replay offline) statistics.gov.scot files into the raw cache, then
    expose the current files as a folder of published files."""
    from profiles.contract import SIMD_VINTAGES
    from profiles.live.cache import RawCache
    from profiles.live.statsgov import StatsGovSource

    cache = RawCache(settings.cache_dir)
    source = StatsGovSource(settings.base_url, cache=cache, fallback_to_cache=True)
    records = source.fetch_all(SIMD_VINTAGES, offline=settings.offline)
    folder = settings.cache_dir / "current"
    if folder.exists():
        for stale in folder.iterdir():
            stale.unlink()
    source.materialise_folder(folder, records)
    notes = [f"{record.dataset}: {record.mode} from {record.source}" for record in records]
    notes += [
        f"{dataset}: fell back to cache ({reason})" for dataset, reason in source.failures.items()
    ]
    return ResolvedSources(
        folder=folder,
        mode="live",
        notes=tuple(notes),
        live_records=tuple(records),
        simd_n_zones=settings.simd_n_zones,
    )


def describe_source_files(resolved: ResolvedSources) -> pd.DataFrame:
    """One row per file in the folder: its kind, role (primary/alternate/unknown) and provenance.

    Live downloads keep their URL and download time; folder files their path and mtime.
    """
    from profiles.sources.discover import discover_published_files

    published = discover_published_files(resolved.folder)
    live_by_sha = {record.sha256: record for record in resolved.live_records}
    # Kinds with vintages (SIMD) have a primary file per vintage, as each vintage is loaded;
    # other kinds have one primary file, the most complete.
    primaries = set()
    for kind in published.kinds() - {"unknown"}:
        vintages = {e.vintage for e in published.entries(kind)}
        for vintage in vintages if vintages != {None} else {None}:
            chosen = published.primary(kind, vintage)
            if chosen is not None:
                primaries.add(chosen)
    universe = published.settings.get("simd_n_zones", resolved.simd_n_zones)
    rows: list[dict[str, object]] = []
    for entry in published.files:
        role = (
            "unknown"
            if entry.kind == "unknown"
            else ("primary" if entry.path in primaries else "alternate")
        )
        record = record_for_file(
            entry.path,
            dataset=entry.kind,
            vintage=entry.vintage or "",
            mode=resolved.mode,
        )
        live = live_by_sha.get(record.sha256)
        if live is not None:
            record = SourceRecord(
                dataset=live.dataset,
                source=live.source,
                path=record.path,
                sha256=record.sha256,
                bytes=record.bytes,
                retrieved_at=live.retrieved_at,
                vintage=live.vintage or record.vintage,
                mode=live.mode,
            )
        rows.append(
            {
                "kind": entry.kind,
                "vintage": entry.vintage or "",
                "role": role,
                **{k: v for k, v in record.as_dict().items() if k != "vintage"},
                "detail": entry.reason or "",
                "universe_n_zones": universe if entry.kind.startswith("simd") else None,
            }
        )
    frame = pd.DataFrame(rows, columns=list(RAW_SOURCE_FILE_COLUMNS))
    frame["universe_n_zones"] = frame["universe_n_zones"].astype("Int64")
    return frame.sort_values(["kind", "vintage", "role", "path"], ignore_index=True)
