"""statistics.gov.scot parsers: SPARQL long SIMD results and cube-table downloads.

The real SPARQL sample (Edinburgh, SIMD 2016) comes through the `real_data` fixture; its
URI-valued variant is derived from it in tmp_path. No real cube-table file exists, so
those tests write synthetic files in the documented layout.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from profiles import contract
from profiles.errors import SourceFormatError
from profiles.sources.simd import read_simd_withinds
from profiles.sources.statsgov import (
    detect_statsgov_format,
    read_cube_table,
    read_simd_sparql_long,
    snake_case,
)

SPARQL_FILE = "sparql_response_simd2016_edinburgh_long.csv"
RANK_COLUMNS = ["dz_code", "vintage", "domain", "rank", "decile", "quintile", "vigintile"]
DOMAIN_URI = "http://statistics.gov.scot/def/concept/simd-domain/"
ZONE_URI = "http://statistics.gov.scot/id/statistical-geography/"
MEASURE_URI = "http://statistics.gov.scot/def/measure-properties/"
YEAR_URI = "http://reference.data.gov.uk/id/year/"


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def edinburgh(real_data: Path) -> pd.DataFrame:
    return read_simd_sparql_long(real_data / "statsgovscot" / SPARQL_FILE)


# --- SPARQL long: real sample ------------------------------------------------------------


@pytest.mark.real_data
def test_edinburgh_sparql_shape(edinburgh: pd.DataFrame) -> None:
    assert list(edinburgh.columns) == list(contract.STG_SIMD_RANK_COLUMNS)
    assert len(edinburgh) == 597 * 8
    assert edinburgh["dz_code"].nunique() == 597
    assert set(edinburgh["vintage"]) == {"2016"}
    orders = edinburgh.groupby("dz_code")["domain"].apply(tuple)
    assert (orders == contract.SIMD_DOMAINS).all()
    assert (edinburgh["rank"] % 1 == 0.5).any()
    assert {str(edinburgh[b].dtype) for b in ("decile", "quintile", "vigintile")} == {"Int64"}
    assert set(edinburgh["source_file"]) == {SPARQL_FILE}


@pytest.mark.real_data
def test_edinburgh_sparql_agrees_with_withinds(real_data: Path, edinburgh: pd.DataFrame) -> None:
    withinds = read_simd_withinds(real_data / "simd" / "simd2016_withinds.csv").ranks
    subset = withinds[withinds["dz_code"].isin(edinburgh["dz_code"])].reset_index(drop=True)
    assert len(subset) == len(edinburgh)
    pd.testing.assert_frame_equal(subset[RANK_COLUMNS], edinburgh[RANK_COLUMNS])


@pytest.mark.real_data
def test_sparql_with_full_uris_reads_the_same(
    real_data: Path, tmp_path: Path, edinburgh: pd.DataFrame
) -> None:
    raw = pd.read_csv(real_data / "statsgovscot" / SPARQL_FILE, dtype=str)
    slugs = {
        "SIMD": "simd",
        "Income": "income",
        "Employment": "employment",
        "Health": "health",
        "Education Skills And Training": "education",
        "Access To Services": "access",
        "Crime": "crime",
        "Housing": "housing",
    }
    raw["year"] = YEAR_URI + raw["year"]
    raw["zone"] = ZONE_URI + raw["zone"]
    raw["domain"] = DOMAIN_URI + raw["domain"].map(slugs)
    raw["measure"] = MEASURE_URI + raw["measure"].str.lower()
    path = tmp_path / "uris.csv"
    raw.to_csv(path, index=False)
    parsed = read_simd_sparql_long(path)
    pd.testing.assert_frame_equal(parsed[RANK_COLUMNS], edinburgh[RANK_COLUMNS])


# --- SPARQL long: synthetic --------------------------------------------------------------

HEADER = ["year", "zone", "domain", "measure", "value"]


def test_missing_band_measures_are_computed_per_vintage_rule(tmp_path: Path) -> None:
    rows = [
        ["2016", "S01000001", "SIMD", "Rank", 698],
        ["2016", "S01000001", "Income", "Rank", 698],
        ["2016", "S01000001", "Crime", "Rank", 1395.5],
        ["2016", "S01000001", "Crime", "Decile", 2],
        [YEAR_URI + "2020", ZONE_URI + "S01000002", DOMAIN_URI + "simd", MEASURE_URI + "rank", 698],
    ]
    parsed = read_simd_sparql_long(_write(tmp_path / "ranks_only.csv", HEADER, rows))
    got = parsed.set_index(["dz_code", "domain"])
    # SIMD 2016's overall bands end at round(b*N/k): rank 698 is decile 1 ...
    assert got.loc[("S01000001", "overall"), ["decile", "vigintile"]].tolist() == [1, 2]
    # ... its domain bands (statistics.gov.scot) at floor(b*N/k): decile 2.
    assert got.loc[("S01000001", "income"), ["decile", "quintile", "vigintile"]].tolist() == [
        2,
        1,
        3,
    ]
    # A published band is kept; the missing quintile of a tie is computed from 1395.5.
    assert got.loc[("S01000001", "crime"), ["decile", "quintile"]].tolist() == [2, 2]
    assert got.loc[("S01000002", "overall"), ["decile"]].tolist() == [2]
    assert parsed["vintage"].tolist() == ["2016", "2016", "2016", "2020v2"]
    assert parsed["domain"].tolist() == ["overall", "income", "crime", "overall"]


@pytest.mark.parametrize(
    ("row", "field", "text"),
    [
        (
            ["2016", "S01000002", "Wellbeing", "Rank", 5],
            "domain",
            "'Wellbeing' is not a SIMD domain",
        ),
        (["2012", "S01000002", "SIMD", "Rank", 5], "year", "'2012' is not a SIMD year"),
        (["2016", "Leith - 01", "SIMD", "Rank", 5], "zone", "not a data zone code"),
        (["2016", "S01000002", "SIMD", "Score", 5], "measure", "'Score' is not one of rank"),
        (["2016", "S01000002", "SIMD", "Rank", "n/a"], "value", "'n/a' is not a number"),
        (["2016", "S01000002", "SIMD", "Rank", 7000], "value", "rank 7000 is not"),
        (["2016", "S01000002", "SIMD", "Decile", 11], "value", "decile 11 is not a whole"),
    ],
)
def test_sparql_bad_rows_name_file_row_and_field(tmp_path, row, field, text) -> None:
    # The bad row is line 3; a Decile needs its zone's Rank, which follows on line 4.
    after = (
        [*row[:3], "Rank", 9] if row[3] == "Decile" else ["2016", "S01000003", "Crime", "Rank", 9]
    )
    rows = [["2016", "S01000001", "SIMD", "Rank", 5], row, after]
    path = _write(tmp_path / "bad.csv", HEADER, rows)
    with pytest.raises(SourceFormatError) as caught:
        read_simd_sparql_long(path)
    error = caught.value
    assert (error.row, error.field) == (3, field), str(error)
    assert text in str(error) and "bad.csv" in str(error)


def test_sparql_duplicate_and_missing_rank(tmp_path: Path) -> None:
    rows = [["2016", "S01000001", "SIMD", "Rank", 5], ["2016", "S01000001", "SIMD", "Rank", 6]]
    with pytest.raises(SourceFormatError, match=r"row 3, field 'value': the same zone") as caught:
        read_simd_sparql_long(_write(tmp_path / "dup.csv", HEADER, rows))
    assert caught.value.row == 3
    rows = [["2016", "S01000001", "SIMD", "Rank", 5], ["2016", "S01000002", "Health", "Decile", 1]]
    with pytest.raises(SourceFormatError, match="S01000002 has no Rank for domain health"):
        read_simd_sparql_long(_write(tmp_path / "norank.csv", HEADER, rows))


def test_sparql_rejects_html_empty_and_wrong_columns(tmp_path: Path) -> None:
    html = tmp_path / "sparql.csv"
    html.write_text("  <html><head><title>Error</title></head></html>")
    with pytest.raises(SourceFormatError, match="HTML page"):
        read_simd_sparql_long(html)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(SourceFormatError, match="empty"):
        read_simd_sparql_long(empty)
    header_only = _write(tmp_path / "header_only.csv", HEADER, [])
    with pytest.raises(SourceFormatError, match="no rows"):
        read_simd_sparql_long(header_only)
    wrong = _write(tmp_path / "wrong.csv", ["year", "zone", "value"], [["2016", "S01000001", 1]])
    with pytest.raises(SourceFormatError, match="missing column") as caught:
        read_simd_sparql_long(wrong)
    assert (caught.value.row, caught.value.field) == (1, "domain")


# --- Cube tables -------------------------------------------------------------------------


def test_cube_table_long_frame(tmp_path: Path) -> None:
    header = [
        "FeatureCode",
        "DateCode",
        "Measurement",
        "Units",
        "Value",
        "SIMD Domain",
        "DataMarker",
    ]
    rows = [
        ["S01000001", "2020", "Rank", "Rank", "15", "Income", ""],
        ["S01000001", "2014/15-2017/18", "Ratio", "Ratio", "1,203.5", "Health", ""],
        ["S01000002", "2017", "Count", "People", "*", "Crime", "*"],
        ["S01000002", "2017", "Count", "People", "", "Crime", ""],
        ["S01000003", "2017", "Count", "People", "..", "Crime", "x"],
    ]
    frame = read_cube_table(_write(tmp_path / "cube.csv", header, rows))
    assert list(frame.columns) == [
        "feature_code",
        "date_code",
        "measurement",
        "units",
        "value",
        "data_marker",
        "simd_domain",
    ]
    assert frame["date_code"].tolist() == ["2020", "2014/15-2017/18", "2017", "2017", "2017"]
    assert frame["value"].tolist()[:2] == [15.0, 1203.5]
    assert frame["value"].isna().tolist() == [False, False, True, True, True]
    assert str(frame["value"].dtype) == "Float64"
    assert frame["data_marker"].isna().tolist() == [True, True, False, True, False]
    assert frame["simd_domain"].tolist() == ["Income", "Health", "Crime", "Crime", "Crime"]


def test_cube_table_older_geography_code_and_no_marker(tmp_path: Path) -> None:
    header = ["GeographyCode", "DateCode", "Measurement", "Units", "Value",
              "Greenhouse gas source sector", "Pollutant"]  # fmt: skip
    rows = [
        ["S12000042", "2018", "Count", "Kilotonnes Of CO2 Equivalent", "12.5", "Transport", "CO2"]
    ]
    frame = read_cube_table(_write(tmp_path / "ghg.csv", header, rows))
    assert frame.columns[-2:].tolist() == ["greenhouse_gas_source_sector", "pollutant"]
    assert frame["feature_code"].tolist() == ["S12000042"]
    assert frame["data_marker"].isna().all()
    assert frame["value"].tolist() == [12.5]


def test_cube_table_bad_value_names_row_and_field(tmp_path: Path) -> None:
    header = ["FeatureCode", "DateCode", "Measurement", "Units", "Value", "DataMarker"]
    rows = [
        ["S01000001", "2020", "Rank", "Rank", "15", ""],
        ["S01000002", "2020", "Rank", "Rank", "n/a", ""],
    ]
    with pytest.raises(SourceFormatError) as caught:
        read_cube_table(_write(tmp_path / "cube_bad.csv", header, rows))
    assert (caught.value.row, caught.value.field) == (3, "Value")
    assert "cube_bad.csv" in str(caught.value) and "'n/a' is not a number" in str(caught.value)


def test_cube_table_rejects_missing_columns_clashes_and_html(tmp_path: Path) -> None:
    header = ["FeatureCode", "DateCode", "Measurement", "Value"]
    with pytest.raises(SourceFormatError, match="missing column") as caught:
        read_cube_table(
            _write(tmp_path / "no_units.csv", header, [["S01000001", "2020", "Rank", 1]])
        )
    assert caught.value.field == "Units"
    header = ["FeatureCode", "DateCode", "Measurement", "Units", "Value", "Data marker"]
    clash = _write(
        tmp_path / "clash.csv", [*header, "data_marker "], [["a", "b", "c", "d", 1, "", ""]]
    )
    with pytest.raises(SourceFormatError, match=r"same name|clashes"):
        read_cube_table(clash)
    page = tmp_path / "cube.html.csv"
    page.write_text("<!doctype html><p>Not found</p>")
    with pytest.raises(SourceFormatError, match="HTML page"):
        read_cube_table(page)


def test_snake_case_and_format_detection() -> None:
    assert snake_case("Number Of Awards") == "number_of_awards"
    assert snake_case(" SCQF Level ") == "scqf_level"
    assert snake_case("Method of Travel") == "method_of_travel"
    assert detect_statsgov_format(HEADER) == "sparql_simd_long"
    assert detect_statsgov_format(["FeatureCode", "DateCode", "Measurement", "Units", "Value"]) == (
        "cube_table"
    )
    assert detect_statsgov_format(
        ["GeographyCode", "DateCode", "Measurement", "Units", "Value"]
    ) == ("cube_table")
    assert detect_statsgov_format(["Data_Zone", "SIMD2020v2_Rank"]) is None


def test_sparql_values_keep_float_ranks(tmp_path: Path) -> None:
    rows = [["2016", "S01000001", "Housing", "Rank", "3910.5"]]
    parsed = read_simd_sparql_long(_write(tmp_path / "tie.csv", HEADER, rows))
    assert parsed["rank"].tolist() == [3910.5]
    assert np.issubdtype(parsed["rank"].dtype, np.floating)
