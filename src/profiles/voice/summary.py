"""Community voice per survey × area × theme: scores, comment mentions and quotes.

What belongs here: `theme_summary`, which turns counted responses, their Place Standard
scores and coded comments into `THEME_SUMMARY_COLUMNS` rows for every locality of the
survey's council and the council as a whole, unweighted and post-stratification weighted,
with disclosure control applied. Who counts and where responses are placed is
`profiles.voice.reach`; the weights are `profiles.voice.weights`.

Estimates (per cell; `n` = respondents who scored the theme)
    - mean score: t-interval, mean ± t(n-1) · s/√n, clipped to the 1..7 scale. Weighted:
      weighted mean, the reliability-weighted variance Σw(x-x̄)² / (Σw - Σw²/Σw), and Kish's
      effective n_eff = (Σw)²/Σw² in place of n (standard error s/√n_eff, t on n_eff - 1
      degrees of freedom); with all weights 1 this is the unweighted interval.
    - low-score share (scores 1..3): Wilson interval; weighted, Wilson on the weighted share
      with n_eff trials.
    - mentions: respondents with a comment coded to the theme, as a share of respondents
      with any comment in the area (`comments`), Wilson interval likewise.
    - counts (`responses`, `low_score_count`, `comments`, `mentions`) are always unweighted
      counts of people, in weighted rows too: they are what disclosure control protects.

Disclosure
    The shared mask (`profiles.stats.disclosure`) is applied to responses, low_score_count and
    mentions with each council row as the total of its localities (per survey × theme), and
    to comments per area (same value on every theme row of an area); a hidden count hides
    the values computed from it (means, shares, limits, effective n, quotes) in both
    weightings, plus whatever the shared `derived_columns` "*" family lists (at present
    every estimate in the row). Besides, a cell's mean and low-score share are withheld when
    0 < responses < `min_responses_for_estimate`, and its mention share when
    0 < comments < that (`withheld_reason` 'small_base').

Quotes
    Up to `quotes_per_cell` redacted comments coded to the theme, only for cells with nothing
    withheld: highest coding confidence first (the most typical of the theme), then the
    shortest within [quote_min_chars, quote_max_chars], then response id; no repeated text
    and at most one quote per respondent per cell; comments that needed redaction are
    skipped when `quote_skip_redacted`. A JSON list of strings ('[]' when none).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from profiles.stats.disclosure import (
    DisclosureRules,
    apply_mask,
    load_disclosure_rules,
    suppression_mask,
)
from profiles.stats.intervals import wilson_interval
from profiles.voice.contract import (
    LOW_SCORE_MAX,
    NO_THEME,
    PLACE_STANDARD_THEMES,
    THEME_SUMMARY_COLUMNS,
)
from profiles.voice.reach import (
    VoiceSettings,
    assign_localities,
    counted_responses,
    require_columns,
)
from profiles.voice.weights import post_stratification_weights

SUMMARY_EXTRA_COLUMNS = ("effective_n", "withheld_reason")
"""Extra columns after `THEME_SUMMARY_COLUMNS`: `effective_n` is Kish's effective sample
size of the cell's scores (= responses when unweighted; hidden with responses);
`withheld_reason` is 'disclosure' (a count was hidden), 'small_base' (estimates withheld
for a small base) or missing."""

SCORE_MIN, SCORE_MAX = 1, 7

_MEAN_COLUMNS = ("mean_score", "mean_score_lower_ci", "mean_score_upper_ci")
_LOW_SHARE_COLUMNS = ("low_score_share", "low_score_lower_ci", "low_score_upper_ci")
_MENTION_SHARE_COLUMNS = ("mention_share", "mention_lower_ci", "mention_upper_ci")
_DERIVED = {
    "responses": (*_MEAN_COLUMNS, *_LOW_SHARE_COLUMNS, "effective_n"),
    "low_score_count": _LOW_SHARE_COLUMNS,
    "mentions": (*_MENTION_SHARE_COLUMNS, "quotes"),
    "comments": (*_MENTION_SHARE_COLUMNS, "quotes"),
}
_COUNTS = ("responses", "low_score_count", "comments", "mentions")
_KEY = ["survey_id", "response_id"]


# --- Areas and membership --------------------------------------------------------------------


class _Membership:
    """Areas (rows of `areas`, by position) and which counted responses are in each.

    `starts[r]:starts[r] + sizes[r]` indexes `area_of` for response position r.
    """

    def __init__(
        self,
        areas: pd.DataFrame,
        member_response: np.ndarray,
        member_area: np.ndarray,
        n_responses: int,
    ) -> None:
        order = np.argsort(member_response, kind="stable")
        self.areas = areas
        self.area_of = member_area[order]
        self.sizes = np.bincount(member_response, minlength=n_responses)
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])

    def expand(self, response_of_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row position, area position) for every area each row's response is in."""
        repeats = self.sizes[response_of_row]
        rows = np.repeat(np.arange(len(response_of_row)), repeats)
        first = np.repeat(self.starts[response_of_row], repeats)
        offset = np.arange(len(rows)) - np.repeat(np.cumsum(repeats) - repeats, repeats)
        return rows, self.area_of[first + offset]


def _membership(
    counted: pd.DataFrame, bridge: pd.DataFrame, dim_locality: pd.DataFrame
) -> _Membership:
    if counted["council_code"].isna().any():
        first = counted.loc[counted["council_code"].isna(), "response_id"].iloc[0]
        raise ValueError(f"responses: response {first!r} has no council_code")
    require_columns(dim_locality, ["council_code", "locality_id"], "dim_locality")
    survey_councils = counted[["survey_id", "council_code"]].drop_duplicates()
    localities = pd.concat(
        [dim_locality[["council_code", "locality_id"]], bridge[["council_code", "locality_id"]]]
    ).drop_duplicates()
    locality_areas = survey_councils.merge(localities, on="council_code").assign(
        area_level="locality"
    )
    council_areas = survey_councils.assign(
        area_level="council", locality_id=survey_councils["council_code"]
    )
    areas = pd.concat([locality_areas, council_areas], ignore_index=True)
    areas = areas.assign(_council_last=areas["area_level"] == "council").sort_values(
        ["survey_id", "council_code", "_council_last", "locality_id"], ignore_index=True
    )
    areas = areas.drop(columns="_council_last")
    areas["area_idx"] = np.arange(len(areas))

    positions = counted[["survey_id", "response_id"]].assign(response_idx=np.arange(len(counted)))
    placed = assign_localities(counted, bridge).merge(positions, on=_KEY)
    in_locality = placed.merge(
        areas[areas["area_level"] == "locality"],
        on=["survey_id", "council_code", "locality_id"],
    )
    in_council = (
        counted[["survey_id", "council_code"]]
        .assign(response_idx=np.arange(len(counted)))
        .merge(areas[areas["area_level"] == "council"], on=["survey_id", "council_code"])
    )
    members = pd.concat([in_locality, in_council], ignore_index=True)
    return _Membership(
        areas[["survey_id", "council_code", "locality_id", "area_level"]],
        members["response_idx"].to_numpy(),
        members["area_idx"].to_numpy(),
        len(counted),
    )


# --- Inputs ----------------------------------------------------------------------------------


def _response_positions(frame: pd.DataFrame, counted: pd.DataFrame, name: str) -> pd.DataFrame:
    """`frame` restricted to counted responses, with their position as `response_idx`."""
    require_columns(frame, _KEY, name)
    position = np.full(len(frame), -1, dtype=np.int64)
    surveys = frame["survey_id"].to_numpy()
    # One hash lookup of response ids per survey: much faster than a two-key merge.
    for survey_id, rows in counted.groupby("survey_id", sort=False).indices.items():
        in_survey = surveys == survey_id
        ids = pd.Index(counted["response_id"].to_numpy()[rows])
        if not ids.is_unique:
            repeated = ids[ids.duplicated()][0]
            raise ValueError(f"responses: response_id {repeated!r} is repeated in {survey_id!r}")
        found = ids.get_indexer(frame["response_id"].to_numpy()[in_survey])
        position[in_survey] = np.where(found >= 0, rows[np.maximum(found, 0)], -1)
    kept = position >= 0
    return frame.loc[kept].assign(response_idx=position[kept])


def _theme_index(theme_ids: pd.Series, themes: Sequence[str], name: str) -> np.ndarray:
    codes = pd.Categorical(theme_ids, categories=list(themes)).codes
    unknown = codes < 0
    if unknown.any():
        bad = theme_ids[unknown].iloc[0]
        raise ValueError(f"{name}: theme_id {bad!r} is not one of the summarised themes")
    return codes.astype(np.int64)


def _response_weights(counted: pd.DataFrame, weights: pd.DataFrame) -> np.ndarray:
    require_columns(weights, [*_KEY, "weight"], "weights")
    joined = counted[_KEY].merge(weights[[*_KEY, "weight"]], on=_KEY, how="left")
    if len(joined) != len(counted):
        raise ValueError("weights: more than one weight for a response")
    missing = joined["weight"].isna()
    if missing.any():
        raise ValueError(
            f"weights: no weight for response {joined.loc[missing, 'response_id'].iloc[0]!r} "
            f"({int(missing.sum())} counted response(s) without one)"
        )
    return joined["weight"].to_numpy(dtype=float)


# --- Estimates -------------------------------------------------------------------------------


def _t_interval(
    mean: np.ndarray, variance: np.ndarray, effective_n: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        df = effective_n - 1
        quantile = stats.t.ppf(1 - (1 - confidence) / 2, np.where(df > 0, df, np.nan))
        half = quantile * np.sqrt(np.maximum(variance, 0.0) / effective_n)
    lower = np.clip(mean - half, SCORE_MIN, SCORE_MAX)
    upper = np.clip(mean + half, SCORE_MIN, SCORE_MAX)
    return lower, upper


def _share(
    weighted_hits: np.ndarray, weight_sum: np.ndarray, effective_n: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Share and Wilson limits with `effective_n` trials (the plain Wilson when weights are 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(weight_sum > 0, weighted_hits / weight_sum, np.nan)
        # hits × n_eff / Σw is exactly the count when every weight is 1.
        successes = np.where(weight_sum > 0, weighted_hits * effective_n / weight_sum, 0.0)
    trials = np.where(weight_sum > 0, effective_n, 0.0)
    limits = wilson_interval(np.minimum(successes, trials), trials, confidence)
    return share, limits.lower, limits.upper


class _Sums:
    """Σw, Σw², Σwx, Σwx², Σw·low per cell (unweighted: w = 1)."""

    def __init__(
        self, cell: np.ndarray, size: int, weight: np.ndarray, score: np.ndarray, low: np.ndarray
    ) -> None:
        self.w = np.bincount(cell, weight, size)
        self.ww = np.bincount(cell, weight * weight, size)
        self.wx = np.bincount(cell, weight * score, size)
        self.wxx = np.bincount(cell, weight * score * score, size)
        self.wlow = np.bincount(cell, weight * low, size)


def _score_estimates(sums: _Sums, confidence: float) -> dict[str, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(sums.w > 0, sums.wx / sums.w, np.nan)
        effective_n = np.where(sums.ww > 0, sums.w**2 / sums.ww, 0.0)
        variance = (sums.wxx - sums.wx**2 / sums.w) / (sums.w - sums.ww / sums.w)
    lower, upper = _t_interval(mean, variance, effective_n, confidence)
    share, share_lower, share_upper = _share(sums.wlow, sums.w, effective_n, confidence)
    return {
        "mean_score": mean,
        "mean_score_lower_ci": lower,
        "mean_score_upper_ci": upper,
        "low_score_share": share,
        "low_score_lower_ci": share_lower,
        "low_score_upper_ci": share_upper,
        "effective_n": effective_n,
    }


# --- Quotes ----------------------------------------------------------------------------------


def _quotes(
    candidates: pd.DataFrame,
    membership: _Membership,
    n_themes: int,
    open_cells: np.ndarray,
    settings: VoiceSettings,
) -> dict[int, str]:
    """JSON list of quotes per open cell id (area × n_themes + theme)."""
    if settings.quotes_per_cell == 0 or candidates.empty or not open_cells.any():
        return {}
    text = candidates["text_redacted"].astype(str).str.strip()
    length = text.str.len()
    keep = (length >= settings.quote_min_chars) & (length <= settings.quote_max_chars)
    if settings.quote_skip_redacted:
        redactions = pd.to_numeric(candidates["redactions"], errors="coerce").fillna(0)
        keep &= redactions == 0
    pool = candidates.loc[keep.to_numpy()]
    pool = pool.assign(
        text=text[keep],
        length=length[keep],
        # Integer stand-ins, computed once per comment rather than once per area: the text
        # up to case and spacing (repeats are dropped) and order-independent tie-breakers.
        # (A list comprehension: pandas' .str.split().str.join builds a Series of lists,
        # three times slower for the same strings.)
        text_id=pd.factorize(
            np.array([" ".join(t.casefold().split()) for t in text[keep]], dtype=object)
        )[0],
        response_rank=pool["response_id"].astype(str).rank(method="dense"),
        question_rank=pool["question"].astype(str).rank(method="dense"),
    )
    rows, area = membership.expand(pool["response_idx"].to_numpy())
    cells = area * n_themes + pool["theme_idx"].to_numpy()[rows]
    is_open = open_cells[cells]
    # Choose on a lean frame of numbers (one row per comment x area it counts in), and
    # fetch the texts of the chosen rows only: copying every column of the expanded pool
    # was most of this function's time.
    expanded = rows[is_open]
    lean = pd.DataFrame(
        {
            "cell": cells[is_open],
            **{
                column: pool[column].to_numpy()[expanded]
                for column in (
                    "confidence",
                    "length",
                    "response_rank",
                    "question_rank",
                    "text_id",
                    "response_idx",
                )
            },
            "source": expanded,
        }
    )
    lean = lean.sort_values(
        ["cell", "confidence", "length", "response_rank", "question_rank"],
        ascending=[True, False, True, True, True],
        kind="stable",
    )
    lean = lean.drop_duplicates(["cell", "text_id"]).drop_duplicates(["cell", "response_idx"])
    chosen = lean.groupby("cell", sort=False).head(settings.quotes_per_cell)
    texts = pool["text"].to_numpy()[chosen["source"].to_numpy()]
    quotes: dict[int, list[str]] = {}
    for cell, text in zip(chosen["cell"].to_numpy(), texts, strict=True):
        quotes.setdefault(int(cell), []).append(text)
    return {cell: json.dumps(texts, ensure_ascii=False) for cell, texts in quotes.items()}


# --- Disclosure ------------------------------------------------------------------------------


def _disclosure_mask(
    table: pd.DataFrame, area_comments: pd.DataFrame, rules: DisclosureRules
) -> pd.DataFrame:
    """Shared mask for the per-theme counts, plus the per-area comments mask broadcast."""
    rules = dataclasses.replace(rules, derived_columns={**rules.derived_columns, **_DERIVED})
    mask = suppression_mask(
        table,
        ["responses", "low_score_count", "mentions"],
        rules,
        total_row="is_council",
        group_keys=["survey_id", "council_code", "theme_id"],
    )
    comments_mask = suppression_mask(
        area_comments,
        ["comments"],
        rules,
        total_row="is_council",
        group_keys=["survey_id", "council_code"],
    )
    hidden_comments = comments_mask["comments"].to_numpy()[table["area_idx"].to_numpy()]
    for column in ("comments", *rules.derived_for("comments", table.columns)):
        mask[column] = mask[column].to_numpy() | hidden_comments
    return mask


# --- Public API ------------------------------------------------------------------------------


def theme_summary(
    responses: pd.DataFrame,
    scores: pd.DataFrame,
    comments: pd.DataFrame,
    codes: pd.DataFrame,
    bridge: pd.DataFrame,
    dim_locality: pd.DataFrame,
    population: pd.DataFrame | None,
    *,
    weights: pd.DataFrame | None = None,
    settings: VoiceSettings | None = None,
    rules: DisclosureRules | None = None,
    themes: Sequence[str] = PLACE_STANDARD_THEMES,
) -> pd.DataFrame:
    """`THEME_SUMMARY_COLUMNS` (+ `SUMMARY_EXTRA_COLUMNS`) per survey × area × theme × weighting.

    Areas are every locality of the survey's council (from `dim_locality` and `bridge`, zero
    responses shown as 0) and the council itself (`locality_id` = council code, counting
    every counted response, placed or not). Responses are counted by `counted_responses` and
    placed by `assign_localities`. Weights come from `weights` (survey_id, response_id,
    weight for every counted response) or else `post_stratification_weights` on
    `population`. See the module docstring for estimates, disclosure and quotes.
    """
    settings = settings or VoiceSettings()
    rules = rules or load_disclosure_rules()
    themes = list(themes)
    counted = counted_responses(responses)
    if weights is None:
        if population is None:
            raise ValueError("theme_summary needs population (for weights) or weights")
        weights = post_stratification_weights(
            counted, population, bridge, settings=settings
        ).weights
    response_weight = _response_weights(counted, weights)
    membership = _membership(counted, bridge, dim_locality)
    n_areas, n_themes = len(membership.areas), len(themes)
    size = n_areas * n_themes

    # Scores: one row per respondent × theme × area the respondent is in.
    require_columns(scores, ["theme_id", "score"], "scores")
    scored = _response_positions(scores[[*_KEY, "theme_id", "score"]], counted, "scores")
    if scored.duplicated(["response_idx", "theme_id"]).any():
        first = scored[scored.duplicated(["response_idx", "theme_id"])].iloc[0]
        raise ValueError(
            f"scores: response {first['response_id']!r} scored theme {first['theme_id']!r} twice"
        )
    value = pd.to_numeric(scored["score"], errors="coerce").to_numpy(dtype=float)
    out_of_range = ~((value >= SCORE_MIN) & (value <= SCORE_MAX))
    if out_of_range.any():
        bad = str(scored["score"].to_numpy()[out_of_range][0])
        raise ValueError(f"scores: score {bad!r} is not a number from {SCORE_MIN} to {SCORE_MAX}")
    theme_of_score = _theme_index(scored["theme_id"], themes, "scores")
    response_of_score = scored["response_idx"].to_numpy()
    rows, area = membership.expand(response_of_score)
    cell = area * n_themes + theme_of_score[rows]
    x = value[rows]
    low = (x <= LOW_SCORE_MAX).astype(float)
    ones = np.ones(len(rows))
    unweighted = _Sums(cell, size, ones, x, low)
    weighted = _Sums(cell, size, response_weight[response_of_score][rows], x, low)

    # Comments and mentions (a mention needs a comment row to be coded).
    require_columns(comments, ["question", "text_redacted", "redactions"], "comments")
    require_columns(codes, ["question", "theme_id", "confidence"], "codes")
    commented = _response_positions(comments, counted, "comments")
    commenters = np.unique(commented["response_idx"].to_numpy())
    _, commenter_area = membership.expand(commenters)
    commenter_weight = np.repeat(response_weight[commenters], membership.sizes[commenters])
    area_comments = np.bincount(commenter_area, minlength=n_areas)
    area_comment_w = np.bincount(commenter_area, commenter_weight, n_areas)
    area_comment_ww = np.bincount(commenter_area, commenter_weight**2, n_areas)

    coded = codes[~codes["theme_id"].isin([NO_THEME])]
    coded = coded.merge(commented, on=[*_KEY, "question"])
    coded = coded.assign(theme_idx=_theme_index(coded["theme_id"], themes, "codes"))
    mentioned = coded.drop_duplicates(["response_idx", "theme_idx"])
    rows, area = membership.expand(mentioned["response_idx"].to_numpy())
    mention_cell = area * n_themes + mentioned["theme_idx"].to_numpy()[rows]
    mention_weight = response_weight[mentioned["response_idx"].to_numpy()[rows]]
    mentions = np.bincount(mention_cell, minlength=size)
    mentions_w = np.bincount(mention_cell, mention_weight, size)

    # One frame per weighting, same rows: area-major, theme-minor.
    area_of_cell = np.repeat(np.arange(n_areas), n_themes)
    base = membership.areas.iloc[area_of_cell].reset_index(drop=True)
    base.insert(4, "theme_id", np.tile(themes, n_areas))
    base["area_idx"] = area_of_cell
    base["is_council"] = base["area_level"] == "council"
    base["responses"] = np.bincount(cell, minlength=size)
    base["low_score_count"] = unweighted.wlow.round().astype(np.int64)
    base["comments"] = area_comments[area_of_cell]
    base["mentions"] = mentions

    frames = {}
    for weighting, sums, comment_w, comment_ww, mention_w in (
        (
            "unweighted",
            unweighted,
            area_comments.astype(float),
            area_comments.astype(float),
            mentions.astype(float),
        ),
        ("weighted", weighted, area_comment_w, area_comment_ww, mentions_w),
    ):
        frame = base.copy()
        frame["weighting"] = weighting
        for column, values in _score_estimates(sums, settings.confidence).items():
            frame[column] = values
        comment_w_cell = comment_w[area_of_cell]
        with np.errstate(divide="ignore", invalid="ignore"):
            comment_n_eff = np.where(
                comment_ww[area_of_cell] > 0, comment_w_cell**2 / comment_ww[area_of_cell], 0.0
            )
        share, lower, upper = _share(mention_w, comment_w_cell, comment_n_eff, settings.confidence)
        frame["mention_share"], frame["mention_lower_ci"], frame["mention_upper_ci"] = (
            share,
            lower,
            upper,
        )
        frame["quotes"] = "[]"
        frame["suppressed"] = False
        frames[weighting] = frame

    area_table = membership.areas.assign(
        comments=area_comments, is_council=membership.areas["area_level"] == "council"
    )
    mask = _disclosure_mask(frames["unweighted"], area_table, rules)
    responses_n = base["responses"].to_numpy()
    comments_n = base["comments"].to_numpy()
    small_scores = (responses_n > 0) & (responses_n < settings.min_responses_for_estimate)
    small_comments = (comments_n > 0) & (comments_n < settings.min_responses_for_estimate)

    for weighting, frame in frames.items():
        masked = apply_mask(frame, mask)
        disclosure = masked["suppressed"].to_numpy(dtype=bool)
        masked.loc[small_scores, [*_MEAN_COLUMNS, *_LOW_SHARE_COLUMNS]] = np.nan
        masked.loc[small_comments, list(_MENTION_SHARE_COLUMNS)] = np.nan
        small = small_scores | small_comments
        masked["suppressed"] = disclosure | small
        masked["withheld_reason"] = np.where(
            disclosure, "disclosure", np.where(small, "small_base", None)
        )
        for column in _COUNTS:
            masked[column] = masked[column].astype("Int64")
        frames[weighting] = masked

    open_cells = ~frames["unweighted"]["suppressed"].to_numpy(dtype=bool) & (
        frames["unweighted"]["mentions"].fillna(0).to_numpy() > 0
    )
    candidates = coded.groupby(
        ["response_idx", "response_id", "question", "theme_idx"], as_index=False, sort=False
    ).agg(
        confidence=("confidence", "max"),
        text_redacted=("text_redacted", "first"),
        redactions=("redactions", "first"),
    )
    quotes = _quotes(candidates, membership, n_themes, open_cells, settings)
    if quotes:
        cells = np.fromiter(quotes.keys(), dtype=np.int64)
        texts = np.array(list(quotes.values()), dtype=object)
        for frame in frames.values():
            column = frame["quotes"].to_numpy(dtype=object).copy()
            column[cells] = texts
            frame["quotes"] = column
    for frame in frames.values():
        frame["quotes"] = frame["quotes"].fillna("[]")

    out = pd.concat([frames["unweighted"], frames["weighted"]], ignore_index=True)
    order = {theme: i for i, theme in enumerate(themes)}
    out = out.assign(_theme=out["theme_id"].map(order)).sort_values(
        ["area_idx", "_theme", "weighting"], kind="stable", ignore_index=True
    )
    return out[[*THEME_SUMMARY_COLUMNS, *SUMMARY_EXTRA_COLUMNS]]
