"""Inequality inside localities and councils, for indicators with numerators.

What belongs here: applying `profiles.stats.inequality` to each area's data zones. Units are
the area's data zones ordered by their national overall SIMD rank (of the same vintage), each
weighted by its denominator; the quintile gap and the population attributable risk use the
national SIMD quintiles of those data zones. Measures are computed only where the area has
at least `min_areas` usable data zones; otherwise the row says why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from profiles import contract
from profiles.profile.areas import AREA_KEY, area_membership
from profiles.profile.indicators import _PER, METHOD_RATIO
from profiles.stats import inequality

DEFAULT_MIN_AREAS = 10
INEQUALITY_COLUMNS = (
    "area_level",
    "council_code",
    "locality_id",
    "vintage",
    "indicator",
    "unit",
    "value",
    "n_data_zones",
    "most_deprived_quintile_value",
    "least_deprived_quintile_value",
    "quintile_gap_absolute",
    "quintile_gap_relative",
    "quintile_gap_note",
    "sii",
    "sii_lower",
    "sii_upper",
    "rii_scotpho",
    "rii_scotpho_lower",
    "rii_scotpho_upper",
    "rii_phe",
    "rii_phe_lower",
    "rii_phe_upper",
    "sii_ci_method",
    "sii_note",
    "par_absolute",
    "par_percent",
)


def inequality_measures(
    fct_indicator: pd.DataFrame,
    fct_simd: pd.DataFrame,
    dim_datazone: pd.DataFrame,
    bridge: pd.DataFrame,
    catalogue: pd.DataFrame,
    *,
    councils: list[str] | None = None,
    min_areas: int = DEFAULT_MIN_AREAS,
) -> pd.DataFrame:
    """One row per area × vintage × indicator-with-numerator (localities and councils)."""
    ratio_indicators = catalogue.loc[catalogue["has_numerator"], ["indicator", "unit", "label"]]
    membership = area_membership(dim_datazone, bridge, councils=councils, include_scotland=False)
    overall = fct_simd.loc[
        fct_simd["domain"] == "overall", ["dz_code", "vintage", "rank", "quintile"]
    ]
    cells = fct_indicator.merge(ratio_indicators[["indicator"]], on="indicator").merge(
        overall, on=["dz_code", "vintage"]
    )
    data = membership.merge(cells, on="dz_code")
    data = data[data["numerator"].notna() & data["denominator"].notna() & (data["denominator"] > 0)]
    units = dict(zip(ratio_indicators["indicator"], ratio_indicators["unit"], strict=True))
    rows: list[dict[str, object]] = []
    # Whole columns as arrays once, each group's rows by position: ~3,500 groups, and
    # pandas sub-frames per group cost more than the statistics.
    numerators = data["numerator"].to_numpy(float)
    denominators = data["denominator"].to_numpy(float)
    ranks = data["rank"].to_numpy(float)
    quintiles = data["quintile"].to_numpy(float)
    groups = data.groupby([*AREA_KEY, "vintage", "indicator"], sort=True).indices
    for key, positions in sorted(groups.items()):
        area_level, council_code, locality_id, vintage, indicator = key
        per = _PER.get(units[indicator], 1.0)
        numerator = numerators[positions]
        denominator = denominators[positions]
        rate = numerator / denominator * per
        slope = inequality.slope_index_of_inequality(
            rate, denominator, ranks[positions], min_areas=min_areas
        )
        gap = inequality.quintile_gap(
            None, denominator, quintiles[positions], numerator=numerator, per=per
        )
        overall_rate = numerator.sum() / denominator.sum() * per
        par = inequality.population_attributable_risk(overall_rate, gap.least_deprived_value)
        rows.append(
            {
                "area_level": area_level,
                "council_code": council_code,
                "locality_id": locality_id,
                "vintage": vintage,
                "indicator": indicator,
                "unit": units[indicator],
                "value": overall_rate,
                "n_data_zones": len(positions),
                "most_deprived_quintile_value": gap.most_deprived_value,
                "least_deprived_quintile_value": gap.least_deprived_value,
                "quintile_gap_absolute": gap.absolute_gap,
                "quintile_gap_relative": gap.relative_gap,
                "quintile_gap_note": gap.reason or "",
                "sii": slope.sii,
                "sii_lower": slope.sii_lower,
                "sii_upper": slope.sii_upper,
                "rii_scotpho": slope.rii_scotpho,
                "rii_scotpho_lower": slope.rii_scotpho_lower,
                "rii_scotpho_upper": slope.rii_scotpho_upper,
                "rii_phe": slope.rii_phe,
                "rii_phe_lower": slope.rii_phe_lower,
                "rii_phe_upper": slope.rii_phe_upper,
                "sii_ci_method": slope.ci_method,
                "sii_note": slope.reason or "",
                "par_absolute": float(par.absolute),
                "par_percent": float(par.percent),
            }
        )
    frame = pd.DataFrame(rows, columns=list(INEQUALITY_COLUMNS))
    if frame.empty:
        # No indicator with numerators (e.g. a live build of ranks only): a typed empty table.
        return contract.empty_frame(INEQUALITY_COLUMNS)
    numeric = frame.select_dtypes("number").columns
    frame[numeric] = frame[numeric].replace([np.inf, -np.inf], np.nan)
    return frame


__all__ = ["DEFAULT_MIN_AREAS", "INEQUALITY_COLUMNS", "METHOD_RATIO", "inequality_measures"]
