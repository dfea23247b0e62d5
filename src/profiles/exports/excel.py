"""Excel workbooks: one per locality and a city-wide overview, formatted for reading.

What belongs here: the sheets of a workbook (`SheetSpec`: columns, headers, number formats,
widths), the frames each sheet shows (`locality_sheets`, `overview_sheets`, built from a
`PackData` without changing any value), and writing them with XlsxWriter.

Reading conventions
    Row 1 holds the sheet's title, row 2 what it shows, row 3 the column headers (bold,
    filtered, frozen with the key columns). Numbers are the warehouse's own values, written
    as numbers with a number format (0.0% for proportions, #,##0 for counts...), never as
    rounded text, so a cell read back equals the warehouse value exactly. A value hidden by
    disclosure control (or withheld for a small base) shows the marker ``*`` with a cell
    note saying why; other missing values are left empty.

Safety
    Every text cell is written with the string data type (`write_string`; the workbook never
    turns strings into formulas, numbers or links). Community text (quotes, evidence) and
    any text that starts like a formula also get Excel's quotePrefix, so it stays text even
    if a reader edits the cell; see `profiles.exports.safety`.

Reproducible files
    The workbook's created/modified time is the data's `as_of` time and XlsxWriter stamps
    zip entries with a fixed date, so rebuilding from the same data gives a byte-identical
    file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter

from profiles.exports.data import CAVEATS, PackData, display_unit, evidence_parts
from profiles.exports.safety import starts_like_formula

TITLE_ROW, SUBTITLE_ROW, HEADER_ROW = 1, 2, 3
FIRST_DATA_ROW = HEADER_ROW + 1
UNIT = "<unit>"
"""Number format sentinel: take the format from the row's `_unit` column."""
UNIT_FORMATS = {
    "proportion": "0.0%",
    "proportion_points": "+0.0%;-0.0%;0.0%",
    "count": "#,##0",
    "rate_per_10000": "#,##0.0",
    "ratio": "0.0",
    "score": "0.00",
    "minutes": "0.0",
}
EXCEL_MAX_TEXT = 32_767
TRUNCATED = " … (cut to Excel's cell limit; the full text is in the CSV and Parquet files)"
COUNT = "#,##0"
SHARE = "0.0%"
AUTHOR = "locality-profiles"
HIDDEN_NOTE = (
    "Hidden by disclosure control: a count of fewer than {threshold} people, or a value that "
    "would let such a count be worked out."
)
SMALL_BASE_NOTE = "Withheld: too few responses for a reliable estimate."


@dataclass(frozen=True)
class Column:
    """One column of a sheet: the frame column it shows and how."""

    name: str
    header: str
    fmt: str = "General"
    width: float = 14.0
    community: bool = False
    wrap: bool = False
    maskable: bool = False


@dataclass(frozen=True)
class SheetSpec:
    title: str
    description: str
    columns: tuple[Column, ...]
    freeze_columns: int = 0


@dataclass(frozen=True)
class Sheet:
    spec: SheetSpec
    frame: pd.DataFrame
    heading: str = ""


@dataclass(frozen=True)
class NotesSheet:
    title: str = "Notes and sources"
    lines: tuple[str, ...] = ()
    sources: pd.DataFrame = field(default_factory=pd.DataFrame)


# --- Frames behind the sheets ------------------------------------------------------------------


def _area_names(data: PackData, ids: pd.Series) -> list[str]:
    names = data.area_names()
    return [names.get(str(i), str(i)) for i in ids]


def _hidden_reasons(
    data: PackData, suppressed: pd.Series, withheld: pd.Series | None = None
) -> pd.Series:
    note = HIDDEN_NOTE.format(threshold=data.rules.threshold)
    hidden = suppressed.astype("boolean").fillna(False).astype(bool)
    reasons = pd.Series(np.where(hidden, note, None), index=suppressed.index, dtype=object)
    if withheld is not None:
        small = withheld.astype(str).eq("small_base") & ~hidden
        reasons[small.to_numpy()] = SMALL_BASE_NOTE
        disclosure = withheld.astype(str).eq("disclosure")
        reasons[disclosure.to_numpy()] = note
    return reasons


def _profile_rows(data: PackData, locality_id: str, deprivation: bool) -> pd.DataFrame:
    """One locality's deprivation (SIMD) or indicator rows of `locality_profile`.

    The deprivation sheet is kept readable (and quick to write): every measure of the
    overall SIMD, and for each domain the most deprived 5/10/15/20% measures; the quintile
    and decile shares of the domains are in the CSV and Parquet files.
    """
    rows = data.derived(("profile_sheet", deprivation), lambda: _profile_sheets(data, deprivation))
    own = rows.get(str(locality_id))
    if own is None:
        return _profile_sheet_frame(data, data.profile.iloc[0:0], deprivation)
    return own.reset_index(drop=True)


def _profile_sheets(data: PackData, deprivation: bool) -> dict[str, pd.DataFrame]:
    """`_profile_rows` of every locality, prepared together once per pack."""
    profile = data.profile[data.profile["area_level"] == "locality"]
    rows = _profile_sheet_frame(data, profile, deprivation)
    return {str(key): group for key, group in rows.groupby("locality_id", sort=False)}


def _profile_sheet_frame(data: PackData, profile: pd.DataFrame, deprivation: bool) -> pd.DataFrame:
    keep = profile["measure_id"].str.startswith("simd_") == deprivation
    if deprivation:
        keep &= ~profile["measure_id"].str.match(r"^simd_(?!overall_)\w+_(quintile|decile)_")
    rows = profile[keep].copy()
    rows["area"] = _area_names(data, rows["locality_id"])
    rows["_unit"] = [
        display_unit(m, u) for m, u in zip(rows["measure_id"], rows["unit"], strict=True)
    ]
    rows["_hidden"] = _hidden_reasons(data, rows["suppressed"])
    return rows


DEPRIVATION = SheetSpec(
    "Deprivation",
    "SIMD measures of the area: data zones and people in Scotland's most deprived bands, "
    "shares by quintile and decile, and change between vintages (as shares, never ranks).",
    (
        Column("area", "Area", width=18),
        Column("locality_id", "Locality id", width=14),
        Column("vintage", "SIMD vintage", width=15),
        Column("measure_label", "Measure", width=60, wrap=True),
        Column("measure_id", "Measure id", width=34),
        Column("value", "Value", UNIT, maskable=True),
        Column("numerator", "Numerator", COUNT, maskable=True),
        Column("denominator", "Denominator", COUNT, maskable=True),
        Column("council_value", "Council value", UNIT),
        Column("scotland_value", "Scotland value", UNIT),
        Column("source", "Source", width=22),
    ),
    freeze_columns=4,
)

INDICATORS = SheetSpec(
    "Indicators",
    "SIMD indicators with 95% intervals and comparisons with the council and Scotland "
    "('worse'/'better': the comparator lies outside the interval).",
    (
        Column("area", "Area", width=18),
        Column("locality_id", "Locality id", width=14),
        Column("vintage", "SIMD vintage", width=12),
        Column("measure_label", "Indicator", width=50, wrap=True),
        Column("measure_id", "Indicator id", width=22),
        Column("_unit", "Unit", width=14),
        Column("value", "Value", UNIT, maskable=True),
        Column("lower_ci", "Lower 95% limit", UNIT, maskable=True),
        Column("upper_ci", "Upper 95% limit", UNIT, maskable=True),
        Column("ci_method", "Interval method", width=14),
        Column("numerator", "Numerator", COUNT, maskable=True),
        Column("denominator", "Denominator", COUNT, maskable=True),
        Column("council_value", "Council value", UNIT),
        Column("vs_council", "Compared with council", width=14),
        Column("scotland_value", "Scotland value", UNIT),
        Column("vs_scotland", "Compared with Scotland", width=14),
        Column("polarity", "Polarity", width=16),
        Column("method", "Method", width=24),
        Column("note", "Note", width=30, wrap=True),
        Column("suppressed", "Suppressed", width=11),
        Column("source", "Source", width=22),
    ),
    freeze_columns=5,
)

_INEQUALITY_RATIO = "0.00"
INEQUALITY = SheetSpec(
    "Inequality",
    "Inequality inside the area by national SIMD position: the gap between the most and "
    "least deprived quintiles, the Slope and Relative Indices of Inequality, and the "
    "Population Attributable Risk (only where the area has enough data zones).",
    (
        Column("area", "Area", width=18),
        Column("locality_id", "Locality id", width=14),
        Column("vintage", "SIMD vintage", width=12),
        Column("indicator", "Indicator id", width=22),
        Column("_unit", "Unit", width=14),
        Column("value", "Value", UNIT),
        Column("n_data_zones", "Data zones", COUNT),
        Column("most_deprived_quintile_value", "Most deprived quintile", UNIT),
        Column("least_deprived_quintile_value", "Least deprived quintile", UNIT),
        Column("quintile_gap_absolute", "Gap (absolute)", UNIT),
        Column("quintile_gap_relative", "Gap (relative)", _INEQUALITY_RATIO),
        Column("quintile_gap_note", "Gap note", width=24, wrap=True),
        Column("sii", "SII", UNIT),
        Column("sii_lower", "SII lower 95%", UNIT),
        Column("sii_upper", "SII upper 95%", UNIT),
        Column("rii_scotpho", "RII (ScotPHO)", _INEQUALITY_RATIO),
        Column("rii_scotpho_lower", "RII (ScotPHO) lower", _INEQUALITY_RATIO),
        Column("rii_scotpho_upper", "RII (ScotPHO) upper", _INEQUALITY_RATIO),
        Column("rii_phe", "RII (PHE)", _INEQUALITY_RATIO),
        Column("rii_phe_lower", "RII (PHE) lower", _INEQUALITY_RATIO),
        Column("rii_phe_upper", "RII (PHE) upper", _INEQUALITY_RATIO),
        Column("sii_ci_method", "SII interval method", width=16),
        Column("sii_note", "SII note", width=24, wrap=True),
        Column("par_absolute", "PAR (absolute)", UNIT),
        Column("par_percent", "PAR (%)", "0.0"),
    ),
    freeze_columns=4,
)

MOST_DEPRIVED = SheetSpec(
    "Most deprived zones",
    "Each area's most deprived data zones (overall SIMD rank, 1 = most deprived in Scotland).",
    (
        Column("area", "Area", width=18),
        Column("locality_id", "Locality id", width=14),
        Column("vintage", "SIMD vintage", width=12),
        Column("position", "Position", "0", width=9),
        Column("dz_code", "Data zone", width=12),
        Column("dz_name", "Data zone name", width=30),
        Column("ward_name", "Ward", width=22),
        Column("rank", "National rank", COUNT),
        Column("decile", "Decile", "0", width=8),
    ),
    freeze_columns=3,
)

VOICE = SheetSpec(
    "Community voice",
    "Place Standard themes per survey and area: mean score (1 = a lot of room for "
    "improvement, 7 = very little), share scoring 1-3, comment mentions, and redacted quotes. "
    "Counts are people; shares and means are estimates with 95% intervals.",
    (
        Column("survey_id", "Survey", width=20),
        Column("area", "Area", width=18),
        Column("locality_id", "Locality id", width=14),
        Column("area_level", "Area level", width=10),
        Column("theme", "Theme", width=28),
        Column("theme_id", "Theme id", width=20),
        Column("weighting", "Weighting", width=11),
        Column("responses", "Responses", COUNT, maskable=True),
        Column("mean_score", "Mean score", "0.00", maskable=True),
        Column("mean_score_lower_ci", "Mean lower 95%", "0.00", maskable=True),
        Column("mean_score_upper_ci", "Mean upper 95%", "0.00", maskable=True),
        Column("low_score_count", "Scoring 1-3", COUNT, maskable=True),
        Column("low_score_share", "Share scoring 1-3", SHARE, maskable=True),
        Column("low_score_lower_ci", "Share lower 95%", SHARE, maskable=True),
        Column("low_score_upper_ci", "Share upper 95%", SHARE, maskable=True),
        Column("comments", "Commenting", COUNT, maskable=True),
        Column("mentions", "Mentioning theme", COUNT, maskable=True),
        Column("mention_share", "Share mentioning", SHARE, maskable=True),
        Column("mention_lower_ci", "Mention lower 95%", SHARE, maskable=True),
        Column("mention_upper_ci", "Mention upper 95%", SHARE, maskable=True),
        Column("effective_n", "Effective n", "0.0", maskable=True),
        Column("suppressed", "Suppressed", width=11),
        Column("withheld_reason", "Withheld", width=12),
        Column("quote_1", "Quote 1", width=50, community=True, wrap=True, maskable=True),
        Column("quote_2", "Quote 2", width=50, community=True, wrap=True),
        Column("quote_3", "Quote 3", width=50, community=True, wrap=True),
    ),
    freeze_columns=5,
)

PRIORITIES = SheetSpec(
    "Priorities",
    "Ranked priority themes: need (data), community voice and strategic fit, the range the "
    "rank could take, and the evidence behind each (quotes are redacted community text).",
    (
        Column("area", "Area", width=18),
        Column("locality_id", "Locality id", width=14),
        Column("rank", "Rank", "0", width=7),
        Column("theme", "Theme", width=28),
        Column("priority_theme", "Theme id", width=20),
        Column("priority_score", "Priority score", "0.000"),
        Column("rank_low", "Rank could be from", "0"),
        Column("rank_high", "Rank could be to", "0"),
        Column("need_score", "Need", "0.000"),
        Column("voice_score", "Voice", "0.000"),
        Column("strategic_score", "Strategic fit", "0.000"),
        Column("stability", "Stability", "0.00"),
        Column("agreement", "Need and voice", width=18),
        Column("agreement_text", "What that means", width=40, wrap=True),
        Column("evidence_text", "Evidence", width=70, community=True, wrap=True),
        Column("evidence", "Evidence (JSON)", width=40, community=True),
    ),
    freeze_columns=4,
)

REACH = SheetSpec(
    "Engagement reach",
    "Who took part: responses against population per locality and SIMD quintile "
    "(representation ratio = share of responses / share of residents; under 1 = under-heard).",
    (
        Column("survey_id", "Survey", width=20),
        Column("group_type", "Group type", width=14),
        Column("group", "Group", width=26),
        Column("group_id", "Group id", width=14),
        Column("responses", "Responses", COUNT, maskable=True),
        Column("population", "Population", COUNT),
        Column("responses_per_1000", "Per 1,000 residents", "0.0", maskable=True),
        Column("response_share", "Share of responses", SHARE, maskable=True),
        Column("population_share", "Share of residents", SHARE),
        Column("representation_ratio", "Representation ratio", "0.00", maskable=True),
        Column("representation_lower_ci", "Ratio lower 95%", "0.00", maskable=True),
        Column("representation_upper_ci", "Ratio upper 95%", "0.00", maskable=True),
        Column("under_heard", "Under-heard", width=11, maskable=True),
        Column("suppressed", "Suppressed", width=11),
    ),
    freeze_columns=4,
)


def summary_long(data: PackData, locality_id: str) -> pd.DataFrame:
    """Headline measures of one locality (config order) with council and Scotland values."""
    summary = data.summary[data.summary["locality_id"] == locality_id]
    labels = data.measure_labels
    rows = []
    for vintage in sorted(summary["vintage"].unique(), key=str, reverse=True):
        record = summary[summary["vintage"] == vintage].iloc[0]
        for item in data.headline:
            column = item["column"]
            if column not in summary.columns:
                continue
            rows.append(
                {
                    "vintage": vintage,
                    "measure": labels.get(item["measure_id"], column),
                    "column": column,
                    "value": record[column],
                    "council_value": record.get(f"{column}_council"),
                    "scotland_value": record.get(f"{column}_scotland"),
                    "_unit": data.measure_units.get(
                        item["measure_id"], display_unit(item["measure_id"], None)
                    ),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "vintage",
            "measure",
            "column",
            "value",
            "council_value",
            "scotland_value",
            "_unit",
        ],
    )


SUMMARY = SheetSpec(
    "Summary",
    "Headline measures of the locality with its council and Scotland (from locality_summary).",
    (
        Column("vintage", "SIMD vintage", width=12),
        Column("measure", "Measure", width=70, wrap=True),
        Column("column", "Column in locality_summary", width=34),
        Column("value", "Locality value", UNIT, width=16),
        Column("council_value", "Council value", UNIT, width=16),
        Column("scotland_value", "Scotland value", UNIT, width=16),
    ),
    freeze_columns=2,
)


def _summary_wide_spec(data: PackData) -> SheetSpec:
    units = dict(zip(data.profile["measure_id"], data.profile["unit"], strict=False))
    formats: dict[str, str] = {}
    for item in data.headline:
        fmt = UNIT_FORMATS.get(
            display_unit(item["measure_id"], units.get(item["measure_id"])), "General"
        )
        for suffix in ("", "_council", "_scotland"):
            formats[item["column"] + suffix] = fmt
    formats["most_deprived_dz_rank"] = COUNT
    columns = []
    for name in data.summary.columns:
        header = name.replace("_", " ").capitalize()
        width = 22 if name in ("locality_name", "most_deprived_dz_name") else 14
        columns.append(Column(name, header, formats.get(name, "General"), width=width))
    return SheetSpec(
        "Summary",
        "Every locality and the council side by side: the headline measures of "
        "locality_summary, one row per area and SIMD vintage.",
        tuple(columns),
        freeze_columns=4,
    )


def side_by_side(data: PackData) -> tuple[SheetSpec, pd.DataFrame]:
    """Headline and indicator measures with one column per locality, the council, Scotland."""
    profile = data.profile
    wanted = {item["measure_id"] for item in data.headline}
    rows = profile[
        profile["area_level"].isin(["locality", "council"])
        & (profile["measure_id"].isin(wanted) | ~profile["measure_id"].str.startswith("simd_"))
    ]
    ids = [*data.locality_ids(), data.council_code]
    info = rows.drop_duplicates(["vintage", "measure_id"]).sort_values(["measure_id", "vintage"])
    keys = pd.MultiIndex.from_frame(info[["vintage", "measure_id"]])
    values = rows.pivot_table(
        index=["vintage", "measure_id"], columns="locality_id", values="value", aggfunc="first"
    ).reindex(index=keys, columns=ids)
    hidden = (
        rows.pivot_table(
            index=["vintage", "measure_id"],
            columns="locality_id",
            values="suppressed",
            aggfunc="first",
        )
        .reindex(index=keys, columns=ids)
        .fillna(False)
        .astype(bool)
    )
    area_columns = [f"area_{j}" for j in range(len(ids))]
    frame = pd.DataFrame(values.to_numpy(), columns=area_columns)
    frame.insert(0, "vintage", info["vintage"].to_numpy())
    frame.insert(1, "measure_id", info["measure_id"].to_numpy())
    frame.insert(2, "measure_label", info["measure_label"].to_numpy())
    frame["scotland_value"] = info["scotland_value"].to_numpy()
    frame["_unit"] = [
        display_unit(m, u) for m, u in zip(info["measure_id"], info["unit"], strict=True)
    ]
    frame["_hidden_columns"] = [
        {area_columns[j] for j, flag in enumerate(row) if flag} for row in hidden.to_numpy()
    ]
    frame["_hidden"] = HIDDEN_NOTE.format(threshold=data.rules.threshold)
    columns = (
        Column("vintage", "SIMD vintage", width=12),
        Column("measure_id", "Measure id", width=30),
        Column("measure_label", "Measure", width=55, wrap=True),
        *[
            Column(area, data.locality_name(i), UNIT, width=14, maskable=True)
            for area, i in zip(area_columns, ids, strict=True)
        ],
        Column("scotland_value", "Scotland", UNIT, width=14),
    )
    spec = SheetSpec(
        "Side by side",
        "Each locality's value of the headline measures and indicators, next to the council "
        "and Scotland (values from locality_profile).",
        columns,
        freeze_columns=3,
    )
    return spec, frame


def _datazone_sheet(data: PackData, locality_id: str | None) -> tuple[SheetSpec, pd.DataFrame]:
    spec, zones = data.derived(("datazone_sheet",), lambda: _council_datazone_sheet(data))
    if locality_id is not None:
        members = set(data.bridge.loc[data.bridge["locality_id"] == locality_id, "dz_code"])
        zones = zones[zones["dz_code"].isin(members)]
    return spec, zones.sort_values("dz_code", ignore_index=True)


def _council_datazone_sheet(data: PackData) -> tuple[SheetSpec, pd.DataFrame]:
    """Every data zone of the council with its SIMD columns (built once per pack)."""
    zones = data.datazones[["dz_code", "dz_name", "ward_name", "population"]].copy()
    zones["locality_id"] = zones["dz_code"].map(data.dz_localities).fillna("")
    overall = data.simd[data.simd["domain"] == "overall"]
    columns = [
        Column("dz_code", "Data zone", width=12),
        Column("dz_name", "Data zone name", width=30),
        Column("ward_name", "Ward", width=22),
        Column("locality_id", "Locality id(s)", width=16),
        Column("population", "Population", COUNT),
    ]
    for vintage in data.vintages:
        ranks = overall[overall["vintage"] == vintage].set_index("dz_code")
        for measure, fmt in (("rank", COUNT), ("decile", "0"), ("quintile", "0")):
            name = f"simd_{vintage}_{measure}"
            zones[name] = zones["dz_code"].map(ranks[measure])
            columns.append(Column(name, f"SIMD {vintage} {measure}", fmt, width=12))
    spec = SheetSpec(
        "Data zones",
        "The data zones of the area with their overall SIMD rank, decile and quintile "
        "(1 = most deprived in Scotland).",
        tuple(columns),
        freeze_columns=2,
    )
    return spec, zones


def _voice_rows(data: PackData, locality_id: str | None) -> pd.DataFrame:
    rows = data.theme_summary.copy()
    if locality_id is not None:
        rows = rows[rows["locality_id"].isin([locality_id, data.council_code])]
    rows["area"] = _area_names(data, rows["locality_id"])
    rows["theme"] = [data.theme_label(t) for t in rows["theme_id"]]
    quotes = [_quote_list(text) for text in rows["quotes"]]
    for k in range(3):
        rows[f"quote_{k + 1}"] = [q[k] if q is not None and len(q) > k else None for q in quotes]
    rows["_hidden"] = _hidden_reasons(data, rows["suppressed"], rows["withheld_reason"])
    return rows.reset_index(drop=True)


def _quote_list(text: object) -> list[str] | None:
    if not isinstance(text, str):
        return None
    try:
        values = json.loads(text)
    except json.JSONDecodeError:
        return [text]
    return [str(v) for v in values] if isinstance(values, list) else [str(values)]


def _priority_rows(data: PackData, locality_id: str | None) -> pd.DataFrame:
    rows = data.priority_rows(locality_id)
    rows["area"] = _area_names(data, rows["locality_id"])
    rows["evidence_text"] = [_evidence_text(text, data) for text in rows["evidence"]]
    rows["_hidden"] = None
    return rows


def _evidence_text(text: object, data: PackData) -> str:
    items, quotes = evidence_parts(text, data)
    lines = [f"{label}: {value}" for label, value in items]
    lines += [f"“{quote}”" for quote in quotes]
    return "\n".join(lines)


def _reach_rows(data: PackData, locality_id: str | None) -> pd.DataFrame:
    rows = data.reach.copy()
    if locality_id is not None:
        rows = rows[(rows["group_type"] != "locality") | (rows["group_id"] == locality_id)]
    rows["group"] = [
        f"SIMD quintile {g}"
        + (" (most deprived)" if str(g) == "1" else " (least deprived)" if str(g) == "5" else "")
        if t == "simd_quintile"
        else data.locality_name(str(g))
        for t, g in zip(rows["group_type"], rows["group_id"], strict=True)
    ]
    rows["_hidden"] = _hidden_reasons(data, rows["suppressed"])
    return rows.reset_index(drop=True)


def _with_area(data: PackData, frame: pd.DataFrame, locality_id: str | None) -> pd.DataFrame:
    rows = frame if locality_id is None else frame[frame["locality_id"] == locality_id]
    rows = rows.copy()
    rows["area"] = _area_names(data, rows["locality_id"])
    if "unit" in rows.columns:
        rows["_unit"] = rows["unit"].astype(str)
    rows["_hidden"] = None
    return rows.reset_index(drop=True)


def notes_sheet(data: PackData, heading: str) -> NotesSheet:
    lines = [
        heading,
        f"Council: {data.council_name} ({data.council_code}). Latest SIMD vintage: "
        f"{data.latest_vintage}. Data as of {data.as_of}.",
        "",
        "Read with care",
        *[
            f"• {text.format(threshold=data.rules.threshold, hidden_max=data.rules.threshold - 1)}"
            for text in CAVEATS
        ],
        "",
        f"'*' marks a value hidden by disclosure control (threshold {data.rules.threshold}); "
        "hover over the cell to read its note. Empty cells are values that do not exist "
        "(e.g. no interval for an average).",
        "Values are the warehouse's own numbers; number formats only change how they look.",
        "",
        "Sources",
    ]
    return NotesSheet(lines=tuple(lines), sources=data.source_files.copy())


SOURCE_COLUMNS = (
    Column("kind", "Kind", width=18),
    Column("vintage", "Vintage", width=10),
    Column("dataset", "Dataset", width=18),
    Column("file", "File", width=40),
    Column("source", "Source URL", width=40),
    Column("retrieved_at", "Retrieved", width=26),
    Column("sha256", "SHA-256", width=66),
    Column("bytes", "Bytes", COUNT),
    Column("mode", "Mode", width=8),
)


def locality_sheets(data: PackData, locality_id: str) -> list[Sheet]:
    """The data sheets of one locality's workbook, in order (the notes sheet is separate)."""
    name = data.locality_name(locality_id)
    zones_spec, zones = _datazone_sheet(data, locality_id)
    return [
        Sheet(SUMMARY, summary_long(data, locality_id).assign(_hidden=None), name),
        Sheet(DEPRIVATION, _profile_rows(data, locality_id, deprivation=True), name),
        Sheet(INDICATORS, _profile_rows(data, locality_id, deprivation=False), name),
        Sheet(INEQUALITY, _with_area(data, data.inequality, locality_id), name),
        Sheet(MOST_DEPRIVED, _with_area(data, data.most_deprived, locality_id), name),
        Sheet(zones_spec, zones.assign(_hidden=None), name),
        Sheet(VOICE, _voice_rows(data, locality_id), name),
        Sheet(PRIORITIES, _priority_rows(data, locality_id), name),
        Sheet(REACH, _reach_rows(data, locality_id), name),
    ]


def overview_sheets(data: PackData) -> list[Sheet]:
    """The data sheets of the city-wide workbook: every locality and the council.

    Localities side by side (the wide summary and every headline measure and indicator by
    locality), with the council's data zones, inequality, community voice, priorities and
    reach. The long per-measure tables of each locality are in the locality workbooks.
    """
    name = f"{data.council_name}: all localities"
    side_spec, side = side_by_side(data)
    zones_spec, zones = _datazone_sheet(data, None)
    return [
        Sheet(_summary_wide_spec(data), data.summary.assign(_hidden=None), name),
        Sheet(side_spec, side, name),
        Sheet(INEQUALITY, _with_area(data, data.inequality, None), name),
        Sheet(MOST_DEPRIVED, _with_area(data, data.most_deprived, None), name),
        Sheet(zones_spec, zones.assign(_hidden=None), name),
        Sheet(VOICE, _voice_rows(data, None), name),
        Sheet(PRIORITIES, _priority_rows(data, None), name),
        Sheet(REACH, _reach_rows(data, None), name),
    ]


# --- Writing ---------------------------------------------------------------------------------


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


class _ExactFloat(float):
    """A float that XlsxWriter writes with all the digits it needs.

    XlsxWriter writes numbers with 16 significant digits, which can change the last bit of
    a double (that needs up to 17); this one formats as Python's shortest exact
    representation, so Excel and openpyxl read back the very same double.
    """

    def __format__(self, spec: str) -> str:
        if spec.lower().endswith("g"):
            return repr(float(self))
        return super().__format__(spec)


def _number(value: float) -> float:
    return value if float(f"{value:.16g}") == value else _ExactFloat(value)


class _Styles:
    """The workbook's cell formats, one per combination of properties (XlsxWriter formats
    belong to a workbook and are shared by every cell that looks the same)."""

    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        self.workbook = workbook
        self._formats: dict[tuple[tuple[str, object], ...], Any] = {}

    def get(self, **properties: object) -> Any:
        key = tuple(sorted((name, value) for name, value in properties.items() if value))
        if key not in self._formats:
            self._formats[key] = self.workbook.add_format(dict(key))
        return self._formats[key]


_BOLD = {"bold": True}
_TITLE = {"bold": True, "font_size": 14}
_ITALIC = {"italic": True, "font_color": "#404040"}
_HEADER = {
    "bold": True,
    "bg_color": "#DDE6EE",
    "pattern": 1,
    "bottom": 2,  # medium
    "bottom_color": "#4D4D4D",
    "text_wrap": True,
    "valign": "bottom",
}
_MARKER = {"align": "center", "bg_color": "#F2F2F2", "pattern": 1}
_WRAP = {"text_wrap": True, "valign": "top"}
_DATETIME = "yyyy-mm-dd h:mm:ss"


def _text(text: str) -> str:
    if len(text) > EXCEL_MAX_TEXT:  # Excel refuses longer cells; the CSV has the full text
        text = text[: EXCEL_MAX_TEXT - len(TRUNCATED)] + TRUNCATED
    return text


def _put_text(
    sheet: Any,
    styles: _Styles,
    row: int,
    col: int,
    text: str,
    *,
    community: bool = False,
    **style: object,
) -> None:
    """A string cell: never a formula, whatever the text begins with (write_string), and
    with Excel's quote prefix for community text or text that starts like a formula."""
    if not text:
        return  # an empty cell, as a missing value
    text = _text(text)
    quote = community or starts_like_formula(text)
    sheet.write_string(row, col, text, styles.get(quote_prefix=quote, **style))


def _put_value(
    sheet: Any,
    styles: _Styles,
    row: int,
    col: int,
    value: object,
    column: Column,
    unit: str | None,
) -> None:
    wrap = _WRAP if column.wrap else {}
    if isinstance(value, (bool, np.bool_)):
        sheet.write_boolean(row, col, bool(value), styles.get(**wrap))
    elif isinstance(value, (int, np.integer)):
        fmt = _format(column, unit)
        sheet.write_number(row, col, int(value), styles.get(num_format=fmt, **wrap))
    elif isinstance(value, (float, np.floating)):
        fmt = _format(column, unit)
        sheet.write_number(row, col, _number(float(value)), styles.get(num_format=fmt, **wrap))
    elif isinstance(value, pd.Timestamp):
        sheet.write_datetime(
            row, col, value.to_pydatetime(), styles.get(num_format=_DATETIME, **wrap)
        )
    else:
        _put_text(sheet, styles, row, col, str(value), community=column.community, **wrap)


def _format(column: Column, unit: str | None) -> str:
    fmt = UNIT_FORMATS.get(unit or "", "General") if column.fmt == UNIT else column.fmt
    return "" if fmt == "General" else fmt  # General is every cell's default


def _write_heading(sheet: Any, styles: _Styles, title: str, subtitle: str) -> None:
    _put_text(sheet, styles, TITLE_ROW - 1, 0, title, **_TITLE)
    _put_text(sheet, styles, SUBTITLE_ROW - 1, 0, subtitle, **_ITALIC)


def _write_header(sheet: Any, styles: _Styles, row: int, columns: Sequence[Column]) -> None:
    """Headers in (1-based) `row`, and each column's width."""
    for j, column in enumerate(columns):
        _put_text(sheet, styles, row - 1, j, column.header, **_HEADER)
        sheet.set_column(j, j, column.width)


def _write_rows(
    sheet: Any,
    styles: _Styles,
    first_row: int,
    frame: pd.DataFrame,
    columns: Sequence[Column],
    marker: str,
) -> int:
    """Write `frame`'s rows from (1-based) `first_row`; returns the last row written."""
    size = len(frame)

    def values(name: str) -> list[Any]:
        # Column lists (native Python scalars) rather than row dicts: a third of the time.
        return frame[name].tolist() if name in frame.columns else [None] * size

    cells = [values(column.name) for column in columns]
    units, reasons, hidden = values("_unit"), values("_hidden"), values("_hidden_columns")
    number_styles: dict[tuple[int, object], Any] = {}
    text_styles: dict[tuple[int, bool], Any] = {}
    row = first_row - 1
    for i in range(size):
        row += 1
        unit, reason, hidden_columns = units[i], reasons[i], hidden[i]
        noted = False
        for j, column in enumerate(columns):
            value = cells[j][i]
            if _missing(value):
                masked = (
                    column.maskable
                    and isinstance(reason, str)
                    and reason
                    and (hidden_columns is None or column.name in hidden_columns)
                )
                if masked:
                    _put_text(sheet, styles, row - 1, j, marker, **_MARKER)
                    if not noted:  # one note per row: notes are slow to write and read
                        sheet.write_comment(
                            row - 1, j, reason, {"author": AUTHOR, "x_scale": 1.9, "y_scale": 1.1}
                        )
                        noted = True
                continue
            # Numbers and text, most of the cells, take a fast path with formats looked up
            # once per column (and unit, or quote prefix); anything else goes through
            # _put_value, which writes the same cells the slow way.
            kind = type(value)
            if kind is float or kind is int:
                key = (j, unit)
                style = number_styles.get(key)
                if style is None:
                    wrap = _WRAP if column.wrap else {}
                    style = styles.get(num_format=_format(column, unit), **wrap)
                    number_styles[key] = style
                sheet.write_number(row - 1, j, _number(value) if kind is float else value, style)
            elif kind is str:
                if not value:
                    continue  # an empty cell, as a missing value
                text = _text(value)
                quote = column.community or starts_like_formula(text)
                style = text_styles.get((j, quote))
                if style is None:
                    wrap = _WRAP if column.wrap else {}
                    style = styles.get(quote_prefix=quote, **wrap)
                    text_styles[(j, quote)] = style
                sheet.write_string(row - 1, j, text, style)
            else:
                _put_value(sheet, styles, row - 1, j, value, column, unit)
    return row


def _write_sheet(workbook: Any, styles: _Styles, sheet: Sheet, marker: str) -> None:
    spec = sheet.spec
    target = workbook.add_worksheet(spec.title)
    _write_heading(target, styles, f"{spec.title} — {sheet.heading}", spec.description)
    _write_header(target, styles, HEADER_ROW, spec.columns)
    last = _write_rows(target, styles, FIRST_DATA_ROW, sheet.frame, spec.columns, marker)
    target.freeze_panes(FIRST_DATA_ROW - 1, spec.freeze_columns)
    if last >= FIRST_DATA_ROW:
        target.autofilter(HEADER_ROW - 1, 0, last - 1, len(spec.columns) - 1)


def _write_notes(workbook: Any, styles: _Styles, notes: NotesSheet) -> int:
    """Write the notes sheet; returns the row of the sources table's header."""
    target = workbook.add_worksheet(notes.title)
    target.set_column(0, 0, 18)
    for row, line in enumerate(notes.lines, start=1):
        style = _TITLE if row == 1 else _BOLD if line in ("Read with care", "Sources") else {}
        _put_text(target, styles, row - 1, 0, line, **style)
    header_row = len(notes.lines) + 1
    _write_header(target, styles, header_row, SOURCE_COLUMNS)
    _write_rows(
        target, styles, header_row + 1, notes.sources.assign(_hidden=None), SOURCE_COLUMNS, "*"
    )
    return header_row


def write_workbook(
    path: Path,
    sheets: Sequence[Sheet],
    notes: NotesSheet,
    *,
    title: str,
    as_of: str,
    marker: str = "*",
) -> Path:
    """Write the sheets and the notes sheet to `path` as a reproducible .xlsx.

    XlsxWriter (rather than openpyxl) because it writes a cell in a fraction of the time,
    which is most of an all-Scotland pack build; openpyxl reads the files back in tests.
    """
    stamp = _timestamp(as_of)
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            # Text is text: never turned into formulas, numbers or links by its content.
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "remove_timezone": True,
            "in_memory": True,
        },
    )
    try:
        styles = _Styles(workbook)
        for sheet in sheets:
            _write_sheet(workbook, styles, sheet, marker)
        _write_notes(workbook, styles, notes)
        workbook.set_properties({"title": title, "author": AUTHOR, "created": stamp})
    finally:
        workbook.close()
    return path


def write_locality_workbook(data: PackData, locality_id: str, path: Path) -> Path:
    name = data.locality_name(locality_id)
    heading = f"{name}: locality profile ({data.council_name})"
    return write_workbook(
        path,
        locality_sheets(data, locality_id),
        notes_sheet(data, heading),
        title=heading,
        as_of=data.as_of,
        marker=data.rules.marker or "*",
    )


def write_overview_workbook(data: PackData, path: Path) -> Path:
    heading = f"{data.council_name}: localities side by side"
    return write_workbook(
        path,
        overview_sheets(data),
        notes_sheet(data, heading),
        title=heading,
        as_of=data.as_of,
        marker=data.rules.marker or "*",
    )


# --- Reproducibility -----------------------------------------------------------------------


def _timestamp(as_of: str) -> datetime:
    try:
        moment = datetime.fromisoformat(as_of)
    except ValueError:
        moment = datetime(2000, 1, 1, tzinfo=UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return max(moment.replace(microsecond=0), datetime(1980, 1, 1))
