"""Deprivation assets: SIMD ranks and indicators as contract marts, with their checks.

What belongs here: `fct_simd`, `fct_indicator`, `dim_simd_vintage` and the checks that would
catch a wrong load — a data zone missing or doubled in a vintage, ranks that are not a
permutation of 1..N, bands that disagree with SIMD's cut points, a suppressed cell read as 0.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets._io import check_result
from assets.geography import dim_datazone
from assets.models import sql_model_asset
from pipelines.resources import WarehouseResource

GROUP = "deprivation"
SIMD_DEPS = [["staging", "simd_rank"]]

fct_simd = sql_model_asset(
    "fct_simd",
    group=GROUP,
    deps=SIMD_DEPS,
    description="SIMD ranks, long: one row per data zone × vintage × domain (overall and the "
    "7 domains) with decile, quintile and vigintile. Rank 1 is the most deprived. Vintages "
    "2016 and 2020v2 are comparable only as shares in deprived bands, never as rank "
    "differences. Part of the data contract.",
)
fct_indicator = sql_model_asset(
    "fct_indicator",
    group=GROUP,
    deps=[["staging", "simd_indicator"]],
    description="SIMD indicators, long: value, numerator and denominator where SIMD publishes "
    "counts, unit, and `suppressed` for the publisher's '*' (value NULL, never 0). "
    "Part of the data contract.",
)
dim_simd_vintage = sql_model_asset(
    "dim_simd_vintage",
    group=GROUP,
    deps=SIMD_DEPS,
    params=lambda sources: {"vintages_csv": str(Path(sources.config_dir) / "simd_vintages.csv")},
    description="The SIMD vintages loaded, with the data zone version each is built on and "
    "how many data zones were loaded against how many it should have.",
)


@dg.asset_check(
    asset=fct_simd,
    description="Exactly one row per data zone per vintage per "
    "domain, and every vintage has all of its data zones.",
)
def fct_simd_one_row_per_dz(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        duplicates = con.execute(
            "SELECT dz_code, vintage, domain, count(*) AS rows FROM marts.fct_simd "
            "GROUP BY ALL HAVING count(*) > 1 LIMIT 20"
        ).fetchdf()
        coverage = con.execute(
            """
            SELECT s.vintage, s.domain, count(*) AS dz_rows, v.n_zones
            FROM marts.fct_simd AS s JOIN marts.dim_simd_vintage AS v USING (vintage)
            GROUP BY s.vintage, s.domain, v.n_zones
            ORDER BY s.vintage, s.domain
            """
        ).fetchdf()
    short = coverage[coverage["dz_rows"] != coverage["n_zones"]]
    return check_result(
        duplicates.empty and short.empty,
        "no duplicate (dz, vintage, domain); each vintage × domain has n_zones rows",
        failures=short if duplicates.empty else duplicates,
        vintage_domains=len(coverage),
    )


@dg.asset_check(
    asset=fct_simd,
    description="Per vintage and domain, ranks are a permutation "
    "of 1..N up to the ties SIMD publishes; bands nest (vigintile in decile in "
    "quintile).",
)
def fct_simd_ranks_are_permutation(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    # Sorted, the k data zones of a tie group occupy positions lo..hi; the published tied
    # rank must lie within them (SIMD averages most ties, x.5, but 2020v2 publishes the 12
    # zero-income zones at 6969 of positions 6965..6976). An untied rank must equal its
    # position. Together that rules out gaps, duplicates and out-of-range ranks.
    with warehouse.connect(read_only=True) as con:
        failures = con.execute(
            """
            WITH ordered AS (
                SELECT vintage, domain, rank,
                       row_number() OVER (PARTITION BY vintage, domain ORDER BY rank) AS position
                FROM marts.fct_simd
            ),
            tie_groups AS (
                SELECT vintage, domain, rank, min(position) AS lo, max(position) AS hi,
                       count(*) AS zones
                FROM ordered GROUP BY ALL
            )
            SELECT vintage, domain, rank, lo, hi, zones FROM tie_groups
            WHERE rank IS NULL OR rank < lo OR rank > hi
            UNION ALL
            SELECT vintage, domain, NULL, NULL, NULL, count(*) FROM marts.fct_simd
            WHERE decile IS NULL OR quintile IS NULL OR vigintile IS NULL
               OR CAST(ceil(decile / 2.0) AS INTEGER) <> quintile
               OR CAST(ceil(vigintile / 2.0) AS INTEGER) <> decile
            GROUP BY ALL
            ORDER BY 1, 2, 3
            """
        ).fetchdf()
        ties = con.execute(
            "SELECT count(*) FROM (SELECT vintage, domain, rank FROM marts.fct_simd "
            "GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()[0]
    return check_result(
        failures.empty,
        "each rank within the positions its tie group occupies; bands present and nested",
        failures=failures,
        tie_groups=int(ties),
    )


@dg.asset_check(
    asset=fct_simd,
    description="Every SIMD data zone is in the data zone lookup.",
    additional_deps=[dim_datazone],
)
def fct_simd_in_lookup(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        failures = con.execute(
            """
            SELECT DISTINCT s.vintage, s.dz_code FROM marts.fct_simd AS s
            LEFT JOIN marts.dim_datazone AS d USING (dz_code)
            JOIN marts.dim_simd_vintage AS v USING (vintage)
            WHERE d.dz_code IS NULL AND v.dz_version = 'DZ2011'
            ORDER BY 1, 2
            """
        ).fetchdf()
    return check_result(
        failures.empty,
        "SIMD vintages on DZ2011 cover only data zones in the DZ2011 lookup",
        failures=failures,
    )


@dg.asset_check(
    asset=fct_indicator,
    description="Suppressed cells carry no value, and no "
    "indicator value is outside its unit's possible range.",
)
def fct_indicator_suppression_and_range(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        failures = con.execute(
            """
            SELECT vintage, indicator, unit, count(*) AS bad_rows,
                   count(*) FILTER (suppressed AND value IS NOT NULL) AS suppressed_with_value,
                   min(value) AS min_value, max(value) AS max_value
            FROM marts.fct_indicator
            WHERE (suppressed AND value IS NOT NULL) OR value < 0
               OR (unit = 'proportion' AND value > 1)
            GROUP BY ALL
            ORDER BY vintage, indicator
            """
        ).fetchdf()
        suppressed = con.execute(
            "SELECT count(*) FROM marts.fct_indicator WHERE suppressed"
        ).fetchone()[0]
    return check_result(
        failures.empty,
        "suppressed ⇒ value NULL; values non-negative; proportions within 0..1",
        failures=failures,
        suppressed_cells=int(suppressed),
    )


@dg.asset_check(
    asset=fct_indicator,
    description="Numerators do not exceed their denominators "
    "(WARN: SIMD divides Census 2011 counts by later populations, so a few data zones "
    "legitimately do; they are listed).",
)
def fct_indicator_numerator_within_denominator(
    warehouse: WarehouseResource,
) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        failures = con.execute(
            "SELECT vintage, indicator, dz_code, numerator, denominator, value "
            "FROM marts.fct_indicator WHERE numerator > denominator ORDER BY ALL"
        ).fetchdf()
    return check_result(
        failures.empty,
        "numerator <= denominator",
        severity=dg.AssetCheckSeverity.WARN,
        failures=failures,
    )
