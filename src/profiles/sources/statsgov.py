"""Parsers for two statistics.gov.scot CSV formats: SPARQL results and cube-table downloads.

What belongs here: reading (a) a SPARQL `SELECT ?year ?zone ?domain ?measure ?value`
result over the SIMD cube, saved as CSV with labels ("2016", "S01008686", "Access To
Services", "Rank") or with full URIs as values, into `contract.STG_SIMD_RANK_COLUMNS`; and
(b) a "cube-table" whole-cube download (`FeatureCode` or older `GeographyCode`,
`DateCode`, `Measurement`, `Units`, `Value`, extra dimension columns, optional
`DataMarker`) into a long snake_case frame. Downloading is `profiles.live`'s job; the
cell rules (`*`, empty, thousands separators) are shared with `profiles.sources.simd`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from profiles import contract
from profiles.errors import SourceFormatError
from profiles.simd import BANDS, get_simd_vintage, load_simd_vintages, simd_bands
from profiles.sources.simd import (
    FIRST_DATA_LINE,
    check_ranks,
    match_columns,
    normalise_header_name,
    nullable_floats,
    parse_numeric_cells,
    read_text_csv,
)

SPARQL_COLUMNS: Final[tuple[str, ...]] = ("year", "zone", "domain", "measure", "value")
MEASURES: Final[tuple[str, ...]] = ("rank", *(band for band, _ in BANDS))

# statistics.gov.scot names SIMD domains by label ("Education Skills And Training") or by
# the last segment of http://statistics.gov.scot/def/concept/simd-domain/<slug>; both are
# reduced to a dash-separated lower-case key first.
DOMAIN_KEYS: Final[dict[str, str]] = {
    "simd": "overall",
    "overall": "overall",
    "income": "income",
    "employment": "employment",
    "health": "health",
    "education": "education",
    "education-skills-and-training": "education",
    "access": "access",
    "access-to-services": "access",
    "geographic-access": "access",
    "geographic-access-to-services": "access",
    "crime": "crime",
    "housing": "housing",
}

CUBE_CORE_COLUMNS: Final[tuple[str, ...]] = (
    "feature_code",
    "date_code",
    "measurement",
    "units",
    "value",
    "data_marker",
)
_FEATURE_COLUMNS: Final[tuple[str, ...]] = ("FeatureCode", "GeographyCode")
_URI = re.compile(r"^https?://", re.IGNORECASE)
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def snake_case(name: str) -> str:
    """`SIMD Domain` -> `simd_domain`, `Number Of Awards` -> `number_of_awards`."""
    return _NOT_ALNUM.sub("_", str(name).strip().casefold()).strip("_")


def _uri_tail(values: pd.Series) -> pd.Series:
    """Values stripped of spaces; a full URI is reduced to its last path segment."""
    stripped = values.astype(str).str.strip()
    is_uri = stripped.str.match(_URI.pattern, case=False)
    return stripped.where(~is_uri, stripped.str.replace(r"^.*[/#]", "", regex=True))


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def detect_statsgov_format(header: Sequence[str]) -> str | None:
    """`"sparql_simd_long"`, `"cube_table"` or `None`, from a CSV header alone."""
    keys = {normalise_header_name(name) for name in header}
    if {normalise_header_name(name) for name in SPARQL_COLUMNS} <= keys:
        return "sparql_simd_long"
    core = {"datecode", "measurement", "units", "value"}
    if core <= keys and keys & {"featurecode", "geographycode"}:
        return "cube_table"
    return None


# --- SPARQL long SIMD results ----------------------------------------------------------


def read_simd_sparql_long(
    path: str | Path, *, config_dir: str | Path | None = None, n_zones: int | None = None
) -> pd.DataFrame:
    """Read a SPARQL CSV result `year, zone, domain, measure, value` over the SIMD cube.

    Returns `contract.STG_SIMD_RANK_COLUMNS`, one row per (zone, vintage, domain), sorted by
    zone, vintage and domain (contract order). The vintage comes from the year via
    `simd_vintages.csv` `sparql_year` (2020 -> `2020v2`). Bands are kept as published;
    a band measure absent for a zone is computed with `simd_bands` and the vintage's cut
    rule. Zones may be any subset of Scotland's. Raises `SourceFormatError` (file, line,
    column) for an unknown year, domain or measure, a value that is not a number, a repeated
    (zone, year, domain, measure), a zone without a rank, or a rank or band out of range.
    """
    file_path = Path(path)
    raw = read_text_csv(file_path)
    columns = match_columns(raw, SPARQL_COLUMNS, file_path)
    if raw.empty:
        raise SourceFormatError(file_path, "the SPARQL result has no rows")

    zone = _uri_tail(raw[columns["zone"]])
    bad = ~zone.str.fullmatch(contract.DZ_CODE.pattern).to_numpy()
    if bad.any():
        first = _first_bad(bad)
        raise SourceFormatError(
            file_path,
            f"{raw[columns['zone']].iloc[first]!r} is not a data zone code or URI "
            "(a zone label that is a name needs skos:notation in the query)",
            row=first + FIRST_DATA_LINE,
            field=columns["zone"],
        )

    year_to_vintage = {v.sparql_year: v.vintage for v in load_simd_vintages(config_dir).values()}
    year = _uri_tail(raw[columns["year"]])
    vintage = year.map(year_to_vintage)
    _raise_unmapped(vintage, raw, columns["year"], file_path, "a SIMD year in simd_vintages.csv")

    domain_key = _uri_tail(raw[columns["domain"]]).str.casefold()
    domain_key = domain_key.str.replace(r"[^0-9a-z]+", "-", regex=True).str.strip("-")
    domain = domain_key.map(DOMAIN_KEYS)
    _raise_unmapped(domain, raw, columns["domain"], file_path, "a SIMD domain")

    measure = _uri_tail(raw[columns["measure"]]).str.casefold()
    measure = measure.where(measure.isin(MEASURES))
    _raise_unmapped(measure, raw, columns["measure"], file_path, "one of " + ", ".join(MEASURES))

    values = parse_numeric_cells(
        raw[columns["value"]], path=file_path, field=columns["value"], suppression_marker=None
    ).values
    missing = np.isnan(values)
    if missing.any():
        raise SourceFormatError(
            file_path,
            "empty value",
            row=_first_bad(missing) + FIRST_DATA_LINE,
            field=columns["value"],
        )

    long = pd.DataFrame(
        {"dz_code": zone, "vintage": vintage, "domain": domain, "measure": measure, "value": values}
    )
    keys = ["dz_code", "vintage", "domain", "measure"]
    repeated = long.duplicated(keys).to_numpy()
    if repeated.any():
        second = _first_bad(repeated)
        raise SourceFormatError(
            file_path,
            "the same zone, year, domain and measure appear twice",
            row=second + FIRST_DATA_LINE,
            field=columns["value"],
        )
    long["line"] = np.arange(len(long)) + FIRST_DATA_LINE
    wide = long.pivot(index=keys[:3], columns="measure", values="value")
    wide = wide.reindex(columns=list(MEASURES))
    # File line of each (zone, vintage, domain) x measure value, for error messages.
    lines = long.pivot(index=keys[:3], columns="measure", values="line")
    lines = lines.reindex(index=wide.index, columns=list(MEASURES))
    no_rank = wide["rank"].isna().to_numpy()
    if no_rank.any():
        at = _first_bad(no_rank)
        raise SourceFormatError(
            file_path,
            f"zone {wide.index[at][0]} has no Rank for domain {wide.index[at][2]}",
            row=int(lines.iloc[at].min()),
            field=columns["measure"],
        )

    wide = wide.reset_index()
    lines = lines.reset_index(drop=True)
    parts = []
    for vintage_id, group in wide.groupby("vintage", sort=True):
        group_lines = lines.loc[group.index].reset_index(drop=True)
        parts.append(
            _fill_bands(
                group, str(vintage_id), group_lines, file_path, columns, config_dir, n_zones
            )
        )
    ranks = pd.concat(parts, ignore_index=True)
    ranks["domain_order"] = ranks["domain"].map(
        {domain: order for order, domain in enumerate(contract.SIMD_DOMAINS)}
    )
    ranks = ranks.sort_values(["dz_code", "vintage", "domain_order"], ignore_index=True)
    frame = pd.DataFrame(
        {
            "dz_code": pd.array(ranks["dz_code"], dtype="string"),
            "vintage": pd.array(ranks["vintage"], dtype="string"),
            "domain": pd.array(ranks["domain"], dtype="string"),
            "rank": ranks["rank"].to_numpy(dtype="float64"),
            **{band: pd.array(ranks[band], dtype="Int64") for band, _ in BANDS},
            "source_file": pd.array([file_path.name] * len(ranks), dtype="string"),
        }
    )
    return frame.loc[:, list(contract.STG_SIMD_RANK_COLUMNS)]


def _raise_unmapped(
    mapped: pd.Series, raw: pd.DataFrame, column: str, path: Path, expected: str
) -> None:
    unmapped = mapped.isna().to_numpy()
    if unmapped.any():
        first = _first_bad(unmapped)
        raise SourceFormatError(
            path,
            f"{raw[column].iloc[first]!r} is not {expected}",
            row=first + FIRST_DATA_LINE,
            field=column,
        )


def _fill_bands(
    group: pd.DataFrame,
    vintage: str,
    lines: pd.DataFrame,
    path: Path,
    columns: dict[str, str],
    config_dir: str | Path | None,
    n_zones: int | None = None,
) -> pd.DataFrame:
    """Check one vintage's ranks and published bands; compute the bands that are absent."""
    config = get_simd_vintage(vintage, config_dir)
    if n_zones is not None:
        config = dataclasses.replace(config, n_zones=int(n_zones))
    group = group.reset_index(drop=True)
    ranks = group["rank"].to_numpy(dtype="float64")
    try:
        check_ranks(ranks, config.n_zones, path=path, field=columns["value"])
    except SourceFormatError as error:
        # check_ranks counts rows of its input; report the file line of that Rank instead.
        at = int(error.row or FIRST_DATA_LINE) - FIRST_DATA_LINE
        line = int(lines["rank"].iloc[at])
        raise SourceFormatError(path, error.reason, row=line, field=error.field) from None
    is_overall = (group["domain"] == "overall").to_numpy()
    computed = {
        rule: simd_bands(pd.Series(ranks), config.n_zones, rule)
        for rule in {config.overall_band_cuts, config.domain_band_cuts}
    }
    for band, n_bands in BANDS:
        published = group[band].to_numpy(dtype="float64")
        present = ~np.isnan(published)
        bad = present & ((published % 1 != 0) | (published < 1) | (published > n_bands))
        if bad.any():
            at = _first_bad(bad)
            raise SourceFormatError(
                path,
                f"{band} {published[at]:g} is not a whole number in 1..{n_bands}",
                row=int(lines[band].iloc[at]),
                field=columns["value"],
            )
        filled = np.where(
            is_overall,
            computed[config.overall_band_cuts][band].to_numpy(dtype="int64"),
            computed[config.domain_band_cuts][band].to_numpy(dtype="int64"),
        )
        group[band] = np.where(present, published, filled).astype("int64")
    return group


# --- Cube-table downloads --------------------------------------------------------------


def read_cube_table(path: str | Path) -> pd.DataFrame:
    """Read a statistics.gov.scot "cube-table" CSV into a long snake_case frame.

    Columns: `feature_code` (from `FeatureCode`, or `GeographyCode` in older downloads),
    `date_code` (kept as the published string: "2017", "2014/15-2017/18", "Academic year
    2016-17" all occur), `measurement`, `units`, `value` (`Float64`; NULL where empty,
    `*`, or non-numeric with a `DataMarker` set), `data_marker` (NULL where empty or
    absent), then one column per extra dimension, named in snake_case (`SIMD Domain` ->
    `simd_domain`). Raises `SourceFormatError` for HTML/empty files, missing columns,
    dimension names that clash, or a value that is not a number without a data marker.
    """
    file_path = Path(path)
    raw = read_text_csv(file_path)
    keys = {normalise_header_name(column) for column in raw.columns}
    feature = next(
        (name for name in _FEATURE_COLUMNS if normalise_header_name(name) in keys),
        "FeatureCode",
    )
    required = (feature, "DateCode", "Measurement", "Units", "Value")
    columns = match_columns(raw, required, file_path)
    has_marker = normalise_header_name("DataMarker") in keys
    if has_marker:
        columns.update(match_columns(raw, ("DataMarker",), file_path))
    if raw.empty:
        raise SourceFormatError(file_path, "the cube table has no rows")

    used = set(columns.values())
    extras: dict[str, str] = {}
    for column in raw.columns:
        if column in used:
            continue
        name = snake_case(column)
        if not name or name in CUBE_CORE_COLUMNS or name in extras:
            raise SourceFormatError(
                file_path,
                f"dimension column {column!r} has no usable name or clashes as {name!r}",
                row=1,
                field=str(column),
            )
        extras[name] = column

    marker = (
        raw[columns["DataMarker"]].str.strip()
        if has_marker
        else pd.Series("", index=raw.index, dtype=object)
    )
    value_text = raw[columns["Value"]].str.strip()
    marked = (marker != "").to_numpy()
    if marked.any():
        numeric = pd.to_numeric(value_text, errors="coerce").notna().to_numpy()
        value_text = value_text.where(~(marked & ~numeric), "")
    values = parse_numeric_cells(value_text, path=file_path, field=columns["Value"]).values

    frame = pd.DataFrame(
        {
            "feature_code": pd.array(raw[columns[feature]].str.strip(), dtype="string"),
            "date_code": pd.array(raw[columns["DateCode"]].str.strip(), dtype="string"),
            "measurement": pd.array(raw[columns["Measurement"]].str.strip(), dtype="string"),
            "units": pd.array(raw[columns["Units"]].str.strip(), dtype="string"),
            "value": nullable_floats(values),
            "data_marker": pd.array(marker.where(marker != "", None), dtype="string"),
        }
    )
    for name, column in extras.items():
        frame[name] = pd.array(raw[column].str.strip(), dtype="string")
    return frame
