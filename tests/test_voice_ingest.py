"""Tests for survey ingestion end to end (profiles.voice.ingest, .validate, .place).

Every file of the synthetic malformed corpus (tests/voice_corpus.py) is ingested and its
outcome compared exactly with tests/data/malformed_exports/index.csv; then accounting,
contract columns and privacy (no e-mail, phone or postcode outside the raw frames) are
checked on every loaded file. Real files from ../shared/data/real check the Edinburgh
consultation format and postcode geocoding against the NSPL.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from voice_corpus import (
    CORPUS_DIR,
    COUNCIL,
    HEADER,
    INDEX_NAME,
    TODAY,
    parse_counts,
    ps_row,
    synthetic_geography,
    to_csv,
)

from profiles.provenance import sha256_file
from profiles.voice import contract
from profiles.voice.ingest import (
    RAW_QUARANTINE_COLUMNS,
    RESPONSE_LOCALITY_COLUMNS,
    IngestResult,
    SurveyFileError,
    ingest_survey,
)
from profiles.voice.place import geocode_responses
from profiles.voice.redact import contains_personal_data
from profiles.voice.schema import load_schema, schema_from_mapping
from profiles.voice.validate import CELL_REASONS, ROW_REASONS

LOOKUP, DIM_DATAZONE, PLACE_NAMES = synthetic_geography()
INDEX = pd.read_csv(CORPUS_DIR / INDEX_NAME, dtype=str, keep_default_na=False)
LOADED = INDEX.loc[INDEX["outcome"] == "loaded", "file"].tolist()

# Independent of the redaction patterns, and deliberately blunter.
SIMPLE_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[A-Za-z]{2,}")
SIMPLE_PHONE = re.compile(r"(?:\+44|\b0)(?:[\s\-()]*\d){9,10}")
SIMPLE_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.I)
NON_RAW_FRAMES = (
    "responses",
    "scores",
    "comments",
    "quarantine",
    "cell_issues",
    "response_locality",
)


def ingest(name: str, schema: str = "place_standard", **kwargs) -> IngestResult:
    return ingest_survey(
        CORPUS_DIR / name,
        schema=schema,
        council_code=COUNCIL,
        postcode_lookup=LOOKUP,
        dim_datazone=DIM_DATAZONE,
        place_names=PLACE_NAMES,
        today=TODAY,
        **kwargs,
    )


_CACHE: dict[str, IngestResult] = {}


def loaded(name: str) -> IngestResult:
    if name not in _CACHE:
        schema = INDEX.set_index("file").at[name, "schema"]
        _CACHE[name] = ingest(name, schema)
    return _CACHE[name]


# --- the corpus, file by file ----------------------------------------------------------------


@pytest.mark.parametrize("row", INDEX.to_dict("records"), ids=lambda row: row["file"])
def test_corpus_outcome_is_exactly_as_indexed(row: dict[str, str]) -> None:
    if row["outcome"] == "rejected":
        with pytest.raises(SurveyFileError) as caught:
            ingest(row["file"], row["schema"])
        assert row["error_contains"] in str(caught.value)
        assert row["file"] in str(caught.value)
        return
    accounting = loaded(row["file"]).accounting
    assert accounting["rows_in"] == int(row["rows_in"])
    assert accounting["rows_loaded"] == int(row["rows_loaded"])
    assert accounting["rows_quarantined"] == int(row["rows_quarantined"])
    assert accounting["quarantined_by_reason"] == parse_counts(row["quarantined_by_reason"])
    assert accounting["cells_set_aside_by_reason"] == parse_counts(row["cells_set_aside_by_reason"])
    geocoded = {status: n for status, n in accounting["geocode_by_status"].items() if n}
    assert geocoded == parse_counts(row["geocode_by_status"])
    if row["encoding"]:
        assert accounting["encoding"] == row["encoding"]


@pytest.mark.parametrize("name", LOADED)
def test_accounting_adds_up_and_frames_follow_the_contract(name: str) -> None:
    result = loaded(name)
    accounting = result.accounting
    assert accounting["rows_in"] == accounting["rows_loaded"] + accounting["rows_quarantined"]
    assert sum(accounting["quarantined_by_reason"].values()) == accounting["rows_quarantined"]
    assert sum(accounting["cells_set_aside_by_reason"].values()) == accounting["cells_set_aside"]
    assert sum(accounting["geocode_by_status"].values()) == accounting["rows_loaded"]
    assert set(accounting["quarantined_by_reason"]) <= set(ROW_REASONS)
    assert set(accounting["cells_set_aside_by_reason"]) <= set(CELL_REASONS)
    assert accounting["file_sha256"] == sha256_file(CORPUS_DIR / name)

    expected = {
        "raw_responses": contract.RAW_RESPONSE_COLUMNS,
        "responses": contract.RESPONSE_COLUMNS,
        "scores": contract.SCORE_COLUMNS,
        "comments": contract.COMMENT_COLUMNS,
        "quarantine": contract.QUARANTINE_COLUMNS,
        "cell_issues": contract.CELL_ISSUE_COLUMNS,
        "raw_quarantine": RAW_QUARANTINE_COLUMNS,
        "response_locality": RESPONSE_LOCALITY_COLUMNS,
    }
    for frame_name, columns in expected.items():
        assert tuple(getattr(result, frame_name).columns) == columns, frame_name
    responses = result.responses
    assert len(responses) == len(result.raw_responses) == accounting["rows_loaded"]
    assert len(result.quarantine) == len(result.raw_quarantine) == accounting["rows_quarantined"]
    assert responses["response_id"].is_unique
    assert (responses["response_id"] == result.raw_responses["response_id"]).all()
    assert (responses["council_code"] == COUNCIL).all()
    assert not responses["is_duplicate"].any()
    assert responses["campaign_group"].isna().all()
    assert responses["cells_set_aside"].sum() == len(result.cell_issues)
    assert set(result.scores["response_id"]) <= set(responses["response_id"])
    assert set(result.comments["response_id"]) <= set(responses["response_id"])
    assert result.scores["score"].between(1, 7).all()
    matched = responses["geocode_status"] == "matched"
    assert responses.loc[~matched, ["dz_code", "ward_code"]].isna().all().all()
    # every line of the file is accounted for: loaded and quarantined rows never overlap
    rows = pd.concat([result.raw_responses["source_row"], result.quarantine["source_row"]])
    assert rows.is_unique


@pytest.mark.parametrize("name", LOADED)
def test_no_personal_data_outside_the_raw_frames(name: str) -> None:
    result = loaded(name)
    for frame_name in NON_RAW_FRAMES:
        frame = getattr(result, frame_name)
        assert "postcode_raw" not in frame.columns and "place_raw" not in frame.columns
        for column in frame.columns:
            if frame[column].dtype != "string":
                continue
            for value in frame[column].dropna():
                assert not SIMPLE_EMAIL.search(value), (frame_name, column, value)
                assert not SIMPLE_PHONE.search(value), (frame_name, column, value)
                assert not SIMPLE_POSTCODE.search(value), (frame_name, column, value)
                assert not contains_personal_data(value), (frame_name, column, value)


def test_the_privacy_check_would_catch_a_leak() -> None:
    """The raw frames do hold postcodes and e-mails, and the simple regexes see them."""
    raw = loaded("25_unknown_extra_columns.csv").raw_responses
    assert raw["postcode_raw"].str.fullmatch(SIMPLE_POSTCODE).all()
    assert raw["extra_json"].str.contains(SIMPLE_EMAIL).sum() == 3
    assert loaded("25_unknown_extra_columns.csv").accounting["extra_columns"] == [
        "Source Channel",
        "Contact email",
        "Notes",
    ]


# --- specific behaviour ----------------------------------------------------------------------


def test_geocoding_per_response() -> None:
    result = loaded("16_bad_postcodes.csv")
    got = result.responses.set_index("response_id")[
        ["dz_code", "ward_code", "geocode_method", "geocode_status"]
    ]
    expected = {
        "PS0001": (None, None, "unmatched", "unmatched_blank"),
        "PS0002": (None, None, "unmatched", "unmatched_unknown_postcode"),
        "PS0003": (None, None, "unmatched", "unmatched_malformed"),
        "PS0004": (None, None, "unmatched", "unmatched_malformed"),
        "PS0005": (None, None, "unmatched", "unmatched_malformed"),
        "PS0006": ("S01007682", "S13002545", "postcode", "matched"),
        "PS0007": ("S01007687", "S13002547", "postcode", "matched"),
        "PS0008": (None, None, "postcode", "outside_council"),
        "PS0009": (None, "S13002546", "place_name", "matched"),
        "PS0010": ("S01007690", "S13002549", "dz_code", "matched"),
        "PS0011": (None, None, "unmatched", "unmatched_unknown_place"),
        "PS0012": (None, "S13002552", "place_name", "matched"),
        "PS0013": (None, None, "place_name", "outside_council"),
        "PS0014": (None, None, "place_name", "matched"),
    }
    actual = {rid: tuple(None if pd.isna(v) else v for v in row) for rid, row in got.iterrows()}
    assert actual == expected
    localities = result.response_locality.set_index("response_id")["locality_id"].to_dict()
    assert localities == {"PS0009": "lochee", "PS0012": "the-ferry", "PS0014": "hilltown"}
    assert result.accounting["place_name_only"] == 3
    # the respondent's own text stays in the raw layer only
    raw = result.raw_responses.set_index("response_id")
    assert raw.at["PS0007", "postcode_raw"] == " DD2  2AB "
    assert raw.at["PS0012", "place_raw"] == "the ferry"


def test_geocode_responses_directly() -> None:
    responses = pd.DataFrame(
        {
            "postcode_raw": ["dd1 1ab", None, "ＤＤ２ ２ＡＢ", "DD8 2AB", "DD1 1AB"],
            "place": [None, "s01007683", None, "Lochee", None],
        }
    )
    out = geocode_responses(responses, LOOKUP, DIM_DATAZONE, PLACE_NAMES, COUNCIL)
    assert out["dz_code"].tolist()[:3] == ["S01007682", "S01007683", "S01007687"]
    assert out["geocode_method"].tolist() == [
        "postcode",
        "dz_code",
        "postcode",
        "postcode",
        "postcode",
    ]
    # an Angus postcode wins over a Dundee place name: the postcode is the stronger evidence
    assert out.at[3, "geocode_status"] == "outside_council"
    assert out["postcode_raw"].tolist() == responses["postcode_raw"].tolist()


def test_duplicates_keep_the_first_use() -> None:
    result = loaded("17_duplicate_ids.csv")
    kept = result.raw_responses[["response_id", "source_row"]].values.tolist()
    assert kept == [["A1", 2], ["A2", 3], ["A3", 5]]
    quarantine = result.quarantine.set_index("source_row")
    assert quarantine.loc[[4, 6, 7], "reason"].tolist() == ["duplicate_response_id"] * 3
    assert quarantine.at[4, "detail"] == "response id 'A1' already used on row 2"
    assert quarantine.at[6, "detail"] == "response id 'A2' already used on row 3"
    assert quarantine.loc[[8, 9], "reason"].tolist() == ["missing_response_id"] * 2
    assert quarantine.loc[[8, 9], "response_id"].isna().all()


def test_scores_accept_padding_and_whole_decimals() -> None:
    result = loaded("15_bad_scores.csv")
    scores = result.scores.set_index(["response_id", "theme_id"])["score"]
    assert scores[("PS0001", "feeling_safe")] == 7
    assert scores[("PS0002", "feeling_safe")] == 4
    assert ("PS0003", "feeling_safe") not in scores.index  # skipped question
    assert ("PS0001", "moving_around") not in scores.index  # '0' set aside
    assert len(scores) == 6 * 14 - 6 - 1
    issues = result.cell_issues.set_index(["response_id", "field"])
    assert issues.at[("PS0003", "traffic_parking"), "reason"] == "score_not_integer"
    assert issues.at[("PS0003", "traffic_parking"), "detail"] == "'4.5' is not a whole number 1-7"
    assert issues.at[("PS0006", "play_recreation"), "detail"] == "'77' is outside the scale 1-7"
    assert result.responses.set_index("response_id")["cells_set_aside"].tolist() == [1] * 6


def test_dates_are_parsed_to_naive_utc() -> None:
    result = loaded("18_future_and_bad_dates.csv")
    submitted = result.responses.set_index("response_id")["submitted_at"]
    assert submitted["PS0003"] == pd.Timestamp("2024-06-30 23:59")
    assert submitted["PS0006"] == pd.Timestamp("2024-05-14 10:00")
    assert submitted["PS0007"] == pd.Timestamp("2024-05-14 09:00")  # +01:00 -> UTC
    assert submitted[["PS0001", "PS0002", "PS0004", "PS0005", "PS0008", "PS0009"]].isna().all()
    assert result.responses["submitted_at"].dtype == "datetime64[ns]"


def test_excel_damage_is_set_aside_with_the_reason() -> None:
    result = loaded("19_excel_mangled.csv")
    issues = result.cell_issues.set_index(["response_id", "field"])["reason"].to_dict()
    assert issues == {
        ("PS0001", "age_band"): "excel_mangled",
        ("PS0001", "moving_around"): "excel_mangled",
        ("PS0002", "public_transport"): "excel_error",
        ("PS0002", "what_is_good"): "excel_error",
        ("PS0003", "traffic_parking"): "excel_error",
        ("PS0004", "postcode"): "excel_mangled",
        ("PS0005", "postcode"): "excel_error",
        ("PS0006", "submitted_at"): "excel_error",
        ("PS0007", "submitted_at"): "excel_mangled",
    }
    comments = result.comments
    assert not (
        (comments["response_id"] == "PS0002") & (comments["question"] == "what_is_good")
    ).any()
    fields = json.loads(result.raw_quarantine.at[0, "fields_json"])
    assert len(fields) == len(HEADER) and fields[0] == "#N/A"


def test_age_bands_and_gender_are_harmonised(tmp_path: Path) -> None:
    answers = [
        ("16 to 24", "16-24"),
        ("18–24", "16-24"),
        ("34", "25-34"),
        ("Under 16", "0-15"),
        ("75 and over", "75+"),
        ("80+", "75+"),
        ("Prefer not to say", None),
        ("20-29", None),  # straddles two bands: set aside, not guessed
    ]
    rows = [
        ps_row(
            n,
            age_band=age,
            gender=["Woman", "m", "Non binary", "Agender", "", "F", "x", "MALE"][n - 1],
        )
        for n, (age, _) in enumerate(answers, start=1)
    ]
    path = tmp_path / "ages.csv"
    path.write_text(to_csv(rows), encoding="utf-8")
    result = ingest_survey(
        path,
        council_code=COUNCIL,
        postcode_lookup=LOOKUP,
        dim_datazone=DIM_DATAZONE,
        place_names=PLACE_NAMES,
        today=TODAY,
    )
    responses = result.responses
    assert [None if pd.isna(v) else v for v in responses["age_band"]] == [a for _, a in answers]
    assert [None if pd.isna(v) else v for v in responses["gender"]] == [
        "female",
        "male",
        "non_binary",
        "other",
        None,
        "female",
        "other",
        "male",
    ]
    assert result.accounting["cells_set_aside_by_reason"] == {"age_band_unrecognised": 1}


def test_formula_like_text_is_kept_and_confusables_are_caught() -> None:
    comments = loaded("26_formula_like_comments.csv").comments
    texts = comments.loc[comments["question"] == "what_could_be_better", "text_redacted"].tolist()
    assert texts == [
        '=HYPERLINK("http://example.com/x","click here")',
        "[phone] call me about the park",
        "@SUM(A1:A9) is what the council should do",
        "-1+1 for the new lights",
        "=1+1",
    ]
    confusables = loaded("27_unicode_confusables.csv").comments
    good = confusables[confusables["question"] == "what_is_good"]["text_redacted"].tolist()
    assert good == [
        "Write to [email] please",
        "mail [email] today",
        "contact [email]",
        "ring [phone] anytime",
        "bidi gnitset override",
    ]


def test_personal_data_corpus_redaction_counts() -> None:
    result = loaded("32_personal_data_in_comments.csv")
    assert result.accounting["redactions_by_kind"] == {
        "email": 1,
        "phone": 4,
        "address": 3,
        "postcode": 3,
    }
    assert result.accounting["redactions"] == 11
    kept = result.comments.set_index(["response_id", "question"])["text_redacted"]
    assert kept[("PS0004", "what_is_good")] == "Rated 7 out of 10; the A90 at 10:30 is busy"
    assert kept[("PS0003", "what_could_be_better")] == "In 2019 the number 10 bus was better"


def test_consultation_schema_reads_any_number_of_questions() -> None:
    result = loaded("33_consultation_generic.csv")
    counts = result.comments.groupby("question").size().to_dict()
    assert counts == {
        "any_other_comments": 2,
        "q1_what_do_you_like_about_your_area": 3,
        "q2_what_would_you_change": 2,
        "question_3_travel": 2,
    }
    assert result.scores.empty
    assert result.comments["text_redacted"].str.contains("[phone]", regex=False).sum() == 1
    assert result.accounting["extra_columns"] == ["Channel"]
    assert json.loads(result.raw_responses.at[0, "extra_json"]) == {"Channel": "Online"}


def test_response_ids_holding_personal_data_are_pseudonymised() -> None:
    first = loaded("38_response_ids_are_emails.csv")
    again = ingest("38_response_ids_are_emails.csv")
    ids = first.responses["response_id"].tolist()
    assert all(re.fullmatch(r"pii-[0-9a-f]{12}", rid) for rid in ids)
    assert ids == again.responses["response_id"].tolist()  # stable
    assert set(first.scores["response_id"]) == set(ids)
    received = [
        json.loads(e)["_response_id_as_received"] for e in first.raw_responses["extra_json"]
    ]
    assert received == ["resident1@example.com", "resident2@example.com", "resident3@example.com"]
    assert first.accounting["response_ids_pseudonymised"] == 3


def test_survey_id_is_stable_and_content_addressed(tmp_path: Path) -> None:
    first = ingest("01_clean_baseline.csv")
    assert (
        first.survey_id
        == "01_clean_baseline-" + sha256_file(CORPUS_DIR / "01_clean_baseline.csv")[:8]
    )
    assert ingest("01_clean_baseline.csv").survey_id == first.survey_id
    changed = tmp_path / "01_clean_baseline.csv"
    changed.write_bytes((CORPUS_DIR / "01_clean_baseline.csv").read_bytes() + b"\n")
    other = ingest_survey(
        changed,
        council_code=COUNCIL,
        postcode_lookup=LOOKUP,
        dim_datazone=DIM_DATAZONE,
        place_names=PLACE_NAMES,
        today=TODAY,
    )
    assert other.survey_id != first.survey_id
    named = ingest("01_clean_baseline.csv", survey_id="ps-2024")
    assert set(named.responses["survey_id"]) == {"ps-2024"}
    assert set(named.comments["survey_id"]) == {"ps-2024"}


def test_same_answers_in_every_format_give_the_same_frames() -> None:
    """CSV, semicolons, tabs, BOM and UTF-16 exports of the same answers load identically."""
    base = loaded("01_clean_baseline.csv")
    for name in ("02_semicolon_delimiter.csv", "03_tab_delimiter.tsv", "04_utf8_bom.csv"):
        other = loaded(name)
        n = len(other.responses)
        cols = ["response_id", "submitted_at", "age_band", "gender", "dz_code", "geocode_status"]
        pd.testing.assert_frame_equal(
            other.responses[cols], base.responses[cols].head(n), check_dtype=True
        )
    xlsx = loaded("20_place_standard.xlsx")
    cols = ["response_id", "theme_id", "score"]
    scores = base.scores[base.scores["response_id"].isin(xlsx.responses["response_id"])]
    pd.testing.assert_frame_equal(
        xlsx.scores[cols].reset_index(drop=True), scores[cols].reset_index(drop=True)
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(
            st.sampled_from(
                [
                    "",
                    "PS1",
                    "PS2",
                    "7",
                    "0",
                    "x",
                    '"',
                    ",",
                    "\n",
                    "\r",
                    "\x00",
                    "DD1 1AB",
                    "#N/A",
                    "a@example.com",
                    "2024-05-01",
                    " ",
                    "07700 900123",
                ]
            ),
            min_size=0,
            max_size=len(HEADER) + 2,
        ).map(",".join),
        min_size=1,
        max_size=12,
    )
)
def test_nothing_crashes_and_every_row_is_accounted_for(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.csv"
        path.write_text(",".join(HEADER) + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
        try:
            result = ingest_survey(
                path,
                council_code=COUNCIL,
                postcode_lookup=LOOKUP,
                dim_datazone=DIM_DATAZONE,
                place_names=PLACE_NAMES,
                today=TODAY,
            )
        except SurveyFileError as error:
            assert "fuzz.csv" in str(error)
            return
    accounting = result.accounting
    assert accounting["rows_in"] == accounting["rows_loaded"] + accounting["rows_quarantined"]
    for frame_name in NON_RAW_FRAMES:
        frame = getattr(result, frame_name)
        for column in frame.columns:
            if frame[column].dtype == "string":
                assert not frame[column].dropna().str.contains("@example.com").any()
                assert not frame[column].dropna().str.contains("07700 900123").any()


def test_performance_100k_responses(tmp_path: Path) -> None:
    # 1,000 distinct answer patterns, each repeated under 100 distinct ids; every 97th row
    # holds a phone number and an e-mail, every 101st an out-of-range score.
    patterns = to_csv([ps_row(n) for n in range(1000)]).splitlines()[1:]
    pii = to_csv([ps_row(0, what_could_be_better="ring 07700 900123 or me@example.com")])
    pii_rest = pii.splitlines()[1].split(",", 1)[1]
    bad = to_csv([ps_row(0, moving_around="9")]).splitlines()[1].split(",", 1)[1]
    lines = [",".join(HEADER)]
    for n in range(100_000):
        rest = patterns[n % 1000].split(",", 1)[1]
        if n % 97 == 0:
            rest = pii_rest
        elif n % 101 == 0:
            rest = bad
        lines.append(f"R{n:06d},{rest}")
    path = tmp_path / "ps100k.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    start = time.perf_counter()
    result = ingest_survey(
        path,
        council_code=COUNCIL,
        postcode_lookup=LOOKUP,
        dim_datazone=DIM_DATAZONE,
        place_names=PLACE_NAMES,
        today=TODAY,
    )
    seconds = time.perf_counter() - start
    print(f"\n100,000 responses ingested in {seconds:.1f} s")
    accounting = result.accounting
    assert accounting["rows_loaded"] == 100_000
    pii_rows = len(range(0, 100_000, 97))
    bad_rows = sum(1 for n in range(0, 100_000, 101) if n % 97)
    assert accounting["cells_set_aside_by_reason"] == {"score_out_of_range": bad_rows}
    assert accounting["redactions_by_kind"] == {
        "email": pii_rows,
        "phone": pii_rows,
        "address": 0,
        "postcode": 0,
    }
    assert len(result.scores) == 100_000 * 14 - bad_rows
    assert seconds < 60  # a few seconds on a workstation; generous for shared CI runners


# --- real data -------------------------------------------------------------------------------

NATURAL_NEIGHBOURHOODS = "engagement/edinburgh_natural_neighbourhoods_survey_2013_cec.csv"
EDINBURGH = "S12000036"


def test_real_edinburgh_consultation_loads_every_row(real_data: Path) -> None:
    """2,955 real responses (MANIFEST): odd double-spaced headers, dd/mm/yyyy dates, CRLF."""
    schema_doc = load_schema("consultation")
    document = {
        "name": "natural_neighbourhoods",
        "columns": {
            **{role: list(names) for role, names in schema_doc.columns.items()},
            "place": ["Allocated NN"],  # 'Allocated  NN' in the file: spacing is ignored
        },
        "dates": {"formats": list(schema_doc.date_formats)},
    }
    schema = schema_from_mapping(document)
    place_names = pd.DataFrame(
        {"council_code": [EDINBURGH], "locality_id": ["leith"], "locality_name": ["Leith"]}
    )
    empty_lookup = pd.DataFrame(
        {"postcode_key": pd.Series(dtype="string"), "dz_code": pd.Series(dtype="string")}
    )
    result = ingest_survey(
        real_data / NATURAL_NEIGHBOURHOODS,
        schema=schema,
        council_code=EDINBURGH,
        postcode_lookup=empty_lookup,
        dim_datazone=pd.DataFrame(columns=["dz_code", "ward_code", "council_code"]),
        place_names=place_names,
        today=date(2014, 11, 28),
    )
    accounting = result.accounting
    assert (accounting["rows_in"], accounting["rows_loaded"]) == (2955, 2955)
    assert accounting["rows_quarantined"] == 0
    assert accounting["cells_set_aside"] == 0
    assert result.responses["submitted_at"].notna().all()
    assert result.responses["submitted_at"].min() >= pd.Timestamp("2013-09-01")
    source = pd.read_csv(real_data / NATURAL_NEIGHBOURHOODS, dtype=str, keep_default_na=False)
    leith = (
        source["Allocated  NN"].str.replace(r"[^0-9a-z]", "", regex=True, case=False).str.lower()
    )
    expected_leith = int((leith == "leith").sum())
    assert expected_leith >= 367  # MANIFEST: 'Leith' 367 as written, plus case variants
    # no postcode is in the (empty) lookup, so place names decide where they can
    assert accounting["geocode_by_status"]["matched"] == expected_leith
    assert accounting["geocode_by_status"]["unmatched_unknown_postcode"] == 2955 - expected_leith
    assert set(result.response_locality["locality_id"]) == {"leith"}
    assert "Xcord" in accounting["extra_columns"]


def test_real_postcodes_geocode_against_the_nspl(real_data: Path) -> None:
    from profiles.sources.lookup import read_dz_lookup
    from profiles.sources.postcodes import read_nspl

    lookup = read_nspl(real_data / "postcodes/NSPL_NOV_2021_UK_PH.csv").frame
    dim = read_dz_lookup(real_data / "lookups/Datazone2011lookup_2022-05-31.csv")
    perth = "S12000048"
    sample = lookup.sample(400, random_state=7)
    rng = np.random.default_rng(7)
    typed = [
        (pc.lower() if flip else pc.replace(" ", "")) if rng.random() < 0.5 else pc
        for pc, flip in zip(sample["postcode"], rng.random(400) < 0.5, strict=True)
    ]
    responses = pd.DataFrame(
        {"postcode_raw": [*typed, "PH1 9ZZ", "PH1", ""], "place": [None] * 403}
    )
    wards = dim.loc[dim["council_code"] == perth, ["ward_code", "ward_name"]].drop_duplicates()
    place_names = pd.DataFrame(
        {
            "council_code": perth,
            "locality_id": wards["ward_code"],
            "locality_name": wards["ward_name"],
            "ward_code": wards["ward_code"],
        }
    )
    out = geocode_responses(responses, lookup, dim, place_names, perth)
    councils = sample["dz_code"].map(dim.set_index("dz_code")["council_code"])
    inside = (councils == perth).to_numpy()
    status = out["geocode_status"].to_numpy()
    assert (status[:400][inside] == "matched").all()
    assert (status[:400][~inside] == "outside_council").all()
    assert (out["dz_code"].to_numpy()[:400][inside] == sample["dz_code"].to_numpy()[inside]).all()
    assert status[400:].tolist() == [
        "unmatched_unknown_postcode",
        "unmatched_malformed",
        "unmatched_blank",
    ]
    assert inside.sum() > 300 and (~inside).sum() > 20  # both paths exercised
