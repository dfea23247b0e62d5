"""Need, voice and strategic scores per locality × priority theme, their combination and ranks.

What belongs here: the point estimates of the triangulation, from the published frames
(`locality_profile`, `voice_theme_summary`, `engagement_reach`) and a `TriangulationConfig`;
the agreement categories; ranks; and the long need-vs-voice matrix. Uncertainty is
`profiles.triangulate.uncertainty`, the evidence trail `profiles.triangulate.evidence`.
The method, with a worked example, is `data/config/themes/README.md`. In short:

Need (0-100; 50 = no different from the council and Scotland)
    For each mapped measure m (latest vintage unless pinned) and comparator k (council,
    Scotland): z_k = sign × (value - comparator_k) / spread, where sign is +1 when higher is
    worse and -1 when higher is better, and spread is the standard deviation of the
    measure over the council's localities (at least 3; else over every locality of the
    profile). A difference inside the locality's confidence interval (vs_k == 'similar')
    gives z_k = 0, so noise is not read as need; z_k is clipped to ±`need.z_cap` (3) so one
    measure far from Scotland (drive times in a city, say) cannot swamp its theme. Measures
    without an interval (SIMD shares are counts of areas, not samples; indicators published
    without a numerator) use the difference as it is. Suppressed or missing measures drop
    out. need_raw = Σ_m w_m (c_council z_council + c_scotland z_scotland) / Σ_m
    w_m with the comparator weights c normalised to 1; need_score = 100 × Φ(need_raw).

Voice (0-100; the share-like level of "needs improvement" the community expresses)
    From the locality's rows of voice_theme_summary (weighted rows when present: they are
    post-stratified by SIMD quintile and age, so under-represented groups count in full),
    pooled over surveys by respondents: low_score_share and (7 - mean_score) / 6 averaged
    over the mapped Place Standard themes, and mention_share over the mapped comment codes,
    each with the crosswalk weights; voice_score = 100 × Σ signal weight × signal / Σ
    weights of the signals present. Withheld (suppressed, small-base) values contribute
    nothing and are noted. The score is the locality's own level, not a difference from
    the council, so one locality's survey never moves another locality's score, and a
    small locality's voice counts as much as a large one's; the council's figure is shown
    beside it (council_voice_score, voice_vs_council) and reach in representation_ratio and
    under_heard. No survey data: voice is NULL.

Strategic (0-100): `TriangulationConfig.strategic_scores`, the same in every locality.

Priority = Σ component weight × score / Σ weights of the components present; a cell with
neither need nor voice has no priority and no rank (strategic fit alone says nothing about
the locality). Rank 1 is the highest priority within a locality (ties by the config's
theme order); council_rank ranks every locality × theme of the council.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy.special import ndtr

from profiles.contract import SIMD_VINTAGES
from profiles.triangulate.config import COMPONENTS, Thresholds, TriangulationConfig

MIN_LOCALITIES_FOR_SPREAD: Final[int] = 3
SCORE_MAX: Final[float] = 7.0

AGREEMENT_LABELS: Final[dict[str, str]] = {
    "shared_priority": "Shared priority: local data and community voice both high",
    "hidden_need": "Hidden need: local data high, community voice low - engage further",
    "community_concern": "Community concern: community voice high, local data low - investigate",
    "both_low": "Both low: neither local data nor community voice points to it",
    "no_community_evidence": "No community evidence: no usable survey data for this theme here",
    "no_local_data": "No local data: the profile has no measure for this theme",
    "no_evidence": "No evidence: neither local data nor survey data",
}
"""Agreement category id -> the label an LCPP reads."""

SCORE_FRAME_COLUMNS: Final[tuple[str, ...]] = (
    "council_code",
    "locality_id",
    "priority_theme",
    "priority_theme_label",
    "need_score",
    "voice_score",
    "strategic_score",
    "priority_score",
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
    "agreement",
    "agreement_label",
    "notes",
    "need_evidence",
    "voice_evidence",
    "strategic_evidence",
)
"""Columns of `score_priorities` (rank columns are added by `rank_priorities`)."""

_CELL = ["council_code", "locality_id", "priority_theme"]


# --- Helpers --------------------------------------------------------------------------------


def _vintage_order(vintage: str) -> tuple[int, int, str]:
    # Known vintages in their published order; an unknown one is taken as newer.
    if vintage in SIMD_VINTAGES:
        return (0, SIMD_VINTAGES.index(vintage), vintage)
    return (1, 0, vintage)


def json_safe(value: Any) -> Any:
    """JSON-safe scalar: NaN/NA -> None, numpy -> Python, floats rounded to 6 places."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return round(float(value), 6)
    return value


def _json_safe_values(column: pd.Series) -> list[Any]:
    """`json_safe` of every value of `column`; plain numpy columns skip the per-value checks
    (evidence lists hold ~400,000 values at Scotland scale)."""
    values = column.to_numpy()
    if values.dtype.kind == "f":
        return [None if v != v else round(v, 6) for v in values.tolist()]
    if values.dtype.kind in "biu":
        return values.tolist()
    return [json_safe(v) for v in values]


def _records(frame: pd.DataFrame, columns: Iterable[str]) -> list[dict[str, Any]]:
    columns = list(columns)
    values = [_json_safe_values(frame[c]) for c in columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def _grouped_records(
    frame: pd.DataFrame, columns: list[str]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """JSON-safe records of `columns` per (locality_id, priority_theme), in frame order."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    keys = zip(frame["locality_id"], frame["priority_theme"], strict=True)
    for key, record in zip(keys, _records(frame, columns), strict=True):
        out.setdefault(key, []).append(record)
    return out


def _localities(
    config: TriangulationConfig,
    profile: pd.DataFrame,
    theme_summary: pd.DataFrame,
    dim_locality: pd.DataFrame | None,
) -> list[str]:
    code = config.council_code
    if dim_locality is not None:
        ids = dim_locality.loc[dim_locality["council_code"] == code, "locality_id"]
        return sorted(ids.astype(str).unique())
    from_profile = profile.loc[
        (profile["council_code"] == code) & (profile["area_level"] == "locality"), "locality_id"
    ]
    from_voice = theme_summary.loc[
        (theme_summary["council_code"] == code) & (theme_summary["area_level"] == "locality"),
        "locality_id",
    ]
    return sorted(set(from_profile.astype(str)) | set(from_voice.astype(str)))


def _grid(config: TriangulationConfig, localities: list[str]) -> pd.DataFrame:
    themes = config.theme_ids
    return pd.DataFrame(
        {
            "council_code": config.council_code,
            "locality_id": np.repeat(localities, len(themes)),
            "priority_theme": np.tile(themes, len(localities)),
        }
    )


# --- Need -----------------------------------------------------------------------------------


def _crosswalk_measures(config: TriangulationConfig) -> pd.DataFrame:
    rows = [
        (theme.theme_id, m.measure_id, m.weight, m.polarity, m.origin)
        for theme in config.priority_themes
        for m in theme.need
        if m.weight > 0
    ]
    return pd.DataFrame(
        rows, columns=["priority_theme", "measure_id", "weight", "polarity", "origin"]
    )


def _spreads(rows: pd.DataFrame, everywhere: pd.DataFrame) -> pd.DataFrame:
    """Spread (sample standard deviation over localities) of each measure, and its basis.

    The council's own localities when at least MIN_LOCALITIES_FOR_SPREAD have a value
    (basis 'council_localities'); otherwise every locality of the profile with the same
    measure and vintage ('all_localities'), so a council of two localities still gets a
    scale; otherwise none.
    """

    def spread_of(values: pd.Series) -> float:
        return values.std(ddof=1) if values.size >= MIN_LOCALITIES_FOR_SPREAD else np.nan

    usable = rows[rows["_usable"]]
    own = usable.groupby("measure_id")["value"].agg(spread_of)
    vintages = rows[["measure_id", "vintage"]].drop_duplicates()
    wide = everywhere[everywhere["_usable"]].merge(vintages, on=["measure_id", "vintage"])
    fallback = wide.groupby("measure_id")["value"].agg(spread_of)
    out = pd.DataFrame({"measure_id": vintages["measure_id"].unique()})
    out["own"] = out["measure_id"].map(own)
    out["fallback"] = out["measure_id"].map(fallback)
    use_own = out["own"].notna() & (out["own"] > 0)
    out["spread"] = out["own"].where(use_own, out["fallback"])
    out["spread_basis"] = np.where(
        use_own, "council_localities", np.where(out["fallback"] > 0, "all_localities", None)
    )
    return out[["measure_id", "spread", "spread_basis"]]


NEED_PROFILE_COLUMNS = (
    *("council_code", "locality_id", "area_level", "measure_id", "vintage", "value"),
    *("lower_ci", "upper_ci", "council_value", "scotland_value", "vs_council", "vs_scotland"),
    "suppressed",
)
"""The `locality_profile` columns scoring reads; only its `area_level = 'locality'` rows of
the config's `need_measure_ids` are read, so a caller may pass just those (all of Scotland's
profile is ~470,000 rows, of which the default crosswalk reads ~5%)."""


def need_components(
    profile: pd.DataFrame, config: TriangulationConfig, localities: list[str]
) -> pd.DataFrame:
    """One row per locality × priority theme × mapped measure with its gated, standardised gaps.

    Columns: the cell key, measure_id, vintage, weight, polarity, origin, value, lower_ci,
    upper_ci, council_value, scotland_value, vs_council, vs_scotland, spread, z_council,
    z_scotland, status (used | similar | suppressed | missing | no_spread), contribution
    (the measure's share of need_raw).
    """
    crosswalk = _crosswalk_measures(config)
    grid = pd.DataFrame({"locality_id": localities}).merge(crosswalk, how="cross")
    grid.insert(0, "council_code", config.council_code)
    # Narrowed to the mapped measures before any text test: the profile may be all of
    # Scotland's, and this runs once per council.
    mapped = profile[
        (profile["area_level"] == "locality") & profile["measure_id"].isin(crosswalk["measure_id"])
    ]
    everywhere = mapped[~mapped["vintage"].astype(str).str.contains("_to_")].assign(
        vintage=lambda f: f["vintage"].astype(str)
    )
    suppressed = everywhere["suppressed"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    everywhere = everywhere.assign(_usable=~suppressed & everywhere["value"].notna())
    rows = everywhere[everywhere["council_code"] == config.council_code]
    if config.need_vintage == "latest":
        latest = rows.groupby("measure_id")["vintage"].agg(lambda v: max(v, key=_vintage_order))
        rows = rows[rows["vintage"] == rows["measure_id"].map(latest)]
    else:
        rows = rows[rows["vintage"] == config.need_vintage]
    spread = _spreads(rows, everywhere)
    keep = [
        "locality_id",
        "measure_id",
        "vintage",
        "value",
        "lower_ci",
        "upper_ci",
        "council_value",
        "scotland_value",
        "vs_council",
        "vs_scotland",
        "_usable",
    ]
    out = grid.merge(rows[keep], on=["locality_id", "measure_id"], how="left")
    out = out.merge(spread, on="measure_id", how="left")
    sign = np.where(out["polarity"] == "higher_is_better", -1.0, 1.0)
    no_interval = out["lower_ci"].isna() & out["upper_ci"].isna()
    for comparator in ("council", "scotland"):
        label = out[f"vs_{comparator}"].fillna("not_compared")
        with np.errstate(divide="ignore", invalid="ignore"):
            z = sign * (out["value"] - out[f"{comparator}_value"]) / out["spread"]
        counts = label.isin(["worse", "better", "higher", "lower"]) | (
            (label == "not_compared") & no_interval
        )
        # Inside the interval, or a comparator we cannot use: no evidence of a gap.
        z = z.clip(-config.need_z_cap, config.need_z_cap)
        out[f"z_{comparator}"] = np.where(counts & z.notna(), z, 0.0)
    status = np.select(
        [
            out["vintage"].isna(),
            ~out["_usable"].astype("boolean").fillna(False),
            out["spread"].isna() | (out["spread"] <= 0),
            (out["vs_council"] == "similar") & (out["vs_scotland"] == "similar"),
        ],
        ["missing", "suppressed", "no_spread", "similar"],
        default="used",
    )
    out["status"] = status
    dropped = np.isin(status, ["missing", "suppressed", "no_spread"])
    out.loc[dropped, ["z_council", "z_scotland"]] = np.nan
    council_w = config.comparator_weights["council"]
    scotland_w = config.comparator_weights["scotland"]
    total = council_w + scotland_w
    measure_need = (council_w * out["z_council"] + scotland_w * out["z_scotland"]) / total
    used_weight = out["weight"].where(~dropped, 0.0)
    weight_sum = used_weight.groupby([out["locality_id"], out["priority_theme"]]).transform("sum")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["contribution"] = np.where(
            ~dropped & (weight_sum > 0), used_weight * measure_need / weight_sum, np.nan
        )
    return out.drop(columns="_usable")


def _need_by_cell(components: pd.DataFrame, config: TriangulationConfig) -> pd.DataFrame:
    used = components[~components["status"].isin(["missing", "suppressed", "no_spread"])]
    weight = used["weight"]
    frame = used.assign(
        wzc=weight * used["z_council"],
        wzs=weight * used["z_scotland"],
        w=weight,
        similar=(used["status"] == "similar").astype(int),
    )
    sums = frame.groupby(_CELL).agg(
        wzc=("wzc", "sum"),
        wzs=("wzs", "sum"),
        w=("w", "sum"),
        used=("w", "size"),
        similar=("similar", "sum"),
    )
    dropped = (
        components[components["status"].isin(["missing", "suppressed", "no_spread"])]
        .groupby(_CELL)
        .size()
        .rename("dropped")
    )
    sums = sums.join(dropped, how="outer").fillna({"dropped": 0, "used": 0, "similar": 0})
    with np.errstate(divide="ignore", invalid="ignore"):
        sums["need_vs_council"] = np.where(sums["w"] > 0, sums["wzc"] / sums["w"], np.nan)
        sums["need_vs_scotland"] = np.where(sums["w"] > 0, sums["wzs"] / sums["w"], np.nan)
    council_w = config.comparator_weights["council"]
    scotland_w = config.comparator_weights["scotland"]
    sums["need_raw"] = (
        council_w * sums["need_vs_council"] + scotland_w * sums["need_vs_scotland"]
    ) / (council_w + scotland_w)
    sums["need_score"] = need_score_from_raw(sums["need_raw"].to_numpy())
    sums = sums.rename(
        columns={
            "used": "need_measures_used",
            "similar": "need_measures_similar",
            "dropped": "need_measures_dropped",
        }
    )
    return sums[
        [
            "need_score",
            "need_raw",
            "need_vs_council",
            "need_vs_scotland",
            "need_measures_used",
            "need_measures_similar",
            "need_measures_dropped",
        ]
    ]


def need_score_from_raw(need_raw: np.ndarray) -> np.ndarray:
    """100 × Φ(need_raw): 50 = no different from the comparators, 84 = one spread worse."""
    # ndtr is the standard normal CDF that scipy.stats.norm.cdf evaluates, without
    # importing all of scipy.stats (a second of start-up for every pack worker).
    return 100.0 * ndtr(np.asarray(need_raw, dtype=float))


# --- Voice ----------------------------------------------------------------------------------


def select_voice_rows(theme_summary: pd.DataFrame, config: TriangulationConfig) -> pd.DataFrame:
    """The council's voice_theme_summary rows the scores use, one weighting per survey.

    The configured weighting (normally 'weighted') where a survey has it, otherwise the
    other one. Adds `mean_gap` = (7 - mean_score) / 6.
    """
    rows = theme_summary[theme_summary["council_code"] == config.council_code]
    if config.voice_surveys is not None:
        rows = rows[rows["survey_id"].isin(config.voice_surveys)]
    has_preferred = rows.groupby("survey_id")["weighting"].transform(
        lambda w: (w == config.voice_weighting).any()
    )
    preferred = rows["weighting"] == config.voice_weighting
    rows = rows[preferred | ~has_preferred.astype(bool)].copy()
    for column in ("low_score_share", "mean_score", "mention_share", "responses", "comments"):
        rows[column] = pd.to_numeric(rows[column], errors="coerce").astype(float)
    rows["mean_gap"] = (SCORE_MAX - rows["mean_score"]) / (SCORE_MAX - 1.0)
    rows["suppressed"] = rows["suppressed"].astype("boolean").fillna(False).astype(bool)
    return rows.reset_index(drop=True)


def _pool(rows: pd.DataFrame, value: str, base: str, keys: list[str]) -> pd.DataFrame:
    """Respondent-weighted mean of `value` over surveys (rows where it is present)."""
    present = rows[value].notna() & (rows[base] > 0)
    part = rows[present].assign(_wv=rows[base] * rows[value])
    pooled = part.groupby(keys).agg(_wv=("_wv", "sum"), _n=(base, "sum"))
    return (
        (pooled["_wv"] / pooled["_n"])
        .rename(value)
        .to_frame()
        .join(pooled["_n"].rename(f"{value}_base"))
    )


def _crosswalk_voice(config: TriangulationConfig) -> pd.DataFrame:
    rows = []
    for theme in config.priority_themes:
        for ps_theme, weight in theme.place_standard.items():
            if weight > 0:
                rows.append((theme.theme_id, "scores", ps_theme, weight))
        for code, weight in theme.comment_codes.items():
            if weight > 0:
                rows.append((theme.theme_id, "mentions", code, weight))
    return pd.DataFrame(rows, columns=["priority_theme", "kind", "theme_id", "weight"])


def voice_signals(voice_rows: pd.DataFrame, config: TriangulationConfig) -> pd.DataFrame:
    """Per area (locality or council) × priority theme: the three pooled signals and voice.

    Returns columns council_code, locality_id, area_level, priority_theme, low_score_share,
    mean_gap, mention_share, responses, comments, surveys, voice_score.
    """
    area_keys = ["council_code", "locality_id", "area_level"]
    empty = pd.DataFrame(
        columns=[
            *area_keys,
            "priority_theme",
            "low_score_share",
            "mean_gap",
            "mention_share",
            "responses",
            "comments",
            "surveys",
            "voice_score",
        ]
    )
    if voice_rows.empty:  # a council without surveys: most of Scotland's, in a full build
        return empty
    keys = [*area_keys, "theme_id"]
    pooled = (
        _pool(voice_rows, "low_score_share", "responses", keys)
        .join(_pool(voice_rows, "mean_gap", "responses", keys), how="outer")
        .join(_pool(voice_rows, "mention_share", "comments", keys), how="outer")
        .reset_index()
    )
    crosswalk = _crosswalk_voice(config)
    signals = []
    for kind, columns in (
        ("scores", ["low_score_share", "mean_gap"]),
        ("mentions", ["mention_share"]),
    ):
        mapped = pooled.merge(crosswalk[crosswalk["kind"] == kind], on="theme_id")
        for column in columns:
            present = mapped[column].notna()
            part = mapped[present].assign(_wv=mapped["weight"] * mapped[column])
            agg = part.groupby([*area_keys, "priority_theme"]).agg(
                _wv=("_wv", "sum"), _w=("weight", "sum")
            )
            signals.append((agg["_wv"] / agg["_w"]).rename(column))
    table = pd.concat(signals, axis=1).reset_index() if signals else pd.DataFrame()
    if table.empty:
        return empty
    for column in ("low_score_share", "mean_gap", "mention_share"):
        if column not in table:
            table[column] = np.nan
    table["voice_score"] = combine_voice(
        table["low_score_share"].to_numpy(),
        table["mean_gap"].to_numpy(),
        table["mention_share"].to_numpy(),
        config.voice_signal_weights,
    )
    counts = _voice_counts(voice_rows, crosswalk)
    return table.merge(counts, on=[*area_keys, "priority_theme"], how="left")


def _voice_counts(voice_rows: pd.DataFrame, crosswalk: pd.DataFrame) -> pd.DataFrame:
    """Respondents behind each area × priority theme: the most who scored any mapped theme,
    the commenters, and the surveys used."""
    area_keys = ["council_code", "locality_id", "area_level"]
    mapped = voice_rows.merge(
        crosswalk[["priority_theme", "theme_id"]].drop_duplicates(), on="theme_id"
    )
    by_survey = mapped.groupby([*area_keys, "priority_theme", "survey_id"]).agg(
        responses=("responses", "max"), comments=("comments", "max")
    )
    out = by_survey.groupby([*area_keys, "priority_theme"]).agg(
        responses=("responses", "sum"),
        comments=("comments", "sum"),
        surveys=("responses", "size"),
    )
    return out.reset_index()


def combine_voice(
    low_score_share: np.ndarray,
    mean_gap: np.ndarray,
    mention_share: np.ndarray,
    weights: dict[str, float] | Any,
) -> np.ndarray:
    """100 × Σ weight × signal / Σ weights of the signals present (NaN when none is).

    `weights` maps low_score_share, mean_score and mention_share to a weight (a scalar each,
    or arrays broadcasting with the signals, e.g. per bootstrap replicate).
    """
    parts = (
        (low_score_share, weights["low_score_share"]),
        (mean_gap, weights["mean_score"]),
        (mention_share, weights["mention_share"]),
    )
    numerator = 0.0
    denominator = 0.0
    for signal, weight in parts:
        present = ~np.isnan(signal)
        numerator = numerator + np.where(present, weight * np.nan_to_num(signal), 0.0)
        denominator = denominator + np.where(present, weight, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, 100.0 * numerator / denominator, np.nan)


def _reach_by_locality(reach: pd.DataFrame | None, config: TriangulationConfig) -> pd.DataFrame:
    """Pooled representation ratio (Σ responses / Σ expected responses) and under-heard flag.

    Expected responses of a locality in a survey = the survey's placed responses × the
    locality's population share; under_heard is True when any survey flagged it.
    """
    columns = ["locality_id", "representation_ratio", "under_heard"]
    if reach is None or reach.empty:
        return pd.DataFrame(columns=columns)
    rows = reach[
        (reach["council_code"] == config.council_code) & (reach["group_type"] == "locality")
    ].rename(columns={"group_id": "locality_id"})
    if config.voice_surveys is not None:
        rows = rows[rows["survey_id"].isin(config.voice_surveys)]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows["responses"] = pd.to_numeric(rows["responses"], errors="coerce").astype(float)
    rows["population_share"] = pd.to_numeric(rows["population_share"], errors="coerce")
    placed = rows.groupby("survey_id")["responses"].transform("sum")
    rows["expected"] = placed * rows["population_share"]
    rows["flag"] = rows["under_heard"].astype("boolean")
    grouped = rows.groupby("locality_id").agg(
        responses=("responses", lambda v: v.sum(min_count=len(v))),
        expected=("expected", lambda v: v.sum(min_count=len(v))),
        under_heard=("flag", lambda v: bool(v.fillna(False).any()) if v.notna().any() else None),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        grouped["representation_ratio"] = np.where(
            grouped["expected"] > 0, grouped["responses"] / grouped["expected"], np.nan
        )
    return grouped.reset_index()[columns]


# --- Combination ----------------------------------------------------------------------------


def agreement_category(
    need: np.ndarray | pd.Series, voice: np.ndarray | pd.Series, thresholds: Thresholds
) -> np.ndarray:
    """Agreement of local data and community voice for each cell (ids of AGREEMENT_LABELS).

    High means at or above the threshold (0-100 scale). Missing voice is
    'no_community_evidence' and missing need 'no_local_data', never 'low'.
    """
    need = np.asarray(need, dtype=float)
    voice = np.asarray(voice, dtype=float)
    need_high = need >= thresholds.need_high
    voice_high = voice >= thresholds.voice_high
    return np.select(
        [
            np.isnan(need) & np.isnan(voice),
            np.isnan(voice),
            np.isnan(need),
            need_high & voice_high,
            need_high,
            voice_high,
        ],
        [
            "no_evidence",
            "no_community_evidence",
            "no_local_data",
            "shared_priority",
            "hidden_need",
            "community_concern",
        ],
        default="both_low",
    ).astype(object)


def combine_priority(
    scores: dict[str, np.ndarray], weights: dict[str, Any]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Priority = Σ weight × score / Σ weights of the components present, and contributions.

    `scores` and `weights` are keyed by component (need, voice, strategic); weights may be
    arrays broadcasting with the scores. A contribution is weight × score / that sum, so the
    contributions add up to the priority score. Strategic fit alone is not evidence about a
    locality: without need and voice the priority is NaN (the cell is not ranked).
    """
    about_locality = ~np.isnan(scores["need"]) | ~np.isnan(scores["voice"])
    denominator = 0.0
    for name in COMPONENTS:
        denominator = denominator + np.where(np.isnan(scores[name]), 0.0, weights[name])
    denominator = np.where(about_locality, denominator, 0.0)
    contributions = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for name in COMPONENTS:
            part = np.where(np.isnan(scores[name]), 0.0, weights[name] * scores[name])
            contributions[name] = np.where(
                np.isnan(scores[name]) | (denominator <= 0), np.nan, part / denominator
            )
        total = sum(np.nan_to_num(contributions[name]) for name in COMPONENTS)
        priority = np.where(denominator > 0, total, np.nan)
    return priority, contributions


def score_priorities(
    profile: pd.DataFrame,
    theme_summary: pd.DataFrame,
    reach: pd.DataFrame | None,
    config: TriangulationConfig,
    *,
    dim_locality: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Need, voice, strategic and priority scores per locality × priority theme, explained.

    `profile` is `locality_profile` (long), `theme_summary` `voice_theme_summary`, `reach`
    `engagement_reach` (optional), all for any councils; only `config.council_code` is
    scored. Localities come from `dim_locality` when given (so a locality with no data
    still gets rows), else from the profile and the theme summary. Returns
    `SCORE_FRAME_COLUMNS`, one row per locality × theme in the config's theme order, with
    JSON evidence of every component (see the module docstring for the method).
    """
    localities = _localities(config, profile, theme_summary, dim_locality)
    grid = _grid(config, localities)
    labels = {t.theme_id: t.label for t in config.priority_themes}
    grid["priority_theme_label"] = grid["priority_theme"].map(labels)

    components = need_components(profile, config, localities)
    need = _need_by_cell(components, config)
    out = grid.merge(need.reset_index(), on=_CELL, how="left")
    for column in ("need_measures_used", "need_measures_similar", "need_measures_dropped"):
        out[column] = out[column].fillna(0).astype(int)

    voice_rows = select_voice_rows(theme_summary, config)
    signals = voice_signals(voice_rows, config)
    local = signals[signals["area_level"] == "locality"].drop(columns="area_level")
    local = local.rename(
        columns={
            "low_score_share": "voice_low_score_share",
            "mean_gap": "_mean_gap",
            "mention_share": "voice_mention_share",
            "responses": "voice_responses",
            "comments": "voice_comments",
            "surveys": "voice_surveys",
        }
    )
    out = out.merge(local, on=_CELL, how="left")
    out["voice_mean_score"] = SCORE_MAX - (SCORE_MAX - 1.0) * out.pop("_mean_gap")
    council = signals[signals["area_level"] == "council"][["priority_theme", "voice_score"]]
    out = out.merge(
        council.rename(columns={"voice_score": "council_voice_score"}),
        on="priority_theme",
        how="left",
    )
    out["voice_vs_council"] = out["voice_score"] - out["council_voice_score"]
    for column in ("voice_responses", "voice_comments", "voice_surveys"):
        out[column] = out[column].astype("Int64")
    out = out.merge(_reach_by_locality(reach, config), on="locality_id", how="left")

    strategic = config.strategic_scores
    out["strategic_score"] = out["priority_theme"].map(strategic).astype(float)
    priority, contributions = combine_priority(
        {
            "need": out["need_score"].to_numpy(dtype=float),
            "voice": out["voice_score"].to_numpy(dtype=float),
            "strategic": out["strategic_score"].to_numpy(dtype=float),
        },
        dict(config.component_weights),
    )
    out["priority_score"] = priority
    for name in COMPONENTS:
        out[f"{name}_contribution"] = contributions[name]
    present = np.column_stack([out[f"{name}_score"].notna() for name in COMPONENTS])
    out["priority_basis"] = [
        "+".join(name for name, ok in zip(COMPONENTS, row, strict=True) if ok) for row in present
    ]
    out.loc[out["priority_score"].isna(), "priority_basis"] = "none"
    out["agreement"] = agreement_category(out["need_score"], out["voice_score"], config.thresholds)
    out["agreement_label"] = out["agreement"].map(AGREEMENT_LABELS)

    out = _attach_evidence_lists(out, components, voice_rows, config)
    return out[list(SCORE_FRAME_COLUMNS)]


def _attach_evidence_lists(
    out: pd.DataFrame,
    components: pd.DataFrame,
    voice_rows: pd.DataFrame,
    config: TriangulationConfig,
) -> pd.DataFrame:
    """JSON lists of the rows behind each component, and a short `notes` text."""
    need_columns = [
        "measure_id",
        "vintage",
        "weight",
        "polarity",
        "value",
        "lower_ci",
        "upper_ci",
        "council_value",
        "scotland_value",
        "vs_council",
        "vs_scotland",
        "spread",
        "spread_basis",
        "z_council",
        "z_scotland",
        "contribution",
        "status",
    ]
    need_lists = _grouped_records(components, need_columns)
    crosswalk = _crosswalk_voice(config)
    local_rows = voice_rows[voice_rows["area_level"] == "locality"]
    mapped = local_rows.merge(crosswalk, on="theme_id")
    score_rows = mapped["kind"] == "scores"
    mapped["status"] = np.where(
        np.where(
            score_rows,
            mapped["low_score_share"].isna() & mapped["mean_score"].isna(),
            mapped["mention_share"].isna(),
        ),
        np.where(mapped["suppressed"], "suppressed", "missing"),
        "used",
    )
    voice_columns = [
        "survey_id",
        "theme_id",
        "weighting",
        "kind",
        "weight",
        "responses",
        "low_score_share",
        "mean_score",
        "comments",
        "mention_share",
        "status",
    ]
    # Each evidence row shows the figures of its kind only.
    mapped.loc[score_rows, ["comments", "mention_share"]] = np.nan
    mapped.loc[~score_rows, ["responses", "low_score_share", "mean_score"]] = np.nan
    mapped = mapped.sort_values(["kind", "theme_id", "survey_id"], kind="stable")
    voice_lists = _grouped_records(mapped, voice_columns)
    weights = {c.theme_id: c.weight for c in config.city_themes}
    labels = {c.theme_id: c.label for c in config.city_themes}
    strategic_lists = {
        theme.theme_id: [
            {"city_theme": c, "label": labels[c], "fit": fit, "weight": weights[c]}
            for c, fit in theme.city_fit.items()
            if fit > 0
        ]
        for theme in config.priority_themes
    }
    need_json, voice_json, strategic_json, notes = [], [], [], []
    for locality, theme in zip(out["locality_id"], out["priority_theme"], strict=True):
        need_list = need_lists.get((locality, theme), [])
        voice_list = voice_lists.get((locality, theme), [])
        need_json.append(json.dumps(need_list, ensure_ascii=False))
        voice_json.append(json.dumps(voice_list, ensure_ascii=False))
        strategic_json.append(json.dumps(strategic_lists[theme], ensure_ascii=False))
        notes.append(_notes(need_list, voice_list))
    return out.assign(
        need_evidence=need_json,
        voice_evidence=voice_json,
        strategic_evidence=strategic_json,
        notes=notes,
    )


def _notes(need_list: list[dict], voice_list: list[dict]) -> str:
    parts = []
    if not need_list:
        parts.append("no profile measure is mapped to this theme")
    for status in ("similar", "suppressed", "missing", "no_spread"):
        names = [m["measure_id"] for m in need_list if m["status"] == status]
        if names:
            parts.append(f"need {status}: {', '.join(names)}")
    withheld = sorted(
        {f"{v['theme_id']} ({v['kind']})" for v in voice_list if v["status"] != "used"}
    )
    if withheld:
        parts.append(f"voice withheld or missing: {', '.join(withheld)}")
    if not voice_list:
        parts.append("no survey data for this locality")
    return "; ".join(parts)


def rank_priorities(scores: pd.DataFrame, config: TriangulationConfig) -> pd.DataFrame:
    """Add `rank` (1 = highest priority within the locality) and `council_rank`.

    Ties are broken by the config's theme order, then locality id, so ranks are a strict
    order; a cell without a priority score gets no rank.
    """
    order = {theme: i for i, theme in enumerate(config.theme_ids)}
    ranked = scores.assign(_order=scores["priority_theme"].map(order))
    ranked = ranked.sort_values(
        ["council_code", "locality_id", "priority_score", "_order"],
        ascending=[True, True, False, True],
        na_position="last",
        kind="stable",
    )
    has_score = ranked["priority_score"].notna()
    ranked["rank"] = ranked.groupby(["council_code", "locality_id"]).cumcount() + 1
    ranked["rank"] = ranked["rank"].where(has_score).astype("Int64")
    ranked = ranked.sort_values(
        ["council_code", "priority_score", "_order", "locality_id"],
        ascending=[True, False, True, True],
        na_position="last",
        kind="stable",
    )
    ranked["council_rank"] = ranked.groupby("council_code").cumcount() + 1
    ranked["council_rank"] = ranked["council_rank"].where(has_score).astype("Int64")
    ranked = ranked.sort_values(["council_code", "locality_id", "_order"], kind="stable")
    return ranked.drop(columns="_order").reset_index(drop=True)


TRIANGULATION_MATRIX_COLUMNS: Final[tuple[str, ...]] = (
    "council_code",
    "locality_id",
    "priority_theme",
    "component",
    "value",
    "weight",
    "contribution",
    "priority_score",
    "rank",
    "agreement",
)


def triangulation_matrix(ranked: pd.DataFrame, config: TriangulationConfig) -> pd.DataFrame:
    """Long locality × priority theme × component (need, voice, strategic) for the matrix chart.

    `value` is the component score (0-100), `weight` its configured weight and
    `contribution` its part of `priority_score` (contributions add up to it).
    """
    frames = []
    for name in COMPONENTS:
        frames.append(
            ranked[[*_CELL, "priority_score", "rank", "agreement"]].assign(
                component=name,
                # float64 throughout: a component missing everywhere (no survey in the
                # council) is all-NaN, and concat must not infer its dtype from that.
                value=ranked[f"{name}_score"].astype("float64"),
                weight=float(config.component_weights[name]),
                contribution=ranked[f"{name}_contribution"].astype("float64"),
            )
        )
    matrix = pd.concat(frames, ignore_index=True)
    order = {theme: i for i, theme in enumerate(config.theme_ids)}
    matrix = matrix.assign(
        _t=matrix["priority_theme"].map(order), _c=matrix["component"].map(COMPONENTS.index)
    ).sort_values(["council_code", "locality_id", "_t", "_c"], kind="stable")
    return matrix[list(TRIANGULATION_MATRIX_COLUMNS)].reset_index(drop=True)
