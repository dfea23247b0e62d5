"""Profile packs: workbooks, reports, tables and GeoPackage agree with the warehouse and are safe.

The pack is built once per module from the synthetic Demo City (`tests/export_fixtures.py`:
8 localities, 180 data zones with polygons, suppressed survey cells and quotes that try
formula injection). Rendering in a browser is `test_exports_browser.py`.
"""

from __future__ import annotations

import csv
import json
import math
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely

from profiles.exports import excel, html, tables
from profiles.exports.data import BNG, PRIORITY_COLUMNS, REACH_ALL_COLUMNS, load_pack_data
from profiles.exports.pack import (
    MANIFEST_NAME,
    DisclosureCheckError,
    PackManifest,
    build_council_packs,
    check_disclosure,
)
from profiles.exports.safety import (
    FORMULA_TRIGGERS,
    formula_mask,
    live_formula_cells,
    neutralise_for_csv,
    neutralise_frame_for_csv,
    safe_file_name,
    starts_like_formula,
    unique_file_names,
)
from tests.export_fixtures import (
    COUNCIL,
    INJECTION_QUOTES,
    SMALL_LOCALITY,
    make_pack_data,
    only_localities,
    without_voice,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def data():
    return make_pack_data()


@pytest.fixture(scope="module")
def pack(data, tmp_path_factory) -> PackManifest:
    return build_council_packs(data, tmp_path_factory.mktemp("packs"))


def _locality_workbook(pack: PackManifest, locality_id: str) -> Path:
    (path,) = [
        p
        for f, p in zip(pack.files, pack.paths(), strict=True)
        if f.kind == "xlsx" and f.locality_id == locality_id
    ]
    return path


def _sheet_records(sheet) -> list[dict[str, openpyxl.cell.Cell]]:
    """Data rows of a pack sheet as {header: cell}."""
    headers = [cell.value for cell in sheet[excel.HEADER_ROW]]
    return [
        dict(zip(headers, row, strict=False))
        for row in sheet.iter_rows(min_row=excel.FIRST_DATA_ROW)
    ]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


# --- The pack as a whole ---------------------------------------------------------------------


def test_pack_lists_every_file_with_its_sha256(pack: PackManifest, data) -> None:
    kinds = pd.Series([f.kind for f in pack.files]).value_counts().to_dict()
    n_tables = len(tables.mart_frames(data))
    assert kinds == {"html": 9, "xlsx": 9, "csv": n_tables, "parquet": n_tables, "gpkg": 1}
    on_disk = sorted(
        p.relative_to(pack.folder.parent).as_posix()
        for p in pack.folder.rglob("*")
        if p.is_file() and p.name != MANIFEST_NAME
    )
    assert on_disk == [f.path for f in pack.files]
    from profiles.provenance import sha256_file

    for item, path in zip(pack.files, pack.paths(), strict=True):
        assert sha256_file(path) == item.sha256
        assert path.stat().st_size == item.bytes
    saved = json.loads((pack.folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert saved["council_code"] == COUNCIL
    assert [f"{pack.folder.name}/{f['path']}" for f in saved["files"]] == on_disk
    assert {f.locality_id for f in pack.files if f.kind == "html"} == {*data.locality_ids(), None}


def test_rebuilding_gives_byte_identical_files(pack: PackManifest, data) -> None:
    # Rebuilt over the first build: the old pack is replaced, nothing is left behind, and
    # every file (GeoPackage included) has the same bytes.
    again = build_council_packs(data, pack.folder.parent)
    assert [(f.path, f.sha256) for f in again.files] == [(f.path, f.sha256) for f in pack.files]
    assert [p.name for p in pack.folder.parent.iterdir()] == [pack.folder.name]


def test_disclosure_check_refuses_a_visible_small_count(data) -> None:
    check_disclosure(data)  # the fixture is published as the warehouse would publish it
    voice = data.theme_summary.copy()
    visible = voice.index[voice["responses"].notna() & (voice["area_level"] == "locality")][0]
    voice.loc[visible, "responses"] = 3
    from dataclasses import replace

    with pytest.raises(DisclosureCheckError, match=r"theme_summary\.responses: 1 visible"):
        check_disclosure(replace(data, theme_summary=voice))
    quotes = data.theme_summary.copy()
    hidden = quotes.index[quotes["suppressed"]][0]
    quotes.loc[hidden, "quotes"] = json.dumps(["a quote from a suppressed cell"])
    with pytest.raises(DisclosureCheckError, match="quotes on a suppressed cell"):
        check_disclosure(replace(data, theme_summary=quotes))


# --- Workbooks -------------------------------------------------------------------------------


def test_every_workbook_cell_equals_its_source_frame(pack: PackManifest, data) -> None:
    """Generic read-back: every sheet, every cell, against the frame it was written from."""
    books = {
        f.locality_id: p for f, p in zip(pack.files, pack.paths(), strict=True) if f.kind == "xlsx"
    }
    checked = 0
    for locality_id, path in books.items():
        sheets = (
            excel.overview_sheets(data)
            if locality_id is None
            else excel.locality_sheets(data, locality_id)
        )
        book = openpyxl.load_workbook(path)
        assert book.sheetnames == [s.spec.title for s in sheets] + ["Notes and sources"]
        for sheet in sheets:
            target = book[sheet.spec.title]
            assert [c.value for c in target[excel.HEADER_ROW]] == [
                c.header for c in sheet.spec.columns
            ]
            rows = list(target.iter_rows(min_row=excel.FIRST_DATA_ROW))
            assert len(rows) == len(sheet.frame)
            for record, row in zip(sheet.frame.to_dict("records"), rows, strict=True):
                for column, cell in zip(sheet.spec.columns, row, strict=False):
                    expected = record[column.name]
                    if _missing(expected):
                        assert cell.value in (None, "*"), (sheet.spec.title, column.name)
                    elif isinstance(expected, (bool, np.bool_)):
                        assert cell.value is bool(expected)
                    elif isinstance(expected, (int, float, np.number)):
                        assert cell.value == expected, (sheet.spec.title, column.name)
                        assert isinstance(cell.value, (int, float))
                    else:
                        assert cell.value == (str(expected) or None)
                    checked += 1
    assert checked > 50_000


def test_workbook_values_are_the_warehouse_values(pack: PackManifest, data) -> None:
    """Independent of the sheet builders: cells found by key in the marts themselves."""
    book = openpyxl.load_workbook(_locality_workbook(pack, "northfield"))
    profile = data.profile.set_index(["locality_id", "vintage", "measure_id"])
    records = _sheet_records(book["Indicators"])
    assert len(records) == int(
        (
            (data.profile["locality_id"] == "northfield")
            & ~data.profile["measure_id"].str.startswith("simd_")
        ).sum()
    )
    for record in records:
        row = profile.loc[
            ("northfield", record["SIMD vintage"].value, record["Indicator id"].value)
        ]
        for header, column in (
            ("Value", "value"),
            ("Lower 95% limit", "lower_ci"),
            ("Upper 95% limit", "upper_ci"),
            ("Numerator", "numerator"),
            ("Scotland value", "scotland_value"),
        ):
            if _missing(row[column]):
                assert record[header].value is None
            else:
                assert record[header].value == row[column]  # exact, not rounded
        assert record["Compared with Scotland"].value == row["vs_scotland"]

    summary = data.summary[data.summary["locality_id"] == "northfield"].set_index("vintage")
    for record in _sheet_records(book["Summary"]):
        column = record["Column in locality_summary"].value
        vintage = record["SIMD vintage"].value
        for header, name in (
            ("Locality value", column),
            ("Council value", f"{column}_council"),
            ("Scotland value", f"{column}_scotland"),
        ):
            expected = summary.loc[vintage, name]
            assert record[header].value == (None if _missing(expected) else expected)

    voice = data.theme_summary.set_index(["locality_id", "theme_id", "weighting"])
    rows = _sheet_records(book["Community voice"])
    assert len(rows) == 2 * 2 * 14  # locality and council, two weightings, 14 themes
    for record in rows:
        key = (record["Locality id"].value, record["Theme id"].value, record["Weighting"].value)
        source = voice.loc[key]
        assert record["Mean score"].value == source["mean_score"]
        assert record["Responses"].value == source["responses"]
        shown = [record[f"Quote {k}"].value for k in (1, 2, 3)]
        if source["suppressed"]:
            assert shown == ["*", None, None]
        else:
            quotes = json.loads(source["quotes"])
            assert shown == quotes + [None] * (3 - len(quotes))

    priorities = data.priorities[data.priorities["locality_id"] == "northfield"]
    sheet = _sheet_records(book["Priorities"])
    assert [r["Theme id"].value for r in sheet] == list(priorities["priority_theme"])
    assert [r["Priority score"].value for r in sheet] == list(priorities["priority_score"])
    assert [r["Evidence (JSON)"].value for r in sheet] == list(priorities["evidence"])


def test_workbook_is_formatted_for_reading(pack: PackManifest) -> None:
    book = openpyxl.load_workbook(_locality_workbook(pack, SMALL_LOCALITY))
    indicators = book["Indicators"]
    assert indicators.freeze_panes == "F4"
    assert all(cell.font.bold for cell in indicators[excel.HEADER_ROW])
    # Stored as Excel does: 50 characters plus the cell's padding.
    assert 50 <= indicators.column_dimensions["D"].width < 51
    assert indicators.auto_filter.ref.startswith("A3:")
    formats = {}
    for record in _sheet_records(indicators):
        if record["Value"].value is not None and record["Value"].value != "*":
            formats[record["Unit"].value] = record["Value"].number_format
    assert formats["proportion"] == "0.0%"
    assert formats["count"] == "#,##0"
    assert formats["rate_per_10000"] == "#,##0.0"

    summary = {
        r["Column in locality_summary"].value: r["Locality value"]
        for r in _sheet_records(book["Summary"])
    }
    assert summary["population"].number_format == "#,##0"  # a count, whatever the mart says
    assert summary["local_share_most_deprived_20"].number_format == "0.0%"

    # The small locality's survey counts are hidden: '*' with a note saying why.
    voice = [
        r
        for r in _sheet_records(book["Community voice"])
        if r["Locality id"].value == SMALL_LOCALITY
    ]
    assert voice and all(r["Responses"].value == "*" for r in voice)
    assert all(r["Responses"].comment is not None for r in voice)
    assert "disclosure control" in voice[0]["Responses"].comment.text
    assert all(r["Mean score"].value == "*" and r["Quote 1"].value == "*" for r in voice)
    hidden_indicator = [r for r in _sheet_records(indicators) if r["Suppressed"].value is True]
    assert hidden_indicator and all(r["Value"].value == "*" for r in hidden_indicator)

    notes = book["Notes and sources"]
    texts = [row[0] for row in notes.iter_rows(values_only=True) if row[0]]
    assert any("areas, not people" in t for t in texts)
    assert any("only as shares" in t for t in texts)
    header = texts.index("Kind")
    assert texts[header + 1 :] == ["simd", "simd", "dz_lookup", "boundary_dz"]
    properties = book.properties
    assert properties.created == properties.modified


def test_formula_injection_arrives_as_inert_text(pack: PackManifest, data) -> None:
    path = _locality_workbook(pack, "northfield")
    book = openpyxl.load_workbook(path)
    voice = _sheet_records(book["Community voice"])
    (row,) = [
        r
        for r in voice
        if r["Locality id"].value == "northfield"
        and r["Theme id"].value == "feeling_safe"
        and r["Weighting"].value == "weighted"
    ]
    cells = [row["Quote 1"], row["Quote 2"], row["Quote 3"]]
    assert [c.value for c in cells] == list(INJECTION_QUOTES)
    for cell in cells:
        assert cell.data_type == "s"
        assert cell.quotePrefix
    evidence = [
        r["Evidence"]
        for r in _sheet_records(book["Priorities"])
        if "HYPERLINK" in str(r["Evidence"].value)
    ]
    assert evidence and evidence[0].data_type == "s" and evidence[0].quotePrefix
    # No formula anywhere in any workbook of the pack.
    for workbook in pack.paths("xlsx"):
        with zipfile.ZipFile(workbook) as archive:
            for name in archive.namelist():
                if name.startswith("xl/worksheets/"):
                    assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name)

    # CSV: any text cell that could run starts with an apostrophe (numbers such as -0.5 are
    # numbers, not formulas); Parquet keeps the text exact.
    folder = pack.folder / "data"
    for csv_path in folder.glob("*.csv"):
        with csv_path.open(encoding="utf-8", newline="") as handle:
            for record in csv.reader(handle):
                for cell in record:
                    assert not starts_like_formula(cell) or _is_number(cell), csv_path.name
    quotes = pd.read_parquet(folder / "voice_theme_summary.parquet")["quotes"].dropna()
    assert any(INJECTION_QUOTES[0] in json.loads(text) for text in quotes)

    # HTML: escaped text, never markup.
    report = next(
        p
        for f, p in zip(pack.files, pack.paths(), strict=True)
        if f.kind == "html" and f.locality_id == "northfield"
    ).read_text("utf-8")
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;click&#34;)" in report
    assert '<a href="http://x"' not in report


def test_neutralising_text_for_spreadsheets() -> None:
    for text in ("=1+1", "+44 1382 000000", "-2+3", "@SUM(A1)", "\tx", "\rx", "  =x", "＝x"):
        assert starts_like_formula(text)
        assert neutralise_for_csv(text) == "'" + text
    for value in ("Lochee", "1+1", "", None, 3.5, "e=mc2"):
        assert not starts_like_formula(value)
        assert neutralise_for_csv(value) == value


# --- File names ------------------------------------------------------------------------------


def test_safe_file_names() -> None:
    assert safe_file_name("../../etc") == "etc"
    assert safe_file_name("A/B: C*?") == "a-b-c"
    assert safe_file_name("Lochee Ëast & Broughty Ferry") == "lochee-east-broughty-ferry"
    assert safe_file_name("..", fallback="locality") == "locality"
    assert safe_file_name("CON") == "con-file"
    assert safe_file_name("x" * 200) == "x" * 60
    assert unique_file_names(["A/B", "a b", "A-B"]) == ["a-b", "a-b-2", "a-b-3"]


def test_hostile_locality_names_stay_inside_the_pack(tmp_path: Path) -> None:
    hostile = only_localities(
        make_pack_data(hostile_names=True), ["eastmuir", "westgate", "southbank"]
    )
    out = tmp_path / "packs"
    manifest = build_council_packs(hostile, out)
    for item, path in zip(manifest.files, manifest.paths(), strict=True):
        assert out.resolve() in path.resolve().parents
        pattern = r"[a-z0-9-]+\.(html|xlsx)" if item.locality_id else r"[a-z0-9_-]+\.[a-z]+"
        assert re.fullmatch(pattern, path.name), path.name
    names = {f.locality_id: Path(f.path).name for f in manifest.files if f.kind == "html"}
    assert names["eastmuir"] == "etc.html"
    assert names["westgate"] == "a-b-c.html"
    assert names["southbank"] == "sum-1-1-cmd-c-calc-a0.html"
    # A name that is a formula is inert everywhere: apostrophe in CSV, text in Excel.
    localities = pd.read_csv(manifest.folder / "data" / "dim_locality.csv")
    assert "'=SUM(1+1)*cmd|' /C calc'!A0" in set(localities["locality_name"])
    side = openpyxl.load_workbook(manifest.folder / "overview.xlsx")["Side by side"]
    (cell,) = [c for c in side[excel.HEADER_ROW] if str(c.value).startswith("=SUM")]
    assert cell.data_type == "s" and cell.quotePrefix
    assert sorted(p.name for p in tmp_path.iterdir()) == ["packs"]
    report = (out / manifest.files[0].path).parent
    text = (manifest.folder / "localities" / "a-b-c.html").read_text("utf-8")
    assert "<h1>A/B: C*?</h1>" in text
    assert report.exists()


# --- HTML --------------------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.charts: list[dict[str, str]] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href", "data", "action", "poster"):
            if values.get(name):
                self.urls.append(values[name] or "")
        if "data-chart" in values:
            self.charts.append({k: v or "" for k, v in values.items()})
        if tag == "script":
            self.scripts += 1


def test_html_reports_are_self_contained(pack: PackManifest) -> None:
    reports = {
        f.locality_id: p for f, p in zip(pack.files, pack.paths(), strict=True) if f.kind == "html"
    }
    for locality_id, path in reports.items():
        text = path.read_text(encoding="utf-8")
        parser = _Links()
        parser.feed(text)
        remote = [u for u in parser.urls if re.match(r"^\s*(https?:)?//", u, re.IGNORECASE)]
        assert remote == [], path.name
        assert text.count("plotly.js v") == 1  # plotly.js embedded exactly once
        assert parser.scripts == 2
        expected = html.OVERVIEW_CHARTS if locality_id is None else html.LOCALITY_CHARTS
        assert [c["data-chart"] for c in parser.charts] == list(expected)
        for chart in parser.charts:
            assert chart["role"] == "img" and len(chart["aria-label"]) > 40
        assert text.count("<figcaption>") == len(expected)
    overview = reports[None].read_text(encoding="utf-8")
    assert 'href="localities/northfield.html"' in overview


def test_reports_say_so_when_there_is_no_survey(data, tmp_path: Path) -> None:
    quiet = without_voice(data)
    report = html.locality_report(quiet, "northfield").text()
    assert "No community survey has been loaded for this council yet." in report
    assert "No priority ranking has been computed for this locality yet." in report
    assert 'data-chart="chart-compass"' not in report
    assert 'data-chart="chart-map"' in report
    overview = html.overview_report(quiet, {}).text()
    assert 'data-chart="chart-voice-heatmap"' not in overview
    book = openpyxl.load_workbook(
        excel.write_locality_workbook(quiet, "northfield", tmp_path / "northfield.xlsx")
    )
    assert book["Community voice"].max_row == excel.HEADER_ROW
    assert book["Priorities"].max_row == excel.HEADER_ROW


def test_evidence_is_read_into_labels_and_quotes(data) -> None:
    from profiles.exports.data import evidence_parts

    (text,) = data.priorities.loc[
        (data.priorities["locality_id"] == "northfield") & (data.priorities["rank"] == 1),
        "evidence",
    ]
    cell = json.loads(text)["voice_theme_summary"][0]
    items, quotes = evidence_parts(text, data)
    assert items == [
        ("Data", "Share of people who are income deprived: 21.0% (Scotland 19.0%), SIMD 2020v2"),
        (
            "Data",
            "Standardised mortality ratio: 118.0 (Scotland 105.5), SIMD 2020v2 "
            "[dropped no interval]",
        ),
        (
            "Survey",
            f"{data.theme_label(cell['theme_id'])}: mean score {cell['mean_score']:.2f}, "
            f"mentioned by {cell['mention_share']:.1%}",
        ),
        ("Strategy", "Safer communities (fit 1)"),
        ("Comments on this theme", "2"),
    ]
    assert quotes == list(INJECTION_QUOTES[:2])  # quote text only, never response ids

    items, quotes = evidence_parts(
        json.dumps(
            {
                "need": {"worse_than_scotland": 2, "measures": ["smr", "income_rate"]},
                "quotes": ["=1+1", "fine"],
                "score": 0.123456,
            }
        )
    )
    assert items == [
        ("Need · worse than scotland", "2"),
        ("Need · measures", "smr, income_rate"),
        ("Score", "0.123"),
    ]
    assert quotes == ["=1+1", "fine"]
    assert evidence_parts("not json") == ([("Evidence", "not json")], [])
    assert evidence_parts(None) == ([], [])


# --- Tables and GeoPackage --------------------------------------------------------------------


def test_csv_and_parquet_round_trip(pack: PackManifest, data) -> None:
    folder = pack.folder / "data"
    for name, frame in tables.mart_frames(data).items():
        parquet = pd.read_parquet(folder / f"{name}.parquet")
        pd.testing.assert_frame_equal(parquet, frame.reset_index(drop=True), check_dtype=False)
        text = pd.read_csv(folder / f"{name}.csv", keep_default_na=False, na_values=[""], dtype=str)
        expected = frame.drop(columns=[tables.GEOMETRY_COLUMN], errors="ignore")
        assert list(text.columns) == list(expected.columns)
        assert len(text) == len(expected)
        for column in expected.columns:
            values = expected[column]
            if pd.api.types.is_float_dtype(values):
                read = text[column].map(float, na_action="ignore").astype(float)
                assert np.array_equal(read.to_numpy(), values.to_numpy(), equal_nan=True), column
    wkb = pd.read_parquet(folder / "geo_datazone.parquet")[tables.GEOMETRY_COLUMN]
    assert shapely.equals(shapely.from_wkb(wkb), data.geo_datazone.geometry.to_numpy()).all()


def test_geopackage_layers_carry_the_profile(pack: PackManifest, data) -> None:
    path = pack.folder / "geography.gpkg"
    assert [name for name, _ in pyogrio.list_layers(path)] == ["data_zones", "localities", "wards"]
    zones = gpd.read_file(path, layer="data_zones")
    localities = gpd.read_file(path, layer="localities")
    wards = gpd.read_file(path, layer="wards")
    assert zones.crs.to_epsg() == BNG and localities.crs.to_epsg() == BNG
    assert (len(zones), len(localities), len(wards)) == (180, 8, 8)
    deciles = data.simd[(data.simd["domain"] == "overall") & (data.simd["vintage"] == "2020v2")]
    expected = deciles.set_index("dz_code")["decile"]
    assert (
        zones.set_index("dz_code")["simd_2020v2_decile"] == expected.reindex(zones["dz_code"])
    ).all()
    assert set(zones["locality_id"]) == set(data.locality_ids())
    summary = data.summary[
        (data.summary["area_level"] == "locality") & (data.summary["vintage"] == "2020v2")
    ].set_index("locality_id")
    layer = localities.set_index("locality_id")
    assert (layer["income_deprived"] == summary["income_deprived"].reindex(layer.index)).all()
    assert (layer["dz_count"] == data.localities.set_index("locality_id")["dz_count"]).all()
    # Locality outlines cover exactly their data zones.
    area = zones.dissolve("locality_id").area.sort_index()
    assert np.allclose(layer.area.sort_index(), area, rtol=1e-9)


# --- Loading from the warehouse ---------------------------------------------------------------


def test_load_pack_data_reads_the_marts_and_tolerates_missing_voice(data, tmp_path) -> None:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE SCHEMA raw")
        for table, frame in {
            "dim_locality": data.localities,
            "bridge_dz_locality": data.bridge,
            "dim_datazone": data.datazones,
            "fct_simd": data.simd,
            "locality_profile": data.profile,
            "locality_summary": data.summary,
            "locality_most_deprived_dz": data.most_deprived,
            "locality_inequality": data.inequality,
            "dim_council": pd.DataFrame({"council_code": [COUNCIL], "council_name": ["Demo City"]}),
            "geo_datazone": tables.mart_frames(data)["geo_datazone"],
        }.items():
            con.register("incoming", frame)
            con.execute(f"CREATE TABLE marts.{table} AS SELECT * FROM incoming")
            con.unregister("incoming")
        loaded = load_pack_data(con, COUNCIL)
    finally:
        con.close()
    assert loaded.council_name == "Demo City"
    assert len(loaded.profile) == len(data.profile)
    assert loaded.theme_summary.empty and loaded.priorities.empty and loaded.reach.empty
    assert tuple(loaded.priorities.columns) == PRIORITY_COLUMNS
    assert tuple(loaded.reach.columns) == REACH_ALL_COLUMNS
    assert loaded.geo_ward.empty and len(loaded.geo_datazone) == 180
    assert loaded.geo_datazone.crs.to_epsg() == BNG
    assert loaded.headline == data.headline
    assert loaded.locality_ids() == data.locality_ids()


def test_for_locality_keeps_the_council_comparators(data) -> None:
    one = data.for_locality("northfield")
    assert one.locality_id == "northfield"
    assert set(one.profile["locality_id"]) == {"northfield", COUNCIL}
    assert (
        set(one.bridge["dz_code"])
        == set(one.datazones["dz_code"])
        == set(one.geo_datazone["dz_code"])
    )
    assert set(one.reach.loc[one.reach["group_type"] == "locality", "group_id"]) == {"northfield"}
    assert len(one.reach[one.reach["group_type"] == "simd_quintile"]) == 5
    with pytest.raises(KeyError):
        data.for_locality("nowhere")


def test_formula_mask_agrees_with_the_cell_rule() -> None:
    cells = ["=1", " +a", "  -3", "@x", "\tq", "\rr", "\nn", "＝", " ", "", "abc", " a", "a=b"]
    cells += [None, 1.5, 3, float("nan"), "－x", "  "]
    for series in (
        pd.Series(cells, dtype=object),
        pd.Series([1, 2, None], dtype=object),  # no text: pandas refuses .str
        pd.Series(["-1", "=a", None], dtype="string"),
        pd.Series([], dtype=object),
    ):
        assert formula_mask(series).tolist() == [starts_like_formula(v) for v in series.tolist()]
    # Random short texts over spaces, every trigger, letters, digits and look-alikes.
    rng = np.random.default_rng(5)
    alphabet = [" ", " ", "a", "1", "'", "\u00a0", "\u3000", "é", *FORMULA_TRIGGERS]
    texts = ["".join(rng.choice(alphabet, size=rng.integers(0, 5))) for _ in range(20_000)]
    fuzzed = pd.Series(texts, dtype=object)
    assert formula_mask(fuzzed).tolist() == [starts_like_formula(v) for v in texts]


def test_every_chart_passes_plotlys_schema(data) -> None:
    """Charts are built as plain JSON for speed; plotly's validators still check every
    property name and value (a typo such as `fillcolour` would raise here)."""
    import plotly.graph_objects as go

    built = [c for i in data.locality_ids() for c in html.locality_charts(data, i)]
    built += html.overview_charts(data)
    drawn = [chart for chart in built if chart.figure is not None]
    assert {c.chart_id for c in drawn} == set(html.LOCALITY_CHARTS) | set(html.OVERVIEW_CHARTS)
    for chart in drawn:
        spec = chart.figure.to_plotly_json()
        assert spec["data"], chart.chart_id
        go.Figure(spec)  # raises ValueError on any property plotly does not know


def test_reference_lines_are_plotlys_own() -> None:
    import plotly.graph_objects as go

    from profiles.exports.charts import Figure

    ours = Figure(300)
    ours.add_vline(x=100, line={"color": "black", "dash": "dash"})
    ours.add_hline(y=2.5, line={"width": 1})
    ours.update_xaxes(title={"text": "x"}, type="log")
    ours.update_xaxes(title={"font": {"size": 9}})
    theirs = go.Figure(layout={"height": 300})
    theirs.add_vline(x=100, line={"color": "black", "dash": "dash"})
    theirs.add_hline(y=2.5, line={"width": 1})
    theirs.update_xaxes(title={"text": "x"}, type="log")
    theirs.update_xaxes(title={"font": {"size": 9}})
    layout = go.Figure(ours.to_plotly_json()).to_plotly_json()["layout"]
    expected = theirs.to_plotly_json()["layout"]
    assert layout["shapes"] == expected["shapes"]
    assert layout["xaxis"] == expected["xaxis"]


def test_priority_rows_are_labelled_once_and_handed_out_as_copies(data) -> None:
    locality = data.locality_ids()[0]
    first = data.priority_rows(locality)
    assert len(first) and (first["locality_id"] == locality).all()
    assert first["rank"].is_monotonic_increasing and list(first.index) == list(range(len(first)))
    first["theme"] = "changed by a caller"
    again = data.priority_rows(locality)
    assert (again["theme"] != "changed by a caller").all()
    whole = data.priority_rows()
    assert len(whole) == len(data.priorities)
    assert data.priority_rows("no-such-locality").empty


def test_live_formula_cells_finds_what_a_spreadsheet_would_run(tmp_path: Path) -> None:
    rows = [
        ["comment", "value", "note"],
        ['=HYPERLINK("http://x","click")', "-0.5", ""],
        ["'=neutralised", "-1e-3", "  @SUM(A1)"],
        ["multi\nline", "+3", "\n=cmd on a second line"],
        ["fine", "-", "－x"],
        ["", "12", "ok"],
    ]
    path = tmp_path / "hostile.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    assert live_formula_cells(path) == {"comment": 1, "value": 1, "note": 3}
    # The same answer as reading with pandas and testing cell by cell.
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    expected = {}
    for column in frame.columns:
        cells = [v for v in frame[column] if starts_like_formula(v)]
        risky = [v for v in cells if pd.isna(pd.to_numeric(v, errors="coerce"))]
        if risky:
            expected[column] = len(risky)
    assert live_formula_cells(path) == expected
    safe = tmp_path / "safe.csv"
    neutralise_frame_for_csv(frame).to_csv(safe, index=False, lineterminator="\n")
    assert live_formula_cells(safe) == {}


def test_report_content_cannot_take_the_place_of_plotly_js(data, tmp_path) -> None:
    """plotly.js is put into the rendered page at a marker; content that spells the marker
    is escaped like any text, so the library still goes in once, where the template says."""
    from dataclasses import replace

    marker = html._PLOTLY_JS_SLOT
    localities = data.localities.copy()
    localities.loc[localities["locality_id"] == "northfield", "locality_name"] = marker
    page = html.locality_report(
        replace(data, localities=localities), "northfield", workbook_href="northfield.xlsx"
    )
    text = page.text()
    # Written as bytes with plotly.js encoded once: the same document as the text.
    assert page.write(tmp_path / "report.html").read_bytes() == text.encode("utf-8")
    assert marker not in text
    assert "&lt;plotly.js&gt;" in text
    assert text.count("plotly.js v") == 1
    library = text.index("plotly.js v")
    assert text.rfind("<script>", 0, library) > text.index("&lt;plotly.js&gt;")
