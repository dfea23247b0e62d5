"""Provenance of source files: checksums and the record written with every load.

What belongs here: hashing, and the `SourceRecord` that goes into `raw.source_file` and
into Dagster asset metadata. Nothing here parses file contents.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks so large files use constant memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class SourceRecord:
    """Where one loaded file came from.

    `source` is a URL for live downloads or the file path for published folders;
    `retrieved_at` is the download time (live) or the file's modification time (folder),
    ISO 8601 in UTC; `vintage` names the statistical release (e.g. `2020v2`, `mid-2021`).
    """

    dataset: str
    source: str
    path: str
    sha256: str
    bytes: int
    retrieved_at: str
    vintage: str
    mode: str  # "live" | "folder" | "demo"

    def as_dict(self) -> dict[str, str | int]:
        return asdict(self)


def record_for_file(
    path: str | Path,
    *,
    dataset: str,
    vintage: str,
    mode: str,
    source: str | None = None,
    retrieved_at: str | None = None,
) -> SourceRecord:
    """Build a `SourceRecord` for a file on disk (hashing it)."""
    file_path = Path(path)
    stat = file_path.stat()
    when = retrieved_at or datetime.fromtimestamp(stat.st_mtime, tz=UTC).isoformat(
        timespec="seconds"
    )
    return SourceRecord(
        dataset=dataset,
        source=source or str(file_path.resolve()),
        path=str(file_path.resolve()),
        sha256=sha256_file(file_path),
        bytes=stat.st_size,
        retrieved_at=when,
        vintage=vintage,
        mode=mode,
    )
