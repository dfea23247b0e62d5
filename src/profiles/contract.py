"""The published data contract: table names, column names and controlled vocabularies.

What belongs here: identifiers that other code, SQL models, exports and users depend on
(column lists of the contract tables, SIMD domain and vintage ids, GSS code patterns).
Nothing here reads files or touches the warehouse. Changing a name here is a breaking
change to the contract documented in the README.
"""

from __future__ import annotations

import re
from typing import Final

# --- SIMD vocabularies -------------------------------------------------------------------

SIMD_DOMAINS: Final[tuple[str, ...]] = (
    "overall",
    "income",
    "employment",
    "health",
    "education",
    "access",
    "crime",
    "housing",
)
"""Domain ids of `fct_simd.domain`; `overall` is the SIMD rank itself."""

SIMD_VINTAGES: Final[tuple[str, ...]] = ("2016", "2020v2")
"""Vintages this release knows how to read. New vintages (e.g. a DZ2022-based `2026`) are
rows in `data/config/simd_vintages.csv`, not schema changes."""

DZ_VERSIONS: Final[tuple[str, ...]] = ("DZ2011", "DZ2022")

# --- GSS codes ---------------------------------------------------------------------------

DZ_CODE = re.compile(r"^S01\d{6}$")
IZ_CODE = re.compile(r"^S02\d{6}$")
COUNCIL_CODE = re.compile(r"^S12\d{6}$")
WARD_CODE = re.compile(r"^S13\d{6}$")
SCOTLAND_CODE: Final[str] = "S92000003"

# --- Contract tables (marts) -------------------------------------------------------------

DIM_DATAZONE_COLUMNS: Final[tuple[str, ...]] = (
    "dz_code",
    "dz_name",
    "iz_code",
    "iz_name",
    "ward_code",
    "ward_name",
    "council_code",
    "council_name",
    "urban_rural_6",
    "population",
)

FCT_SIMD_COLUMNS: Final[tuple[str, ...]] = (
    "dz_code",
    "vintage",
    "domain",
    "rank",
    "decile",
    "quintile",
    "vigintile",
)

FCT_INDICATOR_COLUMNS: Final[tuple[str, ...]] = (
    "dz_code",
    "vintage",
    "indicator",
    "value",
    "numerator",
    "denominator",
    "unit",
    "suppressed",
)

# Staging frames produced by the parsers in `profiles.sources`. They carry the contract
# columns plus what the warehouse needs for lineage.
STG_SIMD_RANK_COLUMNS: Final[tuple[str, ...]] = (*FCT_SIMD_COLUMNS, "source_file")
STG_INDICATOR_COLUMNS: Final[tuple[str, ...]] = (*FCT_INDICATOR_COLUMNS, "source_file")
STG_DZ_LOOKUP_COLUMNS: Final[tuple[str, ...]] = (
    "dz_code",
    "dz_name",
    "iz_code",
    "iz_name",
    "ward_code",
    "ward_name",
    "council_code",
    "council_name",
    "urban_rural_6",
    "urban_rural_6_name",
    "source_file",
)
STG_POPULATION_COLUMNS: Final[tuple[str, ...]] = (
    "area_code",
    "year",
    "sex",
    "age_band",
    "population",
    "source_file",
)
"""Long population: `sex` in {all, female, male}; `age_band` is `all` or a band label such
as `0`, `1`, ..., `90+` (single years) or `0-15`; `area_code` is any GSS code (DZ rows are
the base; S12/S92 rows from published totals are kept to check sums against)."""

STG_POSTCODE_COLUMNS: Final[tuple[str, ...]] = (
    "postcode",
    "postcode_key",
    "dz_code",
    "ward_code",
    "council_code",
    "easting",
    "northing",
    "latitude",
    "longitude",
    "is_live",
    "source_file",
)
"""`postcode` in the canonical 'DD1 1DD' form; `postcode_key` upper case with no spaces
(the join key); easting/northing EPSG:27700; lat/long EPSG:4326."""

STG_BOUNDARY_COLUMNS: Final[tuple[str, ...]] = (
    "area_code",
    "area_name",
    "area_type",
    "geometry_wkb",
    "area_km2",
    "was_repaired",
    "source_file",
)
"""`area_type` is `dz` or `ward` (later `iz`, `locality`); `geometry_wkb` is EPSG:27700."""


def empty_frame(columns: tuple[str, ...] | list[str]):  # -> pd.DataFrame
    """A zero-row frame with the given columns, typed as text.

    Written to DuckDB it becomes VARCHAR columns, so models that cast or pattern-match
    them still bind (an untyped empty pandas column would arrive as INTEGER).
    """
    import pandas as pd

    return pd.DataFrame({column: pd.Series(dtype="string") for column in columns})
