"""Theme summaries per survey × area × theme (profiles.voice.summary).

Synthetic responses in the contract shapes (made-up codes S12900001, S01900001..). Expected
numbers are computed here independently of the implementation: the t quantile from tables,
the Wilson formula written out, weighted variance via numpy's `cov(aweights=...)`, weighted
means via replicated data.
"""

from __future__ import annotations

import json
import math
import statistics
import time

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from profiles.stats.disclosure import load_disclosure_rules
from profiles.voice.contract import (
    PLACE_STANDARD_THEMES,
    RESPONSE_COLUMNS,
    THEME_SUMMARY_COLUMNS,
)
from profiles.voice.reach import VoiceSettings
from profiles.voice.summary import SUMMARY_EXTRA_COLUMNS, theme_summary

COUNCIL = "S12900001"
SURVEY = "ps2024"
Z95 = 1.959963984540054
T95_DF6 = 2.446911851144969  # t(0.975, 6 df), from tables
RULES = load_disclosure_rules()
SETTINGS = VoiceSettings(min_responses_for_estimate=5)
THEME = "moving_around"


def dz(i: int) -> str:
    return f"S01{900000 + i:06d}"


BRIDGE = pd.DataFrame(
    {
        "council_code": COUNCIL,
        "locality_id": ["L1", "L1", "L2", "L3"],
        "dz_code": [dz(1), dz(2), dz(3), dz(4)],
    }
)
DIM_LOCALITY = pd.DataFrame(
    {"council_code": COUNCIL, "locality_id": ["L1", "L2", "L3"], "locality_name": ["A", "B", "C"]}
)
POPULATION = pd.DataFrame(
    {
        "dz_code": [dz(i) for i in range(1, 6)],
        "simd_quintile": [1, 2, 3, 4, 5],
        "population": [800, 700, 900, 1000, 600],
    }
)


def responses_frame(records: list[dict]) -> pd.DataFrame:
    """Contract-shaped responses; each record gives response_id and dz_code at least."""
    defaults = {
        "survey_id": SURVEY,
        "submitted_at": pd.Timestamp("2024-05-01"),
        "age_band": None,
        "gender": None,
        "ward_code": None,
        "council_code": COUNCIL,
        "geocode_method": "postcode",
        "geocode_status": "matched",
        "is_duplicate": False,
        "campaign_group": None,
        "cells_set_aside": 0,
    }
    frame = pd.DataFrame([{**defaults, **record} for record in records])
    extra = [c for c in frame.columns if c not in RESPONSE_COLUMNS]
    return frame[[*RESPONSE_COLUMNS, *extra]]


def scores_frame(scores: dict[str, int], theme: str = THEME) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "survey_id": SURVEY,
            "response_id": list(scores),
            "theme_id": theme,
            "score": list(scores.values()),
        }
    )


def no_comments() -> tuple[pd.DataFrame, pd.DataFrame]:
    comments = pd.DataFrame(
        columns=["survey_id", "response_id", "question", "text_redacted", "redactions"]
    )
    codes = pd.DataFrame(
        columns=["survey_id", "response_id", "question", "theme_id", "source", "confidence"]
    )
    return comments, codes


def comments_frames(rows: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """rows: (response_id, text, theme_id, confidence, redactions)."""
    comments = pd.DataFrame(
        {
            "survey_id": SURVEY,
            "response_id": [r[0] for r in rows],
            "question": "what_could_be_better",
            "text_redacted": [r[1] for r in rows],
            "redactions": [r[4] for r in rows],
        }
    )
    codes = pd.DataFrame(
        {
            "survey_id": SURVEY,
            "response_id": [r[0] for r in rows],
            "question": "what_could_be_better",
            "theme_id": [r[2] for r in rows],
            "source": "model:test",
            "confidence": [r[3] for r in rows],
        }
    )
    return comments, codes


def cell(out: pd.DataFrame, locality: str, weighting: str = "unweighted", theme: str = THEME):
    rows = out[
        (out["locality_id"] == locality)
        & (out["theme_id"] == theme)
        & (out["weighting"] == weighting)
    ]
    assert len(rows) == 1
    return rows.iloc[0]


def wilson(x: float, n: float, z: float = Z95) -> tuple[float, float]:
    p = x / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def cycle_scores(prefix: str, count: int) -> dict[str, int]:
    return {f"{prefix}{i}": 1 + i % 7 for i in range(count)}


def small_world(l1_scores: list[int], l3_count: int = 20):
    """L1: respondents a0.. with the given scores; L2: 20 respondents; L3: `l3_count`."""
    l1 = {f"a{i}": s for i, s in enumerate(l1_scores)}
    l2 = cycle_scores("b", 20)
    l3 = cycle_scores("c", l3_count)
    records = (
        [{"response_id": r, "dz_code": dz(1 + i % 2)} for i, r in enumerate(l1)]
        + [{"response_id": r, "dz_code": dz(3)} for r in l2]
        + [{"response_id": r, "dz_code": dz(4)} for r in l3]
    )
    return responses_frame(records), scores_frame({**l1, **l2, **l3})


# --- Estimates -----------------------------------------------------------------------------


def test_seven_respondents_mean_t_interval_and_low_score_wilson():
    responses, scores = small_world([1, 2, 2, 3, 3, 6, 7])
    comments, codes = no_comments()
    out = theme_summary(
        responses, scores, comments, codes, BRIDGE, DIM_LOCALITY, POPULATION,
        settings=SETTINGS, rules=RULES,
    )  # fmt: skip
    assert list(out.columns) == [*THEME_SUMMARY_COLUMNS, *SUMMARY_EXTRA_COLUMNS]
    row = cell(out, "L1")
    xs = [1, 2, 2, 3, 3, 6, 7]
    mean = sum(xs) / 7
    half = T95_DF6 * statistics.stdev(xs) / math.sqrt(7)
    assert row["responses"] == 7
    assert row["mean_score"] == pytest.approx(24 / 7, abs=1e-12)
    assert row["mean_score_lower_ci"] == pytest.approx(mean - half, abs=1e-9)
    assert row["mean_score_upper_ci"] == pytest.approx(mean + half, abs=1e-9)
    # Worked by hand: s² = (112 - 24²/7) / 6 = 4.9524, so the interval is about 1.37..5.49.
    assert row["mean_score_lower_ci"] == pytest.approx(1.3705, abs=1e-4)
    assert row["mean_score_upper_ci"] == pytest.approx(5.4867, abs=1e-4)
    lower, upper = wilson(5, 7)
    assert row["low_score_count"] == 5
    assert row["low_score_share"] == pytest.approx(5 / 7)
    assert row["low_score_lower_ci"] == pytest.approx(lower, abs=1e-12)
    assert row["low_score_upper_ci"] == pytest.approx(upper, abs=1e-12)
    assert row["effective_n"] == 7
    assert not row["suppressed"]

    council = cell(out, COUNCIL)
    assert council["area_level"] == "council"
    assert council["responses"] == 47
    every = xs + [1 + i % 7 for i in range(20)] * 2
    assert council["mean_score"] == pytest.approx(statistics.mean(every))
    # Every theme has a row for every area and weighting, scored or not.
    assert len(out) == 4 * len(PLACE_STANDARD_THEMES) * 2
    unscored = cell(out, "L2", theme="feeling_safe")
    assert unscored["responses"] == 0 and np.isnan(unscored["mean_score"])


def test_weighted_row_uses_kish_effective_n_and_reduces_to_unweighted():
    responses, scores = small_world([1, 2, 2, 3, 3, 6, 7])
    comments, codes = no_comments()
    l1_weights = [1, 1, 1, 1, 2, 2, 2]
    weights = responses[["survey_id", "response_id"]].assign(weight=1.0)
    weights.loc[:6, "weight"] = l1_weights
    out = theme_summary(
        responses, scores, comments, codes, BRIDGE, DIM_LOCALITY, None,
        weights=weights, settings=SETTINGS, rules=RULES,
    )  # fmt: skip
    row = cell(out, "L1", "weighted")
    xs = np.array([1, 2, 2, 3, 3, 6, 7], dtype=float)
    w = np.array(l1_weights, dtype=float)
    replicated = np.repeat(xs, w.astype(int))
    n_eff = w.sum() ** 2 / (w**2).sum()
    assert n_eff == pytest.approx(6.25)
    assert row["effective_n"] == pytest.approx(n_eff)
    assert row["mean_score"] == pytest.approx(replicated.mean())  # 4.0
    half = stats.t.ppf(0.975, n_eff - 1) * math.sqrt(np.cov(xs, aweights=w) / n_eff)
    assert row["mean_score_lower_ci"] == pytest.approx(4.0 - half, abs=1e-9)
    assert row["mean_score_upper_ci"] == pytest.approx(4.0 + half, abs=1e-9)
    p_low = 6 / 10  # weights of the scores 1, 2, 2, 3 (1 each) and 3 (2)
    lower, upper = wilson(p_low * n_eff, n_eff)
    assert row["low_score_share"] == pytest.approx(p_low)
    assert row["low_score_lower_ci"] == pytest.approx(lower, abs=1e-12)
    assert row["low_score_upper_ci"] == pytest.approx(upper, abs=1e-12)
    # Counts are people in both weightings.
    assert row["responses"] == 7 and row["low_score_count"] == 5

    # Equal weights (any constant) give exactly the unweighted estimates.
    equal = weights.assign(weight=2.5)
    out = theme_summary(
        responses, scores, comments, codes, BRIDGE, DIM_LOCALITY, None,
        weights=equal, settings=SETTINGS, rules=RULES,
    )  # fmt: skip
    estimates = ["mean_score", "mean_score_lower_ci", "mean_score_upper_ci", "low_score_share",
                 "low_score_lower_ci", "low_score_upper_ci", "effective_n"]  # fmt: skip
    for locality in ("L1", "L2", COUNCIL):
        a, b = cell(out, locality, "unweighted"), cell(out, locality, "weighted")
        for column in estimates:
            assert a[column] == pytest.approx(b[column], rel=1e-12), (locality, column)


def test_population_weights_shift_the_weighted_mean():
    # L1 sits in quintile 1 (dz1) and quintile 2 (dz2); respondents in dz1 are scarce
    # relative to population, so their (low) scores get more weight.
    records = [{"response_id": f"p{i}", "dz_code": dz(1)} for i in range(10)] + [
        {"response_id": f"q{i}", "dz_code": dz(2)} for i in range(30)
    ]
    responses = responses_frame(records)
    scores = scores_frame({**{f"p{i}": 2 for i in range(10)}, **{f"q{i}": 6 for i in range(30)}})
    population = POPULATION.assign(population=[1000, 1000, 0, 0, 0])
    comments, codes = no_comments()
    out = theme_summary(
        responses, scores, comments, codes, BRIDGE, DIM_LOCALITY, population,
        settings=SETTINGS, rules=RULES,
    )  # fmt: skip
    assert cell(out, "L1")["mean_score"] == pytest.approx((10 * 2 + 30 * 6) / 40)
    # Weights 2 (quintile 1) and 2/3 (quintile 2): equal halves, mean 4.
    assert cell(out, "L1", "weighted")["mean_score"] == pytest.approx(4.0)
    assert cell(out, "L1", "weighted")["responses"] == 40


def test_mentions_share_of_commenters_with_wilson():
    responses, scores = small_world([1, 1, 2, 2, 3, 6, 7])
    rows = [(f"a{i}", f"Pavements are broken near the shops {i}", THEME, 0.9, 0) for i in range(5)]
    rows += [("a5", "Buses are never on time at all", "public_transport", 0.8, 0)]
    rows += [(f"b{i}", f"Buses are far too infrequent here {i}", "public_transport", 0.7, 0)
             for i in range(10)]  # fmt: skip
    rows += [(f"c{i}", f"Nothing to add about the area {i}", "none", 0.6, 0) for i in range(10)]
    comments, codes = comments_frames(rows)
    out = theme_summary(
        responses, scores, comments, codes, BRIDGE, DIM_LOCALITY, POPULATION,
        settings=SETTINGS, rules=RULES,
    )  # fmt: skip
    row = cell(out, "L1")
    assert (row["comments"], row["mentions"]) == (6, 5)
    lower, upper = wilson(5, 6)
    assert row["mention_share"] == pytest.approx(5 / 6)
    assert row["mention_lower_ci"] == pytest.approx(lower, abs=1e-12)
    assert row["mention_upper_ci"] == pytest.approx(upper, abs=1e-12)
    council = cell(out, COUNCIL)
    assert (council["comments"], council["mentions"]) == (26, 5)
    transport = cell(out, COUNCIL, theme="public_transport")
    assert transport["mentions"] == 11 and transport["comments"] == 26
    # 'none' codes are comments but no theme's mention.
    assert out.loc[out["locality_id"] == "L3", "mentions"].sum() == 0


# --- Counting rules and places -------------------------------------------------------------


def test_duplicates_excluded_and_a_campaign_counts_once():
    records = [{"response_id": f"b{i}", "dz_code": dz(3)} for i in range(20)]
    records += [
        {"response_id": "dup", "dz_code": dz(3), "is_duplicate": True},
        {"response_id": "camp1", "dz_code": dz(3), "campaign_group": "g1",
         "submitted_at": pd.Timestamp("2024-05-03")},
        {"response_id": "camp2", "dz_code": dz(3), "campaign_group": "g1",
         "submitted_at": pd.Timestamp("2024-05-02")},
        {"response_id": "camp3", "dz_code": dz(3), "campaign_group": "g1",
         "submitted_at": None},  # unknown time: never preferred
    ]  # fmt: skip
    responses = responses_frame(records)
    # The campaign's earliest member (camp2) speaks for it: its score, not the others'.
    scores = scores_frame({**cycle_scores("b", 20), "dup": 1, "camp1": 1, "camp2": 7, "camp3": 1})
    comments, codes = no_comments()
    out = theme_summary(
        responses, scores, comments, codes, BRIDGE, DIM_LOCALITY, POPULATION,
        settings=SETTINGS, rules=RULES,
    )  # fmt: skip
    row = cell(out, "L2")
    assert row["responses"] == 21
    expected = [1 + i % 7 for i in range(20)] + [7]
    assert row["mean_score"] == pytest.approx(statistics.mean(expected))


def test_place_name_overlap_and_unmatched_responses():
    bridge = pd.concat(
        [BRIDGE, pd.DataFrame({"council_code": [COUNCIL], "locality_id": ["L2"],
                               "dz_code": [dz(2)]})],  # dz2 is in L1 and L2 (overlap)
        ignore_index=True,
    )  # fmt: skip
    records = (
        [{"response_id": f"o{i}", "dz_code": dz(2)} for i in range(6)]
        + [{"response_id": f"n{i}", "dz_code": None, "locality_id": "L3",
            "geocode_method": "place_name"} for i in range(5)]
        + [{"response_id": f"u{i}", "dz_code": None, "geocode_status": "unmatched_blank"}
           for i in range(7)]
    )  # fmt: skip
    responses = responses_frame(records)
    scores = scores_frame({r["response_id"]: 4 for r in records})
    comments, codes = no_comments()
    out = theme_summary(
        responses, scores, comments, codes, bridge, DIM_LOCALITY, POPULATION,
        settings=SETTINGS, rules=RULES,
    )  # fmt: skip
    assert cell(out, "L1")["responses"] == 6
    assert cell(out, "L2")["responses"] == 6
    assert cell(out, "L3")["responses"] == 5
    assert cell(out, COUNCIL)["responses"] == 18  # unmatched still count for the council
    # Unmatched (no data zone) get weight 1 and so do not move the weighted council mean.
    assert cell(out, COUNCIL, "weighted")["mean_score"] == pytest.approx(4.0)


# --- Disclosure ----------------------------------------------------------------------------


def _assert_protected(out: pd.DataFrame, threshold: int = 5) -> None:
    """No visible count in 1..threshold-1; no group with exactly one hidden cell."""
    for column in ("responses", "low_score_count", "comments", "mentions"):
        visible = out[column].dropna()
        assert not ((visible > 0) & (visible < threshold)).any(), column
        for _, group in out.groupby(["survey_id", "council_code", "theme_id", "weighting"]):
            hidden = int(group[column].isna().sum())
            assert hidden != 1, (column, group[["locality_id", column]])
    # A hidden count hides what was computed from it (at least; the shared config's "*"
    # family may hide more), and a row with anything withheld has no quote.
    computed_from = {
        "responses": ["mean_score", "mean_score_lower_ci", "mean_score_upper_ci",
                      "low_score_share", "low_score_lower_ci", "low_score_upper_ci",
                      "effective_n"],
        "low_score_count": ["low_score_share", "low_score_lower_ci", "low_score_upper_ci"],
        "comments": ["mention_share", "mention_lower_ci", "mention_upper_ci"],
        "mentions": ["mention_share", "mention_lower_ci", "mention_upper_ci"],
    }  # fmt: skip
    for count, derived in computed_from.items():
        hidden = out[count].isna()
        assert out.loc[hidden, derived].isna().all().all(), count
        assert out.loc[hidden, "suppressed"].all()
    assert (out.loc[out["suppressed"], "quotes"] == "[]").all()


@pytest.mark.parametrize("seed", range(6))
def test_random_small_localities_are_always_protected(seed):
    rng = np.random.default_rng(seed)
    zones = [dz(i) for i in range(1, 13)]
    bridge = pd.DataFrame(
        {"council_code": COUNCIL, "locality_id": [f"L{i % 6}" for i in range(12)],
         "dz_code": zones}
    )  # fmt: skip
    dim_locality = bridge[["council_code", "locality_id"]].drop_duplicates()
    population = pd.DataFrame(
        {"dz_code": zones, "simd_quintile": [1 + i % 5 for i in range(12)], "population": 500}
    )
    records, score_map, rows = [], {}, []
    for locality in range(6):
        for i in range(int(rng.integers(0, 12))):
            rid = f"r{locality}_{i}"
            records.append({"response_id": rid, "dz_code": zones[locality]})
            for theme in PLACE_STANDARD_THEMES[:3]:
                if rng.random() < 0.8:
                    score_map[(rid, theme)] = int(rng.integers(1, 8))
            if rng.random() < 0.6:
                theme = str(rng.choice(PLACE_STANDARD_THEMES[:3]))
                rows.append((rid, f"A comment long enough to quote {rid}", theme, 0.9, 0))
    records += [{"response_id": f"u{i}", "dz_code": None} for i in range(int(rng.integers(0, 4)))]
    responses = responses_frame(records)
    scores = pd.DataFrame(
        [(SURVEY, rid, theme, score) for (rid, theme), score in score_map.items()],
        columns=["survey_id", "response_id", "theme_id", "score"],
    )
    comments, codes = comments_frames(rows) if rows else no_comments()
    out = theme_summary(
        responses, scores, comments, codes, bridge, dim_locality, population,
        settings=SETTINGS, rules=RULES,
    )  # fmt: skip
    _assert_protected(out)


def test_small_cell_hidden_with_complement_and_derived_values():
    responses, scores = small_world([1, 2, 2, 3, 3, 6, 7], l3_count=3)
    rows = [(f"c{i}", f"The path by the river is lovely {i}", THEME, 0.9, 0) for i in range(3)]
    rows += [(f"a{i}", f"Cars park on the pavement daily {i}", THEME, 0.9, 0) for i in range(6)]
    rows += [(f"b{i}", f"Pavements need fixing badly here {i}", THEME, 0.9, 0) for i in range(10)]
    comments, codes = comments_frames(rows)
    out = theme_summary(
        responses, scores, comments, codes, BRIDGE, DIM_LOCALITY, POPULATION,
        settings=SETTINGS, rules=RULES,
    )  # fmt: skip
    _assert_protected(out)
    for weighting in ("unweighted", "weighted"):
        l3 = cell(out, "L3", weighting)
        assert pd.isna(l3["responses"]) and l3["suppressed"]
        assert l3["withheld_reason"] == "disclosure"
        for column in ("mean_score", "mean_score_lower_ci", "mean_score_upper_ci",
                       "low_score_share", "low_score_lower_ci", "low_score_upper_ci",
                       "mention_share", "effective_n"):  # fmt: skip
            assert np.isnan(l3[column]), column
        assert json.loads(l3["quotes"]) == []
        # L3's 3 could otherwise be recovered as council - L1 - L2: L1 (7) is hidden too.
        assert pd.isna(cell(out, "L1", weighting)["responses"])
        assert cell(out, COUNCIL, weighting)["responses"] == 30
        assert cell(out, "L2", weighting)["responses"] == 20
    # The L2 cell is untouched and quotes only come from it and the council.
    assert json.loads(cell(out, "L2")["quotes"])
    assert len(json.loads(cell(out, COUNCIL)["quotes"])) == 3


def test_small_base_withholds_estimates_but_shows_counts():
    responses, scores = small_world([1, 2, 2, 3, 3, 6, 7])
    rows = [(f"a{i}", f"Pavements are broken near the shops {i}", THEME, 0.9, 0) for i in range(6)]
    comments, codes = comments_frames(rows)
    settings = VoiceSettings(min_responses_for_estimate=10)
    out = theme_summary(
        responses, scores, comments, codes, BRIDGE, DIM_LOCALITY, POPULATION,
        settings=settings, rules=RULES,
    )  # fmt: skip
    row = cell(out, "L1")
    assert row["responses"] == 7 and row["low_score_count"] == 5 and row["mentions"] == 6
    assert np.isnan(row["mean_score"]) and np.isnan(row["low_score_share"])
    assert np.isnan(row["mention_share"])
    assert row["suppressed"] and row["withheld_reason"] == "small_base"
    assert json.loads(row["quotes"]) == []
    assert not np.isnan(cell(out, "L2")["mean_score"])


def test_quotes_are_deterministic_typical_unique_and_capped():
    responses, scores = small_world([4] * 10)
    rows = [
        ("a0", "The pavements are cracked everywhere", THEME, 0.95, 0),
        ("a1", "The pavements are  cracked EVERYWHERE", THEME, 0.99, 0),  # same text
        ("a2", "Short", THEME, 0.99, 0),  # too short
        ("a3", "Call me on [phone] about the potholes", THEME, 0.99, 1),  # was redacted
        ("a4", "Too many potholes on the main road", THEME, 0.90, 0),
        ("a5", "Potholes on every street", THEME, 0.90, 0),  # same confidence, shorter
        ("a6", "Cycle lanes stop suddenly at junctions", THEME, 0.50, 0),
        ("a7", "x" * 400, THEME, 0.99, 0),  # too long
    ]
    comments, codes = comments_frames(rows)
    settings = VoiceSettings(min_responses_for_estimate=5, quotes_per_cell=3)
    first = theme_summary(
        responses, scores, comments, codes, BRIDGE, DIM_LOCALITY, POPULATION,
        settings=settings, rules=RULES,
    )  # fmt: skip
    quotes = json.loads(cell(first, "L1")["quotes"])
    assert quotes == [
        "The pavements are  cracked EVERYWHERE",
        "Potholes on every street",
        "Too many potholes on the main road",
    ]
    assert cell(first, "L1", "weighted")["quotes"] == cell(first, "L1")["quotes"]
    shuffled = theme_summary(
        responses.sample(frac=1, random_state=3), scores.sample(frac=1, random_state=4),
        comments.sample(frac=1, random_state=5), codes.sample(frac=1, random_state=6),
        BRIDGE, DIM_LOCALITY, POPULATION, settings=settings, rules=RULES,
    )  # fmt: skip
    assert json.loads(cell(shuffled, "L1")["quotes"]) == quotes
    assert json.loads(cell(first, "L2")["quotes"]) == []


def test_bad_inputs_raise_clear_errors():
    responses, scores = small_world([4] * 7)
    comments, codes = no_comments()
    bad_theme = scores.assign(theme_id="parking")
    with pytest.raises(ValueError, match="theme_id 'parking'"):
        theme_summary(responses, bad_theme, comments, codes, BRIDGE, DIM_LOCALITY, POPULATION)
    bad_score = scores.assign(score=9)
    with pytest.raises(ValueError, match="score '9'"):
        theme_summary(responses, bad_score, comments, codes, BRIDGE, DIM_LOCALITY, POPULATION)
    with pytest.raises(ValueError, match="weights: no weight"):
        theme_summary(
            responses, scores, comments, codes, BRIDGE, DIM_LOCALITY, None,
            weights=responses[["survey_id", "response_id"]].iloc[:3].assign(weight=1.0),
        )  # fmt: skip


# --- Performance ---------------------------------------------------------------------------


def test_100k_responses_14_themes_30_localities_in_a_few_seconds():
    rng = np.random.default_rng(7)
    zones = [dz(i) for i in range(600)]
    bridge = pd.DataFrame(
        {"council_code": COUNCIL, "locality_id": [f"L{i // 20:02d}" for i in range(600)],
         "dz_code": zones}
    )  # fmt: skip
    dim_locality = bridge[["council_code", "locality_id"]].drop_duplicates()
    bands = ["16-24", "25-44", "45-64", "65+"]
    population = pd.DataFrame(
        {
            "dz_code": np.repeat(zones, 4),
            "simd_quintile": np.repeat(rng.integers(1, 6, 600), 4),
            "age_band": bands * 600,
            "population": rng.integers(50, 300, 2400),
        }
    )
    n = 100_000
    ids = np.array([f"r{i}" for i in range(n)], dtype=object)
    responses = pd.DataFrame(
        {
            "survey_id": SURVEY,
            "response_id": ids,
            "submitted_at": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s"),
            "age_band": rng.choice(bands, n),
            "gender": "prefer_not_to_say",
            "dz_code": np.where(rng.random(n) < 0.9, rng.choice(zones, n), None),
            "ward_code": "S13900001",
            "council_code": COUNCIL,
            "geocode_method": "postcode",
            "geocode_status": "matched",
            "is_duplicate": rng.random(n) < 0.01,
            "campaign_group": np.where(rng.random(n) < 0.01, rng.choice(["g1", "g2"], n), None),
            "cells_set_aside": 0,
        }
    )
    scores = pd.DataFrame(
        {
            "survey_id": SURVEY,
            "response_id": np.repeat(ids, 14),
            "theme_id": np.tile(PLACE_STANDARD_THEMES, n),
            "score": rng.integers(1, 8, n * 14),
        }
    )
    commenters = ids[rng.random(n) < 0.3]
    comments = pd.DataFrame(
        {
            "survey_id": SURVEY,
            "response_id": commenters,
            "question": "what_could_be_better",
            "text_redacted": [
                f"Comment {i} about the streets here" for i in range(len(commenters))
            ],
            "redactions": 0,
        }
    )
    codes = comments[["survey_id", "response_id", "question"]].assign(
        theme_id=rng.choice([*PLACE_STANDARD_THEMES, "none"], len(comments)),
        source="model:test",
        confidence=rng.random(len(comments)),
    )
    start = time.perf_counter()
    out = theme_summary(responses, scores, comments, codes, bridge, dim_locality, population)
    elapsed = time.perf_counter() - start
    print(f"\ntheme_summary: {n:,} responses × 14 themes × 30 localities in {elapsed:.2f} s")
    assert len(out) == 31 * 14 * 2
    assert elapsed < 15
    council = out[(out["area_level"] == "council") & (out["weighting"] == "unweighted")]
    counted = n - int(responses["is_duplicate"].sum())
    assert council["responses"].max() <= counted
