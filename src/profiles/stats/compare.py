"""Significance of a locality value against a comparator (council, Scotland).

What belongs here: the comparison rule that turns a confidence interval, a comparator
value and an indicator's polarity into a label for the profile. Nothing here computes
intervals (see `intervals`).

Rule (as in PHE Fingertips and ScotPHO profiles): the locality differs from the comparator
only when the comparator value lies outside the locality's confidence interval. A
comparator exactly on a limit counts as inside ("similar"). The comparator is treated as
a fixed value, not as an estimate with its own interval.

Labels by polarity (the `polarity` column of `data/config/indicators.csv`):

=====================  ==========================  ==========================
polarity               comparator below the CI     comparator above the CI
=====================  ==========================  ==========================
``higher_is_worse``    ``worse``                   ``better``
``higher_is_better``   ``better``                  ``worse``
``not_applicable``     ``higher``                  ``lower``
=====================  ==========================  ==========================

Inside the interval the label is ``similar``. Indicators without a good or bad direction
(`not_applicable`) get the neutral ``higher``/``lower`` so that the profile never implies a
judgement the data do not support. When either limit or the comparator is missing (no
numerator, suppressed, no comparator) the label is ``not_compared``.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

POLARITIES: Final[tuple[str, ...]] = ("higher_is_worse", "higher_is_better", "not_applicable")
SIGNIFICANCE_LABELS: Final[tuple[str, ...]] = (
    "worse",
    "similar",
    "better",
    "higher",
    "lower",
    "not_compared",
)

_LABEL_WHEN_HIGHER: Final[dict[str, str]] = {
    "higher_is_worse": "worse",
    "higher_is_better": "better",
    "not_applicable": "higher",
}
_LABEL_WHEN_LOWER: Final[dict[str, str]] = {
    "higher_is_worse": "better",
    "higher_is_better": "worse",
    "not_applicable": "lower",
}


def significance_vs_comparator(
    lower: npt.ArrayLike,
    upper: npt.ArrayLike,
    comparator_value: npt.ArrayLike,
    polarity: str | npt.ArrayLike,
) -> np.ndarray:
    """Label each locality value against its comparator (see module docstring).

    `lower`, `upper` and `comparator_value` broadcast together; `polarity` is one string
    for all elements or an array of strings (one per element). Returns an object array of
    labels from `SIGNIFICANCE_LABELS`. Raises `ValueError` for an unknown polarity or a
    lower limit above its upper limit.
    """
    low = np.asarray(lower, dtype=float)
    high = np.asarray(upper, dtype=float)
    comparator = np.asarray(comparator_value, dtype=float)
    polarities = np.asarray(polarity, dtype=object)
    low, high, comparator, polarities = np.broadcast_arrays(low, high, comparator, polarities)

    unknown = set(np.unique(polarities.astype(str))) - set(POLARITIES)
    if unknown:
        raise ValueError(
            f"unknown polarity {sorted(unknown)}; expected one of {', '.join(POLARITIES)}"
        )
    if np.any(low > high):
        raise ValueError("a lower confidence limit is above its upper limit")

    comparator_below = comparator < low  # the locality is significantly higher
    comparator_above = comparator > high  # the locality is significantly lower
    missing = np.isnan(low) | np.isnan(high) | np.isnan(comparator)

    labels = np.full(low.shape, "similar", dtype=object)
    for name in POLARITIES:
        this_polarity = polarities == name
        labels[this_polarity & comparator_below] = _LABEL_WHEN_HIGHER[name]
        labels[this_polarity & comparator_above] = _LABEL_WHEN_LOWER[name]
    labels[missing] = "not_compared"
    return labels
