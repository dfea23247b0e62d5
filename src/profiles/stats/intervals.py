"""Confidence intervals for proportions, counts and crude rates.

What belongs here: vectorised interval formulas (arrays or Series in, float arrays out)
for the indicator profile. Methods follow the APHO/PHE technical guide "Confidence
intervals" and the PHEindicatormethods R package:

- proportions: Wilson score interval (no continuity correction; Newcombe 1998 method 3);
- counts and crude rates: exact Poisson (chi-square quantiles) for small counts, Byar's
  approximation otherwise (`count_interval`, threshold 10 as in `phe_rate`).

Conventions shared by every function here:

- `confidence` is a two-sided level in (0, 1), default 0.95.
- Missing inputs (NaN) give NaN limits; a zero denominator gives NaN limits (there is
  nothing to estimate) rather than an error.
- Impossible inputs raise `ValueError`: negative counts, negative denominators, a
  numerator above its denominator.
- Limits are returned as an `Interval(lower, upper)` of float `numpy.ndarray`s with the
  broadcast shape of the inputs (0-d for scalar input; use `float(...)` to unwrap).
"""

from __future__ import annotations

from types import ModuleType
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike

DEFAULT_CONFIDENCE = 0.95
DEFAULT_SMALL_COUNT_THRESHOLD = 10
"""Counts below this use the exact Poisson interval (PHE `phe_rate` uses 10)."""


class Interval(NamedTuple):
    """Lower and upper confidence limits, as float arrays of the same shape."""

    lower: np.ndarray
    upper: np.ndarray


def _scipy_stats() -> ModuleType:
    # Imported on first use: scipy.stats takes 1.7 s to import, and processes that only
    # read this package's names (pack workers loading the headline config) never need it.
    from scipy import stats

    return stats


def _z(confidence: float) -> float:
    return float(_scipy_stats().norm.ppf(1 - (1 - _check_confidence(confidence)) / 2))


def _check_confidence(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence!r}")
    return float(confidence)


def _as_float(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if np.any(array < 0):
        raise ValueError(f"{name} must not be negative")
    return array


def wilson_interval(
    numerator: ArrayLike, denominator: ArrayLike, confidence: float = DEFAULT_CONFIDENCE
) -> Interval:
    """Wilson score interval for the proportion `numerator / denominator`.

    Limits are proportions in [0, 1]; 0 successes give a lower limit of exactly 0 and
    `numerator == denominator` an upper limit of exactly 1. A zero denominator gives NaN.
    """
    z = _z(confidence)
    successes = _as_float(numerator, "numerator")
    trials = _as_float(denominator, "denominator")
    if np.any(successes > trials):
        raise ValueError("numerator must not exceed denominator for a proportion")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = successes / trials
        z2_over_n = z * z / trials
        centre = p + z2_over_n / 2
        half_width = z * np.sqrt(p * (1 - p) / trials + z2_over_n / (4 * trials))
        scale = 1 + z2_over_n
        lower = (centre - half_width) / scale
        upper = (centre + half_width) / scale
    # The formula is exact at the boundaries; clipping only removes rounding error.
    lower = np.where(successes == 0, 0.0, np.clip(lower, 0.0, 1.0))
    upper = np.where(successes == trials, 1.0, np.clip(upper, 0.0, 1.0))
    empty = trials == 0
    return Interval(np.where(empty, np.nan, lower), np.where(empty, np.nan, upper))


def exact_poisson_interval(count: ArrayLike, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """Exact (Garwood) Poisson interval for an observed count.

    lower = chi2(alpha/2, 2x) / 2 and upper = chi2(1 - alpha/2, 2x + 2) / 2, written as
    gamma quantiles; a count of 0 has lower limit 0.
    """
    alpha = 1 - _check_confidence(confidence)
    observed = _as_float(count, "count")
    gamma = _scipy_stats().gamma
    with np.errstate(invalid="ignore"):
        lower = np.where(
            observed > 0, gamma.ppf(alpha / 2, np.where(observed > 0, observed, 1)), 0.0
        )
        upper = gamma.ppf(1 - alpha / 2, observed + 1)
    missing = np.isnan(observed)
    return Interval(np.where(missing, np.nan, lower), np.where(missing, np.nan, upper))


def byar_interval(count: ArrayLike, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """Byar's approximation to the exact Poisson interval for an observed count.

    lower = x (1 - 1/(9x) - z/(3 sqrt x))^3 and
    upper = (x+1) (1 - 1/(9(x+1)) + z/(3 sqrt(x+1)))^3 (Breslow & Day 1987).
    Accurate for counts of about 10 and over; a count of 0 has lower limit 0.
    """
    z = _z(confidence)
    observed = _as_float(count, "count")
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = observed * (1 - 1 / (9 * observed) - z / (3 * np.sqrt(observed))) ** 3
        shifted = observed + 1
        upper = shifted * (1 - 1 / (9 * shifted) + z / (3 * np.sqrt(shifted))) ** 3
    lower = np.where(observed == 0, 0.0, np.maximum(lower, 0.0))
    return Interval(lower, upper)


def count_interval(
    count: ArrayLike,
    confidence: float = DEFAULT_CONFIDENCE,
    small_count_threshold: float = DEFAULT_SMALL_COUNT_THRESHOLD,
) -> Interval:
    """Interval for a count: exact Poisson below `small_count_threshold`, Byar's otherwise.

    Use `count_interval_method` to label which method each element used.
    """
    observed = _as_float(count, "count")
    exact = exact_poisson_interval(observed, confidence)
    byar = byar_interval(observed, confidence)
    small = observed < small_count_threshold
    return Interval(
        np.where(small, exact.lower, byar.lower), np.where(small, exact.upper, byar.upper)
    )


def count_interval_method(
    count: ArrayLike, small_count_threshold: float = DEFAULT_SMALL_COUNT_THRESHOLD
) -> np.ndarray:
    """Label per element of the method `count_interval` uses: 'exact_poisson' or 'byar'
    (NaN counts are labelled 'none')."""
    observed = np.asarray(count, dtype=float)
    labels = np.where(observed < small_count_threshold, "exact_poisson", "byar").astype(object)
    labels[np.isnan(observed)] = "none"
    return labels


def rate_interval(
    count: ArrayLike,
    denominator: ArrayLike,
    per: float = 1.0,
    confidence: float = DEFAULT_CONFIDENCE,
    small_count_threshold: float = DEFAULT_SMALL_COUNT_THRESHOLD,
) -> Interval:
    """Interval for the crude rate `count / denominator * per` (e.g. `per=10_000`).

    The count interval (`count_interval`) is divided by the denominator, treating the
    denominator as fixed. A zero denominator gives NaN limits.
    """
    population = _as_float(denominator, "denominator")
    bounds = count_interval(count, confidence, small_count_threshold)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(population > 0, per / population, np.nan)
    return Interval(bounds.lower * scale, bounds.upper * scale)
