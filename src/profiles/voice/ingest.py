"""Survey ingestion end to end, as one pure function: file -> contract frames + accounting.

What belongs here: `ingest_survey`, which reads (read.py), validates (validate.py),
geocodes (place.py) and redacts (redact.py) one export and returns the frames of
`profiles.voice.contract`, plus the accounting that proves nothing was lost
(rows_in == rows_loaded + rows_quarantined). No warehouse, no Dagster, no clock:
`today` is an argument.

Privacy: only `raw_responses` and `raw_quarantine` hold what the respondent typed
(postcode, place answer, unknown columns, the fields of a quarantined row); every other
frame carries redacted text and no postcode. Response ids that themselves contain an
e-mail address, phone number or postcode are replaced everywhere by a stable
pseudonym ('pii-<hash>'), the original kept in the raw layer only.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from profiles.voice import contract
from profiles.voice.place import geocode_counts, geocode_responses
from profiles.voice.read import RawTable, SurveyFileError, codec_name, read_survey_table
from profiles.voice.redact import PATTERNS, personal_data_mask, redact_series, redact_text
from profiles.voice.schema import SurveySchema, load_schema, slugify
from profiles.voice.validate import CELL_REASONS, ROW_REASONS, ValidatedRows, validate_table

__all__ = [
    "RAW_QUARANTINE_COLUMNS",
    "RESPONSE_LOCALITY_COLUMNS",
    "IngestResult",
    "SurveyFileError",
    "default_survey_id",
    "ingest_survey",
]

RAW_QUARANTINE_COLUMNS: tuple[str, ...] = (
    "survey_id",
    "source_file",
    "source_row",
    "reason",
    "fields_json",  # the row's fields exactly as read (JSON list), unredacted: raw layer only
)
RESPONSE_LOCALITY_COLUMNS: tuple[str, ...] = (
    "survey_id",
    "response_id",
    "council_code",
    "locality_id",
)
"""Responses placed by a locality/ward name: they belong to that locality but to no DZ."""


@dataclass
class IngestResult:
    """Everything one ingest produces. Frame columns follow `profiles.voice.contract`."""

    survey_id: str
    raw_responses: pd.DataFrame
    responses: pd.DataFrame
    scores: pd.DataFrame
    comments: pd.DataFrame
    quarantine: pd.DataFrame
    cell_issues: pd.DataFrame
    raw_quarantine: pd.DataFrame
    response_locality: pd.DataFrame
    accounting: dict[str, Any] = field(default_factory=dict)


def default_survey_id(path: str | Path, sha256: str) -> str:
    """Stable id from the file name and content: 'place_standard_2024-<first 8 of sha256>'."""
    return f"{slugify(Path(path).stem)}-{sha256[:8]}"


def _pseudonymise_ids(ids: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Ids with personal data, or that a spreadsheet would run as a formula ('=cmd|…'), replaced
    by 'pii-<sha256[:12]>', and a mask of those replaced."""
    text = ids.astype("string")
    formula_like = (
        text.str.match(r"^\s*[=+\-@\t\r]").fillna(False)
        & pd.to_numeric(text, errors="coerce").isna()
    )
    mask = personal_data_mask(text) | formula_like.astype(bool)
    if not mask.any():
        return text, mask
    replaced = text.copy()
    replaced[mask] = pd.Series(
        ["pii-" + hashlib.sha256(v.encode("utf-8")).hexdigest()[:12] for v in text[mask]],
        index=text.index[mask],
        dtype="string",
    )
    return replaced, mask


def _redact_details(details: pd.Series) -> pd.Series:
    return details.map(lambda text: redact_text(str(text))[0] if pd.notna(text) else pd.NA).astype(
        "string"
    )


def _comments(
    survey_id: str, ids: pd.Series, free_text: pd.DataFrame, kinds: Counter[str]
) -> pd.DataFrame:
    parts = []
    for question in free_text.columns:
        answers = free_text[question].dropna()
        if answers.empty:
            continue
        text, counts = redact_series(answers, kinds)
        keep = text.notna() & text.ne("")
        parts.append(
            pd.DataFrame(
                {
                    "survey_id": survey_id,
                    "response_id": ids[answers.index][keep].to_numpy(),
                    "question": question,
                    "text_redacted": text[keep].to_numpy(),
                    "redactions": counts[keep].to_numpy(),
                }
            )
        )
    if not parts:
        return _empty(contract.COMMENT_COLUMNS)
    comments = pd.concat(parts, ignore_index=True)
    return _typed(comments, contract.COMMENT_COLUMNS)


def _scores(survey_id: str, ids: pd.Series, scores: pd.DataFrame) -> pd.DataFrame:
    """Long scores, one row per response x scored question, in file then question order."""
    if scores.empty or not len(scores.columns):
        return _empty(contract.SCORE_COLUMNS)
    values = scores.to_numpy(dtype="float64", na_value=np.nan)
    rows, columns = np.nonzero(~np.isnan(values))
    # take() from small string arrays: far cheaper than validating 1.4M strings one by one
    response_ids = pd.array(ids[scores.index].to_numpy(dtype=object), dtype="string")
    themes = pd.array(list(scores.columns), dtype="string")
    frame = pd.DataFrame(
        {
            "survey_id": pd.array([survey_id], dtype="string").take(np.zeros(len(rows), int)),
            "response_id": response_ids.take(rows),
            "theme_id": themes.take(columns),
            "score": values[rows, columns].astype("int64"),
        }
    )
    return _typed(frame, contract.SCORE_COLUMNS)


_INTEGER_COLUMNS = {"source_row", "score", "redactions", "cells_set_aside"}


def _typed(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Contract column order with stable dtypes: Int64 counts, bool flags, string text."""
    result = frame.reindex(columns=list(columns)).reset_index(drop=True)
    for column in columns:
        if column in _INTEGER_COLUMNS:
            result[column] = pd.to_numeric(result[column]).astype("Int64")
        elif column == "is_duplicate":
            result[column] = result[column].astype(bool)
        elif column == "submitted_at":
            result[column] = pd.to_datetime(result[column]).astype("datetime64[ns]")
        elif result[column].dtype != "string":
            result[column] = result[column].astype("string")
    return result


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return _typed(pd.DataFrame(columns=list(columns)), columns)


def _raw_quarantine(survey_id: str, table: RawTable, validated: ValidatedRows) -> pd.DataFrame:
    rows = validated.quarantine["row"].to_numpy()
    fields = [
        json.dumps(
            table.irregular.get(int(row), table.cells.iloc[int(row)].tolist()),
            ensure_ascii=False,
        )
        for row in rows
    ]
    frame = pd.DataFrame(
        {
            "survey_id": survey_id,
            "source_file": table.path.name,
            "source_row": validated.quarantine["source_row"].to_numpy(),
            "reason": validated.quarantine["reason"].to_numpy(),
            "fields_json": fields,
        }
    )
    return _typed(frame, RAW_QUARANTINE_COLUMNS)


def _counts(values: pd.Series, vocabulary: tuple[str, ...]) -> dict[str, int]:
    counted = values.value_counts()
    result = {reason: int(counted.get(reason, 0)) for reason in vocabulary}
    for reason, count in counted.items():  # a reason outside the vocabulary still shows
        result.setdefault(str(reason), int(count))
    return {reason: count for reason, count in result.items() if count}


def ingest_survey(
    path: str | Path,
    *,
    schema: SurveySchema | str = "place_standard",
    survey_id: str | None = None,
    council_code: str,
    postcode_lookup: pd.DataFrame,
    dim_datazone: pd.DataFrame,
    place_names: pd.DataFrame,
    today: date,
) -> IngestResult:
    """Ingest one survey export. Raises `SurveyFileError` when the file as a whole is unusable.

    Rows that cannot be trusted are quarantined with a reason, bad cells are set aside
    and logged; `accounting['rows_in'] == rows_loaded + rows_quarantined` always holds.
    `is_duplicate` is False and `campaign_group` NULL here (the coding step decides them).
    """
    survey_schema = load_schema(schema)
    table = read_survey_table(path, survey_schema)
    sid = survey_id or default_survey_id(table.path, table.sha256)
    validated = validate_table(table, survey_schema, today=today)
    values = validated.values

    ids, pseudonymised = _pseudonymise_ids(values["response_id"])
    values = values.assign(response_id=ids)
    geocoded = geocode_responses(values, postcode_lookup, dim_datazone, place_names, council_code)

    extra = values["extra_json"]
    if pseudonymised.any():
        extra = extra.copy()
        for row in extra.index[pseudonymised.to_numpy()]:
            payload = json.loads(extra[row])
            payload["_response_id_as_received"] = validated.values.at[row, "response_id"]
            extra[row] = json.dumps(payload, ensure_ascii=False)
    raw_responses = _typed(
        pd.DataFrame(
            {
                "survey_id": sid,
                "response_id": ids,
                "source_row": values["source_row"],
                "postcode_raw": values["postcode_raw"],
                "place_raw": values["place_raw"],
                "extra_json": extra,
            }
        ),
        contract.RAW_RESPONSE_COLUMNS,
    )
    responses = _typed(
        geocoded.assign(survey_id=sid, is_duplicate=False, campaign_group=pd.NA),
        contract.RESPONSE_COLUMNS,
    )
    response_locality = _typed(
        geocoded.loc[geocoded["locality_id"].notna()].assign(survey_id=sid),
        RESPONSE_LOCALITY_COLUMNS,
    )
    scores = _scores(sid, ids, validated.scores)
    redaction_kinds: Counter[str] = Counter()
    comments = _comments(sid, ids, validated.free_text, redaction_kinds)

    quarantine_ids, _ = _pseudonymise_ids(validated.quarantine["response_id"])
    quarantine = _typed(
        pd.DataFrame(
            {
                "survey_id": sid,
                "source_file": table.path.name,
                "source_row": validated.quarantine["source_row"],
                "response_id": quarantine_ids,
                "reason": validated.quarantine["reason"],
                "detail": _redact_details(validated.quarantine["detail"]),
            }
        ),
        contract.QUARANTINE_COLUMNS,
    )
    issues = validated.cell_issues
    issue_ids = ids.reindex(issues["row"]).to_numpy() if len(issues) else []
    cell_issues = _typed(
        pd.DataFrame(
            {
                "survey_id": sid,
                "source_row": issues["source_row"],
                "response_id": issue_ids,
                "field": issues["field"],
                "reason": issues["reason"],
                "detail": _redact_details(issues["detail"]),
            }
        ),
        contract.CELL_ISSUE_COLUMNS,
    )
    raw_quarantine = _raw_quarantine(sid, table, validated)

    geocode = geocode_counts(geocoded)
    rows_in = table.rows_in
    rows_loaded = len(responses)
    rows_quarantined = len(quarantine)
    if rows_in != rows_loaded + rows_quarantined:  # a bug, never a data problem
        raise AssertionError(f"{table.path}: {rows_in} rows in, {rows_loaded} + {rows_quarantined}")
    columns = table.columns
    accounting: dict[str, Any] = {
        "survey_id": sid,
        "schema": survey_schema.name,
        "source_file": table.path.name,
        "file_sha256": table.sha256,
        "format": table.format,
        "encoding": codec_name(table.encoding),
        "delimiter": table.delimiter,
        "sheet": table.sheet,
        "header_row": table.header_row,
        "rows_in": rows_in,
        "rows_loaded": rows_loaded,
        "rows_quarantined": rows_quarantined,
        "quarantined_by_reason": _counts(quarantine["reason"], ROW_REASONS),
        "cells_set_aside": len(cell_issues),
        "cells_set_aside_by_reason": _counts(cell_issues["reason"], CELL_REASONS),
        "geocode_by_status": geocode,
        "unmatched": sum(n for status, n in geocode.items() if status != "matched"),
        "unmatched_by_reason": {s: n for s, n in geocode.items() if s != "matched" and n},
        "place_name_only": len(response_locality),
        "scores": len(scores),
        "comments": len(comments),
        "redactions": int(comments["redactions"].sum()) if len(comments) else 0,
        "redactions_by_kind": {kind: redaction_kinds[kind] for kind in PATTERNS},
        "response_ids_pseudonymised": int(pseudonymised.sum()),
        "trailing_empty_rows_dropped": table.trailing_empty_rows,
        "columns": {
            role: table.header[i].strip()
            for role, i in {**columns.roles, **columns.ratings, **columns.free_text}.items()
        },
        "columns_missing": sorted(
            set(survey_schema.columns) - set(columns.roles)
            | set(survey_schema.ratings) - set(columns.ratings)
            | set(survey_schema.free_text) - set(columns.free_text)
        ),
        "extra_columns": list(columns.extra),
    }
    return IngestResult(
        survey_id=sid,
        raw_responses=raw_responses,
        responses=responses,
        scores=scores,
        comments=comments,
        quarantine=quarantine,
        cell_issues=cell_issues,
        raw_quarantine=raw_quarantine,
        response_locality=response_locality,
        accounting=accounting,
    )
