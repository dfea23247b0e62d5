"""Row and cell validation of a survey table: quarantine untrustworthy rows, set aside bad cells.

What belongs here: the nothing-lost policy (see data/config/surveys/README.md). A ROW is
quarantined when it cannot be trusted as one respondent's answer; a bad CELL is set aside
(NULL, logged with field and reason) while the rest of its row is kept. Checks are
vectorised over columns. Reason ids are stable snake_case strings:

Row reasons, first match wins, in this order (`ROW_REASONS`):
    unterminated_quote, empty_row, ragged_row, nul_bytes, cell_too_large,
    missing_response_id, duplicate_response_id (2nd and later use; the first is kept)
Cell reasons (`CELL_REASONS`):
    score_out_of_range, score_not_integer, excel_error ('#VALUE!', '#N/A', '#####'),
    excel_mangled (a score or age band turned into a date, a postcode into a number, a
    date into a serial number), date_unparseable, date_in_future, date_implausible
    (before 1990), age_band_unrecognised
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from profiles.voice.read import RawTable
from profiles.voice.schema import SurveySchema, normalise_column_name

ROW_REASONS: tuple[str, ...] = (
    "unterminated_quote",
    "empty_row",
    "ragged_row",
    "nul_bytes",
    "cell_too_large",
    "missing_response_id",
    "duplicate_response_id",
)
CELL_REASONS: tuple[str, ...] = (
    "score_out_of_range",
    "score_not_integer",
    "excel_error",
    "excel_mangled",
    "date_unparseable",
    "date_in_future",
    "date_implausible",
    "age_band_unrecognised",
)
EARLIEST_PLAUSIBLE_DATE = pd.Timestamp("1990-01-01")

EXCEL_ERROR = (
    r"#(?:VALUE!|N/A|REF!|DIV/0!|NAME\?|NUM!|NULL!|SPILL!|CALC!|GETTING_DATA|FIELD!|BLOCKED!"
    r"|UNKNOWN!|BUSY!)|#+"
)
"""Excel error values, and '#####' (a too-narrow column saved as displayed)."""
_EXCEL_ERROR = re.compile(EXCEL_ERROR)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
DATE_LIKE = (
    r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"
    r"|\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"
    rf"|(?i:\d{{1,2}}[ -]{_MONTH}(?:[ -]\d{{2,4}})?|{_MONTH}[ -]\d{{1,4}})"
)
"""A value Excel has turned into a date (scores formatted as dates, '5-15' read as 15 May)."""
NUMBER_LIKE = r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"
EXCEL_SERIAL_DATE = r"\d{5}(?:\.\d+)?"
_AGE_RANGE = re.compile(r"^(\d{1,3})-(\d{1,3})$")
_AGE_OPEN = re.compile(r"^(\d{1,3})(?:\+|andover|orover|plus|andolder|orolder)$")
_AGE_SINGLE = re.compile(r"^(\d{1,3})$")
_AGE_DASHES = re.compile(r"\s*(?:[-‐‑‒–—]|to)\s*")


@dataclass
class ValidatedRows:
    """Outcome of validation.

    `keep` is per row of the table; `quarantine` and `cell_issues` are keyed by `row`
    (position in the table); `values`, `scores` and `free_text` hold the kept rows only,
    indexed by that same row position.
    """

    keep: np.ndarray
    quarantine: pd.DataFrame
    cell_issues: pd.DataFrame
    values: pd.DataFrame
    scores: pd.DataFrame
    free_text: pd.DataFrame


def _stripped(series: pd.Series) -> pd.Series:
    return series.astype(str).str.strip()


def _column(table: RawTable, position: int | None) -> pd.Series:
    if position is None:
        return pd.Series("", index=table.cells.index, dtype=object)
    return table.cells[position]


def stripped_ids(table: RawTable) -> pd.Series:
    """Response ids as read, stripped of surrounding spaces ('' when blank or no column)."""
    position = table.columns.roles.get("response_id")
    if position is None:
        return pd.Series("", index=table.cells.index, dtype=object)
    return pd.Series([str(v).strip() for v in table.cells[position]], index=table.cells.index)


def _header_name(table: RawTable, position: int) -> str:
    name = table.header[position].strip()
    return name or f"column {position + 1}"


# --- rows ----------------------------------------------------------------------------------


def _record_fields(table: RawTable, row: int) -> list[str]:
    return table.irregular.get(row) or table.cells.iloc[row].tolist()


def _field_name(table: RawTable, position: int) -> str:
    if position < len(table.header):
        return _header_name(table, position)
    return f"field {position + 1}"


def _nul_details(table: RawTable) -> pd.Series:
    """'NUL byte(s) in field ...' for rows holding a NUL, else NA (only those rows scanned)."""
    detail = pd.Series(None, index=table.cells.index, dtype=object)
    for row in np.flatnonzero(table.record_nul):
        fields = _record_fields(table, int(row))
        position = next(i for i, value in enumerate(fields) if "\x00" in value)
        detail.iloc[row] = f"NUL byte(s) in field {_field_name(table, position)!r}"
    return detail


def _size_details(table: RawTable, limit: int) -> pd.Series:
    """A detail for rows with a cell over `limit` UTF-8 bytes, else NA.

    Only rows whose fields add up to more than limit/4 characters can hold such a cell
    (a character is at most 4 bytes), so only those are measured.
    """
    detail = pd.Series(None, index=table.cells.index, dtype=object)
    for row in np.flatnonzero(table.record_chars > limit // 4):
        for position, value in enumerate(_record_fields(table, int(row))):
            size = len(value.encode("utf-8"))
            if size > limit:
                name = _field_name(table, position)
                detail.iloc[row] = f"field {name!r} holds {size:,} bytes (limit {limit:,})"
                break
    return detail


def quarantine_reasons(table: RawTable, schema: SurveySchema) -> tuple[pd.Series, pd.Series]:
    """The row-level reason (or None) and a detail for every row, in `ROW_REASONS` order."""
    index = table.cells.index
    reason = pd.Series(None, index=index, dtype=object)
    detail = pd.Series(None, index=index, dtype=object)

    def assign(mask: pd.Series | np.ndarray, name: str, text: pd.Series | str) -> None:
        """Give rows in `mask` without a reason yet this one; `text` may cover only them."""
        hits = np.asarray(mask, dtype=bool) & reason.isna().to_numpy()
        if hits.any():
            where = index[hits]
            reason[where] = name
            detail[where] = text.reindex(where) if isinstance(text, pd.Series) else text

    problem = table.parse_problem.set_axis(index)
    assign(
        problem.eq("unterminated_quote"),
        "unterminated_quote",
        "a quote opened on this line is never closed; the line was set aside and reading "
        "resumed on the next line",
    )
    assign(table.record_blank & problem.isna().to_numpy(), "empty_row", "every field is blank")
    width = len(table.header)
    ragged_counts = pd.Series(table.field_count, index=index)[table.ragged]
    assign(
        table.ragged,
        "ragged_row",
        ragged_counts.map(lambda n: f"{n} fields where the header has {width}"),
    )
    assign(table.record_nul, "nul_bytes", _nul_details(table))
    too_large = _size_details(table, schema.max_cell_bytes)
    assign(too_large.notna(), "cell_too_large", too_large)

    ids = stripped_ids(table)
    assign(ids.eq(""), "missing_response_id", "the response id is blank")
    id_error = pd.Series(
        [value.startswith("#") and _EXCEL_ERROR.fullmatch(value) is not None for value in ids],
        index=index,
    )
    assign(
        id_error,
        "missing_response_id",
        ids[id_error].map(lambda value: f"the response id is the Excel error value {value!r}"),
    )
    candidates = reason.isna()
    duplicated = ids.where(candidates).duplicated(keep="first") & candidates
    if duplicated.any():
        rows = pd.Series(table.source_row, index=index)
        first_row = rows[candidates].groupby(ids[candidates]).transform("first")
        repeats = ids[duplicated]
        text = pd.Series(
            [
                f"response id {value!r} already used on row {first_row[row]}"
                + (
                    " (the id looks shortened by Excel)"
                    if re.fullmatch(r"\d(?:\.\d+)?[eE]\+\d+", value)
                    else ""
                )
                for row, value in repeats.items()
            ],
            index=repeats.index,
        )
        assign(duplicated, "duplicate_response_id", text)
    return reason, detail


# --- cells ---------------------------------------------------------------------------------


def check_scores(values: pd.Series, low: int, high: int) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Scores as Int64 (NA for blank or set aside), the cell reason, and a detail."""
    text = _stripped(values)
    blank = text.eq("")
    number = pd.to_numeric(text.where(~blank), errors="coerce")
    integral = number.notna() & np.isfinite(number) & (number % 1 == 0)
    in_range = integral & number.between(low, high)
    is_error = text.str.fullmatch(EXCEL_ERROR)
    is_date = text.str.fullmatch(DATE_LIKE)
    reason = pd.Series(
        np.select(
            [blank, in_range, is_error, is_date, ~integral],
            [None, None, "excel_error", "excel_mangled", "score_not_integer"],
            default="score_out_of_range",
        ),
        index=values.index,
        dtype=object,
    )
    detail = pd.Series(None, index=values.index, dtype=object)
    bad = reason.notna()
    if bad.any():
        explain = {
            "excel_error": "is an Excel error value",
            "excel_mangled": "looks like a date: Excel probably reformatted the score",
            "score_not_integer": f"is not a whole number {low}-{high}",
            "score_out_of_range": f"is outside the scale {low}-{high}",
        }
        detail[bad] = [
            f"{value!r} {explain[why]}" for value, why in zip(text[bad], reason[bad], strict=True)
        ]
    scores = number.where(in_range).astype("Int64")
    return scores, reason, detail


def parse_dates(
    values: pd.Series, formats: tuple[str, ...], today: date
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Timestamps (UTC, naive; NaT when blank or set aside), the cell reason, a detail.

    Formats are tried in order on the values still unparsed. Values with an offset are
    converted to UTC; values without one are taken as UTC.
    """
    text = _stripped(values)
    blank = text.eq("")
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    for fmt in formats:
        todo = parsed.isna() & ~blank
        if not todo.any():
            break
        attempt = pd.to_datetime(text[todo], format=fmt, errors="coerce", utc=True)
        parsed[todo] = attempt
    stamps = parsed.dt.tz_convert(None).astype("datetime64[ns]")
    tomorrow = pd.Timestamp(today) + pd.Timedelta(days=1)
    is_error = text.str.fullmatch(EXCEL_ERROR)
    is_serial = text.str.fullmatch(EXCEL_SERIAL_DATE)
    reason = pd.Series(
        np.select(
            [
                blank,
                is_error,
                stamps.isna() & is_serial,
                stamps.isna(),
                stamps >= tomorrow,
                stamps < EARLIEST_PLAUSIBLE_DATE,
            ],
            [
                None,
                "excel_error",
                "excel_mangled",
                "date_unparseable",
                "date_in_future",
                "date_implausible",
            ],
            default=None,
        ),
        index=values.index,
        dtype=object,
    )
    detail = pd.Series(None, index=values.index, dtype=object)
    bad = reason.notna()
    if bad.any():
        explain = {
            "excel_error": "is an Excel error value (a column too narrow shows '#####')",
            "excel_mangled": "looks like an Excel date serial number, not a date",
            "date_unparseable": "is not a date in any accepted format",
            "date_in_future": f"is after the ingest date {today.isoformat()}",
            "date_implausible": f"is before {EARLIEST_PLAUSIBLE_DATE.date().isoformat()}",
        }
        detail[bad] = [
            f"{value!r} {explain[why]}" for value, why in zip(text[bad], reason[bad], strict=True)
        ]
    return stamps.where(reason.isna()), reason, detail


def _age_label(value: str, schema: SurveySchema) -> tuple[str | None, bool]:
    """(harmonised band or None, recognised?) for one distinct age answer."""
    key = normalise_column_name(value)
    if key in schema.age_aliases:
        return schema.age_aliases[key], True
    compact = _AGE_DASHES.sub("-", value.casefold().strip())
    compact = re.sub(r"\s+|years?|yrs?|old", "", compact)
    bands = schema.age_bands
    if match := _AGE_SINGLE.match(compact):
        age = int(match.group(1))
        for band in bands:
            if band.low <= age and (band.high is None or age <= band.high):
                return band.label, True
        return None, False
    if match := _AGE_RANGE.match(compact):
        low, high = int(match.group(1)), int(match.group(2))
        for band in bands:
            if band.low <= low and band.high is not None and high <= band.high:
                return band.label, True
        return None, False
    if match := _AGE_OPEN.match(compact):
        low = int(match.group(1))
        for band in bands:
            if band.high is None and band.low <= low:
                return band.label, True
    return None, False


def harmonise_age_bands(
    values: pd.Series, schema: SurveySchema
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Harmonised band labels; unrecognised answers are set aside (`age_band_unrecognised`).

    Exported bands must sit inside one configured band ('16 to 24', '18-24', '34');
    bands that straddle two ('20-29') are not guessed at.
    """
    text = _stripped(values)
    lookup: dict[str, tuple[str | None, str | None]] = {}
    for value in text.unique():
        if value == "":
            lookup[value] = (None, None)
        elif re.fullmatch(EXCEL_ERROR, value):
            lookup[value] = (None, "excel_error")
        else:
            label, recognised = _age_label(value, schema)
            if not recognised and re.fullmatch(DATE_LIKE, value):
                lookup[value] = (None, "excel_mangled")
            else:
                lookup[value] = (label, None if recognised else "age_band_unrecognised")
    labels = text.map(lambda value: lookup[value][0])
    reason = text.map(lambda value: lookup[value][1])
    detail = pd.Series(None, index=values.index, dtype=object)
    bad = reason.notna()
    if bad.any():
        explain = {
            "excel_error": "is an Excel error value",
            "excel_mangled": "looks like a date: Excel probably reformatted an age range",
            "age_band_unrecognised": "is not an age or a band within one configured band",
        }
        detail[bad] = [
            f"{value!r} {explain[why]}" for value, why in zip(text[bad], reason[bad], strict=True)
        ]
    return labels.astype("string"), reason.astype(object), detail


def harmonise_gender(values: pd.Series, schema: SurveySchema) -> tuple[pd.Series, pd.Series]:
    """Harmonised gender labels (other answers -> `schema.gender_other`), and Excel errors."""
    text = _stripped(values)
    mapping: dict[str, str | None] = {}
    reasons: dict[str, str | None] = {}
    for value in text.unique():
        key = normalise_column_name(value)
        if value == "":
            mapping[value], reasons[value] = None, None
        elif re.fullmatch(EXCEL_ERROR, value):
            mapping[value], reasons[value] = None, "excel_error"
        else:
            mapping[value] = schema.gender_values.get(key, schema.gender_other)
            reasons[value] = None
    return text.map(mapping).astype("string"), text.map(reasons).astype(object)


def check_postcodes(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Cell reason for postcodes Excel has damaged (the geocoder then reports them malformed)."""
    text = _stripped(values)
    reason = pd.Series(
        np.select(
            [text.str.fullmatch(EXCEL_ERROR), text.str.fullmatch(NUMBER_LIKE)],
            ["excel_error", "excel_mangled"],
            default=None,
        ),
        index=values.index,
        dtype=object,
    )
    detail = reason.map(
        {
            "excel_error": "the postcode is an Excel error value",
            "excel_mangled": "the postcode is a number: Excel probably converted it",
        }
    )
    return reason, detail


def on_distinct(
    values: pd.Series, check: Callable[[pd.Series], tuple[pd.Series, ...]]
) -> tuple[pd.Series, ...]:
    """Run a column check once per distinct value and spread its results back to every row.

    Survey columns repeat a handful of values (scores 1-7, age bands, postcodes), so this
    keeps per-value Python work to the distinct values.
    """
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=False)
    results = check(pd.Series(uniques, dtype=object))
    return tuple(result.take(codes).set_axis(values.index) for result in results)


def _check_place(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Place answers stripped (NA when blank or an Excel error), and the cell reason."""
    text = _stripped(values)
    is_error = text.str.fullmatch(EXCEL_ERROR)
    reason = is_error.map({True: "excel_error", False: None}).astype(object)
    return text.where(~is_error & text.ne("")), reason


def _extra_json(table: RawTable, rows: pd.Index) -> pd.Series:
    """Unknown columns (and values under unnamed columns) as one JSON object per row."""
    sources = dict(table.columns.extra)
    for position in table.columns.blank:
        sources[f"column_{position + 1}"] = position
    if not sources:
        return pd.Series("{}", index=rows, dtype="string")
    frame = table.cells.loc[rows, list(sources.values())]
    names = list(sources)
    payload = [
        json.dumps(
            {name: value for name, value in zip(names, values, strict=True) if value != ""},
            ensure_ascii=False,
        )
        for values in frame.itertuples(index=False, name=None)
    ]
    return pd.Series(payload, index=rows, dtype="string")


def validate_table(table: RawTable, schema: SurveySchema, *, today: date) -> ValidatedRows:
    """Apply the quarantine policy to rows and the set-aside policy to cells."""
    reason, detail = quarantine_reasons(table, schema)
    keep = reason.isna().to_numpy()
    source_row = pd.Series(table.source_row, index=table.cells.index)
    ids = stripped_ids(table)
    quarantine = pd.DataFrame(
        {
            "row": table.cells.index[~keep],
            "source_row": source_row[~keep].to_numpy(),
            "response_id": ids[~keep].where(ids[~keep] != "").to_numpy(),
            "reason": reason[~keep].to_numpy(),
            "detail": detail[~keep].to_numpy(),
        }
    )
    rows = table.cells.index[keep]
    cells = table.cells.loc[rows]
    roles = table.columns.roles
    issues: list[pd.DataFrame] = []

    def log(field: str, why: pd.Series, text: pd.Series) -> None:
        bad = why.notna()
        if bad.any():
            issues.append(
                pd.DataFrame(
                    {
                        "row": why.index[bad],
                        "field": field,
                        "reason": why[bad].to_numpy(),
                        "detail": text[bad].to_numpy(),
                    }
                )
            )

    def column(role: str) -> pd.Series:
        position = roles.get(role)
        if position is None:
            return pd.Series("", index=rows, dtype=object)
        return cells[position]

    submitted, why, text = on_distinct(
        column("submitted_at"), lambda v: parse_dates(v, schema.date_formats, today)
    )
    log("submitted_at", why, text)
    age, why, text = on_distinct(column("age_band"), lambda v: harmonise_age_bands(v, schema))
    log("age_band", why, text)
    gender, why = on_distinct(column("gender"), lambda v: harmonise_gender(v, schema))
    log("gender", why, why.map({"excel_error": "the gender answer is an Excel error value"}))
    postcode_raw = column("postcode").astype(str)
    postcode, why, text = on_distinct(postcode_raw, lambda v: (_stripped(v), *check_postcodes(v)))
    log("postcode", why, text)
    place_raw = column("place").astype(str)
    place, why = on_distinct(place_raw, _check_place)
    log("place", why, why.map({"excel_error": "the place answer is an Excel error value"}))

    # All rating columns share one scale: check each distinct value once for the whole block.
    questions = list(table.columns.ratings)
    block = cells[[table.columns.ratings[q] for q in questions]].to_numpy(dtype=object)
    codes, uniques = pd.factorize(block.ravel(), use_na_sentinel=False)
    checked = check_scores(pd.Series(uniques, dtype=object), schema.scale_min, schema.scale_max)
    shape = block.shape
    values = checked[0].to_numpy(dtype="float64", na_value=np.nan)[codes].reshape(shape)
    why = checked[1].to_numpy(dtype=object)[codes]
    text = checked[2].to_numpy(dtype=object)[codes]
    scores = pd.DataFrame(
        {q: pd.array(values[:, i], dtype="Int64") for i, q in enumerate(questions)}, index=rows
    )
    for i, question in enumerate(questions):
        log(
            question,
            pd.Series(why.reshape(shape)[:, i], index=rows, dtype=object),
            pd.Series(text.reshape(shape)[:, i], index=rows, dtype=object),
        )

    free_text = pd.DataFrame(index=rows)
    for question, position in table.columns.free_text.items():
        answers = cells[position].tolist()
        stripped = [str(answer).strip() for answer in answers]
        is_error = pd.Series(
            [v.startswith("#") and _EXCEL_ERROR.fullmatch(v) is not None for v in stripped],
            index=rows,
        )
        log(
            question,
            is_error.map({True: "excel_error", False: None}),
            pd.Series("the answer is an Excel error value", index=rows),
        )
        kept = [
            answer if value and not error else None
            for answer, value, error in zip(answers, stripped, is_error, strict=True)
        ]
        free_text[question] = pd.array(kept, dtype="string")

    cell_issues = (
        pd.concat(issues, ignore_index=True)
        if issues
        else pd.DataFrame(columns=["row", "field", "reason", "detail"])
    )
    cell_issues.insert(1, "source_row", source_row.reindex(cell_issues["row"]).to_numpy())
    cell_issues.insert(2, "response_id", ids.reindex(cell_issues["row"]).to_numpy())
    per_row = cell_issues.groupby("row").size() if len(cell_issues) else pd.Series(dtype=int)
    values = pd.DataFrame(
        {
            "response_id": ids[rows],
            "source_row": source_row[rows],
            "submitted_at": submitted,
            "age_band": age,
            "gender": gender,
            "postcode_raw": postcode_raw.where(postcode != "").astype("string"),
            "place_raw": place_raw.where(place_raw.str.strip() != "").astype("string"),
            "place": place.astype("string"),
            "extra_json": _extra_json(table, rows),
            "cells_set_aside": per_row.reindex(rows, fill_value=0).astype("Int64"),
        },
        index=rows,
    )
    cell_issues = cell_issues.sort_values(["row", "field"], kind="stable").reset_index(drop=True)
    return ValidatedRows(keep, quarantine, cell_issues, values, scores, free_text)
