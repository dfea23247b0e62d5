"""Where things live: the repository root, config, warehouse, caches and outputs.

What belongs here: path defaults and their environment-variable overrides. Nothing here
opens files. Every path can be overridden, so tests point the whole pipeline at
`tmp_path` and a national deployment at shared storage.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO_ROOT / "data" / "config"
SQL_DIR = REPO_ROOT / "sql"

DEFAULT_WAREHOUSE = REPO_ROOT / "data" / "warehouse" / "profiles.duckdb"
DEFAULT_OUTPUTS = REPO_ROOT / "data" / "outputs"
DEFAULT_CACHE = REPO_ROOT / "data" / "cache"
DEFAULT_DEMO_DIR = REPO_ROOT / "data" / "demo"
DEFAULT_INBOX = REPO_ROOT / "data" / "inbox"
DEFAULT_ARCHIVE = REPO_ROOT / "data" / "archive"

SOURCE_MODES = ("demo", "folder", "live")
DEFAULT_BASE_URL = "https://statistics.gov.scot"


def default_pack_workers() -> int:
    """Worker processes for packs and rankings: one per CPU, at most four (each holds one
    council's data). `PROFILES_PACK_WORKERS` sets it; the name predates rankings using it."""
    return max(1, min(4, os.cpu_count() or 1))


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """One build's settings. `from_env()` reads `PROFILES_*` variables (used by the UI);
    the CLI builds one from its flags."""

    warehouse: Path = DEFAULT_WAREHOUSE
    source_mode: str = "demo"
    source_dir: Path | None = None
    base_url: str = DEFAULT_BASE_URL
    cache_dir: Path = DEFAULT_CACHE
    demo_dir: Path = DEFAULT_DEMO_DIR
    outputs_dir: Path = DEFAULT_OUTPUTS
    inbox_dir: Path = DEFAULT_INBOX
    archive_dir: Path = DEFAULT_ARCHIVE
    config_dir: Path = CONFIG_DIR
    council: str | None = None
    offline: bool = False
    simd_n_zones: int | None = None
    """Universe of SIMD ranks when the sources are not Scotland's (a mirror or test server
    serving a subset); a folder's own sources.yaml declaration takes precedence."""
    pack_workers: int = field(default_factory=lambda: default_pack_workers())
    """Processes building councils' profile packs side by side (1: in the run's process)."""
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.source_mode not in SOURCE_MODES:
            raise ValueError(
                f"source mode {self.source_mode!r} is not one of {', '.join(SOURCE_MODES)}"
            )
        if self.source_mode == "folder" and self.source_dir is None:
            raise ValueError("source mode 'folder' needs a source folder (--from DIR)")

    @classmethod
    def from_env(cls) -> Settings:
        source_dir = os.environ.get("PROFILES_SOURCE_DIR")
        mode = os.environ.get("PROFILES_SOURCE", "folder" if source_dir else "demo")
        return cls(
            warehouse=_env_path("PROFILES_WAREHOUSE", DEFAULT_WAREHOUSE),
            source_mode=mode,
            source_dir=Path(source_dir).expanduser().resolve() if source_dir else None,
            base_url=os.environ.get("PROFILES_BASE_URL", DEFAULT_BASE_URL),
            cache_dir=_env_path("PROFILES_CACHE", DEFAULT_CACHE),
            demo_dir=_env_path("PROFILES_DEMO_DIR", DEFAULT_DEMO_DIR),
            outputs_dir=_env_path("PROFILES_OUTPUTS", DEFAULT_OUTPUTS),
            inbox_dir=_env_path("PROFILES_INBOX", DEFAULT_INBOX),
            archive_dir=_env_path("PROFILES_ARCHIVE", DEFAULT_ARCHIVE),
            config_dir=_env_path("PROFILES_CONFIG", CONFIG_DIR),
            council=os.environ.get("PROFILES_COUNCIL") or None,
            offline=os.environ.get("PROFILES_OFFLINE", "") in {"1", "true", "yes"},
            simd_n_zones=int(os.environ["PROFILES_SIMD_N_ZONES"])
            if os.environ.get("PROFILES_SIMD_N_ZONES")
            else None,
            pack_workers=int(os.environ["PROFILES_PACK_WORKERS"])
            if os.environ.get("PROFILES_PACK_WORKERS")
            else default_pack_workers(),
        )

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
