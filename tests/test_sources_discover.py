"""Tests for the folder scanner (`profiles.sources.discover`).

The real folder (../shared/data/real) must be classified correctly by contents; a tmp
folder of made-up files covers bad inputs (an HTML page saved as .csv, an empty file),
primary selection among files of one kind, and `sources.yaml` overrides.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from profiles.errors import ConfigError
from profiles.sources.discover import KINDS, classify_file, discover_published_files


@pytest.fixture(scope="module")
def real_folder(real_data: Path):
    return discover_published_files(real_data)


def test_real_folder_kinds_and_primaries(real_data: Path, real_folder) -> None:
    def relative(path: Path | None) -> str | None:
        return path.relative_to(real_data).as_posix() if path else None

    folder = real_folder
    assert relative(folder.primary("simd_withinds", "2020v2")) == "simd/simd2020v2_withinds.csv"
    assert relative(folder.primary("simd_withinds", "2016")) == "simd/simd2016_withinds.csv"
    assert relative(folder.primary("simd_withinds")) == "simd/simd2020v2_withinds.csv"
    assert {entry.vintage for entry in folder.entries("simd_withinds")} == {"2016", "2020v2"}
    expected = {
        "simd_datazone_lookup": "simd/simd2020v2_datazone_lookup.csv",
        "simd_sparql_long": "statsgovscot/sparql_response_simd2016_edinburgh_long.csv",
        "dz_lookup": "lookups/Datazone2011lookup_2022-05-31.csv",
        "population_total": "population/population_mid2021_dz2011_total.csv",
        "population_sya": "population/population_mid2020_dz2011_sex_single_year_age.csv",
        "statsgov_download": "statsgovscot/statsgovscot_download_population-estimates-"
        "current-geographic-boundaries_2018_allgeogs.csv",
        "postcodes_nspl": "postcodes/NSPL_NOV_2021_UK_PH.csv",
        "boundaries_dz": "boundaries/dz2011_scotland_sg_generalised_wgs84.geojson",
        "boundaries_ward": "boundaries/wards2022_scotland_ons_bsc_wgs84.geojson",
        "boundaries_iz": "boundaries/iz2011_dundee_sg_generalised_wgs84.geojson",
    }
    for kind, path in expected.items():
        assert relative(folder.primary(kind)) == path, kind
    assert folder.entries("simd_datazone_lookup")[0].vintage == "2020v2"
    assert folder.primary("cube_table") is None


def test_real_folder_counts_and_secondary_files(real_folder) -> None:
    dz_files = real_folder.entries("boundaries_dz")
    assert [entry.rows for entry in dz_files] == [6976, 597, 188]
    assert [entry.rows for entry in real_folder.entries("boundaries_ward")] == [355, 8]
    assert real_folder.entries("dz_lookup")[0].rows == 6976
    assert real_folder.entries("statsgov_download")[0].rows == 8729
    assert real_folder.entries("population_sya")[0].details["year_from_name"] == 2020


def test_real_folder_unknowns_have_reasons(real_folder) -> None:
    unknown = {entry.relative: entry.reason for entry in real_folder.entries("unknown")}
    # An English postcode directory extract is not taken for a Scottish one.
    assert "no Scottish data zone" not in unknown.get("postcodes/NSPL_NOV_2021_UK_PH.csv", "")
    assert (
        "Scottish data zone"
        in unknown["engagement/littlemore_ltn_oxford_2021/littlemore_lsoa_mappings.csv"]
    )
    assert (
        "header not recognised" in unknown["postcodes/dundee_postcode_ward_dundeedecides_2018.csv"]
    )
    assert all(reason for reason in unknown.values())
    summary = real_folder.describe()
    assert "* boundaries/dz2011_scotland_sg_generalised_wgs84.geojson" in summary
    assert "  boundaries/dz2011_dundee_sg_generalised_wgs84.geojson" in summary


# --- made-up folder --------------------------------------------------------------------------


def _write_boundaries(path: Path, codes: list[str], code_field: str, name_field: str) -> None:
    frame = gpd.GeoDataFrame(
        {code_field: codes, name_field: [f"Area {i}" for i in range(len(codes))]},
        geometry=[box(-3.0 + i * 0.01, 56.4, -2.99 + i * 0.01, 56.41) for i in range(len(codes))],
        crs="EPSG:4326",
    )
    frame.to_file(path, engine="pyogrio")


@pytest.fixture
def made_up_folder(tmp_path: Path) -> Path:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "simd_download.csv").write_text(
        "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Please log in"
        "</body></html>\n"
    )
    (tmp_path / "broken" / "empty.csv").write_bytes(b"")
    (tmp_path / "broken" / "blank.csv").write_text("\n\n  \n")
    (tmp_path / "broken" / "results.json").write_text('{"head": {"vars": []}, "results": {}}')
    (tmp_path / "broken" / "zones.gpkg").write_text("<html>Not found</html>")
    (tmp_path / "notes.txt").write_text("not scanned")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "lookup.csv").write_text("DZ2011_Code\n")

    (tmp_path / "a_named_like_boundaries.csv").write_text(
        "FeatureCode,DateCode,Measurement,Units,Value,SIMD Domain\n"
        "S01099901,2020,Rank,Rank,17,Income\n"
    )
    (tmp_path / "lookup_2022.csv").write_bytes(
        (
            "DZ2011_Code,DZ2011_Name,IZ2011_Code,IZ2011_Name,MMWard_Code,MMWard_Name,"
            "LA_Code,LA_Name,UR6_Code,UR6_Name\r\n"
            "S01099901,Bo’ness - 01\xa0,S02099901,Bo’ness,S13099901,Ward,S12099901,"
            "Council,1,Large Urban Areas\r\n"
        ).encode("cp1252")
    )
    (tmp_path / "SmallUser.csv").write_text(
        "Postcode,DateOfDeletion,GridReferenceEasting,GridReferenceNorthing,Latitude,Longitude,"
        "CouncilArea2019Code,ElectoralWard2022Code,DataZone2011Code\n"
        "DD9 9ZZ,,340000,730000,56.46,-2.97,S12099901,S13099901,S01099901\n"
    )
    (tmp_path / "pop.csv").write_text("dz11_code,dz11_name,total_population\nS01099901,A,800\n")
    boundaries = tmp_path / "geo"
    boundaries.mkdir()
    _write_boundaries(
        boundaries / "big.gpkg", [f"S0109990{i}" for i in range(5)], "DataZone", "Name"
    )
    _write_boundaries(
        boundaries / "small.geojson", ["S01099901", "S01099902"], "dz11_code", "dz11_name"
    )
    _write_boundaries(boundaries / "wards.shp", ["S13099901"], "WD22CD", "WD22NM")
    _write_boundaries(boundaries / "izs.geojson", ["S02099901"], "zone", "label")
    return tmp_path


def test_made_up_folder_classification(made_up_folder: Path) -> None:
    folder = discover_published_files(made_up_folder)
    by_name = {entry.relative: entry for entry in folder.files}
    assert "notes.txt" not in by_name and ".hidden/lookup.csv" not in by_name

    html = by_name["broken/simd_download.csv"]
    assert html.kind == "unknown" and "HTML page" in html.reason
    assert by_name["broken/empty.csv"].kind == "unknown"
    assert "empty file" in by_name["broken/empty.csv"].reason
    assert by_name["broken/blank.csv"].reason == "only whitespace"
    assert "not GeoJSON" in by_name["broken/results.json"].reason
    corrupt = by_name["broken/zones.gpkg"]
    assert corrupt.kind == "unknown" and "not a readable boundary file" in corrupt.reason

    assert by_name["a_named_like_boundaries.csv"].kind == "cube_table"
    assert by_name["lookup_2022.csv"].kind == "dz_lookup"
    assert by_name["SmallUser.csv"].kind == "postcodes_spd"
    assert by_name["pop.csv"].kind == "population_total"
    assert by_name["geo/wards.shp"].kind == "boundaries_ward"
    izs = by_name["geo/izs.geojson"]
    assert izs.kind == "boundaries_iz" and izs.details["code_field"] == "zone"

    assert folder.primary("boundaries_dz") == made_up_folder / "geo/big.gpkg"
    assert folder.all("boundaries_dz") == [
        made_up_folder / "geo/big.gpkg",
        made_up_folder / "geo/small.geojson",
    ]
    assert folder.primary("simd_withinds") is None
    assert folder.all("survey_export") == []
    assert folder.kinds() <= set(KINDS)


def test_sources_yaml_pins_kinds_primary_and_ignores(made_up_folder: Path) -> None:
    (made_up_folder / "sources.yaml").write_text(
        "files:\n"
        "  geo/small.geojson: {kind: boundaries_dz, primary: true}\n"
        "  pop.csv: survey_export\n"
        "ignore:\n"
        "  - broken/*\n"
    )
    folder = discover_published_files(made_up_folder)
    assert folder.primary("boundaries_dz") == made_up_folder / "geo/small.geojson"
    survey = folder.entries("survey_export")
    assert [entry.relative for entry in survey] == ["pop.csv"]
    assert survey[0].pinned and "population_total" in survey[0].reason
    assert not any(entry.relative.startswith("broken/") for entry in folder.files)
    assert "(pinned)" in folder.describe()


@pytest.mark.parametrize(
    "content",
    ["files:\n  pop.csv: not_a_kind\n", "files: [\n", "ignore: broken\n", "- just a list\n"],
)
def test_bad_sources_yaml_is_a_config_error(made_up_folder: Path, content: str) -> None:
    (made_up_folder / "sources.yaml").write_text(content)
    with pytest.raises(ConfigError, match=r"sources\.yaml"):
        discover_published_files(made_up_folder)


def test_classify_file_reads_headers_not_names(tmp_path: Path) -> None:
    path = tmp_path / "simd2020v2_withinds.csv"
    path.write_text(
        '"year","zone","domain","measure","value"\n"2016","S01099901","SIMD","Rank",5\n'
    )
    entry = classify_file(path)
    assert entry.kind == "simd_sparql_long"
    assert entry.vintage == "2016"
    assert entry.rows == 1


def test_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        discover_published_files(tmp_path / "nowhere")
