"""Deterministic generator of the malformed survey-export corpus (all synthetic).

What belongs here: the synthetic geography the corpus is geocoded against (a made-up
postcode lookup onto real-format Dundee/Angus codes), and one small writer per corpus
file, each with the outcome `ingest_survey` must produce, written to
`tests/data/malformed_exports/` together with `index.csv`. Every respondent, postcode,
e-mail and phone number here is invented (phones from Ofcom's drama ranges, e-mail
domains example.com/.org).

Regenerate after a change:  .venv/bin/python tests/voice_corpus.py
Check the committed copy:   .venv/bin/python tests/voice_corpus.py --check
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from profiles.voice.contract import PLACE_STANDARD_THEMES

CORPUS_DIR = Path(__file__).resolve().parent / "data" / "malformed_exports"
INDEX_NAME = "index.csv"
TODAY = date(2024, 6, 30)
COUNCIL = "S12000042"  # Dundee City
OTHER_COUNCIL = "S12000041"  # Angus

THEMES = PLACE_STANDARD_THEMES
HEADER = (
    "response_id",
    "submitted_at",
    "postcode",
    "age_band",
    "gender",
    *THEMES,
    "what_is_good",
    "what_could_be_better",
)
INDEX_COLUMNS = (
    "file",
    "schema",
    "outcome",
    "error_contains",
    "encoding",
    "rows_in",
    "rows_loaded",
    "rows_quarantined",
    "quarantined_by_reason",
    "cells_set_aside_by_reason",
    "geocode_by_status",
    "note",
)

# --- synthetic geography -------------------------------------------------------------------

WARDS = {
    "S13002545": "strathmartine",
    "S13002546": "lochee",
    "S13002547": "west-end",
    "S13002548": "coldside",
    "S13002549": "maryfield",
    "S13002830": "north-east",
    "S13002551": "east-end",
    "S13002552": "the-ferry",
}
LOCALITY_NAMES = {
    "strathmartine": "Strathmartine",
    "lochee": "Lochee",
    "west-end": "West End",
    "coldside": "Coldside",
    "maryfield": "Maryfield",
    "north-east": "North East",
    "east-end": "East End",
    "the-ferry": "The Ferry",
}
# Two data zones per ward (S01007682 ...), and one made-up postcode per data zone.
DUNDEE_DZ = [f"S0100{7682 + i}" for i in range(16)]
DUNDEE_POSTCODES = [f"DD{1 + i // 4} {1 + i % 4}AB" for i in range(16)]
ANGUS_DZ = ["S01007500", "S01007501"]
ANGUS_POSTCODES = ["DD8 1AB", "DD8 2AB"]


def synthetic_geography() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(postcode_lookup, dim_datazone, place_names) for the corpus."""
    ward_codes = list(WARDS)
    dim = pd.DataFrame(
        {
            "dz_code": DUNDEE_DZ + ANGUS_DZ,
            "ward_code": [ward_codes[i // 2] for i in range(16)] + ["S13002530"] * 2,
            "council_code": [COUNCIL] * 16 + [OTHER_COUNCIL] * 2,
        }
    )
    lookup = pd.DataFrame(
        {
            "postcode_key": [p.replace(" ", "") for p in DUNDEE_POSTCODES + ANGUS_POSTCODES],
            "dz_code": DUNDEE_DZ + ANGUS_DZ,
        }
    )
    names = pd.DataFrame(
        {
            "council_code": [COUNCIL] * 9 + [OTHER_COUNCIL],
            "locality_id": [*WARDS.values(), "hilltown", "forfar"],
            "locality_name": [*LOCALITY_NAMES.values(), "Hilltown", "Forfar"],
            "ward_code": [*WARDS, None, "S13002530"],
        }
    )
    return lookup, dim, names


# --- rows ----------------------------------------------------------------------------------

GOOD = [
    "The park is lovely and the library staff are friendly",
    "Good bus links into town",
    "Friendly neighbours, a real sense of community",
    "Quiet streets and plenty of green space",
    "Local shops within walking distance",
    "The community centre runs great classes for kids",
]
BETTER = [
    "Potholes on the main road need fixing",
    "More bins and less litter, please",
    "Street lighting on the path by the school",
    "Buses after 7pm are too infrequent",
    "Somewhere safe for teenagers to go in the evening",
    "Parking on pavements blocks prams and wheelchairs",
]
AGES = ["16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+", "Prefer not to say"]
GENDERS = ["Female", "Male", "Non-binary", "Prefer not to say", "female", "M"]


def ps_row(number: int, **overrides: str) -> dict[str, str]:
    """A valid, deterministic Place Standard row; keyword arguments replace fields."""
    row = {
        "response_id": f"PS{number:04d}",
        "submitted_at": f"2024-05-{1 + number % 28:02d} {9 + number % 9:02d}:{number % 60:02d}:00",
        "postcode": DUNDEE_POSTCODES[number % len(DUNDEE_POSTCODES)],
        "age_band": AGES[number % len(AGES)],
        "gender": GENDERS[number % len(GENDERS)],
    }
    for offset, theme in enumerate(THEMES):
        row[theme] = str(1 + (number * 3 + offset * 5) % 7)
    row["what_is_good"] = GOOD[number % len(GOOD)]
    row["what_could_be_better"] = BETTER[number % len(BETTER)]
    row.update(overrides)
    return row


def to_csv(
    rows: list[dict[str, str]] | list[list[str]],
    header: tuple[str, ...] | list[str] = HEADER,
    *,
    delimiter: str = ",",
    line_end: str = "\n",
    quoting: int = csv.QUOTE_MINIMAL,
) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_end, quoting=quoting)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(c, "") for c in header] if isinstance(row, dict) else row)
    return buffer.getvalue()


def deterministic_zip(data: bytes) -> bytes:
    """Re-zip an XLSX with fixed timestamps so the committed bytes never change."""
    fixed = (2024, 1, 1, 0, 0, 0)
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*",
                    rb"\g<1>2024-01-01T00:00:00Z",
                    content,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=fixed)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, content)
    return out.getvalue()


def xlsx(sheets: list[tuple[str, list[list[object]]]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets:
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.properties.creator = "voice_corpus"
    workbook.properties.created = datetime(2024, 1, 1)
    workbook.properties.modified = datetime(2024, 1, 1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return deterministic_zip(buffer.getvalue())


# --- corpus entries --------------------------------------------------------------------------


@dataclass
class Entry:
    """One corpus file and the outcome ingestion must produce."""

    file: str
    content: Callable[[], bytes]
    outcome: str  # loaded | rejected
    note: str
    schema: str = "place_standard"
    error_contains: str = ""
    encoding: str = ""
    rows_in: int | None = None
    rows_loaded: int | None = None
    rows_quarantined: int | None = None
    quarantined: dict[str, int] = field(default_factory=dict)
    cells: dict[str, int] = field(default_factory=dict)
    geocode: dict[str, int] = field(default_factory=dict)


def _fmt(counts: dict[str, int]) -> str:
    return ";".join(f"{key}={value}" for key, value in sorted(counts.items()))


def parse_counts(text: str) -> dict[str, int]:
    """Inverse of the index's 'reason=count;reason=count' format ('' = none)."""
    if not isinstance(text, str) or not text:
        return {}
    return {k: int(v) for k, v in (part.split("=") for part in text.split(";"))}


def utf8(text: str) -> bytes:
    return text.encode("utf-8")


def _rows(numbers: range, **overrides: str) -> list[dict[str, str]]:
    return [ps_row(n, **overrides) for n in numbers]


def _matched(n: int) -> dict[str, int]:
    return {"matched": n}


def _clean_baseline() -> bytes:
    return utf8(to_csv(_rows(range(1, 9))))


def _semicolon() -> bytes:
    rows = _rows(range(1, 6))
    rows[0]["what_is_good"] = "Parks, paths, and the library; all good"
    return utf8(to_csv(rows, delimiter=";", line_end="\r\n"))


def _tab() -> bytes:
    rows = _rows(range(1, 6))
    rows[1]["what_could_be_better"] = "Bins, buses, benches"
    return utf8(to_csv(rows, delimiter="\t"))


def _utf8_bom() -> bytes:
    rows = _rows(range(1, 5))
    rows[0]["what_is_good"] = "The café on the corner is great"
    return b"\xef\xbb\xbf" + utf8(to_csv(rows, line_end="\r\n"))


def _utf16_bom() -> bytes:
    # Excel's "Unicode Text": UTF-16 LE with a BOM, tab-delimited, CRLF.
    rows = _rows(range(1, 5))
    rows[2]["what_is_good"] = "Ça va: the new crossing on the high street"
    return b"\xff\xfe" + to_csv(rows, delimiter="\t", line_end="\r\n").encode("utf-16-le")


def _cp1252() -> bytes:
    rows = _rows(range(1, 5))
    rows[0]["what_is_good"] = "Swimming is only £5 and it’s “brilliant”"
    rows[1]["what_could_be_better"] = "The café’s bins – overflowing"
    return to_csv(rows, line_end="\r\n").encode("cp1252")


def _missing_header() -> bytes:
    text = to_csv(_rows(range(1, 5)))
    return utf8(text.split("\n", 1)[1])


def _line(fields: list[str]) -> str:
    return to_csv([fields], []).split("\n", 1)[1].rstrip("\n")


def _ragged() -> bytes:
    lines = [",".join(HEADER)]
    for n in range(1, 7):
        row = ps_row(n)
        fields = [row[c] for c in HEADER]
        if n == 2:  # an unquoted comma in a comment: one field too many
            line = _line(fields[:-1]) + ",Bins, more bins"
        elif n == 4:  # truncated export: the last four fields missing
            line = _line(fields[:-4])
        elif n == 5:  # trailing empty fields: padding, not a shifted row
            line = _line(fields) + ",,"
        else:
            line = _line(fields)
        lines.append(line)
    return utf8("\n".join(lines) + "\n")


def _unterminated_quote() -> bytes:
    rows = _rows(range(1, 6))
    text = to_csv(rows)
    lines = text.split("\n")
    lines[3] = lines[3].replace(BETTER[3], '"Buses after 7pm are too infrequent')
    return utf8("\n".join(lines))


def _nul_bytes() -> bytes:
    rows = _rows(range(1, 6))
    rows[2]["what_is_good"] = "Good\x00 bus links"
    return utf8(to_csv(rows))


def _huge_cell() -> bytes:
    rows = _rows(range(1, 4))
    rows[1]["what_could_be_better"] = "The park needs more benches. " * 75_000  # ~2.2 MB
    return utf8(to_csv(rows))


def _html() -> bytes:
    return utf8(
        "<!DOCTYPE html>\n<html><head><title>Session expired</title></head>\n"
        "<body><h1>Please sign in again</h1><p>Your export could not be created.</p>"
        "</body></html>\n"
    )


def _header_only() -> bytes:
    return utf8(to_csv([]))


def _bad_scores() -> bytes:
    rows = _rows(range(1, 7))
    rows[0]["moving_around"] = "0"
    rows[1]["public_transport"] = "8"
    rows[2]["traffic_parking"] = "4.5"
    rows[3]["streets_spaces"] = "five"
    rows[4]["natural_space"] = "-1"
    rows[5]["play_recreation"] = "77"
    rows[0]["feeling_safe"] = " 7 "  # accepted: spaces around a valid score
    rows[1]["feeling_safe"] = "4.0"  # accepted: a whole number written as a decimal
    rows[2]["feeling_safe"] = ""  # skipped question: blank, not an issue
    return utf8(to_csv(rows))


def _bad_postcodes() -> bytes:
    header = (*HEADER[:3], "place", *HEADER[3:])
    cases = [
        ("", ""),  # blank
        ("DD9 9ZZ", ""),  # well-formed, not in the lookup
        ("DD1", ""),  # district only: malformed
        ("not given", ""),  # malformed
        ("DD2 5EJA", ""),  # trailing letter: malformed
        ("dd11ab", ""),  # lower case, no space: matched
        (" DD2  2AB ", ""),  # extra spaces: matched
        ("DD8 1AB", ""),  # a real postcode in Angus: outside_council
        ("", "Lochee"),  # locality name
        ("", "S01007690"),  # data zone code
        ("", "Atlantis"),  # unknown place
        ("DD1", "the ferry"),  # malformed postcode rescued by the place name
        ("", "Forfar"),  # a place in another council
        ("", "hilltown"),  # a locality with no single ward
    ]
    rows = []
    for n, (postcode, place) in enumerate(cases, start=1):
        row = ps_row(n, postcode=postcode)
        row["place"] = place
        rows.append(row)
    return utf8(to_csv(rows, header))


def _duplicate_ids() -> bytes:
    ids = ["A1", "A2", "A1", "A3", "A2", "A1", "", "  "]
    rows = [ps_row(n, response_id=rid) for n, rid in enumerate(ids, start=1)]
    return utf8(to_csv(rows))


def _dates() -> bytes:
    dates = [
        "2030-01-01 10:00:00",  # future
        "2024-07-01 00:00:01",  # tomorrow: future
        "2024-06-30 23:59:00",  # today: fine
        "yesterday",  # unparseable
        "31/02/2024",  # no such day: unparseable
        "14/05/2024 10:00",  # UK day-first: fine
        "2024-05-14T10:00:00+01:00",  # ISO with offset: fine
        "1899-12-31",  # implausible
        "",  # blank: NULL, not an issue
    ]
    rows = [ps_row(n, submitted_at=d) for n, d in enumerate(dates, start=1)]
    return utf8(to_csv(rows))


def _excel_mangled() -> bytes:
    rows = _rows(range(1, 8))
    rows[0]["moving_around"] = "07/01/1900"  # score 7 formatted as a date
    rows[1]["public_transport"] = "#VALUE!"
    rows[2]["traffic_parking"] = "#N/A"
    rows[3]["postcode"] = "1.23E+05"
    rows[4]["postcode"] = "#N/A"
    rows[5]["submitted_at"] = "########"
    rows[6]["submitted_at"] = "45427"
    rows[0]["age_band"] = "15-May"
    rows[1]["what_is_good"] = "#NAME?"  # a '+44...' comment Excel turned into a formula
    rows.append(ps_row(8, response_id="#N/A"))
    return utf8(to_csv(rows))


def _xlsx_plain() -> bytes:
    rows: list[list[object]] = [list(HEADER)]
    for n in range(1, 7):
        row = ps_row(n)
        values: list[object] = []
        for column in HEADER:
            value = row[column]
            if column in THEMES:
                values.append(int(value) if n != 3 else float(value))  # 4.0 written as float
            elif column == "submitted_at":
                values.append(datetime.fromisoformat(value))
            else:
                values.append(value)
        rows.append(values)
    return xlsx([("Responses", rows)])


def _xlsx_extra_sheets() -> bytes:
    data: list[list[object]] = [["Place Standard export, generated 2024-06-01"], list(HEADER)]
    for n in range(1, 4):
        data.append([ps_row(n)[c] for c in HEADER])
    data.append([])  # an interior blank row
    for n in range(4, 7):
        data.append([ps_row(n)[c] for c in HEADER])
    data.extend([[], [""] * 3, []])  # trailing blank rows
    about = [["About this export"], ["Questions scored 1 (lots of room) to 7 (little room)"]]
    summary = [["theme", "mean"], ["moving_around", 4.2]]
    return xlsx([("About", about), ("Responses", data), ("Summary", summary)])


def _mixed_line_endings() -> bytes:
    rows = _rows(range(1, 6))
    rows[1]["what_is_good"] = "Line one\nline two of the same comment"
    lines = to_csv(rows, line_end="\n").split("\n")
    # rebuild with a mix of CRLF, LF and CR between records (quoted newline stays LF)
    text = lines[0] + "\r\n" + lines[1] + "\n" + lines[2] + "\n" + lines[3] + "\r"
    text += lines[4] + "\r\n" + lines[5] + "\n" + lines[6] + "\r\n"
    return utf8(text)


def _trailing_empty_columns() -> bytes:
    header = [*HEADER, "", "", ""]
    rows = [[ps_row(n)[c] for c in HEADER] + ["", "", ""] for n in range(1, 5)]
    rows[2] = rows[2][:-1]  # one row with a field fewer (still every named column)
    text = to_csv(rows, header)
    text += "," * (len(header) - 1) + "\n" + "," * (len(header) - 1) + "\n"
    return utf8(text)


def _reordered() -> bytes:
    names = {
        "response_id": " Response ID ",
        "submitted_at": "SUBMITTED_AT",
        "postcode": "Post Code",
        "age_band": "Age Band",
        "gender": "GENDER",
        "moving_around": "Moving around",
        "public_transport": "Public Transport",
        "traffic_parking": "Traffic and parking",
        "streets_spaces": "Streets & spaces",
        "natural_space": "Natural space",
        "play_recreation": "Play and recreation",
        "facilities_amenities": "Facilities and services",
        "work_economy": "Work and local economy",
        "housing_community": "Housing and community",
        "social_contact": "Social interaction",
        "identity_belonging": "Identity and belonging",
        "feeling_safe": "Feeling safe",
        "care_maintenance": "Care and maintenance",
        "influence_control": "Influence and sense of control",
        "what_is_good": "What is good?",
        "what_could_be_better": "What could be better?",
    }
    order = list(reversed(HEADER))
    rows = [[ps_row(n)[c] for c in order] for n in range(1, 5)]
    return utf8(to_csv(rows, [names[c] for c in order]))


def _extra_columns() -> bytes:
    header = (*HEADER, "Source Channel", "Contact email", "Notes")
    rows = []
    for n in range(1, 5):
        row = ps_row(n)
        row["Source Channel"] = "Online" if n % 2 else "Paper"
        row["Contact email"] = f"resident{n}@example.org" if n != 3 else ""
        row["Notes"] = "keyed by volunteer" if n == 4 else ""
        rows.append(row)
    return utf8(to_csv(rows, header))


def _formula_like() -> bytes:
    comments = [
        '=HYPERLINK("http://example.com/x","click here")',
        "+44 7700 900123 call me about the park",
        "@SUM(A1:A9) is what the council should do",
        "-1+1 for the new lights",
        "=1+1",
    ]
    rows = [ps_row(n, what_could_be_better=c) for n, c in enumerate(comments, start=1)]
    return utf8(to_csv(rows))


def _confusables() -> bytes:
    cases = [
        ("ＤＤ１ １ＡＢ", "Write to ｊｏｅ＠ｅｘａｍｐｌｅ．ｃｏｍ please"),  # full-width
        (DUNDEE_POSTCODES[1], "mail jo\u200be@exam\u200bple.com today"),  # zero-width spaces
        (DUNDEE_POSTCODES[2], "contact аnna@example.com"),  # Cyrillic а
        (DUNDEE_POSTCODES[3], "ring ０７７００ ９００４５６ anytime"),  # full-width digits
        ("DD1 1АВ", "bidi \u202egnitset\u202c override"),  # Cyrillic А/В in the postcode
    ]
    rows = [
        ps_row(n, postcode=postcode, what_is_good=text)
        for n, (postcode, text) in enumerate(cases, start=1)
    ]
    return utf8(to_csv(rows))


def _very_long_lines() -> bytes:
    header = (*HEADER, *(f"extra_{i:03d}" for i in range(200)))
    rows = []
    for n in range(1, 4):
        row = ps_row(n)
        for i in range(200):
            row[f"extra_{i:03d}"] = f"value {n}-{i}"
        rows.append(row)
    rows[1]["what_is_good"] = "Lovely walks by the river. " * 1_000  # 27 kB: under the limit
    return utf8(to_csv(rows, header))


def _binary() -> bytes:
    import random

    rng = random.Random(29)
    return b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(4096))


def _legacy_xls() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + b"Workbook" * 16


def _empty_rows_missing_ids() -> bytes:
    rows = _rows(range(1, 5))
    rows[2]["response_id"] = ""
    text = to_csv(rows)
    lines = text.split("\n")
    blank_record = "," * (len(HEADER) - 1)
    lines = [lines[0], lines[1], blank_record, lines[2], "", lines[3], lines[4], "", "", ""]
    return utf8("\n".join(lines))


def _personal_data() -> bytes:
    comments = [
        ("Email me at jane.doe@example.com or call 07700 900123", "Fix 12 Hilltown Terrace"),
        ("Ring +44 (0)1382 496000 about flat 4, 22 Albert Street", "Near DD4 9 and DD1 4AB"),
        ("3/2 14 Main St has damp; phone (01382) 496 001", "In 2019 the number 10 bus was better"),
        ("Rated 7 out of 10; the A90 at 10:30 is busy", "10 minutes walk to 2 play parks"),
        ("My postcode is dd2 1ab and my mobile is 07700-900-456", "Nothing to add"),
    ]
    rows = [
        ps_row(n, what_is_good=good, what_could_be_better=better)
        for n, (good, better) in enumerate(comments, start=1)
    ]
    return utf8(to_csv(rows))


def _consultation() -> bytes:
    header = (
        "Record Id",
        "Date",
        "Postcode",
        "Q1 What do you like about your area?",
        "Q2 What would you change?",
        "Question 3: travel",
        "Any other comments",
        "Channel",
    )
    rows = [
        ["101", "03/06/2024", DUNDEE_POSTCODES[0], "The parks", "More buses", "", "", "Online"],
        ["102", "04/06/2024", DUNDEE_POSTCODES[5], "Neighbours", "", "Cycle lanes", "", "Paper"],
        ["103", "05/06/2024", "", "", "", "", "Call 07700 900789", "Phone"],
        [
            "104",
            "06/06/2024",
            ANGUS_POSTCODES[0],
            "Quiet",
            "Lighting",
            "Trains",
            "Thanks",
            "Online",
        ],
    ]
    return utf8(to_csv(rows, header))


def _utf16_no_bom() -> bytes:
    rows = _rows(range(1, 4))
    return to_csv(rows).encode("utf-16-le")


def _corrupt_xlsx() -> bytes:
    return b"PK\x03\x04" + b"\x14\x00\x00\x00\x08\x00" + b"not really a workbook" * 8


def _whitespace_only() -> bytes:
    return b"\r\n  \n\t\n"


def _preamble() -> bytes:
    text = "Place Standard survey export\nGenerated 2024-06-01 by the survey tool\n"
    return utf8(text + to_csv(_rows(range(1, 4))))


def _ids_with_email() -> bytes:
    rows = [ps_row(n, response_id=f"resident{n}@example.com") for n in range(1, 4)]
    return utf8(to_csv(rows))


ENTRIES: tuple[Entry, ...] = (
    Entry(
        "01_clean_baseline.csv",
        _clean_baseline,
        "loaded",
        "clean UTF-8 LF baseline",
        encoding="utf-8",
        rows_in=8,
        rows_loaded=8,
        rows_quarantined=0,
        geocode=_matched(8),
    ),
    Entry(
        "02_semicolon_delimiter.csv",
        _semicolon,
        "loaded",
        "semicolon delimiter (European Excel), CRLF: sniffed from the header and accepted",
        encoding="utf-8",
        rows_in=5,
        rows_loaded=5,
        rows_quarantined=0,
        geocode=_matched(5),
    ),
    Entry(
        "03_tab_delimiter.tsv",
        _tab,
        "loaded",
        "tab-delimited: sniffed and accepted",
        encoding="utf-8",
        rows_in=5,
        rows_loaded=5,
        rows_quarantined=0,
        geocode=_matched(5),
    ),
    Entry(
        "04_utf8_bom.csv",
        _utf8_bom,
        "loaded",
        "UTF-8 with BOM, CRLF",
        encoding="utf-8-sig",
        rows_in=4,
        rows_loaded=4,
        rows_quarantined=0,
        geocode=_matched(4),
    ),
    Entry(
        "05_utf16_le_bom.csv",
        _utf16_bom,
        "loaded",
        "Excel 'Unicode text': UTF-16 LE with BOM, tab-delimited",
        encoding="utf-16",
        rows_in=4,
        rows_loaded=4,
        rows_quarantined=0,
        geocode=_matched(4),
    ),
    Entry(
        "06_cp1252_pound_curly_quotes.csv",
        _cp1252,
        "loaded",
        "Windows-1252 with £, curly quotes and an en dash",
        encoding="cp1252",
        rows_in=4,
        rows_loaded=4,
        rows_quarantined=0,
        geocode=_matched(4),
    ),
    Entry(
        "07_missing_header.csv",
        _missing_header,
        "rejected",
        "data rows without a header line",
        error_contains="no header row",
    ),
    Entry(
        "08_ragged_rows.csv",
        _ragged,
        "loaded",
        "one row with an extra field, one truncated; trailing empty fields are tolerated",
        encoding="utf-8",
        rows_in=6,
        rows_loaded=4,
        rows_quarantined=2,
        quarantined={"ragged_row": 2},
        geocode=_matched(4),
    ),
    Entry(
        "09_unterminated_quote.csv",
        _unterminated_quote,
        "loaded",
        "a quote never closed: that line is quarantined, reading resumes on the next",
        encoding="utf-8",
        rows_in=5,
        rows_loaded=4,
        rows_quarantined=1,
        quarantined={"unterminated_quote": 1},
        geocode=_matched(4),
    ),
    Entry(
        "10_nul_bytes.csv",
        _nul_bytes,
        "loaded",
        "a NUL byte inside one comment",
        encoding="utf-8",
        rows_in=5,
        rows_loaded=4,
        rows_quarantined=1,
        quarantined={"nul_bytes": 1},
        geocode=_matched(4),
    ),
    Entry(
        "11_huge_cell.csv",
        _huge_cell,
        "loaded",
        "a 2 MB comment (limit 32 KiB)",
        encoding="utf-8",
        rows_in=3,
        rows_loaded=2,
        rows_quarantined=1,
        quarantined={"cell_too_large": 1},
        geocode=_matched(2),
    ),
    Entry(
        "12_html_error_page.csv",
        _html,
        "rejected",
        "a sign-in page saved as .csv",
        error_contains="HTML page",
    ),
    Entry("13_empty.csv", lambda: b"", "rejected", "0 bytes", error_contains="empty file"),
    Entry(
        "14_header_only.csv",
        _header_only,
        "rejected",
        "header and no responses",
        error_contains="header only",
    ),
    Entry(
        "15_bad_scores.csv",
        _bad_scores,
        "loaded",
        "scores 0, 8, 4.5, five, -1, 77 set aside; ' 7 ' and '4.0' accepted",
        encoding="utf-8",
        rows_in=6,
        rows_loaded=6,
        rows_quarantined=0,
        cells={"score_out_of_range": 4, "score_not_integer": 2},
        geocode=_matched(6),
    ),
    Entry(
        "16_bad_postcodes.csv",
        _bad_postcodes,
        "loaded",
        "blank, malformed, unknown and other-council postcodes; DZ codes and place names",
        encoding="utf-8",
        rows_in=14,
        rows_loaded=14,
        rows_quarantined=0,
        geocode={
            "matched": 6,
            "outside_council": 2,
            "unmatched_blank": 1,
            "unmatched_malformed": 3,
            "unmatched_unknown_postcode": 1,
            "unmatched_unknown_place": 1,
        },
    ),
    Entry(
        "17_duplicate_ids.csv",
        _duplicate_ids,
        "loaded",
        "repeated and blank response ids: the first use of an id is kept",
        encoding="utf-8",
        rows_in=8,
        rows_loaded=3,
        rows_quarantined=5,
        quarantined={"duplicate_response_id": 3, "missing_response_id": 2},
        geocode=_matched(3),
    ),
    Entry(
        "18_future_and_bad_dates.csv",
        _dates,
        "loaded",
        "future, unparseable and implausible dates set aside (today = 2024-06-30)",
        encoding="utf-8",
        rows_in=9,
        rows_loaded=9,
        rows_quarantined=0,
        cells={"date_in_future": 2, "date_unparseable": 2, "date_implausible": 1},
        geocode=_matched(9),
    ),
    Entry(
        "19_excel_mangled.csv",
        _excel_mangled,
        "loaded",
        "Excel dates in scores, #VALUE!/#N/A, numeric postcode, '#####' date, serial date",
        encoding="utf-8",
        rows_in=8,
        rows_loaded=7,
        rows_quarantined=1,
        quarantined={"missing_response_id": 1},
        cells={"excel_error": 5, "excel_mangled": 4},
        geocode={"matched": 5, "unmatched_malformed": 2},
    ),
    Entry(
        "20_place_standard.xlsx",
        _xlsx_plain,
        "loaded",
        "XLSX with typed cells (integers, a float 4.0, datetimes)",
        rows_in=6,
        rows_loaded=6,
        rows_quarantined=0,
        geocode=_matched(6),
    ),
    Entry(
        "21_xlsx_extra_sheets_blank_rows.xlsx",
        _xlsx_extra_sheets,
        "loaded",
        "data on the 2nd of 3 sheets under a title line; an interior blank row is "
        "quarantined, trailing blank rows dropped",
        rows_in=7,
        rows_loaded=6,
        rows_quarantined=1,
        quarantined={"empty_row": 1},
        geocode=_matched(6),
    ),
    Entry(
        "22_mixed_line_endings.csv",
        _mixed_line_endings,
        "loaded",
        "CRLF, LF and CR between records, LF inside a quoted comment",
        encoding="utf-8",
        rows_in=5,
        rows_loaded=5,
        rows_quarantined=0,
        geocode=_matched(5),
    ),
    Entry(
        "23_trailing_empty_columns.csv",
        _trailing_empty_columns,
        "loaded",
        "unnamed empty columns and trailing all-comma lines",
        encoding="utf-8",
        rows_in=4,
        rows_loaded=4,
        rows_quarantined=0,
        geocode=_matched(4),
    ),
    Entry(
        "24_reordered_renamed_columns.csv",
        _reordered,
        "loaded",
        "columns reversed, with different case, spacing and Place Standard wording",
        encoding="utf-8",
        rows_in=4,
        rows_loaded=4,
        rows_quarantined=0,
        geocode=_matched(4),
    ),
    Entry(
        "25_unknown_extra_columns.csv",
        _extra_columns,
        "loaded",
        "unknown columns (one holding e-mails) kept in raw extra_json only",
        encoding="utf-8",
        rows_in=4,
        rows_loaded=4,
        rows_quarantined=0,
        geocode=_matched(4),
    ),
    Entry(
        "26_formula_like_comments.csv",
        _formula_like,
        "loaded",
        "=HYPERLINK, +44..., @SUM, -1+1 kept as text (export neutralises formulas)",
        encoding="utf-8",
        rows_in=5,
        rows_loaded=5,
        rows_quarantined=0,
        geocode=_matched(5),
    ),
    Entry(
        "27_unicode_confusables.csv",
        _confusables,
        "loaded",
        "full-width e-mail/phone/postcode, zero-width spaces, Cyrillic look-alikes, bidi",
        encoding="utf-8",
        rows_in=5,
        rows_loaded=5,
        rows_quarantined=0,
        geocode={"matched": 4, "unmatched_malformed": 1},
    ),
    Entry(
        "28_very_long_lines.csv",
        _very_long_lines,
        "loaded",
        "221 columns and a 27 kB comment (under the 32 KiB cell limit)",
        encoding="utf-8",
        rows_in=3,
        rows_loaded=3,
        rows_quarantined=0,
        geocode=_matched(3),
    ),
    Entry(
        "29_binary_not_csv.csv",
        _binary,
        "rejected",
        "PNG bytes named .csv",
        error_contains="not a text file",
    ),
    Entry(
        "30_legacy_excel.xls",
        _legacy_xls,
        "rejected",
        "an old binary .xls",
        error_contains="legacy Excel .xls",
    ),
    Entry(
        "31_empty_rows_missing_ids.csv",
        _empty_rows_missing_ids,
        "loaded",
        "an all-comma row and a blank line inside the data, a blank id, trailing blank lines",
        encoding="utf-8",
        rows_in=6,
        rows_loaded=3,
        rows_quarantined=3,
        quarantined={"empty_row": 2, "missing_response_id": 1},
        geocode=_matched(3),
    ),
    Entry(
        "32_personal_data_in_comments.csv",
        _personal_data,
        "loaded",
        "e-mails, UK phones, full/partial postcodes, addresses, and look-alikes to keep",
        encoding="utf-8",
        rows_in=5,
        rows_loaded=5,
        rows_quarantined=0,
        geocode=_matched(5),
    ),
    Entry(
        "33_consultation_generic.csv",
        _consultation,
        "loaded",
        "generic consultation schema: Q1, Q2, Question 3, Any other comments",
        schema="consultation",
        encoding="utf-8",
        rows_in=4,
        rows_loaded=4,
        rows_quarantined=0,
        geocode={"matched": 2, "unmatched_blank": 1, "outside_council": 1},
    ),
    Entry(
        "34_utf16_no_bom.csv",
        _utf16_no_bom,
        "loaded",
        "UTF-16 LE without a BOM",
        encoding="utf-16-le",
        rows_in=3,
        rows_loaded=3,
        rows_quarantined=0,
        geocode=_matched(3),
    ),
    Entry(
        "35_corrupt_xlsx.xlsx",
        _corrupt_xlsx,
        "rejected",
        "a zip header and nothing else",
        error_contains="not a readable XLSX",
    ),
    Entry(
        "36_whitespace_only.csv",
        _whitespace_only,
        "rejected",
        "blank lines only",
        error_contains="empty file",
    ),
    Entry(
        "37_preamble_lines.csv",
        _preamble,
        "loaded",
        "two title lines above the header",
        encoding="utf-8",
        rows_in=3,
        rows_loaded=3,
        rows_quarantined=0,
        geocode=_matched(3),
    ),
    Entry(
        "38_response_ids_are_emails.csv",
        _ids_with_email,
        "loaded",
        "response ids that are e-mail addresses: pseudonymised outside the raw layer",
        encoding="utf-8",
        rows_in=3,
        rows_loaded=3,
        rows_quarantined=0,
        geocode=_matched(3),
    ),
)


def index_frame() -> pd.DataFrame:
    records = []
    for entry in ENTRIES:
        records.append(
            {
                "file": entry.file,
                "schema": entry.schema,
                "outcome": entry.outcome,
                "error_contains": entry.error_contains,
                "encoding": entry.encoding,
                "rows_in": entry.rows_in,
                "rows_loaded": entry.rows_loaded,
                "rows_quarantined": entry.rows_quarantined,
                "quarantined_by_reason": _fmt(entry.quarantined),
                "cells_set_aside_by_reason": _fmt(entry.cells),
                "geocode_by_status": _fmt(entry.geocode),
                "note": entry.note,
            }
        )
    frame = pd.DataFrame(records, columns=list(INDEX_COLUMNS))
    for column in ("rows_in", "rows_loaded", "rows_quarantined"):
        frame[column] = frame[column].astype("Int64")
    return frame


def write_corpus(folder: Path) -> list[Path]:
    """Write every corpus file and index.csv into `folder`; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in ENTRIES:
        target = folder / entry.file
        target.write_bytes(entry.content())
        written.append(target)
    index = folder / INDEX_NAME
    index.write_text(index_frame().to_csv(index=False, lineterminator="\n"), encoding="utf-8")
    written.append(index)
    return written


def check_corpus(folder: Path = CORPUS_DIR) -> list[str]:
    """Names of committed files that differ from (or are missing against) a fresh generation."""
    with tempfile.TemporaryDirectory() as scratch:
        fresh = write_corpus(Path(scratch))
        return [
            path.name
            for path in fresh
            if not (folder / path.name).is_file()
            or (folder / path.name).read_bytes() != path.read_bytes()
        ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed corpus")
    args = parser.parse_args(argv)
    if args.check:
        stale = check_corpus()
        print("corpus up to date" if not stale else f"stale: {', '.join(stale)}")
        return 1 if stale else 0
    for path in write_corpus(CORPUS_DIR):
        print(f"{path.stat().st_size:>10,}  {path.relative_to(CORPUS_DIR.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
