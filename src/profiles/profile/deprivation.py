"""Deprivation profile: how much of an area is in Scotland's most deprived data zones.

What belongs here: SIMD's own area measures for localities, councils and Scotland, per
vintage and domain — counts and shares of data zones and of people in the 5/10/15/20% most
deprived nationally (local share), the area's share of Scotland's most deprived data zones
(national share), shares in each national quintile and decile, change between vintages as
change in shares (never rank differences), and each area's most deprived data zones.

People are counted with the population each SIMD vintage was built on, as SIMD does. These
are counts of areas, not samples, so they carry no confidence intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from profiles.profile.areas import AREA_KEY, area_membership, area_sums

CUTS = (5, 10, 15, 20)
"""Percent of most deprived data zones; cut c is vigintiles 1..c/5 (SIMD's cut points)."""


def _measure_frame(
    grouped: pd.DataFrame,
    measure_id: str,
    label: str,
    numerator: str,
    denominator: str,
    *,
    value: str = "share",
) -> pd.DataFrame:
    numerators = grouped[numerator].to_numpy(dtype=float)
    denominators = grouped[denominator].to_numpy(dtype=float)
    if value == "share":
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(denominators > 0, numerators / denominators, np.nan)
    else:
        values = numerators
    # Built from arrays in one go: ~400 measures, and column-by-column assignment into a
    # copied frame was most of the deprivation profile's time.
    return pd.DataFrame(
        {
            **{key: grouped[key].to_numpy() for key in (*AREA_KEY, "vintage")},
            "measure_id": measure_id,
            "measure_label": label,
            "numerator": numerators,
            "denominator": denominators,
            "value": values,
        }
    )


def deprivation_measures(
    fct_simd: pd.DataFrame,
    simd_population: pd.DataFrame,
    dim_datazone: pd.DataFrame,
    bridge: pd.DataFrame,
    *,
    councils: list[str] | None = None,
) -> pd.DataFrame:
    """Long deprivation measures for every locality in `bridge`, their councils and Scotland.

    Returns columns: area_level, council_code, locality_id, vintage, measure_id,
    measure_label, value, numerator, denominator, source.
    """
    membership = area_membership(dim_datazone, bridge, councils=councils)
    population = simd_population[["dz_code", "vintage", "total_population"]]
    zones = fct_simd.merge(population, on=["dz_code", "vintage"], how="left")
    people = pd.to_numeric(zones["total_population"]).fillna(0.0).to_numpy(dtype=float)
    columns: dict[str, np.ndarray] = {"dz_total": np.ones(len(zones)), "pop_total": people}
    for cut in CUTS:
        in_cut = (zones["vigintile"] <= cut // 5).to_numpy(dtype=bool)
        columns[f"dz_in_{cut}"] = in_cut.astype(float)
        columns[f"pop_in_{cut}"] = np.where(in_cut, people, 0.0)
    for band, count in (("quintile", 5), ("decile", 10)):
        for k in range(1, count + 1):
            hit = (zones[band] == k).to_numpy(dtype=bool)
            columns[f"dz_{band}_{k}"] = hit.astype(float)
            columns[f"pop_{band}_{k}"] = np.where(hit, people, 0.0)
    cells = pd.concat(
        [zones[["dz_code", "vintage", "domain"]].reset_index(drop=True), pd.DataFrame(columns)],
        axis=1,
    )
    grouped = area_sums(
        membership,
        cells,
        keys=["vintage", "domain"],
        summed=tuple(columns),
        counted=tuple(name for name in columns if name.startswith("dz_")),
    )
    national = grouped[grouped["area_level"] == "scotland"].set_index(["vintage", "domain"])

    frames: list[pd.DataFrame] = []
    for domain, per_domain in grouped.groupby("domain", sort=True):
        domain_label = "SIMD" if domain == "overall" else f"SIMD {domain} domain"
        for cut in CUTS:
            tag = f"most_deprived_{cut}"
            where = f"the {cut}% most deprived data zones in Scotland ({domain_label})"
            scotland_count = national.loc[
                list(zip(per_domain["vintage"], [domain] * len(per_domain), strict=True)),
                f"dz_in_{cut}",
            ].to_numpy()
            with_national = per_domain.assign(national_dz_in_cut=scotland_count)
            frames += [
                _measure_frame(
                    per_domain,
                    f"simd_{domain}_dz_count_{tag}",
                    f"Data zones in {where}",
                    f"dz_in_{cut}",
                    "dz_total",
                    value="count",
                ),
                _measure_frame(
                    per_domain,
                    f"simd_{domain}_dz_share_{tag}",
                    f"Share of the area's data zones in {where} (local share)",
                    f"dz_in_{cut}",
                    "dz_total",
                ),
                _measure_frame(
                    per_domain,
                    f"simd_{domain}_pop_count_{tag}",
                    f"People living in {where}",
                    f"pop_in_{cut}",
                    "pop_total",
                    value="count",
                ),
                _measure_frame(
                    per_domain,
                    f"simd_{domain}_pop_share_{tag}",
                    f"Share of the area's people living in {where}",
                    f"pop_in_{cut}",
                    "pop_total",
                ),
                _measure_frame(
                    with_national,
                    f"simd_{domain}_national_share_{tag}",
                    f"Share of {where} that are in the area (national share)",
                    f"dz_in_{cut}",
                    "national_dz_in_cut",
                ),
            ]
        for band, count in (("quintile", 5), ("decile", 10)):
            for k in range(1, count + 1):
                frames += [
                    _measure_frame(
                        per_domain,
                        f"simd_{domain}_dz_share_{band}_{k}",
                        f"Share of data zones in national {domain_label} {band} {k}",
                        f"dz_{band}_{k}",
                        "dz_total",
                    ),
                    _measure_frame(
                        per_domain,
                        f"simd_{domain}_pop_share_{band}_{k}",
                        f"Share of people in national {domain_label} {band} {k}",
                        f"pop_{band}_{k}",
                        "pop_total",
                    ),
                ]
    totals = grouped[grouped["domain"] == "overall"]
    frames += [
        _measure_frame(
            totals, "simd_dz_count", "Data zones", "dz_total", "dz_total", value="count"
        ),
        _measure_frame(
            totals,
            "simd_population",
            "Population SIMD was built on",
            "pop_total",
            "pop_total",
            value="count",
        ),
    ]
    measures = pd.concat(frames, ignore_index=True)
    measures["source"] = "SIMD " + measures["vintage"]
    return measures


def share_change(measures: pd.DataFrame, earlier: str, later: str) -> pd.DataFrame:
    """Change between two vintages in every share measure, in proportion points.

    Only shares are compared: ranks of different vintages are not comparable.
    """
    shares = measures[measures["measure_id"].str.contains("_share_")]
    keys = [*AREA_KEY, "measure_id"]
    before = shares[shares["vintage"] == earlier].set_index(keys)
    after = shares[shares["vintage"] == later].set_index(keys)
    joined = before[["value", "measure_label"]].join(
        after[["value"]], how="inner", lsuffix="_earlier", rsuffix="_later"
    )
    change = joined.reset_index()
    change["vintage"] = f"{earlier}_to_{later}"
    change["measure_id"] = change["measure_id"] + "_change"
    change["measure_label"] = (
        "Change from SIMD "
        + earlier
        + " to "
        + later
        + " in: "
        + change["measure_label"]
        + " (proportion points)"
    )
    change["value"] = change["value_later"] - change["value_earlier"]
    change["numerator"] = np.nan
    change["denominator"] = np.nan
    change["source"] = f"SIMD {earlier} and {later}"
    return change[
        [
            *AREA_KEY,
            "vintage",
            "measure_id",
            "measure_label",
            "value",
            "numerator",
            "denominator",
            "source",
        ]
    ]


def most_deprived_zones(
    fct_simd: pd.DataFrame,
    dim_datazone: pd.DataFrame,
    bridge: pd.DataFrame,
    *,
    per_area: int = 5,
    councils: list[str] | None = None,
) -> pd.DataFrame:
    """Each locality's and council's `per_area` most deprived data zones (overall SIMD)."""
    membership = area_membership(dim_datazone, bridge, councils=councils, include_scotland=False)
    overall = fct_simd[fct_simd["domain"] == "overall"][["dz_code", "vintage", "rank", "decile"]]
    data = membership.merge(overall, on="dz_code").merge(
        dim_datazone[["dz_code", "dz_name", "ward_name"]], on="dz_code", how="left"
    )
    data = data.sort_values([*AREA_KEY, "vintage", "rank", "dz_code"])
    data["position"] = data.groupby([*AREA_KEY, "vintage"]).cumcount() + 1
    top = data[data["position"] <= per_area]
    return top[
        [*AREA_KEY, "vintage", "position", "dz_code", "dz_name", "ward_name", "rank", "decile"]
    ].reset_index(drop=True)
