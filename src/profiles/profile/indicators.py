"""Indicator profile: SIMD indicators for localities against their council and Scotland.

What belongs here: aggregating data zone indicators to areas the honest way, with
intervals and comparator flags.

- Indicators with a published numerator and denominator: the area value is
  sum(numerator) / sum(denominator) — never an average of rates — with a 95% Wilson
  interval (proportions) or a Poisson interval (rates and counts: exact below 10 events,
  Byar's above). Data zones whose cell is suppressed at source are left out of both sums,
  and the row says how many were.
- Counts: the area total with a Poisson interval.
- Indicators without a numerator (standardised ratios, scores, travel times, percentages
  published alone): a population-weighted mean of data zone values, labelled as such,
  with no interval and no significance flag, rather than an interval we cannot justify.

Comparator flags use `profiles.stats.compare` (comparator outside the interval).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from profiles.profile.areas import AREA_KEY, area_membership, area_sums
from profiles.stats import compare, intervals

METHOD_RATIO = "ratio_of_sums"
METHOD_COUNT = "sum_of_counts"
METHOD_MEAN = "population_weighted_mean"
_PER = {"proportion": 1.0, "rate_per_10000": 10_000.0}


def indicator_measures(
    fct_indicator: pd.DataFrame,
    simd_population: pd.DataFrame,
    dim_datazone: pd.DataFrame,
    bridge: pd.DataFrame,
    catalogue: pd.DataFrame,
    *,
    councils: list[str] | None = None,
    confidence: float = intervals.DEFAULT_CONFIDENCE,
) -> pd.DataFrame:
    """Long indicator measures for every area, with intervals, comparators and flags."""
    membership = area_membership(dim_datazone, bridge, councils=councils)
    info = catalogue.set_index("indicator")
    cells = fct_indicator[fct_indicator["indicator"].isin(info.index)]
    grouped = area_sums(
        membership,
        _cell_quantities(cells, simd_population, info),
        keys=_COLUMN_KEY,
        summed=_SUMMED,
        counted=_COUNTED,
    )
    grouped["value"] = np.nan
    grouped["numerator"] = np.nan
    grouped["denominator"] = np.nan
    grouped["lower_ci"] = np.nan
    grouped["upper_ci"] = np.nan
    grouped["ci_method"] = "none"

    ratio = grouped["method"] == METHOD_RATIO
    per = grouped["unit"].map(_PER).fillna(1.0)
    has_den = ratio & (grouped["den"] > 0)
    grouped.loc[has_den, "value"] = grouped["num"] / grouped["den"] * per
    grouped.loc[ratio, "numerator"] = grouped["num"]
    grouped.loc[ratio, "denominator"] = grouped["den"]
    # SIMD divides Census 2011 counts by later populations, so a tiny area can have
    # numerator > denominator; no Wilson interval exists there, and the note says so.
    impossible = has_den & (grouped["unit"] == "proportion") & (grouped["num"] > grouped["den"])
    proportion = has_den & (grouped["unit"] == "proportion") & ~impossible
    if proportion.any():
        bounds = intervals.wilson_interval(
            grouped.loc[proportion, "num"], grouped.loc[proportion, "den"], confidence
        )
        grouped.loc[proportion, "lower_ci"] = bounds.lower
        grouped.loc[proportion, "upper_ci"] = bounds.upper
        grouped.loc[proportion, "ci_method"] = "wilson"
    rate = has_den & (grouped["unit"] != "proportion")
    if rate.any():
        bounds = intervals.rate_interval(
            grouped.loc[rate, "num"], grouped.loc[rate, "den"], per=per[rate], confidence=confidence
        )
        grouped.loc[rate, "lower_ci"] = bounds.lower
        grouped.loc[rate, "upper_ci"] = bounds.upper
        grouped.loc[rate, "ci_method"] = intervals.count_interval_method(grouped.loc[rate, "num"])

    counts = (grouped["method"] == METHOD_COUNT) & (grouped["dz_used"] > 0)
    grouped.loc[counts, "value"] = grouped["count_sum"]
    grouped.loc[counts, "numerator"] = grouped["count_sum"]
    if counts.any():
        bounds = intervals.count_interval(grouped.loc[counts, "count_sum"], confidence)
        grouped.loc[counts, "lower_ci"] = bounds.lower
        grouped.loc[counts, "upper_ci"] = bounds.upper
        grouped.loc[counts, "ci_method"] = intervals.count_interval_method(
            grouped.loc[counts, "count_sum"]
        )

    mean = (grouped["method"] == METHOD_MEAN) & (grouped["w_used"] > 0)
    grouped.loc[mean, "value"] = grouped["wx"] / grouped["w_used"]

    grouped = _add_comparators(grouped, info)
    grouped["measure_id"] = grouped["indicator"]
    label = grouped["indicator"].map(info["label"])
    grouped["measure_label"] = np.where(
        grouped["method"] == METHOD_MEAN,
        label + " (population-weighted average of data zone values; no numerator published, "
        "so no interval)",
        label,
    )
    notes = np.where(
        grouped["dz_suppressed"] > 0,
        grouped["dz_suppressed"].astype(int).astype(str)
        + " data zone(s) suppressed at source are left out",
        "",
    )
    notes = np.where(
        impossible,
        np.char.add(notes.astype(str), " numerator exceeds denominator; no interval"),
        notes,
    )
    grouped["note"] = notes
    grouped["source"] = "SIMD " + grouped["vintage"] + " indicators"
    grouped["polarity"] = grouped["indicator"].map(info["polarity"])
    return grouped[
        [
            *AREA_KEY,
            "vintage",
            "measure_id",
            "measure_label",
            "unit",
            "method",
            "value",
            "lower_ci",
            "upper_ci",
            "ci_method",
            "numerator",
            "denominator",
            "council_value",
            "scotland_value",
            "vs_council",
            "vs_scotland",
            "polarity",
            "dz_total",
            "dz_used",
            "dz_suppressed",
            "note",
            "source",
        ]
    ]


_SUMMED = (
    "num",
    "den",
    "wx",
    "w_used",
    "count_sum",
    "dz_total",
    "dz_used",
    "dz_suppressed",
    "dz_missing",
)
_COUNTED = ("dz_total", "dz_used", "dz_suppressed", "dz_missing")
_COLUMN_KEY = ["vintage", "indicator", "unit", "method"]


def _cell_quantities(
    cells: pd.DataFrame, simd_population: pd.DataFrame, info: pd.DataFrame
) -> pd.DataFrame:
    """Per data zone x indicator cell, what each area sums: numerator and denominator where
    both are published, population-weighted value, count, and whether the cell was used,
    suppressed at source or missing."""
    weights = simd_population[["dz_code", "vintage", "total_population"]]
    data = cells.merge(weights, on=["dz_code", "vintage"], how="left")
    method = np.where(
        data["indicator"].map(info["has_numerator"]).astype(bool).to_numpy(),
        METHOD_RATIO,
        np.where(data["unit"] == "count", METHOD_COUNT, METHOD_MEAN),
    )
    value = data["value"].to_numpy(dtype="float64", na_value=np.nan)
    has_value = ~np.isnan(value)
    numerator = data["numerator"].to_numpy(dtype="float64", na_value=np.nan)
    denominator = data["denominator"].to_numpy(dtype="float64", na_value=np.nan)
    ratio_ok = ~np.isnan(numerator) & ~np.isnan(denominator)
    weight = data["total_population"].to_numpy(dtype="float64", na_value=np.nan)
    weight = np.where(np.isnan(weight), 0.0, weight)
    suppressed = data["suppressed"].fillna(False).astype(bool).to_numpy()
    usable = has_value | ratio_ok
    return pd.DataFrame(
        {
            "dz_code": data["dz_code"].to_numpy(),
            "vintage": data["vintage"].to_numpy(),
            "indicator": data["indicator"].to_numpy(),
            "unit": data["unit"].to_numpy(),
            "method": method,
            "num": np.where(ratio_ok, numerator, 0.0),
            "den": np.where(ratio_ok, denominator, 0.0),
            "wx": np.where(has_value, value * weight, 0.0),
            "w_used": np.where(has_value, weight, 0.0),
            "count_sum": np.where(has_value, value, 0.0),
            "dz_total": 1.0,
            "dz_used": np.where(method == METHOD_RATIO, ratio_ok, has_value).astype(float),
            "dz_suppressed": suppressed.astype(float),
            "dz_missing": (~usable & ~suppressed).astype(float),
        }
    )


def _add_comparators(grouped: pd.DataFrame, info: pd.DataFrame) -> pd.DataFrame:
    value_key = ["vintage", "indicator"]
    council_values = grouped[grouped["area_level"] == "council"][
        ["council_code", *value_key, "value"]
    ].rename(columns={"value": "council_value"})
    scotland_values = grouped[grouped["area_level"] == "scotland"][[*value_key, "value"]].rename(
        columns={"value": "scotland_value"}
    )
    out = grouped.merge(council_values, on=["council_code", *value_key], how="left").merge(
        scotland_values, on=value_key, how="left"
    )
    polarity = out["indicator"].map(info["polarity"]).fillna("not_applicable")
    out["vs_council"] = compare.significance_vs_comparator(
        out["lower_ci"], out["upper_ci"], out["council_value"], polarity
    )
    out["vs_scotland"] = compare.significance_vs_comparator(
        out["lower_ci"], out["upper_ci"], out["scotland_value"], polarity
    )
    # Counts grow with the size of the area, so they are context, not comparisons.
    out.loc[out["method"] == METHOD_COUNT, ["vs_council", "vs_scotland"]] = "not_compared"
    # A council is not compared with itself, nor Scotland with anything.
    out.loc[out["area_level"] != "locality", "vs_council"] = "not_compared"
    out.loc[out["area_level"] == "scotland", "vs_scotland"] = "not_compared"
    return out
