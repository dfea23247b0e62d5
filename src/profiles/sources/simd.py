"""Parser for the Scottish Government's SIMD "with indicators" tables (one row per data zone).

What belongs here: reading `simd2016_withinds.csv` / `simd2020_withinds.csv` (2020v2) and
later vintages described in `data/config/simd_vintages.csv` into long staging frames
(ranks with bands, indicators with numerators, population), recognising a vintage from a
header, and the cell rules shared with the statistics.gov.scot parsers: percent strings
become proportions, `*` becomes a suppressed flag (never a zero), a configured missing
marker or an empty cell becomes "no value", anything else non-numeric is an error naming
the file, line and column.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from profiles import contract
from profiles.errors import SourceFormatError
from profiles.simd import (
    BANDS,
    IndicatorSpec,
    SimdVintage,
    get_simd_vintage,
    load_indicator_specs,
    load_simd_vintages,
    simd_bands,
)
from profiles.text import detect_encoding, read_head

FIRST_DATA_LINE = 2
"""File line of the first data row: the header is line 1."""

_HTML_START = re.compile(r"^\s*<(!doctype\s+html|html|head|body|\?xml)", re.IGNORECASE)
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_SEPARATORS = re.compile(r"[\s_]+")


@dataclass(frozen=True)
class SimdTables:
    """Everything one SIMD with-indicators file says, as staging frames.

    `ranks`: `contract.STG_SIMD_RANK_COLUMNS`, 8 rows per data zone (overall + 7 domains);
    `rank` is float64 so published x.5 ties survive; bands are `Int64` (overall: as
    published, checked against `simd_bands` with the vintage's `overall_band_cuts`;
    domains: computed with `simd_bands` and `domain_band_cuts`).
    `indicators`: `contract.STG_INDICATOR_COLUMNS`, one row per zone and published indicator.
    `population`: `dz_code, total_population, working_age_population` (`Int64`), the
    population the vintage's rates were computed with. `source_file` is the file name.
    """

    vintage: str
    ranks: pd.DataFrame
    indicators: pd.DataFrame
    population: pd.DataFrame
    source_file: str


@dataclass(frozen=True)
class ParsedCells:
    """Numbers read from one column: `values` is NaN where there is no value; `suppressed`
    is True exactly where the cell held the suppression marker."""

    values: np.ndarray
    suppressed: np.ndarray


# --- Reading CSV text ------------------------------------------------------------------


def normalise_header_name(name: str) -> str:
    """Key for matching column names: case-folded, BOM, spaces and underscores removed (so
    `Data Zone`, `data_zone `, `DataZone` and `Data_Zone` agree)."""
    return _SEPARATORS.sub("", str(name).lstrip("\ufeff")).casefold()


def read_text_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV with every cell as a string (`""` for empty), one row per file line.

    Blank lines are kept as empty rows so that row `i` is file line `i + 2`; blank lines
    at the end of the file are dropped. Header names are stripped. Raises
    `SourceFormatError` for a missing or empty file, an HTML page (a failed download) or
    text the CSV parser cannot split.
    """
    file_path = Path(path)
    if not file_path.is_file():
        raise SourceFormatError(file_path, "file not found")
    if file_path.stat().st_size == 0:
        raise SourceFormatError(file_path, "file is empty")
    head, _ = read_head(file_path, max_bytes=4096)
    if not head.strip():
        raise SourceFormatError(file_path, "file holds only blank lines")
    if _HTML_START.match(head):
        raise SourceFormatError(
            file_path, "this is an HTML page, not a CSV (a download that returned a web page?)"
        )
    try:
        frame = pd.read_csv(
            file_path,
            dtype=str,
            keep_default_na=False,
            encoding=detect_encoding(file_path),
            skip_blank_lines=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise SourceFormatError(file_path, f"not a readable CSV: {error}") from error
    frame.columns = [str(column).lstrip("\ufeff").strip() for column in frame.columns]
    filled = (frame != "").any(axis=1).to_numpy()
    last_filled = int(np.flatnonzero(filled)[-1]) + 1 if filled.any() else 0
    return frame.iloc[:last_filled].reset_index(drop=True)


def match_columns(frame: pd.DataFrame, wanted: Iterable[str], path: str | Path) -> dict[str, str]:
    """Map each wanted column name to the frame's spelling of it (`normalise_header_name`).

    Raises `SourceFormatError` on line 1 naming every wanted column that is absent, or a
    header where two columns normalise to the same name.
    """
    by_key: dict[str, str] = {}
    for column in frame.columns:
        key = normalise_header_name(column)
        if key in by_key:
            raise SourceFormatError(
                path, f"columns {by_key[key]!r} and {column!r} have the same name", row=1
            )
        by_key[key] = column
    found: dict[str, str] = {}
    missing: list[str] = []
    for name in wanted:
        actual = by_key.get(normalise_header_name(name))
        if actual is None:
            missing.append(name)
        else:
            found[name] = actual
    if missing:
        raise SourceFormatError(
            path,
            f"missing column(s) {', '.join(missing)}; the header has "
            f"{', '.join(map(str, frame.columns[:60]))}",
            row=1,
            field=missing[0],
        )
    return found


def parse_numeric_cells(
    cells: pd.Series,
    *,
    path: str | Path,
    field: str,
    allow_percent: bool = False,
    suppression_marker: str | None = "*",
    missing_markers: Sequence[str] = (),
) -> ParsedCells:
    """Read one column of published numbers (row `i` of `cells` is file line `i + 2`).

    Accepted cells: a number (`12`, `4563.5`, `-0.3`, `1,703` with thousands separators),
    a number followed by `%` when `allow_percent` (the `%` is dropped; scaling is the
    caller's), the suppression marker (value NaN, suppressed True), an empty cell or one of
    `missing_markers` (value NaN, suppressed False). Anything else raises
    `SourceFormatError` naming the file, line and `field`.
    """
    text = cells.to_numpy(dtype=object)
    # Plain numbers go through pandas' C parser; only the rest is looked at cell by cell.
    values = pd.to_numeric(cells, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    suppressed = np.zeros(len(text), dtype=bool)
    missing = frozenset(missing_markers)
    pending = np.flatnonzero(~np.isfinite(values))
    if allow_percent and len(pending):
        # Percent columns: strip the "%" in one vectorised pass, not cell by cell.
        rest = pd.Series(text[pending], dtype=object).astype(str).str.strip()
        is_percent = rest.str.endswith("%").to_numpy()
        body = rest.str.slice(stop=-1).where(is_percent, "")
        parsed = pd.to_numeric(body, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        done = is_percent & np.isfinite(parsed)
        values[pending[done]] = parsed[done]
        pending = pending[~done]
    for position in pending:
        cell = str(text[position]).strip()
        values[position] = np.nan
        if suppression_marker and cell == suppression_marker:
            suppressed[position] = True
            continue
        if cell == "" or cell in missing:
            continue
        is_percent = cell.endswith("%")
        body = cell[:-1].strip() if is_percent else cell
        if _GROUPED.fullmatch(body):
            body = body.replace(",", "")
        if not _NUMBER.fullmatch(body):
            allowed = ["a number"]
            if allow_percent:
                allowed.append("a percentage")
            if suppression_marker:
                allowed.append(repr(suppression_marker))
            allowed.extend(repr(marker) for marker in missing_markers)
            raise SourceFormatError(
                path,
                f"{cell!r} is not {', '.join(allowed)} or empty",
                row=int(position) + FIRST_DATA_LINE,
                field=field,
            )
        if is_percent and not allow_percent:
            raise SourceFormatError(
                path,
                f"{cell!r} is a percentage in a column that is not read as a proportion",
                row=int(position) + FIRST_DATA_LINE,
                field=field,
            )
        values[position] = float(body)
    return ParsedCells(values=values, suppressed=suppressed)


def nullable_floats(values: np.ndarray) -> pd.arrays.FloatingArray:
    """A `Float64` array that is NULL (not NaN) wherever `values` is NaN."""
    missing = np.isnan(values)
    return pd.arrays.FloatingArray(np.where(missing, 0.0, values), mask=missing)


def check_dz_codes(codes: pd.Series, *, path: str | Path, field: str) -> np.ndarray:
    """Stripped data zone codes, each `S01` + 6 digits and unique, else `SourceFormatError`."""
    stripped = codes.astype(str).str.strip().reset_index(drop=True)
    bad = ~stripped.str.fullmatch(contract.DZ_CODE.pattern).to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        shown = stripped[first] or "an empty value"
        raise SourceFormatError(
            path,
            f"{shown!r} is not a data zone code (S01 + 6 digits); {int(bad.sum())} such rows",
            row=first + FIRST_DATA_LINE,
            field=field,
        )
    repeated = stripped.duplicated().to_numpy()
    if repeated.any():
        second = int(np.flatnonzero(repeated)[0])
        first = int(np.flatnonzero((stripped == stripped[second]).to_numpy())[0])
        raise SourceFormatError(
            path,
            f"data zone {stripped[second]} appears twice (first on row {first + FIRST_DATA_LINE})",
            row=second + FIRST_DATA_LINE,
            field=field,
        )
    return stripped.to_numpy(dtype=object)


def check_ranks(values: np.ndarray, n_zones: int, *, path: str | Path, field: str) -> np.ndarray:
    """Ranks present, within 1..n_zones and whole or x.5 (a published tie), else an error
    naming line `i + 2` for element `i`."""
    ok = np.isfinite(values) & (values >= 1) & (values <= n_zones) & (values * 2 % 1 == 0)
    if not ok.all():
        first = int(np.flatnonzero(~ok)[0])
        shown = "missing" if np.isnan(values[first]) else f"{values[first]:g}"
        raise SourceFormatError(
            path,
            f"rank {shown} is not a whole or x.5 number in 1..{n_zones}",
            row=first + FIRST_DATA_LINE,
            field=field,
        )
    return values


# --- Vintage recognition ---------------------------------------------------------------


def _vintage_columns(config: SimdVintage) -> list[str]:
    return [
        config.dz_column,
        config.total_population_column,
        config.working_age_population_column,
        *config.rank_columns.values(),
        *config.band_columns.values(),
    ]


def detect_simd_vintage(
    header: Sequence[str], *, config_dir: str | Path | None = None
) -> str | None:
    """The SIMD vintage whose with-indicators header this is, or `None`.

    Cheap enough for a folder scan: only the header is looked at. A vintage matches when
    the header has its data zone column and its overall rank column (`SIMD2020v2_Rank`,
    `Overal_SIMD16_Rank`, ...), compared with `normalise_header_name`; if several match,
    the one with most of its configured columns present wins.
    """
    keys = {normalise_header_name(name) for name in header}
    best: tuple[int, str] | None = None
    for config in load_simd_vintages(config_dir).values():
        anchors = (config.dz_column, config.rank_columns["overall"])
        if not all(normalise_header_name(name) in keys for name in anchors):
            continue
        score = sum(normalise_header_name(name) in keys for name in _vintage_columns(config))
        if best is None or score > best[0]:
            best = (score, config.vintage)
    return best[1] if best else None


# --- The with-indicators table ---------------------------------------------------------


def read_simd_withinds(
    path: str | Path,
    vintage: str | None = None,
    *,
    config_dir: str | Path | None = None,
    n_zones: int | None = None,
) -> SimdTables:
    """Read a SIMD with-indicators CSV into `SimdTables`.

    `vintage` is recognised from the header when not given (`detect_simd_vintage`); a
    given vintage that the header contradicts raises `SourceFormatError`. Checks: every
    configured column present (case/space tolerant), data zone codes valid and unique,
    exactly `n_zones` rows, ranks in 1..n_zones (whole or x.5), published overall bands
    equal to `simd_bands`, populations whole and not negative, and every indicator cell a
    number, a percentage (proportion indicators only), `*` or a missing marker.

    `n_zones` overrides the vintage's national count for a folder that declares its own
    universe of data zones (the synthetic Demo City ranks its 340 zones 1..340).
    """
    file_path = Path(path)
    raw = read_text_csv(file_path)
    detected = detect_simd_vintage(list(raw.columns), config_dir=config_dir)
    if vintage is None:
        if detected is None:
            known = load_simd_vintages(config_dir).values()
            raise SourceFormatError(
                file_path,
                "not a SIMD with-indicators table: no known overall rank column ("
                + ", ".join(f"{v.rank_columns['overall']} for {v.vintage}" for v in known)
                + ")",
                row=1,
            )
        vintage = detected
    config = get_simd_vintage(vintage, config_dir)
    if n_zones is not None:
        config = dataclasses.replace(config, n_zones=int(n_zones))
    if detected is not None and detected != vintage:
        raise SourceFormatError(
            file_path,
            f"SIMD {vintage} was asked for but the header is SIMD {detected}'s",
            row=1,
            field=get_simd_vintage(detected, config_dir).rank_columns["overall"],
        )
    specs = load_indicator_specs(vintage, config_dir)
    wanted = _vintage_columns(config) + [spec.column for spec in specs]
    wanted += [spec.numerator_column for spec in specs if spec.numerator_column]
    columns = match_columns(raw, dict.fromkeys(wanted), file_path)

    dz_codes = check_dz_codes(
        raw[columns[config.dz_column]], path=file_path, field=columns[config.dz_column]
    )
    if len(dz_codes) != config.n_zones:
        raise SourceFormatError(
            file_path,
            f"{len(dz_codes)} data zones, but SIMD {vintage} ranks {config.n_zones}",
        )
    population = _read_population(raw, columns, config, file_path, dz_codes)
    ranks = _read_ranks(raw, columns, config, file_path, dz_codes)
    indicators = _read_indicators(raw, columns, config, specs, population, file_path, dz_codes)
    for frame in (ranks, indicators):
        frame["source_file"] = pd.array([file_path.name] * len(frame), dtype="string")
    return SimdTables(
        vintage=vintage,
        ranks=ranks,
        indicators=indicators,
        population=population,
        source_file=file_path.name,
    )


def _cells(
    raw: pd.DataFrame,
    columns: dict[str, str],
    name: str,
    path: Path,
    *,
    allow_percent: bool = False,
    suppression_marker: str | None = "*",
    missing_markers: Sequence[str] = (),
) -> ParsedCells:
    return parse_numeric_cells(
        raw[columns[name]],
        path=path,
        field=columns[name],
        allow_percent=allow_percent,
        suppression_marker=suppression_marker,
        missing_markers=missing_markers,
    )


def _read_population(
    raw: pd.DataFrame, columns: dict[str, str], config: SimdVintage, path: Path, dz: np.ndarray
) -> pd.DataFrame:
    frame = pd.DataFrame({"dz_code": pd.array(dz, dtype="string")})
    for target, name in (
        ("total_population", config.total_population_column),
        ("working_age_population", config.working_age_population_column),
    ):
        values = _cells(raw, columns, name, path, suppression_marker=None).values
        ok = np.isfinite(values) & (values >= 0) & (values % 1 == 0)
        if not ok.all():
            first = int(np.flatnonzero(~ok)[0])
            raise SourceFormatError(
                path,
                f"population {raw[columns[name]].iloc[first]!r} is not a whole number >= 0",
                row=first + FIRST_DATA_LINE,
                field=columns[name],
            )
        frame[target] = pd.array(values.astype("int64"), dtype="Int64")
    return frame


def _read_ranks(
    raw: pd.DataFrame, columns: dict[str, str], config: SimdVintage, path: Path, dz: np.ndarray
) -> pd.DataFrame:
    n_zones = config.n_zones
    domains = list(contract.SIMD_DOMAINS)
    rank_matrix = np.empty((len(dz), len(domains)), dtype="float64")
    band_matrix = {band: np.empty((len(dz), len(domains)), dtype="int64") for band, _ in BANDS}
    for position, domain in enumerate(domains):
        name = config.rank_columns[domain]
        cells = _cells(raw, columns, name, path, suppression_marker=None)
        rank_matrix[:, position] = check_ranks(
            cells.values, n_zones, path=path, field=columns[name]
        )
        rule = config.overall_band_cuts if domain == "overall" else config.domain_band_cuts
        computed = simd_bands(pd.Series(rank_matrix[:, position]), n_zones, rule)
        for band, _ in BANDS:
            band_matrix[band][:, position] = computed[band].to_numpy(dtype="int64")

    overall = domains.index("overall")
    for band, _ in BANDS:
        name = config.band_columns[band]
        published = _cells(raw, columns, name, path, suppression_marker=None).values
        expected = band_matrix[band][:, overall]
        wrong = ~(published == expected)
        if wrong.any():
            first = int(np.flatnonzero(wrong)[0])
            raise SourceFormatError(
                path,
                f"published {band} {raw[columns[name]].iloc[first]!r} disagrees with overall "
                f"rank {rank_matrix[first, overall]:g}, which is {band} {expected[first]} "
                f"with {config.overall_band_cuts}(b*N/k) cut points; {int(wrong.sum())} such rows",
                row=first + FIRST_DATA_LINE,
                field=columns[name],
            )

    n_rows = rank_matrix.size
    frame = pd.DataFrame(
        {
            "dz_code": pd.array(np.repeat(dz, len(domains)), dtype="string"),
            "vintage": pd.array([config.vintage] * n_rows, dtype="string"),
            "domain": pd.array(np.tile(domains, len(dz)), dtype="string"),
            "rank": rank_matrix.ravel(),
        }
    )
    for band, _ in BANDS:
        frame[band] = pd.array(band_matrix[band].ravel(), dtype="Int64")
    return frame


def _read_indicators(
    raw: pd.DataFrame,
    columns: dict[str, str],
    config: SimdVintage,
    specs: Sequence[IndicatorSpec],
    population: pd.DataFrame,
    path: Path,
    dz: np.ndarray,
) -> pd.DataFrame:
    shape = (len(dz), len(specs))
    value = np.full(shape, np.nan)
    numerator = np.full(shape, np.nan)
    denominator = np.full(shape, np.nan)
    suppressed = np.zeros(shape, dtype=bool)
    marker = config.suppression_marker
    missing = config.missing_markers
    for position, spec in enumerate(specs):
        cells = _cells(
            raw,
            columns,
            spec.column,
            path,
            allow_percent=spec.unit == "proportion",
            suppression_marker=marker,
            missing_markers=missing,
        )
        scaled = cells.values * spec.scale
        # 14 * 0.01 is 0.14000000000000001; round away the binary noise the scaling adds.
        value[:, position] = np.round(scaled, 12) if spec.scale != 1 else scaled
        suppressed[:, position] = cells.suppressed
        if spec.numerator_column and spec.denominator:
            counts = _cells(
                raw,
                columns,
                spec.numerator_column,
                path,
                suppression_marker=marker,
                missing_markers=missing,
            ).values
            known = ~np.isnan(counts)
            numerator[:, position] = counts
            base = population[spec.denominator].to_numpy(dtype="float64")
            # A denominator without its numerator would let naive sums mix bases.
            denominator[:, position] = np.where(known, base, np.nan)

    n_rows = value.size
    return pd.DataFrame(
        {
            "dz_code": pd.array(np.repeat(dz, len(specs)), dtype="string"),
            "vintage": pd.array([config.vintage] * n_rows, dtype="string"),
            "indicator": pd.array(np.tile([s.indicator for s in specs], len(dz)), dtype="string"),
            "value": nullable_floats(value.ravel()),
            "numerator": nullable_floats(numerator.ravel()),
            "denominator": nullable_floats(denominator.ravel()),
            "unit": pd.array(np.tile([s.unit for s in specs], len(dz)), dtype="string"),
            "suppressed": suppressed.ravel(),
        }
    )
