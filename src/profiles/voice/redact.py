"""Redaction of personal data in free text, and cleaning of control characters.

What belongs here: the patterns that find e-mail addresses, UK (and + international) phone
numbers, postcodes (full, and partial district + sector) and house-number-and-street
addresses, replacing each with a token (`[email]`, `[phone]`, `[postcode]`, `[address]`);
`clean_text`, which folds compatibility characters (NFKC: full-width letters and digits
become ASCII, so 'ｊｏｅ＠ｅｘａｍｐｌｅ．ｃｏｍ' cannot slip past) and removes control and
invisible format characters (zero-width spaces, bidi overrides). Text is otherwise kept as
written; spreadsheet-formula neutralisation happens at export time, not here.

The patterns favour privacy over readability where they must choose, but are written to
leave common survey language alone: years ('2019'), times ('10:30'), ratings ('7 out of
10'), road numbers ('A90'), bus routes ('number 10 bus'), durations ('10 minutes walk').
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from typing import Final

import numpy as np
import pandas as pd

TOKENS: Final[dict[str, str]] = {
    "email": "[email]",
    "phone": "[phone]",
    "address": "[address]",
    "postcode": "[postcode]",
}

# The 124 postcode areas (UK, Channel Islands, Isle of Man). Restricting the area letters
# keeps road numbers such as 'A90 2' (A is not a postcode area) from reading as postcodes.
_AREAS_TEXT = """
    AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN
    DT DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY
    L LA LD LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM
    S SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN
    WR WS WV YO ZE"""
POSTCODE_AREAS: Final[tuple[str, ...]] = tuple(_AREAS_TEXT.split())
_AREA_SET = frozenset(POSTCODE_AREAS)
_UNIT = "[ABD-HJLNP-UW-Zabd-hjlnp-uw-z]{2}"  # unit letters never use C, I, K, M, O or V

EMAIL_PATTERN: Final[str] = (
    r"(?<![\w.+'-])[\w.+'-]+[ ]?@[ ]?[\w-]+(?:\.[\w-]+)+"
    r"|(?i:(?<![\w.+-])[\w.+-]+\s*[\[({]at[\])}]\s*[\w-]+(?:\s*(?:\.|[\[({]dot[\])}])\s*[\w-]+)+)"
)
PHONE_PATTERN: Final[str] = (
    # +44 / 0044, optional (0), then the 9-10 digit national number in any grouping
    r"(?:\+|(?<!\d)00)\s*44[\s-]*(?:\(0\)[\s-]*)?\(?\d(?:[\s\-()]*\d){8,9}(?!\d)"
    # national: 0 then 9-10 more digits (10-11 in all), with spaces, dashes or brackets
    r"|(?<![\w+])\(?0\d(?:[\s\-()]*\d){8,9}(?!\d)"
    # any other international number written with a +
    r"|(?<![\w+])\+\d{1,3}(?:[\s\-()]*\d){6,12}(?!\d)"
)
POSTCODE_PATTERN: Final[str] = (
    # area letters (checked against POSTCODE_AREAS when matched), district, then either a
    # full inward code ('1DD') or, after a space, a lone sector digit ('DD4 9')
    rf"(?<![A-Za-z0-9])[A-Za-z]{{1,2}}\d[A-Za-z\d]?[ \t\u00a0]*\d"
    rf"(?:{_UNIT}(?![A-Za-z0-9])|(?<=[ \t\u00a0]\d)(?![A-Za-z0-9]|[.,:/]\d))"
)

_STREET_TYPES = (
    "street|st|road|rd|terrace|terr|ter|avenue|ave|lane|ln|crescent|cres|drive|dr|place|pl|"
    "court|ct|gardens|gdns|way|close|grove|park|square|sq|wynd|brae|loan|row|view|walk|"
    "gate|green|mews|circus|vennel|quadrant|parade|boulevard|rise|path|neuk|pend|causeway|"
    "wharf|quay|hill"
)
# Lower-case words that follow a number in ordinary prose ('10 minutes walk', '2 more
# parks', '3 new play park'): never part of a street name written in lower case.
_PROSE_WORDS = (
    "a|an|the|of|and|or|to|in|on|at|for|by|from|with|more|less|new|old|other|different|"
    "separate|extra|big|small|large|little|few|many|times|days|hours|hrs|minutes|mins|min|"
    "years|yrs|weeks|months|miles|mile|metres|meters|yards|km|mph|percent|per|people|kids|"
    "children|cars|buses|bus|car|play|public|local|nearby|busy|quiet|nice|good|bad|green|"
    "lovely|great|dog|dogs|football|parking|bike|cycle|foot|way|out|not|is|are|was|were|"
    "its|it|this|that|these|those|my|our|your|their|his|her|very|too|so|all|some|any|each|"
    "every|one|two|three|four|five|ten|star|stars|points|point|pm|am"
)
_NAME_WORD = rf"(?:[A-Z][\w'’.-]*|(?!(?:{_PROSE_WORDS})\b)[a-z][\w'’-]*)"
ADDRESS_PATTERN: Final[str] = (
    r"(?<![\w/£$€.,:-])"
    r"(?:(?i:flat|apartment|apt|unit)\.?\s*\d+[a-z]?(?:/\d+)?,?\s+)?"  # flat 4, / Flat 2/1
    r"(?:\d{1,3}/\d{1,3},?\s+)?"  # Scottish tenement position: 3/2
    r"(?!(?:19|20)\d\d\b)\d{1,4}[a-zA-Z]?(?:\s*[-–]\s*\d{1,4}[a-zA-Z]?)?,?"  # 12, 14a, 12-14
    rf"\s+{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}}\s+(?i:{_STREET_TYPES})\b"
)

PATTERNS: Final[dict[str, re.Pattern[str]]] = {
    "email": re.compile(EMAIL_PATTERN),
    "phone": re.compile(PHONE_PATTERN),
    "address": re.compile(ADDRESS_PATTERN),
    "postcode": re.compile(POSTCODE_PATTERN),
}
"""Each kind's pattern, applied in this order (a postcode match is kept only when its
area letters are a real postcode area, see `_is_postcode`)."""

# Cheap guards (plain patterns, valid in both Python re and RE2): a kind's pattern runs
# only when its guard finds something, so most comments cost one or two fast scans.
_GUARD_PATTERNS: Final[dict[str, str]] = {
    "email": r"@|[\[({][aA][tT][\])}]",
    "phone": r"[0-9](?:[ \t\-()]*[0-9]){8}",
    "address": r"[0-9][a-zA-Z]?,?\s+[A-Za-z]",
    "postcode": r"[A-Za-z][0-9][A-Za-z0-9]?[ \t\xa0]*[0-9](?:[A-Za-z]{2}|[^A-Za-z0-9]|$)",
}
_GUARDS: Final[dict[str, re.Pattern[str]]] = {
    kind: re.compile(pattern) for kind, pattern in _GUARD_PATTERNS.items()
}
# Series pre-filter (run by pyarrow's RE2): any guard, or non-ASCII text, which goes to the
# Unicode-aware Python patterns whatever it holds.
_MAY_HOLD_PERSONAL_DATA = "|".join([*_GUARD_PATTERNS.values(), r"[^\x00-\x7f]"])
_AREA_LETTERS = re.compile(r"[A-Za-z]{1,2}")


_FULL_INWARD = re.compile(r"\d[A-Za-z]{2}$")


def _is_postcode(match: re.Match[str]) -> bool:
    """A full postcode shape ('XX1 1XX') is redacted whatever its area letters: nothing else
    in prose looks like it, and privacy matters more than an unknown area. Only partial
    'district + sector' forms ('DD4 9'), which road numbers also take, need a real area."""
    if _FULL_INWARD.search(match.group(0)):
        return True
    area = _AREA_LETTERS.match(match.group(0))
    return area is not None and area.group(0).upper() in _AREA_SET


def _redact(text: str, tally: Counter[str] | None = None) -> tuple[str, int]:
    """Replace every kind in turn on already-cleaned text; returns (text, replacements)."""
    total = 0
    for kind, pattern in PATTERNS.items():
        if not _GUARDS[kind].search(text):
            continue
        token = TOKENS[kind]
        replaced = 0

        def substitute(match: re.Match[str], kind: str = kind, token: str = token) -> str:
            nonlocal replaced
            if kind == "postcode" and not _is_postcode(match):
                return match.group(0)
            replaced += 1
            return token

        text = pattern.sub(substitute, text)
        if replaced:
            total += replaced
            if tally is not None:
                tally[kind] += replaced
    return text, total


# C0/C1 controls except tab and newline; \r is turned into \n first.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Invisible format characters (Unicode Cf) used to hide or reorder text: soft hyphen,
# zero-width space/joiners, bidi marks, embeddings, overrides and isolates, word joiner,
# BOM, interlinear annotation marks.
_FORMAT = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)
_LINE_SEPARATORS = re.compile("\r\n|[\r\u2028\u2029\x85]")
_NEEDS_CLEANING = r"[^\x20-\x7e\n\t]"


def clean_text(text: str) -> str:
    """NFKC-fold, normalise line breaks to '\\n', drop control and invisible format characters.

    Leading and trailing whitespace is removed; everything else is kept as written.
    """
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = _LINE_SEPARATORS.sub("\n", text)
    text = _CONTROL.sub("", text)
    text = _FORMAT.sub("", text)
    return text.strip()


def redact_text(text: str) -> tuple[str, int]:
    """Cleaned text with personal data replaced by tokens, and the number of replacements."""
    return _redact(clean_text(text))


def redact_counts(text: str) -> dict[str, int]:
    """How many of each kind `redact_text` replaces (for audits and tests)."""
    tally: Counter[str] = Counter()
    _redact(clean_text(text), tally)
    return {kind: tally[kind] for kind in PATTERNS}


def _regex_mask(values: pd.Series, pattern: str) -> np.ndarray:
    """Boolean mask of values matching an RE2 `pattern` (NA -> False), vectorised by pyarrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(values.to_numpy(dtype=object, na_value=None), type=pa.large_string())
    hits = pc.match_substring_regex(array, pattern)
    return np.asarray(hits.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def clean_series(texts: pd.Series) -> pd.Series:
    """`clean_text` over a Series of strings (string dtype, NA kept); plain ASCII only strips."""
    values = texts.astype(object).where(texts.notna(), None)
    needs = _regex_mask(values, _NEEDS_CLEANING)
    cleaned = [
        None if text is None else (clean_text(text) if dirty else text.strip())
        for text, dirty in zip(values, needs, strict=True)
    ]
    return pd.Series(pd.array(cleaned, dtype="string"), index=texts.index)


def redact_series(
    texts: pd.Series, kinds: Counter[str] | None = None
) -> tuple[pd.Series, pd.Series]:
    """Cleaned, redacted texts (string dtype, NA kept) and the replacements made in each.

    Only texts holding a digit, an '@' or non-ASCII characters reach the Python patterns,
    and each pattern runs only past its cheap guard. Pass a `Counter` as `kinds` to have
    the replacements counted per kind (email, phone, address, postcode).
    """
    values = texts.astype(object).where(texts.notna(), None)
    dirty = _regex_mask(values, _NEEDS_CLEANING)
    suspect = _regex_mask(values, _MAY_HOLD_PERSONAL_DATA)
    out: list[str | None] = []
    counts: list[int | None] = []
    for text, is_dirty, is_suspect in zip(values, dirty, suspect, strict=True):
        if text is None:
            out.append(None)
            counts.append(None)
            continue
        text = clean_text(text) if is_dirty else text.strip()
        if is_suspect:
            text, count = _redact(text, kinds)
        else:
            count = 0
        out.append(text)
        counts.append(count)
    return (
        pd.Series(pd.array(out, dtype="string"), index=texts.index),
        pd.Series(pd.array(counts, dtype="Int64"), index=texts.index),
    )


def contains_personal_data(text: str) -> bool:
    """True if any pattern still finds something (to check outputs and response ids)."""
    return _redact(clean_text(text))[1] > 0


def checked_texts(value: str) -> list[str]:
    """The texts in `value` that could hold personal data: for a JSON document (such as a
    ranking's evidence trail) its keys and strings, decoded; otherwise `[value]`.

    JSON numbers are left out: they are computed, never typed by a respondent, and a
    document's data zone codes and 15-digit numbers look like postcodes and phone numbers
    to the guards, which sent every evidence trail through every pattern; checked one by
    one, most strings pass the guards. Decoding also means an escaped character
    (``\\u0040`` for @) is checked as what it is.
    """
    if value[:1] not in ("{", "["):
        return [value]
    try:
        document = json.loads(value)
    except ValueError:
        return [value]
    parts: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, dict):
            for key, item in node.items():
                parts.append(str(key))
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(document)
    return parts


def personal_data_count(values: pd.Series) -> int:
    """How many of `values` (text, NA skipped) hold personal data in any `checked_texts`
    part; each distinct text is checked once, and only JSON documents are parsed."""
    texts = values.dropna().astype(str)
    is_json = texts.str[:1].isin(["{", "["]).to_numpy()
    plain, documents = texts[~is_json], texts[is_json].map(checked_texts)
    distinct = pd.unique(np.concatenate([plain.unique(), documents.explode().dropna().unique()]))
    candidates = pd.Series(distinct, dtype="string")
    flagged = set(candidates[personal_data_mask(candidates).to_numpy()])
    if not flagged:
        return 0
    return int(plain.isin(flagged).sum()) + sum(
        any(part in flagged for part in parts) for parts in documents
    )


def personal_data_mask(texts: pd.Series) -> pd.Series:
    """`contains_personal_data` over a Series (NA -> False), pre-filtered by pyarrow."""
    values = texts.astype(object).where(texts.notna(), None)
    suspect = _regex_mask(values, _MAY_HOLD_PERSONAL_DATA)
    result = np.zeros(len(values), dtype=bool)
    for position in np.flatnonzero(suspect):
        result[position] = contains_personal_data(values.iloc[position])
    return pd.Series(result, index=texts.index)
