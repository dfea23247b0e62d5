"""Disclosure control (profiles.stats.disclosure).

The central property, checked on random tables and on a real small-count table: after
masking, no visible count is in 1..threshold-1, no additive group (a row or column with a
published total) has exactly one hidden cell, and no hidden cell can be recovered exactly:
a linear programme over the published cells (non-negative counts, all totals) finds a
range of possible values for every hidden cell, never a single value.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from profiles.errors import ConfigError
from profiles.stats import (
    DisclosureRules,
    apply_mask,
    load_disclosure_rules,
    primary_suppression,
    suppression_mask,
)

RULES = DisclosureRules(threshold=5)


# --- Helpers: build a two-way table with totals and audit a mask independently ------------


def two_way_table(parts: np.ndarray) -> pd.DataFrame:
    """Rows r0.. plus a 'total' row; columns c0.. plus a 'total' column."""
    n_rows, n_columns = parts.shape
    columns = [f"c{j}" for j in range(n_columns)]
    frame = pd.DataFrame(parts, columns=columns, index=[f"r{i}" for i in range(n_rows)])
    frame["total"] = frame[columns].sum(axis=1)
    frame.loc["total"] = frame.sum(axis=0)
    frame["is_total"] = frame.index == "total"
    return frame


def two_way_mask(frame: pd.DataFrame, rules: DisclosureRules = RULES) -> pd.DataFrame:
    parts = [c for c in frame.columns if c.startswith("c")]
    return suppression_mask(
        frame,
        [*parts, "total"],
        rules,
        total_row="is_total",
        column_totals={"total": parts},
    )


def additive_groups(frame: pd.DataFrame) -> list[tuple[tuple[str, str], list[tuple[str, str]]]]:
    """(total cell, part cells) for every row and every column of a two_way_table."""
    rows = [r for r in frame.index if r != "total"]
    columns = [c for c in frame.columns if c.startswith("c")]
    groups = [((r, "total"), [(r, c) for c in columns]) for r in [*rows, "total"]]
    groups += [(("total", c), [(r, c) for r in rows]) for c in [*columns, "total"]]
    return groups


def recoverable_cells(frame: pd.DataFrame, mask: pd.DataFrame) -> list[tuple[str, str]]:
    """Hidden cells whose value an attacker can pin down from the published table."""
    groups = additive_groups(frame)
    hidden = sorted({cell for total, parts in groups for cell in [total, *parts] if mask.loc[cell]})
    if not hidden:
        return []
    position = {cell: k for k, cell in enumerate(hidden)}
    equations, right_hand_sides = [], []
    for total, parts in groups:
        row = np.zeros(len(hidden))
        known = 0.0
        for cell, sign in [(total, -1.0), *[(p, 1.0) for p in parts]]:
            if cell in position:
                row[position[cell]] += sign
            else:
                known += sign * float(frame.loc[cell])
        if row.any():
            equations.append(row)
            right_hand_sides.append(-known)
    pinned = []
    for cell, k in position.items():
        objective = np.zeros(len(hidden))
        objective[k] = 1.0
        low = linprog(objective, A_eq=equations, b_eq=right_hand_sides, bounds=(0, None))
        high = linprog(-objective, A_eq=equations, b_eq=right_hand_sides, bounds=(0, None))
        assert low.status == 0, "the published table must be consistent"
        if high.status == 0 and (-high.fun) - low.fun < 0.5:
            pinned.append(cell)
    return pinned


def assert_safe(frame: pd.DataFrame, mask: pd.DataFrame, threshold: int = 5) -> None:
    count_cells = [(r, c) for r in frame.index for c in frame.columns if c != "is_total"]
    for cell in count_cells:
        value = frame.loc[cell]
        if 0 < value < threshold:
            assert mask.loc[cell], f"small count {value} at {cell} is visible"
    for total, parts in additive_groups(frame):
        hidden = sum(bool(mask.loc[cell]) for cell in [total, *parts])
        assert hidden != 1, f"the group totalled at {total} has exactly one hidden cell"
    assert recoverable_cells(frame, mask) == []


# --- Rules and configuration --------------------------------------------------------------


def test_project_config_loads_with_documented_defaults():
    rules = load_disclosure_rules()
    assert rules.threshold == 5
    assert rules.suppress_zeros is False
    assert rules.secondary is True
    assert "lower_ci" in rules.derived_for("numerator", ["numerator", "lower_ci", "other"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("threshold: 0\n", "field 'threshold'"),
        ("threshold: five\n", "field 'threshold'"),
        ("suppress_zeros: sometimes\n", "field 'suppress_zeros'"),
        ("treshold: 5\n", "unknown setting(s) treshold"),
        ("derived_columns: {numerator: rate}\n", "field 'derived_columns'"),
    ],
)
def test_bad_config_names_file_and_field(tmp_path: Path, text: str, message: str):
    path = tmp_path / "disclosure.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_disclosure_rules(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_primary_rule_hides_one_to_four_and_zeros_only_when_configured():
    counts = [0, 1, 2, 3, 4, 5, 6, np.nan]
    assert list(primary_suppression(counts, RULES)) == [
        False,
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    with_zeros = DisclosureRules(threshold=5, suppress_zeros=True)
    assert primary_suppression(counts, with_zeros)[0]
    assert list(primary_suppression([9, 10], DisclosureRules(threshold=10))) == [True, False]
    with pytest.raises(ValueError, match="negative"):
        primary_suppression([-1], RULES)


# --- Specific examples --------------------------------------------------------------------


def test_one_locality_below_threshold_hides_the_next_smallest_locality():
    table = pd.DataFrame(
        {
            "area": ["A", "B", "C", "D", "Council"],
            "numerator": [3, 40, 12, 25, 80],
            "denominator": [200, 900, 450, 700, 2_250],
            "value": [1.5, 4.4, 2.7, 3.6, 3.6],
            "lower_ci": [0.3, 3.2, 1.4, 2.3, 2.8],
        }
    )
    table["is_total"] = table["area"] == "Council"
    mask = suppression_mask(
        table, ["numerator", "denominator"], load_disclosure_rules(), total_row="is_total"
    )
    # A's numerator (3) is primary; C's (12) is the smallest other, so it goes too.
    assert mask["numerator"].tolist() == [True, False, True, False, False]
    assert not mask["denominator"].any()
    # Derived columns go with the count, in the same rows only.
    assert mask["value"].tolist() == [True, False, True, False, False]
    assert mask["lower_ci"].tolist() == [True, False, True, False, False]
    assert not mask["area"].any()


def test_long_table_groups_by_indicator():
    table = pd.DataFrame(
        {
            "indicator": ["x", "x", "x", "y", "y", "y"],
            "area": ["A", "B", "Council"] * 2,
            "numerator": [2, 30, 32, 15, 30, 45],
        }
    )
    mask = suppression_mask(
        table,
        ["numerator"],
        RULES,
        total_row=table["area"] == "Council",
        group_keys=["indicator"],
    )
    # Indicator x: A (2) is primary and B is the only other part -> B hidden; y untouched.
    assert mask["numerator"].tolist() == [True, True, False, False, False, False]


def test_two_way_table_hand_example():
    parts = np.array([[2, 10, 7], [8, 9, 12], [6, 15, 20]])
    frame = two_way_table(parts)
    mask = two_way_mask(frame)
    hidden = {(r, c) for r in frame.index for c in frame.columns if mask.loc[r, c]}
    # r0c0 = 2 is primary. Column c0 is exposed first: r2c0 = 6 is its smallest other cell.
    # Row r0: 7 (r0c2). Column c2 is then exposed, and r2c2 (20) also fixes row r2, so it
    # beats the smaller r1c2 (12): a 2x2 rectangle, the least a 3x3 table allows.
    assert hidden == {("r0", "c0"), ("r0", "c2"), ("r2", "c0"), ("r2", "c2")}
    assert_safe(frame, mask)


def test_linear_audit_catches_a_cell_pinned_by_several_groups():
    # Two 2x2 blocks of small counts joined by one small "bridge" cell (r1, c2). Every row
    # and column holds two or more hidden cells, yet rows r0+r1 minus columns c0+c1 give
    # the bridge exactly, so the lone-cell rule alone is not enough.
    parts = np.full((5, 5), 50)
    for cell in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (1, 2)]:
        parts[cell] = 2
    frame = two_way_table(parts)
    primary_only = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    for r, c in zip(*np.nonzero(parts == 2), strict=True):
        primary_only.loc[f"r{r}", f"c{c}"] = True
    assert ("r1", "c2") in recoverable_cells(frame, primary_only)
    mask = two_way_mask(frame)
    assert mask.to_numpy().sum() > primary_only.to_numpy().sum()
    assert_safe(frame, mask)


def test_nested_row_groups_zones_localities_council():
    table = pd.DataFrame(
        {"count": [3, 20, 23, 30, 40, 70, 93]},
        index=["z1", "z2", "loc1", "z3", "z4", "loc2", "council"],
    )
    mask = suppression_mask(
        table,
        ["count"],
        RULES,
        row_groups=[
            ("loc1", ["z1", "z2"]),
            ("loc2", ["z3", "z4"]),
            ("council", ["loc1", "loc2"]),
        ],
    )
    hidden = set(table.index[mask["count"]])
    # z1 forces z2 (the only other zone); loc1 is now the sum of two hidden zones but still
    # published, so loc1 = z1 + z2 reveals nothing alone. Nothing else needs hiding.
    assert hidden == {"z1", "z2"}
    with pytest.raises(ValueError, match="not both"):
        suppression_mask(table, ["count"], RULES, row_groups=[], total_row=table["count"] > 90)


def test_zero_is_not_used_as_complement_when_a_positive_cell_exists():
    table = pd.DataFrame({"n": [1, 0, 9, 0, 10], "total": [False] * 4 + [True]})
    mask = suppression_mask(table, ["n"], RULES, total_row="total")
    assert mask["n"].tolist() == [True, False, True, False, False]


def test_missing_cells_do_not_count_as_protection():
    table = pd.DataFrame({"n": [2.0, np.nan, 30.0, 45.0], "total": [False] * 3 + [True]})
    mask = suppression_mask(table, ["n"], RULES, total_row="total")
    assert mask["n"].tolist() == [True, False, True, False]


def test_secondary_can_be_switched_off():
    table = pd.DataFrame({"n": [2, 30, 32], "total": [False, False, True]})
    rules = DisclosureRules(threshold=5, secondary=False)
    mask = suppression_mask(table, ["n"], rules, total_row="total")
    assert mask["n"].tolist() == [True, False, False]


def test_count_placeholder_in_derived_family():
    rules = DisclosureRules(derived_columns={"*": ("{count}_share",)})
    table = pd.DataFrame({"age_0_15": [3, 50], "age_0_15_share": [0.1, 0.4], "other": [1, 2]})
    mask = suppression_mask(table, ["age_0_15"], rules)
    assert mask["age_0_15_share"].tolist() == [True, False]
    assert not mask["other"].any()


def test_bad_structure_is_rejected():
    table = pd.DataFrame({"n": [2, 30, 32], "total": [False, True, True]})
    with pytest.raises(ValueError, match="2 total rows"):
        suppression_mask(table, ["n"], RULES, total_row="total")
    with pytest.raises(ValueError, match="not in the table"):
        suppression_mask(table, ["m"], RULES)
    with pytest.raises(ValueError, match="unique"):
        suppression_mask(table.set_index(pd.Index([0, 0, 1])), ["n"], RULES)
    with pytest.raises(ValueError, match="count_columns"):
        suppression_mask(table, ["n"], RULES, column_totals={"n": ["x"]})


# --- apply_mask ---------------------------------------------------------------------------


def test_apply_mask_blanks_cells_keeps_integers_and_flags_rows():
    table = pd.DataFrame(
        {
            "n": [3, 40, 12, 55],
            "value": [0.5, 4.0, 1.2, 5.5],
            "suppressed": [False, False, False, True],  # e.g. suppressed at source
            "is_total": [False, False, False, True],
        }
    )
    mask = suppression_mask(table, ["n"], load_disclosure_rules(), total_row="is_total")
    out = apply_mask(table, mask)
    assert str(out["n"].dtype) == "Int64"
    assert out["n"].isna().tolist() == [True, False, True, False]
    assert out["value"].isna().tolist() == [True, False, True, False]
    assert out["suppressed"].tolist() == [True, False, True, True]
    assert out.loc[1, "n"] == 40
    # The input is untouched.
    assert table["n"].tolist() == [3, 40, 12, 55]

    marked = apply_mask(
        table.drop(columns="suppressed"), mask.drop(columns="suppressed"), marker="*"
    )
    assert marked["n"].tolist() == ["*", 40, "*", 55]
    assert marked["suppressed"].tolist() == [True, False, True, False]


def test_apply_mask_checks_alignment():
    table = pd.DataFrame({"n": [1, 2]})
    with pytest.raises(ValueError, match="indexes"):
        apply_mask(table, pd.DataFrame({"n": [True]}))


# --- Property: random small-count tables --------------------------------------------------


small_tables = st.integers(min_value=1, max_value=5).flatmap(
    lambda n_rows: st.integers(min_value=1, max_value=5).flatmap(
        lambda n_columns: st.lists(
            st.lists(
                st.one_of(st.integers(0, 6), st.integers(0, 40)),
                min_size=n_columns,
                max_size=n_columns,
            ),
            min_size=n_rows,
            max_size=n_rows,
        )
    )
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_tables, st.integers(min_value=2, max_value=10))
def test_random_tables_publish_no_small_or_recoverable_cell(rows, threshold):
    frame = two_way_table(np.array(rows))
    mask = two_way_mask(frame, DisclosureRules(threshold=threshold))
    assert_safe(frame, mask, threshold)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=12))
def test_random_one_way_tables_with_total_row(counts):
    table = pd.DataFrame({"n": [*counts, sum(counts)], "total": [False] * len(counts) + [True]})
    mask = suppression_mask(table, ["n"], RULES, total_row="total")
    hidden = mask["n"].to_numpy()
    values = table["n"].to_numpy()
    assert not ((values > 0) & (values < 5) & ~hidden).any()
    assert hidden.sum() != 1
    out = apply_mask(table, mask)
    assert out["n"].dropna().between(1, 4).sum() == 0


# --- Real data: FixMyStreet reports by Dundee ward and category, 2019 -----------------------


@pytest.mark.real_data
def test_real_ward_by_category_table(real_data: Path):
    reports = pd.read_csv(
        real_data
        / "engagement"
        / "fixmystreet"
        / "fixmystreet_reports_dundee_dz2011_shefB_by_year_2007_2019.csv"
    )
    lookup = pd.read_csv(
        real_data / "lookups" / "Datazone2011lookup_2022-05-31.csv",
        encoding="cp1252",
        usecols=["DZ2011_Code", "MMWard_Code"],
    )
    year = reports[(reports["year"] == 2019) & (reports["shef_b_code"] != "ALL")]
    year = year.merge(lookup, left_on="dz2011_code", right_on="DZ2011_Code", validate="m:1")
    wide = year.pivot_table(
        index="MMWard_Code", columns="shef_b_code", values="reports", aggfunc="sum", fill_value=0
    )
    assert wide.shape == (8, 15)
    frame = two_way_table(wide.to_numpy())
    assert frame.loc["total", "total"] == 120
    small = ((frame.drop(columns="is_total") > 0) & (frame.drop(columns="is_total") < 5)).sum()
    assert small.sum() > 50  # a genuinely small-count table
    mask = two_way_mask(frame, load_disclosure_rules())
    assert_safe(frame, mask)
    published = apply_mask(frame, mask)
    assert published.loc["total", "total"] == 120
