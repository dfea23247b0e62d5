"""Statistics for locality profiles: intervals, comparisons, inequality, disclosure control.

What belongs here: pure, vectorised functions (arrays or Series in, arrays or small
result records out) that the profile builders call. Nothing in this package reads the
warehouse; only `disclosure.load_disclosure_rules` reads a file (its YAML config).

- `intervals`: Wilson, exact Poisson, Byar and crude-rate confidence intervals.
- `compare`: worse / similar / better against a comparator, by polarity.
- `inequality`: quintile gap, slope and relative index of inequality, attributable risk.
- `disclosure`: primary and secondary suppression of published tables.
"""

import importlib

# Names are resolved on first use (PEP 562), so importing one module of the package,
# e.g. `disclosure` in a pack-building worker, does not load scipy.stats with the others.
_EXPORTS = {
    "AttributableRisk": "inequality",
    "DisclosureRules": "disclosure",
    "Interval": "intervals",
    "POLARITIES": "compare",
    "QuintileGap": "inequality",
    "SIGNIFICANCE_LABELS": "compare",
    "SlopeIndex": "inequality",
    "apply_mask": "disclosure",
    "byar_interval": "intervals",
    "count_interval": "intervals",
    "count_interval_method": "intervals",
    "exact_poisson_interval": "intervals",
    "load_disclosure_rules": "disclosure",
    "population_attributable_risk": "inequality",
    "primary_suppression": "disclosure",
    "quintile_gap": "inequality",
    "rate_interval": "intervals",
    "ridit_midpoints": "inequality",
    "significance_vs_comparator": "compare",
    "slope_index_of_inequality": "inequality",
    "suppression_mask": "disclosure",
    "wilson_interval": "intervals",
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


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
