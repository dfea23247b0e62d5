"""Errors the domain library raises for bad input.

What belongs here: exception types that carry enough context (file, row, field) for a
one-line message a user can act on. Parsers raise these; the CLI prints `str(error)`.
"""

from __future__ import annotations

from pathlib import Path


class ProfilesError(Exception):
    """Base class: anything the CLI reports as a one-line reason with a non-zero exit."""


class SourceFormatError(ProfilesError):
    """A published file is not in the format its parser expects.

    `row` is the 1-based line number in the file (the header is line 1) where known,
    `field` the column name where known.
    """

    def __init__(
        self,
        path: str | Path,
        reason: str,
        *,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path)
        self.reason = reason
        self.row = row
        self.field = field
        where = self.path
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {reason}")


class FetchError(ProfilesError):
    """A live download failed for good (after retries) or returned something unusable."""


class ConfigError(ProfilesError):
    """A configuration file under data/config is invalid."""
