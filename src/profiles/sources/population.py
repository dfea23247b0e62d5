"""Parsers for NRS small-area population estimates into long `STG_POPULATION_COLUMNS` rows.

What belongs here: the per-data-zone total file (`dz11_code,dz11_name,total_population`),
the data zone x sex x single-year-of-age file (`dz11_code,total_population,sex,0,...,90+`),
and the statistics.gov.scot web "download table" CSV (a metadata preamble followed by a
pivot whose rows are areas of every type, identified by URI).
Output rows: `area_code` (GSS), `year`, `sex` in {all, female, male}, `age_band` (`all`,
a single year such as `7`, `90+`, or a band such as `16-64`), `population`, `source_file`.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from profiles import contract
from profiles.errors import SourceFormatError
from profiles.text import read_text_file

GSS_AREA_TYPES: dict[str, str] = {
    "S92": "country",
    "S12": "council",
    "S16": "scottish_parliament_constituency",
    "S14": "uk_parliament_constituency",
    "S08": "health_board",
    "S37": "health_and_social_care_partnership",
    "S13": "ward",
    "S02": "intermediate_zone",
    "S01": "data_zone",
}
"""Area type of a Scottish GSS code, by its three-character entity prefix."""

_YEAR_IN_NAME = re.compile(r"mid[-_ ]?((?:19|20)\d{2})", re.IGNORECASE)
_GSS_CODE = re.compile(r"^[A-Z]\d{8}$")
_AREA_URI_PREFIX = "http://statistics.gov.scot/id/statistical-geography/"
_SEXES = {"all": "all", "persons": "all", "female": "female", "females": "female"}
_SEXES |= {"male": "male", "males": "male"}

DZ_CODE_COLUMNS: tuple[str, ...] = (
    "dz11_code",
    "dz22_code",
    "datazone2011code",
    "datazone2022code",
    "datazone",
    "dz_code",
)
"""Accepted (lower-case) names of the data zone column in the NRS population files."""
TOTAL_COLUMNS: tuple[str, ...] = ("total_population", "total population", "population", "count")
"""Accepted (lower-case) names of the total population column."""


def year_from_file_name(path: str | Path) -> int | None:
    """The estimate year named in a file name such as `population_mid2021_...` (else None)."""
    match = _YEAR_IN_NAME.search(Path(path).name)
    return int(match.group(1)) if match else None


def _resolve_year(path: Path, year: int | None) -> int:
    if year is not None:
        return int(year)
    from_name = year_from_file_name(path)
    if from_name is None:
        raise SourceFormatError(
            path, "no year given and none in the file name (expected e.g. 'mid2021')"
        )
    return from_name


def _read_csv(path: Path, *, all_text: bool = True) -> pd.DataFrame:
    """Read a CSV with every column as text, or (`all_text=False`) letting pandas parse
    numeric columns, which is much faster for wide count tables."""
    text, _ = read_text_file(path)
    try:
        return pd.read_csv(
            io.StringIO(text), dtype=str if all_text else None, keep_default_na=False
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise SourceFormatError(path, f"not a readable CSV: {error}") from error


def _find_column(frame: pd.DataFrame, candidates: tuple[str, ...]) -> str | None:
    by_lower = {str(name).strip().lower(): name for name in frame.columns}
    return next((by_lower[name] for name in candidates if name in by_lower), None)


def _check_area_codes(
    codes: pd.Series, path: Path, field: str, pattern: re.Pattern[str] = _GSS_CODE
) -> None:
    bad = ~codes.str.fullmatch(pattern.pattern)
    if bad.any():
        first = bad.idxmax()
        raise SourceFormatError(
            path,
            f"{codes[first]!r} is not an area code (expected {pattern.pattern})",
            row=int(first) + 2,
            field=field,
        )


def _counts(values: pd.Series, path: Path, field: str, *, first_line: int = 2) -> pd.Series:
    """Whole non-negative numbers as Int64; anything else is an error naming the cell."""
    stripped = values.str.strip().str.replace(",", "", regex=False)
    numbers = pd.to_numeric(stripped, errors="coerce")
    bad = numbers.isna() | (numbers < 0) | (numbers % 1 != 0)
    if bad.any():
        first = bad.idxmax()
        raise SourceFormatError(
            path,
            f"{values[first]!r} is not a population count",
            row=int(first) + first_line,
            field=field,
        )
    return numbers.astype("Int64")


def _finish(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    frame["source_file"] = path.name
    frame["year"] = frame["year"].astype("int64")
    frame["population"] = frame["population"].astype("Int64")
    for column in ("area_code", "sex", "age_band"):
        frame[column] = frame[column].astype("string")
    return frame.loc[:, list(contract.STG_POPULATION_COLUMNS)].reset_index(drop=True)


def read_population_total(path: str | Path, year: int | None = None) -> pd.DataFrame:
    """Read the NRS total-population-per-data-zone file (`dz11_code,dz11_name,total_population`).

    `year` defaults to the year in the file name (`mid2021` -> 2021). Every row becomes
    sex `all`, age band `all`.
    """
    file_path = Path(path)
    the_year = _resolve_year(file_path, year)
    raw = _read_csv(file_path)
    code_column = _find_column(raw, DZ_CODE_COLUMNS)
    value_column = _find_column(raw, TOTAL_COLUMNS)
    if code_column is None or value_column is None:
        raise SourceFormatError(
            file_path,
            "expected a data zone code column (dz11_code) and a total_population column; "
            f"found {', '.join(map(str, raw.columns))}",
            row=1,
        )
    codes = raw[code_column].str.strip()
    _check_area_codes(codes, file_path, code_column, contract.DZ_CODE)
    duplicated = codes.duplicated()
    if duplicated.any():
        first = duplicated.idxmax()
        raise SourceFormatError(
            file_path, f"{codes[first]} appears twice", row=int(first) + 2, field=code_column
        )
    frame = pd.DataFrame(
        {
            "area_code": codes,
            "year": the_year,
            "sex": "all",
            "age_band": "all",
            "population": _counts(raw[value_column], file_path, value_column),
        }
    )
    return _finish(frame, file_path)


def _age_columns(columns: list[str]) -> list[str]:
    return [name for name in columns if re.fullmatch(r"\d{1,3}\+?", name.strip())]


def read_population_sya(path: str | Path, year: int | None = None) -> pd.DataFrame:
    """Read data zone x sex x single year of age (`dz11_code,total_population,sex,0,...,90+`).

    Returns one row per data zone, sex and age band: `all` (from `total_population`) plus
    each single year. Checks that the single years add up to the total on every row.
    """
    file_path = Path(path)
    the_year = _resolve_year(file_path, year)
    raw = _read_csv(file_path, all_text=False)
    code_column = _find_column(raw, DZ_CODE_COLUMNS)
    total_column = _find_column(raw, TOTAL_COLUMNS)
    sex_column = _find_column(raw, ("sex",))
    ages = _age_columns(list(raw.columns))
    if code_column is None or total_column is None or sex_column is None or not ages:
        raise SourceFormatError(
            file_path,
            "expected columns dz11_code, total_population, sex and single years 0..90+; "
            f"found {', '.join(map(str, raw.columns[:8]))}...",
            row=1,
        )
    codes = raw[code_column].astype(str).str.strip()
    _check_area_codes(codes, file_path, code_column, contract.DZ_CODE)
    sexes = raw[sex_column].astype(str).str.strip().str.lower().map(_SEXES)
    if sexes.isna().any():
        first = sexes.isna().idxmax()
        raise SourceFormatError(
            file_path,
            f"{raw.at[first, sex_column]!r} is not a sex (expected All/Female/Male)",
            row=int(first) + 2,
            field=sex_column,
        )
    duplicated = pd.Series(list(zip(codes, sexes, strict=True))).duplicated()
    if duplicated.any():
        first = duplicated.idxmax()
        raise SourceFormatError(
            file_path,
            f"{codes[first]} / {sexes[first]} appears twice",
            row=int(first) + 2,
            field=sex_column,
        )

    counts = _count_block(raw, ages, file_path)
    totals = _counts(raw[total_column].astype(str), file_path, total_column).to_numpy(dtype="int64")
    sums = counts.sum(axis=1)
    mismatch = sums != totals
    if mismatch.any():
        first = int(mismatch.argmax())
        raise SourceFormatError(
            file_path,
            f"single years sum to {int(sums[first])}, not the total {int(totals[first])}",
            row=first + 2,
            field=total_column,
        )

    # Built with numpy rather than DataFrame.melt: ~2 million rows, and repeat/tile share
    # the label objects instead of creating one string per cell.
    bands = np.array(["all", *(age.strip() for age in ages)], dtype=object)
    values = np.column_stack([totals, counts])
    long = pd.DataFrame(
        {
            "area_code": np.repeat(codes.to_numpy(dtype=object), len(bands)),
            "year": the_year,
            "sex": np.repeat(sexes.to_numpy(dtype=object), len(bands)),
            "age_band": np.tile(bands, len(raw)),
            "population": values.ravel(),
        }
    )
    return _finish(long, file_path)


def _count_block(raw: pd.DataFrame, columns: list[str], path: Path) -> np.ndarray:
    """The given columns as an int64 matrix; the first bad cell is reported by `_counts`."""
    block = raw[columns]
    if all(pd.api.types.is_integer_dtype(dtype) for dtype in block.dtypes):
        numbers = block.to_numpy(dtype="int64")
        if not (numbers < 0).any():
            return numbers
    for column in columns:
        _counts(raw[column].astype(str), path, column)
    raise AssertionError("unreachable: _counts raises on the bad cell")  # pragma: no cover


def read_statsgov_download(path: str | Path) -> tuple[dict[str, object], pd.DataFrame]:
    """Read a statistics.gov.scot web "download table" CSV.

    The file starts with a preamble (generator and time, dataset URI and title, one
    `dimension,value` line per fixed dimension such as `Reference Period,2018`, the cell
    measure), a blank line, a line of column URIs, then the pivot header and rows whose
    first cell is an area URI.

    Returns `(meta, frame)`. `meta` holds `generated_at`, `dataset_uri`, `dataset_title`,
    `dimensions` (dict of the fixed dimension lines, e.g. {"Reference Period": "2018",
    "Age": "All", "Sex": "All"}), `measure` (e.g. "Count(People)") and `column_uris`.
    `frame` has `area_code` (GSS code stripped from the URI), `area_name`, `area_type`
    (from `GSS_AREA_TYPES`, else the code prefix) and one string column per value column
    of the pivot, named as in the header.
    """
    file_path = Path(path)
    text, _ = read_text_file(file_path)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not rows[0] or not rows[0][0].startswith("Generated by"):
        raise SourceFormatError(
            file_path,
            "not a statistics.gov.scot download: the first line should start 'Generated by'",
            row=1,
        )
    blank = next((i for i, row in enumerate(rows) if not any(cell.strip() for cell in row)), None)
    if blank is None or blank < 2 or len(rows) < blank + 3:
        raise SourceFormatError(
            file_path, "no blank line ending the metadata preamble, or no table after it"
        )
    meta = _download_meta(rows[:blank])
    meta["column_uris"] = [cell for cell in rows[blank + 1] if cell.strip()]
    header_line = blank + 3  # 1-based line of the pivot header
    header = [cell.strip() for cell in rows[blank + 2]]
    if len(header) < 3 or not header[0].endswith("refArea"):
        raise SourceFormatError(
            file_path,
            f"expected the pivot header to start with a refArea URI; found {header[:3]}",
            row=header_line,
        )
    body = rows[blank + 3 :]
    width = len(header)
    for offset, row in enumerate(body):
        if len(row) != width:
            raise SourceFormatError(
                file_path,
                f"{len(row)} cells where the header has {width}",
                row=header_line + 1 + offset,
            )
    frame = pd.DataFrame(body, columns=header, dtype="string")
    uris = frame[header[0]].str.strip()
    codes = uris.str.removeprefix(_AREA_URI_PREFIX).str.rsplit("/", n=1).str[-1]
    bad = ~codes.str.fullmatch(_GSS_CODE.pattern)
    if bad.any():
        first = bad.idxmax()
        raise SourceFormatError(
            file_path,
            f"{uris[first]!r} is not a statistical-geography URI",
            row=header_line + 1 + int(first),
            field=header[0],
        )
    out = pd.DataFrame(
        {
            "area_code": codes,
            "area_name": frame[header[1]].map(str.strip).astype("string"),
            "area_type": codes.str[:3].map(lambda prefix: GSS_AREA_TYPES.get(prefix, prefix)),
        }
    )
    for column in header[2:]:
        out[column] = frame[column]
    meta["header_line"] = header_line
    return meta, out


def _download_meta(preamble: list[list[str]]) -> dict[str, object]:
    generated = preamble[0]
    meta: dict[str, object] = {
        "generated_by": generated[0].removeprefix("Generated by").strip(),
        "generated_at": generated[1].strip() if len(generated) > 1 else None,
        "dataset_uri": preamble[1][0].strip(),
        "dataset_title": preamble[1][1].strip() if len(preamble[1]) > 1 else None,
        "measure": None,
    }
    dimensions: dict[str, str] = {}
    for row in preamble[2:]:
        if not row:
            continue
        key = row[0].strip()
        value = row[1].strip() if len(row) > 1 else ""
        if key.lower().startswith("measure"):
            meta["measure"] = value
        else:
            dimensions[key] = value
    meta["dimensions"] = dimensions
    return meta


def _age_band(label: str) -> str | None:
    """Contract age band for a statistics.gov.scot age label, or None if unrecognised."""
    text = label.strip().lower()
    if text in {"all", "all ages"}:
        return "all"
    if match := re.fullmatch(r"(\d+)(?: years?)?", text):
        return match.group(1)
    if match := re.fullmatch(r"(?:[a-z ]*?)(\d+)\s*(?:-|to)\s*(\d+)(?: years)?", text):
        return f"{match.group(1)}-{match.group(2)}"
    if match := re.fullmatch(r"(?:[a-z ]*?)(\d+)\s*(?:\+|and over|years and over)", text):
        return f"{match.group(1)}+"
    if match := re.fullmatch(r"(?:[a-z ]*?)under (\d+)", text):
        return f"0-{int(match.group(1)) - 1}"
    return None


def population_from_statsgov_download(path: str | Path) -> pd.DataFrame:
    """Population rows (`STG_POPULATION_COLUMNS`) for every area in a statistics.gov.scot
    population download (Scotland, councils, wards, IZs, data zones, ...).

    Year, age and sex come from the preamble (`Reference Period`, `Age`, `Sex`); when the
    pivot's value columns are years instead, each becomes a year. The measure must be a count.
    """
    file_path = Path(path)
    meta, frame = read_statsgov_download(file_path)
    dimensions: dict[str, str] = meta["dimensions"]  # type: ignore[assignment]
    measure = str(meta.get("measure") or "")
    if "count" not in measure.lower():
        raise SourceFormatError(file_path, f"cell measure is {measure!r}, not a population count")
    value_columns = [c for c in frame.columns if c not in ("area_code", "area_name", "area_type")]
    age = _age_band(dimensions.get("Age", "All"))
    sex = _SEXES.get(dimensions.get("Sex", "All").strip().lower())
    if age is None or sex is None:
        raise SourceFormatError(
            file_path,
            "unrecognised Age/Sex in the preamble: "
            f"{dimensions.get('Age')!r}/{dimensions.get('Sex')!r}",
        )
    first_data_line = int(meta["header_line"]) + 1  # type: ignore[call-overload]
    if all(re.fullmatch(r"(19|20)\d{2}", column) for column in value_columns):
        year_columns = {column: int(column) for column in value_columns}
    elif len(value_columns) == 1 and re.fullmatch(
        r"(19|20)\d{2}", dimensions.get("Reference Period", "").strip()
    ):
        year_columns = {value_columns[0]: int(dimensions["Reference Period"])}
    else:
        raise SourceFormatError(
            file_path,
            "cannot tell the year: expected 'Reference Period,<year>' in the preamble with one "
            f"value column, or year columns; found columns {value_columns}",
        )
    parts = []
    for column, the_year in year_columns.items():
        counts = _counts(frame[column].astype(str), file_path, column, first_line=first_data_line)
        parts.append(
            pd.DataFrame(
                {
                    "area_code": frame["area_code"],
                    "year": the_year,
                    "sex": sex,
                    "age_band": age,
                    "population": counts,
                }
            )
        )
    return _finish(pd.concat(parts, ignore_index=True), file_path)
