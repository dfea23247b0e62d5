"""The synthetic Place Standard survey of the demo (profiles.demo.survey).

Inputs are made-up data zones and postcodes in the demo's shapes (S019 9xxxx codes, DM
postcodes); the realism checks use the generator's own side tables (true data zone,
intended themes, planted personal data).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from profiles.demo.survey import (
    AGE_BANDS,
    CAMPAIGN_THEMES,
    EXPORT_FILES,
    FIRST_RESPONSE_ID,
    FREE_TEXT_QUESTIONS,
    SUBMITTED_AT_FORMAT,
    SURVEY_COLUMNS,
    GeneratedSurvey,
    generate_place_standard_survey,
    simulate_place_standard_survey,
    write_survey_exports,
)
from profiles.voice.coding import (
    evaluate_held_out,
    load_analyst_codes,
    load_coding_frame,
    macro_f1,
    train_theme_model,
)
from profiles.voice.contract import NO_THEME, PLACE_STANDARD_THEMES
from profiles.voice.duplicates import flag_duplicates

CONFIG = Path(__file__).resolve().parents[1] / "data" / "config"
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
POSTCODE_SHAPE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$")
TODAY = date(2026, 1, 5)


@pytest.fixture(scope="module")
def zones() -> pd.DataFrame:
    """300 data zones in 3 councils; quintiles interleaved so each council has all five."""
    index = np.arange(300)
    return pd.DataFrame(
        {
            "dz_code": [f"S019{number + 1:05d}" for number in index],
            "simd_quintile": index % 5 + 1,
            "council_code": np.select(
                [index < 150, index < 250], ["S12900001", "S12900002"], "S12900003"
            ),
        }
    )


@pytest.fixture(scope="module")
def postcodes(zones: pd.DataFrame) -> pd.DataFrame:
    """20 postcodes per data zone, a few zones with more (postcode counts vary)."""
    rows = []
    for number, dz_code in enumerate(zones["dz_code"]):
        district, sector = number // 30 + 1, number % 9 + 1
        for unit in range(20 + (number % 7) * 3):
            letters = UNIT_LETTERS[unit % 20] + UNIT_LETTERS[(number + unit // 20) % 20]
            rows.append((f"DM{district} {sector}{letters}", dz_code))
    return pd.DataFrame(rows, columns=["postcode", "dz_code"]).drop_duplicates("postcode")


@pytest.fixture(scope="module")
def survey(postcodes: pd.DataFrame, zones: pd.DataFrame) -> GeneratedSurvey:
    return simulate_place_standard_survey(postcodes, zones, n_responses=3000, seed=7, today=TODAY)


def _comments(responses: pd.DataFrame) -> pd.DataFrame:
    long = responses.melt(
        id_vars=["response_id"],
        value_vars=list(FREE_TEXT_QUESTIONS),
        var_name="question",
        value_name="text_redacted",
    )
    return long.dropna(subset=["text_redacted"]).assign(survey_id="demo")


# --- structure ------------------------------------------------------------------------


def test_export_layout(survey: GeneratedSurvey) -> None:
    responses = survey.responses
    assert tuple(responses.columns) == SURVEY_COLUMNS
    assert len(responses) == 3000
    assert responses["response_id"].tolist() == list(
        range(FIRST_RESPONSE_ID, FIRST_RESPONSE_ID + 3000)
    )
    submitted = pd.to_datetime(responses["submitted_at"], format=SUBMITTED_AT_FORMAT)
    assert submitted.is_monotonic_increasing
    assert submitted.min() >= datetime(2025, 10, 20)  # 77 days before 5 January
    assert submitted.max() < datetime(2025, 12, 29)  # fieldwork closed a week before today
    for theme in PLACE_STANDARD_THEMES:
        assert str(responses[theme].dtype) == "Int64"
        assert responses[theme].dropna().between(1, 7).all()
    skipped = responses[list(PLACE_STANDARD_THEMES)].isna().to_numpy().mean()
    assert 0.03 < skipped < 0.08
    allowed_ages = {*AGE_BANDS, "Prefer not to say", "16 - 24", "65 to 74", "75 and over"}
    assert set(responses["age_band"].dropna()) == allowed_ages
    assert responses["age_band"].isna().mean() == pytest.approx(0.03, abs=0.01)
    assert set(responses["gender"].dropna()) == {
        "Woman",
        "Man",
        "In another way",
        "Prefer not to say",
    }


def test_postcodes_as_typed(survey: GeneratedSurvey, postcodes: pd.DataFrame) -> None:
    typed = survey.responses["postcode"]
    status = survey.respondents["postcode_status"]
    assert status.value_counts(normalize=True)["valid"] == pytest.approx(0.95, abs=0.015)
    assert set(status) == {"valid", "blank", "malformed", "unknown"}
    known = set(postcodes["postcode"])
    canonical = typed.str.upper().str.strip().str.replace(r"\s+", "", regex=True)
    canonical = canonical.str[:-3] + " " + canonical.str[-3:]
    valid = status == "valid"
    assert canonical[valid].isin(known).all()
    assert (typed[valid] != canonical[valid]).mean() == pytest.approx(0.16, abs=0.03)
    assert (typed[status == "blank"] == "").all()
    unknown = typed[status == "unknown"]
    assert unknown.str.match(POSTCODE_SHAPE).all() and not unknown.isin(known).any()
    assert not typed[status == "malformed"].str.match(POSTCODE_SHAPE).any()
    # The true data zone behind every response has postcodes of its own.
    assert survey.respondents["dz_code"].isin(postcodes["dz_code"]).all()


def test_small_surveys_and_bad_inputs(postcodes: pd.DataFrame, zones: pd.DataFrame) -> None:
    small = simulate_place_standard_survey(postcodes, zones, n_responses=40, seed=1)
    assert len(small.responses) == 40
    assert small.respondents["campaign"].sum() == 4  # campaign scaled to a tenth
    with pytest.raises(ValueError, match="too small"):
        generate_place_standard_survey(postcodes, zones, n_responses=0)
    elsewhere = zones.assign(dz_code=zones["dz_code"].str.replace("S019", "S018"))
    with pytest.raises(ValueError, match="no data zone has both"):
        generate_place_standard_survey(postcodes, elsewhere, n_responses=100)


# --- determinism ----------------------------------------------------------------------


def test_same_seed_gives_identical_files(postcodes, zones, survey, tmp_path: Path) -> None:
    again = generate_place_standard_survey(postcodes, zones, n_responses=3000, seed=7, today=TODAY)
    pd.testing.assert_frame_equal(again, survey.responses)
    first = write_survey_exports(survey.responses, tmp_path / "a")
    second = write_survey_exports(again, tmp_path / "b")
    assert {path.name for path in first.values()} == set(EXPORT_FILES.values())
    for kind in EXPORT_FILES:
        assert first[kind].read_bytes() == second[kind].read_bytes(), kind
    other = generate_place_standard_survey(postcodes, zones, n_responses=3000, seed=8, today=TODAY)
    assert not other["what_could_be_better"].equals(survey.responses["what_could_be_better"])
    shifted = generate_place_standard_survey(
        postcodes, zones, n_responses=3000, seed=7, today=TODAY + timedelta(days=10)
    )
    moved = pd.to_datetime(shifted["submitted_at"], format=SUBMITTED_AT_FORMAT)
    original = pd.to_datetime(survey.responses["submitted_at"], format=SUBMITTED_AT_FORMAT)
    assert (moved - original).eq(pd.Timedelta(days=10)).all()


# --- realism --------------------------------------------------------------------------


def test_fewer_responses_from_deprived_areas(survey, postcodes, zones) -> None:
    per_zone = postcodes.groupby("dz_code").size().rename("postcodes")
    sizes = zones.join(per_zone, on="dz_code").groupby("simd_quintile")["postcodes"].sum()
    responses = survey.respondents.groupby("simd_quintile").size()
    rate = responses / sizes
    assert rate.is_monotonic_increasing, rate
    assert rate[5] / rate[1] == pytest.approx(1.15 / 0.45, rel=0.2)


def test_scores_lower_in_deprived_areas_for_safety_upkeep_and_work(survey) -> None:
    scores = survey.responses[list(PLACE_STANDARD_THEMES)].astype(float)
    means = scores.groupby(survey.respondents["simd_quintile"].to_numpy()).mean()
    for theme in ("feeling_safe", "care_maintenance", "work_economy"):
        assert means[theme].is_monotonic_increasing, means[theme]
        assert means.at[5, theme] - means.at[1, theme] > 1.0
    assert abs(means.at[5, "natural_space"] - means.at[1, "natural_space"]) < 0.5
    assert means.mean().idxmin() == "influence_control"


def test_comments_follow_scores(survey) -> None:
    responses = survey.responses.set_index("response_id")
    assert responses["what_is_good"].isna().mean() == pytest.approx(0.22, abs=0.03)
    assert responses["what_could_be_better"].isna().mean() == pytest.approx(0.14, abs=0.03)
    intended = survey.intended_themes
    campaigners = set(survey.respondents.loc[survey.respondents["campaign"], "response_id"])
    themed = intended[
        (intended["theme_id"] != NO_THEME) & ~intended["response_id"].isin(campaigners)
    ]
    scores = [responses.at[row.response_id, row.theme_id] for row in themed.itertuples(index=False)]
    themed = themed.assign(score=scores)
    good = themed[themed["question"] == "what_is_good"]
    better = themed[themed["question"] == "what_could_be_better"]
    assert (good["score"] >= 5).all() and (better["score"] <= 3).all()
    # Every theme gets talked about, and written comments are varied.
    assert set(better["theme_id"]) == set(PLACE_STANDARD_THEMES)
    texts = responses["what_could_be_better"].dropna()
    longer = texts[texts.str.len() >= 30]
    assert longer.nunique() / len(longer) > 0.93
    assert texts.str.contains("’").any() and texts.str.contains("£").any()
    assert texts.str.contains(r"\b(?:cannae|disnae|nae|weans|wid)\b").mean() > 0.02
    assert texts.str.contains("\n").any()


def test_planted_personal_data(survey) -> None:
    planted = survey.personal_data
    assert set(planted["kind"]) == {"email", "phone", "address", "postcode"}
    commented = survey.responses[list(FREE_TEXT_QUESTIONS)].notna().sum().sum()
    assert len(planted) / commented == pytest.approx(0.025, abs=0.012)
    texts = survey.responses.set_index("response_id")
    for row in planted.itertuples(index=False):
        assert row.value in texts.at[row.response_id, row.question]
    emails = planted.loc[planted["kind"] == "email", "value"]
    assert emails.str.fullmatch(r"[a-z]+\.\d{3}@example\.com").all()


def test_campaign_and_exact_duplicates_are_found(survey) -> None:
    truth = survey.respondents
    campaign = truth.loc[truth["campaign"], "response_id"]
    assert len(campaign) == 20
    assert truth.loc[truth["campaign"], "council_code"].nunique() == 1
    texts = survey.responses.set_index("response_id").loc[campaign, "what_could_be_better"]
    assert texts.str.contains("Braeside", case=False).all()
    copies = truth[truth["duplicate_of"].notna()]
    assert len(copies) == 3
    flags = flag_duplicates(survey.responses.assign(survey_id="demo"), _comments(survey.responses))
    assert (
        flags.loc[flags["is_duplicate"], "response_id"].tolist() == copies["response_id"].tolist()
    )
    grouped = flags.loc[flags["campaign_group"].notna(), "response_id"]
    assert grouped.tolist() == sorted(campaign)
    assert flags["campaign_group"].dropna().unique().tolist() == ["campaign-1"]


# --- exports --------------------------------------------------------------------------


def test_exports_read_back(survey, tmp_path: Path) -> None:
    paths = write_survey_exports(survey.responses, tmp_path)
    utf8 = pd.read_csv(
        paths["csv"], encoding="utf-8", dtype={"postcode": str}, keep_default_na=False
    )
    assert len(utf8) == 3000 and tuple(utf8.columns) == SURVEY_COLUMNS
    assert utf8["what_could_be_better"].str.contains("£").any()
    raw = paths["cp1252"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert b"\xa3" in raw and b"\x92" in raw and b"\r\n" in raw  # £, ’ and CRLF
    cp1252 = pd.read_csv(paths["cp1252"], encoding="cp1252", keep_default_na=False, dtype=str)
    plain = pd.read_csv(paths["csv"], encoding="utf-8", keep_default_na=False, dtype=str)
    pd.testing.assert_frame_equal(cp1252, plain)
    sheet = load_workbook(paths["xlsx"], read_only=True)["Responses"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == SURVEY_COLUMNS and len(rows) == 3001
    first = rows[1]
    assert isinstance(first[1], datetime)
    assert first[1].strftime(SUBMITTED_AT_FORMAT) == survey.responses.at[0, "submitted_at"]
    assert first[0] == FIRST_RESPONSE_ID
    scores = [row[5] for row in rows[1:]]
    assert {type(value) for value in scores} <= {int, type(None)}


# --- the theme model on generated comments -------------------------------------------


def test_theme_model_recovers_intended_themes(survey) -> None:
    model = train_theme_model(load_coding_frame(CONFIG), load_analyst_codes(CONFIG), seed=0)
    comments = _comments(survey.responses)
    held = comments.merge(survey.intended_themes, on=["response_id", "question"])
    held["comment_id"] = held["response_id"].astype(str) + "/" + held["question"]
    quality = evaluate_held_out(model, held.rename(columns={"text_redacted": "text"}))
    assert quality["support"].sum() > 4000
    assert macro_f1(quality) >= 0.8, quality.to_string()
    assert quality.set_index("theme_id").loc[list(CAMPAIGN_THEMES), "recall"].min() > 0.6
