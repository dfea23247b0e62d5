"""Reading the stored (staged and coded) voice tables back from the warehouse.

What belongs here: `load_voice_frames`, the redacted per-response tables of some or all
surveys as the summaries, topics and rankings read them. Writing them is the assets' job.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from profiles import warehouse as wh
from profiles.voice import contract

VOICE_FRAMES = ("responses", "scores", "comments", "codes")


def load_voice_frames(
    con: duckdb.DuckDBPyConnection,
    surveys: Sequence[str] | None = None,
    frames: Sequence[str] = VOICE_FRAMES,
) -> dict[str, pd.DataFrame]:
    """Every survey's redacted voice tables (only `surveys`' rows when given), or empty
    frames before the first survey: `responses` (with the `locality_id` a response was
    placed in by name, where it was), `scores`, `comments` and theme `codes` — or only
    those named in `frames` (the scores alone are over a million rows at Scotland scale)."""
    unknown = set(frames) - set(VOICE_FRAMES)
    if unknown:
        raise ValueError(f"unknown voice frames {sorted(unknown)}; expected {VOICE_FRAMES}")

    def table(schema: str, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
        if not wh.table_exists(con, schema, name):
            return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
        return wh.rows_for_keys(con, schema, name, "survey_id", surveys)

    loaded: dict[str, pd.DataFrame] = {}
    if "responses" in frames:
        responses = table("staging", "voice_response", contract.RESPONSE_COLUMNS)
        placed = table(
            "staging",
            "voice_response_locality",
            ("survey_id", "response_id", "council_code", "locality_id"),
        )
        if len(placed):
            responses = responses.merge(
                placed[["survey_id", "response_id", "locality_id"]],
                on=["survey_id", "response_id"],
                how="left",
            )
        loaded["responses"] = responses
    if "scores" in frames:
        loaded["scores"] = table("staging", "voice_score", contract.SCORE_COLUMNS)
    if "comments" in frames:
        loaded["comments"] = table("staging", "voice_comment", contract.COMMENT_COLUMNS)
    if "codes" in frames:
        loaded["codes"] = table("marts", "voice_comment_code", contract.COMMENT_CODE_COLUMNS)
    return loaded
