"""Column contracts of the community-voice frames passed between ingestion, coding and summaries.

What belongs here: the column names (and their meaning) of every voice frame, and the
Place Standard theme ids. Ingestion produces them, coding and summaries consume them, the
assets write them. No logic.

Privacy rule carried by these names: only frames whose name starts with `RAW_` may hold
unredacted free text or a respondent's postcode; they are written to the `raw` schema only.
"""

from __future__ import annotations

from typing import Final

PLACE_STANDARD_THEMES: Final[tuple[str, ...]] = (
    "moving_around",
    "public_transport",
    "traffic_parking",
    "streets_spaces",
    "natural_space",
    "play_recreation",
    "facilities_amenities",
    "work_economy",
    "housing_community",
    "social_contact",
    "identity_belonging",
    "feeling_safe",
    "care_maintenance",
    "influence_control",
)
"""The 14 Place Standard themes, scored 1 (a lot of room for improvement) to 7."""

NO_THEME: Final[str] = "none"
"""Theme code for a comment the coding frame does not fit."""

LOW_SCORE_MAX: Final[int] = 3
"""Scores 1..3 count as 'a lot of room for improvement'."""

# raw.voice_response — one row per loaded response, as received (NEVER leaves `raw`).
RAW_RESPONSE_COLUMNS: Final[tuple[str, ...]] = (
    "survey_id",
    "response_id",
    "source_row",  # 1-based line/row number in the file (header = 1)
    "postcode_raw",  # as typed by the respondent
    "place_raw",  # data zone code or locality/ward name the respondent chose, as typed
    "extra_json",  # unknown extra columns, kept as a JSON object
)

# staging.voice_response / marts.voice_response — one row per loaded response, redacted.
RESPONSE_COLUMNS: Final[tuple[str, ...]] = (
    "survey_id",
    "response_id",
    "submitted_at",  # timestamp (UTC, naive) or NULL when the cell was set aside
    "age_band",  # harmonised band label or NULL
    "gender",
    "dz_code",  # NULL when unmatched
    "ward_code",
    "council_code",  # the survey's council even when unmatched: the voice still counts
    "geocode_method",  # postcode | dz_code | place_name | unmatched
    "geocode_status",  # matched | unmatched_blank | unmatched_malformed | unmatched_unknown | ...
    "is_duplicate",  # exact duplicate of an earlier response (counted once)
    "campaign_group",  # id of a near-identical (campaign) cluster, or NULL
    "cells_set_aside",  # number of bad cells set aside (logged in voice_cell_issue)
)

# staging.voice_score — long: one row per response × theme that was scored.
SCORE_COLUMNS: Final[tuple[str, ...]] = ("survey_id", "response_id", "theme_id", "score")

# staging.voice_comment — long: one row per response × free-text question with text.
COMMENT_COLUMNS: Final[tuple[str, ...]] = (
    "survey_id",
    "response_id",
    "question",  # e.g. what_is_good, what_could_be_better
    "text_redacted",  # emails, phones, postcodes, house-number addresses replaced
    "redactions",  # how many replacements were made
)

# marts.voice_quarantine — rows not loaded, with the reason; nothing is lost.
QUARANTINE_COLUMNS: Final[tuple[str, ...]] = (
    "survey_id",
    "source_file",
    "source_row",
    "response_id",  # as read (may be NULL)
    "reason",  # stable snake_case reason id, e.g. duplicate_response_id, ragged_row
    "detail",  # human-readable: field and offending value (redacted)
)

# staging.voice_cell_issue — cells set aside while the rest of the row was kept.
CELL_ISSUE_COLUMNS: Final[tuple[str, ...]] = (
    "survey_id",
    "source_row",
    "response_id",
    "field",
    "reason",  # e.g. score_out_of_range, score_not_integer, date_unparseable, date_in_future
    "detail",
)

# marts.voice_comment_code
COMMENT_CODE_COLUMNS: Final[tuple[str, ...]] = (
    "survey_id",
    "response_id",
    "question",
    "theme_id",  # a Place Standard theme id or 'none'
    "source",  # model version (e.g. 'model:tfidf-ovr:<hash>') or 'analyst:<coder>'
    "confidence",  # model probability; 1.0 for analyst codes
)

# marts.voice_theme_summary — survey × area × theme (area = locality, council)
THEME_SUMMARY_COLUMNS: Final[tuple[str, ...]] = (
    "survey_id",
    "council_code",
    "locality_id",  # the council code for the council-wide row
    "area_level",  # locality | council
    "theme_id",
    "weighting",  # unweighted | weighted
    "responses",  # respondents who scored the theme
    "mean_score",
    "mean_score_lower_ci",
    "mean_score_upper_ci",
    "low_score_count",  # scores 1..3
    "low_score_share",
    "low_score_lower_ci",
    "low_score_upper_ci",
    "comments",  # respondents with any comment
    "mentions",  # respondents whose comments are coded to the theme
    "mention_share",
    "mention_lower_ci",
    "mention_upper_ci",
    "quotes",  # up to 3 representative redacted quotes, JSON list; never from a suppressed cell
    "suppressed",
)

# marts.engagement_reach — survey × group (locality, SIMD quintile, council)
REACH_COLUMNS: Final[tuple[str, ...]] = (
    "survey_id",
    "council_code",
    "group_type",  # locality | simd_quintile | council
    "group_id",  # locality id, quintile '1'..'5', or council code
    "responses",
    "population",
    "responses_per_1000",
    "response_share",
    "population_share",
    "representation_ratio",  # response_share / population_share
    "under_heard",  # ratio below the configured threshold
    "suppressed",
)
