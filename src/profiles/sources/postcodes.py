"""Postcode normalisation and postcode directory parsers (ONS NSPL/ONSPD, NRS SPD).

What belongs here: turning a postcode as typed by a person or published in a directory
into the canonical 'DD1 1DD' form and the 'DD11DD' join key, and reading a postcode
directory into `contract.STG_POSTCODE_COLUMNS`. Which source column feeds which field is
configured per layout in `data/config/postcode_columns.yaml`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from profiles import contract
from profiles.errors import ConfigError, SourceFormatError
from profiles.text import detect_encoding

DEFAULT_COLUMNS_CONFIG = (
    Path(__file__).resolve().parents[3] / "data" / "config" / "postcode_columns.yaml"
)

# Outward code: area (1-2 letters), district digit, optional digit/letter; inward code:
# sector digit plus two unit letters, which never use C, I, K, M, O or V.
_POSTCODE_KEY = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][ABD-HJLNP-UW-Z]{2})$")
_SPLIT_SUFFIX_KEY = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][ABD-HJLNP-UW-Z]{2})([A-Z])$")
_SPECIAL_KEYS = {"GIR0AA": "GIR 0AA"}
_NOT_ALPHANUMERIC_ENDS = re.compile(r"^[^A-Z0-9]+|[^A-Z0-9]+$")
_WHITESPACE = re.compile(r"\s+")
# ONS writes this latitude (with longitude 0) for postcodes without a grid reference.
_NO_GRID_LATITUDE = 99.999999
_PSEUDO_CODE = re.compile(r"^[A-Z]\d{2}9{6}$")


def _postcode_key_parts(raw: str, *, allow_split_suffix: bool) -> tuple[str, str, str] | None:
    text = _NOT_ALPHANUMERIC_ENDS.sub("", _WHITESPACE.sub("", raw.upper()))
    if text in _SPECIAL_KEYS:
        return "GIR", "0AA", ""
    if match := _POSTCODE_KEY.match(text):
        return match.group(1), match.group(2), ""
    if allow_split_suffix and (match := _SPLIT_SUFFIX_KEY.match(text)):
        return match.group(1), match.group(2), match.group(3)
    return None


_KEY_PARTS = re.compile(
    r"^(?P<outward>[A-Z]{1,2}[0-9][A-Z0-9]?)(?P<inward>[0-9][ABD-HJLNP-UW-Z]{2})(?P<suffix>[A-Z]?)$"
)


def postcode_key_parts(postcodes: pd.Series) -> pd.DataFrame:
    """`_postcode_key_parts(..., allow_split_suffix=True)` of a whole column, vectorised
    (a directory has ~10^5-10^6 rows): columns outward, inward, suffix; all missing where
    the text is not a postcode shape."""
    text = (
        postcodes.astype("string")
        .str.upper()
        .str.replace(r"\s+", "", regex=True)
        .str.replace(_NOT_ALPHANUMERIC_ENDS.pattern, "", regex=True)
    )
    parts = text.str.extract(_KEY_PARTS)
    for key, outward in _SPECIAL_KEYS.items():
        special = (text == key).fillna(False).to_numpy()
        out_code, in_code = outward.split(" ")
        parts.loc[special, ["outward", "inward", "suffix"]] = [out_code, in_code, ""]
    return parts.astype(object).where(parts.notna(), None)


def normalise_postcode(raw: str, *, allow_split_suffix: bool = False) -> tuple[str, str] | None:
    """Canonical form and join key of a UK postcode, e.g. ' dd11dd' -> ('DD1 1DD', 'DD11DD').

    Tolerates any case, missing or extra spaces (including no-break spaces) and stray
    punctuation at either end. Returns None if the text is not a UK postcode *shape*, e.g.
    'DD2 5EJA' (a trailing letter), 'DD1 1CD' (C is never a unit letter) or 'DD1'. Whether
    the postcode exists is for the directory join to say ('EH30 9XX' has a valid shape).

    `allow_split_suffix=True` accepts the NRS split-postcode suffix ('DD2 5EJA' is the A
    part of DD2 5EJ) and returns the whole postcode without it.
    """
    if not isinstance(raw, str):
        return None
    parts = _postcode_key_parts(raw, allow_split_suffix=allow_split_suffix)
    if parts is None:
        return None
    outward, inward, _ = parts
    return f"{outward} {inward}", f"{outward}{inward}"


@dataclass(frozen=True)
class PostcodeLayout:
    """One directory layout from the config: staging field -> accepted source names."""

    name: str
    description: str
    required: tuple[str, ...]
    columns: dict[str, tuple[str, ...]]

    def resolve(self, header: list[str]) -> dict[str, str] | None:
        """Source column for each field found in `header`, or None if a required one is absent."""
        by_lower = {name.strip().lower(): name for name in header}
        found: dict[str, str] = {}
        for target, aliases in self.columns.items():
            source = next((by_lower[a.lower()] for a in aliases if a.lower() in by_lower), None)
            if source is not None:
                found[target] = source
        if any(target not in found for target in self.required):
            return None
        return found


def load_postcode_layouts(path: str | Path | None = None) -> list[PostcodeLayout]:
    """The layouts in `postcode_columns.yaml` (default: the repository's data/config copy)."""
    config_path = Path(path) if path is not None else DEFAULT_COLUMNS_CONFIG
    try:
        document = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        layouts = []
        for name, spec in document["layouts"].items():
            columns = {
                target: tuple([aliases] if isinstance(aliases, str) else aliases)
                for target, aliases in spec["columns"].items()
            }
            required = tuple(spec.get("required", ("postcode", "dz_code")))
            unknown = set(required) - set(columns)
            if unknown:
                raise ConfigError(f"{config_path}: layout {name} requires undefined {unknown}")
            layouts.append(PostcodeLayout(name, spec.get("description", ""), required, columns))
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as error:
        raise ConfigError(f"{config_path}: not a valid postcode column config ({error})") from error
    return layouts


def match_postcode_layout(
    header: list[str], layouts: list[PostcodeLayout] | None = None
) -> tuple[PostcodeLayout, dict[str, str]] | None:
    """The first configured layout that fits `header`, with its resolved columns."""
    for layout in layouts if layouts is not None else load_postcode_layouts():
        resolved = layout.resolve(header)
        if resolved is not None:
            return layout, resolved
    return None


@dataclass
class PostcodeLoad:
    """Result of reading a postcode directory: the staging frame and what was left out."""

    frame: pd.DataFrame
    layout: str
    rows_read: int
    rows_kept: int
    dropped_non_scottish: int
    dropped_no_geography: int
    dropped_invalid_postcode: int
    split_parts_dropped: int
    duplicates_dropped: int
    invalid_postcode_examples: list[str] = field(default_factory=list)

    def stats(self) -> dict[str, Any]:
        """The counts, for asset metadata and logs."""
        return {key: value for key, value in asdict(self).items() if key != "frame"}


def read_nspl(path: str | Path, *, columns_config: str | Path | None = None) -> PostcodeLoad:
    """Read an ONS NSPL/ONSPD or NRS Scottish Postcode Directory CSV.

    Keeps Scottish postcodes (data zone code `S01...`); rows whose data zone column holds
    another country's LSOA are dropped and counted, as are rows with no geography at all
    (terminated postcodes without a grid reference). `is_live` is true when the termination
    date is blank. Pseudo codes such as `S99999999` become missing. For NRS split postcodes
    the A part stands for the whole postcode (as NRS does) and later parts are dropped.
    """
    file_path = Path(path)
    layouts = load_postcode_layouts(columns_config)
    encoding = detect_encoding(file_path)
    try:
        header = list(pd.read_csv(file_path, nrows=0, encoding=encoding).columns)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise SourceFormatError(file_path, f"not a readable CSV: {error}") from error
    matched = match_postcode_layout(header, layouts)
    if matched is None:
        names = ", ".join(layout.name for layout in layouts)
        raise SourceFormatError(
            file_path,
            f"not a known postcode directory layout ({names}); header starts "
            f"{', '.join(header[:8])}",
            row=1,
        )
    layout, columns = matched
    raw = pd.read_csv(
        file_path,
        usecols=list(columns.values()),
        dtype=str,
        keep_default_na=False,
        encoding=encoding,
    )
    data = pd.DataFrame({target: raw[source].str.strip() for target, source in columns.items()})
    for optional in ("ward_code", "council_code", "easting", "northing", "latitude", "longitude"):
        if optional not in data:
            data[optional] = ""
    return _to_staging(data, file_path, layout.name, columns)


def _to_staging(
    data: pd.DataFrame, path: Path, layout: str, columns: dict[str, str]
) -> PostcodeLoad:
    rows_read = len(data)
    dz = data["dz_code"]
    no_geography = dz == ""
    non_scottish = ~no_geography & ~dz.str.startswith("S01")
    data = data[~no_geography & ~non_scottish]

    bad_dz = ~data["dz_code"].str.fullmatch(contract.DZ_CODE.pattern)
    if bad_dz.any():
        first = bad_dz.idxmax()
        raise SourceFormatError(
            path,
            f"{data.at[first, 'dz_code']!r} is not a data zone code",
            row=int(first) + 2,
            field=columns["dz_code"],
        )

    parts = postcode_key_parts(data["postcode"])
    invalid = parts["outward"].isna()
    examples = data.loc[invalid, "postcode"].head(5).tolist()
    data, parts = data[~invalid], parts[~invalid]
    later_split_part = ~parts["suffix"].isin(["", "A"])
    data, parts = data[~later_split_part], parts[~later_split_part]

    frame = pd.DataFrame(
        {
            "postcode": parts["outward"] + " " + parts["inward"],
            "postcode_key": parts["outward"] + parts["inward"],
            "dz_code": data["dz_code"],
            "ward_code": _area_codes(
                data["ward_code"], contract.WARD_CODE, path, columns, "ward_code"
            ),
            "council_code": _area_codes(
                data["council_code"], contract.COUNCIL_CODE, path, columns, "council_code"
            ),
            "easting": _numbers(data["easting"], path, columns, "easting").round().astype("Int64"),
            "northing": _numbers(data["northing"], path, columns, "northing")
            .round()
            .astype("Int64"),
            "latitude": _numbers(data["latitude"], path, columns, "latitude"),
            "longitude": _numbers(data["longitude"], path, columns, "longitude"),
            "is_live": data["date_terminated"] == "",
        }
    )
    no_grid = (frame["latitude"] == _NO_GRID_LATITUDE).fillna(False)
    frame.loc[no_grid, ["latitude", "longitude"]] = pd.NA

    # A directory lists a postcode once, but an SPD can hold a deleted and a reintroduced
    # record: keep the live one.
    frame = frame.sort_values("is_live", ascending=False, kind="stable")
    duplicated = frame["postcode_key"].duplicated(keep="first")
    frame = frame[~duplicated].sort_index()

    for column in ("postcode", "postcode_key", "dz_code", "ward_code", "council_code"):
        frame[column] = frame[column].astype("string")
    frame["is_live"] = frame["is_live"].astype(bool)
    frame["source_file"] = path.name
    frame = frame.loc[:, list(contract.STG_POSTCODE_COLUMNS)].reset_index(drop=True)
    return PostcodeLoad(
        frame=frame,
        layout=layout,
        rows_read=rows_read,
        rows_kept=len(frame),
        dropped_non_scottish=int(non_scottish.sum()),
        dropped_no_geography=int(no_geography.sum()),
        dropped_invalid_postcode=int(invalid.sum()),
        split_parts_dropped=int(later_split_part.sum()),
        duplicates_dropped=int(duplicated.sum()),
        invalid_postcode_examples=examples,
    )


def _area_codes(
    values: pd.Series, pattern: re.Pattern[str], path: Path, columns: dict[str, str], target: str
) -> pd.Series:
    """GSS codes with blanks and ONS pseudo codes (e.g. S99999999) as missing."""
    cleaned = values.where((values != "") & ~values.str.fullmatch(_PSEUDO_CODE.pattern))
    bad = cleaned.notna() & ~cleaned.fillna("").str.fullmatch(pattern.pattern)
    if bad.any():
        first = bad.idxmax()
        raise SourceFormatError(
            path,
            f"{values[first]!r} does not match {pattern.pattern}",
            row=int(first) + 2,
            field=columns.get(target, target),
        )
    return cleaned


def _numbers(values: pd.Series, path: Path, columns: dict[str, str], target: str) -> pd.Series:
    numbers = pd.to_numeric(values.where(values != ""), errors="coerce")
    bad = numbers.isna() & (values != "")
    if bad.any():
        first = bad.idxmax()
        raise SourceFormatError(
            path,
            f"{values[first]!r} is not a number",
            row=int(first) + 2,
            field=columns.get(target, target),
        )
    return numbers.astype("Float64")
