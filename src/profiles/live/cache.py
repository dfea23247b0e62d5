"""Raw cache of verified downloads, for audit and offline replay.

What belongs here: the on-disk layout of downloaded files and their manifest. Files are
stored by content, `<root>/<dataset>/<sha256><suffix>`, and never change once written
(they are made read-only, so a hard-linked copy cannot be edited by accident).
`<root>/manifest.json` records per dataset the current entry (file, sha256, url,
retrieved_at, vintage, the name it is published under) and the entries it replaced.
The manifest is only rewritten, atomically, after a download has been fully verified, so a
failed or killed download never changes what `latest()` returns. Temporary files left by a
killed process are removed when the cache is opened.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from profiles.errors import ProfilesError
from profiles.live.http import fsync_dir
from profiles.provenance import sha256_file

try:  # POSIX advisory lock around manifest read-modify-write; absent on Windows.
    import fcntl
except ImportError:  # pragma: no cover - exercised only on Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
HISTORY_LIMIT = 10
"""Replaced entries kept per dataset in the manifest (the files themselves stay on disk)."""

_DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_PID_IN_NAME = re.compile(r"\.pid(\d+)\.")


class CacheError(ProfilesError):
    """The raw cache is missing an entry, or a cached file no longer matches its checksum."""


@dataclass(frozen=True)
class CacheEntry:
    """One verified download. `file` is relative to the cache root."""

    dataset: str
    file: str
    sha256: str
    bytes: int
    url: str
    retrieved_at: str
    vintage: str
    publish_as: str
    content_type: str = ""
    request: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CacheEntry:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


@dataclass(frozen=True)
class CacheProblem:
    """A manifest entry whose file is missing or no longer has the recorded checksum."""

    dataset: str
    path: Path
    problem: str


class RawCache:
    """Content-addressed store of raw downloads with a manifest of the current file per dataset.

    Typical use::

        with cache.incoming("dz_lookup") as temp:
            result = fetch_to_file(session, "GET", url, dest=temp)
            entry = cache.commit("dz_lookup", temp, sha256=result.sha256, url=result.url, ...)
    """

    def __init__(self, root: str | Path, *, stale_temp_after_s: float = 6 * 3600) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.stale_temp_after_s = stale_temp_after_s
        self.removed_temps: list[Path] = self.clean_stale_temps()

    # --- paths ---------------------------------------------------------------------------

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_NAME

    def path_of(self, entry: CacheEntry) -> Path:
        return self.root / entry.file

    def _dataset_dir(self, dataset: str) -> Path:
        if not _DATASET_NAME.match(dataset):
            raise CacheError(f"invalid dataset name for the cache: {dataset!r}")
        return self.root / dataset

    # --- writing -------------------------------------------------------------------------

    @contextlib.contextmanager
    def incoming(self, dataset: str, suffix: str = ".csv") -> Iterator[Path]:
        """A path inside the dataset folder to download into; removed on exit unless committed.

        The file does not exist yet; the downloader creates it (atomically) and `commit`
        moves it to its content-addressed name.
        """
        folder = self._dataset_dir(dataset)
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / f".incoming.pid{os.getpid()}.{uuid.uuid4().hex}{suffix}"
        try:
            yield temp
        finally:
            temp.unlink(missing_ok=True)

    def commit(
        self,
        dataset: str,
        downloaded: str | Path,
        *,
        sha256: str,
        url: str,
        retrieved_at: str,
        vintage: str,
        publish_as: str,
        content_type: str = "",
        request: dict[str, Any] | None = None,
    ) -> CacheEntry:
        """Store a verified download and make it the dataset's current entry.

        The file is re-hashed first; if it does not match `sha256` nothing changes.
        """
        source = Path(downloaded)
        folder = self._dataset_dir(dataset)
        actual = sha256_file(source)
        if actual != sha256:
            raise CacheError(
                f"{source}: checksum {actual} does not match the download's {sha256}; not cached"
            )
        suffix = "".join(Path(publish_as).suffixes) or source.suffix
        final = folder / f"{sha256}{suffix}"
        if final.exists() and sha256_file(final) == sha256:
            source.unlink()  # identical content already stored
        else:
            os.replace(source, final)
            final.chmod(0o444)
            fsync_dir(folder)
        entry = CacheEntry(
            dataset=dataset,
            file=final.relative_to(self.root).as_posix(),
            sha256=sha256,
            bytes=final.stat().st_size,
            url=url,
            retrieved_at=retrieved_at,
            vintage=vintage,
            publish_as=publish_as,
            content_type=content_type,
            request=dict(request or {}),
        )
        with self._locked():
            manifest = self._read_manifest()
            record = manifest["datasets"].get(dataset, {"current": None, "history": []})
            if record.get("current"):
                record["history"] = [record["current"], *record.get("history", [])][:HISTORY_LIMIT]
            record["current"] = asdict(entry)
            manifest["datasets"][dataset] = record
            self._write_manifest(manifest)
        log.info("cached %s -> %s (%d bytes)", dataset, entry.file, entry.bytes)
        return entry

    # --- reading -------------------------------------------------------------------------

    def datasets(self) -> list[str]:
        return sorted(self._read_manifest()["datasets"])

    def latest(self, dataset: str, *, verify: bool = True) -> CacheEntry | None:
        """The current entry for `dataset`, or None if it was never cached.

        With `verify`, re-hash the file and raise `CacheError` if it is missing or changed.
        """
        record = self._read_manifest()["datasets"].get(dataset)
        if not record or not record.get("current"):
            return None
        entry = CacheEntry.from_dict(record["current"])
        if verify:
            problem = self._check(entry)
            if problem:
                raise CacheError(f"cached {dataset} at {self.path_of(entry)}: {problem}")
        return entry

    def history(self, dataset: str) -> list[CacheEntry]:
        """Entries replaced by later downloads, most recent first."""
        record = self._read_manifest()["datasets"].get(dataset) or {}
        return [CacheEntry.from_dict(item) for item in record.get("history", [])]

    def verify(self) -> list[CacheProblem]:
        """Re-hash every file the manifest refers to; return the problems (empty if none)."""
        problems: list[CacheProblem] = []
        for dataset, record in sorted(self._read_manifest()["datasets"].items()):
            items = [record.get("current"), *record.get("history", [])]
            seen: set[str] = set()
            for item in items:
                if not item or item["file"] in seen:
                    continue
                seen.add(item["file"])
                entry = CacheEntry.from_dict(item)
                problem = self._check(entry)
                if problem:
                    problems.append(CacheProblem(dataset, self.path_of(entry), problem))
        return problems

    def materialise_folder(
        self, dest: str | Path, datasets: Iterable[str] | None = None
    ) -> dict[str, Path]:
        """Expose the current files under their published names in `dest` (a folder of
        published files for the folder-mode loaders). Hard links where possible, copies
        otherwise; each name is replaced atomically. Returns dataset -> path."""
        target_dir = Path(dest)
        target_dir.mkdir(parents=True, exist_ok=True)
        wanted = list(datasets) if datasets is not None else self.datasets()
        entries: dict[str, CacheEntry] = {}
        for dataset in wanted:
            entry = self.latest(dataset)
            if entry is None:
                raise CacheError(f"no cached copy of {dataset} in {self.root}")
            entries[dataset] = entry
        names = [entry.publish_as for entry in entries.values()]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise CacheError(f"several datasets publish as {', '.join(duplicates)}")

        placed: dict[str, Path] = {}
        for dataset, entry in entries.items():
            target = target_dir / entry.publish_as
            temp = target_dir / f".{entry.publish_as}.pid{os.getpid()}.{uuid.uuid4().hex}.part"
            try:
                try:
                    os.link(self.path_of(entry), temp)
                except OSError:
                    shutil.copyfile(self.path_of(entry), temp)
                os.replace(temp, target)
            finally:
                temp.unlink(missing_ok=True)
            placed[dataset] = target
        return placed

    # --- housekeeping --------------------------------------------------------------------

    def clean_stale_temps(self) -> list[Path]:
        """Delete temporary files left by a process that died mid-download.

        A temp whose name carries the pid of a process that no longer exists is removed at
        once; one from a live process (possibly another download in progress) only when it
        is older than `stale_temp_after_s`.
        """
        removed: list[Path] = []
        now = time.time()
        candidates = [*self.root.glob(".*"), *self.root.glob("*/.*")]
        for path in candidates:
            if not path.is_file() or not (
                path.name.endswith((".part", ".tmp")) or path.name.startswith(".incoming.")
            ):
                continue
            match = _PID_IN_NAME.search(path.name)
            owner_alive = match is not None and _process_alive(int(match.group(1)))
            try:
                age = now - path.stat().st_mtime
            except FileNotFoundError:
                continue
            if owner_alive and age < self.stale_temp_after_s:
                continue
            if match is None and age < self.stale_temp_after_s:
                continue
            path.unlink(missing_ok=True)
            removed.append(path)
        if removed:
            log.warning("removed %d stale temporary file(s) from %s", len(removed), self.root)
        return removed

    # --- internals -----------------------------------------------------------------------

    def _check(self, entry: CacheEntry) -> str | None:
        path = self.path_of(entry)
        if not path.is_file():
            return "file is missing"
        actual = sha256_file(path)
        if actual != entry.sha256:
            return f"checksum {actual} does not match the manifest's {entry.sha256}"
        return None

    def _read_manifest(self) -> dict[str, Any]:
        path = self.manifest_path
        if not path.exists():
            return {"version": MANIFEST_VERSION, "datasets": {}}
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CacheError(f"{path}: unreadable cache manifest ({error})") from error
        if not isinstance(manifest, dict) or not isinstance(manifest.get("datasets"), dict):
            raise CacheError(f"{path}: cache manifest has no 'datasets' mapping")
        return manifest

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        manifest["version"] = MANIFEST_VERSION
        handle, name = tempfile.mkstemp(
            dir=self.root, prefix=f".{MANIFEST_NAME}.pid{os.getpid()}.", suffix=".tmp"
        )
        temp = Path(name)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(manifest, out, indent=2, sort_keys=True)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.manifest_path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        fsync_dir(self.root)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            yield
            return
        with open(self.root / ".lock", "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":
        return True  # on Windows os.kill(pid, 0) would terminate the process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    return True
