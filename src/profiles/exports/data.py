"""Everything a profile pack shows for one council, as plain DataFrames.

What belongs here: `PackData` (the frames of the published marts, limited to one council,
plus the settings a pack needs: headline measures, theme labels, disclosure rules),
`PackData.for_locality` (the same, narrowed to one locality and its council comparators),
`load_pack_data`, which reads it from a DuckDB warehouse, and reading mart values the way
every output shows them (`display_unit`, `format_value`, `evidence_parts` for the
priority ranking's evidence JSON). The builders (`excel`,
`html`, `tables`, `geopackage`, `pack`) take a `PackData` and never open the warehouse.

Only published marts are read: redacted, aggregated and already through disclosure control.
Response-level tables (`marts.voice_response`, comments) and everything in `raw` except the
provenance table `raw.source_file` stay out of packs. Community-voice and triangulation
marts are optional: when a council has no survey loaded yet, their frames are empty with
the contract's columns, and the packs say so.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import geopandas as gpd
import pandas as pd
import shapely
import yaml

from profiles.contract import FCT_INDICATOR_COLUMNS, SIMD_VINTAGES
from profiles.errors import ProfilesError
from profiles.settings import CONFIG_DIR
from profiles.stats.disclosure import DisclosureRules, load_disclosure_rules
from profiles.triangulate.evidence import PRIORITY_RANKING_COLUMNS
from profiles.voice.contract import PLACE_STANDARD_THEMES, REACH_COLUMNS, THEME_SUMMARY_COLUMNS

BNG = 27700
"""British National Grid: the CRS of `geo_datazone` and `geo_ward` (metres)."""

THEME_SUMMARY_ALL_COLUMNS = (*THEME_SUMMARY_COLUMNS, "effective_n", "withheld_reason")
REACH_ALL_COLUMNS = (*REACH_COLUMNS, "representation_lower_ci", "representation_upper_ci")
PRIORITY_COLUMNS = PRIORITY_RANKING_COLUMNS
SOURCE_FILE_COLUMNS = (
    "kind",
    "vintage",
    "role",
    "dataset",
    "source",
    "file",
    "sha256",
    "bytes",
    "retrieved_at",
    "mode",
)
"""`raw.source_file` as packs show it: `file` is the file's name only (no local paths), and
`source` is kept only when it is a URL."""

MART_TABLES: Mapping[str, str] = {
    "localities": "marts.dim_locality",
    "bridge": "marts.bridge_dz_locality",
    "datazones": "marts.dim_datazone",
    "simd": "marts.fct_simd",
    "indicators_dz": "marts.fct_indicator",
    "profile": "marts.locality_profile",
    "summary": "marts.locality_summary",
    "most_deprived": "marts.locality_most_deprived_dz",
    "inequality": "marts.locality_inequality",
    "theme_summary": "marts.voice_theme_summary",
    "reach": "marts.engagement_reach",
    "priorities": "marts.priority_ranking",
    "source_files": "raw.source_file",
}
"""`PackData` frame → the warehouse table it holds (limited to one council)."""

CAVEATS: tuple[str, ...] = (
    "SIMD ranks areas, not people: not everyone in a deprived data zone is deprived, and many "
    "deprived people live outside the most deprived data zones.",
    "SIMD vintages are comparable only as shares (of data zones or people in the most deprived "
    "bands), never as differences in rank; a zone's rank can change because others changed.",
    "Locality indicator values are sums of numerators over sums of denominators with 95% "
    "intervals (Wilson for proportions, Poisson for rates and counts); 'worse' or 'better' "
    "means the comparator lies outside the interval. Indicators published without a numerator "
    "are population-weighted averages of data zone values and carry no interval.",
    "Disclosure control: counts of 1 to {hidden_max} people are hidden ('*'), with enough other "
    "cells that they cannot be worked out by subtraction, and values computed from a hidden "
    "count are hidden too. Survey estimates from very few responses are withheld.",
    "Community voice comes from people who chose to respond. Weighted estimates adjust to the "
    "area's population, but cannot add the views of people who did not take part. Quotes are "
    "redacted (e-mail addresses, phone numbers, postcodes, house-number addresses removed) "
    "and illustrate a theme; they are not statistics.",
    "Priority ranks combine need (data), community voice and strategic fit; the rank range "
    "shows how far a theme's place could move under other reasonable weightings.",
    "Spreadsheet safety: text that begins with =, +, - or @ is stored as text and never runs "
    "as a formula (in CSV files such text starts with an apostrophe; Parquet keeps it exact).",
)
"""Caveats printed in every report and workbook ({hidden_max}, {threshold} are filled in)."""

_OPTIONAL_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "theme_summary": THEME_SUMMARY_ALL_COLUMNS,
    "reach": REACH_ALL_COLUMNS,
    "priorities": PRIORITY_COLUMNS,
    "indicators_dz": FCT_INDICATOR_COLUMNS,
    "source_files": SOURCE_FILE_COLUMNS,
}
"""Tables a pack can do without, and the columns of their empty stand-ins."""

_LOCALITY_KEYED = (
    "profile",
    "summary",
    "most_deprived",
    "inequality",
    "theme_summary",
    "priorities",
)
_DZ_KEYED = ("datazones", "simd", "indicators_dz")


def vintage_order(vintage: str) -> tuple[int, str]:
    """Sort key for SIMD vintages: known ones in release order, others after, by name."""
    if vintage in SIMD_VINTAGES:
        return (SIMD_VINTAGES.index(vintage), vintage)
    return (len(SIMD_VINTAGES), vintage)


_METHOD_NOTE = re.compile(r"\s*\(population-weighted average[^)]*\)")


def measure_name(label: object) -> str:
    """A measure label without the method note indicator averages carry (the name stays)."""
    return _METHOD_NOTE.sub("", str(label)).strip()


def display_unit(measure_id: str, unit: object) -> str:
    """The unit to format a profile measure with.

    `locality_profile` labels deprivation counts by the text `_count` in their id, which
    misses `simd_population` (a count of people, labelled `proportion` there); packs format
    it as the count it is. Values are never changed, only how they are shown.
    """
    if measure_id == "simd_population" or "_count" in measure_id:
        return "count"
    return str(unit) if unit is not None and not pd.isna(unit) else ""


def format_value(value: object, unit: str | None = None) -> str:
    """A value for reading, by unit ('' when missing; text stays text)."""
    if value is None or value is pd.NA:
        return ""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return ""
    if unit == "proportion":
        return f"{number:.1%}"
    if unit == "proportion_points":
        return f"{number * 100:+.1f} pp"
    if unit == "count":
        return f"{number:,.0f}"
    if unit == "rate_per_10000":
        return f"{number:,.1f} per 10,000"
    if unit == "minutes":
        return f"{number:.1f} min"
    if unit in ("ratio", "score"):
        return f"{number:,.1f}" if unit == "ratio" else f"{number:,.2f}"
    if number.is_integer() and abs(number) >= 100:
        return f"{number:,.0f}"
    return f"{number:,.3g}" if abs(number) < 1 else f"{number:,.2f}"


_EVIDENCE_SHOWN_ELSEWHERE = ("council_code", "locality_id", "priority_theme", "scores")


def _scalar(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _measure_evidence(item: Mapping[str, Any], data: PackData | None) -> str:
    measure = str(item.get("measure_id", ""))
    label, unit = measure, ""
    if data is not None:
        label, unit = data.measure_display.get(measure, (label, unit))
    text = f"{label}: {format_value(item.get('value'), unit) or 'no value'}"
    if item.get("scotland_value") is not None:
        text += f" (Scotland {format_value(item.get('scotland_value'), unit)})"
    if item.get("vintage"):
        text += f", SIMD {item['vintage']}"
    if item.get("status") not in (None, "used"):
        text += f" [{str(item['status']).replace('_', ' ')}]"
    return text


def _voice_evidence(item: Mapping[str, Any], data: PackData | None) -> str:
    theme = str(item.get("theme_id", ""))
    label = data.theme_label(theme) if data is not None else theme
    parts = []
    if item.get("mean_score") is not None:
        parts.append(f"mean score {format_value(item['mean_score'], 'score')}")
    if item.get("low_score_share") is not None:
        parts.append(f"{format_value(item['low_score_share'], 'proportion')} scoring 1-3")
    if item.get("mention_share") is not None:
        parts.append(f"mentioned by {format_value(item['mention_share'], 'proportion')}")
    text = f"{label}: " + (", ".join(parts) or "no estimate")
    if item.get("status") not in (None, "used"):
        text += f" [{str(item['status']).replace('_', ' ')}]"
    return text


def public_evidence(text: object) -> object:
    """The evidence JSON as packs publish it: quotes kept, response ids removed.

    Analysts can follow a priority to its responses in the warehouse; packs go to
    partnerships and communities, where an id could be matched back to a respondent.
    """
    if not isinstance(text, str) or not text.strip():
        return text
    evidence = json.loads(text)
    for item in evidence.get("responses") or []:
        if isinstance(item, dict):
            item.pop("response_id", None)
    return json.dumps(evidence, ensure_ascii=False, sort_keys=False)


def evidence_parts(
    text: object, data: PackData | None = None
) -> tuple[list[tuple[str, str]], list[str]]:
    """Readable (label, value) pairs and the quotes from a priority's evidence JSON.

    Knows the triangulation's evidence (`locality_profile` measures, `voice_theme_summary`
    cells, `city_themes`, `responses` with their quotes); anything else is flattened as
    "key · key: value". Only quote text is taken from responses (never their ids).
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return [], []
    try:
        evidence = json.loads(str(text))
    except json.JSONDecodeError:
        return [("Evidence", str(text))], []
    items: list[tuple[str, str]] = []
    quotes: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                label = str(key).replace("_", " ")
                if "quote" in str(key).lower() and isinstance(inner, list):
                    quotes.extend(str(q) for q in inner if isinstance(q, str))
                else:
                    walk(f"{prefix} · {label}" if prefix else label, inner)
        elif isinstance(value, list):
            if all(not isinstance(v, (Mapping, list)) for v in value):
                items.append((prefix or "evidence", ", ".join(_scalar(v) for v in value)))
            else:
                for index, inner in enumerate(value, start=1):
                    walk(f"{prefix} {index}", inner)
        elif value not in (None, ""):
            items.append((prefix or "evidence", _scalar(value)))

    if not isinstance(evidence, Mapping):
        walk("", evidence)
    else:
        for key, value in evidence.items():
            records = value if isinstance(value, list) else None
            if key in _EVIDENCE_SHOWN_ELSEWHERE:
                continue
            if key == "locality_profile" and records is not None:
                items += [("Data", _measure_evidence(m, data)) for m in records]
            elif key == "voice_theme_summary" and records is not None:
                items += [("Survey", _voice_evidence(v, data)) for v in records]
            elif key == "city_themes" and records is not None:
                items += [
                    (
                        "Strategy",
                        f"{t.get('label', t.get('city_theme', ''))} (fit {_scalar(t.get('fit'))})",
                    )
                    for t in records
                ]
            elif key == "responses" and records is not None:
                quotes += [
                    str(r["quote"]) for r in records if isinstance(r, Mapping) and r.get("quote")
                ]
            elif "quote" in str(key).lower() and records is not None:
                quotes += [str(q) for q in records if isinstance(q, str)]
            elif key == "responses_total":
                items.append(("Comments on this theme", _scalar(value)))
            else:
                walk(str(key).replace("_", " "), value)
    return [(label[:1].upper() + label[1:], value) for label, value in items], quotes


def empty_geo() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs=BNG)


_Derived = TypeVar("_Derived")


@dataclass(frozen=True)
class PackData:
    """The frames of one council's profile pack (see the module docstring).

    Frames hold the warehouse rows of the council: locality rows and the council's own row
    (`locality_id` = council code) in the profile tables; the council's data zones in the
    data zone tables. `locality_id` is set on a `for_locality` slice.
    """

    council_code: str
    council_name: str
    localities: pd.DataFrame
    bridge: pd.DataFrame
    datazones: pd.DataFrame
    simd: pd.DataFrame
    profile: pd.DataFrame
    summary: pd.DataFrame
    most_deprived: pd.DataFrame
    inequality: pd.DataFrame
    geo_datazone: gpd.GeoDataFrame = field(default_factory=empty_geo)
    geo_ward: gpd.GeoDataFrame = field(default_factory=empty_geo)
    indicators_dz: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(FCT_INDICATOR_COLUMNS))
    )
    theme_summary: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(THEME_SUMMARY_ALL_COLUMNS))
    )
    reach: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(REACH_ALL_COLUMNS))
    )
    priorities: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(PRIORITY_COLUMNS))
    )
    source_files: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(SOURCE_FILE_COLUMNS))
    )
    headline: tuple[Mapping[str, str], ...] = ()
    theme_labels: Mapping[str, str] = field(default_factory=dict)
    rules: DisclosureRules = field(default_factory=DisclosureRules)
    locality_id: str | None = None

    # --- Slicing -----------------------------------------------------------------------------

    def locality_ids(self) -> list[str]:
        """Localities of the council with at least one data zone, in id order."""
        rows = self.localities
        if "dz_count" in rows.columns:
            rows = rows[rows["dz_count"].fillna(0) > 0]
        return sorted(rows["locality_id"].astype(str))

    def area_names(self) -> dict[str, str]:
        """Locality id → name, with the council's own id → the council's name."""
        names = dict(
            zip(
                self.localities["locality_id"].astype(str),
                self.localities["locality_name"].astype(str),
                strict=True,
            )
        )
        names[self.council_code] = self.council_name
        return names

    def locality_name(self, locality_id: str) -> str:
        return self.area_names().get(str(locality_id), str(locality_id))

    def for_locality(self, locality_id: str) -> PackData:
        """The pack narrowed to one locality, keeping the council rows as comparators."""
        if locality_id not in set(self.localities["locality_id"]):
            raise KeyError(f"locality {locality_id!r} is not in council {self.council_code}")
        keep_areas = {locality_id, self.council_code}
        zones = set(self.bridge.loc[self.bridge["locality_id"] == locality_id, "dz_code"])
        changes: dict[str, Any] = {"locality_id": locality_id}
        changes["localities"] = _rows(
            self.localities, self.localities["locality_id"] == locality_id
        )
        changes["bridge"] = _rows(self.bridge, self.bridge["locality_id"] == locality_id)
        for name in _LOCALITY_KEYED:
            frame = getattr(self, name)
            changes[name] = _rows(frame, frame["locality_id"].isin(keep_areas))
        for name in _DZ_KEYED:
            frame = getattr(self, name)
            changes[name] = _rows(frame, frame["dz_code"].isin(zones))
        changes["geo_datazone"] = _rows(
            self.geo_datazone,
            self.geo_datazone["dz_code"].isin(zones) if len(self.geo_datazone) else None,
        )
        wards = set(self.datazones.loc[self.datazones["dz_code"].isin(zones), "ward_code"])
        changes["geo_ward"] = _rows(
            self.geo_ward, self.geo_ward["ward_code"].isin(wards) if len(self.geo_ward) else None
        )
        reach = self.reach
        changes["reach"] = _rows(
            reach, (reach["group_type"] != "locality") | (reach["group_id"] == locality_id)
        )
        return replace(self, **changes)

    # --- Facts the reports need ----------------------------------------------------------------

    @cached_property
    def _derived_frames(self) -> dict[tuple[object, ...], Any]:
        return {}

    def derived(self, key: tuple[object, ...], build: Callable[[], _Derived]) -> _Derived:
        """`build()`, computed once per pack (or slice) for `key`.

        Charts and workbooks derive the same frames (one vintage's indicators, data zones
        with their decile and simplified outlines…) for every locality of a council;
        deriving them once instead of per locality halved a large council's charts.
        Callers must not change what they get in place.
        """
        cache = self._derived_frames
        if key not in cache:
            cache[key] = build()
        return cache[key]

    @cached_property
    def dz_localities(self) -> pd.Series:
        """dz_code → the ids of the localities it belongs to, sorted and comma-separated."""
        return self.bridge.groupby("dz_code")["locality_id"].agg(lambda ids: ", ".join(sorted(ids)))

    @cached_property
    def measure_units(self) -> dict[str, str]:
        """measure_id → the unit it is displayed in (`display_unit`), built once per pack."""
        units = dict(zip(self.profile["measure_id"], self.profile["unit"], strict=True))
        return {str(measure): display_unit(str(measure), unit) for measure, unit in units.items()}

    @cached_property
    def measure_labels(self) -> dict[str, str]:
        """measure_id → its label as the profile has it, built once per pack."""
        return dict(zip(self.profile["measure_id"], self.profile["measure_label"], strict=True))

    @cached_property
    def measure_display(self) -> dict[str, tuple[str, str]]:
        """measure_id → (name without method note, display unit), from its first profile row.

        Built once per pack (or slice): evidence text looks measures up thousands of times,
        and filtering the profile each time was a fifth of an all-Scotland pack build.
        """
        first = self.profile.drop_duplicates("measure_id")
        return {
            str(measure): (measure_name(label), display_unit(str(measure), unit))
            for measure, label, unit in zip(
                first["measure_id"], first["measure_label"], first["unit"], strict=True
            )
        }

    @property
    def vintages(self) -> list[str]:
        """SIMD vintages present (single vintages, not changes), oldest first."""
        values = {str(v) for v in self.simd["vintage"].dropna().unique()}
        values |= {
            str(v)
            for v in self.summary.get("vintage", pd.Series(dtype=str)).dropna()
            if "_to_" not in str(v)
        }
        return sorted(values, key=vintage_order)

    @property
    def latest_vintage(self) -> str | None:
        vintages = self.vintages
        return vintages[-1] if vintages else None

    @property
    def as_of(self) -> str:
        """The newest retrieval time of the sources (ISO 8601), for reproducible stamps."""
        times = self.source_files.get("retrieved_at", pd.Series(dtype=str)).dropna().astype(str)
        times = times[times != ""]
        return str(times.max()) if len(times) else "2000-01-01T00:00:00+00:00"

    def main_survey(self) -> str | None:
        """The survey the charts show: most council-level responses, then the latest id."""
        return self.derived(("main_survey",), self._main_survey)

    def _main_survey(self) -> str | None:
        rows = self.theme_summary[self.theme_summary["area_level"] == "council"]
        if rows.empty:
            rows = self.theme_summary
        if rows.empty:
            return None
        responses = pd.to_numeric(rows["responses"], errors="coerce").fillna(0)
        totals = responses.groupby(rows["survey_id"].astype(str)).sum()
        ranked = sorted(totals.items(), key=lambda item: (item[1], item[0]))
        return ranked[-1][0]

    def priority_rows(self, locality_id: str | None = None) -> pd.DataFrame:
        """Priority ranking rows (of one locality) in rank order, with readable labels.

        Adds `theme`, `agreement_text` (long), `agreement_short` (before any colon) and
        `stability_text`, from the mart's own label columns when it has them. Labelled
        once per pack, then split by locality; each call returns its own copy.
        """
        if locality_id is None:
            return self._labelled_priorities.copy()
        rows = self._priorities_by_locality.get(str(locality_id))
        return (self._labelled_priorities.iloc[0:0] if rows is None else rows).copy()

    @cached_property
    def _priorities_by_locality(self) -> dict[str, pd.DataFrame]:
        rows = self._labelled_priorities
        return {
            str(key): group.reset_index(drop=True)
            for key, group in rows.groupby("locality_id", sort=False)
        }

    @cached_property
    def _labelled_priorities(self) -> pd.DataFrame:
        rows = self.priorities.sort_values(["locality_id", "rank"], ignore_index=True)

        def label(column: str, fallback: pd.Series) -> pd.Series:
            if column in rows.columns:
                return rows[column].where(rows[column].notna(), fallback).astype(str)
            return fallback.astype(str)

        themes = pd.Series([self.theme_label(t) for t in rows["priority_theme"]], dtype=object)
        agreement = rows["agreement"].fillna("").astype(str).str.replace("_", " ")
        agreement = agreement.str.slice(0, 1).str.upper() + agreement.str.slice(1)
        stability = pd.Series([format_value(v) for v in rows["stability"]], dtype=object)
        out = rows.assign(
            theme=label("priority_theme_label", themes),
            agreement_text=label("agreement_label", agreement),
            stability_text=label("stability_label", stability),
        )
        out["agreement_short"] = out["agreement_text"].str.split(":").str[0]
        return out

    def theme_label(self, theme_id: object) -> str:
        text = str(theme_id)
        return str(self.theme_labels.get(text, text.replace("_", " ").capitalize()))


def _rows(frame: pd.DataFrame, keep: pd.Series | None) -> pd.DataFrame:
    if keep is None:
        return frame.iloc[0:0].copy()
    return frame.loc[keep.to_numpy(dtype=bool)].reset_index(drop=True)


# --- Loading from the warehouse ------------------------------------------------------------------


def load_theme_labels(config_dir: Path = CONFIG_DIR) -> dict[str, str]:
    """Place Standard theme labels from the coding frame (`coding/frame.yaml`)."""
    labels = {theme: theme.replace("_", " ").capitalize() for theme in PLACE_STANDARD_THEMES}
    path = config_dir / "coding" / "frame.yaml"
    if path.is_file():
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for theme in document.get("themes", []):
            if isinstance(theme, dict) and theme.get("id") and theme.get("label"):
                labels[str(theme["id"])] = str(theme["label"])
    return labels


def _existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables"
    ).fetchall()
    return {row[0] for row in rows}


def _query(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> pd.DataFrame:
    return con.execute(sql, params).fetchdf()


def _source_files(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["file"] = out["path"].map(lambda p: Path(str(p)).name if pd.notna(p) else "")
    is_url = out["source"].astype(str).str.match(r"^https?://")
    out["source"] = out["source"].where(is_url, "")
    for column in SOURCE_FILE_COLUMNS:
        if column not in out.columns:
            out[column] = ""
    return out[list(SOURCE_FILE_COLUMNS)].sort_values(
        ["kind", "vintage", "file"], ignore_index=True
    )


def _geo(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    geometry = shapely.from_wkb(frame["geometry_wkb"].map(bytes).to_numpy())
    return gpd.GeoDataFrame(
        frame.drop(columns=["geometry_wkb"]), geometry=geometry, crs=BNG
    ).reset_index(drop=True)


def _required_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The warehouse's tables, once it is known to hold every table a pack needs."""
    tables = _existing_tables(con)
    required = [
        MART_TABLES[name]
        for name in (
            "localities",
            "bridge",
            "datazones",
            "simd",
            "profile",
            "summary",
            "most_deprived",
            "inequality",
        )
    ]
    missing = [table for table in required if table not in tables]
    if missing:
        raise ProfilesError(
            f"the warehouse has no {', '.join(missing)} yet: build the locality profiles first"
        )
    return tables


def _council_name(con: duckdb.DuckDBPyConnection, tables: set[str], council_code: str) -> str:
    if "marts.dim_council" not in tables:
        return council_code
    names = _query(
        con, "SELECT council_name FROM marts.dim_council WHERE council_code = ?", [council_code]
    )
    if names.empty:
        raise ProfilesError(f"council {council_code} is not in marts.dim_council")
    return str(names.iloc[0, 0])


def load_pack_data(
    con: duckdb.DuckDBPyConnection,
    council_code: str,
    *,
    config_dir: Path = CONFIG_DIR,
    rules: DisclosureRules | None = None,
) -> PackData:
    """Read one council's pack from the warehouse (marts, and `raw.source_file`)."""
    tables = _required_tables(con)
    council = [council_code]
    council_name = _council_name(con, tables, council_code)
    zones_sql = "SELECT dz_code FROM marts.dim_datazone WHERE council_code = ?"
    frames: dict[str, Any] = {}
    frames["localities"] = _query(
        con, "SELECT * FROM marts.dim_locality WHERE council_code = ? ORDER BY locality_id", council
    )
    frames["bridge"] = _query(
        con,
        "SELECT * FROM marts.bridge_dz_locality WHERE council_code = ? "
        "ORDER BY locality_id, dz_code",
        council,
    )
    frames["datazones"] = _query(
        con, "SELECT * FROM marts.dim_datazone WHERE council_code = ? ORDER BY dz_code", council
    )
    frames["simd"] = _query(
        con,
        f"SELECT * FROM marts.fct_simd WHERE dz_code IN ({zones_sql}) "
        "ORDER BY vintage, domain, dz_code",
        council,
    )
    for name, order in (
        ("profile", "locality_id, vintage, measure_id"),
        ("summary", "area_level, locality_id, vintage"),
        ("most_deprived", "locality_id, vintage, position"),
        ("inequality", "locality_id, vintage, indicator"),
    ):
        frames[name] = _query(
            con,
            f"SELECT * FROM {MART_TABLES[name]} WHERE council_code = ? ORDER BY {order}",
            council,
        )
    optional_sql = {
        "indicators_dz": f"SELECT * FROM marts.fct_indicator WHERE dz_code IN ({zones_sql}) "
        "ORDER BY vintage, indicator, dz_code",
        "theme_summary": "SELECT * FROM marts.voice_theme_summary WHERE council_code = ? "
        "ORDER BY survey_id, area_level, locality_id, theme_id, weighting",
        "reach": "SELECT * FROM marts.engagement_reach WHERE council_code = ? "
        "ORDER BY survey_id, group_type, group_id",
        "priorities": "SELECT * FROM marts.priority_ranking WHERE council_code = ? "
        "ORDER BY locality_id, rank, priority_theme",
    }
    for name, sql in optional_sql.items():
        if MART_TABLES[name] in tables:
            frames[name] = _query(con, sql, council)
        else:
            frames[name] = pd.DataFrame(columns=list(_OPTIONAL_COLUMNS[name]))
    if "evidence" in frames["priorities"]:
        frames["priorities"]["evidence"] = frames["priorities"]["evidence"].map(public_evidence)
    if "raw.source_file" in tables:
        frames["source_files"] = _source_files(
            _query(
                con,
                "SELECT * FROM raw.source_file WHERE role = 'primary' ORDER BY kind, vintage, path",
                [],
            )
        )
    else:
        frames["source_files"] = pd.DataFrame(columns=list(SOURCE_FILE_COLUMNS))
    for name, table, key in (
        ("geo_datazone", "marts.geo_datazone", "dz_code"),
        ("geo_ward", "marts.geo_ward", "ward_code"),
    ):
        if table in tables:
            frames[name] = _geo(
                _query(con, f"SELECT * FROM {table} WHERE council_code = ? ORDER BY {key}", council)
            )
        else:
            frames[name] = empty_geo()

    from profiles.profile.assemble import load_headline_measures

    headline_path = config_dir / "profile.yaml"
    headline = tuple(load_headline_measures(config_dir)) if headline_path.is_file() else ()
    return PackData(
        council_code=council_code,
        council_name=council_name,
        headline=headline,
        theme_labels=load_theme_labels(config_dir),
        rules=rules or load_disclosure_rules(config_dir / "disclosure.yaml"),
        **frames,
    )


def load_pack_outline(con: duckdb.DuckDBPyConnection, council_code: str) -> PackData:
    """The council's name and localities, every other table of the pack empty: enough to lay
    out a pack and publish it (`open_council_pack`, `finish_council_pack`) while worker
    processes load the whole `load_pack_data` and write the files; never enough to write one.
    """
    tables = _required_tables(con)
    localities = _query(
        con,
        "SELECT * FROM marts.dim_locality WHERE council_code = ? ORDER BY locality_id",
        [council_code],
    )
    empty = pd.DataFrame()
    return PackData(
        council_code=council_code,
        council_name=_council_name(con, tables, council_code),
        localities=localities,
        bridge=empty,
        datazones=empty,
        simd=empty,
        profile=empty,
        summary=empty,
        most_deprived=empty,
        inequality=empty,
    )


def frame_names() -> list[str]:
    """Names of the `PackData` fields that are tables (in `MART_TABLES` order)."""
    table_fields = {f.name for f in fields(PackData)}
    return [name for name in MART_TABLES if name in table_fields]
