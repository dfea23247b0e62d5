"""One council's profile pack: every file, in one folder, replaced in one step.

What belongs here: `build_council_packs`, which checks that what it is about to publish has
been through disclosure control, writes the files, lists them with their sha256 in a
`PackManifest` (also saved as `manifest.json`), and swaps the finished folder into place so
readers never see half a pack; and the layout of that folder:

    <out_dir>/<council code>-<council name>/
        overview.html, overview.xlsx          all localities side by side
        localities/<locality>.html, .xlsx     one report and workbook per locality
        data/<mart>.csv, <mart>.parquet       every mart, the council's rows
        geography.gpkg                        data zone, locality and ward layers
        manifest.json                         the files below with sha256 and size

File names come from `safety.safe_file_name`, so a locality called ``../../etc`` is written
as ``etc.html`` inside the pack's folder and nowhere else.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from profiles.errors import ProfilesError
from profiles.exports import excel, geopackage, html, tables
from profiles.exports.data import PackData
from profiles.exports.safety import inside, safe_file_name, unique_file_names
from profiles.provenance import sha256_file

MANIFEST_NAME = "manifest.json"
PEOPLE_COUNTS = {
    "theme_summary": ("responses", "low_score_count", "comments", "mentions"),
    "reach": ("responses",),
}


class DisclosureCheckError(ProfilesError):
    """A frame about to be published shows a count that disclosure control should hide."""


@dataclass(frozen=True)
class PackFile:
    """One written file: `path` is relative to the output folder, with '/' separators."""

    path: str
    kind: str
    locality_id: str | None
    sha256: str
    bytes: int


@dataclass(frozen=True)
class PackManifest:
    council_code: str
    council_name: str
    folder: Path
    files: tuple[PackFile, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "council_code": self.council_code,
            "council_name": self.council_name,
            "folder": self.folder.name,
            "files": [asdict(item) for item in self.files],
        }

    def paths(self, kind: str | None = None) -> list[Path]:
        """Absolute paths of the files (of one kind)."""
        root = self.folder.parent
        return [root / item.path for item in self.files if kind in (None, item.kind)]


def check_disclosure(data: PackData) -> None:
    """Refuse to publish a visible count of people between 1 and threshold - 1.

    The marts apply disclosure control when they are built; this is the last look before
    files leave the project, so a mart built without it cannot slip into a pack. Quotes
    must never come from a suppressed cell.
    """
    threshold = data.rules.threshold
    problems: list[str] = []
    for name, columns in PEOPLE_COUNTS.items():
        frame = getattr(data, name)
        for column in columns:
            if column not in frame.columns:
                continue
            values = pd.to_numeric(frame[column], errors="coerce")
            bad = frame[(values > 0) & (values < threshold)]
            if len(bad):
                problems.append(f"{name}.{column}: {len(bad)} visible count(s) below {threshold}")
    profile = data.profile
    counted = profile["method"].isin(["ratio_of_sums", "sum_of_counts"])
    numerators = pd.to_numeric(profile["numerator"], errors="coerce")
    bad = profile[counted & (numerators > 0) & (numerators < threshold)]
    if len(bad):
        problems.append(
            f"locality_profile.numerator: {len(bad)} visible count(s) below {threshold}"
        )
    voice = data.theme_summary
    if len(voice):
        hidden = voice["suppressed"].astype("boolean").fillna(False).astype(bool)
        quoted = voice["quotes"].astype(str).str.strip().ne("[]") & voice["quotes"].notna()
        if (hidden & quoted).any():
            problems.append("voice_theme_summary: quotes on a suppressed cell")
    if problems:
        raise DisclosureCheckError(
            f"not publishing the pack for {data.council_code}: " + "; ".join(problems)
        )


def _record(root: Path, path: Path, kind: str, locality_id: str | None) -> PackFile:
    return PackFile(
        path=path.relative_to(root).as_posix(),
        kind=kind,
        locality_id=locality_id,
        sha256=sha256_file(path),
        bytes=path.stat().st_size,
    )


def council_folder_name(data: PackData) -> str:
    return safe_file_name(f"{data.council_code} {data.council_name}", fallback="council")


@dataclass(frozen=True)
class PackLayout:
    """Where one council's pack is staged and published, and its locality file stems."""

    folder_name: str
    staging: Path
    final: Path
    stems: Mapping[str, str]

    @property
    def links(self) -> dict[str, str]:
        return {i: f"localities/{stem}.html" for i, stem in self.stems.items()}


Written = tuple[Path, str, str | None]
"""A written file: its path, kind and locality id (None for council-wide files)."""


def start_council_pack(data: PackData, out_dir: Path) -> PackLayout:
    """Check disclosure and create an empty staging folder for the council's pack."""
    check_disclosure(data)
    return open_council_pack(data, out_dir)


def open_council_pack(data: PackData, out_dir: Path) -> PackLayout:
    """Create an empty staging folder for the council's pack and name its locality files.

    Reads only the council and its localities, so `data` may be a `load_pack_outline`;
    whoever writes the files must `check_disclosure` the full data before the pack is
    published (`start_council_pack` does both).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    folder_name = council_folder_name(data)
    final = inside(out_dir, folder_name)
    staging = inside(out_dir, f".{folder_name}.building-{os.getpid()}")
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "localities").mkdir(parents=True)
    ids = data.locality_ids()
    stems = dict(zip(ids, unique_file_names([data.locality_name(i) for i in ids]), strict=True))
    return PackLayout(folder_name, staging, final, stems)


def write_locality_files(
    data: PackData, layout: PackLayout, locality_ids: Sequence[str]
) -> list[Written]:
    """Each locality's report and workbook (any process may write any subset)."""
    written: list[Written] = []
    for locality_id in locality_ids:
        stem = layout.stems[locality_id]
        report = inside(layout.staging, "localities", f"{stem}.html")
        html.locality_report(data, locality_id, workbook_href=f"{stem}.xlsx").write(report)
        workbook = inside(layout.staging, "localities", f"{stem}.xlsx")
        excel.write_locality_workbook(data, locality_id, workbook)
        written += [(report, "html", locality_id), (workbook, "xlsx", locality_id)]
    return written


def write_council_files(data: PackData, layout: PackLayout) -> list[Written]:
    """The overview report and workbook, every mart as CSV and Parquet, the GeoPackage."""
    staging = layout.staging
    written: list[Written] = []
    overview = staging / "overview.html"
    html.overview_report(data, layout.links, workbook_href="overview.xlsx").write(overview)
    overview_book = excel.write_overview_workbook(data, staging / "overview.xlsx")
    written += [(overview, "html", None), (overview_book, "xlsx", None)]
    for path in tables.write_tables(data, staging / "data"):
        written.append((path, path.suffix.lstrip("."), None))
    gpkg = geopackage.write_geopackage(data, staging / "geography.gpkg")
    if gpkg.exists():
        written.append((gpkg, "gpkg", None))
    return written


def finish_council_pack(
    data: PackData, layout: PackLayout, written: Sequence[Written]
) -> PackManifest:
    """List the files with their checksums, save the manifest, publish the folder."""
    staging, folder_name = layout.staging, layout.folder_name
    records = sorted(
        (_record(staging, path, kind, locality) for path, kind, locality in written),
        key=lambda item: item.path,
    )
    staged = PackManifest(data.council_code, data.council_name, staging, tuple(records))
    (staging / MANIFEST_NAME).write_text(
        json.dumps({**staged.to_dict(), "folder": folder_name}, indent=2) + "\n",
        encoding="utf-8",
    )
    _swap_into_place(staging, layout.final)
    return PackManifest(
        council_code=data.council_code,
        council_name=data.council_name,
        folder=layout.final,
        files=tuple(
            PackFile(
                f"{folder_name}/{item.path}", item.kind, item.locality_id, item.sha256, item.bytes
            )
            for item in records
        ),
    )


def build_council_packs(data: PackData, out_dir: Path) -> PackManifest:
    """Write the council's pack under `out_dir` and return what was written."""
    layout = start_council_pack(data, out_dir)
    written = write_locality_files(data, layout, list(layout.stems))
    written += write_council_files(data, layout)
    return finish_council_pack(data, layout, written)


def _swap_into_place(staging: Path, final: Path) -> None:
    """Replace `final` with `staging` (the old pack is removed only once the new one is in)."""
    retired = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        final.rename(retired)
    staging.rename(final)
    if retired.exists():
        shutil.rmtree(retired)
