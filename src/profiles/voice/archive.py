"""The survey archive: every export dropped into the inbox, kept immutably by content hash.

What belongs here: turning a dropped file into an archived, read-only copy under
`<archive>/<survey_id>/<sha256>.<ext>` with a small `export.json` beside it (original name,
schema, council, received time), and listing what is archived. Archiving the same bytes
twice changes nothing, so re-dropping a file is harmless. One survey id = one Dagster
dynamic partition; the id is stable for the same content.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from profiles.errors import ProfilesError
from profiles.provenance import sha256_file

ACCEPTED_SUFFIXES = (".csv", ".xlsx", ".txt", ".tsv")
METADATA_FILE = "export.json"
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ArchivedExport:
    survey_id: str
    sha256: str
    archive_path: str
    original_name: str
    schema: str
    council: str | None
    received_at: str


def survey_id_for(original_name: str, sha256: str) -> str:
    """A readable, stable id: the file name as a slug plus the first 8 hex of its hash."""
    stem = _SLUG.sub("-", Path(original_name).stem.lower()).strip("-")[:40] or "survey"
    return f"{stem}-{sha256[:8]}"


def archive_export(
    path: Path,
    archive_dir: Path,
    *,
    schema: str = "place_standard",
    council: str | None = None,
    survey_id: str | None = None,
) -> ArchivedExport:
    """Archive `path` (idempotent by content) and return where it is.

    A second call with the same bytes returns the first archive entry untouched, even if
    the file was renamed or re-dropped.
    """
    if not path.is_file():
        raise ProfilesError(f"{path}: no such file")
    if path.suffix.lower() not in ACCEPTED_SUFFIXES:
        raise ProfilesError(
            f"{path}: not a survey export (expected one of {', '.join(ACCEPTED_SUFFIXES)})"
        )
    digest = sha256_file(path)
    existing = find_by_sha(archive_dir, digest)
    if existing is not None:
        return existing
    survey = survey_id or survey_id_for(path.name, digest)
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,79}", survey):
        raise ProfilesError(f"survey id {survey!r}: use lower-case letters, digits, - and _")
    folder = archive_dir / survey
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{digest}{path.suffix.lower()}"
    # Copy to a temporary name in the same folder, then rename: a crash never leaves a
    # half-written archive file under its final name.
    with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".part") as handle:
        temp = Path(handle.name)
    try:
        shutil.copyfile(path, temp)
        os.chmod(temp, 0o444)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    entry = ArchivedExport(
        survey_id=survey,
        sha256=digest,
        archive_path=str(target),
        original_name=path.name,
        schema=schema,
        council=council,
        received_at=datetime.now(tz=UTC).isoformat(timespec="seconds"),
    )
    metadata = folder / METADATA_FILE
    temp_meta = folder / f".{METADATA_FILE}.part"
    temp_meta.write_text(json.dumps(asdict(entry), indent=2), encoding="utf-8")
    os.replace(temp_meta, metadata)
    return entry


def read_archived(archive_dir: Path, survey_id: str) -> ArchivedExport:
    metadata = archive_dir / survey_id / METADATA_FILE
    if not metadata.is_file():
        raise ProfilesError(f"survey {survey_id!r} is not in the archive {archive_dir}")
    return ArchivedExport(**json.loads(metadata.read_text(encoding="utf-8")))


def list_archived(archive_dir: Path) -> list[ArchivedExport]:
    if not archive_dir.is_dir():
        return []
    return [
        ArchivedExport(**json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(archive_dir.glob(f"*/{METADATA_FILE}"))
    ]


def find_by_sha(archive_dir: Path, sha256: str) -> ArchivedExport | None:
    return next((entry for entry in list_archived(archive_dir) if entry.sha256 == sha256), None)


def inbox_files(inbox_dir: Path) -> list[Path]:
    """Files waiting in the inbox (hidden and partial files are ignored)."""
    if not inbox_dir.is_dir():
        return []
    return sorted(
        path
        for path in inbox_dir.iterdir()
        if path.is_file()
        and not path.name.startswith(".")
        and path.suffix.lower() in ACCEPTED_SUFFIXES
    )
