"""Uncertainty of priority ranks: bootstrap over survey responses and perturbed weights.

What belongs here: `bootstrap_ranks`, which gives every ranked locality × theme a rank
interval (rank_low, rank_high), a stability figure and a stable/unstable label.

Method (per replicate r of `uncertainty.replicates`, one seeded numpy generator)
    - Responses are resampled with replacement within each survey × locality (a stratified
      bootstrap: every locality keeps its number of respondents). Each response's survey
      weight (column `weight`, default 1) is multiplied by how often it was drawn, and the
      locality's voice signals are recomputed exactly as the point estimate computes them
      from voice_theme_summary: weighted low-score share and mean score per Place Standard
      theme, weighted mention share among commenters per comment code, pooled over surveys
      by respondents, mapped through the crosswalk. Cells withheld in the point estimate
      (suppressed or small-base rows of `theme_summary`) stay withheld.
    - Every weight (components, need comparators, voice signals) is multiplied by an
      independent uniform factor in [1 - weight_jitter, 1 + weight_jitter].
    - Need and strategic fit are held at their point values (need's own sampling noise is
      handled by the interval gate in the need score); need is re-mixed from its council
      and Scotland parts with the perturbed comparator weights.
    - Priorities are recombined and ranked within each locality (and across the council)
      with the same tie-break as `rank_priorities`.
    rank_low / rank_high are the `interval` quantiles of the replicate ranks; stability is
    the share of replicates giving the point rank; below `stable_share` a rank is
    'unstable'. Everything is vectorised over replicates: the only Python loops run over
    survey × locality strata and components.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from profiles.triangulate.config import COMPONENTS, TriangulationConfig
from profiles.triangulate.scores import (
    SCORE_MAX,
    combine_priority,
    combine_voice,
    need_score_from_raw,
    select_voice_rows,
)
from profiles.voice.contract import LOW_SCORE_MAX, NO_THEME, PLACE_STANDARD_THEMES

UNCERTAINTY_COLUMNS = (
    "rank_low",
    "rank_high",
    "stability",
    "stability_label",
    "council_rank_low",
    "council_rank_high",
    "voice_score_low",
    "voice_score_high",
)
"""Columns `bootstrap_ranks` adds to a ranked frame."""

_KEY = ["survey_id", "response_id"]


@dataclass
class _Units:
    """Response-level arrays of the bootstrap, one row per (response, locality) placement."""

    stratum: np.ndarray  # stratum index of each unit (sorted ascending)
    stratum_survey: np.ndarray  # survey position of each stratum
    stratum_locality: np.ndarray  # locality position of each stratum
    weight: np.ndarray  # (N,)
    scored: np.ndarray  # (N, T) 1 where the theme was scored
    score: np.ndarray  # (N, T) score, 0 where not scored
    low: np.ndarray  # (N, T) 1 where the score is 1..3
    commenter: np.ndarray  # (N,) 1 when the response has any comment
    mentioned: np.ndarray  # (N, K) 1 when a comment is coded to the code


def _units(
    responses: pd.DataFrame,
    voice_scores: pd.DataFrame,
    codes: pd.DataFrame,
    comments: pd.DataFrame | None,
    surveys: list[str],
    localities: list[str],
) -> _Units:
    placed = responses[
        responses["locality_id"].isin(localities) & responses["survey_id"].isin(surveys)
    ].copy()
    placed["weight"] = (
        pd.to_numeric(placed["weight"], errors="coerce").fillna(1.0)
        if "weight" in placed.columns
        else 1.0
    )
    placed["_s"] = placed["survey_id"].map({s: i for i, s in enumerate(surveys)})
    placed["_g"] = placed["locality_id"].map({g: i for i, g in enumerate(localities)})
    placed = placed.sort_values(["_s", "_g", "response_id"], kind="stable").reset_index(drop=True)
    strata = placed[["_s", "_g"]].drop_duplicates().reset_index(drop=True)
    stratum = placed.merge(strata.reset_index(), on=["_s", "_g"])["index"].to_numpy()
    n, themes = len(placed), list(PLACE_STANDARD_THEMES)
    position = placed[_KEY].assign(_unit=np.arange(n))

    scored = np.zeros((n, len(themes)))
    score = np.zeros((n, len(themes)))
    rows = voice_scores[[*_KEY, "theme_id", "score"]].merge(position, on=_KEY)
    rows = rows[rows["theme_id"].isin(themes)]
    value = pd.to_numeric(rows["score"], errors="coerce").to_numpy(dtype=float)
    ok = ~np.isnan(value)
    unit = rows["_unit"].to_numpy()[ok]
    theme = pd.Categorical(rows["theme_id"], categories=themes).codes[ok]
    scored[unit, theme] = 1.0
    score[unit, theme] = value[ok]
    low = ((score <= LOW_SCORE_MAX) & (scored > 0)).astype(float)

    source = comments if comments is not None else codes
    commenters = source[_KEY].drop_duplicates().merge(position, on=_KEY)["_unit"].to_numpy()
    commenter = np.zeros(n)
    commenter[commenters] = 1.0
    mentioned = np.zeros((n, len(themes)))
    coded = codes[(codes["theme_id"] != NO_THEME) & codes["theme_id"].isin(themes)]
    if comments is not None and "question" in comments.columns and "question" in coded.columns:
        # A code counts only for a comment that exists, as in the theme summary.
        coded = coded.merge(comments[[*_KEY, "question"]].drop_duplicates(), on=[*_KEY, "question"])
    coded = coded[[*_KEY, "theme_id"]].drop_duplicates().merge(position, on=_KEY)
    mentioned[
        coded["_unit"].to_numpy(), pd.Categorical(coded["theme_id"], categories=themes).codes
    ] = 1.0
    return _Units(
        stratum=stratum,
        stratum_survey=strata["_s"].to_numpy(),
        stratum_locality=strata["_g"].to_numpy(),
        weight=placed["weight"].to_numpy(dtype=float),
        scored=scored,
        score=score,
        low=low,
        commenter=commenter,
        mentioned=mentioned,
    )


def _resample_counts(units: _Units, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """(R, N) how often each unit is drawn, resampling within strata."""
    n = len(units.stratum)
    sizes = np.bincount(units.stratum, minlength=len(units.stratum_survey))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    slot_start = starts[units.stratum]
    slot_size = sizes[units.stratum]
    draws = slot_start + np.floor(rng.random((replicates, n)) * slot_size).astype(np.int64)
    flat = (np.arange(replicates)[:, None] * n + draws).ravel()
    return np.bincount(flat, minlength=replicates * n).reshape(replicates, n).astype(float)


def _theme_signals(
    units: _Units, counts: np.ndarray, n_localities: int, n_surveys: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(R, G, T) low-score share, mean gap and mention share, pooled over surveys."""
    replicates, themes = counts.shape[0], units.scored.shape[1]
    weighted = counts * units.weight
    shape = (replicates, n_surveys, n_localities, themes)
    low, gap, mention = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    respondents = np.zeros(shape)
    commenters = np.zeros(shape[:3])
    # Units are sorted by stratum, so each stratum is a slice of the units; one product per
    # stratum gives every weighted sum at once (scored, low, score, commenter, mentioned).
    parts = np.hstack(
        [units.scored, units.low, units.score, units.commenter[:, None], units.mentioned]
    )
    counted = np.hstack([units.scored, units.commenter[:, None]])
    ends = np.cumsum(np.bincount(units.stratum, minlength=len(units.stratum_survey)))
    for index, (s, g) in enumerate(zip(units.stratum_survey, units.stratum_locality, strict=True)):
        members = slice(ends[index - 1] if index else 0, ends[index])
        sums = weighted[:, members] @ parts[members]
        w_scored, w_low, w_score = (sums[:, k * themes : (k + 1) * themes] for k in range(3))
        w_commenters, w_mentioned = sums[:, 3 * themes], sums[:, 3 * themes + 1 :]
        with np.errstate(divide="ignore", invalid="ignore"):
            low[:, s, g] = np.where(w_scored > 0, w_low / w_scored, np.nan)
            mean = np.where(w_scored > 0, w_score / w_scored, np.nan)
            gap[:, s, g] = (SCORE_MAX - mean) / (SCORE_MAX - 1.0)
            mention[:, s, g] = np.where(
                (w_commenters > 0)[:, None], w_mentioned / w_commenters[:, None], np.nan
            )
        drawn = counts[:, members] @ counted[members]
        respondents[:, s, g] = drawn[:, :themes]
        commenters[:, s, g] = drawn[:, themes]
    return (
        _pool_surveys(low, respondents),
        _pool_surveys(gap, respondents),
        _pool_surveys(mention, np.broadcast_to(commenters[..., None], shape)),
    )


def _pool_surveys(values: np.ndarray, base: np.ndarray) -> np.ndarray:
    present = ~np.isnan(values) & (base > 0)
    total = np.where(present, base, 0.0).sum(axis=1)
    summed = np.where(present, base * np.nan_to_num(values), 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, summed / total, np.nan)


def _available(
    theme_summary: pd.DataFrame | None, config: TriangulationConfig, localities: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(G, T) whether the point estimate used each locality × theme's scores and mentions."""
    shape = (len(localities), len(PLACE_STANDARD_THEMES))
    if theme_summary is None:
        return np.ones(shape, dtype=bool), np.ones(shape, dtype=bool)
    rows = select_voice_rows(theme_summary, config)
    rows = rows[
        (rows["area_level"] == "locality")
        & rows["locality_id"].isin(localities)
        & rows["theme_id"].isin(PLACE_STANDARD_THEMES)
    ]
    scores, mentions = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
    g = rows["locality_id"].map({loc: i for i, loc in enumerate(localities)}).to_numpy()
    t = pd.Categorical(rows["theme_id"], categories=PLACE_STANDARD_THEMES).codes
    has_scores = (rows["low_score_share"].notna() | rows["mean_score"].notna()).to_numpy()
    has_mentions = rows["mention_share"].notna().to_numpy()
    np.logical_or.at(scores, (g, t), has_scores)
    np.logical_or.at(mentions, (g, t), has_mentions)
    return scores, mentions


def _crosswalk_matrix(config: TriangulationConfig, kind: str) -> np.ndarray:
    """(T, P) crosswalk weights from Place Standard themes (or codes) to priority themes."""
    themes = list(PLACE_STANDARD_THEMES)
    matrix = np.zeros((len(themes), len(config.priority_themes)))
    for p, theme in enumerate(config.priority_themes):
        mapping = theme.place_standard if kind == "scores" else theme.comment_codes
        for name, weight in mapping.items():
            matrix[themes.index(name), p] = weight
    return matrix


def _map_to_priorities(values: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Weighted mean over mapped themes present: (R, G, T) x (T, P) -> (R, G, P)."""
    present = ~np.isnan(values)
    numerator = np.nan_to_num(values) @ matrix
    denominator = present.astype(float) @ matrix
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def _ranks(priority: np.ndarray) -> np.ndarray:
    """Rank along the last axis: 1 = highest; ties by position; NaN ranked last."""
    key = np.where(np.isnan(priority), np.inf, -priority)
    order = np.argsort(key, axis=-1, kind="stable")
    return np.argsort(order, axis=-1, kind="stable") + 1


def _council_ranks(priority: np.ndarray) -> np.ndarray:
    """(R, G, P) ranks over all cells, ties by theme order then locality (as rank_priorities)."""
    replicates, g, p = priority.shape
    by_theme_then_locality = priority.transpose(0, 2, 1).reshape(replicates, p * g)
    ranks = _ranks(by_theme_then_locality).reshape(replicates, p, g)
    return ranks.transpose(0, 2, 1)


def _jitter(
    rng: np.random.Generator,
    replicates: int,
    weights: dict[str, float],
    jitter: float,
    names: tuple[str, ...],
) -> dict[str, np.ndarray]:
    factors = rng.uniform(1.0 - jitter, 1.0 + jitter, size=(replicates, len(names)))
    return {name: weights[name] * factors[:, i] for i, name in enumerate(names)}


def bootstrap_ranks(
    ranked: pd.DataFrame,
    responses: pd.DataFrame,
    voice_scores: pd.DataFrame,
    codes: pd.DataFrame,
    config: TriangulationConfig,
    *,
    theme_summary: pd.DataFrame | None = None,
    comments: pd.DataFrame | None = None,
    replicates: int | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """`ranked` (from `rank_priorities`) with `UNCERTAINTY_COLUMNS` added.

    `responses`: the counted responses placed in localities (survey_id, response_id,
    council_code, locality_id, optional weight: the same weights as the theme summary's
    weighted rows), e.g. `assign_localities(counted_responses(...), bridge)` joined to the
    survey weights. `voice_scores`: SCORE_COLUMNS; `codes`: COMMENT_CODE_COLUMNS;
    `comments` (optional, COMMENT_COLUMNS) defines who commented, else anyone with a code.
    `theme_summary` (optional) marks the cells the point estimate withheld. Replicates and
    seed default to the config. See the module docstring for the method.
    """
    settings = config.uncertainty
    replicates = settings.replicates if replicates is None else replicates
    seed = settings.seed if seed is None else seed
    rng = np.random.default_rng(seed)
    council = ranked[ranked["council_code"] == config.council_code]
    localities = sorted(council["locality_id"].unique())
    themes = list(config.theme_ids)
    n_g, n_p = len(localities), len(themes)
    cell = pd.MultiIndex.from_product([localities, themes], names=["locality_id", "priority_theme"])
    grid = council.set_index(["locality_id", "priority_theme"]).reindex(cell)

    def field(name: str) -> np.ndarray:
        return grid[name].to_numpy(dtype=float).reshape(n_g, n_p)

    point_voice = field("voice_score")
    responses = responses[responses["council_code"] == config.council_code]
    if config.voice_surveys is not None:
        responses = responses[responses["survey_id"].isin(config.voice_surveys)]
    surveys = sorted(responses["survey_id"].unique())
    units = _units(responses, voice_scores, codes, comments, surveys, localities)
    counts = _resample_counts(units, replicates, rng)
    low, gap, mention = _theme_signals(units, counts, n_g, max(len(surveys), 1))
    has_scores, has_mentions = _available(theme_summary, config, localities)
    low = np.where(has_scores, low, np.nan)
    gap = np.where(has_scores, gap, np.nan)
    mention = np.where(has_mentions, mention, np.nan)

    jitter = settings.weight_jitter
    signal_w = _jitter(
        rng,
        replicates,
        dict(config.voice_signal_weights),
        jitter,
        ("low_score_share", "mean_score", "mention_share"),
    )
    comparator_w = _jitter(
        rng, replicates, dict(config.comparator_weights), jitter, ("council", "scotland")
    )
    component_w = _jitter(rng, replicates, dict(config.component_weights), jitter, COMPONENTS)

    def per_replicate(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {k: v[:, None, None] for k, v in values.items()}

    voice = combine_voice(
        _map_to_priorities(low, _crosswalk_matrix(config, "scores")),
        _map_to_priorities(gap, _crosswalk_matrix(config, "scores")),
        _map_to_priorities(mention, _crosswalk_matrix(config, "mentions")),
        per_replicate(signal_w),
    )
    # A locality whose point voice is NULL has no usable survey data: keep it NULL.
    voice = np.where(np.isnan(point_voice)[None], np.nan, voice)
    cw = per_replicate(comparator_w)
    need_raw = (
        cw["council"] * field("need_vs_council")[None]
        + cw["scotland"] * field("need_vs_scotland")[None]
    ) / (cw["council"] + cw["scotland"])
    need = need_score_from_raw(need_raw)
    strategic = np.broadcast_to(field("strategic_score")[None], voice.shape)
    priority, _ = combine_priority(
        {"need": need, "voice": voice, "strategic": strategic}, per_replicate(component_w)
    )
    has_point = ~np.isnan(field("priority_score"))
    priority = np.where(has_point[None], priority, np.nan)

    local_ranks = _ranks(priority).astype(float)
    council_ranks = _council_ranks(priority).astype(float)
    point_rank = field("rank")
    low_q, high_q = settings.interval

    def quantile(values: np.ndarray, q: float) -> np.ndarray:
        return np.quantile(values, q, axis=0, method="inverted_cdf")

    stability = (local_ranks == point_rank[None]).mean(axis=0)
    with warnings.catch_warnings():
        # Localities without survey data have all-NaN voice: their interval is NaN too.
        warnings.simplefilter("ignore", RuntimeWarning)
        voice_low = np.nanquantile(voice, low_q, axis=0)
        voice_high = np.nanquantile(voice, high_q, axis=0)
    result = pd.DataFrame(
        {
            "rank_low": quantile(local_ranks, low_q).ravel(),
            "rank_high": quantile(local_ranks, high_q).ravel(),
            "stability": stability.ravel(),
            "council_rank_low": quantile(council_ranks, low_q).ravel(),
            "council_rank_high": quantile(council_ranks, high_q).ravel(),
            "voice_score_low": np.asarray(voice_low).ravel(),
            "voice_score_high": np.asarray(voice_high).ravel(),
        },
        index=cell,
    )
    unranked = ~has_point.ravel()
    result.loc[
        unranked, ["rank_low", "rank_high", "stability", "council_rank_low", "council_rank_high"]
    ] = np.nan
    result["stability_label"] = np.where(
        unranked,
        None,
        np.where(result["stability"] >= settings.stable_share, "stable", "unstable"),
    )
    for column in ("rank_low", "rank_high", "council_rank_low", "council_rank_high"):
        result[column] = result[column].round().astype("Int64")
    out = ranked.drop(columns=[c for c in UNCERTAINTY_COLUMNS if c in ranked.columns])
    result = result.reset_index().assign(council_code=config.council_code)
    out = out.merge(result, on=["council_code", "locality_id", "priority_theme"], how="left")
    return out
