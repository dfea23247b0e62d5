"""A realistic, synthetic `PackData` for the export tests (no real rows, made-up numbers).

What belongs here: building one council's pack the way the warehouse would. Geography is
synthetic (Voronoi cells of 180 random points in an ellipse on the British National Grid
near x 340000, y 731000, grouped into 8 wards = 8 localities) and 300 data zones of a
second council make Scotland differ from the council. The profile marts are computed by
the project's own functions (`profiles.profile`), so their shapes are exactly the
warehouse's; the community-voice and priority marts are made by hand in their contract
shapes, with suppressed cells, and with quotes that try formula injection.
"""

from __future__ import annotations

import json
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from profiles.exports.data import (
    BNG,
    PRIORITY_COLUMNS,
    REACH_ALL_COLUMNS,
    SOURCE_FILE_COLUMNS,
    THEME_SUMMARY_ALL_COLUMNS,
    PackData,
    load_theme_labels,
)
from profiles.profile import assemble, deprivation, indicators, inequality
from profiles.settings import CONFIG_DIR
from profiles.simd import load_indicator_catalogue
from profiles.stats.disclosure import (
    DisclosureRules,
    apply_mask,
    load_disclosure_rules,
    suppression_mask,
)
from profiles.voice.contract import PLACE_STANDARD_THEMES

COUNCIL = "S12000901"
COUNCIL_NAME = "Demo City"
OTHER_COUNCIL = "S12000902"
SURVEY = "place_standard_2024"
VINTAGES = ("2016", "2020v2")
DOMAINS = ("overall", "income", "health")
WARD_NAMES = (
    "Northfield",
    "Eastmuir",
    "Westgate",
    "Harbourside",
    "Kirkton Braes",
    "Southbank",
    "Glenview",
    "Castlehill",
)
HOSTILE_NAMES = {
    "eastmuir": "../../etc",
    "westgate": "A/B: C*?",
    "southbank": "=SUM(1+1)*cmd|' /C calc'!A0",
}
SMALL_LOCALITY = "castlehill"
"""The locality whose survey responses are too few to publish (suppressed cells)."""

INJECTION_QUOTES = (
    '=HYPERLINK("http://x","click")',
    "+44 1382 000000 is the number to ring about the broken lights",
    "@SUM(A1) the lane behind the shops is dark at night",
)
"""Quotes that a spreadsheet would run as formulas if they were not neutralised."""

N_COUNCIL_DZ = 180
N_OTHER_DZ = 300


def _geography(rng: np.random.Generator) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Data zone polygons (Voronoi cells in an ellipse) and each one's ward index."""
    centre_x, centre_y, radius_x, radius_y = 340_000.0, 731_000.0, 6_000.0, 3_200.0
    angle = rng.uniform(0, 2 * np.pi, N_COUNCIL_DZ)
    distance = np.sqrt(rng.uniform(0, 1, N_COUNCIL_DZ))
    x = centre_x + radius_x * distance * np.cos(angle)
    y = centre_y + radius_y * distance * np.sin(angle)
    points = shapely.points(x, y)
    boundary = shapely.affinity.scale(
        shapely.Point(centre_x, centre_y).buffer(1.0, quad_segs=32),
        radius_x * 1.05,
        radius_y * 1.05,
    )
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points)))
    # voronoi_polygons does not keep input order: match each cell to its point.
    order = np.array([int(np.flatnonzero(shapely.contains(cell, points))[0]) for cell in cells])
    polygons = np.empty(N_COUNCIL_DZ, dtype=object)
    polygons[order] = shapely.intersection(cells, boundary)
    # Wards: 8 k-means clusters of the points, so each ward is a contiguous patch.
    seeds = np.column_stack([x, y])[rng.choice(N_COUNCIL_DZ, 8, replace=False)]
    xy = np.column_stack([x, y])
    for _ in range(20):
        ward = np.argmin(((xy[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2), axis=1)
        seeds = np.array([xy[ward == k].mean(axis=0) for k in range(8)])
    # Name wards west to east so the layout is predictable.
    west_to_east = np.argsort(seeds[:, 0])
    rename = np.empty(8, dtype=int)
    rename[west_to_east] = np.arange(8)
    frame = gpd.GeoDataFrame({"x": x, "y": y}, geometry=list(polygons), crs=BNG)
    return frame, rename[ward]


def _dim_datazone(rng: np.random.Generator, ward: np.ndarray) -> pd.DataFrame:
    council = pd.DataFrame(
        {
            "dz_code": [f"S0110{i:04d}" for i in range(1, N_COUNCIL_DZ + 1)],
            "dz_name": [f"{WARD_NAMES[w]} {i:02d}" for i, w in enumerate(ward, start=1)],
            "iz_code": [f"S0210{w:04d}" for w in ward],
            "iz_name": [WARD_NAMES[w] for w in ward],
            "ward_code": [f"S1300{w + 1:04d}" for w in ward],
            "ward_name": [WARD_NAMES[w] for w in ward],
            "council_code": COUNCIL,
            "council_name": COUNCIL_NAME,
        }
    )
    other = pd.DataFrame(
        {
            "dz_code": [f"S0120{i:04d}" for i in range(1, N_OTHER_DZ + 1)],
            "dz_name": [f"Elsewhere {i:03d}" for i in range(1, N_OTHER_DZ + 1)],
            "iz_code": "S02200001",
            "iz_name": "Elsewhere",
            "ward_code": "S13009001",
            "ward_name": "Elsewhere",
            "council_code": OTHER_COUNCIL,
            "council_name": "Other Council",
        }
    )
    frame = pd.concat([council, other], ignore_index=True)
    frame["urban_rural_6"] = 1
    frame["population"] = rng.integers(450, 1100, len(frame))
    frame["population_source"] = "NRS mid-2021"
    return frame


def _simd(rng: np.random.Generator, dims: pd.DataFrame, x: np.ndarray) -> pd.DataFrame:
    """Ranks with a west (deprived) to east (affluent) gradient inside the council."""
    n = len(dims)
    rows = []
    for vintage in VINTAGES:
        for domain in DOMAINS:
            score = np.concatenate(
                [
                    (x - x.min()) / (x.max() - x.min()) + rng.normal(0, 0.25, N_COUNCIL_DZ),
                    rng.uniform(0.1, 1.3, N_OTHER_DZ),
                ]
            )
            rank = score.argsort().argsort() + 1.0
            rows.append(
                pd.DataFrame(
                    {
                        "dz_code": dims["dz_code"],
                        "vintage": vintage,
                        "domain": domain,
                        "rank": rank,
                        "decile": np.ceil(rank / n * 10).astype(int),
                        "quintile": np.ceil(rank / n * 5).astype(int),
                        "vigintile": np.ceil(rank / n * 20).astype(int),
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def _indicators(
    rng: np.random.Generator, dims: pd.DataFrame, simd: pd.DataFrame, bridge: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """fct_indicator rows (a few indicators of each method) and simd_population."""
    small = set(bridge.loc[bridge["locality_id"] == SMALL_LOCALITY, "dz_code"])
    rows, population_rows = [], []
    for vintage in VINTAGES:
        overall = simd[(simd["domain"] == "overall") & (simd["vintage"] == vintage)]
        deprived = 1 - overall.set_index("dz_code")["rank"].reindex(dims["dz_code"]) / len(dims)
        people = dims["population"].to_numpy() + rng.integers(-40, 40, len(dims))
        population_rows.append(
            pd.DataFrame(
                {
                    "dz_code": dims["dz_code"],
                    "vintage": vintage,
                    "total_population": people.astype(float),
                }
            )
        )
        working = np.round(people * 0.62)
        income = rng.binomial(people, 0.04 + 0.30 * deprived.to_numpy())
        employment = rng.binomial(working.astype(int), 0.03 + 0.22 * deprived.to_numpy())
        heating_rate = np.where(dims["dz_code"].isin(small), 0.0004, 0.006)
        heating = rng.binomial(people, heating_rate)
        crime = rng.poisson(people * (0.01 + 0.05 * deprived.to_numpy()))
        smr = np.round(60 + 90 * deprived.to_numpy() + rng.normal(0, 8, len(dims)))
        drive = np.round(rng.uniform(2.0, 9.0, len(dims)), 2)
        base = {"dz_code": dims["dz_code"], "vintage": vintage, "suppressed": False}
        rows += [
            pd.DataFrame(
                {
                    **base,
                    "indicator": "income_rate",
                    "value": income / people,
                    "numerator": income,
                    "denominator": people,
                    "unit": "proportion",
                }
            ),
            pd.DataFrame(
                {
                    **base,
                    "indicator": "income_count",
                    "value": income.astype(float),
                    "numerator": np.nan,
                    "denominator": np.nan,
                    "unit": "count",
                }
            ),
            pd.DataFrame(
                {
                    **base,
                    "indicator": "employment_rate",
                    "value": employment / working,
                    "numerator": employment,
                    "denominator": working,
                    "unit": "proportion",
                }
            ),
            pd.DataFrame(
                {
                    **base,
                    "indicator": "nocentralheating_rate",
                    "value": heating / people,
                    "numerator": heating,
                    "denominator": people,
                    "unit": "proportion",
                }
            ),
            pd.DataFrame(
                {
                    **base,
                    "indicator": "crime_rate",
                    "value": crime / people * 10_000,
                    "numerator": crime if vintage != "2016" else np.nan,
                    "denominator": people if vintage != "2016" else np.nan,
                    "unit": "rate_per_10000",
                }
            ),
            pd.DataFrame(
                {
                    **base,
                    "indicator": "smr",
                    "value": smr,
                    "numerator": np.nan,
                    "denominator": np.nan,
                    "unit": "ratio",
                }
            ),
            pd.DataFrame(
                {
                    **base,
                    "indicator": "drive_gp",
                    "value": drive,
                    "numerator": np.nan,
                    "denominator": np.nan,
                    "unit": "minutes",
                }
            ),
        ]
    fct = pd.concat(rows, ignore_index=True)
    fct[["numerator", "denominator"]] = fct[["numerator", "denominator"]].astype(float)
    return fct, pd.concat(population_rows, ignore_index=True)


def _theme_summary(
    rng: np.random.Generator, localities: pd.DataFrame, rules: DisclosureRules
) -> pd.DataFrame:
    rows = []
    locality_ids = list(localities["locality_id"])
    base_mean = {lid: 3.2 + 0.35 * i for i, lid in enumerate(locality_ids)}
    theme_effect = dict(zip(PLACE_STANDARD_THEMES, rng.normal(0, 0.6, 14), strict=True))
    respondents = {
        lid: (3 if lid == SMALL_LOCALITY else int(rng.integers(35, 90))) for lid in locality_ids
    }
    commenters = {lid: max(1, int(n * 0.6)) for lid, n in respondents.items()}
    respondents[COUNCIL] = sum(respondents.values())
    commenters[COUNCIL] = sum(commenters.values())
    base_mean[COUNCIL] = float(np.mean(list(base_mean.values())))
    # Counts are people, the same in both weightings; the council's are its localities' sums.
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for theme in PLACE_STANDARD_THEMES:
        for area in locality_ids:
            mean = float(np.clip(base_mean[area] + theme_effect[theme], 1, 7))
            share = float(np.clip((5.6 - mean) / 4 + rng.normal(0, 0.05), 0.03, 0.9))
            counts[area, theme] = (
                round(respondents[area] * share),
                round(commenters[area] * rng.uniform(0.05, 0.4)),
            )
        if theme == "feeling_safe":  # the cell that carries the injection quotes is open
            counts["northfield", theme] = (
                round(respondents["northfield"] * 0.4),
                round(commenters["northfield"] * 0.5),
            )
        counts[COUNCIL, theme] = (
            sum(counts[a, theme][0] for a in locality_ids),
            sum(counts[a, theme][1] for a in locality_ids),
        )
    for weighting in ("unweighted", "weighted"):
        for area in [COUNCIL, *locality_ids]:
            for theme in PLACE_STANDARD_THEMES:
                n = respondents[area]
                mean = float(
                    np.clip(
                        base_mean[area]
                        + theme_effect[theme]
                        + (0.1 if weighting == "weighted" else 0.0),
                        1,
                        7,
                    )
                )
                half = 1.96 * 1.4 / np.sqrt(n)
                low, mentions = counts[area, theme]
                comments = commenters[area]
                share = mentions / comments
                quotes: list[str] = []
                if area == "northfield" and theme == "feeling_safe":
                    quotes = list(INJECTION_QUOTES)
                elif mentions >= 5:
                    quotes = [
                        f"The {theme.replace('_', ' ')} round here could be a lot better "
                        f"for families ({area}).",
                        "People look out for each other but nobody listens to us.",
                    ]
                rows.append(
                    {
                        "survey_id": SURVEY,
                        "council_code": COUNCIL,
                        "locality_id": area,
                        "area_level": "council" if area == COUNCIL else "locality",
                        "theme_id": theme,
                        "weighting": weighting,
                        "responses": n,
                        "mean_score": mean,
                        "mean_score_lower_ci": max(1.0, mean - half),
                        "mean_score_upper_ci": min(7.0, mean + half),
                        "low_score_count": low,
                        "low_score_share": low / n,
                        "low_score_lower_ci": max(0.0, low / n - 0.1),
                        "low_score_upper_ci": min(1.0, low / n + 0.1),
                        "comments": comments,
                        "mentions": mentions,
                        "mention_share": share,
                        "mention_lower_ci": max(0.0, share - 0.08),
                        "mention_upper_ci": min(1.0, share + 0.08),
                        "quotes": json.dumps(quotes, ensure_ascii=False),
                        "suppressed": False,
                        "effective_n": float(n) if weighting == "unweighted" else n * 0.83,
                        "withheld_reason": None,
                    }
                )
    frame = pd.DataFrame(rows, columns=list(THEME_SUMMARY_ALL_COLUMNS))
    return _mask_theme_summary(frame, rules)


_VOICE_DERIVED = {
    "responses": (
        "mean_score",
        "mean_score_lower_ci",
        "mean_score_upper_ci",
        "low_score_share",
        "low_score_lower_ci",
        "low_score_upper_ci",
        "effective_n",
    ),
    "low_score_count": ("low_score_share", "low_score_lower_ci", "low_score_upper_ci"),
    "mentions": ("mention_share", "mention_lower_ci", "mention_upper_ci", "quotes"),
    "comments": ("mention_share", "mention_lower_ci", "mention_upper_ci", "quotes"),
}


def _mask_theme_summary(frame: pd.DataFrame, rules: DisclosureRules) -> pd.DataFrame:
    """Disclosure control as the voice summary applies it, with the project's own mask.

    Council rows are the totals of their localities per theme; the same mask covers both
    weightings (counts are unweighted people in both); comments are masked per area.
    """
    rules = replace(rules, derived_columns={**rules.derived_columns, **_VOICE_DERIVED})
    first = frame[frame["weighting"] == "unweighted"].reset_index(drop=True)
    first["is_council"] = first["area_level"] == "council"
    mask = suppression_mask(
        first,
        ["responses", "low_score_count", "mentions"],
        rules,
        total_row="is_council",
        group_keys=["survey_id", "council_code", "theme_id"],
    )
    areas = first.drop_duplicates("locality_id")[
        ["survey_id", "council_code", "locality_id", "is_council", "comments"]
    ]
    areas = areas.reset_index(drop=True)
    comment_mask = suppression_mask(
        areas, ["comments"], rules, total_row="is_council", group_keys=["survey_id", "council_code"]
    )
    hidden_comments = first["locality_id"].map(
        dict(zip(areas["locality_id"], comment_mask["comments"], strict=True))
    )
    for column in ("comments", *_VOICE_DERIVED["comments"]):
        mask[column] = mask[column].to_numpy() | hidden_comments.to_numpy()
    mask = mask.drop(columns=["is_council"])
    both = pd.concat([mask, mask], ignore_index=True)  # unweighted block, then weighted
    masked = apply_mask(frame.reset_index(drop=True), both)
    masked.loc[masked["suppressed"], "withheld_reason"] = "disclosure"
    # Quotes come only from cells with nothing withheld.
    masked.loc[masked["suppressed"], "quotes"] = None
    for column in ("responses", "low_score_count", "comments", "mentions"):
        masked[column] = masked[column].astype("Int64")
    return masked[list(THEME_SUMMARY_ALL_COLUMNS)]


def _reach(
    rng: np.random.Generator,
    theme_summary: pd.DataFrame,
    localities: pd.DataFrame,
    dims: pd.DataFrame,
    bridge: pd.DataFrame,
) -> pd.DataFrame:
    council_rows = theme_summary[(theme_summary["area_level"] == "council")]
    total = int(council_rows["responses"].max())
    people = dims.set_index("dz_code")["population"]
    council_population = int(people[(dims["council_code"] == COUNCIL).to_numpy()].sum())
    rows = [
        {
            "group_type": "council",
            "group_id": COUNCIL,
            "responses": total,
            "population": council_population,
        }
    ]
    for lid in localities["locality_id"]:
        zones = bridge.loc[bridge["locality_id"] == lid, "dz_code"]
        responses = 3 if lid == SMALL_LOCALITY else int(rng.integers(35, 90))
        rows.append(
            {
                "group_type": "locality",
                "group_id": lid,
                "responses": responses,
                "population": int(people.reindex(zones).sum()),
            }
        )
    shares = np.array([0.12, 0.16, 0.2, 0.24, 0.28])
    quintile_responses = np.round(shares * total).astype(int)
    quintile_people = np.round(np.array([0.26, 0.22, 0.2, 0.17, 0.15]) * council_population)
    for k in range(5):
        rows.append(
            {
                "group_type": "simd_quintile",
                "group_id": str(k + 1),
                "responses": int(quintile_responses[k]),
                "population": int(quintile_people[k]),
            }
        )
    frame = pd.DataFrame(rows)
    frame.insert(0, "survey_id", SURVEY)
    frame.insert(1, "council_code", COUNCIL)
    placed = (
        frame["responses"]
        .where(frame["group_type"] != "council")
        .groupby(frame["group_type"])
        .transform("sum")
        .fillna(total)
    )
    frame["responses_per_1000"] = frame["responses"] / frame["population"] * 1000
    frame["response_share"] = frame["responses"] / placed.where(
        frame["group_type"] != "council", total
    )
    base = frame["population"].where(frame["group_type"] == "council").max()
    frame["population_share"] = frame["population"] / base
    frame["representation_ratio"] = frame["response_share"] / frame["population_share"]
    frame["representation_lower_ci"] = frame["representation_ratio"] * 0.8
    frame["representation_upper_ci"] = frame["representation_ratio"] * 1.2
    frame.loc[
        frame["group_type"] == "council", ["representation_lower_ci", "representation_upper_ci"]
    ] = np.nan
    frame["under_heard"] = frame["representation_ratio"] < 0.8
    frame["suppressed"] = False
    hidden = (frame["group_type"] == "locality") & frame["group_id"].isin(
        [SMALL_LOCALITY, "glenview"]
    )
    frame["responses"] = frame["responses"].astype("Int64")
    frame.loc[hidden, "responses"] = pd.NA
    frame.loc[
        hidden,
        [
            "responses_per_1000",
            "response_share",
            "representation_ratio",
            "representation_lower_ci",
            "representation_upper_ci",
        ],
    ] = np.nan
    frame["under_heard"] = frame["under_heard"].astype("boolean")
    frame.loc[hidden, "under_heard"] = pd.NA
    frame.loc[hidden, "suppressed"] = True
    return frame[list(REACH_ALL_COLUMNS)]


def _priorities(rng: np.random.Generator, localities: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for lid in localities["locality_id"]:
        need = rng.uniform(0, 1, 14)
        voice = np.clip(need * 0.6 + rng.uniform(0, 0.4, 14), 0, 1)
        strategic = rng.uniform(0, 1, 14)
        score = 0.4 * need + 0.4 * voice + 0.2 * strategic
        order = np.argsort(-score)
        for position, index in enumerate(order, start=1):
            theme = PLACE_STANDARD_THEMES[index]
            quotes = (
                list(INJECTION_QUOTES[:2])
                if lid == "northfield" and position == 1
                else [f"More needs done about {theme.replace('_', ' ')} here."]
            )
            # The triangulation's evidence shape: what each score was built from.
            evidence = {
                "council_code": COUNCIL,
                "locality_id": lid,
                "priority_theme": theme,
                "scores": {"need_score": float(need[index]), "voice_score": float(voice[index])},
                "locality_profile": [
                    {
                        "measure_id": "income_rate",
                        "vintage": "2020v2",
                        "value": 0.21,
                        "scotland_value": 0.19,
                        "vs_scotland": "worse",
                        "status": "used",
                    },
                    {
                        "measure_id": "smr",
                        "vintage": "2020v2",
                        "value": 118.0,
                        "scotland_value": 105.5,
                        "status": "dropped_no_interval",
                    },
                ],
                "voice_theme_summary": [
                    {
                        "survey_id": SURVEY,
                        "theme_id": theme,
                        "weighting": "weighted",
                        "mean_score": round(7 - 5 * voice[index], 2),
                        "low_score_share": None,
                        "mention_share": round(float(voice[index]) / 3, 3),
                        "status": "used",
                    },
                ],
                "city_themes": [{"city_theme": "safety", "label": "Safer communities", "fit": 1.0}],
                "responses": [
                    {"survey_id": SURVEY, "response_id": f"r{k}", "quote": quote}
                    for k, quote in enumerate(quotes)
                ],
                "responses_total": len(quotes),
                "notes": "",
            }
            agree = (need[index] >= 0.5) == (voice[index] >= 0.5)
            rows.append(
                {
                    "council_code": COUNCIL,
                    "locality_id": lid,
                    "priority_theme": theme,
                    "need_score": float(need[index]),
                    "voice_score": float(voice[index]),
                    "strategic_score": float(strategic[index]),
                    "priority_score": float(score[index]),
                    "rank": position,
                    "rank_low": max(1, position - 1),
                    "rank_high": min(14, position + 2),
                    "stability": float(np.round(rng.uniform(0.4, 1.0), 3)),
                    "agreement": "agree"
                    if agree
                    else ("need_higher" if need[index] > voice[index] else "voice_higher"),
                    "evidence": json.dumps(evidence, ensure_ascii=False),
                }
            )
    return pd.DataFrame(rows, columns=list(PRIORITY_COLUMNS))


def _source_files() -> pd.DataFrame:
    rows = [
        ("simd", "2016", "primary", "simd", "", "simd2016_withindicators.csv", "2016-09-01"),
        ("simd", "2020v2", "primary", "simd", "", "SIMD2020v2_indicators.csv", "2020-06-01"),
        ("dz_lookup", "", "primary", "dz_lookup", "", "DataZone2011lookup.csv", "2022-03-01"),
        (
            "boundary_dz",
            "",
            "primary",
            "boundary_dz",
            "https://example.org/dz.zip",
            "SG_DataZoneBdry_2011.zip",
            "2023-01-15T10:00:00+00:00",
        ),
    ]
    frame = pd.DataFrame(
        rows, columns=["kind", "vintage", "role", "dataset", "source", "file", "retrieved_at"]
    )
    frame["sha256"] = [f"{i:064x}" for i in range(1, len(frame) + 1)]
    frame["bytes"] = [1_000_000, 2_000_000, 300_000, 9_000_000]
    frame["mode"] = "folder"
    return frame[list(SOURCE_FILE_COLUMNS)]


def make_pack_data(*, seed: int = 20240501, hostile_names: bool = False) -> PackData:
    """The synthetic Demo City pack: 8 localities, 180 data zones with polygons."""
    rng = np.random.default_rng(seed)
    geometry, ward = _geography(rng)
    dims = _dim_datazone(rng, ward)
    council_dims = dims[dims["council_code"] == COUNCIL].reset_index(drop=True)
    ids = [name.lower().replace(" ", "_") for name in WARD_NAMES]
    bridge = pd.DataFrame(
        {
            "council_code": COUNCIL,
            "locality_id": [ids[w] for w in ward],
            "dz_code": council_dims["dz_code"],
        }
    ).sort_values(["council_code", "locality_id", "dz_code"], ignore_index=True)
    names = {
        lid: HOSTILE_NAMES.get(lid, name) if hostile_names else name
        for lid, name in zip(ids, WARD_NAMES, strict=True)
    }
    zone_population = council_dims.set_index("dz_code")["population"]
    localities = pd.DataFrame(
        {
            "council_code": COUNCIL,
            "locality_id": ids,
            "locality_name": [names[lid] for lid in ids],
            "kind": "ward",
            "definition_version": "demo-2024",
            "dz_count": [int((bridge["locality_id"] == lid).sum()) for lid in ids],
            "population": [
                int(
                    zone_population.reindex(
                        bridge.loc[bridge["locality_id"] == lid, "dz_code"]
                    ).sum()
                )
                for lid in ids
            ],
            "allow_overlap": False,
        }
    ).sort_values("locality_id", ignore_index=True)

    x = np.concatenate([geometry["x"].to_numpy()])
    simd = _simd(rng, dims, x)
    fct_indicator, simd_population = _indicators(rng, dims, simd, bridge)
    catalogue = load_indicator_catalogue(CONFIG_DIR)
    rules = load_disclosure_rules()
    councils = [COUNCIL]
    depr = deprivation.deprivation_measures(simd, simd_population, dims, bridge, councils=councils)
    change = deprivation.share_change(depr, VINTAGES[0], VINTAGES[-1])
    ind = indicators.indicator_measures(
        fct_indicator, simd_population, dims, bridge, catalogue, councils=councils
    )
    profile = assemble.assemble_profile(depr, change, ind, rules)
    most = deprivation.most_deprived_zones(simd, dims, bridge, per_area=5, councils=councils)
    headline = assemble.load_headline_measures(CONFIG_DIR)
    summary = assemble.summary_wide(profile, localities, most, headline)
    unequal = inequality.inequality_measures(
        fct_indicator, simd, dims, bridge, catalogue, councils=councils, min_areas=10
    )

    in_council = simd["dz_code"].isin(council_dims["dz_code"])
    geo_datazone = gpd.GeoDataFrame(
        {
            "dz_code": council_dims["dz_code"],
            "dz_name": council_dims["dz_name"],
            "ward_code": council_dims["ward_code"],
            "council_code": COUNCIL,
        },
        geometry=geometry.geometry.to_numpy(),
        crs=BNG,
    )
    geo_datazone["area_km2"] = geo_datazone.area / 1e6
    geo_datazone["was_repaired"] = False
    wards = geo_datazone.dissolve("ward_code", as_index=False)[["ward_code", "geometry"]]
    wards["ward_name"] = wards["ward_code"].map(
        council_dims.drop_duplicates("ward_code").set_index("ward_code")["ward_name"]
    )
    wards["council_code"] = COUNCIL
    wards["area_km2"] = wards.area / 1e6
    wards["was_repaired"] = False
    geo_ward = wards[
        ["ward_code", "ward_name", "council_code", "area_km2", "was_repaired", "geometry"]
    ]

    theme_summary = _theme_summary(rng, localities, rules)
    return PackData(
        council_code=COUNCIL,
        council_name=COUNCIL_NAME,
        localities=localities,
        bridge=bridge,
        datazones=council_dims,
        simd=simd[in_council].sort_values(["vintage", "domain", "dz_code"], ignore_index=True),
        profile=profile[profile["council_code"] == COUNCIL].reset_index(drop=True),
        summary=summary[summary["council_code"] == COUNCIL].reset_index(drop=True),
        most_deprived=most.reset_index(drop=True),
        inequality=unequal.reset_index(drop=True),
        geo_datazone=geo_datazone,
        geo_ward=geo_ward,
        indicators_dz=fct_indicator[
            fct_indicator["dz_code"].isin(council_dims["dz_code"])
        ].reset_index(drop=True),
        theme_summary=theme_summary,
        reach=_reach(rng, theme_summary, localities, dims, bridge),
        priorities=_priorities(rng, localities),
        source_files=_source_files(),
        headline=tuple(headline),
        theme_labels=load_theme_labels(CONFIG_DIR),
        rules=rules,
    )


def without_voice(data: PackData) -> PackData:
    """The same pack for a council with no survey and no priority ranking yet."""
    empty = PackData(
        council_code=data.council_code,
        council_name=data.council_name,
        localities=data.localities,
        bridge=data.bridge,
        datazones=data.datazones,
        simd=data.simd,
        profile=data.profile,
        summary=data.summary,
        most_deprived=data.most_deprived,
        inequality=data.inequality,
    )
    return replace(
        data, theme_summary=empty.theme_summary, reach=empty.reach, priorities=empty.priorities
    )


def only_localities(data: PackData, locality_ids: list[str]) -> PackData:
    """The pack cut down to some localities (and their council), for quicker builds."""
    keep = {*locality_ids, data.council_code}
    zones = set(data.bridge.loc[data.bridge["locality_id"].isin(locality_ids), "dz_code"])
    changes = {
        name: getattr(data, name)[getattr(data, name)["locality_id"].isin(keep)]
        for name in (
            "localities",
            "bridge",
            "profile",
            "summary",
            "most_deprived",
            "inequality",
            "theme_summary",
            "priorities",
        )
    }
    changes.update(
        {
            name: getattr(data, name)[getattr(data, name)["dz_code"].isin(zones)]
            for name in ("datazones", "simd", "indicators_dz", "geo_datazone")
        }
    )
    reach = data.reach
    changes["reach"] = reach[
        (reach["group_type"] != "locality") | reach["group_id"].isin(locality_ids)
    ]
    return replace(data, **{k: v.reset_index(drop=True) for k, v in changes.items()})
