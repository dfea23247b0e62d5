"""Post-stratification weights for survey responses: SIMD quintile × age band.

What belongs here: making each survey's counted respondents match its council's population
by SIMD quintile (and age band where both population and respondents have one), collapsing
cells too sparse to weight, trimming, and the diagnostics that go with the weights.

Method (per survey × council)
    Cells are SIMD quintile × age band (quintile only when the population has no age bands
    or no placed respondent has a known band). A quintile with fewer than
    `min_cell_respondents` respondents (or no population) is merged with its neighbouring
    quintile with fewer respondents, until none is sparse. Within each (possibly merged)
    quintile, a sparse age band is merged with its neighbouring band with fewer
    respondents, down to a single quintile-only cell when needed.

    A quintile block B gets the population's share of the placed respondents' total weight,
    T_B = n_placed × P_B / P. Respondents in B with no usable age band get T_B / n_B; the
    rest of T_B goes to the age cells in proportion to their population, split equally
    within a cell. Without unknown ages and collapsing this is the classic cell weight
    (population share / response share), and weighted totals reproduce the population's
    cell shares exactly. Weights (mean 1 over placed respondents) are then trimmed to
    [weight_floor, weight_cap] keeping mean 1 (`trim_weights`); trimming loosens the fit to
    the margins, and `diagnostics` says how many respondents it touched.

    Responses that cannot be placed (no data zone, or a data zone outside the council's
    population) keep weight 1 and `weight_basis` 'unplaced'.

Outputs contain respondent counts per cell: diagnostics for analysts, not for publication.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import optimize

from profiles.voice.reach import (
    ALL_AGES,
    QUINTILES,
    VoiceSettings,
    band_order,
    counted_responses,
    population_by_dz,
    require_columns,
    response_quintiles,
)

WEIGHT_COLUMNS = ("survey_id", "response_id", "weight", "weight_cell", "weight_basis")
"""`weight_basis`: simd_quintile_age | simd_quintile | unplaced."""

CELL_COLUMNS = (
    "survey_id",
    "council_code",
    "weight_cell",
    "simd_quintiles",  # e.g. '1' or '1+2' when quintiles were merged
    "age_bands",  # e.g. '16-24', '16-24+25-34', 'all', 'unknown' (no usable age band)
    "collapsed",  # the cell merges more than one base cell
    "population",
    "population_share",
    "respondents",
    "response_share",
    "weight_before_trimming",
    "weight",
)

DIAGNOSTIC_COLUMNS = (
    "survey_id",
    "council_code",
    "responses",  # counted responses
    "placed",
    "unplaced",  # weight 1
    "unknown_age",  # placed, weighted at quintile level
    "uses_age_bands",
    "cells",
    "collapsed_cells",
    "trimmed",  # respondents whose weight hit a cap
    "weight_min",
    "weight_max",
    "kish_effective_n",  # (Σw)² / Σw², all counted responses
    "design_effect",  # responses / kish_effective_n = 1 + CV² of the weights
)


class PostStratification(NamedTuple):
    """Weights per counted response, the weighting cells, and per-survey diagnostics."""

    weights: pd.DataFrame
    cells: pd.DataFrame
    diagnostics: pd.DataFrame


@dataclass
class _Unit:
    """Base cells merged into one weighting cell (quintiles or age bands, in order)."""

    labels: list
    respondents: int
    population: float


def merge_sparse(units: list[_Unit], min_respondents: int) -> list[_Unit]:
    """Merge neighbouring units until every unit has `min_respondents` and some population.

    The sparsest unit (fewest respondents, then the earlier) is merged with whichever
    neighbour has fewer respondents (the earlier on a tie); one unit is never sparse.
    """
    units = [_Unit(list(u.labels), u.respondents, u.population) for u in units]
    while len(units) > 1:
        sparse = [
            i for i, u in enumerate(units) if u.respondents < min_respondents or u.population <= 0
        ]
        if not sparse:
            break
        i = min(sparse, key=lambda k: (units[k].respondents, k))
        neighbours = [k for k in (i - 1, i + 1) if 0 <= k < len(units)]
        j = min(neighbours, key=lambda k: (units[k].respondents, k))
        a, b = sorted((i, j))
        units[a] = _Unit(
            units[a].labels + units[b].labels,
            units[a].respondents + units[b].respondents,
            units[a].population + units[b].population,
        )
        del units[b]
    return units


def trim_weights(weights: np.ndarray, floor: float, cap: float) -> np.ndarray:
    """Weights clip(c × w, floor, cap), with c such that their mean is 1 (needs floor <= 1 <= cap).

    The mean of the clipped weights grows monotonically with c, so c is found by root
    finding; weights already within the caps (mean 1) come back unchanged.
    """
    if len(weights) == 0:
        return weights
    tolerance = 1e-12
    if weights.min() >= floor - tolerance and weights.max() <= cap + tolerance:
        return weights

    def excess_mean(scale: float) -> float:
        return float(np.clip(scale * weights, floor, cap).mean()) - 1.0

    positive = weights[weights > 0]
    if len(positive) == 0:
        return np.ones_like(weights)
    # At `low` every weight sits at the floor (mean <= 1), at `high` every positive one at
    # the cap (mean >= 1 unless zeros drag it down, in which case the cap binds anyway).
    low, high = 0.0, cap / positive.min()
    if excess_mean(high) < 0:
        return np.clip(high * weights, floor, cap)
    scale = optimize.brentq(excess_mean, low, high, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    return np.clip(scale * weights, floor, cap)


def _weight_council(
    survey_id: str,
    council_code: str,
    respondents: pd.DataFrame,
    people: pd.DataFrame,
    settings: VoiceSettings,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Weights, cells and diagnostics for one survey × council.

    `respondents`: counted responses of the survey with `simd_quintile` (NaN = unplaced) and
    `age_band`; `people`: that council's population rows.
    """
    minimum = settings.min_cell_respondents
    bands = sorted(set(people["age_band"]) - {ALL_AGES}, key=band_order)
    placed = respondents[respondents["simd_quintile"].notna()].copy()
    placed["simd_quintile"] = placed["simd_quintile"].astype(int)
    known_band = placed["age_band"].isin(bands) if bands else pd.Series(False, placed.index)
    placed["band"] = placed["age_band"].where(known_band, None)
    uses_age = bool(bands) and bool(known_band.any())

    quintile_people = people.groupby("simd_quintile")["population"].sum()
    quintile_counts = placed.groupby("simd_quintile").size()
    total_people = float(quintile_people.sum())
    n_placed = len(placed)
    base_quintiles = [
        _Unit([q], int(quintile_counts.get(q, 0)), float(quintile_people.get(q, 0.0)))
        for q in QUINTILES
        if quintile_counts.get(q, 0) > 0 or quintile_people.get(q, 0.0) > 0
    ]
    blocks = merge_sparse(base_quintiles, minimum) if n_placed else []

    cell_rows = []
    # Filled through .loc with boolean arrays: a boolean Series as a plain [] key is first
    # tried as a label, which formats the whole Series into an error message each time.
    weight_of = pd.Series(np.nan, index=placed.index)
    cell_of = pd.Series("", index=placed.index, dtype=object)
    basis_of = pd.Series("simd_quintile", index=placed.index, dtype=object)
    for block in blocks:
        quintile_label = "+".join(str(q) for q in block.labels)
        in_block = placed["simd_quintile"].isin(block.labels)
        n_block = int(in_block.sum())
        target = n_placed * block.population / total_people if total_people > 0 else n_block
        block_people = people[people["simd_quintile"].isin(block.labels)]
        known = in_block & placed["band"].notna() if uses_age else in_block & False
        n_known = int(known.sum())
        if uses_age and n_known:
            band_people = block_people.groupby("age_band")["population"].sum()
            band_counts = placed.loc[known].groupby("band").size()
            age_cells = merge_sparse(
                [
                    _Unit([b], int(band_counts.get(b, 0)), float(band_people.get(b, 0.0)))
                    for b in bands
                    if band_counts.get(b, 0) > 0 or band_people.get(b, 0.0) > 0
                ],
                minimum,
            )
        else:
            age_cells = []
        unknown = in_block & ~known
        share_known = n_known / n_block if n_block else 0.0
        for cell in age_cells:
            band_label = "+".join(cell.labels) if len(age_cells) > 1 else ALL_AGES
            members = known & placed["band"].isin(cell.labels)
            # A block without population only arises when the council has none at all.
            people_share = (
                cell.population / block.population
                if block.population > 0
                else cell.respondents / n_known
            )
            mass = target * share_known * people_share
            weight = mass / cell.respondents if cell.respondents else np.nan
            cell_id = f"q{quintile_label}|{band_label}"
            weight_of.loc[members.to_numpy()] = weight
            cell_of.loc[members.to_numpy()] = cell_id
            basis_of.loc[members.to_numpy()] = (
                "simd_quintile_age" if len(age_cells) > 1 else "simd_quintile"
            )
            base_cells = len(block.labels) * len(cell.labels)
            cell_rows.append(
                (
                    cell_id,
                    quintile_label,
                    band_label,
                    base_cells > 1,
                    cell.population,
                    cell.respondents,
                    weight,
                )
            )
        if unknown.any() or not age_cells:
            band_label = "unknown" if age_cells else ALL_AGES
            weight = target / n_block if n_block else np.nan
            cell_id = f"q{quintile_label}|{band_label}"
            weight_of.loc[unknown.to_numpy()] = weight
            cell_of.loc[unknown.to_numpy()] = cell_id
            # Without age cells the block's population belongs to this one cell.
            cell_people = np.nan if age_cells else block.population
            collapsed = len(block.labels) > 1 or (uses_age and not age_cells)
            cell_rows.append(
                (
                    cell_id,
                    quintile_label,
                    band_label,
                    collapsed,
                    cell_people,
                    int(unknown.sum()),
                    weight,
                )
            )

    raw = weight_of.to_numpy(dtype=float)
    trimmed = trim_weights(raw, settings.weight_floor, settings.weight_cap)
    n_trimmed = int(
        np.sum((raw < settings.weight_floor - 1e-9) | (raw > settings.weight_cap + 1e-9))
    )
    final = pd.Series(trimmed, index=placed.index)

    unplaced = respondents[respondents["simd_quintile"].isna()]
    weights = pd.concat(
        [
            pd.DataFrame(
                {
                    "survey_id": placed["survey_id"],
                    "response_id": placed["response_id"],
                    "weight": final,
                    "weight_cell": cell_of,
                    "weight_basis": basis_of,
                }
            ),
            pd.DataFrame(
                {
                    "survey_id": unplaced["survey_id"],
                    "response_id": unplaced["response_id"],
                    "weight": 1.0,
                    "weight_cell": "unplaced",
                    "weight_basis": "unplaced",
                }
            ),
        ]
    ).loc[respondents.index]

    cells = pd.DataFrame(
        cell_rows,
        columns=[
            "weight_cell",
            "simd_quintiles",
            "age_bands",
            "collapsed",
            "population",
            "respondents",
            "weight_before_trimming",
        ],
    )
    final_by_cell = final.groupby(cell_of).first()
    cells["weight"] = cells["weight_cell"].map(final_by_cell)
    if len(unplaced):
        cells.loc[len(cells)] = {
            "weight_cell": "unplaced",
            "simd_quintiles": "",
            "age_bands": "",
            "collapsed": False,
            "population": np.nan,
            "respondents": len(unplaced),
            "weight_before_trimming": 1.0,
            "weight": 1.0,
        }
    cells["population_share"] = cells["population"] / total_people if total_people else np.nan
    placed_cells = cells["weight_cell"] != "unplaced"
    cells["response_share"] = (cells["respondents"] / n_placed).where(placed_cells & (n_placed > 0))
    cells.insert(0, "council_code", council_code)
    cells.insert(0, "survey_id", survey_id)

    all_weights = weights["weight"].to_numpy(dtype=float)
    total = all_weights.sum()
    effective_n = total**2 / np.sum(all_weights**2) if len(all_weights) else 0.0
    diagnostics = {
        "survey_id": survey_id,
        "council_code": council_code,
        "responses": len(respondents),
        "placed": n_placed,
        "unplaced": len(unplaced),
        "unknown_age": int((placed["band"].isna()).sum()) if uses_age else 0,
        "uses_age_bands": uses_age,
        "cells": int((cells["weight_cell"] != "unplaced").sum()),
        "collapsed_cells": int(cells["collapsed"].sum()),
        "trimmed": n_trimmed,
        "weight_min": float(all_weights.min()) if len(all_weights) else np.nan,
        "weight_max": float(all_weights.max()) if len(all_weights) else np.nan,
        "kish_effective_n": float(effective_n),
        "design_effect": len(all_weights) / effective_n if effective_n else np.nan,
    }
    return weights, cells[list(CELL_COLUMNS)], diagnostics


def post_stratification_weights(
    responses: pd.DataFrame,
    population: pd.DataFrame,
    bridge: pd.DataFrame | None = None,
    *,
    settings: VoiceSettings | None = None,
) -> PostStratification:
    """Post-stratification weights for the counted responses of every survey × council.

    `responses` follows RESPONSE_COLUMNS (duplicates and campaigns are counted first by
    `counted_responses`); `population` is per data zone with simd_quintile, optional
    age_band (harmonised to the survey's bands) and optional council_code (see
    `population_by_dz`; `bridge` is needed only for several councils without it).
    See the module docstring for the method.
    """
    settings = settings or VoiceSettings()
    counted = counted_responses(responses)
    require_columns(counted, ["council_code", "dz_code", "age_band"], "responses")
    councils = sorted(counted["council_code"].dropna().unique())
    if bridge is None:
        bridge = pd.DataFrame(columns=["council_code", "locality_id", "dz_code"])
    people = population_by_dz(population, bridge, councils)
    quintiles = response_quintiles(counted, people)
    respondents = counted[["survey_id", "response_id", "council_code", "age_band"]].merge(
        quintiles, on=["survey_id", "response_id"], how="left"
    )
    respondents.index = counted.index

    weight_frames, cell_frames, diagnostics = [], [], []
    for (survey_id, council_code), group in respondents.groupby(
        ["survey_id", "council_code"], sort=True, dropna=False
    ):
        weights, cells, summary = _weight_council(
            survey_id,
            council_code,
            group,
            people[people["council_code"] == council_code],
            settings,
        )
        weight_frames.append(weights)
        cell_frames.append(cells)
        diagnostics.append(summary)
    weights = (
        pd.concat(weight_frames).sort_index().reset_index(drop=True)
        if weight_frames
        else pd.DataFrame(columns=list(WEIGHT_COLUMNS))
    )
    cells = (
        pd.concat(cell_frames, ignore_index=True)
        if cell_frames
        else pd.DataFrame(columns=list(CELL_COLUMNS))
    )
    return PostStratification(
        weights=weights[list(WEIGHT_COLUMNS)],
        cells=cells,
        diagnostics=pd.DataFrame(diagnostics, columns=list(DIAGNOSTIC_COLUMNS)),
    )
