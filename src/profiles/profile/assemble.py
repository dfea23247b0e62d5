"""Assembling the published locality profile: one long table and one readable wide summary.

What belongs here: putting deprivation and indicator measures into the `locality_profile`
contract shape (with council and Scotland values beside every row), applying disclosure
control to the people counts in it, and pivoting the headline measures listed in
`data/config/profile.yaml` into `locality_summary`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from profiles.profile.areas import AREA_KEY
from profiles.profile.indicators import METHOD_COUNT, METHOD_RATIO
from profiles.stats.disclosure import DisclosureRules, apply_mask, suppression_mask

LOCALITY_PROFILE_COLUMNS = (
    "council_code",
    "locality_id",
    "measure_id",
    "measure_label",
    "vintage",
    "value",
    "lower_ci",
    "upper_ci",
    "numerator",
    "denominator",
    "council_value",
    "scotland_value",
    "vs_council",
    "vs_scotland",
    "suppressed",
    "source",
)
EXTRA_COLUMNS = ("area_level", "unit", "method", "ci_method", "polarity", "note")


def _with_comparators(measures: pd.DataFrame) -> pd.DataFrame:
    """Council and Scotland values beside each row of a measure without intervals."""
    key = ["vintage", "measure_id"]
    council = measures[measures["area_level"] == "council"][["council_code", *key, "value"]]
    scotland = measures[measures["area_level"] == "scotland"][[*key, "value"]]
    out = measures.merge(
        council.rename(columns={"value": "council_value"}), on=["council_code", *key], how="left"
    ).merge(scotland.rename(columns={"value": "scotland_value"}), on=key, how="left")
    out["vs_council"] = "not_compared"
    out["vs_scotland"] = "not_compared"
    return out


def assemble_profile(
    deprivation: pd.DataFrame,
    change: pd.DataFrame,
    indicators: pd.DataFrame,
    rules: DisclosureRules,
) -> pd.DataFrame:
    """The long `locality_profile`: every area's measures, comparators and suppression."""
    area_facts = pd.concat([deprivation, change], ignore_index=True)
    area_facts = _with_comparators(area_facts)
    # Decided once per measure (a few hundred) rather than once per row (~400,000).
    codes, measure_ids = pd.factorize(area_facts["measure_id"])
    unit_of_measure = np.array(
        [
            "proportion_points"
            if measure.endswith("_change")
            else ("count" if "_count" in measure or measure == "simd_population" else "proportion")
            for measure in measure_ids
        ],
        dtype=object,
    )
    area_facts["unit"] = unit_of_measure[codes]
    area_facts["method"] = "count_of_data_zones_or_people"
    area_facts["ci_method"] = "none"
    area_facts["polarity"] = "not_applicable"
    area_facts["note"] = ""
    area_facts["lower_ci"] = np.nan
    area_facts["upper_ci"] = np.nan
    area_facts["suppressed"] = False

    indicator_rows = indicators.copy()
    indicator_rows["suppressed"] = False
    indicator_rows = _mask_people_counts(indicator_rows, rules)

    columns = [*LOCALITY_PROFILE_COLUMNS, *EXTRA_COLUMNS]
    profile = pd.concat([area_facts[columns], indicator_rows[columns]], ignore_index=True)
    profile = profile.sort_values(
        ["council_code", "locality_id", "vintage", "measure_id"], ignore_index=True
    )
    return profile[[*LOCALITY_PROFILE_COLUMNS, *EXTRA_COLUMNS]]


def _mask_people_counts(indicators: pd.DataFrame, rules: DisclosureRules) -> pd.DataFrame:
    """Disclosure control on numerators (people or events) of indicator rows.

    Localities and their council total form additive groups per vintage × measure, so a
    hidden locality count cannot be recovered from the council figure.
    """
    counted = (
        indicators["method"].isin([METHOD_RATIO, METHOD_COUNT]) & indicators["numerator"].notna()
    )
    table = indicators.loc[counted].reset_index(drop=True)
    if table.empty:
        return indicators
    table["is_total"] = table["area_level"] != "locality"
    table["group"] = table["council_code"] + "|" + table["vintage"] + "|" + table["measure_id"]
    mask = suppression_mask(table, ["numerator"], rules, total_row="is_total", group_keys=["group"])
    derived = [
        c
        for c in ("value", "lower_ci", "upper_ci", "vs_council", "vs_scotland", "denominator")
        if c in mask.columns
    ]
    mask[derived] = mask[derived].to_numpy() | mask[["numerator"]].to_numpy()
    masked = apply_mask(table, mask).drop(columns=["is_total", "group"])
    for column in ("vs_council", "vs_scotland"):
        masked[column] = masked[column].fillna("suppressed")
    return pd.concat([indicators.loc[~counted], masked], ignore_index=True)


def load_headline_measures(config_dir: Path) -> list[dict[str, str]]:
    document = yaml.safe_load((config_dir / "profile.yaml").read_text(encoding="utf-8"))
    return list(document["headline_measures"])


def summary_wide(
    profile: pd.DataFrame,
    dim_locality: pd.DataFrame,
    most_deprived: pd.DataFrame,
    headline: list[dict[str, str]],
) -> pd.DataFrame:
    """One readable row per locality (and council) × vintage with the headline measures."""
    ids = [item["measure_id"] for item in headline]
    names = {item["measure_id"]: item["column"] for item in headline}
    rows = profile[profile["measure_id"].isin(ids) & (profile["area_level"] != "scotland")]
    values = rows.pivot_table(
        index=[*AREA_KEY, "vintage"], columns="measure_id", values="value", aggfunc="first"
    ).rename(columns=names)
    council = (
        rows[rows["area_level"] == "locality"]
        .pivot_table(
            index=[*AREA_KEY, "vintage"],
            columns="measure_id",
            values="council_value",
            aggfunc="first",
        )
        .rename(columns={k: f"{v}_council" for k, v in names.items()})
    )
    scotland = rows.pivot_table(
        index=[*AREA_KEY, "vintage"],
        columns="measure_id",
        values="scotland_value",
        aggfunc="first",
    ).rename(columns={k: f"{v}_scotland" for k, v in names.items()})
    wide = values.join(council, how="left").join(scotland, how="left").reset_index()
    first = most_deprived[most_deprived["position"] == 1][
        [*AREA_KEY, "vintage", "dz_code", "dz_name", "rank"]
    ].rename(
        columns={
            "dz_code": "most_deprived_dz_code",
            "dz_name": "most_deprived_dz_name",
            "rank": "most_deprived_dz_rank",
        }
    )
    wide = wide.merge(first, on=[*AREA_KEY, "vintage"], how="left")
    names_frame = dim_locality[["council_code", "locality_id", "locality_name"]]
    wide = wide.merge(names_frame, on=["council_code", "locality_id"], how="left")
    wide["locality_name"] = wide["locality_name"].fillna(wide["locality_id"])
    ordered = [*AREA_KEY, "locality_name", "vintage"]
    rest = [c for c in wide.columns if c not in ordered]
    return wide[ordered + rest].sort_values(
        ["council_code", "area_level", "locality_id", "vintage"], ignore_index=True
    )
