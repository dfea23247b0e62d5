"""Declarative survey schemas: which column holds what, read from `data/config/surveys/*.yaml`.

What belongs here: the `SurveySchema` dataclass, loading and validating a schema file,
tolerant column-name matching (case, spaces, punctuation: "Post Code" = "postcode"), and
resolving a file's header to schema roles. Nothing here reads survey files or checks
values; `read.py` reads, `validate.py` checks.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from profiles.errors import ConfigError

SURVEY_CONFIG_DIR = Path(__file__).resolve().parents[3] / "data" / "config" / "surveys"

ROLES: tuple[str, ...] = (
    "response_id",
    "submitted_at",
    "postcode",
    "place",
    "age_band",
    "gender",
)
"""Single-column roles; ratings and free-text questions are listed separately."""

FORMATS = ("auto", "csv", "xlsx")
DELIMITERS = ("auto", ",", ";", "\t", "|")

_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")
_SLUG_SEPARATORS = re.compile(r"[^0-9a-z]+")


def normalise_column_name(name: object) -> str:
    """Key used to compare column names: 'Post Code ', 'post_code' and 'POSTCODE' -> 'postcode'.

    NFKC folds full-width and compatibility characters, casefold handles case, and every
    character that is not a letter or digit (spaces, underscores, dashes, punctuation) is
    dropped.
    """
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    return _NOT_ALPHANUMERIC.sub("", text)


def slugify(name: object) -> str:
    """A snake_case id for a column name: 'Q3: What is good?' -> 'q3_what_is_good'."""
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    return _SLUG_SEPARATORS.sub("_", text).strip("_") or "column"


@dataclass(frozen=True)
class AgeBand:
    label: str
    low: int
    high: int | None  # None = open-ended ("75+")


@dataclass(frozen=True)
class SurveySchema:
    """What a survey export looks like. Built from YAML by `load_schema`.

    `columns` maps each role in `ROLES` to accepted column names; `ratings` maps a
    question id (a Place Standard theme id for that schema) to accepted names;
    `free_text` likewise, and `free_text_pattern` (a regex matched against normalised
    column names) turns any further matching columns into free-text questions, so a
    consultation with any number of questions needs no per-survey config.
    """

    name: str
    description: str = ""
    format: str = "auto"
    encoding: str = "auto"
    delimiter: str = "auto"
    sheet: str | None = None
    max_cell_bytes: int = 32 * 1024
    required: tuple[str, ...] = ("response_id",)
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    date_formats: tuple[str, ...] = ("ISO8601", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y")
    scale_min: int = 1
    scale_max: int = 7
    ratings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    free_text: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    free_text_pattern: str | None = None
    age_bands: tuple[AgeBand, ...] = ()
    age_aliases: Mapping[str, str | None] = field(default_factory=dict)
    gender_values: Mapping[str, str | None] = field(default_factory=dict)
    gender_other: str = "other"
    source: str = ""

    def known_names(self) -> set[str]:
        """Normalised names of every column the schema names (for header detection)."""
        names: set[str] = set()
        for aliases in (*self.columns.values(), *self.ratings.values(), *self.free_text.values()):
            names.update(normalise_column_name(alias) for alias in aliases)
        return names


@dataclass(frozen=True)
class ColumnMap:
    """How one file's header maps onto a schema.

    Values are positions in the header. `extra` holds columns the schema does not know,
    kept (raw layer only) as JSON; `blank` holds positions of unnamed columns.
    """

    roles: dict[str, int]
    ratings: dict[str, int]
    free_text: dict[str, int]
    extra: dict[str, int]
    blank: tuple[int, ...]
    missing: tuple[str, ...]

    @property
    def matched(self) -> int:
        return len(self.roles) + len(self.ratings) + len(self.free_text)


def resolve_columns(header: Sequence[str], schema: SurveySchema) -> ColumnMap:
    """Match a header to the schema's roles, ratings and free-text questions.

    For each role the first alias present wins; a header name is used for one role only.
    Unknown named columns go to `extra` (kept, not fatal); unnamed columns to `blank`.
    """
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        key = normalise_column_name(name)
        if key and key not in positions:
            positions[key] = index
    used: set[int] = set()

    def take(aliases: Sequence[str]) -> int | None:
        for alias in aliases:
            index = positions.get(normalise_column_name(alias))
            if index is not None and index not in used:
                used.add(index)
                return index
        return None

    roles = {role: i for role in ROLES if (i := take(schema.columns.get(role, ()))) is not None}
    ratings = {q: i for q, aliases in schema.ratings.items() if (i := take(aliases)) is not None}
    free_text = {
        q: i for q, aliases in schema.free_text.items() if (i := take(aliases)) is not None
    }
    if schema.free_text_pattern:
        pattern = re.compile(schema.free_text_pattern)
        for index, name in enumerate(header):
            key = normalise_column_name(name)
            if index not in used and key and pattern.search(key):
                question = slugify(name)
                while question in free_text:
                    question += "_"
                free_text[question] = index
                used.add(index)
    extra: dict[str, int] = {}
    blank: list[int] = []
    for index, name in enumerate(header):
        if index in used:
            continue
        if not str(name).strip():
            blank.append(index)
            continue
        label = str(name).strip()
        while label in extra:
            label += "_"
        extra[label] = index
    missing = tuple(role for role in schema.required if role not in roles and role not in ratings)
    return ColumnMap(roles, ratings, free_text, extra, tuple(blank), missing)


# --- loading -----------------------------------------------------------------------------


def _aliases(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{where}: expected a column name or a list of names")


def _alias_table(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of id -> column names")
    return {str(key): _aliases(aliases, f"{where}.{key}") for key, aliases in value.items()}


def _age_bands(document: dict[str, Any], where: str) -> tuple[AgeBand, ...]:
    bands: list[AgeBand] = []
    for label, bounds in (document.get("bands") or {}).items():
        if not (isinstance(bounds, list) and len(bounds) == 2 and isinstance(bounds[0], int)):
            raise ConfigError(f"{where}.bands.{label}: expected [low, high] (high may be null)")
        high = bounds[1]
        if high is not None and (not isinstance(high, int) or high < bounds[0]):
            raise ConfigError(f"{where}.bands.{label}: high must be an integer >= low or null")
        bands.append(AgeBand(str(label), bounds[0], high))
    return tuple(sorted(bands, key=lambda band: band.low))


def _value_map(value: Any, where: str) -> dict[str, str | None]:
    """Harmonised label (or null) -> spellings, inverted to normalised spelling -> label."""
    mapping: dict[str, str | None] = {}
    if value is None:
        return mapping
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of label -> spellings")
    for label, spellings in value.items():
        target = None if label in (None, "null", "~") else str(label)
        for spelling in _aliases(spellings, f"{where}.{label}"):
            mapping[normalise_column_name(spelling)] = target
    return mapping


def schema_from_mapping(document: Mapping[str, Any], *, source: str = "") -> SurveySchema:
    """Build and validate a schema from a parsed YAML mapping."""
    where = source or "survey schema"
    if not isinstance(document, Mapping) or "name" not in document:
        raise ConfigError(f"{where}: expected a mapping with at least 'name' and 'columns'")
    columns = _alias_table(document.get("columns"), f"{where}: columns")
    unknown_roles = set(columns) - set(ROLES)
    if unknown_roles:
        raise ConfigError(
            f"{where}: unknown column roles {sorted(unknown_roles)}; known: {', '.join(ROLES)}"
        )
    fmt = str(document.get("format", "auto"))
    if fmt not in FORMATS:
        raise ConfigError(f"{where}: format {fmt!r} is not one of {', '.join(FORMATS)}")
    delimiter = str(document.get("delimiter", "auto"))
    if delimiter not in DELIMITERS:
        raise ConfigError(f"{where}: delimiter {delimiter!r} is not one of {DELIMITERS}")
    encoding = str(document.get("encoding", "auto"))
    if encoding != "auto":
        import codecs

        try:
            codecs.lookup(encoding)
        except LookupError as error:
            raise ConfigError(f"{where}: unknown encoding {encoding!r}") from error
    ratings_doc = document.get("ratings") or {}
    scale = ratings_doc.get("scale") or {}
    scale_min, scale_max = int(scale.get("min", 1)), int(scale.get("max", 7))
    if scale_min >= scale_max:
        raise ConfigError(f"{where}: ratings.scale min must be below max")
    free_doc = document.get("free_text") or {}
    pattern = free_doc.get("pattern")
    if pattern is not None:
        try:
            re.compile(str(pattern))
        except re.error as error:
            raise ConfigError(f"{where}: free_text.pattern is not a regex ({error})") from error
    demographics = document.get("demographics") or {}
    age_doc = demographics.get("age_band") or {}
    gender_doc = demographics.get("gender") or {}
    age_aliases = _value_map(age_doc.get("aliases"), f"{where}: demographics.age_band.aliases")
    bands = _age_bands(age_doc, f"{where}: demographics.age_band")
    band_labels = {band.label for band in bands}
    stray = {label for label in age_aliases.values() if label is not None} - band_labels
    if stray:
        raise ConfigError(f"{where}: age_band aliases point at undefined bands {sorted(stray)}")
    required = tuple(document.get("required") or ("response_id",))
    max_cell = int(document.get("max_cell_bytes", 32 * 1024))
    if max_cell < 1024:
        raise ConfigError(f"{where}: max_cell_bytes must be at least 1024")
    dates = document.get("dates") or {}
    return SurveySchema(
        name=str(document["name"]),
        description=str(document.get("description", "")).strip(),
        format=fmt,
        encoding=encoding,
        delimiter=delimiter,
        sheet=document.get("sheet"),
        max_cell_bytes=max_cell,
        required=required,
        columns=columns,
        date_formats=tuple(dates.get("formats") or SurveySchema.date_formats),
        scale_min=scale_min,
        scale_max=scale_max,
        ratings=_alias_table(ratings_doc.get("questions"), f"{where}: ratings.questions"),
        free_text=_alias_table(free_doc.get("questions"), f"{where}: free_text.questions"),
        free_text_pattern=str(pattern) if pattern is not None else None,
        age_bands=bands,
        age_aliases=age_aliases,
        gender_values=_value_map(gender_doc.get("values"), f"{where}: demographics.gender"),
        gender_other=str(gender_doc.get("other", "other")),
        source=source,
    )


def load_schema(schema: SurveySchema | str | Path) -> SurveySchema:
    """A schema object, a built-in name ('place_standard', 'consultation') or a YAML path."""
    if isinstance(schema, SurveySchema):
        return schema
    candidate = Path(schema)
    if candidate.suffix.lower() not in (".yaml", ".yml"):
        candidate = SURVEY_CONFIG_DIR / f"{schema}.yaml"
    if not candidate.is_file():
        known = ", ".join(sorted(p.stem for p in SURVEY_CONFIG_DIR.glob("*.yaml")))
        raise ConfigError(f"no survey schema {str(schema)!r} (built-in: {known})")
    resolved = candidate.resolve()
    return _load_schema_file(resolved, resolved.stat().st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _load_schema_file(path: Path, mtime_ns: int) -> SurveySchema:
    """Parsed schema, cached per file version (the modification time is part of the key)."""
    del mtime_ns
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from error
    return schema_from_mapping(document, source=str(path))
