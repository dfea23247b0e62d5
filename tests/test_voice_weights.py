"""Post-stratification weights (profiles.voice.weights).

Synthetic respondents and population (made-up codes). Expected weights are the classic
cell weight, population share / response share, computed here from the inputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from profiles.voice.contract import RESPONSE_COLUMNS
from profiles.voice.reach import VoiceSettings
from profiles.voice.weights import (
    CELL_COLUMNS,
    DIAGNOSTIC_COLUMNS,
    WEIGHT_COLUMNS,
    post_stratification_weights,
)

COUNCIL = "S12900001"
SURVEY = "ps2024"
LOOSE = VoiceSettings(weight_floor=0.0, weight_cap=100.0)


def dz(i: int) -> str:
    return f"S01{900000 + i:06d}"


def responses_frame(records: list[dict]) -> pd.DataFrame:
    defaults = {
        "survey_id": SURVEY,
        "submitted_at": pd.Timestamp("2024-05-01"),
        "age_band": None,
        "gender": None,
        "ward_code": None,
        "council_code": COUNCIL,
        "geocode_method": "postcode",
        "geocode_status": "matched",
        "is_duplicate": False,
        "campaign_group": None,
        "cells_set_aside": 0,
    }
    return pd.DataFrame([{**defaults, **record} for record in records])[list(RESPONSE_COLUMNS)]


def population_frame(people: dict[int, list[int]], bands: list[str]) -> pd.DataFrame:
    """One data zone per quintile q (dz(q)); `people[q]` is its population per band."""
    return pd.DataFrame(
        [
            (dz(q), q, band, count)
            for q, counts in people.items()
            for band, count in zip(bands, counts, strict=True)
        ],
        columns=["dz_code", "simd_quintile", "age_band", "population"],
    )


def respondents(counts: dict[tuple[int, str | None], int], prefix: str = "r") -> list[dict]:
    records = []
    for (q, band), count in counts.items():
        records += [
            {"response_id": f"{prefix}{q}_{band}_{i}", "dz_code": dz(q), "age_band": band}
            for i in range(count)
        ]
    return records


def with_cells(responses: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    frame = responses.merge(weights, on=["survey_id", "response_id"])
    frame["simd_quintile"] = frame["dz_code"].map({dz(q): q for q in range(1, 6)})
    return frame


TWO_BANDS = ["16-64", "65+"]
PEOPLE_TWO = {1: [600, 400], 2: [800, 200], 3: [500, 500], 4: [700, 300], 5: [900, 100]}
COUNTS_TWO = {
    (1, "16-64"): 10, (1, "65+"): 5, (2, "16-64"): 20, (2, "65+"): 8, (3, "16-64"): 6,
    (3, "65+"): 30, (4, "16-64"): 12, (4, "65+"): 12, (5, "16-64"): 40, (5, "65+"): 5,
}  # fmt: skip


def test_weights_reproduce_population_cells_exactly_without_collapsing():
    responses = responses_frame(respondents(COUNTS_TWO))
    population = population_frame(PEOPLE_TWO, TWO_BANDS)
    result = post_stratification_weights(responses, population, settings=LOOSE)
    assert list(result.weights.columns) == list(WEIGHT_COLUMNS)
    assert list(result.cells.columns) == list(CELL_COLUMNS)
    assert list(result.diagnostics.columns) == list(DIAGNOSTIC_COLUMNS)

    frame = with_cells(responses, result.weights)
    n, total_people = len(frame), population["population"].sum()
    assert n == 148 and total_people == 5000
    for (q, band), count in COUNTS_TWO.items():
        people = PEOPLE_TWO[q][TWO_BANDS.index(band)]
        in_cell = frame[(frame["simd_quintile"] == q) & (frame["age_band"] == band)]
        expected = (people / total_people) / (count / n)  # population share / response share
        np.testing.assert_allclose(in_cell["weight"], expected, rtol=1e-12)
        assert in_cell["weight"].sum() / frame["weight"].sum() == pytest.approx(
            people / total_people, rel=1e-12
        )
    assert frame["weight"].mean() == pytest.approx(1.0, rel=1e-12)
    assert set(frame["weight_basis"]) == {"simd_quintile_age"}
    diagnostics = result.diagnostics.iloc[0]
    assert diagnostics["cells"] == 10 and diagnostics["collapsed_cells"] == 0
    assert diagnostics["trimmed"] == 0 and diagnostics["unplaced"] == 0
    w = frame["weight"].to_numpy()
    assert diagnostics["kish_effective_n"] == pytest.approx(w.sum() ** 2 / (w**2).sum())
    assert diagnostics["design_effect"] == pytest.approx(n / diagnostics["kish_effective_n"])
    assert diagnostics["design_effect"] > 1


def test_sparse_cells_merge_age_bands_then_quintiles():
    bands = ["16-34", "35-64", "65+"]
    people = {q: [300, 500, 200] for q in range(1, 6)}
    counts = {(q, band): 8 for q in range(1, 5) for band in bands}
    counts[(1, "35-64")] = 2  # sparse: merges with 16-34 (8), not 65+ (9)
    counts[(1, "65+")] = 9
    counts.update({(5, "16-34"): 1, (5, "35-64"): 1, (5, "65+"): 1})  # sparse quintile
    responses = responses_frame(respondents(counts))
    population = population_frame(people, bands)
    result = post_stratification_weights(responses, population, settings=LOOSE)
    cells = result.cells.set_index("weight_cell")
    assert "q1|16-34+35-64" in cells.index and "q1|65+" in cells.index
    assert cells.loc["q1|16-34+35-64", "collapsed"]
    assert not cells.loc["q1|65+", "collapsed"]
    assert cells.loc["q1|16-34+35-64", "respondents"] == 10
    # Quintile 5 (3 respondents) joins quintile 4; its age cells are then dense enough.
    assert {"q4+5|16-34", "q4+5|35-64", "q4+5|65+"} <= set(cells.index)
    assert cells.loc["q4+5|65+", "respondents"] == 9
    # q1|16-34+35-64 and the three cells of q4+5 (each two quintiles × one band).
    assert result.diagnostics.iloc[0]["collapsed_cells"] == 4

    frame = with_cells(responses, result.weights)
    frame["age_band"] = frame["age_band"].astype(str)
    total = frame["weight"].sum()
    share = lambda mask: frame.loc[mask, "weight"].sum() / total  # noqa: E731
    # Merged cells hold their combined population share; margins of merged units are exact.
    q1 = frame["simd_quintile"] == 1
    assert share(q1 & frame["age_band"].isin(["16-34", "35-64"])) == pytest.approx(800 / 5000)
    assert share(q1 & (frame["age_band"] == "65+")) == pytest.approx(200 / 5000)
    assert share(frame["simd_quintile"].isin([4, 5])) == pytest.approx(2000 / 5000)
    for q in (1, 2, 3):
        assert share(frame["simd_quintile"] == q) == pytest.approx(1000 / 5000)


def test_age_collapses_to_quintile_only_when_every_band_is_sparse():
    people = {q: [500, 500] for q in range(1, 6)}
    counts = {(q, band): 10 for q in range(2, 6) for band in TWO_BANDS}
    counts.update({(1, "16-64"): 4, (1, "65+"): 3})
    responses = responses_frame(respondents(counts))
    result = post_stratification_weights(
        responses, population_frame(people, TWO_BANDS), settings=LOOSE
    )
    frame = with_cells(responses, result.weights)
    q1 = frame[frame["simd_quintile"] == 1]
    assert set(q1["weight_cell"]) == {"q1|all"}
    assert set(q1["weight_basis"]) == {"simd_quintile"}
    assert q1["weight"].sum() / frame["weight"].sum() == pytest.approx(0.2)
    assert result.cells.set_index("weight_cell").loc["q1|all", "collapsed"]


def test_unknown_ages_and_unplaced_responses():
    counts = dict(COUNTS_TWO)
    records = respondents(counts)
    records += [{"response_id": f"x{i}", "dz_code": dz(2), "age_band": None} for i in range(4)]
    records += [{"response_id": f"p{i}", "dz_code": dz(2), "age_band": "prefer not to say"}
                for i in range(2)]  # fmt: skip
    records += [{"response_id": f"u{i}", "dz_code": None, "age_band": "65+"} for i in range(7)]
    records += [{"response_id": "away", "dz_code": dz(77), "age_band": "65+"}]
    records += [{"response_id": "copy", "dz_code": dz(1), "age_band": "65+", "is_duplicate": True}]
    responses = responses_frame(records)
    population = population_frame(PEOPLE_TWO, TWO_BANDS)
    result = post_stratification_weights(responses, population, settings=LOOSE)
    weights = result.weights.set_index("response_id")
    assert "copy" not in weights.index
    for rid in ["u0", "u6", "away"]:
        assert weights.loc[rid, "weight"] == 1.0
        assert weights.loc[rid, "weight_basis"] == "unplaced"
    diagnostics = result.diagnostics.iloc[0]
    assert (diagnostics["unplaced"], diagnostics["unknown_age"]) == (8, 6)

    frame = with_cells(responses, result.weights)
    placed = frame[frame["weight_basis"] != "unplaced"]
    assert placed["weight"].mean() == pytest.approx(1.0)
    total = placed["weight"].sum()
    for q, people in PEOPLE_TWO.items():
        in_q = placed[placed["simd_quintile"] == q]
        assert in_q["weight"].sum() / total == pytest.approx(sum(people) / 5000, rel=1e-12)
    # Quintile 2: the 6 of unknown age get the quintile's average weight T/n; the 28 of
    # known age share the rest in proportion to the population of their band.
    q2 = placed[placed["simd_quintile"] == 2]
    target = len(placed) * 1000 / 5000
    unknown = q2[q2["weight_cell"] == "q2|unknown"]
    assert len(unknown) == 6
    np.testing.assert_allclose(unknown["weight"], target / 34, rtol=1e-12)
    young = q2[q2["age_band"] == "16-64"]
    assert young["weight"].sum() == pytest.approx(target * (28 / 34) * (800 / 1000))


def test_trimming_caps_weights_and_keeps_mean_one():
    people = {1: [4000, 4000], 2: [250, 250], 3: [250, 250], 4: [250, 250], 5: [250, 250]}
    counts = {(q, band): 20 for q in range(2, 6) for band in TWO_BANDS}
    counts.update({(1, "16-64"): 5, (1, "65+"): 5})
    responses = responses_frame(respondents(counts))
    settings = VoiceSettings(weight_floor=0.5, weight_cap=3.0)
    result = post_stratification_weights(
        responses, population_frame(people, TWO_BANDS), settings=settings
    )
    w = result.weights["weight"].to_numpy()
    assert w.mean() == pytest.approx(1.0)
    assert w.max() <= 3.0 + 1e-9 and w.min() >= 0.5 - 1e-9
    diagnostics = result.diagnostics.iloc[0]
    assert diagnostics["trimmed"] > 0
    cells = result.cells.set_index("weight_cell")
    # Untrimmed, quintile 1 would weigh (8000/10000) / (10/170) = 13.6.
    assert cells.loc["q1|16-64", "weight_before_trimming"] == pytest.approx(13.6)
    assert cells.loc["q1|16-64", "weight"] == pytest.approx(3.0)


def test_population_without_age_bands_gives_quintile_weights():
    population = pd.DataFrame(
        {"dz_code": [dz(q) for q in range(1, 6)], "simd_quintile": range(1, 6),
         "population": [1000, 1000, 1000, 1000, 6000]}
    )  # fmt: skip
    counts = {(q, "16-64"): 10 for q in range(1, 6)}
    responses = responses_frame(respondents(counts))
    result = post_stratification_weights(responses, population, settings=LOOSE)
    frame = with_cells(responses, result.weights)
    assert set(frame["weight_basis"]) == {"simd_quintile"}
    np.testing.assert_allclose(frame.loc[frame["simd_quintile"] == 5, "weight"], 0.6 / 0.2)
    np.testing.assert_allclose(frame.loc[frame["simd_quintile"] == 1, "weight"], 0.1 / 0.2)
    assert not result.diagnostics.iloc[0]["uses_age_bands"]


def test_bad_population_is_reported():
    responses = responses_frame(respondents({(1, "16-64"): 5}))
    bad = pd.DataFrame({"dz_code": [dz(1)], "simd_quintile": [6], "population": [10]})
    with pytest.raises(ValueError, match=r"simd_quintile must be 1\.\.5"):
        post_stratification_weights(responses, bad)
    mixed = pd.DataFrame(
        {"dz_code": [dz(1)] * 2, "simd_quintile": [1, 1], "age_band": ["all", "16-64"],
         "population": [10, 5]}
    )  # fmt: skip
    with pytest.raises(ValueError, match="mixes 'all'"):
        post_stratification_weights(responses, mixed)


def test_population_for_weights_bands_the_latest_single_years_of_data_zones():
    from profiles.voice.population import population_for_weights

    rows = [
        # area, year, sex, age label, people
        ("S01000001", 2022, "all", "16", 10),
        ("S01000001", 2022, "all", "24", 5),
        ("S01000001", 2022, "all", "25", 7),
        ("S01000001", 2022, "all", "90+", 3),
        ("S01000001", 2022, "male", "16", 99),  # one sex only: not used
        ("S01000001", 2022, "all", "16-24", 999),  # a band, not a single year: not used
        ("S01000001", 2021, "all", "16", 999),  # an older year: not used
        ("S02000001", 2022, "all", "16", 999),  # an intermediate zone: not used
        ("S01000002", 2022, "all", "30", 4),
        ("S01000003", 2022, "all", "12", 8),  # no band covers age 12
    ]
    population = pd.DataFrame(rows, columns=["area_code", "year", "sex", "age_band", "population"])
    quintiles = pd.DataFrame({"dz_code": ["S01000001", "S01000002"], "quintile": [1, 5]})
    dim = pd.DataFrame({"dz_code": ["S01000001", "S01000002"], "population": [30, 4]})
    frame = population_for_weights(population, dim, quintiles, ["16-24", "25+", "unknown"])
    got = {(r.dz_code, r.simd_quintile, r.age_band): r.population for r in frame.itertuples()}
    assert got == {
        ("S01000001", 1, "16-24"): 15.0,
        ("S01000001", 1, "25+"): 10.0,
        ("S01000002", 5, "25+"): 4.0,
    }
    totals = population_for_weights(population, dim, quintiles, [])
    assert list(totals.columns) == ["dz_code", "simd_quintile", "population"]
    assert totals["population"].tolist() == [30.0, 4.0]
