"""SIMD vintages, indicator definitions and banding: the pure rules, no file parsing.

What belongs here: loading the versioned SIMD configuration under `data/config/`
(`simd_vintages.csv`: one row per vintage with its zone count and published column names;
`indicators.csv`: harmonised indicator ids with unit, polarity and per-vintage columns)
and `simd_bands`, which turns ranks into deciles, quintiles and vigintiles with SIMD's
published cut points. Reading the published files is `profiles.sources.simd`'s job.

A new vintage (e.g. a DZ2022-based `2026`) is a new row in `simd_vintages.csv` plus
`column_2026` / `numerator_column_2026` columns in `indicators.csv`; no code changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from profiles import contract
from profiles.errors import ConfigError

REPO_ROOT: Final[Path] = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_DIR: Final[Path] = REPO_ROOT / "data" / "config"

VINTAGES_FILE: Final[str] = "simd_vintages.csv"
INDICATORS_FILE: Final[str] = "indicators.csv"

BANDS: Final[tuple[tuple[str, int], ...]] = (("decile", 10), ("quintile", 5), ("vigintile", 20))
"""Band columns of `fct_simd` and how many bands each splits the zones into."""

CUT_RULES: Final[tuple[str, ...]] = ("floor", "round")
"""How a band's last rank is derived from b * N / k: `floor` (SIMD 2020v2; statistics.gov.scot
2016 domains) or `round` half up (the overall bands of SIMD 2016's with-indicators file)."""

INDICATOR_UNITS: Final[tuple[str, ...]] = (
    "proportion",  # 0-1 (published as "14%")
    "ratio",  # standardised ratio, 100 = Scotland
    "rate_per_10000",
    "minutes",
    "score",
    "count",
)
POLARITIES: Final[tuple[str, ...]] = ("higher_is_worse", "higher_is_better")
DENOMINATORS: Final[tuple[str, ...]] = ("total_population", "working_age_population")
"""Population measures an indicator's numerator can be divided by (columns of
`SimdTables.population`)."""

_SNAKE_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_VINTAGE_COLUMNS: Final[tuple[str, ...]] = (
    "vintage",
    "dz_version",
    "n_zones",
    "sparql_year",
    "published",
    "population_year",
    "dz_column",
    "total_population_column",
    "working_age_population_column",
    *(f"{domain}_rank_column" for domain in contract.SIMD_DOMAINS),
    *(f"{band}_column" for band, _ in BANDS),
    "overall_band_cuts",
    "domain_band_cuts",
    "suppression_marker",
    "missing_markers",
    "notes",
)
_INDICATOR_COLUMNS: Final[tuple[str, ...]] = (
    "indicator",
    "label",
    "domain",
    "unit",
    "polarity",
    "denominator",
    "scale",
    "has_numerator",
    "notes",
)


@dataclass(frozen=True)
class SimdVintage:
    """One row of `simd_vintages.csv`.

    `rank_columns` maps each id of `contract.SIMD_DOMAINS` (incl. `overall`) to the published
    rank column, `band_columns` maps decile/quintile/vigintile to the published overall band
    columns. `overall_band_cuts` / `domain_band_cuts` name the `CUT_RULES` entry the
    publisher used for the overall and for the domain bands. `missing_markers` are cell
    values read as "no value" (not suppressed), e.g. a spreadsheet's `#VALUE!`;
    `suppression_marker` (`*`) marks a disclosure-controlled cell.
    """

    vintage: str
    dz_version: str
    n_zones: int
    sparql_year: str
    published: str
    population_year: int
    dz_column: str
    total_population_column: str
    working_age_population_column: str
    rank_columns: dict[str, str]
    band_columns: dict[str, str]
    overall_band_cuts: str
    domain_band_cuts: str
    suppression_marker: str
    missing_markers: tuple[str, ...]
    notes: str


@dataclass(frozen=True)
class IndicatorSpec:
    """How one harmonised indicator is read from one vintage's file.

    The stored value is the published number times `scale` (0.01 turns "14%" into 0.14).
    `numerator_column` is the published count behind a rate, divided by the population
    measure named by `denominator`; both are `None` when the vintage publishes no count.
    """

    indicator: str
    label: str
    domain: str
    unit: str
    polarity: str
    column: str
    numerator_column: str | None
    denominator: str | None
    scale: float
    notes: str


def config_path(name: str, config_dir: str | Path | None = None) -> Path:
    """Path of a config file in `config_dir` (default: the repository's `data/config`)."""
    return Path(config_dir) / name if config_dir is not None else DEFAULT_CONFIG_DIR / name


def _read_config_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.columns = [str(column).strip() for column in frame.columns]
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ConfigError(f"{path}: missing column(s) {', '.join(missing)}")
    return frame.apply(lambda column: column.str.strip())


def _config_int(value: str, path: Path, line: int, column: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{path}, row {line}: {column} {value!r} is not an integer") from None
    if number <= 0:
        raise ConfigError(f"{path}, row {line}: {column} must be positive, got {number}")
    return number


def load_simd_vintages(config_dir: str | Path | None = None) -> dict[str, SimdVintage]:
    """All SIMD vintages in `simd_vintages.csv`, keyed by vintage id, in file order."""
    path = config_path(VINTAGES_FILE, config_dir)
    frame = _read_config_csv(path, _VINTAGE_COLUMNS)
    vintages: dict[str, SimdVintage] = {}
    sparql_years: set[str] = set()
    for position, row in enumerate(frame.to_dict("records")):
        line = position + 2
        vintage = row["vintage"]
        if not vintage or vintage in vintages:
            raise ConfigError(f"{path}, row {line}: vintage {vintage!r} is empty or repeated")
        if row["dz_version"] not in contract.DZ_VERSIONS:
            raise ConfigError(
                f"{path}, row {line}: dz_version {row['dz_version']!r} is not one of "
                f"{', '.join(contract.DZ_VERSIONS)}"
            )
        if row["sparql_year"] in sparql_years:
            raise ConfigError(f"{path}, row {line}: sparql_year {row['sparql_year']} repeated")
        sparql_years.add(row["sparql_year"])
        for column in ("overall_band_cuts", "domain_band_cuts"):
            if row[column] not in CUT_RULES:
                raise ConfigError(
                    f"{path}, row {line}: {column} {row[column]!r} is not one of "
                    f"{', '.join(CUT_RULES)}"
                )
        empty = [column for column in _VINTAGE_COLUMNS[:-2] if not row[column]]
        if empty:
            raise ConfigError(f"{path}, row {line}: empty {', '.join(empty)}")
        vintages[vintage] = SimdVintage(
            vintage=vintage,
            dz_version=row["dz_version"],
            n_zones=_config_int(row["n_zones"], path, line, "n_zones"),
            sparql_year=row["sparql_year"],
            published=row["published"],
            population_year=_config_int(row["population_year"], path, line, "population_year"),
            dz_column=row["dz_column"],
            total_population_column=row["total_population_column"],
            working_age_population_column=row["working_age_population_column"],
            rank_columns={d: row[f"{d}_rank_column"] for d in contract.SIMD_DOMAINS},
            band_columns={band: row[f"{band}_column"] for band, _ in BANDS},
            overall_band_cuts=row["overall_band_cuts"],
            domain_band_cuts=row["domain_band_cuts"],
            suppression_marker=row["suppression_marker"],
            missing_markers=tuple(m for m in row["missing_markers"].split("|") if m),
            notes=row["notes"],
        )
    return vintages


def get_simd_vintage(vintage: str, config_dir: str | Path | None = None) -> SimdVintage:
    """The configuration of one vintage; `ConfigError` names the known ones otherwise."""
    vintages = load_simd_vintages(config_dir)
    if vintage not in vintages:
        raise ConfigError(
            f"unknown SIMD vintage {vintage!r}; {config_path(VINTAGES_FILE, config_dir)} "
            f"knows {', '.join(vintages)}"
        )
    return vintages[vintage]


def vintage_for_sparql_year(year: str, config_dir: str | Path | None = None) -> str | None:
    """The vintage statistics.gov.scot files under reference period `year`, if any."""
    for vintage in load_simd_vintages(config_dir).values():
        if vintage.sparql_year == str(year).strip():
            return vintage.vintage
    return None


def _load_indicator_frame(config_dir: str | Path | None) -> tuple[Path, pd.DataFrame]:
    path = config_path(INDICATORS_FILE, config_dir)
    frame = _read_config_csv(path, _INDICATOR_COLUMNS)
    domains = contract.SIMD_DOMAINS[1:]
    seen: set[str] = set()
    numerator_columns = [c for c in frame.columns if c.startswith("numerator_column_")]
    for position, row in enumerate(frame.to_dict("records")):
        where = f"{path}, row {position + 2}"
        indicator = row["indicator"]
        if not _SNAKE_ID.match(indicator) or indicator in seen:
            raise ConfigError(f"{where}: indicator {indicator!r} is not a new snake_case id")
        seen.add(indicator)
        for column, allowed in (
            ("domain", domains),
            ("unit", INDICATOR_UNITS),
            ("polarity", POLARITIES),
        ):
            if row[column] not in allowed:
                raise ConfigError(
                    f"{where}: {column} {row[column]!r} is not one of {', '.join(allowed)}"
                )
        if row["has_numerator"] not in ("true", "false"):
            raise ConfigError(f"{where}: has_numerator must be true or false")
        has_numerator = row["has_numerator"] == "true"
        publishes_numerator = any(row[c] for c in numerator_columns)
        if has_numerator != publishes_numerator:
            raise ConfigError(
                f"{where}: has_numerator is {row['has_numerator']} but numerator columns are "
                f"{'set' if publishes_numerator else 'empty'}"
            )
        if has_numerator != (row["denominator"] in DENOMINATORS):
            raise ConfigError(
                f"{where}: denominator must be one of {', '.join(DENOMINATORS)} exactly when "
                "has_numerator is true"
            )
        try:
            scale = float(row["scale"])
        except ValueError:
            raise ConfigError(f"{where}: scale {row['scale']!r} is not a number") from None
        if not scale > 0:
            raise ConfigError(f"{where}: scale must be positive")
    return path, frame


def load_indicator_catalogue(config_dir: str | Path | None = None) -> pd.DataFrame:
    """The harmonised indicators (id, label, domain, unit, polarity, has_numerator, notes)."""
    _, frame = _load_indicator_frame(config_dir)
    catalogue = frame.loc[:, ["indicator", "label", "domain", "unit", "polarity", "notes"]].copy()
    catalogue.insert(5, "has_numerator", frame["has_numerator"] == "true")
    return catalogue.reset_index(drop=True)


def load_indicator_specs(
    vintage: str, config_dir: str | Path | None = None
) -> tuple[IndicatorSpec, ...]:
    """The indicators published in `vintage`, in `indicators.csv` order.

    Indicators whose `column_<vintage>` is empty are not published in that vintage and are
    left out. `ConfigError` if `indicators.csv` has no `column_<vintage>` column at all.
    """
    path, frame = _load_indicator_frame(config_dir)
    value_column = f"column_{vintage}"
    numerator_column = f"numerator_column_{vintage}"
    if value_column not in frame.columns:
        raise ConfigError(f"{path}: no {value_column} column for SIMD vintage {vintage!r}")
    specs = []
    for row in frame.to_dict("records"):
        if not row[value_column]:
            continue
        numerator = row.get(numerator_column) or None
        specs.append(
            IndicatorSpec(
                indicator=row["indicator"],
                label=row["label"],
                domain=row["domain"],
                unit=row["unit"],
                polarity=row["polarity"],
                column=row[value_column],
                numerator_column=numerator,
                denominator=row["denominator"] if numerator else None,
                scale=float(row["scale"]),
                notes=row["notes"],
            )
        )
    return tuple(specs)


def band_cut_points(n_zones: int, n_bands: int, rule: str = "floor") -> np.ndarray:
    """Highest rank in each band: band b of k ends at floor(b * N / k) or round(b * N / k).

    For N = 6,976 the `floor` deciles end at 697, 1395, 2092, ..., 6976 (SIMD 2020v2) and
    the `round` deciles at 698, 1395, 2093, ..., 6976 (SIMD 2016's overall bands).
    """
    if n_zones <= 0 or n_bands <= 0:
        raise ValueError("n_zones and n_bands must be positive")
    scaled = np.arange(1, n_bands + 1, dtype=np.int64) * n_zones
    if rule == "floor":
        return scaled // n_bands
    if rule == "round":
        return (2 * scaled + n_bands) // (2 * n_bands)
    raise ValueError(f"cut rule {rule!r} is not one of {', '.join(CUT_RULES)}")


def simd_bands(rank: pd.Series, n_zones: int, rule: str = "floor") -> pd.DataFrame:
    """Decile, quintile and vigintile (1 = most deprived) of each rank, as `Int64`.

    A rank falls in the first band whose last rank (`band_cut_points` with `rule`) is at
    least the rank value. Tied ranks published as x.5 are compared by that value: a tie
    straddling a cut point (e.g. 697.5 between deciles 1 and 2 under `floor`) goes to the
    higher, less deprived band, so both tied zones share a band and "decile 1" means
    exactly "rank <= 697", the test profiles use for "the 10% most deprived". Missing
    ranks give missing bands; ranks outside 1..n_zones raise `ValueError`. The result
    keeps `rank`'s index.
    """
    values = pd.to_numeric(rank, errors="raise").to_numpy(dtype="float64", na_value=np.nan)
    known = ~np.isnan(values)
    outside = known & ((np.nan_to_num(values, nan=1.0) < 1) | (values > n_zones))
    if outside.any():
        raise ValueError(f"rank {values[outside][0]:g} is outside 1..{n_zones}")
    columns: dict[str, pd.arrays.IntegerArray] = {}
    for band, n_bands in BANDS:
        cuts = band_cut_points(n_zones, n_bands, rule)
        found = np.searchsorted(cuts, np.where(known, values, 1.0), side="left") + 1
        columns[band] = pd.arrays.IntegerArray(found.astype("int64"), mask=~known)
    return pd.DataFrame(columns, index=rank.index)
