"""Triangulation: config validation, scores, agreement, ranks, uncertainty and evidence.

The data are synthetic but shaped like Dundee's: the council's 8 LCPP localities, a long
locality_profile with SIMD shares and indicators (Wilson / Poisson intervals where the
profile has them), ~3,000 Place Standard responses with coded comments, summarised by the
project's own `profiles.voice.summary.theme_summary`, and engagement reach rows.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import norm

from profiles.errors import ConfigError
from profiles.settings import CONFIG_DIR
from profiles.stats import compare, intervals
from profiles.triangulate import (
    AGREEMENT_LABELS,
    PRIORITY_RANKING_COLUMNS,
    agreement_category,
    bootstrap_ranks,
    evidence_for,
    load_triangulation_config,
    priority_ranking,
    rank_priorities,
    response_evidence,
    score_priorities,
    triangulate,
)
from profiles.triangulate.config import Thresholds
from profiles.triangulate.scores import need_score_from_raw
from profiles.voice.contract import PLACE_STANDARD_THEMES, REACH_COLUMNS
from profiles.voice.summary import theme_summary

COUNCIL = "S12000042"
SURVEY = "ps-2024"
LOCALITIES = (
    "strathmartine",
    "lochee",
    "west-end",
    "coldside",
    "maryfield",
    "north-east",
    "east-end",
    "the-ferry",
)
# How deprived each synthetic locality is (0..1) and how many people answered there.
DEPRIVATION = dict(zip(LOCALITIES, (0.55, 0.70, 0.15, 0.72, 0.45, 0.80, 0.85, 0.05), strict=True))
RESPONDENTS = dict(zip(LOCALITIES, (420, 390, 300, 410, 380, 450, 400, 250), strict=True))
POPULATION = dict(
    zip(LOCALITIES, (19000, 18500, 17000, 18800, 19500, 21000, 18700, 15500), strict=True)
)
# How strongly each Place Standard theme's scores fall with deprivation, and its baseline.
SENSITIVITY = dict(
    zip(
        PLACE_STANDARD_THEMES,
        (0.4, 0.2, 0.1, 0.6, 0.3, 0.5, 0.4, 0.9, 0.8, 0.4, 0.5, 1.0, 0.9, 0.6),
        strict=True,
    )
)
BASELINE = dict(
    zip(
        PLACE_STANDARD_THEMES,
        (5.0, 4.6, 3.6, 4.8, 5.4, 4.9, 4.8, 4.7, 5.0, 5.0, 5.2, 5.6, 4.9, 4.1),
        strict=True,
    )
)
# The Ferry's bus routes were cut: its residents score transport far below its deprivation.
LOCAL_SHIFT = {("the-ferry", "public_transport"): -2.4, ("the-ferry", "traffic_parking"): -1.2}
README = Path(__file__).resolve().parents[1] / "data" / "config" / "themes" / "README.md"


# --- Synthetic world -----------------------------------------------------------------------


def _profile(rng: np.random.Generator) -> pd.DataFrame:
    """locality_profile rows (locality, council, Scotland) for every measure the crosswalk uses."""
    rows = []
    d = np.array([DEPRIVATION[loc] for loc in LOCALITIES])
    people = np.array([POPULATION[loc] for loc in LOCALITIES], dtype=float)

    def add(
        measure,
        vintage,
        values,
        *,
        polarity,
        unit,
        scotland,
        num=None,
        den=None,
        per=1.0,
        suppressed=None,
    ):
        values = np.round(np.asarray(values, dtype=float), 4)
        if num is not None:
            council = num.sum() / den.sum() * per
        else:
            council = float(np.sum(values * people) / people.sum())
        council = round(council, 4)
        lower = upper = np.full(len(values), np.nan)
        if num is not None and unit == "proportion":
            bounds = intervals.wilson_interval(num, den)
            lower, upper = bounds.lower, bounds.upper
        elif num is not None:
            bounds = intervals.rate_interval(num, den, per=per)
            lower, upper = bounds.lower, bounds.upper
        pol = polarity
        vs_council = compare.significance_vs_comparator(lower, upper, council, pol)
        vs_scotland = compare.significance_vs_comparator(lower, upper, scotland, pol)
        for i, loc in enumerate(LOCALITIES):
            hidden = suppressed is not None and suppressed[i]
            rows.append(
                {
                    "council_code": COUNCIL,
                    "locality_id": loc,
                    "measure_id": measure,
                    "measure_label": measure,
                    "vintage": vintage,
                    "value": np.nan if hidden else values[i],
                    "lower_ci": np.nan if hidden else lower[i],
                    "upper_ci": np.nan if hidden else upper[i],
                    "numerator": np.nan if num is None or hidden else num[i],
                    "denominator": np.nan if den is None else den[i],
                    "council_value": council,
                    "scotland_value": scotland,
                    "vs_council": "suppressed" if hidden else vs_council[i],
                    "vs_scotland": "suppressed" if hidden else vs_scotland[i],
                    "suppressed": bool(hidden),
                    "source": f"SIMD {vintage}",
                    "area_level": "locality",
                    "unit": unit,
                    "method": "ratio_of_sums" if num is not None else "population_weighted_mean",
                    "ci_method": "wilson" if num is not None else "none",
                    "polarity": pol if not measure.startswith("simd_") else "not_applicable",
                    "note": "",
                }
            )
        for level, code, value in (
            ("council", COUNCIL, council),
            ("scotland", "S92000003", scotland),
        ):
            rows.append(
                {
                    "council_code": code,
                    "locality_id": code,
                    "measure_id": measure,
                    "measure_label": measure,
                    "vintage": vintage,
                    "value": value,
                    "lower_ci": np.nan,
                    "upper_ci": np.nan,
                    "numerator": np.nan,
                    "denominator": np.nan,
                    "council_value": council if level == "council" else None,
                    "scotland_value": scotland,
                    "vs_council": "not_compared",
                    "vs_scotland": "not_compared",
                    "suppressed": False,
                    "source": "",
                    "area_level": level,
                    "unit": unit,
                    "method": "",
                    "ci_method": "none",
                    "polarity": pol,
                    "note": "",
                }
            )

    def noise(scale):
        return rng.normal(0.0, scale, len(LOCALITIES))

    for domain, slope in (
        ("income", 0.9),
        ("employment", 0.85),
        ("health", 0.8),
        ("education", 0.75),
        ("crime", 0.7),
        ("housing", 0.5),
    ):
        share = np.clip(slope * d - 0.1 + noise(0.05), 0.0, 1.0)
        add(
            f"simd_{domain}_pop_share_most_deprived_20",
            "2020v2",
            share,
            polarity="higher_is_worse",
            unit="proportion",
            scotland=0.2,
        )
        # An older vintage that must be ignored ('latest' is 2020v2).
        add(
            f"simd_{domain}_pop_share_most_deprived_20",
            "2016",
            1 - share,
            polarity="higher_is_worse",
            unit="proportion",
            scotland=0.2,
        )
    add(
        "simd_access_pop_share_most_deprived_20",
        "2020v2",
        np.clip(0.03 + noise(0.02), 0, 1),
        polarity="higher_is_worse",
        unit="proportion",
        scotland=0.2,
    )

    def ratio_indicator(measure, rate, den, per, scotland, unit):
        num = np.round(rate * den / per)
        add(
            measure,
            "2020v2",
            num / den * per,
            polarity="higher_is_worse",
            unit=unit,
            scotland=scotland,
            num=num,
            den=den,
            per=per,
        )

    ratio_indicator("income_rate", 0.06 + 0.22 * d + noise(0.01), people, 1.0, 0.12, "proportion")
    ratio_indicator(
        "employment_rate", 0.05 + 0.16 * d + noise(0.01), people * 0.64, 1.0, 0.09, "proportion"
    )
    # Crime: east-end and coldside sit close to the council rate, so their intervals
    # contain it ('similar'), while Scotland's lower rate is outside.
    crime = 240 + 300 * d + noise(25)
    crime[LOCALITIES.index("east-end")] = 411.0
    crime[LOCALITIES.index("coldside")] = 402.0
    ratio_indicator("crime_rate", crime, people, 10_000.0, 240.0, "rate_per_10000")
    ratio_indicator(
        "overcrowded_rate", 0.05 + 0.12 * d + noise(0.01), people, 1.0, 0.09, "proportion"
    )
    ratio_indicator(
        "nocentralheating_rate", 0.01 + 0.02 * d + noise(0.004), people, 1.0, 0.025, "proportion"
    )

    means = {
        "cif": (75 + 90 * d, 100, "higher_is_worse", "ratio"),
        "smr": (80 + 70 * d, 100, "higher_is_worse", "ratio"),
        "depress": (0.14 + 0.1 * d, 0.19, "higher_is_worse", "proportion"),
        "alcohol": (50 + 250 * d, 100, "higher_is_worse", "ratio"),
        "drug": (40 + 300 * d, 100, "higher_is_worse", "ratio"),
        "emerg": (80 + 60 * d, 100, "higher_is_worse", "ratio"),
        "lbwt": (0.04 + 0.04 * d, 0.06, "higher_is_worse", "proportion"),
        "attendance": (0.94 - 0.05 * d, 0.92, "higher_is_better", "proportion"),
        "attainment": (6.2 - 1.8 * d, 5.5, "higher_is_better", "score"),
        "no_qualifications": (60 + 110 * d, 100, "higher_is_worse", "ratio"),
        "not_participating": (0.03 + 0.1 * d, 0.07, "higher_is_worse", "proportion"),
        "university": (0.5 - 0.35 * d, 0.35, "higher_is_better", "proportion"),
        "pt_gp": (9 - 2 * d, 11, "higher_is_worse", "minutes"),
        "pt_post": (10 - 2 * d, 12, "higher_is_worse", "minutes"),
        "pt_retail": (12 - 3 * d, 13, "higher_is_worse", "minutes"),
        "broadband": (0.02 + 0.02 * d, 0.06, "higher_is_worse", "proportion"),
        "drive_gp": (2.2 - 0.4 * d, 4.0, "higher_is_worse", "minutes"),
        "drive_post": (2.4 - 0.5 * d, 4.2, "higher_is_worse", "minutes"),
        "drive_primary": (2.0 - 0.3 * d, 3.5, "higher_is_worse", "minutes"),
        "drive_secondary": (3.5 - 0.6 * d, 6.0, "higher_is_worse", "minutes"),
        "drive_retail": (3.8 - 0.8 * d, 7.0, "higher_is_worse", "minutes"),
        "drive_petrol": (3.0 - 0.4 * d, 4.5, "higher_is_worse", "minutes"),
    }
    for measure, (base, scotland, polarity, unit) in means.items():
        values = base * (1 + noise(0.03))
        # lbwt is suppressed at source in one locality (too few births).
        suppressed = None
        if measure == "lbwt":
            suppressed = np.array([loc == "the-ferry" for loc in LOCALITIES])
        add(
            measure,
            "2020v2",
            values,
            polarity=polarity,
            unit=unit,
            scotland=scotland,
            suppressed=suppressed,
        )
    return pd.DataFrame(rows)


def _voice(rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Responses, scores, comments and codes of one Place Standard survey."""
    bridge_rows, response_rows, score_rows, comment_rows, code_rows = [], [], [], [], []
    counter = 0
    for li, loc in enumerate(LOCALITIES):
        zones = [f"S01{990000 + li * 20 + z:06d}" for z in range(12)]
        bridge_rows += [{"council_code": COUNCIL, "locality_id": loc, "dz_code": z} for z in zones]
        d = DEPRIVATION[loc]
        for _ in range(RESPONDENTS[loc]):
            counter += 1
            response_id = f"r{counter:05d}"
            response_rows.append(
                {
                    "survey_id": SURVEY,
                    "response_id": response_id,
                    "submitted_at": pd.Timestamp("2024-05-01") + pd.Timedelta(minutes=counter),
                    "age_band": None,
                    "gender": None,
                    "dz_code": zones[counter % len(zones)],
                    "ward_code": None,
                    "council_code": COUNCIL,
                    "geocode_method": "postcode",
                    "geocode_status": "matched",
                    "is_duplicate": False,
                    "campaign_group": None,
                    "cells_set_aside": 0,
                    # A survey weight standing in for post-stratification.
                    "weight": float(np.round(rng.uniform(0.6, 1.6), 3)),
                }
            )
            scores = {}
            for theme in PLACE_STANDARD_THEMES:
                if rng.random() < 0.08:
                    continue  # skipped the question
                mu = (
                    BASELINE[theme]
                    - 2.6 * d * SENSITIVITY[theme]
                    + LOCAL_SHIFT.get((loc, theme), 0.0)
                )
                scores[theme] = int(np.clip(np.round(rng.normal(mu, 1.4)), 1, 7))
                score_rows.append(
                    {
                        "survey_id": SURVEY,
                        "response_id": response_id,
                        "theme_id": theme,
                        "score": scores[theme],
                    }
                )
            if rng.random() < 0.6 and scores:
                worst = sorted(scores, key=lambda t: (scores[t], rng.random()))
                themes = worst[: 1 + int(rng.random() < 0.4)]
                redacted = int(rng.random() < 0.05)
                comment_rows.append(
                    {
                        "survey_id": SURVEY,
                        "response_id": response_id,
                        "question": "what_could_be_better",
                        "text_redacted": f"Synthetic comment {response_id} about "
                        + " and ".join(themes),
                        "redactions": redacted,
                    }
                )
                code_rows += [
                    {
                        "survey_id": SURVEY,
                        "response_id": response_id,
                        "question": "what_could_be_better",
                        "theme_id": t,
                        "source": "model:test",
                        "confidence": float(np.round(rng.uniform(0.5, 1.0), 3)),
                    }
                    for t in themes
                ]
            if rng.random() < 0.4 and scores:
                best = max(scores, key=lambda t: (scores[t], rng.random()))
                comment_rows.append(
                    {
                        "survey_id": SURVEY,
                        "response_id": response_id,
                        "question": "what_is_good",
                        "text_redacted": f"Synthetic praise {response_id} for {best}",
                        "redactions": 0,
                    }
                )
                code_rows.append(
                    {
                        "survey_id": SURVEY,
                        "response_id": response_id,
                        "question": "what_is_good",
                        "theme_id": best,
                        "source": "model:test",
                        "confidence": float(np.round(rng.uniform(0.5, 1.0), 3)),
                    }
                )
    responses = pd.DataFrame(response_rows)
    return {
        "bridge": pd.DataFrame(bridge_rows),
        "responses": responses,
        "scores": pd.DataFrame(score_rows),
        "comments": pd.DataFrame(comment_rows),
        "codes": pd.DataFrame(code_rows),
    }


def _reach() -> pd.DataFrame:
    total = sum(RESPONDENTS.values())
    people = sum(POPULATION.values())
    rows = []
    for loc in LOCALITIES:
        ratio = (RESPONDENTS[loc] / total) / (POPULATION[loc] / people)
        rows.append(
            {
                "survey_id": SURVEY,
                "council_code": COUNCIL,
                "group_type": "locality",
                "group_id": loc,
                "responses": RESPONDENTS[loc],
                "population": POPULATION[loc],
                "responses_per_1000": 1000 * RESPONDENTS[loc] / POPULATION[loc],
                "response_share": RESPONDENTS[loc] / total,
                "population_share": POPULATION[loc] / people,
                "representation_ratio": ratio,
                "under_heard": ratio < 0.8,
                "suppressed": False,
            }
        )
    return pd.DataFrame(rows, columns=list(REACH_COLUMNS))


def summarise(voice: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """voice_theme_summary of the synthetic survey, by the project's own summary code."""
    dim_locality = pd.DataFrame({"council_code": COUNCIL, "locality_id": list(LOCALITIES)})
    weights = voice["responses"][["survey_id", "response_id", "weight"]]
    return theme_summary(
        voice["responses"].drop(columns="weight"),
        voice["scores"],
        voice["comments"],
        voice["codes"],
        voice["bridge"],
        dim_locality,
        None,
        weights=weights,
    )


def placements(voice: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Responses placed in localities with their weight (as the lead's asset passes them)."""
    located = voice["responses"].merge(voice["bridge"], on=["council_code", "dz_code"])
    return located[["survey_id", "response_id", "council_code", "locality_id", "weight"]]


def make_world(seed: int = 7) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    world = {"profile": _profile(rng), **_voice(rng), "reach": _reach()}
    world["dim_locality"] = pd.DataFrame({"council_code": COUNCIL, "locality_id": list(LOCALITIES)})
    return world


@pytest.fixture(scope="module")
def world() -> dict[str, pd.DataFrame]:
    world = make_world()
    world["summary"] = summarise(world)
    world["placed"] = placements(world)
    return world


@pytest.fixture(scope="module")
def config():
    return load_triangulation_config(CONFIG_DIR, COUNCIL)


def _scores(world, config, summary=None, profile=None):
    return score_priorities(
        world["profile"] if profile is None else profile,
        world["summary"] if summary is None else summary,
        world["reach"],
        config,
        dim_locality=world["dim_locality"],
    )


# --- Config --------------------------------------------------------------------------------


def test_dundee_config_has_city_plan_and_partnership_themes(config):
    assert config.files[0].name == "S12000042.yaml" and config.files[1].name == "default.yaml"
    kinds = {c.theme_id: c.kind for c in config.city_themes}
    assert [k for k, v in kinds.items() if v == "city_plan_priority"] == [
        "child_poverty_inequalities",
        "inclusive_economic_growth",
        "net_zero",
    ]
    assert [k for k, v in kinds.items() if v == "partnership_theme"] == [
        "fair_work_enterprise",
        "children_families",
        "health_care_wellbeing",
        "community_safety_justice",
        "building_stronger_communities",
    ]
    assert len(config.theme_ids) == 9
    assert config.strategic_scores == {
        "income_employment": 100.0,
        "health_wellbeing": 60.0,
        "education_skills": 70.0,
        "community_safety": 30.0,
        "housing": 50.0,
        "transport": 60.0,
        "greenspace_environment": 50.0,
        "facilities_services": 40.0,
        "influence_belonging": 40.0,
    }
    crime = config.theme("community_safety").need
    assert [(m.measure_id, m.polarity) for m in crime] == [
        ("simd_crime_pop_share_most_deprived_20", "higher_is_worse"),
        ("crime_rate", "higher_is_worse"),
    ]
    attainment = [m for m in config.theme("education_skills").need if m.measure_id == "attainment"]
    assert attainment[0].polarity == "higher_is_better"


def test_council_without_file_gets_default(config):
    other = load_triangulation_config(CONFIG_DIR, "S12000036")
    assert other.council_code == "S12000036"
    assert [f.name for f in other.files] == ["default.yaml"]
    assert other.theme_ids == config.theme_ids
    assert {c.kind for c in other.city_themes} == {"national_outcome"}


def _config_dir(tmp_path: Path, edit) -> Path:
    """A copy of data/config/themes (+ indicators.csv) with `edit(dundee, default)` applied."""
    (tmp_path / "themes").mkdir()
    shutil.copy(CONFIG_DIR / "indicators.csv", tmp_path / "indicators.csv")
    dundee = yaml.safe_load((CONFIG_DIR / "themes" / "S12000042.yaml").read_text("utf-8"))
    default = yaml.safe_load((CONFIG_DIR / "themes" / "default.yaml").read_text("utf-8"))
    edit(dundee, default)
    for name, document in (("S12000042.yaml", dundee), ("default.yaml", default)):
        (tmp_path / "themes" / name).write_text(yaml.safe_dump(document), "utf-8")
    return tmp_path


def _set(path: str, value):
    def edit(dundee, default):
        target = dundee if path.startswith("dundee:") else default
        keys = path.split(":", 1)[1].split(".")
        for key in keys[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value

    return edit


_DELETE = object()


@pytest.mark.parametrize(
    ("edit", "file", "message"),
    [
        (
            _set("default:priority_themes.housing.need.indicators.overcrowd_rate", 1.0),
            "default.yaml",
            r"key 'priority_themes\.housing\.need\.indicators\.overcrowd_rate': unknown indicator",
        ),
        (
            _set("default:priority_themes.housing.need.indicators.overcrowded_count", 1.0),
            "default.yaml",
            r"overcrowded_count': is a count",
        ),
        (
            _set("default:priority_themes.housing.need.simd_domains.wealth", 1.0),
            "default.yaml",
            r"simd_domains\.wealth': unknown SIMD domain",
        ),
        (
            _set("default:priority_themes.housing.voice.place_standard.housing", 1.0),
            "default.yaml",
            r"place_standard\.housing': unknown Place Standard theme",
        ),
        (
            _set("default:priority_themes.housing.voice.comment_codes.none", 1.0),
            "default.yaml",
            r"comment_codes\.none': unknown comment code",
        ),
        (
            _set("dundee:strategic_fit.housing.net_zer0", 0.5),
            "S12000042.yaml",
            r"strategic_fit\.housing\.net_zer0': unknown city-wide theme",
        ),
        (
            _set("dundee:strategic_fit.housing.net_zero", 1.5),
            "S12000042.yaml",
            r"strategic_fit\.housing\.net_zero': must be between 0 and 1",
        ),
        (
            _set("dundee:strategic_fit.hosuing", {"net_zero": 1.0}),
            "S12000042.yaml",
            r"strategic_fit\.hosuing': unknown priority theme",
        ),
        (
            _set("default:weights.components.voice", _DELETE),
            "default.yaml",
            r"weights\.components': missing weight\(s\) for voice",
        ),
        (
            _set("default:weights.components.need", -0.4),
            "default.yaml",
            r"weights\.components\.need': must be between 0",
        ),
        (
            _set("default:uncertainty.interval", [0.95, 0.05]),
            "default.yaml",
            r"uncertainty\.interval': low must be below high",
        ),
        (
            _set("default:thresholds.voice_hi", 40),
            "default.yaml",
            r"key 'thresholds': unknown key\(s\) voice_hi",
        ),
        (
            _set("dundee:council_code", "S12000041"),
            "S12000042.yaml",
            r"key 'council_code': file is for council S12000042",
        ),
        (_set("dundee:extends", "missing.yaml"), "S12000042.yaml", r"key 'extends': no file"),
        (_set("dundee:colour", "blue"), "S12000042.yaml", r"unknown top-level key\(s\) colour"),
        (
            _set("dundee:city_themes.net_zero.weight", "high"),
            "S12000042.yaml",
            r"city_themes\.net_zero\.weight': must be a number",
        ),
        (
            _set("default:priority_themes.influence_belonging.voice", {}),
            "default.yaml",
            r"priority_themes\.influence_belonging': maps to no measure",
        ),
    ],
)
def test_config_errors_name_file_and_key(tmp_path, edit, file, message):
    config_dir = _config_dir(tmp_path, edit)
    with pytest.raises(ConfigError, match=message) as error:
        load_triangulation_config(config_dir, COUNCIL)
    assert str(error.value).startswith(str(config_dir / "themes" / file))


def test_config_rejects_bad_council_code(tmp_path):
    with pytest.raises(ConfigError, match="not an S12 council code"):
        load_triangulation_config(CONFIG_DIR, "Dundee")


# --- Scores --------------------------------------------------------------------------------


def test_every_lcpp_has_a_ranked_list_with_all_components(world, config):
    ranking, matrix = triangulate(
        config,
        profile=world["profile"],
        theme_summary=world["summary"],
        reach=world["reach"],
        responses=world["placed"],
        voice_scores=world["scores"],
        codes=world["codes"],
        comments=world["comments"],
        dim_locality=world["dim_locality"],
    )
    assert list(ranking.columns[: len(PRIORITY_RANKING_COLUMNS)]) == list(PRIORITY_RANKING_COLUMNS)
    assert len(ranking) == 8 * 9
    for _, group in ranking.groupby("locality_id"):
        assert sorted(group["rank"]) == list(range(1, 10))
    needs_data = ~ranking["priority_theme"].isin(["greenspace_environment", "influence_belonging"])
    assert ranking.loc[needs_data, "need_score"].notna().all()
    assert ranking.loc[~needs_data, "need_score"].isna().all()
    assert ranking[["voice_score", "strategic_score", "priority_score"]].notna().all().all()
    assert set(ranking["agreement"]) <= set(AGREEMENT_LABELS)
    assert {
        "shared_priority",
        "hidden_need",
        "community_concern",
        "both_low",
        "no_local_data",
    } <= set(ranking["agreement"])
    assert (ranking["rank_low"] <= ranking["rank"]).all()
    assert (ranking["rank"] <= ranking["rank_high"]).all()
    assert ranking["stability"].between(0, 1).all()
    assert set(ranking["stability_label"]) <= {"stable", "unstable"}
    assert len(matrix) == 8 * 9 * 3
    summed = matrix.groupby(["locality_id", "priority_theme"])["contribution"].sum()
    priority = ranking.set_index(["locality_id", "priority_theme"])["priority_score"]
    np.testing.assert_allclose(summed.loc[priority.index], priority, rtol=1e-12)


def test_need_follows_deprivation_and_polarity(world, config):
    scores = _scores(world, config)
    income = scores[scores["priority_theme"] == "income_employment"].set_index("locality_id")
    # The most and least deprived synthetic localities.
    assert income.loc["east-end", "need_score"] > 80
    assert income.loc["the-ferry", "need_score"] < 20
    order = income["need_score"].sort_values().index.tolist()
    assert order[0] == "the-ferry" and order[-1] in ("east-end", "north-east")
    education = scores[scores["priority_theme"] == "education_skills"].set_index("locality_id")
    east = json.loads(education.loc["east-end", "need_evidence"])
    attainment = next(m for m in east if m["measure_id"] == "attainment")
    # Attainment is lower (worse) than the council: higher_is_better gives a positive gap.
    assert attainment["value"] < attainment["council_value"]
    assert attainment["z_council"] > 0
    assert attainment["vintage"] == "2020v2"


def test_noise_inside_the_interval_is_not_need(world, config):
    scores = _scores(world, config).set_index(["locality_id", "priority_theme"])
    measures = json.loads(scores.loc[("east-end", "community_safety"), "need_evidence"])
    crime = next(m for m in measures if m["measure_id"] == "crime_rate")
    assert crime["vs_council"] == "similar"
    assert crime["lower_ci"] <= crime["council_value"] <= crime["upper_ci"]
    assert crime["value"] != crime["council_value"]
    assert crime["z_council"] == 0.0
    assert crime["vs_scotland"] == "worse" and crime["z_scotland"] > 0
    # The same locality with its interval shrunk so the council rate is outside it.
    profile = world["profile"].copy()
    row = (profile["locality_id"] == "east-end") & (profile["measure_id"] == "crime_rate")
    profile.loc[row, ["lower_ci", "upper_ci"]] = [410.5, 411.5]
    profile.loc[row, "vs_council"] = "worse"
    changed = _scores(world, config, profile=profile).set_index(["locality_id", "priority_theme"])
    assert (
        changed.loc[("east-end", "community_safety"), "need_score"]
        > scores.loc[("east-end", "community_safety"), "need_score"]
    )


def test_suppressed_measure_drops_out(world, config):
    scores = _scores(world, config).set_index(["locality_id", "priority_theme"])
    row = scores.loc[("the-ferry", "health_wellbeing")]
    lbwt = next(m for m in json.loads(row["need_evidence"]) if m["measure_id"] == "lbwt")
    assert lbwt["status"] == "suppressed" and lbwt["contribution"] is None
    assert row["need_measures_dropped"] == 1 and row["need_measures_used"] == 7
    assert "need suppressed: lbwt" in row["notes"]


def test_spread_falls_back_to_all_localities_for_a_small_council(world, config):
    profile = world["profile"]
    localities = profile[profile["area_level"] == "locality"]
    # Another council with the same eight localities, and Dundee cut down to two.
    angus = localities.assign(
        council_code="S12000041", locality_id="angus-" + localities["locality_id"]
    )
    small = localities[localities["locality_id"].isin(["east-end", "the-ferry"])]
    two = pd.concat([small, angus], ignore_index=True)
    dim = pd.DataFrame({"council_code": COUNCIL, "locality_id": ["east-end", "the-ferry"]})
    scores = score_priorities(two, world["summary"], None, config, dim_locality=dim)
    row = scores.set_index(["locality_id", "priority_theme"]).loc[("east-end", "housing")]
    measure = next(
        m for m in json.loads(row["need_evidence"]) if m["measure_id"] == "overcrowded_rate"
    )
    values = two.loc[
        (two["measure_id"] == "overcrowded_rate") & (two["vintage"] == "2020v2"), "value"
    ]
    assert measure["spread_basis"] == "all_localities"
    assert measure["spread"] == pytest.approx(values.std(ddof=1), abs=1e-6)
    assert row["need_measures_used"] == 3


def test_more_safety_complaints_raise_only_that_voice_score(world, config):
    """The issue's acceptance test: change the survey, not the summary, and compare all cells."""
    before = rank_priorities(_scores(world, config), config)
    voice = {k: world[k].copy() for k in ("responses", "scores", "comments", "codes", "bridge")}
    east_end = set(world["placed"].loc[world["placed"]["locality_id"] == "east-end", "response_id"])
    commenters = voice["comments"]["response_id"][
        voice["comments"]["response_id"].isin(east_end)
    ].tolist()
    # 60 East End respondents who already commented now also complain about safety...
    complainers = sorted(commenters)[:60]
    is_safety = voice["scores"]["theme_id"] == "feeling_safe"
    voice["scores"].loc[is_safety & voice["scores"]["response_id"].isin(complainers), "score"] = 1
    already = set(voice["codes"].loc[voice["codes"]["theme_id"] == "feeling_safe", "response_id"])
    extra = pd.DataFrame(
        {
            "survey_id": SURVEY,
            "response_id": [r for r in complainers if r not in already],
            "question": "what_could_be_better",
            "theme_id": "feeling_safe",
            "source": "model:test",
            "confidence": 0.9,
        }
    )
    voice["codes"] = pd.concat([voice["codes"], extra], ignore_index=True)
    after = rank_priorities(_scores(world, config, summary=summarise(voice)), config)

    key = ["locality_id", "priority_theme"]
    before, after = before.set_index(key), after.set_index(key)
    cell = ("east-end", "community_safety")
    assert after.loc[cell, "voice_score"] > before.loc[cell, "voice_score"] + 5
    assert after.loc[cell, "priority_score"] > before.loc[cell, "priority_score"]
    assert after.loc[cell, "rank"] <= before.loc[cell, "rank"]
    others = before.index != cell
    for column in (
        "voice_score",
        "need_score",
        "strategic_score",
        "priority_score",
        "voice_low_score_share",
        "voice_mean_score",
        "voice_mention_share",
    ):
        pd.testing.assert_series_equal(after.loc[others, column], before.loc[others, column])
    # The council's own figure moved (it contains East End) and is reported beside it.
    assert after.loc[cell, "council_voice_score"] > before.loc[cell, "council_voice_score"]


def test_locality_without_survey_has_no_community_evidence(world, config):
    summary = world["summary"].copy()
    gone = summary["locality_id"] == "west-end"
    summary.loc[gone, ["responses", "low_score_count", "comments", "mentions"]] = 0
    summary.loc[gone, ["mean_score", "low_score_share", "mention_share"]] = np.nan
    scores = _scores(world, config, summary=summary)
    west = scores[scores["locality_id"] == "west-end"]
    assert west["voice_score"].isna().all()
    with_need = west["need_score"].notna()
    assert (west.loc[with_need, "agreement"] == "no_community_evidence").all()
    assert (west.loc[~with_need, "agreement"] == "no_evidence").all()
    assert (west.loc[with_need, "priority_basis"] == "need+strategic").all()
    expected = (0.4 * west["need_score"] + 0.2 * west["strategic_score"]) / 0.6
    np.testing.assert_allclose(west.loc[with_need, "priority_score"], expected[with_need])


def test_suppressed_voice_cell_contributes_nothing(world, config):
    summary = world["summary"].copy()
    row = (summary["locality_id"] == "lochee") & (summary["theme_id"] == "traffic_parking")
    summary.loc[row, ["mean_score", "low_score_share", "mention_share", "quotes"]] = np.nan
    summary.loc[row, "suppressed"] = True
    scores = _scores(world, config, summary=summary).set_index(["locality_id", "priority_theme"])
    transport = scores.loc[("lochee", "transport")]
    rows = world["summary"]
    weighted = rows[
        (rows["locality_id"] == "lochee")
        & (rows["weighting"] == "weighted")
        & rows["theme_id"].isin(["moving_around", "public_transport"])
    ]
    low = weighted["low_score_share"].mean()
    gap = ((7 - weighted["mean_score"]) / 6).mean()
    mention = weighted["mention_share"].mean()
    assert transport["voice_score"] == pytest.approx(100 * (0.4 * low + 0.3 * gap + 0.3 * mention))
    assert (
        "voice withheld or missing: traffic_parking (mentions), traffic_parking (scores)"
        in transport["notes"]
    )
    statuses = {
        (v["theme_id"], v["kind"]): v["status"] for v in json.loads(transport["voice_evidence"])
    }
    assert statuses[("traffic_parking", "scores")] == "suppressed"
    assert statuses[("moving_around", "scores")] == "used"


def test_agreement_category_thresholds():
    categories = agreement_category(
        [70, 70, 30, 30, 70, np.nan, np.nan, 60],
        [50, 10, 50, 10, np.nan, 50, np.nan, 40],
        Thresholds(need_high=60, voice_high=40),
    )
    assert list(categories) == [
        "shared_priority",
        "hidden_need",
        "community_concern",
        "both_low",
        "no_community_evidence",
        "no_local_data",
        "no_evidence",
        "shared_priority",
    ]


# --- Uncertainty ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ranked(world, config):
    return rank_priorities(_scores(world, config), config)


def _bootstrap(world, config, ranked, **kwargs):
    return bootstrap_ranks(
        ranked,
        world["placed"],
        world["scores"],
        world["codes"],
        config,
        theme_summary=world["summary"],
        comments=world["comments"],
        **kwargs,
    )


def test_bootstrap_is_deterministic_and_fast(world, config, ranked):
    start = time.perf_counter()
    first = _bootstrap(world, config, ranked, replicates=200, seed=11)
    elapsed = time.perf_counter() - start
    again = _bootstrap(world, config, ranked, replicates=200, seed=11)
    other = _bootstrap(world, config, ranked, replicates=200, seed=12)
    pd.testing.assert_frame_equal(first, again)
    assert not first["stability"].equals(other["stability"])
    assert elapsed < 3.0, f"200 replicates took {elapsed:.2f}s"


def test_bootstrap_replicate_without_resampling_reproduces_the_point_voice(world, config, ranked):
    """With every response drawn once and no weight jitter, the bootstrap's voice is the
    point estimate from voice_theme_summary (the two computations agree)."""
    from profiles.triangulate import uncertainty

    # One withheld cell, which the bootstrap must leave out as the point estimate does.
    summary = world["summary"].copy()
    hidden = (summary["locality_id"] == "lochee") & (summary["theme_id"] == "traffic_parking")
    summary.loc[hidden, ["mean_score", "low_score_share", "mention_share"]] = np.nan
    summary.loc[hidden, "suppressed"] = True
    ranked = rank_priorities(_scores(world, config, summary=summary), config)
    localities = sorted(LOCALITIES)
    units = uncertainty._units(
        world["placed"], world["scores"], world["codes"], world["comments"], [SURVEY], localities
    )
    ones = np.ones((1, len(units.stratum)))
    low, gap, mention = uncertainty._theme_signals(units, ones, len(localities), 1)
    has_scores, has_mentions = uncertainty._available(summary, config, localities)
    assert has_scores.sum() == has_scores.size - 1
    low, gap = np.where(has_scores, low, np.nan), np.where(has_scores, gap, np.nan)
    mention = np.where(has_mentions, mention, np.nan)
    voice = uncertainty.combine_voice(
        uncertainty._map_to_priorities(low, uncertainty._crosswalk_matrix(config, "scores")),
        uncertainty._map_to_priorities(gap, uncertainty._crosswalk_matrix(config, "scores")),
        uncertainty._map_to_priorities(mention, uncertainty._crosswalk_matrix(config, "mentions")),
        dict(config.voice_signal_weights),
    )[0]
    point = ranked.set_index(["locality_id", "priority_theme"])["voice_score"]
    expected = point.loc[pd.MultiIndex.from_product([localities, config.theme_ids])]
    np.testing.assert_allclose(voice.ravel(), expected.to_numpy(), rtol=1e-9)


def test_nearly_tied_themes_are_flagged_unstable(world, config, ranked):
    locality = "maryfield"
    frame = ranked.copy()
    rows = frame[frame["locality_id"] == locality].sort_values("rank")
    first, second = rows.iloc[0], rows.iloc[1]
    # Move the second theme's need so its priority sits 0.05 below the first's.
    target = first["priority_score"] - 0.05
    need = (target - 0.4 * second["voice_score"] - 0.2 * second["strategic_score"]) / 0.4
    assert 1 < need < 99
    raw = float(norm.ppf(need / 100))
    at = (frame["locality_id"] == locality) & (frame["priority_theme"] == second["priority_theme"])
    frame.loc[at, ["need_vs_council", "need_vs_scotland", "need_raw"]] = raw
    frame.loc[at, "need_score"] = need_score_from_raw(np.array([raw]))[0]
    frame.loc[at, "priority_score"] = target
    result = _bootstrap(world, config, rank_priorities(frame, config), replicates=200, seed=3)
    mine = result[result["locality_id"] == locality].set_index("priority_theme")
    tied = mine.loc[[first["priority_theme"], second["priority_theme"]]]
    assert list(tied["rank"]) == [1, 2]
    assert (tied["stability_label"] == "unstable").all()
    assert (tied["stability"] < 0.6).all()
    assert (tied["rank_low"] == 1).all() and (tied["rank_high"] >= 2).all()
    # East End's top theme is 14 points clear of the next: it never moves.
    east = result[result["locality_id"] == "east-end"].set_index("priority_theme")
    assert east.loc["income_employment", "stability"] == 1.0
    assert east.loc["income_employment", "stability_label"] == "stable"


def test_council_without_survey_still_ranks(world, config):
    empty = world["summary"].iloc[0:0]
    scores = rank_priorities(
        score_priorities(world["profile"], empty, None, config, dim_locality=world["dim_locality"]),
        config,
    )
    assert scores["voice_score"].isna().all()
    assert set(scores["agreement"]) == {"no_community_evidence", "no_evidence"}
    # Strategic fit alone says nothing about a locality: themes without need go unranked.
    unranked = scores["agreement"] == "no_evidence"
    assert set(scores.loc[unranked, "priority_theme"]) == {
        "greenspace_environment",
        "influence_belonging",
    }
    assert scores.loc[unranked, ["priority_score", "rank"]].isna().all().all()
    assert (scores.loc[unranked, "priority_basis"] == "none").all()
    for _, group in scores[~unranked].groupby("locality_id"):
        assert sorted(group["rank"]) == list(range(1, 8))
    result = bootstrap_ranks(
        scores,
        world["placed"].iloc[0:0],
        world["scores"].iloc[0:0],
        world["codes"].iloc[0:0],
        config,
        replicates=50,
    )
    ranked = result[result["rank"].notna()]
    assert ranked["stability"].between(0, 1).all()
    assert (ranked["rank_low"] <= ranked["rank_high"]).all()
    assert result.loc[result["rank"].isna(), "stability"].isna().all()


def test_surveys_are_pooled_by_respondents(world, config):
    """A second survey with the same answers leaves every share, and so every score, as is."""
    second = world["summary"].assign(survey_id="ps-2025")
    both = pd.concat([world["summary"], second], ignore_index=True)
    single = _scores(world, config)
    pooled = _scores(world, config, summary=both)
    np.testing.assert_allclose(pooled["voice_score"], single["voice_score"], rtol=1e-12)
    assert (pooled["voice_surveys"] == 2).all()
    assert (pooled["voice_responses"] == 2 * single["voice_responses"]).all()
    only_first = dataclasses.replace(config, voice_surveys=("ps-2025",))
    assert (_scores(world, only_first, summary=both)["voice_surveys"] == 1).all()


# --- Evidence ------------------------------------------------------------------------------


def test_evidence_links_profile_rows_summary_rows_and_quotes(world, config, ranked):
    evidence = response_evidence(
        world["placed"], world["codes"], world["comments"], world["summary"], config
    )
    ranking = priority_ranking(ranked, config, evidence)
    row = ranking.set_index(["locality_id", "priority_theme"]).loc[
        ("north-east", "community_safety")
    ]
    document = json.loads(row["evidence"])
    assert {(r["measure_id"], r["vintage"]) for r in document["locality_profile"]} == {
        ("simd_crime_pop_share_most_deprived_20", "2020v2"),
        ("crime_rate", "2020v2"),
    }
    assert all(r["locality_id"] == "north-east" for r in document["locality_profile"])
    assert {
        (r["survey_id"], r["theme_id"], r["weighting"], r["kind"])
        for r in document["voice_theme_summary"]
    } == {
        (SURVEY, "feeling_safe", "weighted", "scores"),
        (SURVEY, "feeling_safe", "weighted", "mentions"),
    }
    assert document["city_themes"][0]["city_theme"] == "community_safety_justice"
    responses = document["responses"]
    assert len(responses) == config.evidence.max_responses == 10
    assert document["responses_total"] > 10
    locality_of = world["placed"].set_index("response_id")["locality_id"]
    comment_of = world["comments"].set_index(["response_id", "question"])
    for item in responses:
        assert locality_of[item["response_id"]] == "north-east"
        assert item["theme_id"] == "feeling_safe"
        comment = comment_of.loc[(item["response_id"], item["question"])]
        assert item["quote"] == comment["text_redacted"]
        assert comment["redactions"] == 0


def test_no_quotes_from_a_suppressed_cell(world, config, ranked):
    summary = world["summary"].copy()
    hidden = (summary["locality_id"] == "lochee") & (summary["theme_id"] == "feeling_safe")
    summary.loc[hidden, "suppressed"] = True
    evidence = response_evidence(
        world["placed"], world["codes"], world["comments"], summary, config
    )
    lochee = evidence[evidence["locality_id"] == "lochee"]
    assert "feeling_safe" not in set(lochee["theme_id"])
    assert "community_safety" not in set(lochee["priority_theme"])
    assert not evidence[evidence["locality_id"] == "coldside"].empty


def test_evidence_for_caps_responses(ranked):
    row = ranked.iloc[0].to_dict()
    quotes = [
        {
            "survey_id": SURVEY,
            "response_id": f"r{i}",
            "question": "q",
            "theme_id": "x",
            "quote": f"quote {i}",
            "responses_total": 25,
        }
        for i in range(12)
    ]
    document = json.loads(evidence_for(row, quotes, max_responses=3))
    assert [r["response_id"] for r in document["responses"]] == ["r0", "r1", "r2"]
    assert document["responses_total"] == 25
    assert document["scores"]["priority_score"] == pytest.approx(row["priority_score"])


# --- Worked example ------------------------------------------------------------------------


def worked_example(world, config) -> dict[str, str]:
    """The numbers data/config/themes/README.md quotes for East End × community safety."""
    scores = _bootstrap(world, config, rank_priorities(_scores(world, config), config))
    row = scores.set_index(["locality_id", "priority_theme"]).loc[("east-end", "community_safety")]
    measures = {m["measure_id"]: m for m in json.loads(row["need_evidence"])}
    simd = measures["simd_crime_pop_share_most_deprived_20"]
    crime = measures["crime_rate"]
    voice = {(v["theme_id"], v["kind"]): v for v in json.loads(row["voice_evidence"])}
    scored, mentioned = voice[("feeling_safe", "scores")], voice[("feeling_safe", "mentions")]
    east = scores[scores["locality_id"] == "east-end"].sort_values("rank")
    numbers = {
        "simd_value": f"{simd['value']:.4f}",
        "simd_council": f"{simd['council_value']:.4f}",
        "simd_scotland": f"{simd['scotland_value']:.4f}",
        "simd_spread": f"{simd['spread']:.4f}",
        "simd_z_council": f"{simd['z_council']:.3f}",
        "simd_z_scotland": f"{simd['z_scotland']:.3f}",
        "crime_value": f"{crime['value']:.1f}",
        "crime_lower": f"{crime['lower_ci']:.1f}",
        "crime_upper": f"{crime['upper_ci']:.1f}",
        "crime_council": f"{crime['council_value']:.1f}",
        "crime_scotland": f"{crime['scotland_value']:.1f}",
        "crime_spread": f"{crime['spread']:.2f}",
        "crime_z_scotland": f"{crime['z_scotland']:.3f}",
        "need_vs_council": f"{row['need_vs_council']:.3f}",
        "need_vs_scotland": f"{row['need_vs_scotland']:.3f}",
        "need_raw": f"{row['need_raw']:.3f}",
        "need_score": f"{row['need_score']:.1f}",
        "responses": f"{int(scored['responses'])}",
        "low_score_share": f"{scored['low_score_share']:.4f}",
        "mean_score": f"{scored['mean_score']:.4f}",
        "mean_gap": f"{(7 - scored['mean_score']) / 6:.4f}",
        "comments": f"{int(mentioned['comments'])}",
        "mention_share": f"{mentioned['mention_share']:.4f}",
        "voice_score": f"{row['voice_score']:.1f}",
        "strategic_score": f"{row['strategic_score']:.1f}",
        "priority_score": f"{row['priority_score']:.1f}",
        "rank": f"{int(row['rank'])}",
        "council_rank": f"{int(row['council_rank'])}",
        "agreement": row["agreement"],
        "need_contribution": f"{row['need_contribution']:.1f}",
        "voice_contribution": f"{row['voice_contribution']:.1f}",
        "strategic_contribution": f"{row['strategic_contribution']:.1f}",
        "rank_interval": f"`rank_low` = {row['rank_low']}, `rank_high` = {row['rank_high']}",
        "stability": f"stability {row['stability']:.2f}",
    }
    for position, item in enumerate(east.itertuples(), start=1):
        numbers[f"list_{position}"] = (
            f"| {position} | {item.priority_theme_label} | {item.priority_score:.1f} |"
        )
    return numbers


def test_worked_example_in_readme_is_reproduced(world, config):
    text = README.read_text(encoding="utf-8")
    section = text.split("## Worked example", 1)[1]
    missing = {
        name: value
        for name, value in worked_example(world, config).items()
        if not re.search(rf"(?<![\d.]){re.escape(value)}(?![\d])", section)
    }
    assert not missing, f"README worked example is out of date: {missing}"


def test_scoring_reads_only_the_need_profile_columns_of_locality_rows(world, config):
    """The priorities asset fetches just these columns, and the locality rows of the
    mapped measures, of the national profile."""
    from profiles.triangulate import NEED_PROFILE_COLUMNS

    # A measure the crosswalk does not map, with values that would move any spread it fed.
    unmapped = world["profile"].iloc[:40].assign(measure_id="not_in_the_crosswalk", value=1e6)
    profile = pd.concat([world["profile"], unmapped], ignore_index=True)
    read = (profile["area_level"] == "locality") & profile["measure_id"].isin(
        config.need_measure_ids
    )
    assert (profile["area_level"] != "locality").any()  # the narrowing drops real rows
    assert set(config.need_measure_ids) & set(profile["measure_id"])
    narrowed = profile.loc[read, list(NEED_PROFILE_COLUMNS)]
    arguments = {
        "theme_summary": world["summary"],
        "reach": world["reach"],
        "responses": world["placed"],
        "voice_scores": world["scores"],
        "codes": world["codes"],
        "comments": world["comments"],
        "dim_locality": world["dim_locality"],
    }
    full = triangulate(config, profile=profile, **arguments)
    lean = triangulate(config, profile=narrowed.reset_index(drop=True), **arguments)
    pd.testing.assert_frame_equal(full[0], lean[0])
    pd.testing.assert_frame_equal(full[1], lean[1])


def test_evidence_records_equal_json_safe_of_every_value():
    """Evidence lists are made column by column; each value is what `json_safe` makes of it."""
    from profiles.triangulate.scores import _records, json_safe

    frame = pd.DataFrame(
        {
            "value": [0.1234564999, np.nan, -2.5e-7, 1e300],
            "count": np.array([1, 2, 3, 4], dtype="int64"),
            "flag": [True, False, True, False],
            "label": ["a", None, np.nan, "d"],
            "nullable": pd.array([1.5, None, 2.0000004, 3.0], dtype="Float64"),
            "mixed": [np.float64(0.3333333333), np.int64(7), "x", pd.NA],
        }
    )
    expected = [
        {column: json_safe(frame.at[row, column]) for column in frame.columns}
        for row in frame.index
    ]
    records = _records(frame, frame.columns)
    assert records == expected
    assert records[1]["value"] is None and records[0]["value"] == 0.123456
    assert [type(r["count"]) for r in records] == [int] * 4
