"""Reading a survey export (CSV in any common encoding/delimiter, or XLSX) into a table of strings.

What belongs here: file-level checks that reject a file with one clear `SurveyFileError`
naming it (missing, empty, HTML page, binary, legacy .xls, unreadable encoding, no header,
header only), encoding and delimiter detection, finding the header row, and parsing
records while keeping what row-level validation needs: the physical line each record
starts on, its field count (ragged rows), and records that could not be parsed at all
(an unterminated quote). Every cell comes back as a string; nothing here judges values.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd

from profiles.errors import SourceFormatError
from profiles.provenance import sha256_bytes
from profiles.text import detect_encoding_of_bytes
from profiles.voice.schema import ColumnMap, SurveySchema, normalise_column_name, resolve_columns

HEADER_SEARCH_ROWS = 10
"""The header may follow a few preamble lines (a title, an export date); look this far."""

_DELIMITER_CANDIDATES = (",", ";", "\t", "|")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls / .doc
_PDF_MAGIC = b"%PDF"
_HTML_START = re.compile(r"^\s*(<!doctype\s+html|<html|<head|<body|<\?xml[^>]*>\s*<html)", re.I)
_HTML_TAG = re.compile(r"<(?:html|head|body|title|div|script|meta)\b", re.I)
_XML_START = re.compile(r"^\s*<\?xml", re.I)
# C0 controls other than tab/newline/carriage return: in quantity they mean a binary file or
# a wrong encoding; a few (a stray NUL in one row) are a row-level problem instead.
_BINARY_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_BINARY_CONTROL_SHARE = 0.01
_FIELD_SIZE_LIMIT = 1 << 30


class SurveyFileError(SourceFormatError):
    """The whole file cannot be read as a survey export; the message names the file."""


@dataclass
class RawTable:
    """A survey file as strings, one row per record after the header.

    `cells` has one object column per header position ('' for a missing field);
    `source_row` is the 1-based physical line (CSV) or sheet row (XLSX) where the record
    starts, so the header is row 1 unless preamble lines precede it; `field_count` is the
    number of fields the record had; `parse_problem` is a reason id for records that could
    not be split into fields (their text is in `irregular`); `irregular` maps a row
    position to the record's own fields when they do not fit the header (ragged rows).
    `record_chars`, `record_blank` and `record_nul` describe each record's own fields
    (total characters, all blank, holds a NUL) so row checks need not scan every cell.
    """

    path: Path
    format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    sha256: str
    header: list[str]
    header_row: int
    columns: ColumnMap
    cells: pd.DataFrame
    source_row: np.ndarray
    field_count: np.ndarray
    ragged: np.ndarray
    parse_problem: pd.Series
    record_chars: np.ndarray
    record_blank: np.ndarray
    record_nul: np.ndarray
    irregular: dict[int, list[str]] = field(default_factory=dict)
    trailing_empty_rows: int = 0

    @property
    def rows_in(self) -> int:
        return len(self.cells)


def _fail(path: Path, reason: str, *, row: int | None = None) -> SurveyFileError:
    return SurveyFileError(path, reason, row=row)


# --- bytes -> text ---------------------------------------------------------------------------


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' if the bytes look like UTF-16 text with no byte-order mark."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    # Latin-script UTF-16 has a NUL in every other byte; a text file with a few NUL bytes
    # (a row-level problem) does not.
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _bom_free_utf16_or_bom(data: bytes) -> str | None:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return _utf16_without_bom(data)


def _looks_binary(data: bytes) -> bool:
    """Many C0 control bytes (NUL and friends) in the first 64 KiB: not a text export."""
    sample = data[: 1 << 16]
    controls = sum(sample.count(bytes([byte])) for byte in (*range(0, 9), *range(14, 32)))
    return controls > max(8, _BINARY_CONTROL_SHARE * len(sample))


def decode_survey_bytes(data: bytes, path: Path, encoding: str = "auto") -> tuple[str, str]:
    """Text of a survey file and the encoding used; BOMs are removed.

    `encoding='auto'` tries a byte-order mark, UTF-16 without a BOM, UTF-8, Windows-1252,
    then charset-normalizer. An explicit encoding that does not fit is an error (with the
    offending byte offset), never a silent mis-decode.
    """
    if encoding == "auto":
        utf16 = _bom_free_utf16_or_bom(data)
        if utf16 is None and _looks_binary(data):
            raise _fail(path, "not a text file (binary content): not a CSV or XLSX export")
        encoding = utf16 or detect_encoding_of_bytes(data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise _fail(
            path,
            f"unreadable encoding: not valid {encoding} (byte 0x{data[error.start]:02x} at "
            f"offset {error.start}); save the export as UTF-8 or set the schema's encoding",
        ) from error
    except LookupError as error:
        raise _fail(path, f"unknown encoding {encoding!r}") from error
    return text.removeprefix("\ufeff"), encoding


def _check_text(text: str, path: Path, encoding: str) -> None:
    if not text.strip():
        raise _fail(path, "empty file: no header and no responses")
    head = text[:4096]
    if _HTML_START.match(head) or (
        head.lstrip().startswith("<") and _HTML_TAG.search(head[:2048]) is not None
    ):
        raise _fail(
            path, "an HTML page (e.g. a login or error page saved as .csv), not a survey export"
        )
    if _XML_START.match(head):
        raise _fail(path, "an XML document (e.g. Excel 2003 XML), not CSV; save as CSV or .xlsx")
    sample = text[: 1 << 16]
    controls = len(_BINARY_CONTROLS.findall(sample))
    if controls > max(8, _BINARY_CONTROL_SHARE * len(sample)):
        raise _fail(
            path,
            f"not a text file or unreadable encoding: {controls} control characters in the "
            f"first {len(sample)} characters as {encoding}",
        )


# --- CSV ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _large_fields() -> Iterator[None]:
    """Let the csv module read multi-megabyte cells (the row is judged later, not the file)."""
    previous = csv.field_size_limit()
    csv.field_size_limit(min(_FIELD_SIZE_LIMIT, sys.maxsize))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _sniff_delimiter(lines: Sequence[str], schema: SurveySchema) -> str:
    """The delimiter under which some early line names most schema columns.

    A header decides this unambiguously where statistical sniffing of free text (full of
    commas and semicolons) does not. Ties go to the candidate order: comma first.
    """
    known = schema.known_names()
    best, best_score = ",", (-1, -1)
    for delimiter in _DELIMITER_CANDIDATES:
        reader = csv.reader(lines[:HEADER_SEARCH_ROWS], delimiter=delimiter)
        with contextlib.suppress(csv.Error):
            for record in reader:
                matched = sum(normalise_column_name(name) in known for name in record)
                score = (matched, len(record))
                if score > best_score:
                    best, best_score = delimiter, score
    return best


@dataclass(slots=True)
class _Record:
    start: int
    fields: list[str]
    problem: str | None = None


def _parse_records(lines: list[str], delimiter: str, first_line: int) -> list[_Record]:
    """Records of `lines` (numbered from `first_line`), isolating unterminated quotes.

    A quote that is never closed makes the csv module swallow the rest of the file into
    one field. When the last record runs to the end inside a quote, its first line becomes
    an `unterminated_quote` record and parsing resumes on the next line, so one stray quote
    costs one row, not the rest of the file.
    """
    records: list[_Record] = []
    offset = 0
    while offset < len(lines):
        reader = csv.reader(lines[offset:], delimiter=delimiter, strict=False)
        previous_end = 0
        batch: list[_Record] = []
        for fields in reader:
            batch.append(_Record(first_line + offset + previous_end, fields))
            previous_end = reader.line_num
        records.extend(batch)
        if not batch:
            break
        last = batch[-1]
        last_index = last.start - first_line
        strict_reader = csv.reader(lines[last_index:], delimiter=delimiter, strict=True)
        try:
            for _ in strict_reader:
                pass
            break
        except csv.Error as error:
            if "unexpected end of data" not in str(error):
                break
        records[-1] = _Record(last.start, [lines[last_index]], "unterminated_quote")
        offset = last_index + 1
    return records


def _find_header(
    candidates: Sequence[list[str]], schema: SurveySchema, path: Path
) -> tuple[int, ColumnMap]:
    best_index, best_map = -1, None
    for index, record in enumerate(candidates[:HEADER_SEARCH_ROWS]):
        mapping = resolve_columns(record, schema)
        if mapping.matched and (best_map is None or mapping.matched > best_map.matched):
            best_index, best_map = index, mapping
    if best_map is None:
        expected = ", ".join(schema.columns.get("response_id", ("response_id",))[:3])
        raise _fail(
            path,
            f"no header row: none of the first {HEADER_SEARCH_ROWS} lines names any column of "
            f"schema {schema.name!r} (e.g. {expected}); is the header missing?",
        )
    if best_map.missing:
        wanted = "; ".join(
            f"{role} (looked for {', '.join(schema.columns.get(role, (role,)))})"
            for role in best_map.missing
        )
        raise _fail(path, f"header lacks required column(s): {wanted}", row=best_index + 1)
    return best_index, best_map


def _is_blank(fields: Sequence[str]) -> bool:
    return all(not value.strip() for value in fields)


def _table_from_records(
    path: Path,
    records: list[_Record],
    *,
    fmt: str,
    encoding: str | None,
    delimiter: str | None,
    sheet: str | None,
    sha256: str,
    schema: SurveySchema,
    ragged_applies: bool,
) -> RawTable:
    header_index, columns = _find_header([r.fields for r in records], schema, path)
    header_record = records[header_index]
    header = list(header_record.fields)
    width = len(header)
    named_width = max((i + 1 for i, name in enumerate(header) if name.strip()), default=0)
    body = records[header_index + 1 :]
    trailing = 0
    while body and body[-1].problem is None and _is_blank(body[-1].fields):
        body.pop()
        trailing += 1
    if not body:
        raise _fail(path, "header only: the export holds no responses", row=header_record.start)

    rows = len(body)
    source_row = np.fromiter((r.start for r in body), dtype=np.int64, count=rows)
    field_count = np.fromiter((len(r.fields) for r in body), dtype=np.int64, count=rows)
    problem = pd.Series([r.problem for r in body], dtype=object)
    record_chars = np.zeros(rows, dtype=np.int64)
    record_blank = np.zeros(rows, dtype=bool)
    record_nul = np.zeros(rows, dtype=bool)
    irregular: dict[int, list[str]] = {}
    ragged = np.zeros(rows, dtype=bool)
    padded: list[list[str]] = []
    for index, record in enumerate(body):
        fields = record.fields
        # Whole-record facts, so row checks need not scan every column of every row.
        joined = "".join(fields)
        record_chars[index] = len(joined)
        record_blank[index] = not joined.strip()
        record_nul[index] = "\x00" in joined
        if record.problem is not None:
            # The text could not be split into fields: keep it whole, claim no values.
            irregular[index] = list(fields)
            padded.append([""] * width)
            continue
        if len(fields) == width:
            padded.append(fields)
            continue
        # Trailing empty fields beyond the named columns are padding, not a shifted row.
        too_short = len(fields) < named_width
        spill = fields[width:]
        if ragged_applies and fields and (too_short or any(v.strip() for v in spill)):
            ragged[index] = True
        irregular[index] = list(fields)
        padded.append((fields + [""] * width)[:width])
    cells = pd.DataFrame(padded, columns=range(width), dtype=object) if padded else None
    assert cells is not None
    return RawTable(
        path=path,
        format=fmt,
        encoding=encoding,
        delimiter=delimiter,
        sheet=sheet,
        sha256=sha256,
        header=header,
        header_row=header_record.start,
        columns=columns,
        cells=cells,
        source_row=source_row,
        field_count=field_count,
        ragged=ragged,
        parse_problem=problem,
        record_chars=record_chars,
        record_blank=record_blank,
        record_nul=record_nul,
        irregular=irregular,
        trailing_empty_rows=trailing,
    )


def _read_csv_text(
    text: str, path: Path, schema: SurveySchema, *, encoding: str, sha256: str
) -> RawTable:
    # newline="" splits on \n, \r\n and a lone \r alike (mixed line endings), without
    # translating line endings inside quoted cells.
    lines = io.StringIO(text, newline="").readlines()
    delimiter = _sniff_delimiter(lines, schema) if schema.delimiter == "auto" else schema.delimiter
    with _large_fields():
        records = _parse_records(lines, delimiter, first_line=1)
    return _table_from_records(
        path,
        records,
        fmt="csv",
        encoding=encoding,
        delimiter=delimiter,
        sheet=None,
        sha256=sha256,
        schema=schema,
        ragged_applies=True,
    )


# --- XLSX --------------------------------------------------------------------------------


def _cell_text(value: object) -> str:
    """A cell value as the text a CSV export of the sheet would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _read_xlsx(data: bytes, path: Path, schema: SurveySchema, *, sha256: str) -> RawTable:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        raise _fail(path, f"not a readable XLSX workbook ({type(error).__name__})") from error
    try:
        sheets = [name for name in workbook.sheetnames]
        if schema.sheet is not None:
            if schema.sheet not in sheets:
                raise _fail(path, f"no sheet {schema.sheet!r} (sheets: {', '.join(sheets)})")
            sheets = [schema.sheet]
        chosen: tuple[str, list[_Record]] | None = None
        best = -1
        for name in sheets:
            rows = [
                _Record(number, [_cell_text(v) for v in values])
                for number, values in enumerate(workbook[name].iter_rows(values_only=True), start=1)
            ]
            width = max((len(r.fields) for r in rows), default=0)
            for record in rows:
                record.fields.extend([""] * (width - len(record.fields)))
            score = max(
                (resolve_columns(r.fields, schema).matched for r in rows[:HEADER_SEARCH_ROWS]),
                default=0,
            )
            if score > best:
                chosen, best = (name, rows), score
    finally:
        workbook.close()
    if chosen is None or not chosen[1]:
        raise _fail(path, "empty workbook: no rows in any sheet")
    sheet, records = chosen
    return _table_from_records(
        path,
        records,
        fmt="xlsx",
        encoding=None,
        delimiter=None,
        sheet=sheet,
        sha256=sha256,
        schema=schema,
        ragged_applies=False,
    )


# --- entry point -------------------------------------------------------------------------


def read_survey_table(path: str | Path, schema: SurveySchema) -> RawTable:
    """Read a survey export into a `RawTable`, or raise `SurveyFileError` naming the file.

    The format comes from the content (an XLSX is a zip whatever its extension) unless the
    schema fixes it; CSV encoding and delimiter are detected unless the schema fixes them.
    """
    file_path = Path(path)
    if not file_path.is_file():
        raise _fail(file_path, "file not found")
    data = file_path.read_bytes()
    if not data:
        raise _fail(file_path, "empty file (0 bytes)")
    sha256 = sha256_bytes(data)
    if data.startswith(_OLE_MAGIC):
        raise _fail(file_path, "a legacy Excel .xls (or other OLE) file; save it as .xlsx or CSV")
    if data.startswith(_PDF_MAGIC):
        raise _fail(file_path, "a PDF document, not a survey export")
    is_zip = data.startswith(_ZIP_MAGIC)
    if schema.format == "xlsx" or (schema.format == "auto" and is_zip):
        return _read_xlsx(data, file_path, schema, sha256=sha256)
    if is_zip:
        raise _fail(file_path, "a zip/XLSX file, but the schema expects CSV")
    text, encoding = decode_survey_bytes(data, file_path, schema.encoding)
    _check_text(text, file_path, encoding)
    return _read_csv_text(text, file_path, schema, encoding=encoding, sha256=sha256)


def codec_name(encoding: str | None) -> str | None:
    """Canonical codec name for reporting ('utf_8_sig' -> 'utf-8-sig')."""
    if encoding is None:
        return None
    return codecs.lookup(encoding).name
