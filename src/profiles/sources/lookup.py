"""Parser for the statistics.gov.scot Data Zone lookup (data zone -> IZ -> ward -> council).

What belongs here: reading the published lookup CSV (Windows-1252, CRLF, names with stray
spaces) into the staging frame `contract.STG_DZ_LOOKUP_COLUMNS`, and checking that it is a
proper hierarchy (valid GSS codes, one row per data zone, one name per code). The same
layout with 2022 data zone headers (`DZ2022_Code`, `DZ22_Code`, ...) is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from profiles import contract
from profiles.errors import SourceFormatError
from profiles.text import clean_name, detect_encoding

# Accepted header spellings per staging column: the statistics.gov.scot 2011 lookup first,
# then forms used by DZ2022 lookups. Matched case-insensitively.
_HEADER_PATTERNS: dict[str, re.Pattern[str]] = {
    "dz_code": re.compile(r"^DZ(2011|2022|11|22)_?Code$", re.IGNORECASE),
    "dz_name": re.compile(r"^DZ(2011|2022|11|22)_?Name$", re.IGNORECASE),
    "iz_code": re.compile(r"^IZ(2011|2022|11|22)_?Code$", re.IGNORECASE),
    "iz_name": re.compile(r"^IZ(2011|2022|11|22)_?Name$", re.IGNORECASE),
    "ward_code": re.compile(r"^MMWard(\d{2,4})?_?Code$", re.IGNORECASE),
    "ward_name": re.compile(r"^MMWard(\d{2,4})?_?Name$", re.IGNORECASE),
    "council_code": re.compile(r"^(LA|CA)(\d{2,4})?_?Code$", re.IGNORECASE),
    "council_name": re.compile(r"^(LA|CA)(\d{2,4})?_?Name$", re.IGNORECASE),
    "urban_rural_6": re.compile(r"^UR6(_?\d{4})?_?Code$", re.IGNORECASE),
    "urban_rural_6_name": re.compile(r"^UR6(_?\d{4})?_?Name$", re.IGNORECASE),
}
_OPTIONAL = frozenset({"urban_rural_6", "urban_rural_6_name"})

_CODE_PATTERNS: dict[str, re.Pattern[str]] = {
    "dz_code": contract.DZ_CODE,
    "iz_code": contract.IZ_CODE,
    "ward_code": contract.WARD_CODE,
    "council_code": contract.COUNCIL_CODE,
}
_NAME_OF = {
    "iz_code": "iz_name",
    "ward_code": "ward_name",
    "council_code": "council_name",
    "urban_rural_6": "urban_rural_6_name",
}


@dataclass(frozen=True)
class LookupHeader:
    """Which source column feeds each staging column (`None` for an absent optional one)."""

    columns: dict[str, str | None]
    dz_version: str  # "DZ2011" | "DZ2022"


def match_lookup_header(header: Sequence[str]) -> LookupHeader | None:
    """Map a CSV header to the lookup's staging columns, or `None` if it is not a DZ lookup."""
    stripped = [name.strip().lstrip("\ufeff") for name in header]
    columns: dict[str, str | None] = {}
    for target, pattern in _HEADER_PATTERNS.items():
        found = next((name for name in stripped if pattern.match(name)), None)
        if found is None and target not in _OPTIONAL:
            return None
        columns[target] = found
    dz_column = columns["dz_code"] or ""
    dz_version = "DZ2022" if re.search(r"(2022|22)", dz_column) else "DZ2011"
    return LookupHeader(columns=columns, dz_version=dz_version)


def read_dz_lookup(path: str | Path) -> pd.DataFrame:
    """Read a Data Zone lookup CSV into `contract.STG_DZ_LOOKUP_COLUMNS`.

    Names are cleaned (no-break and trailing spaces removed, curly apostrophes kept);
    `urban_rural_6` is the 6-fold urban-rural code as `Int64` (1 = large urban areas,
    6 = remote rural), missing when the file has no 6-fold column. `source_file` is the
    file name.

    Raises `SourceFormatError` naming the file, line and column when a required column is
    missing, a code does not have its GSS shape, a data zone appears twice, or one IZ, ward
    or council code carries two different names.
    """
    file_path = Path(path)
    encoding = detect_encoding(file_path)
    try:
        raw = pd.read_csv(file_path, dtype=str, keep_default_na=False, encoding=encoding)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise SourceFormatError(file_path, f"not a readable CSV: {error}") from error

    header = match_lookup_header(list(raw.columns))
    if header is None:
        raise SourceFormatError(
            file_path,
            "not a Data Zone lookup: expected columns like DZ2011_Code, DZ2011_Name, "
            "IZ2011_Code, IZ2011_Name, MMWard_Code, MMWard_Name, LA_Code, LA_Name; "
            f"found {', '.join(map(str, raw.columns[:12]))}",
            row=1,
        )

    frame = pd.DataFrame(index=raw.index)
    for target, source in header.columns.items():
        if source is None:
            frame[target] = pd.NA
        elif target.endswith("_name"):
            frame[target] = raw[source].map(clean_name)
        else:
            frame[target] = raw[source].str.strip()
    frame = frame.astype({name: "string" for name in frame.columns if name != "urban_rural_6"})

    _check_codes(frame, header, file_path)
    frame["urban_rural_6"] = _urban_rural_codes(frame["urban_rural_6"], header, file_path)
    _check_unique_data_zones(frame, header, file_path)
    _check_one_name_per_code(frame, header, file_path)

    frame["source_file"] = file_path.name
    return frame.loc[:, list(contract.STG_DZ_LOOKUP_COLUMNS)].reset_index(drop=True)


def _line(index: int) -> int:
    """1-based file line of a data row (the header is line 1)."""
    return int(index) + 2


def _check_codes(frame: pd.DataFrame, header: LookupHeader, path: Path) -> None:
    for target, pattern in _CODE_PATTERNS.items():
        values = frame[target]
        bad = ~values.str.fullmatch(pattern.pattern).fillna(False).astype(bool)
        if bad.any():
            first = bad.idxmax()
            shown = values[first] if values[first] != "" else "an empty value"
            raise SourceFormatError(
                path,
                f"{shown!r} is not a {target.removesuffix('_code')} code "
                f"(expected {pattern.pattern}); {int(bad.sum())} such rows",
                row=_line(first),
                field=header.columns[target],
            )


def _urban_rural_codes(values: pd.Series, header: LookupHeader, path: Path) -> pd.Series:
    if header.columns["urban_rural_6"] is None:
        return pd.Series(pd.NA, index=values.index, dtype="Int64")
    numbers = pd.to_numeric(values.str.strip(), errors="coerce").astype("Int64")
    bad = numbers.isna() | ~numbers.between(1, 6).fillna(False).astype(bool)
    if bad.any():
        first = bad.idxmax()
        raise SourceFormatError(
            path,
            f"{values[first]!r} is not a 6-fold urban-rural code (1-6)",
            row=_line(first),
            field=header.columns["urban_rural_6"],
        )
    return numbers


def _check_unique_data_zones(frame: pd.DataFrame, header: LookupHeader, path: Path) -> None:
    duplicated = frame["dz_code"].duplicated(keep="first")
    if duplicated.any():
        first = duplicated.idxmax()
        raise SourceFormatError(
            path,
            f"data zone {frame.at[first, 'dz_code']} appears more than once "
            "(a lookup must give each data zone exactly one ward and council)",
            row=_line(first),
            field=header.columns["dz_code"],
        )


def _check_one_name_per_code(frame: pd.DataFrame, header: LookupHeader, path: Path) -> None:
    for code_column, name_column in _NAME_OF.items():
        if header.columns[code_column] is None:
            continue
        first_name = frame.groupby(code_column)[name_column].transform("first")
        differs = frame[name_column] != first_name
        if differs.any():
            row = differs.idxmax()
            code = frame.at[row, code_column]
            raise SourceFormatError(
                path,
                f"{code} is named both {first_name[row]!r} and {frame.at[row, name_column]!r}",
                row=_line(row),
                field=header.columns[name_column],
            )
