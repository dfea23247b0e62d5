"""Locality profile assets: deprivation and indicators per locality, council and Scotland.

What belongs here: materializing `profiles.profile` for the localities in
`marts.dim_locality` (all councils, or the one `--council` names): the long contract table
`locality_profile`, the readable `locality_summary`, each area's most deprived data zones,
and the inequality table; with checks that every locality has complete rows, that no
published people count is below the disclosure threshold, and that the council figures
reproduce SIMD's own published headline (shares of data zones in the most deprived 20%).
"""

from pathlib import Path

import dagster as dg
import pandas as pd
import yaml

from assets._io import DUCKDB_POOL, OWNERS, check_result, write_frame
from assets.deprivation import fct_indicator, fct_simd
from pipelines.resources import SourcesResource, WarehouseResource
from profiles.contract import SIMD_VINTAGES
from profiles.profile import assemble, deprivation, indicators, inequality
from profiles.simd import load_indicator_catalogue
from profiles.stats.disclosure import load_disclosure_rules

GROUP = "deprivation"
TAGS = {"dagster/kind/duckdb": "", "dagster/kind/pandas": ""}
LOCALITY_DEPS = [["marts", "dim_locality"], ["marts", "bridge_dz_locality"]]


def _inputs(con) -> dict[str, pd.DataFrame]:
    return {
        "fct_simd": con.execute("SELECT * FROM marts.fct_simd").fetchdf(),
        "simd_population": con.execute(
            "SELECT dz_code, vintage, total_population FROM staging.simd_population"
        ).fetchdf(),
        "dim_datazone": con.execute("SELECT * FROM marts.dim_datazone").fetchdf(),
        "bridge": con.execute("SELECT * FROM marts.bridge_dz_locality").fetchdf(),
        "dim_locality": con.execute("SELECT * FROM marts.dim_locality").fetchdf(),
        "fct_indicator": con.execute("SELECT * FROM marts.fct_indicator").fetchdf(),
    }


def _profile_settings(config_dir: Path) -> dict:
    return yaml.safe_load((config_dir / "profile.yaml").read_text(encoding="utf-8"))


def _headline_markdown(summary: pd.DataFrame) -> str:
    latest = summary["vintage"].max() if not summary.empty else None
    rows = summary[(summary["vintage"] == latest) & (summary["area_level"] != "scotland")]
    columns = [
        c
        for c in (
            "council_code",
            "locality_name",
            "population",
            "local_share_most_deprived_20",
            "people_share_most_deprived_20",
            "income_deprived",
            "most_deprived_dz_name",
        )
        if c in rows.columns
    ]
    head = rows[columns].head(40).copy()
    for column in (
        "local_share_most_deprived_20",
        "people_share_most_deprived_20",
        "income_deprived",
    ):
        if column in head:
            head[column] = (head[column] * 100).round(1).astype(str) + "%"
    return f"SIMD {latest}\n\n" + head.to_markdown(index=False)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["marts", "locality_profile"],
            group_name=GROUP,
            owners=OWNERS,
            deps=[fct_simd, fct_indicator, *LOCALITY_DEPS],
            tags=TAGS,
            description="The locality profile, long: every deprivation and indicator measure "
            "for each locality, its council and Scotland, per SIMD vintage, with 95% "
            "intervals where a numerator exists, council and Scotland values, "
            "worse/similar/better flags, and disclosure control on people counts. Change "
            "between vintages is given as change in shares (vintage '2016_to_2020v2'), never "
            "as rank differences. Part of the data contract.",
        ),
        dg.AssetSpec(
            ["marts", "locality_summary"],
            group_name=GROUP,
            owners=OWNERS,
            deps=[fct_simd, fct_indicator, *LOCALITY_DEPS],
            tags=TAGS,
            description="One readable row per locality and council per vintage with the "
            "headline measures of data/config/profile.yaml and their council and Scotland "
            "comparators.",
        ),
        dg.AssetSpec(
            ["marts", "locality_most_deprived_dz"],
            group_name=GROUP,
            owners=OWNERS,
            deps=[fct_simd, *LOCALITY_DEPS],
            tags=TAGS,
            description="Each locality's and council's most deprived data zones (overall "
            "SIMD) per vintage.",
        ),
    ],
    pool=DUCKDB_POOL,
)
def locality_profile(warehouse: WarehouseResource, sources: SourcesResource):
    config_dir = Path(sources.config_dir)
    settings = _profile_settings(config_dir)
    rules = load_disclosure_rules(config_dir / "disclosure.yaml")
    catalogue = load_indicator_catalogue(config_dir)
    with warehouse.connect() as con:
        data = _inputs(con)
        councils = sorted(data["dim_locality"]["council_code"].unique())
        depr = deprivation.deprivation_measures(
            data["fct_simd"],
            data["simd_population"],
            data["dim_datazone"],
            data["bridge"],
            councils=councils,
        )
        vintages = [v for v in SIMD_VINTAGES if v in set(depr["vintage"])]
        change = (
            deprivation.share_change(depr, vintages[0], vintages[-1])
            if len(vintages) > 1
            else depr.iloc[0:0]
        )
        ind = indicators.indicator_measures(
            data["fct_indicator"],
            data["simd_population"],
            data["dim_datazone"],
            data["bridge"],
            catalogue,
            councils=councils,
        )
        profile = assemble.assemble_profile(depr, change, ind, rules)
        most = deprivation.most_deprived_zones(
            data["fct_simd"],
            data["dim_datazone"],
            data["bridge"],
            per_area=int(settings.get("most_deprived_per_area", 5)),
            councils=councils,
        )
        summary = assemble.summary_wide(
            profile, data["dim_locality"], most, settings["headline_measures"]
        )
        meta_profile = write_frame(
            con,
            "marts",
            "locality_profile",
            profile,
            order_by=("council_code", "locality_id", "vintage", "measure_id"),
            extra={
                "measures": int(profile["measure_id"].nunique()),
                "localities": int(data["dim_locality"].shape[0]),
                "suppressed_rows": int(profile["suppressed"].sum()),
            },
        )
        meta_summary = write_frame(
            con,
            "marts",
            "locality_summary",
            summary,
            order_by=("council_code", "area_level", "locality_id", "vintage"),
            extra={"headline": dg.MetadataValue.md(_headline_markdown(summary))},
        )
        meta_most = write_frame(
            con,
            "marts",
            "locality_most_deprived_dz",
            most,
            order_by=("council_code", "locality_id", "vintage", "position"),
        )
    yield dg.MaterializeResult(asset_key=["marts", "locality_profile"], metadata=meta_profile)
    yield dg.MaterializeResult(asset_key=["marts", "locality_summary"], metadata=meta_summary)
    yield dg.MaterializeResult(asset_key=["marts", "locality_most_deprived_dz"], metadata=meta_most)


@dg.asset(
    key_prefix=["marts"],
    name="locality_inequality",
    group_name=GROUP,
    owners=OWNERS,
    deps=[fct_simd, fct_indicator, *LOCALITY_DEPS],
    pool=DUCKDB_POOL,
    tags=TAGS,
    description="Inequality inside each locality and council for indicators with numerators: "
    "gap between the most and least deprived national quintiles, Slope Index of "
    "Inequality and both Relative Index definitions (rii_scotpho = SII / mean rate; "
    "rii_phe = fitted most / fitted least deprived end) with 95% intervals, and the "
    "Population Attributable Risk. Only where the area has enough data zones.",
)
def locality_inequality(warehouse: WarehouseResource, sources: SourcesResource):
    config_dir = Path(sources.config_dir)
    settings = _profile_settings(config_dir)
    catalogue = load_indicator_catalogue(config_dir)
    with warehouse.connect() as con:
        data = _inputs(con)
        councils = sorted(data["dim_locality"]["council_code"].unique())
        frame = inequality.inequality_measures(
            data["fct_indicator"],
            data["fct_simd"],
            data["dim_datazone"],
            data["bridge"],
            catalogue,
            councils=councils,
            min_areas=int(settings.get("inequality_min_data_zones", 10)),
        )
        metadata = write_frame(
            con,
            "marts",
            "locality_inequality",
            frame,
            order_by=("council_code", "locality_id", "vintage", "indicator"),
            extra={"rows_without_sii": int((frame["sii_note"] != "").sum()) if len(frame) else 0},
        )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(
    asset=["marts", "locality_profile"],
    description="Every locality has a row for every measure its council has, for "
    "every vintage (complete profiles).",
)
def locality_profile_complete(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        failures = con.execute(
            """
            WITH council_measures AS (
                SELECT council_code, vintage, count(DISTINCT measure_id) AS expected
                FROM marts.locality_profile WHERE area_level = 'council' GROUP BY ALL
            ),
            locality_measures AS (
                SELECT l.council_code, l.locality_id, p.vintage,
                       count(DISTINCT p.measure_id) AS measures
                FROM marts.dim_locality AS l
                LEFT JOIN marts.locality_profile AS p
                  ON p.council_code = l.council_code AND p.locality_id = l.locality_id
                 AND p.area_level = 'locality'
                WHERE l.dz_count > 0
                GROUP BY ALL
            )
            SELECT m.*, c.expected FROM locality_measures AS m
            LEFT JOIN council_measures AS c USING (council_code, vintage)
            WHERE c.expected IS NULL OR m.measures <> c.expected
            ORDER BY 1, 2, 3
            """
        ).fetchdf()
        localities = con.execute("SELECT count(*) FROM marts.dim_locality").fetchone()[0]
    return check_result(
        failures.empty,
        "same measures for each locality as for its council",
        failures=failures,
        localities=int(localities),
    )


@dg.asset_check(
    asset=["marts", "locality_profile"],
    description="No published people count is below the disclosure threshold.",
)
def locality_profile_disclosure(
    warehouse: WarehouseResource, sources: SourcesResource
) -> dg.AssetCheckResult:
    rules = load_disclosure_rules(Path(sources.config_dir) / "disclosure.yaml")
    with warehouse.connect(read_only=True) as con:
        failures = con.execute(
            "SELECT council_code, locality_id, vintage, measure_id, numerator "
            "FROM marts.locality_profile WHERE method IN ('ratio_of_sums', 'sum_of_counts') "
            "AND numerator > 0 AND numerator < ? ORDER BY ALL LIMIT 50",
            [rules.threshold],
        ).fetchdf()
    return check_result(
        failures.empty, f"no visible count in 1..{rules.threshold - 1}", failures=failures
    )


@dg.asset_check(
    asset=["marts", "locality_profile"],
    description="Each council's local share of data zones in the 20% most deprived "
    "equals SIMD's own quintile-1 count in fct_simd (a reconciliation with the "
    "published classification).",
)
def locality_profile_reconciles_with_simd(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        failures = con.execute(
            """
            WITH published AS (
                SELECT d.council_code, s.vintage, count(*) FILTER (s.quintile = 1) AS q1
                FROM marts.fct_simd AS s JOIN marts.dim_datazone AS d USING (dz_code)
                WHERE s.domain = 'overall' GROUP BY ALL
            )
            SELECT p.council_code, p.vintage, p.value AS profile_q1, published.q1
            FROM marts.locality_profile AS p
            JOIN published USING (council_code, vintage)
            WHERE p.area_level = 'council'
              AND p.measure_id = 'simd_overall_dz_count_most_deprived_20'
              AND p.value <> published.q1
            """
        ).fetchdf()
    return check_result(failures.empty, "council quintile-1 counts agree", failures=failures)
