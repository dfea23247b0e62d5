"""The evidence trail behind every ranked priority, and the `priority_ranking` mart.

What belongs here: finding the responses (with redacted quotes) behind a locality ×
priority theme (`response_evidence`), folding them with the profile and theme-summary rows
that produced the scores into one JSON document per row (`evidence_for`), and assembling
the published `priority_ranking` frame (`priority_ranking`).

Privacy: quotes are `text_redacted` only; nothing comes from a voice_theme_summary cell
that is suppressed (the same rule as the summary's own quotes); comments in which redaction
replaced something are skipped when `evidence.skip_redacted` is set, and comments longer
than `evidence.max_quote_chars` are listed by response id with no quote.

Evidence JSON (one object per ranked row)
    locality_profile      list of {council_code, locality_id, measure_id, vintage, ...}:
                          the locality_profile rows of the need score, with their gaps
                          (z_council, z_scotland), contribution and status.
    voice_theme_summary   list of {survey_id, council_code, locality_id, theme_id,
                          weighting, kind, ...}: the voice_theme_summary rows of the voice
                          score (kind 'scores' or 'mentions') and their status.
    city_themes           the city-wide themes behind the strategic score, fit and weight.
    responses             up to `evidence.max_responses` {survey_id, response_id, question,
                          theme_id, quote}; responses_total says how many there were.
    notes                 what was left out and why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from profiles.triangulate.config import TriangulationConfig
from profiles.triangulate.scores import json_safe, select_voice_rows
from profiles.triangulate.uncertainty import UNCERTAINTY_COLUMNS
from profiles.voice.contract import NO_THEME

PRIORITY_RANKING_COLUMNS: Final[tuple[str, ...]] = (
    "council_code",
    "locality_id",
    "priority_theme",
    "need_score",
    "voice_score",
    "strategic_score",
    "priority_score",
    "rank",
    "rank_low",
    "rank_high",
    "stability",
    "agreement",
    "evidence",
)
"""The contract columns of marts.priority_ranking (extras follow them)."""

PRIORITY_RANKING_EXTRA_COLUMNS: Final[tuple[str, ...]] = (
    "priority_theme_label",
    "agreement_label",
    "stability_label",
    "council_rank",
    "council_rank_low",
    "council_rank_high",
    "priority_basis",
    "need_contribution",
    "voice_contribution",
    "strategic_contribution",
    "need_raw",
    "need_vs_council",
    "need_vs_scotland",
    "need_measures_used",
    "need_measures_similar",
    "need_measures_dropped",
    "voice_score_low",
    "voice_score_high",
    "voice_low_score_share",
    "voice_mean_score",
    "voice_mention_share",
    "voice_responses",
    "voice_comments",
    "voice_surveys",
    "council_voice_score",
    "voice_vs_council",
    "representation_ratio",
    "under_heard",
    "notes",
    "config_version",
)

RESPONSE_EVIDENCE_COLUMNS: Final[tuple[str, ...]] = (
    "council_code",
    "locality_id",
    "priority_theme",
    "survey_id",
    "response_id",
    "question",
    "theme_id",
    "confidence",
    "quote",
    "responses_total",
)

_KEY = ["survey_id", "response_id"]


def response_evidence(
    responses: pd.DataFrame,
    codes: pd.DataFrame,
    comments: pd.DataFrame,
    theme_summary: pd.DataFrame,
    config: TriangulationConfig,
) -> pd.DataFrame:
    """Responses whose comments are coded to a theme's mapped codes, with redacted quotes.

    `responses` places counted responses in localities (survey_id, response_id,
    council_code, locality_id); `codes` are COMMENT_CODE_COLUMNS, `comments`
    COMMENT_COLUMNS. One row per locality × priority theme × response (its best comment:
    highest code weight, then coding confidence, then the shortest), at most
    `evidence.max_responses` per locality × theme, ordered the same way; `responses_total`
    counts them all. Cells suppressed in `theme_summary` give nothing.
    """
    crosswalk = pd.DataFrame(
        [
            (t.theme_id, code, weight)
            for t in config.priority_themes
            for code, weight in t.comment_codes.items()
            if weight > 0
        ],
        columns=["priority_theme", "theme_id", "code_weight"],
    )
    placed = responses.loc[
        responses["council_code"] == config.council_code, [*_KEY, "council_code", "locality_id"]
    ].drop_duplicates()
    coded = codes.loc[codes["theme_id"] != NO_THEME, [*_KEY, "question", "theme_id", "confidence"]]
    text = comments[[*_KEY, "question", "text_redacted", "redactions"]]
    if config.evidence.skip_redacted:
        redactions = pd.to_numeric(text["redactions"], errors="coerce").fillna(0)
        text = text[redactions == 0]
    joined = (
        coded.merge(text, on=[*_KEY, "question"])
        .merge(placed, on=_KEY)
        .merge(crosswalk, on="theme_id")
    )
    rows = select_voice_rows(theme_summary, config)
    open_cells = rows.loc[
        (rows["area_level"] == "locality") & ~rows["suppressed"],
        ["survey_id", "locality_id", "theme_id"],
    ].drop_duplicates()
    joined = joined.merge(open_cells, on=["survey_id", "locality_id", "theme_id"])
    joined = joined[joined["text_redacted"].fillna("").astype(str).str.strip() != ""]
    joined = joined.assign(
        quote=joined["text_redacted"].astype(str).str.strip(),
        confidence=pd.to_numeric(joined["confidence"], errors="coerce"),
    )
    joined = joined.assign(_length=joined["quote"].str.len(), _id=joined["response_id"].astype(str))
    joined = joined.sort_values(
        [
            "locality_id",
            "priority_theme",
            "code_weight",
            "confidence",
            "_length",
            "survey_id",
            "_id",
            "question",
        ],
        ascending=[True, True, False, False, True, True, True, True],
        kind="stable",
    ).drop_duplicates(["locality_id", "priority_theme", *_KEY])
    cell = ["locality_id", "priority_theme"]
    joined["responses_total"] = joined.groupby(cell)["response_id"].transform("size")
    chosen = joined.groupby(cell, sort=False).head(config.evidence.max_responses).copy()
    # Long comments are the likeliest to identify their writer: listed, but not quoted.
    chosen["quote"] = chosen["quote"].where(
        chosen["_length"] <= config.evidence.max_quote_chars, None
    )
    return chosen[list(RESPONSE_EVIDENCE_COLUMNS)].reset_index(drop=True)


def _as_list(value: Any) -> list:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        return json.loads(value) if value else []
    return list(value)


def evidence_for(
    row: Mapping[str, Any],
    responses: pd.DataFrame | Sequence[Mapping[str, Any]] | None = None,
    *,
    max_responses: int | None = None,
) -> str:
    """The evidence JSON of one ranked row (a row of `score_priorities` or later frames).

    `responses` are that row's `response_evidence` rows (any order is kept as given);
    `max_responses` caps them again when given. Keys are described in the module docstring.
    """
    council, locality = row["council_code"], row["locality_id"]
    profile_rows = [
        {"council_code": council, "locality_id": locality, **item}
        for item in _as_list(row.get("need_evidence"))
    ]
    voice_rows = [
        {"council_code": council, "locality_id": locality, **item}
        for item in _as_list(row.get("voice_evidence"))
    ]
    if responses is None:
        records: list[Mapping[str, Any]] = []
    elif isinstance(responses, pd.DataFrame):
        records = responses.to_dict("records")
    else:
        records = list(responses)
    total = (
        int(records[0]["responses_total"])
        if records and "responses_total" in records[0]
        else len(records)
    )
    if max_responses is not None:
        records = records[:max_responses]
    document = {
        "council_code": council,
        "locality_id": locality,
        "priority_theme": row["priority_theme"],
        "scores": {
            name: json_safe(row.get(name))
            for name in ("need_score", "voice_score", "strategic_score", "priority_score")
        },
        "locality_profile": profile_rows,
        "voice_theme_summary": voice_rows,
        "city_themes": _as_list(row.get("strategic_evidence")),
        "responses": [
            {
                k: json_safe(r.get(k))
                for k in ("survey_id", "response_id", "question", "theme_id", "quote")
            }
            for r in records
        ],
        "responses_total": total,
        "notes": row.get("notes") or "",
    }
    return json.dumps(document, ensure_ascii=False)


def priority_ranking(
    ranked: pd.DataFrame,
    config: TriangulationConfig,
    evidence_rows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The `priority_ranking` mart: PRIORITY_RANKING_COLUMNS then the extra columns.

    `ranked` comes from `rank_priorities` (then, normally, `bootstrap_ranks`; without it the
    interval columns are empty); `evidence_rows` from `response_evidence`.
    """
    out = ranked[ranked["council_code"] == config.council_code].copy()
    for column in UNCERTAINTY_COLUMNS:
        if column not in out.columns:
            out[column] = pd.NA
    # Records are made once for the whole frame and grouped in order: a DataFrame per cell
    # turned into records cell by cell cost most of a council's ranking time.
    by_cell: dict[tuple[str, str], list[dict[str, Any]]] = {}
    if evidence_rows is not None and not evidence_rows.empty:
        for record in evidence_rows.to_dict("records"):
            key = (record["locality_id"], record["priority_theme"])
            by_cell.setdefault(key, []).append(record)
    out["evidence"] = [
        evidence_for(
            row,
            by_cell.get((row["locality_id"], row["priority_theme"])),
            max_responses=config.evidence.max_responses,
        )
        for row in out.to_dict("records")
    ]
    out["config_version"] = config.version
    return out[[*PRIORITY_RANKING_COLUMNS, *PRIORITY_RANKING_EXTRA_COLUMNS]].reset_index(drop=True)
