"""Counted responses, placing them, engagement reach and voice settings (profiles.voice.reach).

Synthetic, contract-shaped frames with made-up codes (S12900001, S01900001..).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from profiles.errors import ConfigError
from profiles.stats.disclosure import load_disclosure_rules
from profiles.voice.contract import REACH_COLUMNS, RESPONSE_COLUMNS
from profiles.voice.reach import (
    REACH_EXTRA_COLUMNS,
    VoiceSettings,
    assign_localities,
    counted_responses,
    engagement_reach,
    load_voice_settings,
)

COUNCIL = "S12900001"
OTHER_COUNCIL = "S12900002"
SURVEY = "ps2024"
Z95 = 1.959963984540054
RULES = load_disclosure_rules()


def dz(i: int) -> str:
    return f"S01{900000 + i:06d}"


BRIDGE = pd.DataFrame(
    {
        "council_code": COUNCIL,
        "locality_id": ["L1", "L1", "L2", "L2", "L2"],
        "dz_code": [dz(i) for i in range(1, 6)],
    }
)
# One data zone per quintile, equal populations split over two age bands.
POPULATION = pd.DataFrame(
    {
        "dz_code": [dz(i) for i in range(1, 6) for _ in range(2)],
        "simd_quintile": [q for q in range(1, 6) for _ in range(2)],
        "age_band": ["16-64", "65+"] * 5,
        "population": [700, 300] * 5,
    }
)


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
    frame = pd.DataFrame([{**defaults, **record} for record in records])
    extra = [c for c in frame.columns if c not in RESPONSE_COLUMNS]
    return frame[[*RESPONSE_COLUMNS, *extra]]


def many(prefix: str, count: int, **fields) -> list[dict]:
    return [{"response_id": f"{prefix}{i}", **fields} for i in range(count)]


def row(reach: pd.DataFrame, group_type: str, group_id: str) -> pd.Series:
    rows = reach[(reach["group_type"] == group_type) & (reach["group_id"] == group_id)]
    assert len(rows) == 1
    return rows.iloc[0]


def wilson(x: float, n: float, z: float = Z95) -> tuple[float, float]:
    p = x / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


# --- Settings ------------------------------------------------------------------------------


def test_shipped_voice_settings_match_the_documented_defaults():
    assert load_voice_settings() == VoiceSettings()
    assert VoiceSettings().under_heard_ratio == 0.8


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("reach:\n  under_heard: 0.8\n", "unknown setting"),
        ("reaches:\n  under_heard_ratio: 0.8\n", "unknown section"),
        ("summary:\n  quotes_per_cell: three\n", "summary.quotes_per_cell"),
        ("summary:\n  quote_skip_redacted: 1\n", "true or false"),
        ("weights:\n  weight_cap: 0.5\n", "weight_cap"),
    ],
)
def test_bad_voice_settings_name_the_file_and_field(tmp_path: Path, text: str, message: str):
    path = tmp_path / "voice.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as error:
        load_voice_settings(path)
    assert str(path) in str(error.value)


# --- Counting and placing ------------------------------------------------------------------


def test_counted_responses_drop_duplicates_and_keep_one_per_campaign():
    responses = responses_frame(
        [
            {"response_id": "a", "dz_code": dz(1)},
            {"response_id": "a-copy", "dz_code": dz(1), "is_duplicate": True},
            {"response_id": "c2", "dz_code": dz(2), "campaign_group": "campaign-1",
             "submitted_at": pd.Timestamp("2024-05-02")},
            {"response_id": "c1", "dz_code": dz(3), "campaign_group": "campaign-1",
             "submitted_at": pd.Timestamp("2024-05-02")},
            {"response_id": "c3", "dz_code": dz(4), "campaign_group": "campaign-1",
             "submitted_at": pd.Timestamp("2024-05-09")},
            {"response_id": "b", "dz_code": None, "is_duplicate": pd.NA},
        ]
    )  # fmt: skip
    counted = counted_responses(responses)
    # Input order kept; the campaign is its earliest member (tie on time: lower id).
    assert list(counted["response_id"]) == ["a", "c1", "b"]
    assert list(counted["represents"]) == [1, 3, 1]
    again = counted_responses(counted)
    pd.testing.assert_frame_equal(again, counted)


def test_assign_localities_by_zone_overlap_and_place_name():
    bridge = pd.concat(
        [BRIDGE, pd.DataFrame({"council_code": [COUNCIL], "locality_id": ["L3"],
                               "dz_code": [dz(2)]})],
        ignore_index=True,
    )  # fmt: skip
    responses = responses_frame(
        [
            {"response_id": "zone", "dz_code": dz(1)},
            {"response_id": "shared", "dz_code": dz(2)},
            {"response_id": "named", "dz_code": None, "locality_id": "L2"},
            {"response_id": "both", "dz_code": dz(1), "locality_id": "L3"},
            {"response_id": "none", "dz_code": None},
            {"response_id": "elsewhere", "dz_code": dz(99)},
        ]
    )
    placed = assign_localities(responses, bridge)
    got = sorted(zip(placed["response_id"], placed["locality_id"], strict=True))
    assert got == [
        ("both", "L3"),  # a chosen locality wins over the data zone
        ("named", "L2"),
        ("shared", "L1"),
        ("shared", "L3"),
        ("zone", "L1"),
    ]
    bad = responses_frame([{"response_id": "x", "dz_code": None, "locality_id": "L9"}])
    with pytest.raises(ValueError, match=r"'L9'.*not a locality of council"):
        assign_localities(bad, bridge)


def test_assign_localities_stays_within_the_response_council():
    bridge = pd.concat(
        [BRIDGE, pd.DataFrame({"council_code": [OTHER_COUNCIL], "locality_id": ["M1"],
                               "dz_code": [dz(50)]})],
        ignore_index=True,
    )  # fmt: skip
    responses = responses_frame([{"response_id": "visitor", "dz_code": dz(50)}])
    assert assign_localities(responses, bridge).empty


# --- Reach ---------------------------------------------------------------------------------


def reach_world() -> pd.DataFrame:
    """Quintile 1 gives 10% of placed responses for 20% of the population."""
    records = many("q1_", 20, dz_code=dz(1))
    for q in range(2, 6):
        records += many(f"q{q}_", 45, dz_code=dz(q))
    records += many("u", 10, dz_code=None, geocode_status="unmatched_blank")
    records += many("dup", 3, dz_code=dz(1), is_duplicate=True)
    return responses_frame(records)


def test_reach_rates_shares_and_under_heard_most_deprived():
    reach = engagement_reach(reach_world(), BRIDGE, POPULATION, rules=RULES)
    assert list(reach.columns) == [*REACH_COLUMNS, *REACH_EXTRA_COLUMNS]
    assert list(reach["group_type"]) == ["council"] + ["locality"] * 2 + ["simd_quintile"] * 5

    council = row(reach, "council", COUNCIL)
    assert council["responses"] == 210  # 200 placed + 10 unmatched; duplicates not counted
    assert council["population"] == 5000
    assert council["responses_per_1000"] == pytest.approx(42.0)
    assert council["representation_ratio"] == 1.0 and not council["under_heard"]

    q1 = row(reach, "simd_quintile", "1")
    assert q1["responses"] == 20 and q1["population"] == 1000
    assert q1["responses_per_1000"] == pytest.approx(20.0)
    assert q1["response_share"] == pytest.approx(0.10)
    assert q1["population_share"] == pytest.approx(0.20)
    assert q1["representation_ratio"] == pytest.approx(0.5)
    assert q1["under_heard"]
    lower, upper = wilson(20, 200)
    assert q1["representation_lower_ci"] == pytest.approx(lower / 0.2, abs=1e-12)
    assert q1["representation_upper_ci"] == pytest.approx(upper / 0.2, abs=1e-12)
    for q in "2345":
        other = row(reach, "simd_quintile", q)
        assert other["representation_ratio"] == pytest.approx(1.125)
        assert not other["under_heard"]

    l1 = row(reach, "locality", "L1")  # dz1 + dz2: 65 responses, 2,000 people
    assert (l1["responses"], l1["population"]) == (65, 2000)
    assert l1["responses_per_1000"] == pytest.approx(32.5)
    assert l1["representation_ratio"] == pytest.approx((65 / 200) / 0.4)  # 0.8125
    assert not l1["under_heard"]  # just above the 0.8 threshold
    strict = VoiceSettings(under_heard_ratio=0.85)
    reach = engagement_reach(reach_world(), BRIDGE, POPULATION, settings=strict, rules=RULES)
    assert row(reach, "locality", "L1")["under_heard"]


def test_reach_without_age_bands_and_with_zero_response_groups():
    population = POPULATION.groupby(["dz_code", "simd_quintile"], as_index=False)[
        "population"
    ].sum()
    responses = responses_frame(many("a", 30, dz_code=dz(3)) + many("b", 12, dz_code=dz(4)))
    reach = engagement_reach(responses, BRIDGE, population, rules=RULES)
    assert row(reach, "simd_quintile", "3")["responses"] == 30
    q1 = row(reach, "simd_quintile", "1")
    assert q1["responses"] == 0 and q1["representation_ratio"] == 0 and q1["under_heard"]
    assert row(reach, "locality", "L1")["responses"] == 0
    assert row(reach, "locality", "L2")["population"] == 3000


def test_reach_small_counts_are_hidden_with_a_complement():
    # 2 responses in quintile 1 / locality L1, 30 in L2 split over quintiles 3 and 4.
    responses = responses_frame(
        many("a", 2, dz_code=dz(1)) + many("b", 15, dz_code=dz(3)) + many("c", 15, dz_code=dz(4))
    )
    reach = engagement_reach(responses, BRIDGE, POPULATION, rules=RULES)
    visible = reach["responses"].dropna()
    assert not ((visible > 0) & (visible < 5)).any()
    for kind in ("locality", "simd_quintile"):
        hidden = reach.loc[reach["group_type"] == kind, "responses"].isna().sum()
        council_hidden = int(row(reach, "council", COUNCIL)["responses"] is pd.NA)
        assert hidden + council_hidden != 1, kind
    l1 = row(reach, "locality", "L1")
    assert pd.isna(l1["responses"]) and l1["suppressed"]
    derived = ["responses_per_1000", "response_share", "representation_ratio",
               "representation_lower_ci", "representation_upper_ci", "under_heard"]  # fmt: skip
    for column in derived:
        assert pd.isna(l1[column]), column
    assert l1["population"] == 2000  # population is public and never hidden
    # Quintile 1 (2) is hidden; its complement is another non-zero quintile, not a zero.
    assert pd.isna(row(reach, "simd_quintile", "1")["responses"])
    assert row(reach, "simd_quintile", "2")["responses"] == 0
    assert pd.isna(row(reach, "simd_quintile", "3")["responses"]) or pd.isna(
        row(reach, "simd_quintile", "4")["responses"]
    )
