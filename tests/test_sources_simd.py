"""SIMD with-indicators parser and banding rules (`profiles.sources.simd`, `profiles.simd`).

Real files are read through the `real_data` fixture; malformed inputs are synthetic files
written to tmp_path in the published layout (a small made-up `2026` vintage added to a copy
of the config shows that a new vintage is only configuration).
"""

from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import rankdata, spearmanr

from profiles import contract
from profiles.errors import ConfigError, SourceFormatError
from profiles.simd import (
    DEFAULT_CONFIG_DIR,
    band_cut_points,
    get_simd_vintage,
    load_indicator_catalogue,
    load_indicator_specs,
    load_simd_vintages,
    simd_bands,
    vintage_for_sparql_year,
)
from profiles.sources.simd import detect_simd_vintage, read_simd_withinds

DUNDEE = ("S01007682", "S01007869")
N = 6976

# --- Banding -----------------------------------------------------------------------------


def test_floor_cut_points_match_simd_2020v2_published_bands() -> None:
    floor_deciles = [697, 1395, 2092, 2790, 3488, 4185, 4883, 5580, 6278, 6976]
    assert band_cut_points(N, 10).tolist() == floor_deciles
    assert band_cut_points(N, 5).tolist() == [1395, 2790, 4185, 5580, 6976]
    assert band_cut_points(N, 20)[:3].tolist() == [348, 697, 1046]


def test_round_cut_points_match_simd_2016_published_bands() -> None:
    round_deciles = [698, 1395, 2093, 2790, 3488, 4186, 4883, 5581, 6278, 6976]
    assert band_cut_points(N, 10, "round").tolist() == round_deciles
    assert band_cut_points(N, 5, "round").tolist() == [1395, 2790, 4186, 5581, 6976]
    with pytest.raises(ValueError, match="cut rule"):
        band_cut_points(N, 10, "ceil")


def test_simd_bands_at_cut_points_and_ties() -> None:
    ranks = pd.Series(
        [1, 697, 697.5, 698, 1395, 1395.5, 1396, 6976, np.nan], index=list("abcdefghi")
    )
    bands = simd_bands(ranks, N)
    assert list(bands.index) == list("abcdefghi")
    assert bands["decile"].tolist()[:8] == [1, 1, 2, 2, 2, 3, 3, 10]
    assert bands["quintile"].tolist()[:8] == [1, 1, 1, 1, 1, 2, 2, 5]
    assert bands["vigintile"].tolist()[:8] == [1, 2, 3, 3, 4, 5, 5, 20]
    assert bands.loc["i"].isna().all()
    assert all(str(dtype) == "Int64" for dtype in bands.dtypes)
    # Under the 2016 rule rank 698 is still decile 1.
    assert simd_bands(pd.Series([698.0, 698.5]), N, "round")["decile"].tolist() == [1, 2]


@pytest.mark.parametrize("bad", [0, 0.5, 6976.5, -3])
def test_simd_bands_rejects_ranks_outside_range(bad: float) -> None:
    with pytest.raises(ValueError, match=r"outside 1\.\.6976"):
        simd_bands(pd.Series([5.0, bad]), N)


@given(n_zones=st.integers(min_value=20, max_value=20000), rule=st.sampled_from(["floor", "round"]))
def test_bands_nest_and_split_evenly(n_zones: int, rule: str) -> None:
    ranks = pd.Series(np.arange(1, n_zones + 1, dtype="float64"))
    bands = simd_bands(ranks, n_zones, rule)
    deciles = bands["decile"].to_numpy(dtype="int64")
    assert (np.diff(deciles) >= 0).all()
    assert set(np.bincount(deciles)[1:]) <= {n_zones // 10, n_zones // 10 + 1}
    # Quintile b ends where decile 2b ends, decile b where vigintile 2b ends.
    assert (bands["quintile"].to_numpy(dtype="int64") == (deciles + 1) // 2).all()
    vigintiles = bands["vigintile"].to_numpy(dtype="int64")
    assert (deciles == (vigintiles + 1) // 2).all()


# --- Configuration -----------------------------------------------------------------------


def test_vintage_config() -> None:
    vintages = load_simd_vintages()
    assert list(vintages) == ["2016", "2020v2"]
    assert {v.n_zones for v in vintages.values()} == {N}
    assert {v.dz_version for v in vintages.values()} == {"DZ2011"}
    assert vintage_for_sparql_year("2020") == "2020v2"
    assert vintage_for_sparql_year(" 2016 ") == "2016"
    assert vintage_for_sparql_year("2012") is None
    assert get_simd_vintage("2016").overall_band_cuts == "round"
    with pytest.raises(ConfigError, match="2016, 2020v2"):
        get_simd_vintage("2009")


def test_indicator_config_harmonises_ids_across_vintages() -> None:
    catalogue = load_indicator_catalogue()
    assert catalogue["indicator"].is_unique
    assert set(catalogue["domain"]) == set(contract.SIMD_DOMAINS[1:])
    higher_is_better = set(catalogue.loc[catalogue["polarity"] == "higher_is_better", "indicator"])
    assert higher_is_better == {"attendance", "attainment", "university"}
    old = {s.indicator: s for s in load_indicator_specs("2016")}
    new = {s.indicator: s for s in load_indicator_specs("2020v2")}
    assert set(new) - set(old) == {"crime_count", "broadband"}
    assert set(old) <= set(new)
    assert (old["no_qualifications"].column, new["no_qualifications"].column) == (
        "Noquals",
        "no_qualifications",
    )
    assert old["crime_rate"].numerator_column is None
    assert new["crime_rate"].numerator_column == "crime_count"
    assert new["employment_rate"].denominator == "working_age_population"
    with pytest.raises(ConfigError, match="column_2009"):
        load_indicator_specs("2009")


# --- Real files --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def simd2020(real_data: Path):
    started = time.perf_counter()
    tables = read_simd_withinds(real_data / "simd" / "simd2020v2_withinds.csv")
    return tables, time.perf_counter() - started


@pytest.fixture(scope="module")
def simd2016(real_data: Path):
    return read_simd_withinds(real_data / "simd" / "simd2016_withinds.csv")


def _raw(real_data: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(real_data / "simd" / name, dtype=str, keep_default_na=False)


def _indicator(tables, indicator: str) -> pd.DataFrame:
    frame = tables.indicators
    return frame[frame["indicator"] == indicator].set_index("dz_code")


def _overall(tables) -> pd.DataFrame:
    return tables.ranks[tables.ranks["domain"] == "overall"].set_index("dz_code")


@pytest.mark.real_data
def test_2020v2_shapes_and_types(simd2020) -> None:
    tables, seconds = simd2020
    assert seconds < 5, f"parsing SIMD 2020v2 took {seconds:.2f} s"
    assert tables.vintage == "2020v2"
    assert tables.source_file == "simd2020v2_withinds.csv"
    assert list(tables.ranks.columns) == list(contract.STG_SIMD_RANK_COLUMNS)
    assert list(tables.indicators.columns) == list(contract.STG_INDICATOR_COLUMNS)
    assert len(tables.ranks) == 8 * N
    assert tables.ranks.groupby("dz_code").size().eq(8).all()
    assert tables.ranks["dz_code"].nunique() == N
    assert tables.ranks["rank"].dtype == "float64"
    assert {str(tables.ranks[b].dtype) for b in ("decile", "quintile", "vigintile")} == {"Int64"}
    assert tables.indicators["indicator"].nunique() == 32
    assert len(tables.indicators) == 32 * N
    assert tables.population["total_population"].sum() == 5_424_800
    assert set(tables.ranks["source_file"]) == {"simd2020v2_withinds.csv"}


@pytest.mark.parametrize("which", ["2016", "2020v2"])
@pytest.mark.real_data
def test_ranks_are_permutations_with_source_ties(which, simd2016, simd2020) -> None:
    tables = simd2016 if which == "2016" else simd2020[0]
    for domain, group in tables.ranks.groupby("domain"):
        ranks = group["rank"].to_numpy()
        # Each rank lies within the positions its tie group occupies.
        assert (rankdata(ranks, "min") <= ranks).all(), domain
        assert (ranks <= rankdata(ranks, "max")).all(), domain
    overall = _overall(tables)["rank"]
    assert sorted(overall) == list(range(1, N + 1))


@pytest.mark.real_data
def test_2020v2_ties_are_kept_as_halves(simd2020) -> None:
    ranks = simd2020[0].ranks
    halves = ranks[ranks["rank"] % 1 == 0.5].groupby("domain").size().to_dict()
    assert halves == {"income": 700, "employment": 568, "crime": 156, "housing": 472}


@pytest.mark.parametrize(
    ("which", "file", "prefix"),
    [
        ("2016", "simd2016_withinds.csv", "SIMD_2016_"),
        ("2020v2", "simd2020v2_withinds.csv", "SIMD2020v2_"),
    ],
)
@pytest.mark.real_data
def test_overall_bands_equal_published_columns(real_data, simd2016, simd2020, which, file, prefix):
    tables = simd2016 if which == "2016" else simd2020[0]
    raw = _raw(real_data, file).set_index("Data_Zone")
    overall = _overall(tables)
    for band in ("decile", "quintile", "vigintile"):
        published = raw[prefix + band.capitalize()].astype(int)
        assert (overall[band].astype(int) == published.reindex(overall.index)).all()


@pytest.mark.real_data
def test_dundee_2020v2_facts(simd2020) -> None:
    ranks = simd2020[0].ranks
    dundee = ranks[ranks["dz_code"].between(*DUNDEE)]
    overall = dundee[dundee["domain"] == "overall"]
    assert len(overall) == 188
    assert (overall["quintile"] == 1).sum() == 70
    assert (overall["decile"] == 1).sum() == 45
    assert (overall["decile"] == 10).sum() == 13
    most_deprived = dundee.groupby("domain")["rank"].apply(lambda r: int((r <= 1395).sum()))
    expected = dict(income=70, employment=70, health=70, education=76, housing=82, crime=59)
    assert most_deprived.drop("overall").to_dict() == {**expected, "access": 9}
    # Quintile 1 of a domain is the same set as rank <= 1395.
    by_band = dundee[dundee["quintile"] == 1].groupby("domain").size()
    assert by_band.reindex(most_deprived.index, fill_value=0).equals(most_deprived)
    people = simd2020[0].population.set_index("dz_code")["total_population"]
    q1 = overall.loc[overall["quintile"] == 1, "dz_code"]
    assert people.loc[list(overall["dz_code"])].sum() == 148_710
    assert people.loc[list(q1)].sum() == 54_497


@pytest.mark.real_data
def test_dundee_2016_facts(simd2016, simd2020) -> None:
    overall = _overall(simd2016)
    dundee = overall.loc[DUNDEE[0] : DUNDEE[1]]
    assert len(dundee) == 188
    assert (dundee["quintile"] == 1).sum() == 69
    assert (dundee["decile"] == 1).sum() == 41
    assert dundee["rank"].idxmin() == "S01007701"
    assert dundee["rank"].min() == 36
    assert _overall(simd2020[0]).loc["S01007701", "rank"] == 93


@pytest.mark.real_data
def test_2020v2_suppression_and_missing_cells(simd2020) -> None:
    indicators = simd2020[0].indicators
    stats = indicators.groupby("indicator").agg(
        suppressed=("suppressed", "sum"), missing=("value", lambda v: int(v.isna().sum()))
    )
    assert stats.loc["attendance"].tolist() == [565, 567]
    assert stats.loc["attainment"].tolist() == [178, 189]  # + 11 "n/a"
    assert stats.loc["crime_count"].tolist() == [500, 500]
    assert stats.loc["crime_rate"].tolist() == [500, 501]
    assert stats.loc["cif"].tolist() == [0, 3]
    assert stats.loc[["alcohol", "drug", "smr", "emerg"], "missing"].eq(2).all()
    # Suppressed never means zero: every suppressed cell is NULL.
    assert indicators.loc[indicators["suppressed"], "value"].isna().all()
    assert stats["suppressed"].sum() == 565 + 178 + 500 + 500


@pytest.mark.real_data
def test_2020v2_percentages_become_proportions(real_data, simd2020) -> None:
    raw = _raw(real_data, "simd2020v2_withinds.csv").set_index("Data_Zone")
    pairs = [
        ("income_rate", "income_rate"),
        ("broadband", "broadband"),
        ("attendance", "Attendance"),
        ("university", "University"),
    ]
    for indicator, column in pairs:
        parsed = _indicator(simd2020[0], indicator)
        assert set(parsed["unit"]) == {"proportion"}
        published = raw[column].reindex(parsed.index)
        has_percent = published.str.endswith("%")
        expected = published[has_percent].str.rstrip("%").astype(float) / 100
        got = parsed.loc[has_percent, "value"].astype(float)
        assert np.allclose(got, expected, rtol=0, atol=1e-12)
        assert ((got >= 0) & (got <= 1)).all()


@pytest.mark.real_data
def test_2020v2_numerators_and_denominators(simd2020) -> None:
    tables = simd2020[0]
    income = _indicator(tables, "income_rate")
    population = tables.population.set_index("dz_code")
    assert (income["numerator"] == _indicator(tables, "income_count")["value"]).all()
    assert (income["denominator"] == population["total_population"].reindex(income.index)).all()
    positive = income["denominator"] > 0
    share = income["numerator"][positive] / income["denominator"][positive]
    assert (np.abs(share * 100 - income["value"][positive] * 100) <= 0.5 + 1e-9).all()
    employment = _indicator(tables, "employment_rate")
    working_age = population["working_age_population"].reindex(employment.index)
    assert (employment["denominator"] == working_age).all()
    crime = _indicator(tables, "crime_rate").dropna(subset=["value", "numerator"])
    implied = crime["numerator"] / crime["denominator"] * 10_000
    assert (np.abs(implied / crime["value"] - 1) < 0.06).all()
    # Where the count is suppressed there is no denominator either.
    suppressed = _indicator(tables, "crime_rate")["numerator"].isna()
    assert suppressed.sum() == 500
    assert _indicator(tables, "crime_rate").loc[suppressed, "denominator"].isna().all()
    assert _indicator(tables, "cif")[["numerator", "denominator"]].isna().all().all()


@pytest.mark.parametrize("which", ["2016", "2020v2"])
@pytest.mark.real_data
def test_polarity_agrees_with_domain_ranks(which, simd2016, simd2020) -> None:
    """Rank 1 is most deprived, so a higher_is_worse indicator falls as the rank rises."""
    tables = simd2016 if which == "2016" else simd2020[0]
    values = tables.indicators.pivot(index="dz_code", columns="indicator", values="value")
    ranks = tables.ranks.pivot(index="dz_code", columns="domain", values="rank")
    for spec in load_indicator_specs(which):
        known = values[spec.indicator].notna()
        rho = spearmanr(
            values.loc[known, spec.indicator].astype(float), ranks.loc[known, spec.domain]
        ).statistic
        assert (rho < 0) == (spec.polarity == "higher_is_worse"), (spec.indicator, rho)


@pytest.mark.real_data
def test_2016_layout(simd2016) -> None:
    tables = simd2016
    assert tables.vintage == "2016"
    assert tables.ranks["dz_code"].nunique() == N
    assert tables.population["total_population"].sum() == 5_347_600
    assert tables.population["working_age_population"].sum() == 3_439_854
    indicators = set(tables.indicators["indicator"])
    assert "broadband" not in indicators and "crime_count" not in indicators
    assert {
        "no_qualifications",
        "not_participating",
        "university",
        "drive_post",
        "pt_post",
    } <= indicators
    crime = _indicator(tables, "crime_rate")
    assert crime[["numerator", "denominator"]].isna().all().all()
    # "#VALUE!" in zero-population zones: missing, not suppressed.
    income = _indicator(tables, "income_rate")
    assert income["value"].isna().sum() == 2
    assert not income["suppressed"].any()
    # Thousands separators ("2,351") are numbers.
    assert (_indicator(tables, "alcohol")["value"] > 999).sum() == 2
    assert _indicator(tables, "alcohol")["value"].max() == 2351
    stats = tables.indicators.groupby("indicator")["suppressed"].sum()
    assert stats[stats > 0].to_dict() == {
        "attainment": 14,
        "cif": 2,
        "crime_rate": 2,
        "depress": 2,
        "lbwt": 1,
        "university": 3,
    }


@pytest.mark.real_data
def test_detect_simd_vintage_from_headers(real_data: Path) -> None:
    def header(name: str) -> list[str]:
        with open(real_data / "simd" / name, newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle))

    assert detect_simd_vintage(header("simd2016_withinds.csv")) == "2016"
    assert detect_simd_vintage(header("simd2020v2_withinds.csv")) == "2020v2"
    assert detect_simd_vintage([" data zone ", "simd2020v2_rank"]) == "2020v2"
    assert detect_simd_vintage(header("simd2020v2_datazone_lookup.csv")) is None
    assert detect_simd_vintage(["year", "zone", "domain", "measure", "value"]) is None


@pytest.mark.real_data
def test_explicit_vintage_must_match_header(real_data: Path) -> None:
    path = real_data / "simd" / "simd2020v2_withinds.csv"
    with pytest.raises(SourceFormatError) as caught:
        read_simd_withinds(path, "2016")
    message = str(caught.value)
    assert "simd2020v2_withinds.csv" in message and "row 1" in message
    assert "SIMD 2016 was asked for" in message and "'SIMD2020v2_Rank'" in message


# --- Synthetic files in a made-up DZ2022 vintage ----------------------------------------

NEW_ZONES = 40
NEW_COLUMNS = {
    "dz_column": "DataZone2022",
    "total_population_column": "Population",
    "working_age_population_column": "Working Age Population",
    "overall_rank_column": "SIMD2026_Rank",
    **{f"{d}_rank_column": f"SIMD2026_{d.title()}_Rank" for d in contract.SIMD_DOMAINS[1:]},
    "decile_column": "SIMD2026_Decile",
    "quintile_column": "SIMD2026_Quintile",
    "vigintile_column": "SIMD2026_Vigintile",
}


@pytest.fixture
def config_2026(tmp_path: Path) -> Path:
    """A copy of data/config with a small DZ2022 `2026` vintage added as a row."""
    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    vintages = pd.read_csv(config / "simd_vintages.csv", dtype=str, keep_default_na=False)
    row = {**vintages.iloc[-1].to_dict(), **NEW_COLUMNS}
    row.update(vintage="2026", dz_version="DZ2022", n_zones=str(NEW_ZONES), sparql_year="2026")
    row.update(missing_markers="", notes="made up for tests")
    pd.concat([vintages, pd.DataFrame([row])]).to_csv(config / "simd_vintages.csv", index=False)
    indicators = pd.read_csv(config / "indicators.csv", dtype=str, keep_default_na=False)
    indicators["column_2026"] = indicators["column_2020v2"].str.lower()
    indicators["numerator_column_2026"] = indicators["numerator_column_2020v2"].str.lower()
    indicators.to_csv(config / "indicators.csv", index=False)
    return config


def _synthetic_rows(config_dir: Path) -> tuple[list[str], list[list[str]]]:
    """A valid made-up 2026 table: header and rows of strings."""
    rng = np.random.default_rng(7)
    specs = load_indicator_specs("2026", config_dir)
    header = [
        NEW_COLUMNS["dz_column"],
        "Council",
        NEW_COLUMNS["total_population_column"],
        NEW_COLUMNS["working_age_population_column"],
        NEW_COLUMNS["overall_rank_column"],
        "SIMD2026_Decile",
        "SIMD2026_Quintile",
        "SIMD2026_Vigintile",
        *(NEW_COLUMNS[f"{d}_rank_column"] for d in contract.SIMD_DOMAINS[1:]),
    ]
    header += [s.column for s in specs]
    overall = rng.permutation(NEW_ZONES) + 1
    bands = simd_bands(pd.Series(overall.astype(float)), NEW_ZONES)
    rows = []
    for i in range(NEW_ZONES):
        population = 700 + i
        row = [f"S01{13482 + i:06d}", "Demo City", str(population), str(population // 2)]
        row += [str(overall[i]), *(str(bands[b][i]) for b in ("decile", "quintile", "vigintile"))]
        row += [str(((overall[i] + shift) % NEW_ZONES) + 1) for shift in range(7)]
        for spec in specs:
            if spec.unit == "proportion":
                row.append(f"{(i * 3) % 50}%")
            elif spec.unit == "count":
                row.append(str(i * 2))
            else:
                row.append(f"{50 + i * 1.5:g}")
        rows.append(row)
    return header, rows


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC).writerows([header, *rows])
    return path


def _set(header: list[str], rows: list[list[str]], index: int, column: str, value: str) -> None:
    rows[index][header.index(column)] = value


def test_new_vintage_is_only_configuration(tmp_path: Path, config_2026: Path) -> None:
    header, rows = _synthetic_rows(config_2026)
    _set(header, rows, 3, "attendance", "*")
    _set(header, rows, 4, "cif", "")
    _set(header, rows, 5, "income_rate", "14%")
    _set(header, rows, 6, "alcohol", "1,234.5")
    # A two-way tie in the housing domain.
    housing = NEW_COLUMNS["housing_rank_column"]
    tied = [i for i, row in enumerate(rows) if row[header.index(housing)] in ("4", "5")]
    for i in tied:
        _set(header, rows, i, housing, "4.5")
    path = _write(tmp_path / "simd2026.csv", header, rows)

    assert detect_simd_vintage(header, config_dir=config_2026) == "2026"
    tables = read_simd_withinds(path, config_dir=config_2026)
    assert tables.vintage == "2026"
    assert len(tables.ranks) == 8 * NEW_ZONES
    indicators = tables.indicators.set_index(["dz_code", "indicator"])
    zone = [f"S01{13482 + i:06d}" for i in range(NEW_ZONES)]
    assert indicators.loc[(zone[3], "attendance"), "suppressed"]
    assert pd.isna(indicators.loc[(zone[3], "attendance"), "value"])
    assert pd.isna(indicators.loc[(zone[4], "cif"), "value"])
    assert not indicators.loc[(zone[4], "cif"), "suppressed"]
    assert indicators.loc[(zone[5], "income_rate"), "value"] == 0.14
    assert indicators.loc[(zone[5], "income_rate"), "numerator"] == 10
    assert indicators.loc[(zone[5], "income_rate"), "denominator"] == 705
    assert indicators.loc[(zone[6], "alcohol"), "value"] == 1234.5
    ranks = tables.ranks.set_index(["dz_code", "domain"])
    assert all(ranks.loc[(zone[i], "housing"), "rank"] == 4.5 for i in tied)
    # Real config untouched: the 2026 vintage is not known without the tmp config.
    assert detect_simd_vintage(header) is None


def _expect_error(path: Path, config_dir: Path, *, row: int | None, field: str | None, text: str):
    with pytest.raises(SourceFormatError) as caught:
        read_simd_withinds(path, config_dir=config_dir)
    error = caught.value
    assert error.path.endswith(path.name) and path.name in str(error)
    assert (error.row, error.field) == (row, field), str(error)
    assert text in str(error), str(error)
    if row is not None:
        assert f"row {row}" in str(error)
    if field is not None:
        assert repr(field) in str(error)


def test_bad_cell_names_file_row_and_field(tmp_path: Path, config_2026: Path) -> None:
    header, rows = _synthetic_rows(config_2026)
    _set(header, rows, 4, "attendance", "high")
    path = _write(tmp_path / "bad_cell.csv", header, rows)
    _expect_error(path, config_2026, row=6, field="attendance", text="'high' is not a number")


def test_percentage_outside_proportion_column(tmp_path: Path, config_2026: Path) -> None:
    header, rows = _synthetic_rows(config_2026)
    _set(header, rows, 0, "smr", "95%")
    path = _write(tmp_path / "percent.csv", header, rows)
    _expect_error(path, config_2026, row=2, field="smr", text="is a percentage")


def test_duplicate_data_zone(tmp_path: Path, config_2026: Path) -> None:
    header, rows = _synthetic_rows(config_2026)
    rows[9][0] = rows[2][0]
    path = _write(tmp_path / "duplicate.csv", header, rows)
    _expect_error(path, config_2026, row=11, field="DataZone2022", text="first on row 4")


def test_bad_data_zone_code(tmp_path: Path, config_2026: Path) -> None:
    header, rows = _synthetic_rows(config_2026)
    rows[0][0] = "S0100001"
    path = _write(tmp_path / "code.csv", header, rows)
    _expect_error(path, config_2026, row=2, field="DataZone2022", text="not a data zone code")


def test_wrong_number_of_zones(tmp_path: Path, config_2026: Path) -> None:
    header, rows = _synthetic_rows(config_2026)
    path = _write(tmp_path / "short.csv", header, rows[:-1])
    _expect_error(
        path, config_2026, row=None, field=None, text="39 data zones, but SIMD 2026 ranks 40"
    )


def test_rank_out_of_range(tmp_path: Path, config_2026: Path) -> None:
    header, rows = _synthetic_rows(config_2026)
    _set(header, rows, 7, NEW_COLUMNS["crime_rank_column"], "41")
    path = _write(tmp_path / "rank.csv", header, rows)
    field = NEW_COLUMNS["crime_rank_column"]
    _expect_error(path, config_2026, row=9, field=field, text="rank 41 is not a whole or x.5")


def test_published_band_disagreeing_with_rank(tmp_path: Path, config_2026: Path) -> None:
    header, rows = _synthetic_rows(config_2026)
    position = header.index("SIMD2026_Decile")
    index = next(i for i, row in enumerate(rows) if row[position] == "3")
    rows[index][position] = "4"
    path = _write(tmp_path / "band.csv", header, rows)
    _expect_error(path, config_2026, row=index + 2, field="SIMD2026_Decile", text="disagrees")


def test_missing_column(tmp_path: Path, config_2026: Path) -> None:
    header, rows = _synthetic_rows(config_2026)
    drop = header.index("broadband")
    path = _write(
        tmp_path / "missing.csv",
        [h for j, h in enumerate(header) if j != drop],
        [[c for j, c in enumerate(r) if j != drop] for r in rows],
    )
    _expect_error(path, config_2026, row=1, field="broadband", text="missing column(s) broadband")


def test_header_matching_tolerates_case_and_spaces(tmp_path: Path, config_2026: Path) -> None:
    header, rows = _synthetic_rows(config_2026)
    shouted = [f" {name.upper().replace('_', ' ')} " for name in header]
    tables = read_simd_withinds(
        _write(tmp_path / "shout.csv", shouted, rows), config_dir=config_2026
    )
    assert len(tables.indicators) == NEW_ZONES * len(load_indicator_specs("2026", config_2026))


def test_not_simd_html_and_empty_files(tmp_path: Path) -> None:
    html = tmp_path / "download.csv"
    html.write_text("<!DOCTYPE html>\n<html><body>Service unavailable</body></html>\n")
    with pytest.raises(SourceFormatError, match="HTML page"):
        read_simd_withinds(html)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(SourceFormatError, match="empty"):
        read_simd_withinds(empty)
    other = _write(tmp_path / "other.csv", ["a", "b"], [["1", "2"]])
    with pytest.raises(SourceFormatError, match="not a SIMD with-indicators table"):
        read_simd_withinds(other)
