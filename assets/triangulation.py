"""Triangulation assets: priority rankings that set local data against community voice and
city-wide themes, per locality, with intervals and an evidence trail.

What belongs here: running `profiles.triangulate` for every council in scope with its
config from data/config/themes/, writing `priority_ranking` and `triangulation_matrix`,
and checking that every locality got a complete, ranked list.
"""

from pathlib import Path

import dagster as dg
import pandas as pd

from assets._io import DUCKDB_POOL, OWNERS, check_result, table_metadata
from pipelines.resources import SourcesResource, WarehouseResource
from profiles import incremental
from profiles import warehouse as wh
from profiles.triangulate import load_triangulation_config
from profiles.triangulate.batch import need_profile, rank_councils
from profiles.triangulate.evidence import PRIORITY_RANKING_COLUMNS
from profiles.triangulate.scores import TRIANGULATION_MATRIX_COLUMNS
from profiles.workers import start_early

GROUP = "triangulation"
TAGS = {"dagster/kind/duckdb": "", "dagster/kind/pandas": ""}
DEPS = [
    ["marts", "locality_profile"],
    ["marts", "voice_theme_summary"],
    ["marts", "engagement_reach"],
    ["marts", "voice_response"],
    ["marts", "dim_locality"],
]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["marts", "priority_ranking"],
            group_name=GROUP,
            owners=OWNERS,
            deps=DEPS,
            tags=TAGS,
            description="Ranked priorities per locality: need (local data against "
            "council and Scotland, noise not read as need), voice (what residents "
            "said, reach-weighted) and strategic fit (city-wide themes), combined "
            "with configured weights; rank interval and stability from a bootstrap "
            "over responses and weight perturbation; agreement category; evidence "
            "links. Part of the data contract.",
        ),
        dg.AssetSpec(
            ["marts", "triangulation_matrix"],
            group_name=GROUP,
            owners=OWNERS,
            deps=DEPS,
            tags=TAGS,
            description="Each locality × priority theme × component (need, voice, "
            "strategic) with its value and contribution: the need-vs-voice matrix.",
        ),
    ],
    pool=DUCKDB_POOL,
)
def priorities(warehouse: WarehouseResource, sources: SourcesResource):
    if sources.pack_workers > 1:
        # Rankings of several councils and the packs after them fork workers in this run:
        # let the forkserver load the libraries on the other core while this step reads.
        start_early()
    config_dir = Path(sources.config_dir)
    with warehouse.connect(read_only=True) as con:
        plan, fingerprints = priorities_plan(con, config_dir)
        configs = [load_triangulation_config(config_dir, council) for council in plan.recompute]
        profile = need_profile(con, configs)
        sizes = (
            dict(
                con.execute(
                    "SELECT council_code, count(*) FROM marts.voice_response GROUP BY 1"
                ).fetchall()
            )
            if wh.table_exists(con, "marts", "voice_response")
            else {}
        )
    # Each council's voice rows are read where it is ranked (worker processes when there
    # are several councils), through read-only connections; none is held here meanwhile.
    results = rank_councils(
        Path(warehouse.path), configs, profile, workers=sources.pack_workers, sizes=sizes
    )
    rankings = [ranking for ranking, _ in results]
    matrices = [matrix for _, matrix in results]
    ranking = _concat(rankings, PRIORITY_RANKING_COLUMNS)
    matrix = _concat(matrices, TRIANGULATION_MATRIX_COLUMNS)
    # Councils whose inputs did not change keep the rows the last build wrote (see
    # profiles.incremental); both tables and the fingerprints change in one transaction.
    keys = plan.rows_to_replace
    build = plan.describe("councils")
    with warehouse.connect() as con:
        with wh.transaction(con):
            wh.replace_keys(
                con,
                "marts",
                "priority_ranking",
                ranking,
                key_column="council_code",
                keys=keys,
                order_by=("council_code", "locality_id", "rank", "priority_theme"),
            )
            wh.replace_keys(
                con,
                "marts",
                "triangulation_matrix",
                matrix,
                key_column="council_code",
                keys=keys,
                order_by=("council_code", "locality_id", "priority_theme", "component"),
            )
            incremental.save_fingerprints(con, PRIORITIES_STATE, fingerprints)
        top = con.execute(
            "SELECT * FROM marts.priority_ranking WHERE rank = 1 ORDER BY council_code, locality_id"
        ).fetchdf()
        dim_locality = con.execute("SELECT * FROM marts.dim_locality").fetchdf()
        meta_rank = table_metadata(
            con,
            "marts",
            "priority_ranking",
            extra={**build, "headline": dg.MetadataValue.md(_headline(top, dim_locality))},
        )
        meta_matrix = table_metadata(con, "marts", "triangulation_matrix", extra=build)
    yield dg.MaterializeResult(asset_key=["marts", "priority_ranking"], metadata=meta_rank)
    yield dg.MaterializeResult(asset_key=["marts", "triangulation_matrix"], metadata=meta_matrix)


PRIORITIES_STATE = "marts.priorities"
_COUNCIL_KEYED_INPUTS = (
    ("marts", "voice_theme_summary"),
    ("marts", "engagement_reach"),
    ("marts", "voice_response"),
    ("marts", "dim_locality"),
    ("staging", "voice_response"),
    ("staging", "voice_response_locality"),
)
_RESPONSE_KEYED_INPUTS = (
    ("staging", "voice_score"),
    ("staging", "voice_comment"),
    ("marts", "voice_comment_code"),
)


def priorities_plan(con, config_dir: Path) -> tuple[incremental.RebuildPlan, dict[str, str]]:
    """Which councils' rankings need computing. A council's rankings depend on its own
    voice rows and localities, on the whole locality profile (need scores can fall back to
    the spread across all localities), the configuration and the code; a change to the
    shared inputs recomputes every council."""
    config_files = [path for path in sorted(config_dir.rglob("*")) if path.is_file()]
    shared = incremental.digest(
        incremental.code_fingerprint(),
        incremental.files_fingerprint([*config_files, Path(__file__)]),
        incremental.table_fingerprint(con, "marts", "locality_profile"),
        incremental.table_fingerprint(con, "marts", "bridge_dz_locality"),
    )
    per_council = incremental.tables_by_key(con, _COUNCIL_KEYED_INPUTS, "council_code")
    if wh.table_exists(con, "staging", "voice_response"):
        for schema, table in _RESPONSE_KEYED_INPUTS:
            if wh.table_exists(con, schema, table):
                per_council.append(
                    incremental.keyed_fingerprints(
                        con,
                        "SELECT r.council_code AS key, v.* "
                        f"FROM {wh.qualified_name(schema, table)} AS v "
                        "JOIN staging.voice_response AS r USING (survey_id, response_id)",
                    )
                )
    councils = [
        str(row[0])
        for row in con.execute(
            "SELECT DISTINCT council_code FROM marts.dim_locality ORDER BY 1"
        ).fetchall()
    ]
    current = incremental.combine(shared, per_council, keys=councils)
    plan = incremental.plan_rebuild(
        current,
        incremental.stored_fingerprints(con, PRIORITIES_STATE),
        outputs_exist=wh.table_exists(con, "marts", "priority_ranking")
        and wh.table_exists(con, "marts", "triangulation_matrix"),
    )
    return plan, current


def _concat(frames: list[pd.DataFrame], columns: tuple[str, ...]) -> pd.DataFrame:
    """Councils' frames as one. A column missing throughout one council's frame (no survey:
    no voice scores) must not decide the column's dtype, so it is left out of that frame
    before concatenating (what pandas did implicitly, and warns it will stop doing)."""
    kept = [frame for frame in frames if len(frame)]
    if not kept:
        return frames[0] if frames else pd.DataFrame(columns=list(columns))
    layout = kept[0]
    combined = pd.concat(
        [frame.dropna(axis=1, how="all") for frame in kept], ignore_index=True
    ).reindex(columns=layout.columns)
    for column in layout.columns:
        if all(frame[column].isna().all() for frame in kept):
            combined[column] = combined[column].astype(layout[column].dtype)
    return combined


def _headline(ranking: pd.DataFrame, dim_locality: pd.DataFrame) -> str:
    if ranking.empty or "rank" not in ranking:
        return "_(no ranking)_"
    top = ranking[ranking["rank"] == 1].merge(
        dim_locality[["council_code", "locality_id", "locality_name"]],
        on=["council_code", "locality_id"],
        how="left",
    )
    columns = [
        c
        for c in ("locality_name", "priority_theme", "priority_score", "agreement", "stability")
        if c in top.columns
    ]
    return "Top priority per locality\n\n" + top[columns].head(40).to_markdown(index=False)


@dg.asset_check(
    asset=["marts", "priority_ranking"],
    description="Every locality with data "
    "has a complete ranked list: each priority theme once, ranks 1..n, intervals "
    "around the rank, an agreement category.",
)
def priority_ranking_complete(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        failures = con.execute(
            """
            SELECT r.council_code, r.locality_id, count(*) AS themes,
                   count(DISTINCT r.priority_theme) AS distinct_themes,
                   count(r.rank) AS ranked, max(r.rank) AS max_rank,
                   count(*) FILTER (r.rank_low > r.rank OR r.rank_high < r.rank) AS outside,
                   count(*) FILTER (r.agreement IS NULL) AS no_category
            FROM marts.priority_ranking AS r
            GROUP BY 1, 2
            HAVING themes <> distinct_themes OR max_rank <> ranked OR outside > 0
                OR no_category > 0
            """
        ).fetchdf()
        missing = con.execute(
            """
            SELECT l.council_code, l.locality_id FROM marts.dim_locality AS l
            LEFT JOIN (SELECT DISTINCT council_code, locality_id FROM marts.priority_ranking)
                AS r USING (council_code, locality_id)
            WHERE r.locality_id IS NULL AND l.dz_count > 0
            """
        ).fetchdf()
    return check_result(
        failures.empty and missing.empty,
        "each locality ranked, each theme once, rank inside [rank_low, rank_high]",
        failures=failures if not failures.empty else missing,
    )
