"""Quintile gap, SII/RII and population attributable risk (profiles.stats.inequality).

Reference values come from (a) data built on an exact linear gradient, where the SII and
both RIIs are known analytically, (b) a five-quintile example worked by hand below, and
(c) ScotPHO's own formulation (square-root transformed regression without intercept, PAR
as sum(p_i (r_i/r_best - 1)) / (1 + sum(...))) recomputed independently in the tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from profiles.stats import (
    population_attributable_risk,
    quintile_gap,
    ridit_midpoints,
    slope_index_of_inequality,
)

# --- Ridits -------------------------------------------------------------------------------


def test_ridits_are_cumulative_population_midpoints_most_deprived_first():
    # PHE's documented example: a first decile with 12% of the people sits at 0.06, a
    # second with 10% at 0.12 + 0.05 = 0.17. Input order must not matter.
    population = np.array([10, 12, 78])
    rank = np.array([2, 1, 3])
    np.testing.assert_allclose(ridit_midpoints(population, rank), [0.17, 0.06, 0.61])


def test_tied_ranks_share_one_band():
    got = ridit_midpoints([30, 10, 60], [1, 1, 2])
    np.testing.assert_allclose(got, [0.2, 0.2, 0.7])


# --- SII and RII --------------------------------------------------------------------------


def test_exact_linear_gradient_recovers_sii_and_both_riis():
    population = np.array([120.0, 80.0, 150.0, 50.0, 100.0])
    ridit = ridit_midpoints(population, np.arange(1, 6))
    intercept, slope = 40.0, -30.0  # rate 40 at the most deprived end, 10 at the least
    rate = intercept + slope * ridit
    got = slope_index_of_inequality(rate, population, [1, 2, 3, 4, 5])
    assert got.reason is None
    assert got.sii == pytest.approx(30.0, abs=1e-10)
    # The population-weighted mean ridit is always 1/2, so the mean rate is a + b/2 = 25.
    assert got.mean_rate == pytest.approx(25.0, abs=1e-10)
    assert got.rii_scotpho == pytest.approx(30.0 / 25.0, abs=1e-12)
    assert got.rii_phe == pytest.approx(40.0 / 10.0, abs=1e-10)
    assert (got.fitted_most_deprived, got.fitted_least_deprived) == pytest.approx((40.0, 10.0))
    # No residual scatter: the regression interval collapses onto the estimate.
    assert got.sii_lower == pytest.approx(30.0, abs=1e-8)
    assert got.sii_upper == pytest.approx(30.0, abs=1e-8)


HAND_RATES = np.array([10.0, 8.0, 6.0, 5.0, 1.0])  # quintiles 1 (most deprived) .. 5
HAND_POPULATION = np.array([100.0] * 5)


def test_hand_worked_quintile_example():
    # Equal quintiles: ridits 0.1 .. 0.9, mean 6. Sxy = -4.2, Sxx = 0.4 -> b = -10.5,
    # a = 6 + 10.5 * 0.5 = 11.25. Residuals -0.2, -0.1, 0, 1.1, -0.8 (SS 1.9), so
    # se(b) = sqrt(1.9 / 3 / 0.4) = 1.2583 and the 95% t(3) half-width is 3.1824 * 1.2583.
    got = slope_index_of_inequality(HAND_RATES, HAND_POPULATION, [1, 2, 3, 4, 5])
    assert got.sii == pytest.approx(10.5)
    assert got.fitted_most_deprived == pytest.approx(11.25)
    assert got.fitted_least_deprived == pytest.approx(0.75)
    assert got.rii_scotpho == pytest.approx(10.5 / 6)
    assert got.rii_phe == pytest.approx(15.0)
    half_width = 3.182446 * np.sqrt(1.9 / 3 / 0.4)
    assert got.sii_lower == pytest.approx(10.5 - half_width, abs=1e-5)
    assert got.sii_upper == pytest.approx(10.5 + half_width, abs=1e-5)
    assert got.rii_scotpho_lower == pytest.approx((10.5 - half_width) / 6, abs=1e-6)
    assert got.rii_phe_lower < 15.0 < got.rii_phe_upper
    assert got.ci_method == "regression" and got.n_areas == 5


def _scotpho_regression(rate: np.ndarray, population: np.ndarray) -> tuple[float, float, float]:
    """ScotPHO's formulation: lm(rate*sqrt(p) ~ sqrt(p) + ridit*sqrt(p) + 0), by lstsq;
    returns (sii, lower, upper) with sii = -slope."""
    share = population / population.sum()
    ridit = np.cumsum(share) - share / 2
    root = np.sqrt(share)
    design = np.column_stack([root, ridit * root])
    response = rate * root
    coefficients, residual_ss, _, _ = np.linalg.lstsq(design, response, rcond=None)
    sigma2 = residual_ss[0] / (len(rate) - 2)
    se = np.sqrt(sigma2 * np.linalg.inv(design.T @ design)[1, 1])
    t = stats.t.ppf(0.975, len(rate) - 2)
    slope = coefficients[1]
    return -slope, -(slope + t * se), -(slope - t * se)


def test_matches_scotpho_square_root_transformed_regression():
    rng = np.random.default_rng(7)
    population = rng.integers(500, 5_000, size=10).astype(float)
    rate = np.linspace(60, 20, 10) + rng.normal(0, 4, size=10)
    got = slope_index_of_inequality(rate, population, np.arange(1, 11))
    sii, lower, upper = _scotpho_regression(rate, population)
    assert (got.sii, got.sii_lower, got.sii_upper) == pytest.approx((sii, lower, upper), rel=1e-10)


def test_data_zone_input_with_quintile_ranks_equals_quintile_aggregate():
    rng = np.random.default_rng(3)
    quintile = np.repeat([1, 2, 3, 4, 5], 6)
    population = rng.integers(400, 1_200, size=30).astype(float)
    numerator = rng.poisson(population * (0.30 - 0.04 * quintile)).astype(float)
    by_zone = slope_index_of_inequality(None, population, quintile, numerator)
    frame = pd.DataFrame({"q": quintile, "pop": population, "num": numerator})
    grouped = frame.groupby("q").sum()
    by_quintile = slope_index_of_inequality(None, grouped["pop"], grouped.index, grouped["num"])
    assert by_zone.sii == pytest.approx(by_quintile.sii, rel=1e-12)
    assert by_zone.rii_phe == pytest.approx(by_quintile.rii_phe, rel=1e-12)
    assert by_zone.mean_rate == pytest.approx(numerator.sum() / population.sum(), rel=1e-12)


def test_simulation_interval_is_reproducible_and_matches_poisson_delta_method():
    population = np.array([8_000.0, 9_000.0, 10_000.0, 9_500.0, 11_000.0])
    numerator = np.array([900.0, 760.0, 640.0, 520.0, 430.0])
    rate = numerator / population * 1_000  # per 1,000: the simulation keeps the scale
    kwargs = {"ci_method": "simulation", "repetitions": 20_000, "seed": 11}
    first = slope_index_of_inequality(rate, population, np.arange(1, 6), numerator, **kwargs)
    second = slope_index_of_inequality(rate, population, np.arange(1, 6), numerator, **kwargs)
    assert first == second
    assert first.sii_lower < first.sii < first.sii_upper
    assert first.rii_phe_lower < first.rii_phe < first.rii_phe_upper
    assert first.rii_scotpho_lower < first.rii_scotpho < first.rii_scotpho_upper

    # Independent check: SII is linear in the rates, sii = -sum(h_i r_i), and a Poisson
    # count gives var(r_i) = r_i^2 / numerator_i, so the normal-theory half-width is known.
    share = population / population.sum()
    ridit = np.cumsum(share) - share / 2
    centred = ridit - np.sum(share * ridit)
    h = share * centred / np.sum(share * centred**2)
    half_width = 1.959964 * np.sqrt(np.sum(h**2 * rate**2 / numerator))
    assert (first.sii_upper - first.sii_lower) / 2 == pytest.approx(half_width, rel=0.05)


def test_binomial_simulation_is_narrower_than_poisson_for_common_outcomes():
    population = np.array([1_000.0, 1_100.0, 900.0, 1_050.0, 950.0])
    numerator = np.array([600.0, 520.0, 400.0, 380.0, 300.0])
    common = {"ci_method": "simulation", "repetitions": 5_000, "seed": 5}
    poisson = slope_index_of_inequality(None, population, range(1, 6), numerator, **common)
    binomial = slope_index_of_inequality(
        None, population, range(1, 6), numerator, numerator_distribution="binomial", **common
    )
    poisson_width = poisson.sii_upper - poisson.sii_lower
    binomial_width = binomial.sii_upper - binomial.sii_lower
    # Binomial variance is np(1-p): with p about 0.45 the width shrinks by about sqrt(0.55).
    assert binomial_width / poisson_width == pytest.approx(np.sqrt(0.55), rel=0.1)


def test_too_few_areas_or_no_population_give_nan_with_reason():
    few = slope_index_of_inequality([3.0, 2.0, 1.0, 1.0], [10, 10, 10, 10], [1, 2, 3, 4])
    assert np.isnan(few.sii) and np.isnan(few.rii_phe_upper)
    assert few.reason == "4 deprivation groups with data; at least 5 needed"
    allowed = slope_index_of_inequality(
        [3.0, 2.0, 1.0, 1.0], [10, 10, 10, 10], [1, 2, 3, 4], min_areas=4
    )
    assert allowed.reason is None and allowed.sii > 0
    empty = slope_index_of_inequality([1.0, 2.0, 3.0], [0, 0, 0], [1, 2, 3], min_areas=3)
    assert empty.reason == "zero population" and np.isnan(empty.sii)


def test_missing_values_are_dropped_before_counting_areas():
    rate = np.array([10.0, 8.0, np.nan, 6.0, 5.0, 1.0])
    population = np.array([100.0, 100.0, 100.0, 100.0, 100.0, 100.0])
    got = slope_index_of_inequality(rate, population, [1, 2, 3, 4, 5, 6])
    assert got.n_areas == 5
    expected = slope_index_of_inequality(
        HAND_RATES, HAND_POPULATION, [1, 2, 4, 5, 6]
    )  # the same five zones, ranks with a gap
    assert got.sii == pytest.approx(expected.sii)


def test_rii_phe_undefined_when_fitted_line_crosses_zero():
    got = slope_index_of_inequality([9.0, 5.0, 2.0, 0.0, 0.0], [100] * 5, [1, 2, 3, 4, 5])
    assert got.fitted_least_deprived < 0
    assert np.isnan(got.rii_phe) and np.isnan(got.rii_phe_lower)
    assert np.isfinite(got.rii_scotpho)


def test_sii_rejects_bad_arguments():
    with pytest.raises(ValueError, match="numerators"):
        slope_index_of_inequality([1.0] * 5, [1] * 5, range(5), ci_method="simulation")
    with pytest.raises(ValueError, match="same length"):
        slope_index_of_inequality([1.0] * 5, [1] * 4, range(5))
    with pytest.raises(ValueError, match="negative"):
        slope_index_of_inequality([1.0] * 5, [1, 1, 1, 1, -1], range(5))


# --- Quintile gap and PAR -----------------------------------------------------------------


def test_quintile_gap_aggregates_numerators_not_rates():
    quintile = np.array([1, 1, 3, 5, 5])
    denominator = np.array([100.0, 300.0, 200.0, 400.0, 100.0])
    numerator = np.array([50.0, 30.0, 20.0, 20.0, 5.0])
    got = quintile_gap(None, denominator, quintile, numerator=numerator, per=100)
    # Q1: 80 / 400 = 20%; the mean of the zone rates (50% and 10%) would wrongly give 30%.
    assert got.most_deprived_value == pytest.approx(20.0)
    assert got.least_deprived_value == pytest.approx(5.0)
    assert (got.absolute_gap, got.relative_gap) == pytest.approx((15.0, 4.0))
    rates = numerator / denominator
    weighted = quintile_gap(rates, denominator, quintile)
    assert weighted.absolute_gap == pytest.approx(0.15)


def test_quintile_gap_reports_missing_quintile():
    got = quintile_gap([0.2, 0.1], [10, 10], [1, 4])
    assert np.isnan(got.absolute_gap)
    assert got.reason == "no units in quintile 5"
    zero = quintile_gap([0.2, 0.0], [10, 10], [1, 5])
    assert zero.absolute_gap == pytest.approx(0.2) and np.isnan(zero.relative_gap)
    assert zero.reason is not None and "relative gap" in zero.reason


def test_par_matches_scotpho_formula():
    rates = np.array([30.0, 25.0, 20.0, 15.0, 12.0])
    population = np.array([900.0, 1_000.0, 1_100.0, 1_000.0, 1_200.0])
    share = population / population.sum()
    overall = np.sum(share * rates)
    scotpho_sum = np.sum((rates / rates[-1] - 1) * share)
    scotpho_par = scotpho_sum / (scotpho_sum + 1) * 100
    got = population_attributable_risk(overall, rates[-1])
    assert float(got.percent) == pytest.approx(scotpho_par, rel=1e-12)
    assert float(got.absolute) == pytest.approx(overall - 12.0)


def test_par_is_vectorised_and_nan_for_zero_overall():
    got = population_attributable_risk([20.0, 0.0, 10.0], [5.0, 0.0, 12.0])
    np.testing.assert_allclose(got.absolute, [15.0, 0.0, -2.0])
    assert got.percent[0] == pytest.approx(75.0)
    assert np.isnan(got.percent[1])
    assert got.percent[2] == pytest.approx(-20.0)


# --- Real data ----------------------------------------------------------------------------


@pytest.mark.real_data
def test_dundee_income_deprivation_gradient(real_data: Path):
    simd = pd.read_csv(
        real_data / "simd" / "simd2020v2_withinds.csv",
        usecols=[
            "Council_area",
            "income_count",
            "Total_population",
            "SIMD2020v2_Rank",
            "SIMD2020v2_Quintile",
        ],
    )
    dundee = simd[simd["Council_area"] == "Dundee City"]
    assert len(dundee) == 188
    by_zone = slope_index_of_inequality(
        None,
        dundee["Total_population"],
        dundee["SIMD2020v2_Rank"],
        dundee["income_count"],
        min_areas=10,
    )
    assert by_zone.n_areas == 188
    assert by_zone.mean_rate == pytest.approx(24_391 / 148_710)
    # Income deprivation is part of the SIMD rank, so the gradient must be steep and sure.
    assert by_zone.sii_lower > 0.2
    assert by_zone.rii_scotpho > 2
    # The straight line through 188 zones dips below zero at the least deprived end, so
    # the ratio-of-ends RII is undefined here: reported as NaN, not as a negative ratio.
    assert by_zone.fitted_least_deprived < 0
    assert np.isnan(by_zone.rii_phe)
    gap = quintile_gap(
        None,
        dundee["Total_population"],
        dundee["SIMD2020v2_Quintile"],
        numerator=dundee["income_count"],
    )
    assert gap.most_deprived_value > gap.least_deprived_value > 0
    assert gap.absolute_gap == pytest.approx(gap.most_deprived_value - gap.least_deprived_value)
    par = population_attributable_risk(by_zone.mean_rate, gap.least_deprived_value)
    assert 50 < float(par.percent) < 100
