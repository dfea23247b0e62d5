"""Tests for free-text redaction and cleaning (profiles.voice.redact).

Positives and look-alikes that must survive are listed case by case; property tests embed
generated e-mails, UK phone numbers and postcodes in text and check with independent,
deliberately simple regexes that none survives; the real Littlemore survey comments
(no personal data, per the MANIFEST) check the false-positive rate on real text.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles.voice.redact import (
    POSTCODE_AREAS,
    clean_text,
    contains_personal_data,
    personal_data_mask,
    redact_counts,
    redact_series,
    redact_text,
)

# Independent checks: simpler and broader than the redaction patterns.
SIMPLE_EMAIL = re.compile(r"\S+@\S+\.\w+")
SIMPLE_PHONE = re.compile(r"(?:\+44|\b0)(?:[\s\-()]*\d){9,10}")
SIMPLE_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.I)

REDACTED = [
    ("mail me at joe.bloggs+news@example.co.uk please", "mail me at [email] please"),
    ("JOE_99@Example.ORG", "[email]"),
    ("write to joe (at) example (dot) com", "write to [email]"),
    ("name @ example.com", "[email]"),
    ("call 07700 900123 today", "call [phone] today"),
    ("07700900123", "[phone]"),
    ("07700-900-123", "[phone]"),
    ("(07700) 900 123", "[phone]"),
    ("+44 7700 900123", "[phone]"),
    ("+447700900123", "[phone]"),
    ("+44 (0)1382 496000", "[phone]"),
    ("0044 1382 496000", "[phone]"),
    ("01382 496000", "[phone]"),
    ("01382-496-000", "[phone]"),
    ("(01382) 496000", "[phone]"),
    ("0800 123 4567", "[phone]"),
    ("+353 1 234 5678 in Dublin", "[phone] in Dublin"),
    ("I live at DD1 1DD.", "I live at [postcode]."),
    ("dd11dd", "[postcode]"),
    ("Dd1  1dD", "[postcode]"),
    ("EH10 4AB", "[postcode]"),
    ("W1A 1AA", "[postcode]"),
    ("near DD4 9 and G20 7", "near [postcode] and [postcode]"),
    ("12 Hilltown Terrace", "[address]"),
    ("at 12 Hilltown terrace", "at [address]"),
    ("3/2 14 Main St", "[address]"),
    ("flat 4, 22 Albert Street", "[address]"),
    ("Flat 2/1, 7 Peddie St, Dundee", "[address], Dundee"),
    ("14a St Mary's Road", "[address]"),
    ("12-14 Lochee Road", "[address]"),
    ("5 hilltown terrace", "[address]"),
    (
        "12 Hilltown Terrace, DD3 7AB, 07700 900123, me@example.com",
        "[address], [postcode], [phone], [email]",
    ),
]

KEPT = [
    "In 2019 the park was better",
    "Since 2015 Baxter Park has improved",
    "The bus at 10:30 is always late",
    "7 out of 10",
    "I'd give it 4.5 stars",
    "The A90 is dangerous",
    "The A90 2 lanes merge badly",
    "the number 10 bus",
    "the 22 bus and route 73",
    "10 minutes walk to 2 play parks",
    "3 times a week",
    "we need 2 new park benches",
    "50% of 2000 people",
    "£5 for swimming",
    "between 01/05/2023 and 05/06/2023",
    "scores 1-7",
    "1st May",
    "CO2 emissions from traffic",
    '=HYPERLINK("http://example.com","x")',
    "@SUM(A1:A9)",
    "-1+1",
    "ratio 3:2",
]


@pytest.mark.parametrize(("text", "expected"), REDACTED)
def test_personal_data_is_replaced_by_tokens(text: str, expected: str) -> None:
    redacted, count = redact_text(text)
    assert redacted == expected
    assert count == redacted.count("[")


@pytest.mark.parametrize("text", KEPT)
def test_look_alikes_are_left_alone(text: str) -> None:
    assert redact_text(text) == (text, 0)
    assert not contains_personal_data(text)


def test_counts_per_kind() -> None:
    text = "a@example.com b@example.org 07700 900123 DD1 1DD DD2 2AB 12 Hilltown Terrace"
    assert redact_counts(text) == {"email": 2, "phone": 1, "address": 1, "postcode": 2}


def test_partial_postcode_needs_a_real_area_but_a_full_one_does_not() -> None:
    # A full postcode shape is redacted whatever its area letters (a fictional, new or
    # mistyped area still identifies a street); 'A9 2' is a road, 'DD4 9' a sector.
    assert redact_text("QQ1 1AA and A9 2") == ("[postcode] and A9 2", 1)
    assert redact_text("my postcode is DM1 3LW.") == ("my postcode is [postcode].", 1)
    assert redact_text("M1 1AE") == ("[postcode]", 1)
    assert redact_text("near DD4 9 and the A92") == ("near [postcode] and the A92", 1)
    assert "DD" in POSTCODE_AREAS and "A" not in POSTCODE_AREAS


def test_clean_text_removes_controls_and_invisible_characters() -> None:
    assert clean_text("  a\r\nb\rc\u2028d  ") == "a\nb\nc\nd"
    assert clean_text("bell\x07 and nul\x00") == "bell and nul"
    assert clean_text("zero\u200bwidth soft\u00adhyphen") == "zerowidth softhyphen"
    assert clean_text("bidi \u202egnitset\u202c over") == "bidi gnitset over"
    assert clean_text("ｆｕｌｌ ｗｉｄｔｈ ０７") == "full width 07"
    # kept as written: curly quotes, pound sign, emoji, tabs, accents
    assert clean_text("it’s “£5” 😀\tcafé") == "it’s “£5” 😀\tcafé"


def test_confusables_do_not_slip_past() -> None:
    assert redact_text("ｊｏｅ＠ｅｘａｍｐｌｅ．ｃｏｍ") == ("[email]", 1)
    assert redact_text("jo\u200be@exam\u200bple.com") == ("[email]", 1)
    assert redact_text("аnna@example.com")[0] == "[email]"  # Cyrillic а
    assert redact_text("０７７００ ９００１２３") == ("[phone]", 1)
    assert redact_text("ＤＤ１ １ＤＤ") == ("[postcode]", 1)


def test_redaction_is_idempotent() -> None:
    for text, _ in REDACTED:
        once, _ = redact_text(text)
        assert redact_text(once) == (once, 0)


def test_series_matches_text_function_and_keeps_missing() -> None:
    texts = pd.Series([t for t, _ in REDACTED] + KEPT + [None, "  padded  "], dtype="string")
    kinds: Counter[str] = Counter()
    redacted, counts = redact_series(texts, kinds)
    assert redacted.dtype == "string" and counts.dtype == "Int64"
    for original, out, count in zip(texts, redacted, counts, strict=True):
        if original is pd.NA:
            assert out is pd.NA and count is pd.NA
        else:
            assert (out, count) == redact_text(original)
    assert sum(kinds.values()) == int(counts.sum())
    assert kinds["address"] == 9


def test_personal_data_mask() -> None:
    values = pd.Series(["PS0001", "me@example.com", None, "07700 900123", "DD1 1DD", "R-17"])
    assert personal_data_mask(values).tolist() == [False, True, False, True, True, False]


# --- properties ----------------------------------------------------------------------------

words = st.lists(
    st.sampled_from(["the", "park", "is", "great", "bus", "7", "out", "of", "10", "2019", "A90"]),
    max_size=6,
).map(" ".join)
emails = st.builds(
    lambda user, domain, tld: f"{user}@{domain}.{tld}",
    st.from_regex(r"[a-z][a-z0-9._+-]{0,12}[a-z0-9]", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True),
    st.sampled_from(["com", "org", "co.uk", "scot", "net"]),
)
separators = st.sampled_from(["", " ", "-", "  "])
mobiles = st.builds(
    lambda prefix, a, b, s1, s2: f"{prefix}{a}{s1}{b[:3]}{s2}{b[3:]}",
    st.sampled_from(["07", "+447", "+44 7", "0044 7"]),
    st.from_regex(r"[0-9]{3}", fullmatch=True),
    st.from_regex(r"[0-9]{6}", fullmatch=True),
    separators,
    separators,
)
# (area code, digits in the local number): 10 or 11 digits in all, as UK numbers have
landlines = st.builds(
    lambda area, number, sep: f"{area[0]}{sep}{number[: area[1]]}",
    st.sampled_from(
        [("01382", 6), ("(01382)", 6), ("0131", 7), ("01224", 6), ("+44 (0)1382", 6), ("020", 8)]
    ),
    st.from_regex(r"[0-9]{8}", fullmatch=True),
    separators,
)
postcodes = st.builds(
    lambda area, district, sector, unit, space, upper: (
        f"{area}{district}{space}{sector}{unit}".upper()
        if upper
        else f"{area}{district}{space}{sector}{unit}".lower()
    ),
    st.sampled_from(POSTCODE_AREAS),
    st.integers(1, 20),
    st.integers(0, 9),
    st.from_regex(r"[ABD-HJLNP-UW-Z]{2}", fullmatch=True),
    st.sampled_from(["", " ", "  "]),
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(before=words, secret=st.one_of(emails, mobiles, landlines, postcodes), after=words)
def test_generated_personal_data_never_survives(before: str, secret: str, after: str) -> None:
    text = f"{before} {secret}, {after}"
    redacted, count = redact_text(text)
    assert count >= 1
    assert not SIMPLE_EMAIL.search(redacted)
    assert not SIMPLE_PHONE.search(redacted)
    assert not SIMPLE_POSTCODE.search(redacted)
    assert secret not in redacted


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_handled(text: str) -> None:
    redacted, count = redact_text(text)
    assert count >= 0
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\u200b\u202e]", redacted)
    assert redact_text(redacted) == (redacted, 0)


# --- real text -----------------------------------------------------------------------------

LITTLEMORE = "engagement/littlemore_ltn_oxford_2021/anonymised_responses.csv"


def test_real_comments_have_no_false_positives(real_data: Path) -> None:
    """1,264 real free-text answers with no personal data (MANIFEST): nothing is redacted."""
    responses = pd.read_csv(real_data / LITTLEMORE, dtype=str, keep_default_na=False)
    questions = [c for c in responses.columns if c.startswith(("7:", "8:", "10."))]
    assert len(questions) == 3
    answers = pd.concat([responses[q] for q in questions], ignore_index=True)
    answers = answers[answers.str.strip() != ""]
    assert len(answers) == 464 + 495 + 305
    # the check means something only if real comments hold numbers
    assert answers.str.contains(r"\d").sum() > 50
    kinds: Counter[str] = Counter()
    redacted, counts = redact_series(answers, kinds)
    assert int(counts.sum()) == 0, answers[counts > 0].head().tolist()
    assert (redacted == answers.str.strip()).mean() > 0.99  # otherwise kept as written


def test_personal_data_count_reads_json_strings_not_numbers():
    import json

    import pandas as pd

    from profiles.voice.redact import checked_texts, personal_data_count

    evidence = json.dumps(
        {
            "locality_profile": [{"measure_id": "crime_rate", "value": 0.12345678912345678}],
            "quotes": ["Bus fares are a joke"],
            "response_ids": ["place-standard-s12900002-7b0cc37f"],
        }
    )
    leaked = '{"quotes": ["write to jo\\u0040example.org please"]}'  # @ escaped
    assert "@" not in leaked
    assert "jo@example.org" in " ".join(checked_texts(leaked))
    assert checked_texts("not json, call 01382 123456") == ["not json, call 01382 123456"]
    assert checked_texts("{broken") == ["{broken"]
    values = pd.Series([evidence, leaked, "call 01382 123456", None, "fine"], dtype="string")
    assert personal_data_count(values) == 2
    assert personal_data_count(pd.Series([evidence, evidence])) == 0
    assert personal_data_count(pd.Series([], dtype="string")) == 0
