"""Indicator profiles (profiles.profile.indicators): how data zone cells add up to areas.

Two kinds of check: a small hand-worked example (ratio of sums, suppressed and missing
cells, counts, population-weighted means, each area level), and random data against the
definition written the plain way — merge every area with its data zones' cells and group
by area and indicator — so the matrix arithmetic cannot drift from what the docstring says.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from profiles.contract import SCOTLAND_CODE
from profiles.profile.areas import AREA_KEY, area_membership
from profiles.profile.indicators import (
    METHOD_COUNT,
    METHOD_MEAN,
    METHOD_RATIO,
    indicator_measures,
)

CATALOGUE = pd.DataFrame(
    {
        "indicator": ["income_count", "crime_count", "smr", "unused"],
        "label": ["Income deprived", "Recorded crimes", "Mortality ratio", "Unused"],
        "has_numerator": [True, False, False, True],
        "polarity": ["higher_is_worse", "higher_is_worse", "higher_is_worse", "not_applicable"],
    }
)


def _geography() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    dim_datazone = pd.DataFrame(
        {
            "dz_code": ["S01000001", "S01000002", "S01000003", "S01000004"],
            "council_code": ["S12000001", "S12000001", "S12000001", "S12000002"],
        }
    )
    bridge = pd.DataFrame(
        {
            "council_code": ["S12000001", "S12000001", "S12000001", "S12000002"],
            "locality_id": ["north", "north", "south", "only"],
            "dz_code": ["S01000001", "S01000002", "S01000003", "S01000004"],
        }
    )
    population = pd.DataFrame(
        {
            "dz_code": dim_datazone["dz_code"],
            "vintage": "2020v2",
            "total_population": [100.0, 300.0, 200.0, 400.0],
        }
    )
    return dim_datazone, bridge, population


def _cells() -> pd.DataFrame:
    rows = [
        # income: numerator/denominator published; zone 2 suppressed at source
        ("S01000001", "income_count", "proportion", 10.0, 10.0, 100.0, False),
        ("S01000002", "income_count", "proportion", None, None, None, True),
        ("S01000003", "income_count", "proportion", 30.0, 30.0, 200.0, False),
        ("S01000004", "income_count", "proportion", 40.0, 40.0, 400.0, False),
        # crimes: a count; zone 3 missing (not suppressed)
        ("S01000001", "crime_count", "count", 5.0, None, None, False),
        ("S01000002", "crime_count", "count", 7.0, None, None, False),
        ("S01000003", "crime_count", "count", None, None, None, False),
        ("S01000004", "crime_count", "count", 11.0, None, None, False),
        # a ratio published alone: population-weighted mean
        ("S01000001", "smr", "ratio", 80.0, None, None, False),
        ("S01000002", "smr", "ratio", 120.0, None, None, False),
        ("S01000003", "smr", "ratio", 100.0, None, None, False),
        ("S01000004", "smr", "ratio", 90.0, None, None, False),
    ]
    frame = pd.DataFrame(
        rows,
        columns=["dz_code", "indicator", "unit", "value", "numerator", "denominator", "suppressed"],
    )
    frame["vintage"] = "2020v2"
    return frame


def _measure(result: pd.DataFrame, locality_id: str, indicator: str) -> pd.Series:
    rows = result[(result["locality_id"] == locality_id) & (result["measure_id"] == indicator)]
    assert len(rows) == 1, (locality_id, indicator, rows)
    return rows.iloc[0]


def test_hand_worked_areas() -> None:
    dim_datazone, bridge, population = _geography()
    result = indicator_measures(_cells(), population, dim_datazone, bridge, CATALOGUE)

    north = _measure(result, "north", "income_count")
    # The suppressed zone is out of both sums: 10 / 100, not an average of rates.
    assert north["method"] == METHOD_RATIO
    assert north["value"] == pytest.approx(0.10)
    assert (north["numerator"], north["denominator"]) == (10.0, 100.0)
    assert (north["dz_total"], north["dz_used"], north["dz_suppressed"]) == (2, 1, 1)
    assert "1 data zone(s) suppressed" in north["note"]
    assert north["lower_ci"] < 0.10 < north["upper_ci"]

    council = _measure(result, "S12000001", "income_count")
    assert council["area_level"] == "council"
    assert council["value"] == pytest.approx(40 / 300)
    scotland = _measure(result, SCOTLAND_CODE, "income_count")
    assert scotland["value"] == pytest.approx(80 / 700)
    assert north["council_value"] == pytest.approx(40 / 300)
    assert north["scotland_value"] == pytest.approx(80 / 700)

    crimes = _measure(result, "south", "crime_count")
    # The only zone is missing: no value, counted as missing and not as suppressed.
    assert crimes["method"] == METHOD_COUNT
    assert np.isnan(crimes["value"])
    assert (crimes["dz_total"], crimes["dz_used"], crimes["dz_suppressed"]) == (1, 0, 0)
    assert _measure(result, "S12000001", "crime_count")["value"] == 12.0
    assert _measure(result, SCOTLAND_CODE, "crime_count")["value"] == 23.0

    smr = _measure(result, "north", "smr")
    assert smr["method"] == METHOD_MEAN
    assert smr["value"] == pytest.approx((80 * 100 + 120 * 300) / 400)
    assert np.isnan(smr["lower_ci"]) and smr["ci_method"] == "none"
    assert "no interval" in smr["measure_label"]

    # An indicator missing from the data adds no rows; one missing from the catalogue
    # is left out.
    assert set(result["measure_id"]) == {"income_count", "crime_count", "smr"}
    areas = result[AREA_KEY].drop_duplicates()
    assert len(areas) == 3 + 2 + 1  # localities, councils, Scotland


def _reference_sums(
    cells: pd.DataFrame,
    population: pd.DataFrame,
    dim_datazone: pd.DataFrame,
    bridge: pd.DataFrame,
) -> pd.DataFrame:
    """The sums every measure is built from, by merge and group-by."""
    membership = area_membership(dim_datazone, bridge)
    data = membership.merge(
        cells.merge(population, on=["dz_code", "vintage"], how="left"), on="dz_code"
    )
    has_value = data["value"].notna()
    ratio_ok = data["numerator"].notna() & data["denominator"].notna()
    weight = data["total_population"].fillna(0.0)
    data = data.assign(
        num=np.where(ratio_ok, data["numerator"], 0.0),
        den=np.where(ratio_ok, data["denominator"], 0.0),
        w_used=np.where(has_value, weight, 0.0),
        wx=np.where(has_value, data["value"] * weight, 0.0),
        suppressed_cell=data["suppressed"].astype(bool),
    )
    return (
        data.groupby([*AREA_KEY, "vintage", "indicator"])
        .agg(
            num=("num", "sum"),
            den=("den", "sum"),
            w_used=("w_used", "sum"),
            wx=("wx", "sum"),
            dz_total=("dz_code", "size"),
            dz_suppressed=("suppressed_cell", "sum"),
        )
        .reset_index()
    )


def test_random_areas_match_merge_and_group_by() -> None:
    rng = np.random.default_rng(7)
    n_zones = 400
    zones = [f"S01{n:06d}" for n in range(n_zones)]
    councils = rng.choice(["S12000001", "S12000002", "S12000003"], size=n_zones)
    dim_datazone = pd.DataFrame({"dz_code": zones, "council_code": councils})
    # Some zones belong to no locality; every other one to exactly one.
    in_locality = rng.random(n_zones) > 0.1
    bridge = pd.DataFrame(
        {
            "council_code": councils[in_locality],
            "locality_id": [f"{c}-{rng.integers(4)}" for c in councils[in_locality]],
            "dz_code": np.array(zones)[in_locality],
        }
    )
    population = pd.DataFrame(
        {
            "dz_code": zones * 2,
            "vintage": ["2016"] * n_zones + ["2020v2"] * n_zones,
            "total_population": rng.integers(300, 1500, size=2 * n_zones).astype(float),
        }
    )
    rows = []
    for vintage in ("2016", "2020v2"):
        for zone in zones:
            if rng.random() < 0.05:  # a zone without this vintage's income row
                continue
            denominator = float(rng.integers(50, 900))
            suppressed = bool(rng.random() < 0.1)
            numerator = None if suppressed else float(rng.integers(0, denominator))
            rows.append(
                (
                    zone,
                    vintage,
                    "income_count",
                    "proportion",
                    numerator,
                    numerator,
                    None if suppressed else denominator,
                    suppressed,
                )
            )
            value = None if rng.random() < 0.1 else float(rng.normal(100, 20))
            rows.append((zone, vintage, "smr", "ratio", value, None, None, False))
    cells = pd.DataFrame(
        rows,
        columns=[
            "dz_code", "vintage", "indicator", "unit", "value", "numerator", "denominator",
            "suppressed",
        ],
    )  # fmt: skip

    result = indicator_measures(cells, population, dim_datazone, bridge, CATALOGUE)
    expected = _reference_sums(cells, population, dim_datazone, bridge)
    merged = result.rename(columns={"measure_id": "indicator"}).merge(
        expected, on=[*AREA_KEY, "vintage", "indicator"], how="outer", indicator=True,
        suffixes=("", "_expected"),
    )  # fmt: skip
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    assert len(result) == len(expected)

    np.testing.assert_array_equal(merged["dz_total"], merged["dz_total_expected"])
    np.testing.assert_array_equal(merged["dz_suppressed"], merged["dz_suppressed_expected"])
    ratio = merged[merged["indicator"] == "income_count"]
    np.testing.assert_allclose(ratio["value"], ratio["num"] / ratio["den"], rtol=1e-12)
    np.testing.assert_array_equal(ratio["numerator"], ratio["num"])
    np.testing.assert_array_equal(ratio["denominator"], ratio["den"])
    mean = merged[merged["indicator"] == "smr"]
    np.testing.assert_allclose(mean["value"], mean["wx"] / mean["w_used"], rtol=1e-12)
    # Rows come sorted by area and indicator, as the profile mart is written.
    keys = [*AREA_KEY, "vintage", "measure_id"]
    assert result[keys].equals(result.sort_values(keys)[keys])
