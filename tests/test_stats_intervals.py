"""Confidence intervals and comparator significance (profiles.stats.intervals, .compare).

Reference values: Wilson intervals from Newcombe (1998), Statistics in Medicine 17:857,
Table I method 3 (score interval without continuity correction); exact Poisson limits from
the APHO/PHE technical guide "Confidence intervals" table of limits for counts. Each is
also recomputed here by an independent route (root-finding on the defining tail
probabilities) so a typo in a cited value cannot pass unnoticed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from profiles.stats import (
    byar_interval,
    count_interval,
    count_interval_method,
    exact_poisson_interval,
    rate_interval,
    significance_vs_comparator,
    wilson_interval,
)

Z95 = stats.norm.ppf(0.975)

# --- Wilson -------------------------------------------------------------------------------

NEWCOMBE_1998 = [
    # numerator, denominator, lower, upper (published to 4 decimals)
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


def _wilson_by_score_test(x: int, n: int, z: float) -> tuple[float, float]:
    """Limits as the proportions p where the score statistic |x/n - p| / sqrt(p(1-p)/n)
    equals z, found by root-finding instead of the closed form."""

    def score(p: float) -> float:
        return (x / n - p) / np.sqrt(p * (1 - p) / n) - z * np.sign(x / n - p)

    eps = 1e-12
    lower = 0.0 if x == 0 else optimize.brentq(score, eps, x / n - eps)
    upper = 1.0 if x == n else optimize.brentq(score, x / n + eps, 1 - eps)
    return lower, upper


@pytest.mark.parametrize(("x", "n", "lower", "upper"), NEWCOMBE_1998)
def test_wilson_matches_newcombe_and_score_test_root(x, n, lower, upper):
    got = wilson_interval(x, n)
    assert float(got.lower) == pytest.approx(lower, abs=5e-5)
    assert float(got.upper) == pytest.approx(upper, abs=5e-5)
    root_lower, root_upper = _wilson_by_score_test(x, n, Z95)
    assert float(got.lower) == pytest.approx(root_lower, abs=1e-9)
    assert float(got.upper) == pytest.approx(root_upper, abs=1e-9)


def test_wilson_is_vectorised_and_accepts_series():
    numerators = pd.Series([81, 15, 0, 1])
    denominators = pd.Series([263, 148, 20, 29])
    got = wilson_interval(numerators, denominators)
    assert got.lower.shape == (4,)
    np.testing.assert_allclose(got.lower, [r[2] for r in NEWCOMBE_1998], atol=5e-5)
    np.testing.assert_allclose(got.upper, [r[3] for r in NEWCOMBE_1998], atol=5e-5)


def test_wilson_edges_zero_denominator_nan_and_all_successes():
    got = wilson_interval([0, np.nan, 3, 20], [0, 10, np.nan, 20])
    assert np.isnan(got.lower[:3]).all() and np.isnan(got.upper[:3]).all()
    assert got.upper[3] == 1.0
    # n = x = 20: lower limit is n / (n + z^2) for the score interval.
    assert got.lower[3] == pytest.approx(20 / (20 + Z95**2), rel=1e-12)


def test_wilson_rejects_impossible_inputs():
    with pytest.raises(ValueError, match="exceed"):
        wilson_interval([3, 11], [10, 10])
    with pytest.raises(ValueError, match="exceed"):
        wilson_interval(5, 0)
    with pytest.raises(ValueError, match="negative"):
        wilson_interval([-1], [10])
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 10, confidence=95)


def test_wilson_wider_at_higher_confidence():
    narrow = wilson_interval(81, 263, confidence=0.95)
    wide = wilson_interval(81, 263, confidence=0.998)
    assert wide.lower < narrow.lower and wide.upper > narrow.upper
    assert _wilson_by_score_test(81, 263, stats.norm.ppf(0.999))[1] == pytest.approx(
        float(wide.upper), abs=1e-9
    )


# --- Poisson: exact and Byar --------------------------------------------------------------

APHO_EXACT_POISSON_95 = [
    # count, lower, upper (APHO "Technical Guide: Confidence intervals", Poisson table)
    (0, 0.0, 3.689),
    (1, 0.0253, 5.572),
    (10, 4.795, 18.39),
]


def _poisson_limits_by_tail_roots(x: int, alpha: float = 0.05) -> tuple[float, float]:
    """Garwood limits from their definition: P(X >= x | lower) = alpha/2 and
    P(X <= x | upper) = alpha/2."""
    lower = (
        0.0
        if x == 0
        else optimize.brentq(lambda m: stats.poisson.sf(x - 1, m) - alpha / 2, 1e-9, 10 * x + 10)
    )
    upper = optimize.brentq(lambda m: stats.poisson.cdf(x, m) - alpha / 2, 1e-9, 10 * x + 50)
    return lower, upper


@pytest.mark.parametrize(("x", "lower", "upper"), APHO_EXACT_POISSON_95)
def test_exact_poisson_matches_apho_table_and_tail_definition(x, lower, upper):
    got = exact_poisson_interval(x)
    assert float(got.lower) == pytest.approx(lower, abs=6e-4)
    assert float(got.upper) == pytest.approx(upper, rel=5e-4)
    root_lower, root_upper = _poisson_limits_by_tail_roots(x)
    assert float(got.lower) == pytest.approx(root_lower, abs=1e-7)
    assert float(got.upper) == pytest.approx(root_upper, rel=1e-7)


def test_byar_for_100_matches_hand_computation_and_is_close_to_exact():
    # Hand: 100 (1 - 1/900 - 1.959964/30)^3 = 81.362; 101 (1 - 1/909 + 1.959964/(3 sqrt 101))^3
    # = 121.628. The exact limits for 100 are 81.364 and 121.627.
    got = byar_interval(100)
    assert float(got.lower) == pytest.approx(81.362, abs=1e-3)
    assert float(got.upper) == pytest.approx(121.628, abs=1e-3)
    exact = exact_poisson_interval(100)
    assert float(exact.lower) == pytest.approx(81.364, abs=1e-3)
    assert float(exact.upper) == pytest.approx(121.627, abs=1e-3)


def test_byar_converges_to_exact_for_large_counts_and_handles_zero():
    counts = np.array([0, 10, 50, 500, 5000])
    byar = byar_interval(counts)
    exact = exact_poisson_interval(counts)
    assert byar.lower[0] == 0.0
    relative_error = np.abs(byar.upper[1:] - exact.upper[1:]) / exact.upper[1:]
    assert (relative_error < 2e-3).all()
    assert relative_error[-1] < relative_error[1]


def test_count_interval_switches_to_byar_at_threshold():
    counts = np.array([0, 9, 10, 250])
    got = count_interval(counts)
    exact = exact_poisson_interval(counts)
    byar = byar_interval(counts)
    np.testing.assert_array_equal(got.lower[:2], exact.lower[:2])
    np.testing.assert_array_equal(got.upper[2:], byar.upper[2:])
    assert list(count_interval_method([0, 9, 10, np.nan])) == [
        "exact_poisson",
        "exact_poisson",
        "byar",
        "none",
    ]
    configured = count_interval(counts, small_count_threshold=20)
    assert configured.upper[2] == exact.upper[2]


def test_rate_interval_scales_by_denominator_and_per():
    got = rate_interval([1, 100, 3], [20_000, 20_000, 0], per=10_000)
    # Count 1 is below the threshold: exact limits 0.0253 and 5.572 per 20,000 people.
    assert got.lower[0] == pytest.approx(0.0253178 / 2, rel=1e-5)
    assert got.upper[0] == pytest.approx(5.5716434 / 2, rel=1e-6)
    # Count 100 uses Byar: 121.628 per 20,000 = 60.814 per 10,000.
    assert got.upper[1] == pytest.approx(121.628 / 2, rel=1e-5)
    assert np.isnan(got.lower[2]) and np.isnan(got.upper[2])
    with pytest.raises(ValueError, match="negative"):
        rate_interval([-2], [100])


# --- Significance against a comparator ----------------------------------------------------


def test_significance_labels_follow_polarity():
    lower = [0.20, 0.20, 0.20, 0.20, 0.20, 0.20, 0.20]
    upper = [0.30, 0.30, 0.30, 0.30, 0.30, 0.30, 0.30]
    comparator = [0.10, 0.40, 0.25, 0.10, 0.40, 0.10, 0.40]
    polarity = [
        "higher_is_worse",
        "higher_is_worse",
        "higher_is_worse",
        "higher_is_better",
        "higher_is_better",
        "not_applicable",
        "not_applicable",
    ]
    got = significance_vs_comparator(lower, upper, comparator, polarity)
    assert list(got) == ["worse", "better", "similar", "better", "worse", "higher", "lower"]


def test_significance_comparator_on_limit_is_similar_and_missing_not_compared():
    got = significance_vs_comparator(
        [0.2, 0.2, np.nan, 0.2], [0.3, 0.3, np.nan, 0.3], [0.2, 0.3, 0.5, np.nan], "higher_is_worse"
    )
    assert list(got) == ["similar", "similar", "not_compared", "not_compared"]


def test_significance_rejects_unknown_polarity_and_inverted_limits():
    with pytest.raises(ValueError, match="polarity"):
        significance_vs_comparator([1], [2], [3], "lower_is_better")
    with pytest.raises(ValueError, match="above"):
        significance_vs_comparator([3], [2], [1], "higher_is_worse")


def test_polarities_match_indicator_config(repo_root: Path):
    indicators = pd.read_csv(repo_root / "data" / "config" / "indicators.csv")
    got = significance_vs_comparator(0.0, 1.0, 0.5, indicators["polarity"].to_numpy())
    assert set(got) == {"similar"}


@pytest.mark.real_data
def test_dundee_income_deprivation_worse_than_scotland(real_data: Path):
    simd = pd.read_csv(
        real_data / "simd" / "simd2020v2_withinds.csv",
        usecols=["Council_area", "income_count", "Total_population"],
    )
    dundee = simd[simd["Council_area"] == "Dundee City"]
    numerator, denominator = dundee["income_count"].sum(), dundee["Total_population"].sum()
    assert (numerator, denominator) == (24_391, 148_710)
    scotland = simd["income_count"].sum() / simd["Total_population"].sum()
    interval = wilson_interval(numerator, denominator)
    assert float(interval.lower) < numerator / denominator < float(interval.upper)
    assert float(interval.upper) - float(interval.lower) == pytest.approx(
        2 * Z95 * np.sqrt(0.164 * 0.836 / denominator), rel=0.01
    )
    label = significance_vs_comparator(interval.lower, interval.upper, scotland, "higher_is_worse")
    assert label.item() == "worse"
