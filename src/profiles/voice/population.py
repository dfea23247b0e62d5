"""Residents to weigh and compare survey responses against: data zone × SIMD quintile × age band.

What belongs here: turning the warehouse's long population estimates into the frame that
`profiles.voice.weights` and `profiles.voice.reach` take. Age bands are read from the
survey's own labels ("16-24", "75+"), so any banding works; single-year estimates are
summed into them. Without single-year estimates, totals are used with no age band.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

_BAND = re.compile(r"^\s*(\d{1,3})\s*(?:-|–|to)\s*(\d{1,3})\s*$|^\s*(\d{1,3})\s*\+\s*$")


_SINGLE_AGE = re.compile(r"\d{1,3}\+?")


def _by_value(values: pd.Series, test: Callable[[str], object]) -> np.ndarray:
    """`bool(test(str(value)))` for each value, evaluated once per distinct value."""
    text = values.astype(str)
    verdict = {value: bool(test(value)) for value in text.unique()}
    return text.map(verdict).to_numpy(dtype=bool)


def parse_age_band(label: str) -> tuple[int, int] | None:
    """(first, last) age of a band label such as '16-24' or '75+' (last = 200 for '+')."""
    match = _BAND.match(str(label))
    if not match:
        return None
    if match.group(3) is not None:
        return int(match.group(3)), 200
    return int(match.group(1)), int(match.group(2))


def population_for_weights(
    population: pd.DataFrame,
    dim_datazone: pd.DataFrame,
    quintiles: pd.DataFrame,
    age_bands: Iterable[str],
) -> pd.DataFrame:
    """DataFrame[dz_code, simd_quintile, age_band, population] for the survey's age bands.

    `population` is the warehouse's long table (area_code, year, sex, age_band, population);
    the latest year with single years of age is used when there is one, and `age_band` is
    left out (totals per data zone) otherwise. `quintiles` is DataFrame[dz_code, quintile].
    """
    bands = {label: parse_age_band(label) for label in age_bands}
    bands = {label: span for label, span in bands.items() if span is not None}
    quintile = quintiles.rename(columns={"quintile": "simd_quintile"})[["dz_code", "simd_quintile"]]
    # Text tests on the distinct values, then mapped back: a Scotland-wide table has ~700,000
    # rows but only ~7,000 area codes and ~100 age labels (ten times quicker).
    data_zone = _by_value(population["area_code"], lambda code: code.startswith("S01"))
    single_age = _by_value(population["age_band"], lambda label: _SINGLE_AGE.fullmatch(label))
    single_years = population[data_zone & (population["sex"] == "all").to_numpy() & single_age]
    if bands and not single_years.empty:
        latest = single_years[single_years["year"] == single_years["year"].max()]
        labels = latest["age_band"].astype(str)
        age_of = {label: int(label.rstrip("+")) for label in labels.unique()}
        ages = labels.map(age_of).to_numpy(dtype=int)
        label = np.full(len(latest), None, dtype=object)
        for name, (first, last) in bands.items():
            label[(ages >= first) & (ages <= last)] = name
        banded = latest.assign(age_band=label).dropna(subset=["age_band"])
        frame = (
            banded.groupby(["area_code", "age_band"], as_index=False)["population"]
            .sum()
            .rename(columns={"area_code": "dz_code"})
        )
    else:
        frame = dim_datazone[["dz_code", "population"]].copy()
    frame["population"] = pd.to_numeric(frame["population"]).fillna(0).astype(float)
    frame = frame.merge(quintile, on="dz_code", how="inner")
    columns = ["dz_code", "simd_quintile", "age_band", "population"]
    return frame[[c for c in columns if c in frame.columns]].reset_index(drop=True)
