"""Statistics for locality profiles: intervals, comparisons, inequality, disclosure control.

What belongs here: pure, vectorised functions (arrays or Series in, arrays or small
result records out) that the profile builders call. Nothing in this package reads the
warehouse; only `disclosure.load_disclosure_rules` reads a file (its YAML config).

- `intervals`: Wilson, exact Poisson, Byar and crude-rate confidence intervals.
- `compare`: worse / similar / better against a comparator, by polarity.
- `inequality`: quintile gap, slope and relative index of inequality, attributable risk.
- `disclosure`: primary and secondary suppression of published tables.
"""

from profiles.stats.compare import POLARITIES, SIGNIFICANCE_LABELS, significance_vs_comparator
from profiles.stats.disclosure import (
    DisclosureRules,
    apply_mask,
    load_disclosure_rules,
    primary_suppression,
    suppression_mask,
)
from profiles.stats.inequality import (
    AttributableRisk,
    QuintileGap,
    SlopeIndex,
    population_attributable_risk,
    quintile_gap,
    ridit_midpoints,
    slope_index_of_inequality,
)
from profiles.stats.intervals import (
    Interval,
    byar_interval,
    count_interval,
    count_interval_method,
    exact_poisson_interval,
    rate_interval,
    wilson_interval,
)

__all__ = [
    "POLARITIES",
    "SIGNIFICANCE_LABELS",
    "AttributableRisk",
    "DisclosureRules",
    "Interval",
    "QuintileGap",
    "SlopeIndex",
    "apply_mask",
    "byar_interval",
    "count_interval",
    "count_interval_method",
    "exact_poisson_interval",
    "load_disclosure_rules",
    "population_attributable_risk",
    "primary_suppression",
    "quintile_gap",
    "rate_interval",
    "ridit_midpoints",
    "significance_vs_comparator",
    "slope_index_of_inequality",
    "suppression_mask",
    "wilson_interval",
]
