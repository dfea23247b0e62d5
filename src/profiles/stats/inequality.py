"""Inequality measures across deprivation: quintile gap, SII, RII and PAR.

What belongs here: pure functions that summarise how an indicator varies with
deprivation inside one area (a locality or a council), from per-unit values where a
unit is a data zone or a deprivation quantile group. Nothing here decides which units
belong to an area or reads the warehouse.

Orientation used throughout: units are ordered by deprivation rank, **lower rank = more
deprived** (SIMD ranks and quintiles: 1 is most deprived). Gaps and the SII are reported
as *most deprived minus least deprived*, so they are positive when the indicator is higher
in deprived areas, whatever the indicator's polarity.

Slope index of inequality (Low & Low 2004; ScotPHO; PHE `phe_sii`)
    Units are placed on the *ridit* scale: sort by rank, and give each unit the midpoint of
    its band of the cumulative population share (0 = most deprived end, 1 = least).
    Units with tied ranks share one band. The indicator is regressed on the ridit by
    weighted least squares with the population shares as weights (identical to the
    square-root transformed regression of ScotPHO and PHE). With fitted line
    y = a + b * ridit:

    - ``sii`` = fitted(0) - fitted(1) = -b: the modelled gap between the most and the
      least deprived ends. Same number and sign as ScotPHO's ``sii`` and as
      ``PHEindicatormethods::phe_sii(..., multiplier = -1)``.
    - ``rii_scotpho`` = sii / mean rate, the mean being the population-weighted mean of
      the unit values (= total numerator / total population when the values are crude
      rates); 0 when sii is 0. ScotPHO publishes it also as ``rii * 0.5 * 100`` ("the most
      deprived are x% above the average").
    - ``rii_phe`` = fitted(0) / fitted(1) = a / (a + b): the ratio of the modelled values
      at the most and the least deprived ends. This is the *inverse* of the RII that
      ``phe_sii`` returns with its default multiplier (PHE divides the least by the most
      deprived end) and equal to ``phe_sii(..., multiplier = -1)``. NaN when either
      fitted end value is not positive (the ratio has no meaning there).

    Confidence intervals, `ci_method`:

    - ``"regression"`` (default; ScotPHO): t interval with n - 2 degrees of freedom from
      the weighted regression's residual variance. The rii_scotpho limits are the sii
      limits divided by the mean (ScotPHO's convention, mean treated as fixed); rii_phe
      limits come from the delta method on log(a) - log(a + b).
    - ``"simulation"`` (PHE's Monte Carlo approach, parametric on numerators): each unit's
      numerator is redrawn `repetitions` times from Poisson(numerator) (or
      Binomial(population, numerator / population)), the rate is rescaled accordingly,
      the regression refitted with the same ridits and weights, and the limits are the
      empirical quantiles of sii, rii_scotpho and rii_phe. A fixed `seed` makes results
      reproducible. Units with a zero numerator are never perturbed (a known limitation
      of drawing around the observed count).

Too few units: with fewer than `min_areas` distinct deprivation ranks among the usable
units (positive population, non-missing value and rank), or zero total population, the
measures are NaN and `reason` says why. Rows with missing values are dropped, not imputed.

Population attributable risk (ScotPHO): the share of the overall rate that would not
occur if everyone had the rate of the least deprived group,
``percent = 100 * (overall - least deprived) / overall``, with ``absolute = overall -
least deprived``. ScotPHO's formula sum(p_i (r_i/r_least - 1)) / (1 + sum(...)) reduces
to this when `overall` is the population-weighted mean of the group rates.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import stats

DEFAULT_MIN_AREAS = 5
"""PHE requires at least 5 quantiles; for data-zone-level input callers may want 10."""
DEFAULT_REPETITIONS = 10_000
DEFAULT_SEED = 20_240_101
_SIMULATION_CHUNK = 2_000


# --- Quintile gap -------------------------------------------------------------------------


@dataclass(frozen=True)
class QuintileGap:
    """Values of the most and least deprived quintile and the gaps between them.

    `absolute_gap` = most - least; `relative_gap` = most / least (NaN when least is 0).
    `reason` is None when both quintiles had data, otherwise why the gap is NaN.
    """

    most_deprived_value: float
    least_deprived_value: float
    absolute_gap: float
    relative_gap: float
    reason: str | None = None

    def as_dict(self) -> dict[str, float | str | None]:
        return asdict(self)


def quintile_gap(
    values: npt.ArrayLike | None,
    weights: npt.ArrayLike,
    quintiles: npt.ArrayLike,
    *,
    numerator: npt.ArrayLike | None = None,
    per: float = 1.0,
    most_deprived: int = 1,
    least_deprived: int = 5,
) -> QuintileGap:
    """Gap between the most and least deprived quintile of the units given.

    With `numerator`, each quintile's value is sum(numerator) / sum(weights) * `per`
    (weights are then the denominators) and `values` may be None; this is the preferred,
    "never an average of rates" form. Without it, a quintile's value is the
    `weights`-weighted mean of `values`, equal to the aggregated rate only when the
    weights are the values' own denominators. Units with a missing value, weight or
    quintile are ignored.
    """
    weight = np.asarray(weights, dtype=float)
    quintile = np.asarray(quintiles, dtype=float)
    if numerator is not None:
        amount = np.asarray(numerator, dtype=float)
    elif values is not None:
        amount = np.asarray(values, dtype=float) * weight
        per = 1.0
    else:
        raise ValueError("quintile_gap needs values or numerator")
    if not amount.shape == weight.shape == quintile.shape:
        raise ValueError("values/numerator, weights and quintiles must have the same length")

    usable = ~(np.isnan(amount) | np.isnan(weight) | np.isnan(quintile))

    def group_value(which: int) -> tuple[float, str | None]:
        members = usable & (quintile == which)
        total_weight = weight[members].sum()
        if not members.any():
            return np.nan, f"no units in quintile {which}"
        if total_weight <= 0:
            return np.nan, f"zero population in quintile {which}"
        return float(amount[members].sum() / total_weight * per), None

    most, most_reason = group_value(most_deprived)
    least, least_reason = group_value(least_deprived)
    reason = most_reason or least_reason
    relative = np.nan
    if reason is None:
        if least == 0:
            reason = "least deprived quintile value is 0: relative gap undefined"
        else:
            relative = most / least
    return QuintileGap(
        most_deprived_value=most,
        least_deprived_value=least,
        absolute_gap=most - least,
        relative_gap=relative,
        reason=reason,
    )


# --- Slope and relative index of inequality -----------------------------------------------


@dataclass(frozen=True)
class SlopeIndex:
    """SII and both RII definitions with confidence limits (see module docstring).

    `fitted_most_deprived` / `fitted_least_deprived` are the regression line at ridit 0
    and 1, so either orientation of the RII can be recomputed. All measures are NaN when
    `reason` is not None.
    """

    sii: float
    sii_lower: float
    sii_upper: float
    rii_scotpho: float
    rii_scotpho_lower: float
    rii_scotpho_upper: float
    rii_phe: float
    rii_phe_lower: float
    rii_phe_upper: float
    fitted_most_deprived: float
    fitted_least_deprived: float
    mean_rate: float
    n_areas: int
    ci_method: str
    confidence: float
    reason: str | None = None

    def as_dict(self) -> dict[str, float | int | str | None]:
        return asdict(self)


def ridit_midpoints(population: npt.ArrayLike, deprivation_rank: npt.ArrayLike) -> np.ndarray:
    """Midpoint of each unit's band of the cumulative population share, most deprived
    (lowest rank) first; tied ranks share one band. Returned in input order."""
    weight = np.asarray(population, dtype=float)
    rank = np.asarray(deprivation_rank, dtype=float)
    distinct_ranks, group_of_unit = np.unique(rank, return_inverse=True)
    group_population = np.bincount(group_of_unit, weights=weight, minlength=len(distinct_ranks))
    total = group_population.sum()
    band_end = np.cumsum(group_population) / total
    band_start = band_end - group_population / total
    midpoint = (band_start + band_end) / 2
    return midpoint[group_of_unit]


def _nan_result(n_areas: int, ci_method: str, confidence: float, reason: str) -> SlopeIndex:
    nan = float("nan")
    return SlopeIndex(
        *([nan] * 12), n_areas=n_areas, ci_method=ci_method, confidence=confidence, reason=reason
    )


def _rii_phe(intercept: np.ndarray, slope: np.ndarray) -> np.ndarray:
    at_most, at_least = intercept, intercept + slope
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((at_most > 0) & (at_least > 0), at_most / at_least, np.nan)


def _rii_scotpho(sii: np.ndarray, mean: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sii == 0, 0.0, np.where(mean != 0, sii / mean, np.nan))


class _Fit(NamedTuple):
    intercept: float
    slope: float
    covariance: np.ndarray  # 2x2, of (intercept, slope)
    hat: np.ndarray  # 2 x n: coefficients = hat @ y


@lru_cache(maxsize=4096)
def _t_critical(confidence: float, degrees_of_freedom: int) -> float:
    """Two-sided Student t critical value; cached because every area x indicator of a
    profile asks for one and they share a few hundred degrees of freedom (scipy's `ppf`
    was a third of the inequality profile's time)."""
    return float(stats.t.ppf(1 - (1 - confidence) / 2, degrees_of_freedom))


def _weighted_fit(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> _Fit:
    design = np.column_stack([np.ones_like(x), x])
    weighted_design = design * w[:, None]
    information = design.T @ weighted_design
    information_inverse = np.linalg.inv(information)
    hat = information_inverse @ weighted_design.T
    intercept, slope = hat @ y
    residuals = y - (intercept + slope * x)
    degrees_of_freedom = len(y) - 2
    residual_variance = float(np.sum(w * residuals**2) / degrees_of_freedom)
    return _Fit(float(intercept), float(slope), residual_variance * information_inverse, hat)


def slope_index_of_inequality(
    rate: npt.ArrayLike | None,
    population: npt.ArrayLike,
    deprivation_rank: npt.ArrayLike,
    numerator: npt.ArrayLike | None = None,
    *,
    min_areas: int = DEFAULT_MIN_AREAS,
    ci_method: Literal["regression", "simulation"] = "regression",
    confidence: float = 0.95,
    repetitions: int = DEFAULT_REPETITIONS,
    seed: int = DEFAULT_SEED,
    numerator_distribution: Literal["poisson", "binomial"] = "poisson",
) -> SlopeIndex:
    """SII, RII (ScotPHO and PHE definitions) and confidence limits for one area.

    One element per unit (data zone or quantile group). `rate` is the unit's value on the
    scale to report (e.g. per 1,000); when None it is `numerator / population`.
    `population` is the regression weight and, for proportions and crude rates, the
    denominator. `numerator` is needed only for `ci_method="simulation"` (and to derive
    `rate`). See the module docstring for definitions, orientation and CI methods.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence!r}")
    if min_areas < 3:
        raise ValueError("min_areas must be at least 3 (a line and its error need 3 points)")
    if ci_method not in ("regression", "simulation"):
        raise ValueError(f"unknown ci_method {ci_method!r}")
    if ci_method == "simulation" and numerator is None:
        raise ValueError("ci_method='simulation' needs numerators")

    weight = np.asarray(population, dtype=float)
    rank = np.asarray(deprivation_rank, dtype=float)
    count = None if numerator is None else np.asarray(numerator, dtype=float)
    if rate is None:
        if count is None:
            raise ValueError("slope_index_of_inequality needs rate or numerator")
        with np.errstate(divide="ignore", invalid="ignore"):
            value = count / weight
    else:
        value = np.asarray(rate, dtype=float)
    shapes = {value.shape, weight.shape, rank.shape} | (
        {count.shape} if count is not None else set()
    )
    if len(shapes) != 1:
        raise ValueError("rate, population, deprivation_rank and numerator must be the same length")
    if np.any(weight < 0):
        raise ValueError("population must not be negative")

    usable = ~(np.isnan(value) | np.isnan(weight) | np.isnan(rank)) & (weight > 0)
    if count is not None:
        usable &= ~np.isnan(count)
        if np.any(count[usable] < 0):
            raise ValueError("numerator must not be negative")
    n_units = int(usable.sum())
    if n_units == 0 or weight[usable].sum() <= 0:
        return _nan_result(n_units, ci_method, confidence, "zero population")
    n_groups = len(np.unique(rank[usable]))
    if n_groups < min_areas:
        return _nan_result(
            n_units,
            ci_method,
            confidence,
            f"{n_groups} deprivation groups with data; at least {min_areas} needed",
        )

    value, weight, rank = value[usable], weight[usable], rank[usable]
    share = weight / weight.sum()
    ridit = ridit_midpoints(weight, rank)
    fit = _weighted_fit(ridit, value, share)
    mean_rate = float(np.sum(share * value))
    sii = -fit.slope
    rii_scotpho = float(_rii_scotpho(np.asarray(sii), np.asarray(mean_rate)))
    rii_phe = float(_rii_phe(np.asarray(fit.intercept), np.asarray(fit.slope)))

    if ci_method == "regression":
        t = _t_critical(confidence, n_units - 2)
        sii_half = t * float(np.sqrt(fit.covariance[1, 1]))
        sii_lower, sii_upper = sii - sii_half, sii + sii_half
        scotpho_limits = np.sort(_rii_scotpho(np.array([sii_lower, sii_upper]), mean_rate))
        phe_limits = _delta_log_ratio_limits(fit, t)
    else:
        assert count is not None
        draws = _simulate(
            fit.hat,
            value,
            count[usable],
            weight,
            share,
            repetitions,
            seed,
            numerator_distribution,
        )
        tail = (1 - confidence) / 2
        quantiles = [tail, 1 - tail]
        sii_lower, sii_upper = np.nanquantile(draws["sii"], quantiles)
        scotpho_limits = np.nanquantile(draws["rii_scotpho"], quantiles)
        phe_limits = (
            np.nanquantile(draws["rii_phe"], quantiles)
            if np.isfinite(draws["rii_phe"]).any()
            else np.array([np.nan, np.nan])
        )

    return SlopeIndex(
        sii=float(sii),
        sii_lower=float(sii_lower),
        sii_upper=float(sii_upper),
        rii_scotpho=rii_scotpho,
        rii_scotpho_lower=float(scotpho_limits[0]),
        rii_scotpho_upper=float(scotpho_limits[1]),
        rii_phe=rii_phe,
        rii_phe_lower=float(phe_limits[0]) if np.isfinite(rii_phe) else np.nan,
        rii_phe_upper=float(phe_limits[1]) if np.isfinite(rii_phe) else np.nan,
        fitted_most_deprived=fit.intercept,
        fitted_least_deprived=fit.intercept + fit.slope,
        mean_rate=mean_rate,
        n_areas=n_units,
        ci_method=ci_method,
        confidence=confidence,
        reason=None,
    )


def _delta_log_ratio_limits(fit: _Fit, t: float) -> np.ndarray:
    """Limits for a / (a + b) from a t interval on its log (delta method)."""
    at_most, at_least = fit.intercept, fit.intercept + fit.slope
    if at_most <= 0 or at_least <= 0:
        return np.array([np.nan, np.nan])
    gradient = np.array([1 / at_most - 1 / at_least, -1 / at_least])
    log_se = float(np.sqrt(gradient @ fit.covariance @ gradient))
    log_ratio = np.log(at_most / at_least)
    return np.exp([log_ratio - t * log_se, log_ratio + t * log_se])


def _simulate(
    hat: np.ndarray,
    value: np.ndarray,
    count: np.ndarray,
    weight: np.ndarray,
    share: np.ndarray,
    repetitions: int,
    seed: int,
    distribution: str,
) -> dict[str, np.ndarray]:
    """Monte Carlo draws of sii, rii_scotpho and rii_phe from redrawn numerators."""
    if repetitions < 100:
        raise ValueError("repetitions must be at least 100")
    rng = np.random.default_rng(seed)
    # value = count * scale per unit; keeps the caller's reporting scale (per 1,000 etc.).
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(count > 0, value / count, 0.0)
    out: dict[str, list[np.ndarray]] = {"sii": [], "rii_scotpho": [], "rii_phe": []}
    remaining = repetitions
    while remaining > 0:
        size = min(remaining, _SIMULATION_CHUNK)
        if distribution == "poisson":
            drawn = rng.poisson(count, size=(size, len(count)))
        elif distribution == "binomial":
            trials = np.round(weight).astype(np.int64)
            drawn = rng.binomial(trials, np.clip(count / weight, 0, 1), size=(size, len(count)))
        else:
            raise ValueError(f"unknown numerator_distribution {distribution!r}")
        simulated = drawn * scale
        intercept, slope = hat @ simulated.T
        sii = -slope
        out["sii"].append(sii)
        out["rii_scotpho"].append(_rii_scotpho(sii, simulated @ share))
        out["rii_phe"].append(_rii_phe(intercept, slope))
        remaining -= size
    return {name: np.concatenate(parts) for name, parts in out.items()}


# --- Population attributable risk ---------------------------------------------------------


class AttributableRisk(NamedTuple):
    """`absolute` = overall - least deprived; `percent` = 100 * absolute / overall."""

    absolute: np.ndarray
    percent: np.ndarray


def population_attributable_risk(
    rate_overall: npt.ArrayLike, rate_least_deprived: npt.ArrayLike
) -> AttributableRisk:
    """Population attributable risk (ScotPHO), vectorised.

    `rate_overall` should be the whole area's aggregated rate (total numerator / total
    denominator), `rate_least_deprived` that of its least deprived quintile. The percent
    is NaN where the overall rate is 0, and negative where the least deprived group has
    the higher rate (e.g. for higher-is-better indicators).
    """
    overall = np.asarray(rate_overall, dtype=float)
    best = np.asarray(rate_least_deprived, dtype=float)
    absolute = overall - best
    with np.errstate(divide="ignore", invalid="ignore"):
        percent = np.where(overall != 0, 100 * absolute / overall, np.nan)
    return AttributableRisk(absolute, percent)
