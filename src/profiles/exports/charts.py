"""Plotly figures for the profile reports, each with a title, a caption and alt text.

What belongs here: one function per chart, taking a `PackData` and returning a `Chart`
(the figure, or a message when there is nothing to draw, plus the words a reader or a
screen reader needs), the colour-blind-safe palettes, and value formatting shared with the
HTML tables. Nothing here writes files.

Offline by construction: maps are polygons drawn as filled scatter traces in British
National Grid metres on plain axes. Plotly's geo and tile maps fetch base layers (topojson,
tiles) from the internet even when given our own GeoJSON, so they are not used.

Palettes: viridis for the ten SIMD deciles (ordered, readable in grey and with colour-vision
deficiencies); Okabe–Ito for categories; significance uses vermillion (worse), blue (better)
and grey (similar), also told apart by marker shape.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from profiles.exports.data import PackData, format_value, measure_name

DECILE_COLOURS = (
    "#440154",
    "#482878",
    "#3e4989",
    "#31688e",
    "#26828e",
    "#1f9e89",
    "#35b779",
    "#6ece58",
    "#b5de2b",
    "#fde725",
)
"""Viridis in ten steps: decile 1 (most deprived) darkest."""
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
}
CATEGORY_COLOURS = tuple(OKABE_ITO.values())
SIGNIFICANCE_STYLE = {
    "worse": ("Worse than Scotland (95% interval)", OKABE_ITO["vermillion"], "triangle-left"),
    "similar": ("Similar to Scotland", "#7F7F7F", "circle"),
    "better": ("Better than Scotland (95% interval)", OKABE_ITO["blue"], "triangle-right"),
    "not_compared": ("No interval, not tested", "#1A1A1A", "circle-open"),
}
CONTEXT_GREY = "#D9D9D9"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
PLOT_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}

_TEMPLATE = {
    "layout": {
        "font": {"family": FONT, "size": 14, "color": "#1a1a1a"},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "colorway": list(CATEGORY_COLOURS),
        "hoverlabel": {"font": {"family": FONT}},
        "margin": {"l": 10, "r": 10, "t": 30, "b": 40},
    }
}
"""Plotly's layout template, as the JSON plotly.js reads."""


class Figure:
    """A plotly figure as the plain JSON plotly.js draws: `{"data": [...], "layout": {...}}`.

    The methods mirror the few of `plotly.graph_objects.Figure` these charts use
    (`add_trace`, `update_layout`, `update_xaxes`/`update_yaxes`, `add_vline`/`add_hline`).
    Why not plotly's own class: building validated plotly objects took 40% of the time of
    a locality report's charts (profiled on the Scotland-scale benchmark), and reports are
    the bulk of a pack. The same property names are checked against plotly's schema in the
    tests instead (`plotly.graph_objects.Figure(figure.to_plotly_json())`).
    """

    def __init__(self, height: int) -> None:
        self.data: list[dict[str, Any]] = []
        self.layout: dict[str, Any] = {"template": _TEMPLATE, "height": height}

    def add_trace(self, trace: dict[str, Any]) -> None:
        self.data.append(trace)

    def update_layout(self, **properties: Any) -> None:
        _merge(self.layout, properties)

    def update_xaxes(self, **properties: Any) -> None:
        _merge(self.layout.setdefault("xaxis", {}), properties)

    def update_yaxes(self, **properties: Any) -> None:
        _merge(self.layout.setdefault("yaxis", {}), properties)

    def add_vline(self, x: float, line: dict[str, Any]) -> None:
        """A vertical line across the plot at `x` (data units), as plotly's `add_vline`."""
        self._add_shape(
            {"type": "line", "xref": "x", "x0": x, "x1": x, "yref": "y domain", "y0": 0, "y1": 1}
            | {"line": line}
        )

    def add_hline(self, y: float, line: dict[str, Any]) -> None:
        """A horizontal line across the plot at `y` (data units), as plotly's `add_hline`."""
        self._add_shape(
            {"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": y, "y1": y}
            | {"line": line}
        )

    def _add_shape(self, shape: dict[str, Any]) -> None:
        self.layout.setdefault("shapes", []).append(shape)

    def to_plotly_json(self) -> dict[str, Any]:
        return {"data": self.data, "layout": self.layout}


def _merge(target: dict[str, Any], properties: dict[str, Any]) -> None:
    """Update nested dicts in place, as plotly's `update_*` does (later keys win)."""
    for key, value in properties.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _trace(trace_type: str, **properties: Any) -> dict[str, Any]:
    """One trace of `trace_type` ("scatter", "bar", …) with plotly's property names."""
    return {"type": trace_type, **properties}


@dataclass(frozen=True)
class Chart:
    """A figure (None when there is nothing to draw) and its words."""

    chart_id: str
    title: str
    caption: str
    alt: str
    figure: Figure | None = None
    empty_message: str = ""


def _no_survey(chart_id: str, title: str) -> Chart:
    """The chart's place when the council has no survey yet."""
    return Chart(
        chart_id,
        title,
        "",
        "No community survey loaded.",
        empty_message="No community survey has been loaded for this council yet.",
    )


# --- Formatting ------------------------------------------------------------------------------


def plotly_text(text: object) -> str:
    """Text for plotly labels: plotly reads a subset of HTML, so escape < > &."""
    return html.escape(str(text), quote=False)


def short_label(label: str, limit: int = 48) -> str:
    """A measure label without its method note, cut to `limit` characters."""
    text = measure_name(label)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def wrapped_label(label: str, width: int = 40, lines: int = 2) -> str:
    """A short label broken into at most `lines` lines for plotly (escaped, joined by <br>)."""
    parts = textwrap.wrap(short_label(label, 400), width) or [""]
    if len(parts) > lines:
        parts = [*parts[: lines - 1], short_label(" ".join(parts[lines - 1 :]), width)]
    return "<br>".join(plotly_text(part) for part in parts)


# --- Map ---------------------------------------------------------------------------------------


def _lines_xy(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Line coordinates as x, y arrays (whole metres) with NaN between lines: one trace."""
    lines = lines[~shapely.is_empty(lines)] if len(lines) else lines
    if len(lines) == 0:
        return np.array([]), np.array([])
    coords, index = shapely.get_coordinates(lines, return_index=True)
    breaks = np.flatnonzero(np.diff(index)) + 1
    xs = np.append(np.insert(np.round(coords[:, 0]), breaks, np.nan), np.nan)
    ys = np.append(np.insert(np.round(coords[:, 1]), breaks, np.nan), np.nan)
    return xs, ys


def _ring_xy(shapes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exterior rings of (multi)polygons, for a filled trace (holes are drawn filled)."""
    parts = shapely.get_parts(shapes)
    polygons = parts[shapely.get_type_id(parts) == 3]
    return _lines_xy(shapely.get_exterior_ring(polygons))


def _boundary_xy(geometries: Sequence[object], *, simplify: float) -> tuple[np.ndarray, np.ndarray]:
    """Boundaries of (multi)polygons, for a line trace."""
    shapes = shapely.simplify(np.asarray(geometries, dtype=object), simplify)
    return _lines_xy(shapely.get_parts(shapely.boundary(shapes)))


@dataclass(frozen=True)
class _MapZones:
    """The council's data zones for the maps of one vintage, derived once per pack."""

    zones: pd.DataFrame
    """geo_datazone with the zone's SIMD `rank` and `decile` (overall domain)."""
    focus_outlines: np.ndarray
    """Each zone simplified to 5 m, drawn when it is in the mapped area."""
    context_outlines: np.ndarray
    """Each zone simplified to 10 m, drawn grey around a locality."""
    members: dict[str, set[str]]
    """locality id → its data zone codes."""


def _map_zones(data: PackData, vintage: str) -> _MapZones:
    def build() -> _MapZones:
        simd = data.simd
        overall = simd[(simd["domain"] == "overall") & (simd["vintage"] == vintage)]
        zones = data.geo_datazone.merge(
            overall[["dz_code", "rank", "decile"]], on="dz_code", how="left"
        )
        shapes = np.asarray(zones.geometry, dtype=object)
        members = {
            str(key): set(group)
            for key, group in data.bridge.groupby("locality_id", sort=False)["dz_code"]
        }
        return _MapZones(
            zones,
            shapely.simplify(shapes, 5, preserve_topology=True),
            shapely.simplify(shapes, 10, preserve_topology=True),
            members,
        )

    return data.derived(("map_zones", vintage), build)


def decile_map(data: PackData, locality_id: str | None, vintage: str | None) -> Chart:
    """Data zones by SIMD decile with ward (and locality) boundaries; whole council if no id."""
    name = data.locality_name(locality_id) if locality_id else data.council_name
    chart_id = "chart-map"
    title = f"Data zones by SIMD {vintage or ''} decile".replace("  ", " ")
    zones = data.geo_datazone
    if zones.empty or vintage is None:
        return Chart(
            chart_id,
            title,
            "",
            f"No map: no data zone boundaries for {name}.",
            empty_message="No data zone boundaries are loaded, so there is no map.",
        )
    mapped = _map_zones(data, vintage)
    zones = mapped.zones
    if locality_id:
        inside = zones["dz_code"].isin(mapped.members.get(str(locality_id), set())).to_numpy()
    else:
        inside = np.ones(len(zones), dtype=bool)
    focus, focus_outlines = zones[inside], mapped.focus_outlines[inside]
    figure = Figure(620)
    if not inside.all():
        xs, ys = _ring_xy(mapped.context_outlines[~inside])
        figure.add_trace(
            _trace(
                "scatter",
                x=xs,
                y=ys,
                fill="toself",
                fillcolor=CONTEXT_GREY,
                mode="lines",
                line={"color": "white", "width": 0.5},
                hoverinfo="skip",
                name=f"Rest of {plotly_text(data.council_name)}",
            )
        )
    counts: dict[int, int] = {}
    for decile in range(1, 11):
        in_decile = (focus["decile"] == decile).to_numpy()
        counts[decile] = int(in_decile.sum())
        if not counts[decile]:
            continue
        xs, ys = _ring_xy(focus_outlines[in_decile])
        label = (
            f"Decile {decile}"
            + (" (most deprived)" if decile == 1 else "")
            + (" (least deprived)" if decile == 10 else "")
        )
        figure.add_trace(
            _trace(
                "scatter",
                x=xs,
                y=ys,
                fill="toself",
                fillcolor=DECILE_COLOURS[decile - 1],
                mode="lines",
                line={"color": "white", "width": 0.6},
                hoverinfo="skip",
                name=label,
                legendgroup=f"decile-{decile}",
            )
        )
    if data.geo_ward is not None and len(data.geo_ward):
        wards = data.geo_ward
        if locality_id:
            wards = wards[wards["ward_code"].isin(set(focus["ward_code"]))]
        xs, ys = _boundary_xy(wards.geometry, simplify=10)
        figure.add_trace(
            _trace(
                "scatter",
                x=xs,
                y=ys,
                mode="lines",
                hoverinfo="skip",
                line={"color": OKABE_ITO["orange"], "width": 2.5, "dash": "dot"},
                name="Ward boundary",
            )
        )
    if not locality_id and len(data.bridge):
        outlines = _locality_outlines(data, zones)
        xs, ys = _boundary_xy(outlines.geometry, simplify=10)
        figure.add_trace(
            _trace(
                "scatter",
                x=xs,
                y=ys,
                mode="lines",
                hoverinfo="skip",
                line={"color": "black", "width": 2},
                name="Locality boundary",
            )
        )
        points = outlines.geometry.representative_point()
        figure.add_trace(
            _trace(
                "scatter",
                x=points.x.round(0),
                y=points.y.round(0),
                mode="text",
                hoverinfo="skip",
                text=[plotly_text(data.locality_name(i)) for i in outlines["locality_id"]],
                textfont={"size": 13, "color": "black"},
                showlegend=False,
            )
        )
    elif locality_id and len(focus):
        xs, ys = _boundary_xy([shapely.union_all(focus.geometry.to_numpy())], simplify=10)
        figure.add_trace(
            _trace(
                "scatter",
                x=xs,
                y=ys,
                mode="lines",
                hoverinfo="skip",
                line={"color": "black", "width": 2.5},
                name=f"{plotly_text(name)} boundary",
            )
        )
    # Invisible points carry each zone's hover label (filled areas cannot hover per zone).
    points = focus.geometry.representative_point()
    hover = [
        f"<b>{plotly_text(row.dz_name)}</b> ({row.dz_code})<br>"
        + (
            f"SIMD {vintage} rank {row.rank:,.0f}, decile {row.decile:.0f}"
            if pd.notna(row.rank)
            else "No SIMD rank"
        )
        for row in focus[["dz_name", "dz_code", "rank", "decile"]].itertuples()
    ]
    figure.add_trace(
        _trace(
            "scatter",
            x=points.x.round(0),
            y=points.y.round(0),
            mode="markers",
            hovertext=hover,
            hoverinfo="text",
            marker={"size": 9, "opacity": 0},
            showlegend=False,
        )
    )
    xmin, ymin, xmax, ymax = focus.total_bounds
    pad = max(xmax - xmin, ymax - ymin) * 0.06
    figure.update_xaxes(visible=False, range=[xmin - pad, xmax + pad], constrain="domain")
    figure.update_yaxes(
        visible=False,
        range=[ymin - pad, ymax + pad],
        scaleanchor="x",
        scaleratio=1,
        constrain="domain",
    )
    figure.update_layout(
        legend={
            "title": {"text": "SIMD decile (national)"},
            "itemclick": False,
            "itemdoubleclick": False,
        },
        hovermode="closest",
        dragmode="pan",
    )
    summary = ", ".join(f"{n} in decile {d}" for d, n in counts.items() if n)
    most = counts.get(1, 0) + counts.get(2, 0)
    alt = (
        f"Map of the {len(focus)} data zones of {name}, coloured by national SIMD {vintage} "
        f"decile: {summary}."
    )
    caption = (
        f"Each shape is a data zone, coloured by its SIMD {vintage} decile among all Scottish "
        f"data zones (decile 1, darkest, is the 10% most deprived). {most} of {len(focus)} "
        f"data zones are in the 20% most deprived. Dotted orange lines are multi-member ward "
        f"boundaries. SIMD ranks areas, not people."
    )
    return Chart(chart_id, title, caption, alt, figure)


def _locality_outlines(data: PackData, zones: pd.DataFrame) -> pd.DataFrame:
    import geopandas as gpd

    joined = data.bridge.merge(zones[["dz_code", "geometry"]], on="dz_code")
    shapes = gpd.GeoDataFrame(joined, geometry="geometry", crs=data.geo_datazone.crs)
    return shapes.dissolve("locality_id", as_index=False)[["locality_id", "geometry"]]


# --- Spine chart -----------------------------------------------------------------------------


_SPINE_HOVER = ["measure_label", "value", "unit", "lower_ci", "upper_ci", "scotland_value"]
_MATRIX_HOVER = [
    *("theme", "agreement_text", "rank", "rank_low", "rank_high"),
    *("need_score", "voice_score", "strategic_score"),
]
"""Columns the hover texts read (itertuples on the few it needs: the frames are wide)."""


@dataclass(frozen=True)
class _SpineRows:
    """One vintage's indicators that a spine chart can show, derived once per pack."""

    by_locality: dict[str, pd.DataFrame]
    """locality id → its rows (locality level, not SIMD, not counts), in profile order."""
    ranges: pd.DataFrame
    """measure_id → `min` and `max` of the localities' index (Scotland = 100)."""


def _spine_rows(data: PackData, vintage: str | None) -> _SpineRows:
    def build() -> _SpineRows:
        profile = data.profile
        rows = profile[
            (profile["area_level"] == "locality")
            & (profile["vintage"] == vintage)
            & ~profile["measure_id"].str.startswith("simd_")
            & (profile["unit"] != "count")
        ]
        ranges = (
            rows[rows["scotland_value"] > 0]
            .assign(index=lambda f: f["value"] / f["scotland_value"] * 100)
            .groupby("measure_id")["index"]
            .agg(["min", "max"])
        )
        by_locality = {str(key): group for key, group in rows.groupby("locality_id", sort=False)}
        return _SpineRows(by_locality, ranges)

    return data.derived(("spine_rows", vintage), build)


def spine_chart(data: PackData, locality_id: str, vintage: str | None) -> Chart:
    """Indicators as an index (Scotland = 100) with the council and the range of localities."""
    name = data.locality_name(locality_id)
    chart_id = "chart-spine"
    title = "Indicators compared with the city and Scotland"
    spine = _spine_rows(data, vintage)
    rows = spine.by_locality.get(str(locality_id))
    if rows is None:
        rows = data.profile.iloc[0:0]
    usable = rows[(rows["scotland_value"] > 0) & rows["value"].notna()]
    hidden = rows[rows["value"].isna() & rows["suppressed"].fillna(False).astype(bool)]
    if usable.empty:
        return Chart(
            chart_id,
            title,
            "",
            f"No indicators to compare for {name}.",
            empty_message="No indicator values to compare for this locality.",
        )
    usable = usable.sort_values("measure_label", ascending=False)
    labels = [wrapped_label(text) for text in usable["measure_label"]]
    index = usable["value"] / usable["scotland_value"] * 100
    figure = Figure(200 + 46 * len(usable))
    ranges = spine.ranges
    spans = ranges.reindex(usable["measure_id"])
    # A bar from each indicator's lowest to highest locality (lines with gaps would add an
    # empty category to the axis).
    figure.add_trace(
        _trace(
            "bar",
            y=labels,
            base=spans["min"].to_numpy(),
            x=(spans["max"] - spans["min"]).to_numpy(),
            orientation="h",
            width=0.32,
            marker={"color": CONTEXT_GREY},
            hoverinfo="skip",
            name=f"Range across {plotly_text(data.council_name)}'s localities",
        )
    )
    council_index = usable["council_value"] / usable["scotland_value"] * 100
    figure.add_trace(
        _trace(
            "scatter",
            x=council_index,
            y=labels,
            mode="markers",
            name=plotly_text(data.council_name),
            marker={"symbol": "line-ns", "size": 22, "line": {"width": 3, "color": "black"}},
            hovertext=[
                f"{plotly_text(data.council_name)}: {format_value(v, u)}"
                for v, u in zip(usable["council_value"], usable["unit"], strict=True)
            ],
            hoverinfo="text",
        )
    )
    flags = usable["vs_scotland"].fillna("not_compared")
    for flag, (legend, colour, symbol) in SIGNIFICANCE_STYLE.items():
        mask = (flags == flag).to_numpy()
        if not mask.any():
            continue
        subset = usable[mask]
        sub_index = index[mask]
        lower = (subset["lower_ci"] / subset["scotland_value"] * 100).to_numpy()
        upper = (subset["upper_ci"] / subset["scotland_value"] * 100).to_numpy()
        figure.add_trace(
            _trace(
                "scatter",
                x=sub_index,
                y=[labels[i] for i in np.flatnonzero(mask)],
                mode="markers",
                name=legend,
                marker={
                    "color": colour,
                    "symbol": symbol,
                    "size": 15,
                    "line": {"color": "black", "width": 1.2},
                },
                error_x={
                    "visible": bool(np.isfinite(lower).any()),
                    "type": "data",
                    "symmetric": False,
                    "array": np.nan_to_num(upper - sub_index.to_numpy()),
                    "arrayminus": np.nan_to_num(sub_index.to_numpy() - lower),
                    "color": "#4d4d4d",
                    "thickness": 1.5,
                    "width": 4,
                },
                hovertext=[
                    f"<b>{plotly_text(row.measure_label)}</b><br>{plotly_text(name)}: "
                    f"{format_value(row.value, row.unit)}"
                    + (
                        f" (95% interval {format_value(row.lower_ci, row.unit)} to "
                        f"{format_value(row.upper_ci, row.unit)})"
                        if pd.notna(row.lower_ci)
                        else ""
                    )
                    + f"<br>Scotland: {format_value(row.scotland_value, row.unit)}"
                    for row in subset[_SPINE_HOVER].itertuples()
                ],
                hoverinfo="text",
            )
        )
    figure.add_vline(x=100, line={"color": "black", "width": 1, "dash": "dash"})
    ticks = [10, 25, 50, 75, 100, 150, 200, 400, 1000]
    plotted = pd.concat(
        [
            index,
            council_index,
            ranges["min"],
            ranges["max"],
            usable["lower_ci"] / usable["scotland_value"] * 100,
            usable["upper_ci"] / usable["scotland_value"] * 100,
        ]
    )
    plotted = plotted[np.isfinite(plotted) & (plotted > 0)]
    low, high = np.log10([min(plotted.min(), 100.0), max(plotted.max(), 100.0)])
    figure.update_xaxes(
        type="log",
        range=[low - 0.04, high + 0.04],
        title={"text": "The locality's value as a percentage of Scotland's (log scale)"},
        tickvals=ticks,
        ticktext=[f"{t}<br>Scotland" if t == 100 else str(t) for t in ticks],
        showgrid=True,
        gridcolor="#eeeeee",
        zeroline=False,
    )
    figure.update_yaxes(automargin=True, showgrid=False, range=[-0.6, len(usable) - 0.4])
    figure.update_layout(
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
        margin={"l": 10, "r": 20, "t": 90, "b": 70},
    )
    worse = int((flags == "worse").sum())
    better = int((flags == "better").sum())
    alt = (
        f"Spine chart of {len(usable)} indicators for {name} against Scotland (index 100): "
        f"{worse} significantly worse than Scotland, {better} significantly better."
    )
    caption = (
        f"Each row is an indicator (SIMD {vintage}) as a percentage of Scotland's value. "
        f"Markers show {name} with its 95% interval, coloured and shaped by the comparison "
        f"with Scotland; the black bar marks {data.council_name}; the grey band is the range "
        f"across {data.council_name}'s localities. Whether higher is worse depends on the "
        f"indicator; the colour already takes that into account."
        + (f" {len(hidden)} indicator(s) are hidden by disclosure control." if len(hidden) else "")
    )
    return Chart(chart_id, title, caption, alt, figure)


# --- Community voice -------------------------------------------------------------------------


def _weighting(rows: pd.DataFrame) -> str:
    return "weighted" if (rows["weighting"] == "weighted").any() else "unweighted"


def place_standard_compass(data: PackData, locality_id: str) -> Chart:
    """The Place Standard compass: mean theme scores for the locality against the council."""
    name = data.locality_name(locality_id)
    chart_id = "chart-compass"
    title = "Place Standard compass"
    survey = data.main_survey()
    summary = data.theme_summary
    if survey is None:
        return _no_survey(chart_id, title)
    rows = summary[summary["survey_id"] == survey]
    weighting = _weighting(rows)
    rows = rows[rows["weighting"] == weighting]
    themes = [t for t in data.theme_labels if t in set(rows["theme_id"])] or sorted(
        rows["theme_id"].unique()
    )
    labels = [plotly_text(data.theme_label(t)) for t in themes]

    def scores(area: str) -> list[float | None]:
        values = rows[rows["locality_id"] == area].set_index("theme_id")["mean_score"]
        values = pd.to_numeric(values, errors="coerce")
        return [None if pd.isna(values.get(t)) else float(values.get(t)) for t in themes]

    local, council = scores(locality_id), scores(data.council_code)
    shown = [v for v in local if v is not None]
    figure = Figure(560)
    figure.add_trace(
        _trace(
            "scatterpolar",
            r=[*council, council[0]],
            theta=[*labels, labels[0]],
            mode="lines",
            name=plotly_text(data.council_name),
            line={"color": OKABE_ITO["orange"], "width": 2.5, "dash": "dash"},
            hovertemplate="%{theta}: %{r:.1f}<extra>" + plotly_text(data.council_name) + "</extra>",
        )
    )
    if shown:
        figure.add_trace(
            _trace(
                "scatterpolar",
                r=[*local, local[0]],
                theta=[*labels, labels[0]],
                mode="lines+markers",
                fill="toself",
                fillcolor="rgba(0,114,178,0.25)",
                name=plotly_text(name),
                line={"color": OKABE_ITO["blue"], "width": 3},
                connectgaps=False,
                hovertemplate="%{theta}: %{r:.1f}<extra>" + plotly_text(name) + "</extra>",
            )
        )
    figure.update_layout(
        polar={
            "radialaxis": {
                "range": [1, 7],
                "tickvals": [1, 2, 3, 4, 5, 6, 7],
                "angle": 90,
                "tickangle": 90,
                "gridcolor": "#cccccc",
            },
            "angularaxis": {"direction": "clockwise", "rotation": 90, "gridcolor": "#cccccc"},
        },
        legend={"orientation": "h", "y": -0.08},
        margin={"l": 80, "r": 80, "t": 40, "b": 60},
    )
    if not shown:
        alt = (
            f"Place Standard compass for {data.council_name} only: {name}'s scores are "
            f"hidden because too few people responded."
        )
        note = f" {name}'s scores are hidden by disclosure control (too few responses)."
    else:
        pairs = sorted(((v, t) for v, t in zip(local, themes, strict=True) if v is not None))
        low = ", ".join(data.theme_label(t) for _, t in pairs[:3])
        alt = (
            f"Place Standard compass: mean scores (1 to 7) on {len(shown)} themes for {name} "
            f"against {data.council_name}. Lowest in {name}: {low}."
        )
        hidden = len(themes) - len(shown)
        note = f" {hidden} theme(s) are hidden by disclosure control." if hidden else ""
    caption = (
        f"Mean Place Standard score per theme ({weighting} estimates, survey {survey}): 1 = a "
        f"lot of room for improvement (centre), 7 = very little (edge). Respondents chose to "
        f"take part, so these are their views, not a sample of everyone." + note
    )
    return Chart(chart_id, title, caption, alt, figure)


def _score(value: object) -> str:
    return "no data" if pd.isna(value) else f"{float(value):.2f}"  # type: ignore[arg-type]


def priority_matrix(data: PackData, locality_id: str) -> Chart:
    """Need (data) against voice (community) for each candidate priority theme."""
    name = data.locality_name(locality_id)
    chart_id = "chart-matrix"
    title = "Need against community voice"
    rows = data.priority_rows(locality_id)
    if rows.empty:
        return Chart(
            chart_id,
            title,
            "",
            "No priority ranking yet.",
            empty_message="No priority ranking has been computed for this locality yet.",
        )
    need = pd.to_numeric(rows["need_score"], errors="coerce")
    voice = pd.to_numeric(rows["voice_score"], errors="coerce")
    placed = rows[need.notna() & voice.notna()]
    unplaced = rows[~(need.notna() & voice.notna())]
    if placed.empty:
        return Chart(
            chart_id,
            title,
            "",
            f"No theme in {name} has both a need and a voice score.",
            empty_message="No theme here has both a need score and a community voice score.",
        )
    need_mid = float(pd.to_numeric(data.priorities["need_score"], errors="coerce").median())
    voice_mid = float(pd.to_numeric(data.priorities["voice_score"], errors="coerce").median())
    all_scores = pd.to_numeric(placed["priority_score"], errors="coerce").fillna(0)
    low, spread = float(all_scores.min()), max(float(np.ptp(all_scores)), 1e-9)
    figure = Figure(580)
    symbols = ("circle", "square", "diamond", "triangle-up", "cross", "x", "star", "hexagon")
    for position, agreement in enumerate(sorted(placed["agreement_short"].unique())):
        subset = placed[placed["agreement_short"] == agreement]
        score = pd.to_numeric(subset["priority_score"], errors="coerce").fillna(0)
        figure.add_trace(
            _trace(
                "scatter",
                x=subset["need_score"],
                y=subset["voice_score"],
                mode="markers+text",
                cliponaxis=False,
                name=plotly_text(agreement),
                text=[
                    f"{int(r)}. {plotly_text(t)}" if pd.notna(r) and r <= 5 else ""
                    for r, t in zip(subset["rank"], subset["theme"], strict=True)
                ],
                textposition="top center",
                textfont={"size": 12},
                marker={
                    "size": (10 + 22 * (score - low) / spread).to_numpy(),
                    "color": CATEGORY_COLOURS[position % len(CATEGORY_COLOURS)],
                    "symbol": symbols[position % len(symbols)],
                    "line": {"color": "black", "width": 1},
                    "opacity": 0.9,
                },
                hovertext=[
                    f"<b>{plotly_text(row.theme)}</b><br>{plotly_text(row.agreement_text)}<br>"
                    f"Rank {_whole_rank(row.rank)} (could be {_whole_rank(row.rank_low)} to "
                    f"{_whole_rank(row.rank_high)})<br>Need {_score(row.need_score)}, voice "
                    f"{_score(row.voice_score)}, strategic {_score(row.strategic_score)}"
                    for row in subset[_MATRIX_HOVER].itertuples()
                ],
                hoverinfo="text",
            )
        )
    figure.add_vline(x=need_mid, line={"color": "#7F7F7F", "dash": "dash", "width": 1})
    figure.add_hline(y=voice_mid, line={"color": "#7F7F7F", "dash": "dash", "width": 1})
    figure.update_xaxes(
        title={"text": "Need (from the data) →"}, showgrid=True, gridcolor="#eeeeee", zeroline=False
    )
    figure.update_yaxes(
        title={"text": "Community voice →"}, showgrid=True, gridcolor="#eeeeee", zeroline=False
    )
    figure.update_layout(
        legend={
            "title": {"text": "Need and voice"},
            "orientation": "h",
            "y": -0.15,
            "yanchor": "top",
        },
        margin={"l": 60, "r": 90, "t": 40, "b": 110},
    )
    top = rows.head(3)
    alt = (
        f"Scatter plot of {len(placed)} themes for {name}: need score across, community voice "
        "score up. Top ranked: " + ", ".join(top["theme"]) + "."
    )
    caption = (
        "Each point is a theme placed by how much the data say it is needed (across) and how "
        "strongly residents raised it (up); bigger points rank higher overall. Dashed lines "
        f"are {data.council_name}'s median need and voice scores, so themes top right are "
        "where data and community agree. The five highest ranked are labelled."
    )
    if len(unplaced):
        caption += " Not shown (no need or no voice score): " + ", ".join(unplaced["theme"]) + "."
    return Chart(chart_id, title, caption, alt, figure)


def _whole_rank(value: object) -> str:
    return "?" if pd.isna(value) else f"{float(value):.0f}"  # type: ignore[arg-type]


def reach_by_quintile(data: PackData, locality_id: str | None) -> Chart:
    """Who responded: share of responses against share of residents per SIMD quintile."""
    chart_id = "chart-reach"
    title = "Who took part, by SIMD quintile"
    survey = data.main_survey()
    reach = data.reach
    if survey is None or reach.empty:
        return _no_survey(chart_id, title)
    rows = reach[(reach["survey_id"] == survey) & (reach["group_type"] == "simd_quintile")]
    rows = rows.assign(q=pd.to_numeric(rows["group_id"], errors="coerce")).sort_values("q")
    if rows.empty:
        return Chart(
            chart_id,
            title,
            "",
            "No reach by quintile.",
            empty_message="Responses could not be placed in SIMD quintiles.",
        )
    labels = [
        f"Q{int(q)}" + (" most deprived" if q == 1 else " least deprived" if q == 5 else "")
        for q in rows["q"]
    ]
    figure = Figure(440)
    response_share = pd.to_numeric(rows["response_share"], errors="coerce")
    population_share = pd.to_numeric(rows["population_share"], errors="coerce")
    figure.add_trace(
        _trace(
            "bar",
            x=labels,
            y=response_share,
            name="Share of responses",
            marker={"color": OKABE_ITO["blue"]},
            hovertemplate="%{x}: %{y:.1%} of responses<extra></extra>",
        )
    )
    figure.add_trace(
        _trace(
            "bar",
            x=labels,
            y=population_share,
            name="Share of residents",
            marker={"color": "#A6A6A6", "pattern": {"shape": "/"}},
            hovertemplate="%{x}: %{y:.1%} of residents<extra></extra>",
        )
    )
    ratio = pd.to_numeric(rows["representation_ratio"], errors="coerce")
    under = rows["under_heard"].astype("boolean").fillna(False).astype(bool)
    figure.add_trace(
        _trace(
            "scatter",
            x=labels,
            y=np.fmax(response_share.fillna(0), population_share.fillna(0)),
            mode="text",
            showlegend=False,
            hoverinfo="skip",
            textposition="top center",
            text=[
                ("under-heard, " if u else "") + (f"ratio {r:.2f}" if pd.notna(r) else "hidden")
                for r, u in zip(ratio, under, strict=True)
            ],
        )
    )
    figure.update_yaxes(
        tickformat=".0%", title={"text": "Share"}, gridcolor="#eeeeee", rangemode="tozero"
    )
    figure.update_layout(
        barmode="group",
        legend={"orientation": "h", "y": -0.15},
        margin={"l": 60, "r": 20, "t": 40, "b": 80},
    )
    quiet = [label for label, u in zip(labels, under, strict=True) if u]
    local = ""
    if locality_id:
        own = reach[
            (reach["survey_id"] == survey)
            & (reach["group_type"] == "locality")
            & (reach["group_id"] == locality_id)
        ]
        name = data.locality_name(locality_id)
        if len(own) and pd.notna(own["responses"].iloc[0]):
            row = own.iloc[0]
            local = (
                f" In {name}, {int(row['responses']):,} people responded "
                f"({float(row['responses_per_1000']):.1f} per 1,000 residents; "
                f"representation ratio {float(row['representation_ratio']):.2f})."
            )
        elif len(own):
            local = (
                f" {name}'s response count is hidden by disclosure control (fewer than "
                f"{data.rules.threshold} people, or hidden with such a count)."
            )
    alt = (
        f"Bar chart of the share of survey responses and of residents in each SIMD quintile "
        f"of {data.council_name}. Under-heard: {', '.join(quiet) if quiet else 'none'}."
    )
    caption = (
        f"Survey {survey}, {data.council_name} as a whole. A quintile whose share of responses "
        f"is well below its share of residents is under-heard (ratio below the configured "
        f"threshold); weighting adjusts for this but cannot add missing voices." + local
    )
    return Chart(chart_id, title, caption, alt, figure)


# --- City-wide overview ----------------------------------------------------------------------


def locality_deprivation_bars(data: PackData, vintage: str | None) -> Chart:
    """Share of people in the 20% most deprived zones and income deprivation, per locality."""
    chart_id = "chart-localities"
    title = "Deprivation by locality"
    summary = data.summary
    rows = summary[(summary["area_level"] == "locality") & (summary["vintage"] == vintage)]
    measures = [
        (c, label)
        for c, label in (
            ("people_share_most_deprived_20", "People in the 20% most deprived data zones"),
            ("income_deprived", "People who are income deprived"),
        )
        if c in rows.columns
    ]
    if rows.empty or not measures:
        return Chart(
            chart_id,
            title,
            "",
            "No locality summary.",
            empty_message="No locality summary for this vintage.",
        )
    rows = rows.sort_values(measures[0][0])
    names = [plotly_text(n) for n in rows["locality_name"]]
    figure = Figure(140 + 50 * len(rows))
    council = summary[(summary["area_level"] == "council") & (summary["vintage"] == vintage)]
    colours = (OKABE_ITO["vermillion"], OKABE_ITO["blue"])
    for (column, label), colour in zip(measures, colours, strict=False):
        figure.add_trace(
            _trace(
                "bar",
                y=names,
                x=rows[column],
                orientation="h",
                name=label,
                marker={"color": colour},
                hovertemplate="%{y}: %{x:.1%}<extra>" + label + "</extra>",
            )
        )
        if len(council) and pd.notna(council[column].iloc[0]):
            figure.add_vline(
                x=float(council[column].iloc[0]),
                line={"color": colour, "dash": "dash", "width": 1.5},
            )
    figure.update_xaxes(tickformat=".0%", gridcolor="#eeeeee", rangemode="tozero")
    figure.update_yaxes(automargin=True)
    figure.update_layout(
        barmode="group",
        legend={"orientation": "h", "y": -0.1, "yanchor": "top"},
        margin={"l": 10, "r": 20, "t": 30, "b": 80},
    )
    top = rows.iloc[-1]
    alt = (
        f"Horizontal bar chart of {len(rows)} localities of {data.council_name}: share of "
        f"people in Scotland's 20% most deprived data zones and share income deprived "
        f"(SIMD {vintage}). Highest: {top['locality_name']}."
    )
    caption = (
        f"SIMD {vintage}. Dashed lines are {data.council_name} as a whole. SIMD ranks "
        "areas, not people: many deprived people live outside deprived data zones."
    )
    return Chart(chart_id, title, caption, alt, figure)


def voice_heatmap(data: PackData) -> Chart:
    """Mean Place Standard score per theme and locality (themes down, localities across)."""
    chart_id = "chart-voice-heatmap"
    title = "Place Standard scores by locality"
    survey = data.main_survey()
    if survey is None:
        return _no_survey(chart_id, title)
    rows = data.theme_summary[data.theme_summary["survey_id"] == survey]
    weighting = _weighting(rows)
    rows = rows[rows["weighting"] == weighting]
    areas = [*data.locality_ids(), data.council_code]
    themes = [t for t in data.theme_labels if t in set(rows["theme_id"])]
    table = rows.pivot_table(
        index="theme_id", columns="locality_id", values="mean_score", aggfunc="first"
    ).reindex(index=themes, columns=areas)
    z = table.to_numpy(dtype=float)
    text = [[f"{v:.1f}" if np.isfinite(v) else "*" for v in row] for row in z]
    figure = Figure(140 + 34 * len(themes))
    figure.add_trace(
        _trace(
            "heatmap",
            z=z,
            x=[plotly_text(data.locality_name(a)) for a in areas],
            y=[plotly_text(data.theme_label(t)) for t in themes],
            text=text,
            texttemplate="%{text}",
            colorscale="Cividis",
            zmin=1,
            zmax=7,
            colorbar={"title": {"text": "Mean score"}},
            hoverongaps=False,
            hovertemplate="%{y}, %{x}: %{z:.2f}<extra></extra>",
        )
    )
    figure.update_yaxes(autorange="reversed", automargin=True)
    figure.update_xaxes(side="top", automargin=True)
    figure.update_layout(margin={"l": 10, "r": 10, "t": 80, "b": 20})
    alt = (
        f"Heat map of mean Place Standard scores (1 to 7) for {len(themes)} themes in "
        f"{len(areas) - 1} localities and {data.council_name}; hidden cells show a star."
    )
    caption = (
        f"Survey {survey}, {weighting} estimates: 1 = a lot of room for improvement, "
        "7 = very little. '*' marks scores hidden by disclosure control."
    )
    return Chart(chart_id, title, caption, alt, figure)


def reach_by_locality(data: PackData) -> Chart:
    """Representation ratio of each locality (responses share / residents share)."""
    chart_id = "chart-reach-localities"
    title = "Who took part, by locality"
    survey = data.main_survey()
    if survey is None or data.reach.empty:
        return _no_survey(chart_id, title)
    rows = data.reach[
        (data.reach["survey_id"] == survey) & (data.reach["group_type"] == "locality")
    ].copy()
    rows["name"] = [data.locality_name(i) for i in rows["group_id"]]
    rows["ratio"] = pd.to_numeric(rows["representation_ratio"], errors="coerce")
    rows = rows.sort_values(["ratio", "name"], na_position="first")
    shown = rows[rows["ratio"].notna()]
    figure = Figure(140 + 40 * len(rows))
    under = shown["under_heard"].astype("boolean").fillna(False).astype(bool)
    figure.add_trace(
        _trace(
            "bar",
            y=[plotly_text(n) for n in shown["name"]],
            x=shown["ratio"],
            orientation="h",
            marker={
                "color": [OKABE_ITO["vermillion"] if u else OKABE_ITO["blue"] for u in under],
                "pattern": {"shape": ["x" if u else "" for u in under]},
            },
            error_x={
                "type": "data",
                "symmetric": False,
                "array": np.nan_to_num(
                    pd.to_numeric(shown["representation_upper_ci"], errors="coerce")
                    - shown["ratio"]
                ),
                "arrayminus": np.nan_to_num(
                    shown["ratio"]
                    - pd.to_numeric(shown["representation_lower_ci"], errors="coerce")
                ),
                "color": "#4d4d4d",
            },
            hovertemplate="%{y}: ratio %{x:.2f}<extra></extra>",
            showlegend=False,
        )
    )
    figure.add_vline(x=1, line={"color": "black", "dash": "dash", "width": 1})
    figure.update_xaxes(
        title={"text": "Share of responses ÷ share of residents (1 = fair share)"},
        gridcolor="#eeeeee",
        rangemode="tozero",
    )
    figure.update_yaxes(automargin=True)
    hidden = rows[rows["ratio"].isna()]["name"].tolist()
    alt = (
        f"Bar chart of the representation ratio of {len(shown)} localities; under-heard "
        f"localities (in vermillion, crossed): "
        + (", ".join(shown.loc[under.to_numpy(), "name"]) or "none")
        + "."
    )
    caption = (
        f"Survey {survey}. Bars below 1 mean fewer responses than the locality's share "
        "of residents; lines show 95% intervals."
        + (f" Hidden by disclosure control: {', '.join(hidden)}." if hidden else "")
    )
    return Chart(chart_id, title, caption, alt, figure)
