"""Folder scanner: find and classify the published files in a folder by their contents.

What belongs here: walking a folder of downloaded files, sniffing each file's header or
first lines (never trusting its name) to say what it is (`KINDS`), counting rows or
features so that the most complete file of each kind is the primary one, and honouring an
optional `sources.yaml` in the folder that pins kinds to files. Parsing proper is left to
the readers in `profiles.sources`.

`sources.yaml` (optional, in the folder root)::

    files:                      # relative path or glob -> kind, or a mapping
      simd/simd2020v2_withinds.csv: {kind: simd_withinds, vintage: 2020v2, primary: true}
      "consultation/*.csv": survey_export
    ignore: ["archive/*"]       # globs of files to leave out entirely
"""

from __future__ import annotations

import csv
import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from profiles import contract
from profiles.errors import ConfigError
from profiles.sources.boundaries import load_boundary_fields, match_boundary_fields
from profiles.sources.lookup import match_lookup_header
from profiles.sources.population import DZ_CODE_COLUMNS, TOTAL_COLUMNS, year_from_file_name
from profiles.sources.postcodes import load_postcode_layouts, match_postcode_layout
from profiles.text import read_head

KINDS: tuple[str, ...] = (
    "simd_withinds",
    "simd_sparql_long",
    "simd_datazone_lookup",
    "dz_lookup",
    "population_total",
    "population_sya",
    "statsgov_download",
    "cube_table",
    "postcodes_nspl",
    "postcodes_spd",
    "boundaries_dz",
    "boundaries_ward",
    "boundaries_iz",
    "survey_export",
    "unknown",
)
"""What a published file can be. `survey_export` is only ever assigned by `sources.yaml`."""

SCANNED_SUFFIXES = frozenset({".csv", ".geojson", ".gpkg", ".shp", ".json"})
_BINARY_GEO_SUFFIXES = frozenset({".gpkg", ".shp"})
OVERRIDES_FILE = "sources.yaml"
_BOUNDARY_KINDS = {"dz": "boundaries_dz", "ward": "boundaries_ward", "iz": "boundaries_iz"}
_HEAD_BYTES = 64 * 1024
_SAMPLE_ROWS = 50
_SPARQL_LONG_HEADER = ["year", "zone", "domain", "measure", "value"]
_CUBE_REQUIRED = {"datecode", "measurement", "units", "value"}
_DATAZONE_LOOKUP_RANK = re.compile(r"^SIMD(\d{4}(?:v\d+)?)_Rank$", re.IGNORECASE)
_SIMD_RANK_COLUMN = re.compile(r"(simd|overal).*rank", re.IGNORECASE)
_AGE_COLUMN = re.compile(r"^\d{1,3}\+?$")


@dataclass
class DiscoveredFile:
    """One scanned file and what it was classified as.

    `rows` is the number of data rows (CSV) or features (boundaries), used to pick the most
    complete file of a kind; `reason` says why the kind was chosen, or why the file is
    `unknown`; `details` carries what the sniffing found (layout, dataset URI, ...).
    """

    path: Path
    relative: str
    kind: str
    vintage: str | None = None
    rows: int | None = None
    reason: str = ""
    pinned: bool = False
    pinned_primary: bool = False
    details: dict[str, Any] = field(default_factory=dict)


def _ranked(entries: list[DiscoveredFile]) -> list[DiscoveredFile]:
    """Most complete first: pinned primary, then the latest vintage (vintages sort as text:
    2016 < 2020v2 < 2026), then the most rows/features, then the path."""
    vintages = sorted({entry.vintage for entry in entries if entry.vintage is not None})

    def key(entry: DiscoveredFile) -> tuple[bool, int, int, str]:
        latest_first = -vintages.index(entry.vintage) if entry.vintage is not None else 1
        rows = entry.rows if entry.rows is not None else -1
        return (not entry.pinned_primary, latest_first, -rows, entry.relative)

    return sorted(entries, key=key)


@dataclass
class PublishedFolder:
    """The classified contents of a folder of published files."""

    root: Path
    files: list[DiscoveredFile]
    settings: dict[str, Any] = field(default_factory=dict)
    """Folder-level settings from sources.yaml, e.g. `simd_n_zones` for a folder whose SIMD
    ranks a universe other than the vintage's national one (the synthetic demo)."""

    def entries(self, kind: str | None = None, vintage: str | None = None) -> list[DiscoveredFile]:
        """Files of `kind` (all files if None), most complete first."""
        chosen = [
            entry
            for entry in self.files
            if (kind is None or entry.kind == kind)
            and (vintage is None or entry.vintage == vintage)
        ]
        return _ranked(chosen)

    def primary(self, kind: str, vintage: str | None = None) -> Path | None:
        """The file to load for `kind`: one pinned `primary: true` in sources.yaml, else the
        latest vintage (when `vintage` is None), else the one with the most rows/features."""
        ranked = self.entries(kind, vintage)
        return ranked[0].path if ranked else None

    def all(self, kind: str) -> list[Path]:
        """Every file of `kind`, primary first."""
        return [entry.path for entry in self.entries(kind)]

    def kinds(self) -> set[str]:
        return {entry.kind for entry in self.files}

    def describe(self) -> str:
        """A human-readable summary: one line per file, grouped by kind, primary marked `*`."""
        lines = [f"{self.root}: {len(self.files)} files"]
        for kind in KINDS:
            ranked = self.entries(kind)
            if not ranked:
                continue
            lines.append(f"{kind}:")
            primaries = {
                self.primary(kind, vintage) for vintage in {entry.vintage for entry in ranked}
            }
            for entry in ranked:
                mark = "*" if entry.path in primaries and kind != "unknown" else " "
                vintage = f" [{entry.vintage}]" if entry.vintage else ""
                unit = "features" if kind.startswith("boundaries_") else "rows"
                rows = f"{entry.rows:,} {unit}" if entry.rows is not None else f"? {unit}"
                pinned = " (pinned)" if entry.pinned else ""
                lines.append(f"  {mark} {entry.relative}{vintage}: {rows}{pinned} - {entry.reason}")
        return "\n".join(lines)


# --- scanning ------------------------------------------------------------------------------


def discover_published_files(folder: str | Path) -> PublishedFolder:
    """Scan `folder` recursively and classify every csv/geojson/gpkg/shp/json file in it.

    Hidden files and folders are skipped. A file that cannot be classified (empty, an HTML
    error page saved as .csv, an unrecognised header) is kept as `unknown` with a reason;
    nothing here raises for a bad data file. A malformed `sources.yaml` raises ConfigError.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"not a folder: {root}")
    overrides = _read_overrides(root)
    files = []
    for path in _scan(root):
        relative = path.relative_to(root).as_posix()
        if any(_matches(relative, pattern) for pattern in overrides.ignore):
            continue
        entry = classify_file(path)
        entry.relative = relative
        pin = overrides.pin_for(relative)
        if pin is not None:
            _apply_pin(entry, pin)
        files.append(entry)
    return PublishedFolder(root=root, files=files, settings=overrides.settings)


def _scan(root: Path) -> Iterable[Path]:
    for path in sorted(root.rglob("*")):
        relative_parts = path.relative_to(root).parts
        if any(part.startswith(".") for part in relative_parts):
            continue
        if path.is_file() and path.suffix.lower() in SCANNED_SUFFIXES:
            yield path


def classify_file(path: str | Path) -> DiscoveredFile:
    """Classify one file by its contents (see `KINDS`)."""
    file_path = Path(path)
    entry = DiscoveredFile(path=file_path, relative=file_path.name, kind="unknown")
    try:
        size = file_path.stat().st_size
        if size == 0:
            entry.reason = "empty file (0 bytes)"
            return entry
        suffix = file_path.suffix.lower()
        if suffix in _BINARY_GEO_SUFFIXES:
            _classify_boundaries(file_path, entry)
            return entry
        head, encoding = read_head(file_path, _HEAD_BYTES)
        entry.details["sample_encoding"] = encoding  # of the first 64 KB only
        problem = _not_data_text(head)
        if problem is not None:
            entry.reason = problem
        elif suffix == ".geojson" or (suffix == ".json" and _is_geojson(head)):
            _classify_boundaries(file_path, entry)
        elif suffix == ".json":
            entry.reason = "JSON but not GeoJSON (no FeatureCollection)"
        else:
            _classify_csv(file_path, head, entry, truncated=size > _HEAD_BYTES)
    except (OSError, UnicodeError, csv.Error) as error:
        entry.kind = "unknown"
        entry.reason = f"could not be read: {error}"
    return entry


def _not_data_text(head: str) -> str | None:
    """Why the start of a file shows it is not a data file, or None."""
    if not head.strip():
        return "only whitespace"
    start = head.lstrip("\ufeff \t\r\n")[:1024].lower()
    if start.startswith("\x00") or "\x00" in head[:1024]:
        return "binary data (NUL bytes), not text"
    if start.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in start:
        return "an HTML page, not data (probably an error or login page saved under this name)"
    if start.startswith("<?xml"):
        return "an XML document, not CSV"
    return None


def _is_geojson(head: str) -> bool:
    return '"features"' in head or '"FeatureCollection"' in head


# --- CSV -----------------------------------------------------------------------------------


def _count_lines(path: Path) -> int:
    """Physical lines in a file (a final line without a newline counts)."""
    count = 0
    last = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (1 if last not in (b"\n", b"") else 0)


def _data_rows(path: Path, header_lines: int) -> int:
    return max(_count_lines(path) - header_lines, 0)


def _classify_csv(path: Path, head: str, entry: DiscoveredFile, *, truncated: bool) -> None:
    lines = head.splitlines()
    if truncated and len(lines) > 1:
        lines = lines[:-1]  # the sample may end mid-row
    first = lines[0].lstrip("\ufeff") if lines else ""
    if first.startswith("Generated by") and "statistics.gov.scot" in first:
        _classify_statsgov_download(path, lines, entry)
        return
    rows = list(csv.reader([first, *lines[1 : _SAMPLE_ROWS + 1]]))
    header = [cell.strip() for cell in rows[0]]
    sample = rows[1:]
    lower = [cell.lower() for cell in header]
    entry.details["columns"] = len(header)

    def found(kind: str, reason: str, vintage: str | None = None) -> None:
        entry.kind, entry.reason, entry.vintage = kind, reason, vintage
        entry.rows = _data_rows(path, 1)

    if len(header) >= 3 and lower[:2] == ["dz", "dzname"]:
        match = _DATAZONE_LOOKUP_RANK.match(header[2])
        if match:
            vintage = match.group(1).lower()
            found("simd_datazone_lookup", f"header starts DZ,DZname,{header[2]}", vintage)
            return
    if "data_zone" in lower and any(_SIMD_RANK_COLUMN.search(name) for name in header):
        vintage = _simd_vintage(header)
        found("simd_withinds", f"Data_Zone and SIMD rank columns; vintage {vintage}", vintage)
        return
    if lower == _SPARQL_LONG_HEADER:
        year = sample[0][0].strip().rsplit("/", 1)[-1] if sample and sample[0] else None
        vintage = _vintage_of_sparql_year(year)
        entry.details["year"] = year
        found("simd_sparql_long", "SPARQL long header year,zone,domain,measure,value", vintage)
        return
    if set(lower) >= _CUBE_REQUIRED and ({"featurecode", "geographycode"} & set(lower)):
        found("cube_table", "cube-table header FeatureCode/GeographyCode,DateCode,Measurement,...")
        return
    lookup = match_lookup_header(header)
    if lookup is not None:
        entry.details["dz_version"] = lookup.dz_version
        found("dz_lookup", f"Data Zone lookup header ({lookup.dz_version})")
        return
    postcode = match_postcode_layout(header, load_postcode_layouts())
    if postcode is not None:
        _classify_postcodes(path, header, sample, postcode, entry)
        return
    if "sex" in lower and set(TOTAL_COLUMNS) & set(lower) and _has_single_years(header):
        found("population_sya", "data zone x sex x single year of age (0..90+)")
        entry.details["year_from_name"] = year_from_file_name(path)
        return
    if set(DZ_CODE_COLUMNS) & set(lower) and set(TOTAL_COLUMNS) & set(lower):
        found("population_total", "data zone total population")
        entry.details["year_from_name"] = year_from_file_name(path)
        return
    shown = ", ".join(_shorten(name) for name in header[:6]) + (", ..." if len(header) > 6 else "")
    entry.reason = f"header not recognised: {shown}"
    entry.rows = _data_rows(path, 1)


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _vintage_of_sparql_year(year: str | None) -> str | None:
    """The SIMD vintage whose statistics.gov.scot refPeriod is `year` (2020 -> 2020v2)."""
    if not year:
        return None
    from profiles.simd import vintage_for_sparql_year

    try:
        return vintage_for_sparql_year(year)
    except (KeyError, ValueError, ConfigError):
        return year if year in contract.SIMD_VINTAGES else None


def _has_single_years(header: list[str]) -> bool:
    ages = {name for name in header if _AGE_COLUMN.match(name)}
    return "0" in ages and any(name.endswith("+") for name in ages)


def _simd_vintage(header: list[str]) -> str | None:
    """SIMD vintage of a 'with indicators' header, from the SIMD parser when available."""
    try:
        from profiles.sources.simd import detect_simd_vintage
    except ImportError:  # the SIMD parser is optional for scanning
        return _own_simd_vintage(header)
    return detect_simd_vintage(header)


def _own_simd_vintage(header: list[str]) -> str | None:
    joined = ",".join(header).lower()
    if re.search(r"simd_?2020v2", joined):
        return "2020v2"
    if re.search(r"simd_?(20)?16", joined):
        return "2016"
    return None


def _classify_statsgov_download(path: Path, lines: list[str], entry: DiscoveredFile) -> None:
    blank = next((i for i, line in enumerate(lines) if not line.strip(" ,\t")), None)
    dataset = next(csv.reader([lines[1]]))[0] if len(lines) > 1 else ""
    entry.details["dataset"] = dataset
    entry.kind = "statsgov_download"
    if blank is None:
        entry.reason = "statistics.gov.scot download, but no end of preamble in the first 64 KB"
        entry.rows = None
        return
    header_lines = blank + 3
    entry.details["header_line"] = header_lines
    entry.reason = f"statistics.gov.scot 'download table' CSV of {dataset.rsplit('/', 1)[-1]}"
    entry.rows = _data_rows(path, header_lines)


def _classify_postcodes(
    path: Path,
    header: list[str],
    sample: list[list[str]],
    matched: tuple[Any, dict[str, str]],
    entry: DiscoveredFile,
) -> None:
    layout, columns = matched
    dz_index = header.index(columns["dz_code"])
    dz_values = [row[dz_index].strip() for row in sample if len(row) > dz_index]
    scottish = sum(value.startswith("S01") for value in dz_values)
    entry.details.update({"layout": layout.name, "scottish_rows_in_sample": scottish})
    entry.rows = _data_rows(path, 1)
    if dz_values and scottish == 0:
        entry.reason = (
            f"{layout.name.upper()}-style postcode directory, but none of its first "
            f"{len(dz_values)} rows has a Scottish data zone in {columns['dz_code']}"
        )
        return
    entry.kind = f"postcodes_{layout.name}"
    entry.reason = f"{layout.description} header"


# --- boundaries ------------------------------------------------------------------------------


def _classify_boundaries(path: Path, entry: DiscoveredFile) -> None:
    import pyogrio

    try:
        layers = pyogrio.list_layers(path)
        layer = str(layers[0][0]) if len(layers) else None
        info = pyogrio.read_info(path, layer=layer)
    except Exception as error:  # GDAL reports unreadable files with several error types
        entry.reason = f"not a readable boundary file: {error}"
        return
    entry.details.update({"layer": layer, "layers": len(layers), "crs": info.get("crs")})
    features = int(info.get("features", -1))
    entry.rows = features if features >= 0 else None
    if features == 0:
        entry.reason = "a spatial file with no features"
        return
    geometry_type = str(info.get("geometry_type") or "")
    if "Point" in geometry_type or "Line" in geometry_type:
        entry.reason = f"{geometry_type} features, not area polygons"
        return
    fields = [str(name) for name in info["fields"]]
    all_fields = load_boundary_fields()
    sample = pyogrio.read_dataframe(path, layer=layer, read_geometry=False, max_features=20)
    for area_type, kind in _BOUNDARY_KINDS.items():
        area_fields = all_fields[area_type]
        matched = match_boundary_fields(fields, area_fields)
        if matched is None or area_fields.code_pattern is None:
            continue
        values = sample[matched[0]].dropna().astype(str).str.strip()
        if len(values) and values.str.fullmatch(area_fields.code_pattern.pattern).all():
            entry.kind = kind
            entry.details["code_field"] = matched[0]
            entry.reason = f"{area_type} boundaries (code property {matched[0]!r})"
            return
    for area_type, kind in _BOUNDARY_KINDS.items():
        pattern = all_fields[area_type].code_pattern
        for column in sample.columns:
            values = sample[column].dropna().astype(str).str.strip()
            if pattern is not None and len(values) and values.str.fullmatch(pattern.pattern).all():
                entry.kind = kind
                entry.details["code_field"] = str(column)
                entry.reason = f"{area_type} boundaries (codes found in property {column!r})"
                return
    entry.reason = f"polygons, but no data zone, IZ or ward code property among {fields[:8]}"


# --- sources.yaml --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pin:
    kind: str
    vintage: str | None
    primary: bool


@dataclass
class _Overrides:
    pins: dict[str, _Pin]
    ignore: list[str]
    settings: dict[str, Any] = field(default_factory=dict)

    def pin_for(self, relative: str) -> _Pin | None:
        if relative in self.pins:
            return self.pins[relative]
        return next(
            (pin for pattern, pin in self.pins.items() if _matches(relative, pattern)), None
        )


def _matches(relative: str, pattern: str) -> bool:
    """A relative path matches a pattern on its full path or, for bare patterns, its name."""
    if fnmatch.fnmatchcase(relative, pattern):
        return True
    return "/" not in pattern and fnmatch.fnmatchcase(relative.rsplit("/", 1)[-1], pattern)


def _read_overrides(root: Path) -> _Overrides:
    path = root / OVERRIDES_FILE
    if not path.is_file():
        return _Overrides(pins={}, ignore=[])
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from error
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping with 'files' and/or 'ignore'")
    pins: dict[str, _Pin] = {}
    for pattern, spec in (document.get("files") or {}).items():
        if isinstance(spec, str):
            spec = {"kind": spec}
        if not isinstance(spec, dict) or spec.get("kind") not in KINDS:
            raise ConfigError(
                f"{path}: entry {pattern!r} needs a kind, one of {', '.join(KINDS)}; got {spec!r}"
            )
        vintage = spec.get("vintage")
        pins[str(pattern)] = _Pin(
            kind=spec["kind"],
            vintage=str(vintage) if vintage is not None else None,
            primary=bool(spec.get("primary", False)),
        )
    ignore = document.get("ignore") or []
    if not isinstance(ignore, list):
        raise ConfigError(f"{path}: 'ignore' must be a list of glob patterns")
    settings = document.get("settings") or {}
    if not isinstance(settings, dict):
        raise ConfigError(f"{path}: 'settings' must be a mapping")
    n_zones = settings.get("simd_n_zones")
    if n_zones is not None and (not isinstance(n_zones, int) or n_zones < 1):
        raise ConfigError(f"{path}: settings.simd_n_zones must be a positive whole number")
    return _Overrides(
        pins=pins, ignore=[str(pattern) for pattern in ignore], settings=dict(settings)
    )


def _apply_pin(entry: DiscoveredFile, pin: _Pin) -> None:
    sniffed = entry.kind
    entry.details["sniffed_kind"] = sniffed
    entry.kind = pin.kind
    if pin.vintage is not None:
        entry.vintage = pin.vintage
    elif pin.kind != sniffed:
        entry.vintage = None
    entry.pinned = True
    entry.pinned_primary = pin.primary
    entry.reason = f"pinned by {OVERRIDES_FILE}" + (
        "" if sniffed == pin.kind else f" (contents looked like {sniffed}: {entry.reason})"
    )
    if entry.rows is None and entry.path.suffix.lower() == ".csv" and entry.path.stat().st_size:
        entry.rows = _data_rows(entry.path, 1)
