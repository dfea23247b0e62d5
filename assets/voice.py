"""Community-voice assets: per-survey ingestion and coding, then summaries across surveys.

What belongs here: the `survey` dynamic partitions (one archived export = one partition,
so a new export re-materializes only what depends on it), the partitioned ingestion and
theme-coding assets, the theme model, and the unpartitioned marts built from every survey
(`voice_response`, `voice_theme_summary`, `engagement_reach`, emergent topics), with the
checks that prove nothing was lost and no personal data left the raw layer.

Privacy: unredacted text and respondents' postcodes are written to the `raw` schema only;
asset metadata carries counts, never response text.
"""

import json
import pickle
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
from dagster import AssetExecutionContext

from assets._io import DUCKDB_POOL, OWNERS, check_result, table_metadata, write_frame
from pipelines.resources import SourcesResource, WarehouseResource
from profiles import incremental
from profiles import warehouse as wh
from profiles.localities import resolve_council
from profiles.stats.disclosure import load_disclosure_rules
from profiles.voice import coding, contract
from profiles.voice.archive import read_archived
from profiles.voice.duplicates import flag_duplicates
from profiles.voice.ingest import ingest_survey
from profiles.voice.population import parse_age_band, population_for_weights
from profiles.voice.reach import engagement_reach, load_voice_settings
from profiles.voice.redact import personal_data_count
from profiles.voice.stored import load_voice_frames
from profiles.voice.summary import theme_summary
from profiles.voice.weights import post_stratification_weights

GROUP = "voice"
TAGS = {"dagster/kind/duckdb": "", "dagster/kind/pandas": ""}
survey_partitions = dg.DynamicPartitionsDefinition(name="survey")

# (schema, table, description) of every table one survey's ingestion writes.
INGEST_TABLES = (
    (
        "raw",
        "voice_response",
        "Responses as received: the respondent's postcode and place "
        "as typed, unknown extra columns. Raw layer only; never exported.",
    ),
    ("raw", "voice_quarantine_row", "Quarantined rows' fields exactly as read (raw layer only)."),
    (
        "raw",
        "voice_ingest_log",
        "One row per ingested export: file, checksum, encoding and the "
        "row accounting (rows in = loaded + quarantined, per reason).",
    ),
    (
        "staging",
        "voice_response",
        "Loaded responses, redacted and geocoded (data zone, ward, "
        "council; method and status), with duplicate and campaign flags.",
    ),
    ("staging", "voice_score", "Place Standard theme scores, long (1-7; skipped themes absent)."),
    (
        "staging",
        "voice_comment",
        "Free-text answers, long, redacted (e-mail, phone, postcode, "
        "house-number addresses replaced).",
    ),
    (
        "staging",
        "voice_cell_issue",
        "Bad cells set aside while their row was kept, with field and reason.",
    ),
    (
        "staging",
        "voice_response_locality",
        "Responses placed by a locality or ward name (no data zone).",
    ),
    (
        "marts",
        "voice_quarantine",
        "Rows not loaded, with reason and redacted detail: nothing "
        "is lost. Part of the data contract.",
    ),
)


def _archive_entry(sources: SourcesResource, survey_id: str):
    return read_archived(Path(sources.archive_dir), survey_id)


def _ingest_inputs(con) -> dict[str, pd.DataFrame]:
    return {
        "postcode_lookup": con.execute(
            "SELECT postcode_key, dz_code FROM marts.dim_postcode WHERE dz_known"
        ).fetchdf(),
        "dim_datazone": con.execute(
            "SELECT dz_code, ward_code, council_code FROM marts.dim_datazone"
        ).fetchdf(),
        "place_names": con.execute(
            "SELECT council_code, locality_id, locality_name FROM marts.dim_locality"
        ).fetchdf(),
        "dim_council": con.execute(
            "SELECT council_code, council_name FROM marts.dim_council"
        ).fetchdf(),
    }


def _survey_council(entry, sources: SourcesResource, inputs, path: Path, schema: str) -> str:
    """The council a survey belongs to: as archived, else --council, else where most of its
    postcodes fall (a first geocoding pass)."""
    named = entry.council or sources.council
    if named:
        return resolve_council(inputs["dim_council"], named)
    probe = ingest_survey(
        path,
        schema=schema,
        survey_id=entry.survey_id,
        council_code="S12000000",
        postcode_lookup=inputs["postcode_lookup"],
        dim_datazone=inputs["dim_datazone"],
        place_names=inputs["place_names"],
        today=date.today(),
    )
    zones = probe.responses["dz_code"].dropna()
    if zones.empty:
        raise dg.Failure(
            f"{entry.original_name}: no response could be placed in a data zone, so the "
            "survey's council is unknown; ingest it with --council"
        )
    councils = inputs["dim_datazone"].set_index("dz_code")["council_code"]
    return str(councils.reindex(zones).value_counts().idxmax())


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            [schema, table],
            group_name=GROUP,
            owners=OWNERS,
            description=description,
            tags=TAGS,
            deps=[["marts", "dim_postcode"], ["marts", "dim_locality"]],
        )
        for schema, table, description in INGEST_TABLES
    ],
    partitions_def=survey_partitions,
    pool=DUCKDB_POOL,
)
def voice_ingest(
    context: AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource
):
    """Validate, redact and geocode one archived survey export (one partition)."""
    survey_id = context.partition_key
    entry = _archive_entry(sources, survey_id)
    path = Path(entry.archive_path)
    with warehouse.connect(read_only=True) as con:
        inputs = _ingest_inputs(con)
    council = _survey_council(entry, sources, inputs, path, entry.schema)
    result = ingest_survey(
        path,
        schema=entry.schema,
        survey_id=survey_id,
        council_code=council,
        postcode_lookup=inputs["postcode_lookup"],
        dim_datazone=inputs["dim_datazone"],
        place_names=inputs["place_names"],
        today=date.today(),
    )
    flags = flag_duplicates(result.responses, result.comments, result.scores)
    responses = result.responses.drop(columns=["is_duplicate", "campaign_group"]).merge(
        flags, on=["survey_id", "response_id"], how="left"
    )
    responses["is_duplicate"] = responses["is_duplicate"].fillna(False).astype(bool)
    accounting = dict(result.accounting)
    accounting["council_code"] = council
    accounting["duplicates"] = int(responses["is_duplicate"].sum())
    accounting["campaign_groups"] = int(responses["campaign_group"].nunique())
    log = pd.DataFrame(
        [
            {
                "survey_id": survey_id,
                "original_name": entry.original_name,
                "archive_path": entry.archive_path,
                "sha256": entry.sha256,
                "schema": entry.schema,
                "council_code": council,
                "rows_in": accounting["rows_in"],
                "rows_loaded": accounting["rows_loaded"],
                "rows_quarantined": accounting["rows_quarantined"],
                "accounting_json": json.dumps(accounting, sort_keys=True, default=str),
            }
        ]
    )
    frames = {
        ("raw", "voice_response"): result.raw_responses,
        ("raw", "voice_quarantine_row"): result.raw_quarantine,
        ("raw", "voice_ingest_log"): log,
        ("staging", "voice_response"): responses,
        ("staging", "voice_score"): result.scores,
        ("staging", "voice_comment"): result.comments,
        ("staging", "voice_cell_issue"): result.cell_issues,
        ("staging", "voice_response_locality"): result.response_locality,
        ("marts", "voice_quarantine"): result.quarantine,
    }
    summary = {
        "rows_in": accounting["rows_in"],
        "rows_loaded": accounting["rows_loaded"],
        "rows_quarantined": accounting["rows_quarantined"],
        "quarantined_by_reason": dg.MetadataValue.json(accounting["quarantined_by_reason"]),
        "unmatched_by_reason": dg.MetadataValue.json(accounting["unmatched_by_reason"]),
        "cells_set_aside_by_reason": dg.MetadataValue.json(accounting["cells_set_aside_by_reason"]),
        "council_code": council,
        "source_file": entry.original_name,
        "sha256": entry.sha256,
    }
    counts = {}
    with warehouse.connect() as con:
        for (schema, table), frame in frames.items():
            counts[(schema, table)] = wh.replace_rows(
                con,
                schema,
                table,
                frame,
                key_column="survey_id",
                key_value=survey_id,
                order_by=[
                    c
                    for c in ("response_id", "source_row", "question", "theme_id")
                    if c in frame.columns
                ],
            )
    for schema, table, _ in INGEST_TABLES:
        metadata = {"dagster/row_count": counts[(schema, table)], "survey_id": survey_id}
        if (schema, table) in {("raw", "voice_ingest_log"), ("marts", "voice_quarantine")}:
            metadata.update(summary)
        yield dg.MaterializeResult(asset_key=[schema, table], metadata=metadata)


@dg.asset_check(
    asset=["raw", "voice_ingest_log"],
    description="Nothing lost: for every "
    "export, rows in = rows loaded + rows quarantined, and the tables hold them.",
)
def voice_ingest_accounting(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        failures = con.execute(
            """
            SELECT l.survey_id, l.rows_in, l.rows_loaded, l.rows_quarantined,
                   (SELECT count(*) FROM staging.voice_response r
                     WHERE r.survey_id = l.survey_id) AS loaded_rows,
                   (SELECT count(*) FROM marts.voice_quarantine q
                     WHERE q.survey_id = l.survey_id) AS quarantine_rows
            FROM raw.voice_ingest_log AS l
            WHERE l.rows_in <> l.rows_loaded + l.rows_quarantined
               OR l.rows_loaded <> loaded_rows OR l.rows_quarantined <> quarantine_rows
            """
        ).fetchdf()
        surveys = con.execute("SELECT count(*) FROM raw.voice_ingest_log").fetchone()[0]
    return check_result(
        failures.empty,
        "rows in = loaded + quarantined, per export",
        failures=failures,
        surveys=int(surveys),
    )


def _model_path(outputs_dir: str, version: str) -> Path:
    safe = version.replace(":", "_")
    return Path(outputs_dir) / "models" / f"theme_model_{safe}.pkl"


_TRAINED_MODELS: dict[str, coding.ThemeModel] = {}


def theme_model(config_dir: Path, outputs_dir: str) -> coding.ThemeModel:
    """The theme model for the current coding config: trained deterministically (about two
    seconds) and saved under its version, so every survey is coded by the same model.

    A process trains each config once, and a later process loads the saved model when it
    was saved by the same code (`profiles.incremental.code_fingerprint`, kept beside it):
    each Dagster run is a process of its own, and a new export's two runs (ingest, then
    the packs) trained the model twice.
    """
    frame = coding.load_coding_frame(config_dir)
    analyst = coding.load_analyst_codes(config_dir)
    version = coding.model_version(frame, analyst, seed=0)
    model = _TRAINED_MODELS.get(version)
    path = _model_path(outputs_dir, version)
    stamp = path.with_suffix(".code")
    code = incremental.code_fingerprint()
    saved_by_this_code = path.exists() and stamp.exists() and stamp.read_text() == code
    if model is None and saved_by_this_code:
        saved = pickle.loads(path.read_bytes())
        model = saved if getattr(saved, "version", None) == version else None
    trained = model is None
    if trained:
        model = coding.train_theme_model(frame, analyst, seed=0)
    _TRAINED_MODELS.clear()
    _TRAINED_MODELS[version] = model
    if trained or not saved_by_this_code:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(".part")
        temp.write_bytes(pickle.dumps(model))
        temp.replace(path)
        stamp.write_text(code)
    return model


@dg.asset(
    key_prefix=["marts"],
    name="voice_coding_quality",
    group_name=GROUP,
    owners=OWNERS,
    pool=DUCKDB_POOL,
    tags={**TAGS, "dagster/kind/scikitlearn": ""},
    description="The free-text theme model (TF-IDF word and character n-grams, one-vs-rest "
    "linear classifier over the 14 Place Standard themes + none) trained from the coding "
    "frame's seed vocabulary and the analyst-coded examples in data/config/coding/; this table "
    "holds its cross-validated precision, recall and F1 per theme, and the model file is "
    "saved beside the outputs under its version.",
)
def voice_coding_quality(
    warehouse: WarehouseResource, sources: SourcesResource
) -> dg.MaterializeResult:
    config_dir = Path(sources.config_dir)
    frame = coding.load_coding_frame(config_dir)
    analyst = coding.load_analyst_codes(config_dir)
    model = theme_model(config_dir, sources.outputs_dir)
    path = _model_path(sources.outputs_dir, model.version)
    # Cross-validation depends only on the coding config: reuse it for the same model version.
    cached = path.with_name(path.stem + "_cv.parquet")
    if cached.exists():
        quality = pd.read_parquet(cached)
    else:
        quality = coding.cross_validate(frame, analyst, folds=5).assign(model_version=model.version)
        quality.to_parquet(cached.with_suffix(".part"), index=False)
        cached.with_suffix(".part").replace(cached)
    with warehouse.connect() as con:
        metadata = write_frame(
            con, "marts", "voice_coding_quality", quality, order_by=("theme_id",)
        )
    metadata.update(
        {
            "model_version": model.version,
            "model_file": dg.MetadataValue.path(str(path)),
            "macro_f1": float(coding.macro_f1(quality)),
            "cross_validated": dg.MetadataValue.md(quality.round(3).to_markdown(index=False)),
        }
    )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    key_prefix=["marts"],
    name="voice_comment_code",
    group_name=GROUP,
    owners=OWNERS,
    deps=[["staging", "voice_comment"]],
    partitions_def=survey_partitions,
    pool=DUCKDB_POOL,
    tags={**TAGS, "dagster/kind/scikitlearn": ""},
    description="Theme codes of each comment of one survey: a Place Standard theme id or "
    "`none`, with the source (model version, or `analyst:<coder>` where an analyst coded the "
    "comment, which always overrides the model) and confidence. Part of the data contract.",
)
def voice_comment_code(
    context: AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource
) -> dg.MaterializeResult:
    survey_id = context.partition_key
    with warehouse.connect(read_only=True) as con:
        comments = con.execute(
            "SELECT * FROM staging.voice_comment WHERE survey_id = ?", [survey_id]
        ).fetchdf()
    model = theme_model(Path(sources.config_dir), sources.outputs_dir)
    version = model.version
    analyst = coding.load_analyst_codes(Path(sources.config_dir))
    codes = coding.code_comments(comments, model, analyst)
    with warehouse.connect() as con:
        rows = wh.replace_rows(
            con,
            "marts",
            "voice_comment_code",
            codes,
            key_column="survey_id",
            key_value=survey_id,
            order_by=("response_id", "question", "theme_id"),
        )
    by_theme = codes["theme_id"].value_counts().sort_index().to_dict()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "survey_id": survey_id,
            "model_version": version,
            "codes_by_theme": dg.MetadataValue.json({k: int(v) for k, v in by_theme.items()}),
            "analyst_codes": int(codes["source"].str.startswith("analyst:").sum()),
        }
    )


VOICE_INPUT_DEPS = [
    ["staging", "voice_response"],
    ["staging", "voice_score"],
    ["staging", "voice_comment"],
    ["staging", "voice_response_locality"],
    voice_comment_code,
    ["marts", "bridge_dz_locality"],
    ["marts", "dim_locality"],
    ["marts", "fct_simd"],
    ["staging", "population"],
]


def survey_age_bands(con) -> list[str]:
    """The age bands any survey's responses use, sorted (weights are built for all of them,
    whichever surveys a build recomputes)."""
    if not wh.table_exists(con, "staging", "voice_response"):
        return []
    columns = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'staging' AND table_name = 'voice_response'"
        ).fetchall()
    }
    if "age_band" not in columns:
        return []
    return [
        str(row[0])
        for row in con.execute(
            "SELECT DISTINCT age_band FROM staging.voice_response "
            "WHERE age_band IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]


_BANDED_POPULATION_SQL = """
WITH bands AS (
    SELECT unnest($labels) AS age_band, unnest($firsts) AS first_age,
           unnest($lasts) AS last_age, unnest($positions) AS position
),
single_years AS (
    SELECT CAST(area_code AS VARCHAR) AS dz_code, year,
           CAST(rtrim(CAST(age_band AS VARCHAR), '+') AS INTEGER) AS age, population
    FROM staging.population
    WHERE starts_with(CAST(area_code AS VARCHAR), 'S01') AND sex = 'all'
      AND regexp_full_match(CAST(age_band AS VARCHAR), '[0-9]{1,3}[+]?')
),
latest AS (SELECT * FROM single_years WHERE year = (SELECT max(year) FROM single_years)),
band_of_age AS (  -- the last listed band wins where bands overlap, as in population_for_weights
    SELECT a.age, arg_max(b.age_band, b.position) AS age_band
    FROM (SELECT DISTINCT age FROM latest) AS a
    JOIN bands AS b ON a.age BETWEEN b.first_age AND b.last_age
    GROUP BY a.age
),
people AS (
    SELECT l.dz_code, o.age_band, sum(l.population) AS population
    FROM latest AS l JOIN band_of_age AS o USING (age)
    GROUP BY l.dz_code, o.age_band
),
quintiles AS (
    SELECT dz_code, quintile FROM marts.fct_simd
    WHERE domain = 'overall' AND vintage = (SELECT max(vintage) FROM marts.fct_simd)
)
SELECT p.dz_code, q.quintile AS simd_quintile, p.age_band,
       CAST(coalesce(p.population, 0) AS DOUBLE) AS population, d.council_code
FROM people AS p
JOIN quintiles AS q USING (dz_code)
LEFT JOIN marts.dim_datazone AS d USING (dz_code)
ORDER BY p.dz_code, p.age_band
"""


def weighting_population(con, bands: Sequence[str]) -> pd.DataFrame:
    """`population_for_weights` of the warehouse for `bands`, with each data zone's council.

    Each data zone's own council: without it, a build whose responses all come from one
    council counted every zone of the warehouse as that council's population. The banding
    runs in DuckDB (`_BANDED_POPULATION_SQL`, tested equal to `population_for_weights`):
    Scotland's single years of age are ~700,000 rows that pandas took a second to band.
    """
    spans = {label: parse_age_band(label) for label in bands}
    spans = {label: span for label, span in spans.items() if span is not None}
    if spans:
        people = con.execute(
            _BANDED_POPULATION_SQL,
            {
                "labels": list(spans),
                "firsts": [span[0] for span in spans.values()],
                "lasts": [span[1] for span in spans.values()],
                "positions": list(range(len(spans))),
            },
        ).fetchdf()
        if len(people):
            return people
    # No usable bands, or no single years of age: totals per data zone.
    quintiles = con.execute(
        "SELECT dz_code, quintile FROM marts.fct_simd WHERE domain = 'overall' "
        "AND vintage = (SELECT max(vintage) FROM marts.fct_simd)"
    ).fetchdf()
    dim = con.execute("SELECT dz_code, council_code, population FROM marts.dim_datazone").fetchdf()
    empty = pd.DataFrame(columns=["area_code", "year", "sex", "age_band", "population"])
    people = population_for_weights(empty, dim[["dz_code", "population"]], quintiles, [])
    return people.merge(dim[["dz_code", "council_code"]], on="dz_code", how="left")


VOICE_MARTS_STATE = "marts.voice_marts"
VOICE_MARTS_TABLES = ("voice_response", "voice_theme_summary", "engagement_reach")
_PER_SURVEY_INPUTS = (
    ("staging", "voice_response"),
    ("staging", "voice_score"),
    ("staging", "voice_comment"),
    ("staging", "voice_response_locality"),
    ("marts", "voice_comment_code"),
)
_SHARED_INPUTS = (
    ("marts", "bridge_dz_locality"),
    ("marts", "dim_locality"),
    ("marts", "dim_datazone"),
    ("marts", "fct_simd"),
    ("staging", "population"),
)


def voice_marts_plan(
    con, config_dir: Path, bands: Sequence[str]
) -> tuple[incremental.RebuildPlan, dict[str, str]]:
    """Which surveys' voice marts need computing: each survey's rows depend only on its
    own responses, scores, comments and codes, plus the shared geography, population,
    configuration and code (a change to any of those rebuilds every survey)."""
    shared = incremental.digest(
        incremental.code_fingerprint(),
        incremental.files_fingerprint(
            [config_dir / "voice.yaml", config_dir / "disclosure.yaml", Path(__file__)]
        ),
        "|".join(bands),
        *(incremental.table_fingerprint(con, schema, table) for schema, table in _SHARED_INPUTS),
    )
    per_survey = incremental.tables_by_key(con, _PER_SURVEY_INPUTS, "survey_id")
    current = incremental.combine(shared, per_survey, keys=per_survey[0].keys())
    plan = incremental.plan_rebuild(
        current,
        incremental.stored_fingerprints(con, VOICE_MARTS_STATE),
        outputs_exist=all(wh.table_exists(con, "marts", t) for t in VOICE_MARTS_TABLES),
    )
    return plan, current


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["marts", "voice_response"],
            group_name=GROUP,
            owners=OWNERS,
            deps=VOICE_INPUT_DEPS,
            tags=TAGS,
            description="Every survey's loaded responses: redacted, with "
            "data zone, ward, council, geocoding status, duplicate/campaign flags and "
            "post-stratification weight; no postcode. Part of the data contract.",
        ),
        dg.AssetSpec(
            ["marts", "voice_theme_summary"],
            group_name=GROUP,
            owners=OWNERS,
            deps=VOICE_INPUT_DEPS,
            tags=TAGS,
            description="Per survey × locality (and council) × Place "
            "Standard theme: responses, mean score with 95% CI, share scoring 1-3 "
            "with Wilson CI, comment mentions with CI and up to three redacted "
            "quotes, unweighted and reach-weighted side by side; disclosure control "
            "applied. Part of the data contract.",
        ),
        dg.AssetSpec(
            ["marts", "engagement_reach"],
            group_name=GROUP,
            owners=OWNERS,
            deps=VOICE_INPUT_DEPS,
            tags=TAGS,
            description="Who was heard: responses per 1,000 residents by "
            "locality and SIMD quintile, each group's share of responses against its "
            "share of population, and under-heard flags. Part of the data contract.",
        ),
    ],
    pool=DUCKDB_POOL,
)
def voice_marts(warehouse: WarehouseResource, sources: SourcesResource):
    config_dir = Path(sources.config_dir)
    settings = load_voice_settings(config_dir / "voice.yaml")
    rules = load_disclosure_rules(config_dir / "disclosure.yaml")
    with warehouse.connect(read_only=True) as con:
        bands = survey_age_bands(con)
        plan, fingerprints = voice_marts_plan(con, config_dir, bands)
        voice = load_voice_frames(con, None if plan.full else plan.recompute)
        bridge = con.execute("SELECT * FROM marts.bridge_dz_locality").fetchdf()
        dim_locality = con.execute("SELECT * FROM marts.dim_locality").fetchdf()
        population = weighting_population(con, bands)
    responses = voice["responses"]
    weights = post_stratification_weights(responses, population, bridge, settings=settings)
    summary = theme_summary(
        responses,
        voice["scores"],
        voice["comments"],
        voice["codes"],
        bridge,
        dim_locality,
        population,
        weights=weights.weights,
        settings=settings,
        rules=rules,
    )
    reach = engagement_reach(responses, bridge, population, settings=settings, rules=rules)
    public = responses[[c for c in contract.RESPONSE_COLUMNS if c in responses.columns]]
    public = public.merge(
        weights.weights[["survey_id", "response_id", "weight", "weight_basis"]],
        on=["survey_id", "response_id"],
        how="left",
    )
    # Only the surveys whose inputs changed are recomputed; the others' rows stay as the
    # last build wrote them (see profiles.incremental), and all three tables and the
    # fingerprints change in one transaction.
    keys = plan.rows_to_replace
    build = plan.describe("surveys")
    with warehouse.connect() as con:
        with wh.transaction(con):
            for table, frame, order_by in (
                ("voice_response", public, ("survey_id", "response_id")),
                (
                    "voice_theme_summary",
                    summary,
                    (
                        "survey_id",
                        "council_code",
                        "area_level",
                        "locality_id",
                        "theme_id",
                        "weighting",
                    ),
                ),
                (
                    "engagement_reach",
                    reach,
                    ("survey_id", "council_code", "group_type", "group_id"),
                ),
            ):
                wh.replace_keys(
                    con,
                    "marts",
                    table,
                    frame,
                    key_column="survey_id",
                    keys=keys,
                    order_by=order_by,
                )
            incremental.save_fingerprints(con, VOICE_MARTS_STATE, fingerprints)
        totals = con.execute(
            "SELECT (SELECT count(*) FILTER (suppressed) FROM marts.voice_theme_summary), "
            "(SELECT count(*) FILTER (under_heard) FROM marts.engagement_reach)"
        ).fetchone()
        meta_responses = table_metadata(con, "marts", "voice_response", extra=build)
        meta_summary = table_metadata(
            con, "marts", "voice_theme_summary", extra={**build, "withheld_rows": int(totals[0])}
        )
        meta_reach = table_metadata(
            con,
            "marts",
            "engagement_reach",
            extra={
                **build,
                "under_heard_groups": int(totals[1]),
                "weighting": dg.MetadataValue.md(weights.diagnostics.to_markdown(index=False))
                if len(weights.diagnostics)
                else "_(no survey recomputed)_",
            },
        )
    yield dg.MaterializeResult(asset_key=["marts", "voice_response"], metadata=meta_responses)
    yield dg.MaterializeResult(asset_key=["marts", "voice_theme_summary"], metadata=meta_summary)
    yield dg.MaterializeResult(asset_key=["marts", "engagement_reach"], metadata=meta_reach)


@dg.asset(
    key_prefix=["marts"],
    name="voice_emergent_topics",
    group_name=GROUP,
    owners=OWNERS,
    deps=[voice_comment_code, ["staging", "voice_comment"]],
    pool=DUCKDB_POOL,
    tags={**TAGS, "dagster/kind/scikitlearn": ""},
    description="Topics (NMF over TF-IDF) among comments the coding frame does not fit "
    "(coded `none`), per survey, for analysts to review and perhaps add to the frame.",
)
def voice_emergent_topics(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect(read_only=True) as con:
        plan, fingerprints = emergent_topics_plan(con)
        voice = load_voice_frames(
            con, None if plan.full else plan.recompute, frames=("comments", "codes")
        )
    codes, comments = voice["codes"], voice["comments"]
    none_keys = codes.loc[
        codes["theme_id"] == contract.NO_THEME, ["survey_id", "response_id", "question"]
    ]
    unfit = comments.merge(none_keys, on=["survey_id", "response_id", "question"])
    frames = []
    for survey_id, group in unfit.groupby("survey_id", sort=True):
        texts = pd.Series(
            group["text_redacted"].to_numpy(),
            index=group["response_id"].astype(str) + ":" + group["question"].astype(str),
        )
        topics = coding.emergent_topics(texts)
        if len(topics):
            frames.append(topics.assign(survey_id=survey_id))
    topics = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(
            {
                c: pd.Series(dtype="string")
                for c in ("survey_id", "topic", "top_terms", "n_comments")
            }
        )
    )
    # Topics are found per survey: only surveys whose comments or codes changed are redone.
    with warehouse.connect() as con:
        with wh.transaction(con):
            wh.replace_keys(
                con,
                "marts",
                "voice_emergent_topics",
                topics,
                key_column="survey_id",
                keys=plan.rows_to_replace,
                order_by=[c for c in ("survey_id", "topic") if c in topics],
            )
            incremental.save_fingerprints(con, EMERGENT_TOPICS_STATE, fingerprints)
        metadata = table_metadata(
            con,
            "marts",
            "voice_emergent_topics",
            extra=plan.describe("surveys"),
        )
    return dg.MaterializeResult(metadata=metadata)


EMERGENT_TOPICS_STATE = "marts.voice_emergent_topics"


def emergent_topics_plan(con) -> tuple[incremental.RebuildPlan, dict[str, str]]:
    """Surveys whose comments or theme codes changed (or the code did) since the last build."""
    shared = incremental.digest(
        incremental.code_fingerprint(), incremental.files_fingerprint([Path(__file__)])
    )
    per_survey = incremental.tables_by_key(
        con, (("staging", "voice_comment"), ("marts", "voice_comment_code")), "survey_id"
    )
    current = incremental.combine(shared, per_survey)
    plan = incremental.plan_rebuild(
        current,
        incremental.stored_fingerprints(con, EMERGENT_TOPICS_STATE),
        outputs_exist=wh.table_exists(con, "marts", "voice_emergent_topics"),
    )
    return plan, current


@dg.asset_check(
    asset=["marts", "voice_response"],
    description="No e-mail address, phone number "
    "or postcode appears in any voice table outside the raw layer.",
    additional_deps=[["marts", "voice_theme_summary"], ["marts", "voice_quarantine"]],
)
def voice_no_personal_data(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    findings = []
    with warehouse.connect(read_only=True) as con:
        columns = con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_schema IN ('staging', 'marts') AND data_type = 'VARCHAR' "
            "AND (table_name LIKE 'voice%' OR table_name IN ('engagement_reach', "
            "'priority_ranking', 'triangulation_matrix')) "
            "AND table_catalog = current_database() ORDER BY ALL"
        ).fetchall()
        for schema, table, column in columns:
            values = con.execute(
                f'SELECT DISTINCT "{column}" FROM {schema}.{table} WHERE "{column}" IS NOT NULL'
            ).fetchdf()[column]
            if values.empty:
                continue
            hits = personal_data_count(values)
            if hits:
                findings.append({"table": f"{schema}.{table}", "column": column, "values": hits})
    failures = pd.DataFrame(findings, columns=["table", "column", "values"])
    return check_result(
        failures.empty,
        "redaction held everywhere outside raw",
        failures=failures,
        columns_scanned=len(columns),
    )
