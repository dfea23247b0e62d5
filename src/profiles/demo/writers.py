"""Writing the demo in each published format, byte for byte in the publishers' style.

What belongs here: one writer per file kind, each reproducing the real file's header,
column order, number formats, quoting, line endings and encoding (see the real files'
MANIFEST): R-style quoting in the SIMD 2020v2 table and the NSPL (text quoted, numbers
bare), minimal quoting elsewhere, CRLF in the SIMD 2016 table and the lookup, cp1252 in
the lookup, GDAL's GeoJSON layout. Writers take already-generated numbers and make no
random choices; they return the number of data rows written.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import Transformer

from profiles.demo.geography import (
    SCOTLAND,
    UR2_NAMES,
    UR3_NAMES,
    UR3_TO_UR2,
    UR6_NAMES,
    UR6_TO_UR3,
    UR8_NAMES,
    UR8_TO_UR6,
    DemoGeography,
)
from profiles.demo.simd import DemoStatistics, SimdVintage

STATSGOV_DATASET: Final = "population-estimates-current-geographic-boundaries"
STATSGOV_ROOT: Final = "http://statistics.gov.scot"
STATSGOV_TITLE: Final = "Population Estimates (Current Geographic Boundaries)"
NOT_APPLICABLE: Final = "S99999999"  # ONS pseudo-code for "not applicable in Scotland"

Formatter = Callable[[float], str]


# --- cell formats ---------------------------------------------------------------------------


def _half_up(value: float) -> int:
    return math.floor(value + 0.5)


def percent(fraction: float) -> str:
    """'8%': a fraction as a whole percentage (Excel rounds halves up)."""
    return f"{_half_up(100.0 * fraction)}%"


def whole(value: float) -> str:
    return str(_half_up(value))


def nearest_five(value: float) -> str:
    return str(5 * _half_up(value / 5.0))


def with_thousands(value: float) -> str:
    return f"{_half_up(value):,}"


def rank_text(rank: float) -> str:
    """'4563' or, for a tie, '4563.5'."""
    return str(int(rank)) if float(rank).is_integer() else f"{rank:.1f}"


def ten_significant(value: float) -> str:
    """Excel's General format: up to 10 significant digits ('2.540103211')."""
    return f"{value:.10g}"


def decimals(places: int) -> Formatter:
    """Fixed decimals with trailing zeros dropped ('6.2', '6')."""

    def render(value: float) -> str:
        text = f"{value:.{places}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text

    return render


def _minimal(cell: str) -> str:
    """CSV minimal quoting: quote only cells holding a comma, quote or line break."""
    if "," in cell or '"' in cell or "\n" in cell or "\r" in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


def _write_lines(path: Path, lines: Iterable[str], *, newline: str, encoding: str) -> None:
    text = newline.join(lines) + newline
    path.write_bytes(text.encode(encoding))


# --- SIMD with indicators ---------------------------------------------------------------------

# (header, value column, format, printed as text?) — text cells are quoted in the R style.
_SIMD2020_INDICATORS: Final[tuple[tuple[str, str, Formatter, bool], ...]] = (
    ("income_rate", "income_rate", percent, True),
    ("income_count", "income_count", whole, False),
    ("employment_rate", "employment_rate", percent, True),
    ("employment_count", "employment_count", whole, False),
    ("CIF", "CIF", whole, False),
    ("ALCOHOL", "ALCOHOL", whole, False),
    ("DRUG", "DRUG", whole, False),
    ("SMR", "SMR", whole, False),
    ("DEPRESS", "DEPRESS", percent, True),
    ("LBWT", "LBWT", percent, True),
    ("EMERG", "EMERG", whole, False),
    ("Attendance", "Attendance", percent, True),
    ("Attainment", "Attainment", decimals(2), False),
    ("no_qualifications", "no_qualifications", whole, False),
    ("not_participating", "not_participating", percent, True),
    ("University", "University", percent, True),
    ("crime_count", "crime_count", whole, False),
    ("crime_rate", "crime_rate", whole, False),
    ("overcrowded_count", "overcrowded_count", whole, False),
    ("nocentralheating_count", "nocentralheating_count", whole, False),
    ("overcrowded_rate", "overcrowded_rate", percent, True),
    ("nocentralheating_rate", "nocentralheating_rate", percent, True),
    ("drive_petrol", "drive_petrol", ten_significant, False),
    ("drive_GP", "drive_GP", ten_significant, False),
    ("drive_post", "drive_post", ten_significant, False),
    ("drive_primary", "drive_primary", ten_significant, False),
    ("drive_retail", "drive_retail", ten_significant, False),
    ("drive_secondary", "drive_secondary", ten_significant, False),
    ("PT_GP", "PT_GP", ten_significant, False),
    ("PT_post", "PT_post", ten_significant, False),
    ("PT_retail", "PT_retail", ten_significant, False),
    ("broadband", "broadband", percent, True),
)
_SIMD2020_HEAD: Final[tuple[str, ...]] = (
    "Data_Zone",
    "Intermediate_Zone",
    "Council_area",
    "Total_population",
    "Working_Age_population",
    "SIMD2020v2_Rank",
    "SIMD_2020v2_Percentile",
    "SIMD2020v2_Vigintile",
    "SIMD2020v2_Decile",
    "SIMD2020v2_Quintile",
    "SIMD2020v2_Income_Domain_Rank",
    "SIMD2020_Employment_Domain_Rank",
    "SIMD2020_Health_Domain_Rank",
    "SIMD2020_Education_Domain_Rank",
    "SIMD2020_Access_Domain_Rank",
    "SIMD2020_Crime_Domain_Rank",
    "SIMD2020_Housing_Domain_Rank",
)
SIMD2020_HEADER: Final = (*_SIMD2020_HEAD, *(spec[0] for spec in _SIMD2020_INDICATORS))

_SIMD2016_INDICATORS: Final[tuple[tuple[str, str, Formatter], ...]] = (
    ("Income_rate", "income_rate", percent),
    ("Income_count", "income_count", nearest_five),
    ("Employment_rate", "employment_rate", percent),
    ("Employment_count", "employment_count", nearest_five),
    ("CIF", "CIF", whole),
    ("ALCOHOL", "ALCOHOL", with_thousands),
    ("DRUG", "DRUG", whole),
    ("SMR", "SMR", whole),
    ("DEPRESS", "DEPRESS", percent),
    ("LBWT", "LBWT", percent),
    ("EMERG", "EMERG", whole),
    ("Attendance", "Attendance", percent),
    ("Attainment", "Attainment", decimals(1)),
    ("Noquals", "no_qualifications", whole),
    ("NEET", "not_participating", percent),
    ("HESA", "University", percent),
    ("drive_petrol", "drive_petrol", decimals(1)),
    ("drive_GP", "drive_GP", decimals(1)),
    ("drive_PO", "drive_post", decimals(1)),
    ("drive_primary", "drive_primary", decimals(1)),
    ("drive_retail", "drive_retail", decimals(1)),
    ("drive_secondary", "drive_secondary", decimals(1)),
    ("PT_GP", "PT_GP", decimals(1)),
    ("PT_Post", "PT_post", decimals(1)),
    ("PT_retail", "PT_retail", decimals(1)),
    ("crime_rate", "crime_rate", whole),
    ("overcrowded_count", "overcrowded_count", whole),
    ("nocentralheat_count", "nocentralheating_count", whole),
    ("overcrowded_rate", "overcrowded_rate", percent),
    ("nocentralheat_rate", "nocentralheating_rate", percent),
)
_SIMD2016_HEAD: Final[tuple[str, ...]] = (
    "Data_Zone",
    "Intermediate_Zone",
    "Council_area",
    "Total_population",
    "Working_age_population_Revised",
    "Overal_SIMD16_Rank",
    "SIMD_2016_Percentile",
    "SIMD_2016_Vigintile",
    "SIMD_2016_Decile",
    "SIMD_2016_Quintile",
    "Income_Domain_2016_Rank",
    "Employment_Domain_2016_Rank",
    "Health_Domain_2016_Rank",
    "Education_Domain_2016_Rank",
    "Geographic_Access_Domain_2016_Rank",
    "Crime_Domain_2016_Rank",
    "Housing_Domain_2016_Rank",
)
SIMD2016_HEADER: Final = (*_SIMD2016_HEAD, *(spec[0] for spec in _SIMD2016_INDICATORS))

_RANK_COLUMNS: Final = (
    "rank_income",
    "rank_employment",
    "rank_health",
    "rank_education",
    "rank_access",
    "rank_crime",
    "rank_housing",
)


def _identity_columns(geo: DemoGeography, vintage: SimdVintage) -> list[list[str]]:
    values = vintage.values
    councils = geo.councils.set_index("council_code")["council_name"]
    columns = [
        geo.dzs["dz_code"].tolist(),
        geo.dzs["iz_name"].tolist(),
        geo.dzs["council_code"].map(councils).tolist(),
        [whole(v) for v in values["population"]],
        [whole(v) for v in values["working_age"]],
        [whole(v) for v in values["rank_overall"]],
        *(
            [whole(v) for v in values[band]]
            for band in ("percentile", "vigintile", "decile", "quintile")
        ),
        *([rank_text(v) for v in values[column]] for column in _RANK_COLUMNS),
    ]
    return columns


def _indicator_cells(
    vintage: SimdVintage, column: str, render: Formatter, *, text: bool, r_style: bool
) -> list[str]:
    cells = []
    for value, marker in zip(vintage.values[column], vintage.markers[column], strict=True):
        if marker is None:
            cell = render(value)
            cells.append(_quoted(cell) if (r_style and text) else cell)
        elif marker == "":
            cells.append("")
        else:
            cells.append(_quoted(marker) if r_style else marker)
    return cells


def write_simd2020(path: Path, geo: DemoGeography, stats: DemoStatistics) -> int:
    """`simd2020v2_withinds.csv`: 49 columns, header and text cells quoted, numbers bare
    (R's write.csv), empty cells bare, LF, UTF-8."""
    vintage = stats.vintages["2020v2"]
    identity = _identity_columns(geo, vintage)
    identity[0] = [_quoted(cell) for cell in identity[0]]
    identity[1] = [_quoted(cell) for cell in identity[1]]
    identity[2] = [_quoted(cell) for cell in identity[2]]
    indicators = [
        _indicator_cells(vintage, column, render, text=text, r_style=True)
        for _, column, render, text in _SIMD2020_INDICATORS
    ]
    header = ",".join(_quoted(name) for name in SIMD2020_HEADER)
    rows = (",".join(cells) for cells in zip(*identity, *indicators, strict=True))
    _write_lines(path, [header, *rows], newline="\n", encoding="utf-8")
    return geo.n_dz


def write_simd2016(path: Path, geo: DemoGeography, stats: DemoStatistics) -> int:
    """`simd2016_withinds.csv`: 47 columns, minimal quoting, CRLF; names with underscores
    for spaces ('Demo_City'); ALCOHOL over 999 printed with a thousands separator."""
    vintage = stats.vintages["2016"]
    identity = _identity_columns(geo, vintage)
    identity[1] = [_minimal(name.replace(" ", "_")) for name in identity[1]]
    identity[2] = [_minimal(name.replace(" ", "_")) for name in identity[2]]
    indicators = [
        _indicator_cells(vintage, column, render, text=True, r_style=False)
        for _, column, render in _SIMD2016_INDICATORS
    ]
    # only the thousands separator ("1,234") can put a comma into an indicator cell
    alcohol = [spec[0] for spec in _SIMD2016_INDICATORS].index("ALCOHOL")
    indicators[alcohol] = [_minimal(cell) for cell in indicators[alcohol]]
    rows = (",".join(cells) for cells in zip(*identity, *indicators, strict=True))
    _write_lines(path, [",".join(SIMD2016_HEADER), *rows], newline="\r\n", encoding="utf-8")
    return geo.n_dz


# --- data zone lookup -------------------------------------------------------------------------

LOOKUP_HEADER: Final = [
    "DZ2011_Code",
    "DZ2011_Name",
    "IZ2011_Code",
    "IZ2011_Name",
    "MMWard_Code",
    "MMWard_Name",
    "LA_Code",
    "LA_Name",
    "SPC_Code",
    "SPC_Name",
    "UKPC_Code",
    "UKPC_Name",
    "HB_Code",
    "HB_Name",
    "HIA_Code",
    "HIA_Name",
    "SPD_Code",
    "SPD_Name",
    "SFRLSO_Code",
    "SFRLSO_Name",
    "SFRSDA_Code",
    "SFRSDA_Name",
    "RRP_Code",
    "RRP_Name",
    "LRP_Code",
    "LRP_Name",
    "TTWA2011_Code",
    "TTWA2011_Name",
    "UR2_Code",
    "UR2_Name",
    "UR3_Code",
    "UR3_Name",
    "UR6_Code",
    "UR6_Name",
    "UR8_Code",
    "UR8_Name",
    "Country_Code",
    "Country_Name",
]


def urban_rural_codes(ur8: pd.Series) -> pd.DataFrame:
    """The 2-, 3-, 6- and 8-fold classes (codes and names) of each 8-fold code."""
    ur6 = ur8.map(UR8_TO_UR6)
    ur3 = ur6.map(UR6_TO_UR3)
    ur2 = ur3.map(UR3_TO_UR2)
    return pd.DataFrame(
        {
            "UR2_Code": ur2.astype(str),
            "UR2_Name": ur2.map(UR2_NAMES),
            "UR3_Code": ur3.astype(str),
            "UR3_Name": ur3.map(UR3_NAMES),
            "UR6_Code": ur6.astype(str),
            "UR6_Name": ur6.map(UR6_NAMES),
            "UR8_Code": ur8.astype(str),
            "UR8_Name": ur8.map(UR8_NAMES),
        }
    )


def lookup_frame(geo: DemoGeography) -> pd.DataFrame:
    """The lookup's 38 columns as text, one row per data zone in code order."""
    dzs = geo.dzs
    council = geo.councils.set_index("council_code").loc[dzs["council_code"]].reset_index()
    wards = geo.wards.set_index("ward_code").loc[dzs["ward_code"]]
    frame = pd.DataFrame(
        {
            "DZ2011_Code": dzs["dz_code"],
            "DZ2011_Name": dzs["dz_name"],
            "IZ2011_Code": dzs["iz_code"],
            "IZ2011_Name": dzs["iz_name"],
            "MMWard_Code": dzs["ward_code"],
            "MMWard_Name": wards["lookup_name"].to_numpy(),
            "LA_Code": dzs["council_code"],
            "LA_Name": council["council_name"],
            "SPC_Code": dzs["spc_code"],
            "SPC_Name": dzs["spc_name"],
            "UKPC_Code": dzs["ukpc_code"],
            "UKPC_Name": dzs["ukpc_name"],
            "HB_Code": council["hb_code"],
            "HB_Name": council["hb_name"],
            "HIA_Code": council["hia_code"],
            "HIA_Name": council["council_name"],
            "SPD_Code": council["spd_code"],
            "SPD_Name": council["spd_name"],
            "SFRLSO_Code": council["sfrlso_code"],
            "SFRLSO_Name": council["sfrlso_name"],
            "SFRSDA_Code": council["sfrsda_code"],
            "SFRSDA_Name": council["region"],
            "RRP_Code": council["rrp_code"],
            "RRP_Name": council["region"],
            "LRP_Code": council["lrp_code"],
            "LRP_Name": council["hb_name"],
            "TTWA2011_Code": council["ttwa_code"],
            "TTWA2011_Name": council["council_name"],
        }
    )
    frame = pd.concat([frame, urban_rural_codes(dzs["ur8"])], axis=1)
    frame["Country_Code"], frame["Country_Name"] = SCOTLAND
    return frame[LOOKUP_HEADER]


def write_dz_lookup(path: Path, geo: DemoGeography) -> int:
    """`Datazone2011lookup.csv`: the statistics.gov.scot layout (38 columns), minimal
    quoting, CRLF, Windows-1252 — with the real file's name quirks where the spec asks
    for them (trailing spaces, no-break spaces, curly apostrophes)."""
    frame = lookup_frame(geo)
    columns = [
        [_minimal(cell) for cell in frame[name]] if name.endswith("_Name") else frame[name].tolist()
        for name in LOOKUP_HEADER
    ]
    rows = (",".join(cells) for cells in zip(*columns, strict=True))
    _write_lines(path, [",".join(LOOKUP_HEADER), *rows], newline="\r\n", encoding="cp1252")
    return len(frame)


# --- populations ------------------------------------------------------------------------------


def write_population_total(path: Path, geo: DemoGeography, stats: DemoStatistics) -> int:
    """`population_mid2021_dz2011_total.csv`: code, name, persons; rows by name; LF."""
    frame = pd.DataFrame(
        {
            "dz11_code": geo.dzs["dz_code"],
            "dz11_name": geo.dzs["dz_name"],
            "total_population": stats.population.by_year[2021].to_numpy(),
        }
    ).sort_values(["dz11_name", "dz11_code"], kind="stable")
    rows = (
        f"{code},{_minimal(name)},{people}" for code, name, people in frame.itertuples(index=False)
    )
    _write_lines(path, [",".join(frame.columns), *rows], newline="\n", encoding="utf-8")
    return len(frame)


def write_population_sya(path: Path, geo: DemoGeography, stats: DemoStatistics) -> int:
    """`population_mid2020_dz2011_sex_single_year_age.csv`: per data zone three rows (All,
    Female, Male) of persons aged 0..89 and 90+, with their total; LF."""
    female, male = stats.population.female_2020, stats.population.male_2020
    header = ["dz11_code", "total_population", "sex", *map(str, range(90)), "90+"]
    lines = [",".join(header)]
    for code, f_row, m_row in zip(geo.dzs["dz_code"], female, male, strict=True):
        for sex, ages in (("All", f_row + m_row), ("Female", f_row), ("Male", m_row)):
            lines.append(f"{code},{int(ages.sum())},{sex}," + ",".join(map(str, ages.tolist())))
    _write_lines(path, lines, newline="\n", encoding="utf-8")
    return len(lines) - 1


def statsgov_rows(geo: DemoGeography, stats: DemoStatistics) -> pd.DataFrame:
    """Mid-2018 population of every area (Scotland, councils, SPCs, health boards, wards,
    IZs, DZs) as sums of data zones, in the order statistics.gov.scot lists them."""
    dzs = geo.dzs.assign(people=stats.population.by_year[2018].to_numpy())
    councils = geo.councils.set_index("council_code")
    dzs = dzs.assign(hb_code=dzs["council_code"].map(councils["hb_code"]))
    hb_names = councils.drop_duplicates("hb_code").set_index("hb_code")["hb_name"]
    ward_names = geo.wards.set_index("ward_code")["lookup_name"].str.rstrip(" ")
    blocks = [
        pd.DataFrame(
            {"code": [SCOTLAND[0]], "name": [SCOTLAND[1]], "people": [dzs["people"].sum()]}
        )
    ]
    for code_column, names in (
        ("council_code", councils["council_name"]),
        ("spc_code", dzs.groupby("spc_code")["spc_name"].first()),
        ("hb_code", hb_names),
        ("ward_code", ward_names),
        ("iz_code", dzs.groupby("iz_code")["iz_name"].first()),
        ("dz_code", dzs.set_index("dz_code")["dz_name"]),
    ):
        people = dzs.groupby(code_column)["people"].sum()
        block = pd.DataFrame({"code": people.index, "people": people.to_numpy()})
        block["name"] = block["code"].map(names)
        blocks.append(block.sort_values(["name", "code"], kind="stable"))
    return pd.concat(blocks, ignore_index=True)[["code", "name", "people"]]


def write_statsgov_download(
    path: Path, geo: DemoGeography, stats: DemoStatistics, *, generated_at: str
) -> int:
    """The statistics.gov.scot "download table" pivot CSV: 8 preamble lines, a header row,
    then one row per area with its URI, label and mid-2018 count; LF, UTF-8."""
    preamble = [
        f"Generated by {STATSGOV_ROOT},{generated_at}",
        f"{STATSGOV_ROOT}/data/{STATSGOV_DATASET},{STATSGOV_TITLE}",
        "Reference Period,2018",
        "Age,All",
        "Sex,All",
        "Measure (cell values): ,Count(People)",
        "",
        f",,{STATSGOV_ROOT}/def/measure-properties/count",
        "http://purl.org/linked-data/sdmx/2009/dimension#refArea,Reference Area,Count",
    ]
    frame = statsgov_rows(geo, stats)
    rows = (
        f"{STATSGOV_ROOT}/id/statistical-geography/{code},{_minimal(name)},{people}"
        for code, name, people in frame.itertuples(index=False)
    )
    _write_lines(path, [*preamble, *rows], newline="\n", encoding="utf-8")
    return len(frame)


# --- boundaries -------------------------------------------------------------------------------


def write_boundaries(
    path: Path,
    names: Sequence[str],
    codes: Sequence[str],
    polygons: np.ndarray,
    *,
    name_field: str,
    code_field: str,
) -> int:
    """GeoJSON in EPSG:4326 as GDAL writes it (RFC 7946, 7 decimals, MultiPolygons,
    one feature per line), properties `<name_field>, <code_field>`."""
    frame = gpd.GeoDataFrame(
        {name_field: list(names), code_field: list(codes)},
        geometry=list(polygons),
        crs="EPSG:27700",
    ).to_crs("EPSG:4326")
    pyogrio.write_dataframe(
        frame,
        path,
        driver="GeoJSON",
        layer=path.stem,
        promote_to_multi=True,
        layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": 7, "WRITE_NAME": "YES"},
    )
    return len(frame)


# --- postcodes --------------------------------------------------------------------------------

NSPL_HEADER: Final = [
    "pcd",
    "pcd2",
    "pcds",
    "dointr",
    "doterm",
    "usertype",
    "oseast1m",
    "osnrth1m",
    "osgrdind",
    "oa11",
    "cty",
    "ced",
    "laua",
    "ward",
    "hlthau",
    "nhser",
    "ctry",
    "rgn",
    "pcon",
    "eer",
    "teclec",
    "ttwa",
    "pct",
    "itl",
    "park",
    "lsoa11",
    "msoa11",
    "wz11",
    "ccg",
    "bua11",
    "buasd11",
    "ru11ind",
    "oac11",
    "lat",
    "long",
    "lep1",
    "lep2",
    "pfa",
    "imd",
    "calncv",
    "stp",
]
_NSPL_NUMERIC: Final = frozenset({"lat", "long", "imd"})
# Output area classification (2011) supergroups by urban-rural class and SIMD quintile.
_OAC_RURAL: Final = ("1B1", "1A2", "1A3", "1A1", "1C2")
_OAC_URBAN: Final = ("7A1", "8B1", "5B1", "6A1", "2A1")


def _nspl_area_columns(geo: DemoGeography, stats: DemoStatistics) -> pd.DataFrame:
    """The NSPL columns that depend only on the data zone, as text (one row per DZ)."""
    dzs = geo.dzs
    councils = geo.councils.set_index("council_code").loc[dzs["council_code"]].reset_index()
    council_number = dzs["council_code"].str[-5:]
    simd = stats.vintages["2020v2"].values
    ur8 = dzs["ur8"].to_numpy()
    quintile = simd["quintile"].to_numpy() - 1
    oac = np.where(ur8 >= 6, np.array(_OAC_RURAL)[quintile], np.array(_OAC_URBAN)[quintile])
    return pd.DataFrame(
        {
            "cty": NOT_APPLICABLE,
            "ced": NOT_APPLICABLE,
            "laua": dzs["council_code"],
            "ward": dzs["ward_code"],
            "hlthau": councils["hb_code"],
            "nhser": NOT_APPLICABLE,
            "ctry": SCOTLAND[0],
            "rgn": NOT_APPLICABLE,
            "pcon": dzs["ukpc_code"],
            "eer": "S15000001",
            "teclec": "S099" + councils["hb_code"].str[-5:],
            "ttwa": councils["ttwa_code"],
            "pct": "S039" + council_number,
            "itl": "S309" + council_number,
            "park": NOT_APPLICABLE,
            "lsoa11": dzs["dz_code"],
            "msoa11": dzs["iz_code"],
            "wz11": "S349" + dzs["dz_code"].str[-5:],
            "ccg": "S039" + council_number,
            "bua11": NOT_APPLICABLE,
            "buasd11": NOT_APPLICABLE,
            "ru11ind": dzs["ur8"].astype(str),
            "oac11": oac,
            "lep1": NOT_APPLICABLE,
            "lep2": NOT_APPLICABLE,
            "pfa": "S23000009",
            "imd": simd["rank_overall"].astype(str).to_numpy(),
            "calncv": NOT_APPLICABLE,
            "stp": NOT_APPLICABLE,
        }
    )


def _joined(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    cells = [
        frame[name].tolist() if name in _NSPL_NUMERIC else ('"' + frame[name] + '"').tolist()
        for name in columns
    ]
    return [",".join(row) for row in zip(*cells, strict=True)]


def write_nspl(
    path: Path, geo: DemoGeography, stats: DemoStatistics, postcodes: pd.DataFrame
) -> int:
    """The NSPL per-area CSV: 41 columns, text quoted and numbers (lat, long, imd) bare,
    unquoted header, LF, rows sorted by `pcd`. Columns that only depend on the data zone
    are rendered once per data zone."""
    outward, inward = postcodes["outward"], postcodes["inward"]
    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(
        postcodes["easting"].to_numpy(dtype=float), postcodes["northing"].to_numpy(dtype=float)
    )
    dz_index = postcodes["dz_index"].to_numpy()
    unit = pd.DataFrame(
        {
            "pcd": outward.str.ljust(4) + inward,
            "pcd2": outward.str.ljust(5) + inward,
            "pcds": outward + " " + inward,
            "dointr": postcodes["dointr"],
            "doterm": postcodes["doterm"],
            "usertype": np.where(postcodes["large_user"], "1", "0"),
            "oseast1m": postcodes["easting"].astype(str).str.zfill(6),
            "osnrth1m": postcodes["northing"].astype(str).str.zfill(7),
            "osgrdind": postcodes["osgrdind"],
            "oa11": "S009"
            + (geo.dzs["oa_base"].to_numpy()[dz_index] + postcodes["oa_index"] % 8).map(
                "{:05d}".format
            ),
        }
    )
    area_columns = _nspl_area_columns(geo, stats)
    head_columns = list(unit.columns)
    middle_columns = NSPL_HEADER[NSPL_HEADER.index("cty") : NSPL_HEADER.index("lat")]
    tail_columns = NSPL_HEADER[NSPL_HEADER.index("lep1") :]
    heads = np.array(_joined(unit, head_columns), dtype=object)
    middles = np.array(_joined(area_columns, middle_columns), dtype=object)[dz_index]
    tails = np.array(_joined(area_columns, tail_columns), dtype=object)[dz_index]
    lines = [
        f"{head},{middle},{y:.6f},{x:.6f},{tail}"
        for head, middle, y, x, tail in zip(heads, middles, lat, lon, tails, strict=True)
    ]
    # The directory keeps a unit without a grid reference: dates and user type only,
    # grid indicator 9, latitude 99.999999, longitude 0 and SIMD rank 0.
    no_grid_head = ['"9"' if name == "osgrdind" else '""' for name in head_columns[6:]]
    no_grid_tail = ["0" if name == "imd" else '""' for name in tail_columns]
    for row in np.flatnonzero(postcodes["no_grid"].to_numpy()):
        kept = heads[row].split(",")[:6]  # pcd, pcd2, pcds, dointr, doterm, usertype
        middle = ['""'] * len(middle_columns)
        cells = [*kept, *no_grid_head, *middle, "99.999999", "0.000000", *no_grid_tail]
        lines[row] = ",".join(cells)
    order = np.argsort(unit["pcd"].to_numpy(dtype=str), kind="stable")
    _write_lines(
        path, [",".join(NSPL_HEADER), *(lines[i] for i in order)], newline="\n", encoding="utf-8"
    )
    return len(lines)
