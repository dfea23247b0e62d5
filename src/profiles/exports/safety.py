"""Safety of exported files: inert spreadsheet text, safe file names, paths that stay put.

What belongs here: the checks every export writer applies before a value or a file name
leaves the project. Nothing here knows about marts or layouts.

Formula injection (CSV/spreadsheet injection, OWASP)
    A spreadsheet treats a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, in some
    programs, a leading tab or carriage return) as a formula, so a community comment such as
    ``=HYPERLINK("http://x","click")`` could run when a pack is opened. Our choice:

    - Excel workbooks keep the text *identical* to the warehouse: the cell is written with
      the string data type explicitly (a writer may otherwise store a leading ``=`` as a
      formula) and with Excel's ``quotePrefix`` style, Excel's own apostrophe marker, so the
      value stays text even when a reader edits the cell and presses Enter.
    - CSV has no types, so a text cell that would trigger is prefixed with a single quote
      (``'``), as OWASP advises. CSV text can therefore differ from the warehouse by that
      leading quote; the Parquet files carry the exact text for R and Python users.
    - HTML escapes all text (Jinja2 autoescaping), which is the equivalent there.

    Triggers are checked after leading spaces, and full-width look-alikes (＝＋－＠) count
    too, because some spreadsheet programs normalise them.

File names
    `safe_file_name` reduces any text (a locality name such as ``../../etc`` or
    ``A/B: C*?``) to lower-case ASCII letters, digits and single hyphens, never empty,
    never a Windows reserved device name, and short; `unique_file_names` adds a suffix
    where two names reduce to the same text; `inside` refuses a path that would leave
    its folder.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
CSV_ESCAPE = "'"

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_WINDOWS_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(1, 10)),
    *(f"lpt{i}" for i in range(1, 10)),
}
MAX_NAME_LENGTH = 60


def starts_like_formula(value: object) -> bool:
    """True when a spreadsheet could read `value` (text) as a formula."""
    if not isinstance(value, str) or not value:
        return False
    if value[0] in FORMULA_TRIGGERS:
        return True
    stripped = value.lstrip(" ")
    return bool(stripped) and stripped[0] in FORMULA_TRIGGERS


_RE2_CLASS_ESCAPES = {"-": "\\-", "\t": "\\t", "\r": "\\r", "\n": "\\n"}
_FORMULA_START = "^ *[" + "".join(_RE2_CLASS_ESCAPES.get(c, c) for c in FORMULA_TRIGGERS) + "]"
"""RE2 pattern of `starts_like_formula`: a trigger as the first character after spaces."""


def formula_mask(values: pd.Series) -> pd.Series:
    """`starts_like_formula` of each value, vectorised (a pack's CSVs hold ~10^6 cells).

    Text columns are matched by pyarrow's RE2 (`_FORMULA_START`); a column that mixes text
    with other values (which are never formulas) is tested value by value.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pa.array(values.to_numpy(dtype=object, na_value=None), type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return values.map(starts_like_formula).astype(bool)
    hits = pc.match_substring_regex(text, _FORMULA_START).fill_null(False)
    return pd.Series(hits.to_numpy(zero_copy_only=False), index=values.index, dtype=bool)


def live_formula_cells(path: Path) -> dict[str, int]:
    """Column → number of cells of the CSV at `path` that a spreadsheet would run as a
    formula: text starting like one (`formula_mask`) that is not a number (a negative
    number starts with '-' and is no formula). Empty for a safe file.

    Read by pyarrow with every column as text (an empty cell is an empty string), and
    screened by RE2 in C++: the pack check reads every CSV of every pack.
    """
    import csv

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    with open(path, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    if not header:
        return {}
    table = pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    found: dict[str, int] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        starts = pc.match_substring_regex(column, _FORMULA_START)
        flagged = pd.Series(column.filter(starts).to_pylist(), dtype=object)
        risky = int(pd.to_numeric(flagged, errors="coerce").isna().sum()) if len(flagged) else 0
        if risky:
            found[name] = found.get(name, 0) + risky
    return found


def neutralise_for_csv(value: object) -> object:
    """`value` with a leading ``'`` when it is text that could run as a formula."""
    if starts_like_formula(value):
        return CSV_ESCAPE + str(value)
    return value


def neutralise_frame_for_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of `frame` whose text cells cannot run as formulas in a spreadsheet."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            flagged = formula_mask(series)
            if flagged.any():
                out[column] = series.astype(object).where(~flagged, CSV_ESCAPE + series.astype(str))
    return out


def safe_file_name(
    name: object, *, fallback: str = "unnamed", max_length: int = MAX_NAME_LENGTH
) -> str:
    """A file-name stem made of ``[a-z0-9-]`` only: no separators, dots, or reserved names.

    Accents are folded (``Lochee Ë`` → ``lochee-e``); anything else becomes a hyphen.
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", text.casefold()).strip("-")
    slug = slug[:max_length].rstrip("-")
    if not slug:
        slug = _NOT_SLUG.sub("-", fallback.casefold()).strip("-") or "unnamed"
    if slug in _WINDOWS_RESERVED:
        slug = f"{slug}-file"
    return slug


def unique_file_names(names: Sequence[object], *, fallback: str = "unnamed") -> list[str]:
    """`safe_file_name` of each name, with ``-2``, ``-3``... where two would collide.

    The result depends only on the order of `names`, so rebuilds give the same names.
    """
    seen: set[str] = set()
    result: list[str] = []
    for name in names:
        base = safe_file_name(name, fallback=fallback)
        candidate, counter = base, 1
        while candidate in seen:
            counter += 1
            candidate = f"{base}-{counter}"
        seen.add(candidate)
        result.append(candidate)
    return result


def inside(folder: Path, *parts: str) -> Path:
    """`folder / parts`, refusing anything that would resolve outside `folder`."""
    base = folder.resolve()
    target = base.joinpath(*parts).resolve()
    if target != base and base not in target.parents:
        raise ValueError(f"refusing to write outside {base}: {target}")
    return target
