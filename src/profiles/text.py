"""Text helpers shared by the source parsers: encoding detection and name cleaning.

What belongs here: reading published text files whose encoding is not declared
(statistics.gov.scot serves some lookups as Windows-1252), peeking at the first lines of a
file without reading it all, and normalising area names that carry stray spaces.
Nothing here knows about any particular file layout.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CHUNK = 1 << 20

# Any run of Unicode whitespace (\s covers the no-break space U+00A0, U+2007, U+202F...).
_WHITESPACE_RUN = re.compile(r"\s+")


def _bom_encoding(head: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    return None


def _is_utf8(chunks: list[bytes] | bytes, *, complete: bool) -> bool:
    """True if the bytes decode as UTF-8; `complete=False` tolerates a cut final character."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    parts = [chunks] if isinstance(chunks, bytes) else chunks
    try:
        for part in parts:
            decoder.decode(part, final=False)
        decoder.decode(b"", final=complete)
    except UnicodeDecodeError:
        return False
    return True


def _is_cp1252(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    # cp1252 decodes almost any byte string; NULs mean it is really UTF-16 without a BOM
    # or a binary file.
    return b"\x00" not in data


def _fallback_encoding(data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return best.encoding if best is not None else "latin-1"


def detect_encoding_of_bytes(data: bytes, *, complete: bool = True) -> str:
    """Encoding of a byte string: BOM, else UTF-8, else cp1252, else charset-normalizer.

    Pass `complete=False` when `data` is only the start of a file, so that a multi-byte
    character cut at the end of the sample does not count against UTF-8.
    """
    if bom := _bom_encoding(data[:4]):
        return bom
    if _is_utf8(data, complete=complete):
        return "utf-8"
    if _is_cp1252(data):
        return "cp1252"
    return _fallback_encoding(data)


def detect_encoding(path: str | Path) -> str:
    """Encoding of a whole file, reading it in chunks so large files use constant memory.

    Order: a byte-order mark (UTF-8 -> `utf-8-sig`, UTF-16 -> `utf-16`); else UTF-8 if every
    byte decodes; else Windows-1252 (what statistics.gov.scot lookups use); charset-normalizer
    only when none of these fit.
    """
    with open(path, "rb") as handle:
        head = handle.read(4)
        if bom := _bom_encoding(head):
            return bom
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk, final=False)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
    data = Path(path).read_bytes()
    if _is_cp1252(data):
        return "cp1252"
    return _fallback_encoding(data)


def read_text_file(path: str | Path) -> tuple[str, str]:
    """Read a whole text file, returning `(text, encoding)`; a BOM is not part of the text."""
    encoding = detect_encoding(path)
    return Path(path).read_bytes().decode(encoding), encoding


def read_head(path: str | Path, max_bytes: int = 64 * 1024) -> tuple[str, str]:
    """The first `max_bytes` of a file decoded as text, and the encoding guessed from them.

    For sniffing headers only: the encoding guess is based on the sample, and a final
    partial line or character may be cut.
    """
    with open(path, "rb") as handle:
        data = handle.read(max_bytes)
    encoding = detect_encoding_of_bytes(data, complete=len(data) < max_bytes)
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(data, final=False), encoding


def clean_name(value: str) -> str:
    """Strip plain and no-break spaces from both ends and collapse internal runs to one space.

    Punctuation is kept exactly as published (curly apostrophes as in "Bo’ness"), so names
    still match the publisher's spelling.
    """
    return _WHITESPACE_RUN.sub(" ", value).strip()
