"""Self-contained HTML reports: one per locality and a city-wide overview.

What belongs here: turning a `PackData` into the context the Jinja2 templates in
`templates/` render (key facts, tables, charts, priorities with their evidence and quotes,
sources and caveats), and rendering it. Every report embeds plotly.js once, inline, so it
opens offline and can be e-mailed as one file; it references nothing on the internet
(hyperlinks only between the pack's own files). Jinja2 autoescaping makes community text
inert; plotly labels are escaped in `charts`.

Charts are drawn by one script at the end of the page, which exposes
`window.profileChartsReady` (a Promise that resolves when every chart has rendered) so the
browser test can wait for them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import plotly.io as pio
from plotly.offline import get_plotlyjs

from profiles.exports import charts
from profiles.exports.charts import Chart
from profiles.exports.data import (
    CAVEATS,
    PackData,
    evidence_parts,
    format_value,
)

TEMPLATES = Path(__file__).with_name("templates")
LOCALITY_CHARTS = ("chart-map", "chart-spine", "chart-compass", "chart-matrix", "chart-reach")
OVERVIEW_CHARTS = ("chart-localities", "chart-map", "chart-voice-heatmap", "chart-reach-localities")
"""DOM ids of the charts each report draws when its data are present."""
MAX_PRIORITY_QUOTES = 5
"""Quotes shown under each priority in a report (the workbook has them all)."""


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["value"] = format_value
    return environment


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    return get_plotlyjs()


# --- Context pieces ----------------------------------------------------------------------------


def key_facts(data: PackData, area_ids: Sequence[str], vintage: str | None) -> list[dict]:
    """Headline measures (config order) for each area id, with Scotland's value."""
    summary = data.summary[data.summary["vintage"] == vintage].set_index("locality_id")
    units, labels = data.measure_units, data.measure_labels
    facts = []
    for item in data.headline:
        column = item["column"]
        if column not in summary.columns:
            continue
        unit = units.get(item["measure_id"])
        values = [summary[column].get(area) if area in summary.index else None for area in area_ids]
        scotland = summary.get(f"{column}_scotland")
        scotland_value = (
            scotland.dropna().iloc[0] if scotland is not None and scotland.notna().any() else None
        )
        facts.append(
            {
                "label": charts.short_label(labels.get(item["measure_id"], column), 200),
                "values": [format_value(v, unit) for v in values],
                "scotland": format_value(scotland_value, unit),
            }
        )
    return facts


_PRIORITY_ITEM_COLUMNS = [
    *("rank", "theme", "rank_low", "rank_high", "need_score", "voice_score"),
    *("strategic_score", "priority_score", "stability_text", "agreement_text", "evidence"),
]


def priority_items(data: PackData, locality_id: str, limit: int | None = None) -> list[dict]:
    rows = data.priority_rows(locality_id)
    if limit is not None:
        rows = rows.head(limit)
    items = []
    for row in rows[_PRIORITY_ITEM_COLUMNS].itertuples():
        evidence, quotes = evidence_parts(row.evidence, data)
        shown = quotes[:MAX_PRIORITY_QUOTES]
        items.append(
            {
                "rank": _whole(row.rank),
                "theme": row.theme,
                "rank_low": _whole(row.rank_low),
                "rank_high": _whole(row.rank_high),
                "need": format_value(row.need_score) or "no data",
                "voice": format_value(row.voice_score) or "no data",
                "strategic": format_value(row.strategic_score) or "no data",
                "score": format_value(row.priority_score),
                "stability": row.stability_text,
                "agreement": row.agreement_text,
                "evidence": evidence,
                "quotes": shown,
                "more_quotes": len(quotes) - len(shown),
            }
        )
    return items


def _whole(value: object) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):.0f}"  # type: ignore[arg-type]


def voice_rows(data: PackData, locality_id: str) -> tuple[str | None, str, list[dict]]:
    """(survey, weighting, rows) of the locality's theme table, lowest mean score first."""
    survey = data.main_survey()
    if survey is None:
        return None, "", []
    rows = data.theme_summary[
        (data.theme_summary["survey_id"] == survey)
        & (data.theme_summary["locality_id"] == locality_id)
    ]
    weighting = "weighted" if (rows["weighting"] == "weighted").any() else "unweighted"
    rows = rows[rows["weighting"] == weighting].copy()
    rows["order"] = pd.to_numeric(rows["mean_score"], errors="coerce")
    result = []
    for row in rows.sort_values(["order", "theme_id"], na_position="last").itertuples():
        hidden = bool(row.suppressed) if pd.notna(row.suppressed) else False
        withheld = str(row.withheld_reason) if pd.notna(row.withheld_reason) else ""
        quotes = []
        if not hidden and isinstance(row.quotes, str):
            try:
                quotes = [str(q) for q in json.loads(row.quotes)]
            except json.JSONDecodeError:
                quotes = []
        result.append(
            {
                "theme": data.theme_label(row.theme_id),
                "responses": "*" if pd.isna(row.responses) else f"{int(row.responses):,}",
                "mean": _or_marker(row.mean_score, "score", hidden or bool(withheld)),
                "mean_ci": (
                    f"{row.mean_score_lower_ci:.1f}–{row.mean_score_upper_ci:.1f}"
                    if pd.notna(row.mean_score_lower_ci)
                    else ""
                ),
                "low_share": _or_marker(
                    row.low_score_share, "proportion", hidden or bool(withheld)
                ),
                "mention_share": _or_marker(
                    row.mention_share, "proportion", hidden or bool(withheld)
                ),
                "withheld": withheld,
                "quotes": quotes,
            }
        )
    return survey, weighting, result


def _or_marker(value: object, unit: str, hidden: bool) -> str:
    if value is None or pd.isna(value):  # type: ignore[arg-type]
        return "*" if hidden else ""
    return format_value(value, unit)


def most_deprived_rows(data: PackData, area_id: str, vintage: str | None) -> list[dict]:
    rows = data.most_deprived[
        (data.most_deprived["locality_id"] == area_id) & (data.most_deprived["vintage"] == vintage)
    ]
    return [
        {
            "position": int(r.position),
            "dz_name": r.dz_name,
            "dz_code": r.dz_code,
            "ward_name": r.ward_name if pd.notna(r.ward_name) else "",
            "rank": f"{r.rank:,.0f}",
            "decile": f"{r.decile:.0f}",
        }
        for r in rows.sort_values("position").itertuples()
    ]


def source_rows(data: PackData) -> list[dict]:
    return [
        {
            "kind": r.kind,
            "vintage": r.vintage if pd.notna(r.vintage) else "",
            "file": r.file,
            "sha256": str(r.sha256)[:12],
            "retrieved_at": r.retrieved_at,
            "source": r.source if isinstance(r.source, str) else "",
        }
        for r in data.source_files.itertuples()
    ]


def caveats(data: PackData) -> list[str]:
    return [
        text.format(threshold=data.rules.threshold, hidden_max=data.rules.threshold - 1)
        for text in CAVEATS
    ]


# --- Rendering -----------------------------------------------------------------------------------


def _figures_script(chart_list: Sequence[Chart]) -> str:
    """JS object literal {dom id: {data, layout, config}} (plotly's JSON escapes < > &)."""
    parts = []
    for chart in chart_list:
        if chart.figure is None:
            continue
        figure_json = pio.to_json(
            chart.figure.to_plotly_json(), validate=False, pretty=False, engine="json"
        )
        config = json.dumps(charts.PLOT_CONFIG)
        parts.append(f'"{chart.chart_id}": {{"figure": {figure_json}, "config": {config}}}')
    return "{" + ",\n".join(parts) + "}"


_PLOTLY_JS_SLOT = "<plotly.js>"
"""Where the template's `plotly_js` goes, filled in after rendering. Passed through Jinja,
the 4.6 MB library was copied three times per report (marked safe, escaped, joined), a
third of a report's time; this text cannot come from the report's content, whose `<` is
always escaped (as text, or as \\u003c in the figures' JSON)."""


@lru_cache(maxsize=1)
def _plotly_js_bytes() -> bytes:
    return _plotly_js().encode("utf-8")


@dataclass(frozen=True)
class Page:
    """A rendered report: the document's text before and after plotly.js."""

    before: str
    after: str

    def text(self) -> str:
        return self.before + _plotly_js() + self.after

    def write(self, path: Path) -> Path:
        """Write the document as UTF-8. plotly.js is encoded once per process: as one
        string with the report, its 4.8 MB (not pure ASCII) were re-encoded for every
        report, two thirds of the time writing one took."""
        with path.open("wb") as file:
            file.write(self.before.encode("utf-8"))
            file.write(_plotly_js_bytes())
            file.write(self.after.encode("utf-8"))
        return path


def _render(template: str, context: dict[str, Any], chart_list: Sequence[Chart]) -> Page:
    page = _environment().get_template(template)
    rendered = page.render(
        plotly_js=_PLOTLY_JS_SLOT,
        figures=_figures_script(chart_list),
        **context,
    )
    before, _, after = rendered.partition(_PLOTLY_JS_SLOT)
    return Page(before, after)


def locality_charts(data: PackData, locality_id: str) -> list[Chart]:
    vintage = data.latest_vintage
    return [
        charts.decile_map(data, locality_id, vintage),
        charts.spine_chart(data, locality_id, vintage),
        charts.place_standard_compass(data, locality_id),
        charts.priority_matrix(data, locality_id),
        charts.reach_by_quintile(data, locality_id),
    ]


def locality_report(
    data: PackData,
    locality_id: str,
    *,
    overview_href: str = "../overview.html",
    workbook_href: str = "",
) -> Page:
    """The HTML report of one locality: a full document, as `.text()` or `.write(path)`."""
    vintage = data.latest_vintage
    chart_list = locality_charts(data, locality_id)
    by_id = {chart.chart_id: chart for chart in chart_list}
    survey, weighting, themes = voice_rows(data, locality_id)
    locality = data.localities.set_index("locality_id").loc[locality_id]
    context = {
        "title": f"{data.locality_name(locality_id)}: locality profile",
        "locality_name": data.locality_name(locality_id),
        "council_name": data.council_name,
        "vintage": vintage,
        "as_of": data.as_of[:10],
        "dz_count": int(locality.get("dz_count", 0) or 0),
        "facts_headers": [data.locality_name(locality_id), data.council_name],
        "facts": key_facts(data, [locality_id, data.council_code], vintage),
        "charts": by_id,
        "most_deprived": most_deprived_rows(data, locality_id, vintage),
        "survey": survey,
        "weighting": weighting,
        "themes": themes,
        "priorities": priority_items(data, locality_id),
        "sources": source_rows(data),
        "caveats": caveats(data),
        "threshold": data.rules.threshold,
        "overview_href": overview_href,
        "workbook_href": workbook_href,
    }
    return _render("locality.html.j2", context, chart_list)


def overview_charts(data: PackData) -> list[Chart]:
    vintage = data.latest_vintage
    return [
        charts.locality_deprivation_bars(data, vintage),
        charts.decile_map(data, None, vintage),
        charts.voice_heatmap(data),
        charts.reach_by_locality(data),
    ]


def overview_report(
    data: PackData, locality_links: Mapping[str, str], *, workbook_href: str = ""
) -> Page:
    """The city-wide overview, all localities side by side: a full document, as `.text()`
    or `.write(path)`."""
    vintage = data.latest_vintage
    chart_list = overview_charts(data)
    ids = data.locality_ids()
    context = {
        "title": f"{data.council_name}: localities side by side",
        "council_name": data.council_name,
        "vintage": vintage,
        "as_of": data.as_of[:10],
        "facts_headers": [data.locality_name(i) for i in ids] + [data.council_name],
        "facts": key_facts(data, [*ids, data.council_code], vintage),
        "charts": {chart.chart_id: chart for chart in chart_list},
        "localities": [
            {
                "name": data.locality_name(i),
                "href": locality_links.get(i, ""),
                "priorities": priority_items(data, i, limit=3),
            }
            for i in ids
        ],
        "sources": source_rows(data),
        "caveats": caveats(data),
        "threshold": data.rules.threshold,
        "workbook_href": workbook_href,
    }
    return _render("overview.html.j2", context, chart_list)
