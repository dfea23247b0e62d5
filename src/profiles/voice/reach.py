"""Who was heard, and from where: counted responses, their places, and engagement reach.

What belongs here:

- which responses count (`counted_responses`): exact duplicates are dropped and a campaign
  (near-identical cluster, `campaign_group`) counts as one voice;
- where a counted response is placed: localities (`assign_localities`) and SIMD quintiles of
  the council's population (`population_by_dz`, `response_quintiles`);
- engagement reach (`engagement_reach`, one row per survey × locality / SIMD quintile /
  council in `REACH_COLUMNS`), disclosure-controlled with the shared mask;
- the settings in `data/config/voice.yaml` (`VoiceSettings`, `load_voice_settings`), read here
  once and shared by summaries, reach and weights.

Every function is pure: DataFrames in, DataFrames out.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from profiles.errors import ConfigError
from profiles.settings import CONFIG_DIR
from profiles.stats.disclosure import (
    DisclosureRules,
    apply_mask,
    load_disclosure_rules,
    suppression_mask,
)
from profiles.stats.intervals import wilson_interval
from profiles.voice.contract import REACH_COLUMNS

DEFAULT_VOICE_CONFIG = CONFIG_DIR / "voice.yaml"

REACH_EXTRA_COLUMNS = ("representation_lower_ci", "representation_upper_ci")
"""Extra columns after `REACH_COLUMNS`: limits of `representation_ratio` from the Wilson
interval of the group's response share (population share taken as fixed)."""

QUINTILES = (1, 2, 3, 4, 5)
ALL_AGES = "all"
"""`age_band` of population rows when the population has no age breakdown."""

_RESPONSE_KEY = ["survey_id", "response_id"]


# --- Settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoiceSettings:
    """Thresholds for voice summaries, reach and weights; defaults match `voice.yaml`."""

    # summary
    confidence: float = 0.95
    min_responses_for_estimate: int = 10
    quotes_per_cell: int = 3
    quote_min_chars: int = 20
    quote_max_chars: int = 280
    quote_skip_redacted: bool = True
    # reach
    per_population: int = 1000
    under_heard_ratio: float = 0.8
    # weights
    min_cell_respondents: int = 5
    weight_floor: float = 0.25
    weight_cap: float = 4.0

    def __post_init__(self) -> None:
        checks = {
            "confidence": 0 < self.confidence < 1,
            "min_responses_for_estimate": self.min_responses_for_estimate >= 1,
            "quotes_per_cell": self.quotes_per_cell >= 0,
            "quote_min_chars": self.quote_min_chars >= 0,
            "quote_max_chars": self.quote_max_chars >= self.quote_min_chars,
            "per_population": self.per_population > 0,
            "under_heard_ratio": self.under_heard_ratio > 0,
            "min_cell_respondents": self.min_cell_respondents >= 1,
            # Mean 1 must lie inside the caps or normalising could never satisfy them.
            "weight_floor": 0 <= self.weight_floor <= 1,
            "weight_cap": self.weight_cap >= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"{name} is out of range: {getattr(self, name)!r}")


_SECTIONS = {
    "summary": (
        "confidence",
        "min_responses_for_estimate",
        "quotes_per_cell",
        "quote_min_chars",
        "quote_max_chars",
        "quote_skip_redacted",
    ),
    "reach": ("per_population", "under_heard_ratio"),
    "weights": ("min_cell_respondents", "weight_floor", "weight_cap"),
}


def _check_type(path: Path, section: str, key: str, value: Any, default: Any) -> None:
    where = f"{path}, field '{section}.{key}'"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: must be true or false")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: must be a whole number, got {value!r}")
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: must be a number, got {value!r}")


def load_voice_settings(path: str | Path | None = None) -> VoiceSettings:
    """Settings from `data/config/voice.yaml` (or `path`); bad keys or values raise ConfigError."""
    path = Path(DEFAULT_VOICE_CONFIG if path is None else path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read voice settings ({error})") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections")
    unknown_sections = set(raw) - set(_SECTIONS)
    if unknown_sections:
        raise ConfigError(f"{path}: unknown section(s) {', '.join(sorted(unknown_sections))}")
    defaults = VoiceSettings()
    values: dict[str, Any] = {}
    for section, keys in _SECTIONS.items():
        block = raw.get(section) or {}
        if not isinstance(block, dict):
            raise ConfigError(f"{path}, field {section!r}: expected a mapping")
        unknown = set(block) - set(keys)
        if unknown:
            names = ", ".join(f"{section}.{k}" for k in sorted(unknown))
            raise ConfigError(f"{path}: unknown setting(s) {names}")
        for key, value in block.items():
            _check_type(path, section, key, value, getattr(defaults, key))
            values[key] = value
    try:
        return dataclasses.replace(defaults, **values)
    except ValueError as error:
        raise ConfigError(f"{path}: {error}") from error


# --- Counted responses and places ------------------------------------------------------------


def require_columns(frame: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    """Raise ValueError naming the frame and the missing columns, if any."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")


def counted_responses(responses: pd.DataFrame) -> pd.DataFrame:
    """The responses that count as voices, one row each, with a `represents` column.

    - `is_duplicate` True: dropped (the earlier copy is counted).
    - A campaign (rows sharing a non-null `campaign_group` within a survey) counts once: its
      earliest submitted member is kept (ties and missing times by `response_id`) with its
      own scores, comments and place, and `represents` says how many responses it stands
      for. Keeping one real response, rather than averaging the group, keeps every published
      figure a count of actual people and every quote a real comment.

    Idempotent: counting counted responses changes nothing.
    """
    require_columns(
        responses,
        ["survey_id", "response_id", "submitted_at", "is_duplicate", "campaign_group"],
        "responses",
    )
    duplicate = responses["is_duplicate"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    kept = responses.reset_index(drop=True).loc[~duplicate]
    if "represents" not in kept.columns:
        kept = kept.assign(represents=1)
    campaign = kept.loc[kept["campaign_group"].notna()]
    if campaign.empty:
        return kept.reset_index(drop=True)
    group = ["survey_id", "campaign_group"]
    ordered = campaign.assign(
        _submitted=pd.to_datetime(campaign["submitted_at"]),
        _id=campaign["response_id"].astype(str),
    ).sort_values([*group, "_submitted", "_id"], na_position="last", kind="stable")
    first = ordered.drop_duplicates(group)
    sizes = campaign.groupby(group, sort=False)["represents"].sum()
    others = campaign.index.difference(first.index)
    # Keep the input order so the output does not depend on where campaigns sit.
    out = kept.drop(index=others)
    out.loc[first.index, "represents"] = sizes.reindex(
        pd.MultiIndex.from_frame(first[group])
    ).to_numpy()
    return out.reset_index(drop=True)


def assign_localities(responses: pd.DataFrame, bridge: pd.DataFrame) -> pd.DataFrame:
    """Rows (survey_id, response_id, council_code, locality_id): each locality a response is in.

    A response with a `locality_id` (optional column: geocoded by place name, no data zone)
    is in that locality, which must be one of its council's localities in `bridge`.
    Otherwise its `dz_code` is looked up in the bridge within the response's council, so a
    data zone shared by overlapping localities places the response in each of them, and a
    data zone in another council or in no locality places it in none. Unmatched responses
    (no data zone, no locality) are in no locality; they still count for the council.
    """
    require_columns(responses, ["survey_id", "response_id", "council_code", "dz_code"], "responses")
    require_columns(bridge, ["council_code", "locality_id", "dz_code"], "bridge")
    columns = ["survey_id", "response_id", "council_code", "locality_id"]
    if "locality_id" not in responses.columns:
        responses = responses.assign(locality_id=None)
    named_rows = responses["locality_id"].notna().to_numpy()
    named = responses.loc[named_rows, columns]
    known = bridge[["council_code", "locality_id"]].drop_duplicates()
    check = named.merge(known, on=["council_code", "locality_id"], how="left", indicator=True)
    unknown = check[check["_merge"] == "left_only"]
    if not unknown.empty:
        first = unknown.iloc[0]
        raise ValueError(
            f"responses: response {first['response_id']!r} of survey {first['survey_id']!r} "
            f"names locality_id {first['locality_id']!r}, which is not a locality of council "
            f"{first['council_code']!r} ({len(unknown)} such response(s))"
        )
    by_zone = responses.loc[~named_rows & responses["dz_code"].notna().to_numpy()]
    zoned = by_zone[["survey_id", "response_id", "council_code", "dz_code"]].merge(
        bridge[["council_code", "locality_id", "dz_code"]].drop_duplicates(),
        on=["council_code", "dz_code"],
    )
    return pd.concat([named, zoned[columns]], ignore_index=True)


def population_by_dz(
    population: pd.DataFrame, bridge: pd.DataFrame, councils: Sequence[str]
) -> pd.DataFrame:
    """Population rows (council_code, dz_code, simd_quintile, age_band, population), checked.

    `population` has dz_code, simd_quintile (1..5, one per data zone) and population, and
    optionally age_band (bands harmonised to the survey's; without it every row is
    `ALL_AGES`) and council_code. Without council_code, data zones belong to the one council
    of `councils`, or, with several councils, to their council in `bridge`.
    """
    require_columns(population, ["dz_code", "simd_quintile", "population"], "population")
    frame = population.copy()
    if "age_band" not in frame.columns:
        frame["age_band"] = ALL_AGES
    frame["age_band"] = frame["age_band"].astype(str)
    bands = set(frame["age_band"])
    if ALL_AGES in bands and len(bands) > 1:
        raise ValueError(
            f"population: mixes {ALL_AGES!r} rows with age-band rows; pass one or the other"
        )
    quintile = pd.to_numeric(frame["simd_quintile"], errors="coerce")
    if not quintile.isin(QUINTILES).all():
        bad = frame.loc[~quintile.isin(QUINTILES), "simd_quintile"].iloc[0]
        raise ValueError(f"population: simd_quintile must be 1..5, got {bad!r}")
    frame["simd_quintile"] = quintile.astype(int)
    people = pd.to_numeric(frame["population"], errors="coerce")
    if people.isna().any() or (people < 0).any():
        raise ValueError("population: population must be a non-negative number in every row")
    frame["population"] = people.astype(float)
    per_zone = frame.groupby("dz_code")["simd_quintile"].nunique()
    if (per_zone > 1).any():
        raise ValueError(
            f"population: data zone {per_zone[per_zone > 1].index[0]!r} has "
            "more than one simd_quintile"
        )
    if "council_code" not in frame.columns:
        if len(set(councils)) <= 1:
            frame["council_code"] = next(iter(councils), None)
        else:
            zone_council = bridge[["dz_code", "council_code"]].drop_duplicates("dz_code")
            frame = frame.merge(zone_council, on="dz_code", how="left")
            if frame["council_code"].isna().any():
                zone = frame.loc[frame["council_code"].isna(), "dz_code"].iloc[0]
                raise ValueError(
                    f"population: no council_code column and data zone {zone!r} is in no "
                    "locality of the bridge; add council_code"
                )
    return frame[["council_code", "dz_code", "simd_quintile", "age_band", "population"]]


def response_quintiles(responses: pd.DataFrame, population_dz: pd.DataFrame) -> pd.DataFrame:
    """Rows (survey_id, response_id, simd_quintile) for responses living in their council.

    A response is placed when its data zone is in its council's population
    (`population_by_dz`); responses without a data zone, or from another council, are not.
    """
    zones = population_dz[["council_code", "dz_code", "simd_quintile"]].drop_duplicates()
    placed = responses[["survey_id", "response_id", "council_code", "dz_code"]].merge(
        zones, on=["council_code", "dz_code"]
    )
    return placed[["survey_id", "response_id", "simd_quintile"]]


def band_order(label: str) -> tuple[float, str]:
    """Sort key for age-band labels: by the first number ('16-24' < '25-34' < '75+')."""
    match = re.match(r"\s*(\d+)", str(label))
    return (float(match.group(1)) if match else float("inf"), str(label))


# --- Engagement reach ------------------------------------------------------------------------


def _group_rows(
    counted_ids: pd.DataFrame,
    placements: pd.DataFrame,
    group_column: str,
    group_population: pd.DataFrame,
) -> pd.DataFrame:
    """Responses and population per (survey, council, group), zero-filled over the groups."""
    surveys = counted_ids[["survey_id", "council_code"]].drop_duplicates()
    grid = surveys.merge(group_population, on="council_code")
    counts = (
        placements.groupby(["survey_id", "council_code", group_column])
        .size()
        .rename("responses")
        .reset_index()
    )
    rows = grid.merge(counts, on=["survey_id", "council_code", group_column], how="left")
    rows["responses"] = rows["responses"].fillna(0).astype(int)
    # Shares are among the responses placed in any group (a response in two overlapping
    # localities counts once in the denominator) and the population of those groups.
    placed = placements.drop_duplicates(_RESPONSE_KEY).groupby(["survey_id", "council_code"])
    rows = rows.merge(
        placed.size().rename("placed_responses").reset_index(),
        on=["survey_id", "council_code"],
        how="left",
    )
    rows["placed_responses"] = rows["placed_responses"].fillna(0)
    return rows


def engagement_reach(
    responses: pd.DataFrame,
    bridge: pd.DataFrame,
    population: pd.DataFrame,
    *,
    settings: VoiceSettings | None = None,
    rules: DisclosureRules | None = None,
) -> pd.DataFrame:
    """Responses per 1,000 residents and representation by locality, SIMD quintile and council.

    Counted responses only (`counted_responses`). Localities are every locality of the
    survey's council in `bridge` (zero responses shown as 0), placed by `assign_localities`;
    quintiles are 1..5 of the council's population, placed by `response_quintiles`; the
    council row counts every counted response, placed or not.

    `response_share` is the group's share of the responses placed in that kind of group,
    `population_share` its share of those groups' population (overlapping localities make
    either sum above 1); `representation_ratio` = response_share / population_share, and
    `under_heard` is True when it is below `settings.under_heard_ratio` (quintile '1' is the
    most deprived fifth). The council row has shares and ratio 1.

    Disclosure: `responses` goes through the shared mask with the council row as the total of
    its localities and, separately, of its quintiles; rates, shares, ratios, their limits and
    the flag are hidden with a hidden count.

    Returns `REACH_COLUMNS` then `REACH_EXTRA_COLUMNS`.
    """
    settings = settings or VoiceSettings()
    rules = rules or load_disclosure_rules()
    counted = counted_responses(responses)
    require_columns(counted, ["council_code", "dz_code"], "responses")
    ids = counted[["survey_id", "response_id", "council_code", "dz_code"]]
    councils = sorted(ids["council_code"].dropna().unique())
    people = population_by_dz(population, bridge, councils)
    zone_people = people.groupby(["council_code", "dz_code"], as_index=False)["population"].sum()

    zone_localities = bridge[["council_code", "locality_id", "dz_code"]].drop_duplicates()
    locality_people = zone_localities.merge(
        zone_people, on=["council_code", "dz_code"], how="left"
    ).fillna({"population": 0.0})
    covered = locality_people.drop_duplicates(["council_code", "dz_code"])
    covered_people = covered.groupby("council_code")["population"].sum().rename("base_population")
    locality_population = locality_people.groupby(["council_code", "locality_id"], as_index=False)[
        "population"
    ].sum()
    locality_rows = _group_rows(
        ids,
        assign_localities(counted, bridge),
        "locality_id",
        locality_population,
    ).merge(covered_people.reset_index(), on="council_code", how="left")
    locality_rows = locality_rows.rename(columns={"locality_id": "group_id"})
    locality_rows["group_type"] = "locality"

    quintile_population = (
        people.groupby(["council_code", "simd_quintile"])["population"].sum().reset_index()
    )
    full_grid = pd.MultiIndex.from_product(
        [councils, QUINTILES], names=["council_code", "simd_quintile"]
    ).to_frame(index=False)
    quintile_population = full_grid.merge(
        quintile_population, on=["council_code", "simd_quintile"], how="left"
    ).fillna({"population": 0.0})
    placed = response_quintiles(ids, people).merge(
        ids[["survey_id", "response_id", "council_code"]]
    )
    quintile_rows = _group_rows(ids, placed, "simd_quintile", quintile_population)
    council_people = people.groupby("council_code")["population"].sum().rename("base_population")
    quintile_rows = quintile_rows.merge(council_people.reset_index(), on="council_code", how="left")
    quintile_rows["group_id"] = quintile_rows.pop("simd_quintile").astype(str)
    quintile_rows["group_type"] = "simd_quintile"

    council_rows = (
        ids.groupby(["survey_id", "council_code"]).size().rename("responses").reset_index()
    )
    council_rows = council_rows.merge(council_people.reset_index(), on="council_code", how="left")
    council_rows["base_population"] = council_rows["base_population"].fillna(0.0)
    council_rows["population"] = council_rows["base_population"]
    council_rows["placed_responses"] = council_rows["responses"]
    council_rows["group_id"] = council_rows["council_code"]
    council_rows["group_type"] = "council"

    table = pd.concat([council_rows, locality_rows, quintile_rows], ignore_index=True)
    table = _reach_measures(table, settings)
    table = _mask_reach(table, rules)
    return table[[*REACH_COLUMNS, *REACH_EXTRA_COLUMNS]]


def _reach_measures(table: pd.DataFrame, settings: VoiceSettings) -> pd.DataFrame:
    responses = table["responses"].to_numpy(dtype=float)
    placed = table["placed_responses"].to_numpy(dtype=float)
    people = table["population"].to_numpy(dtype=float)
    base = table["base_population"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.where(people > 0, responses / people * settings.per_population, np.nan)
        response_share = np.where(placed > 0, responses / placed, np.nan)
        population_share = np.where(base > 0, people / base, np.nan)
        valid = population_share > 0
        ratio = np.where(valid, response_share / population_share, np.nan)
        limits = wilson_interval(responses, placed, settings.confidence)
        # The council is the whole: its ratio is 1 by definition, not an estimate.
        estimated = valid & (table["group_type"] != "council").to_numpy()
        lower = np.where(estimated, limits.lower / population_share, np.nan)
        upper = np.where(estimated, limits.upper / population_share, np.nan)
    out = table.assign(
        responses_per_1000=per,
        response_share=response_share,
        population_share=population_share,
        representation_ratio=ratio,
        representation_lower_ci=lower,
        representation_upper_ci=upper,
    )
    out["under_heard"] = np.where(
        np.isnan(ratio), False, ratio < settings.under_heard_ratio
    ).astype(bool)
    out["suppressed"] = False
    order = {"council": 0, "locality": 1, "simd_quintile": 2}
    out = out.assign(_order=out["group_type"].map(order))
    out = out.sort_values(["survey_id", "council_code", "_order", "group_id"], kind="stable")
    return out.drop(columns=["_order"]).reset_index(drop=True)


_REACH_DERIVED = (
    "responses_per_1000",
    "response_share",
    "representation_ratio",
    "representation_lower_ci",
    "representation_upper_ci",
    "under_heard",
)


def _mask_reach(table: pd.DataFrame, rules: DisclosureRules) -> pd.DataFrame:
    """Shared disclosure mask on `responses`: council = Σ localities and = Σ quintiles.

    Unplaced responses and overlapping localities make the real sums differ from the total;
    declaring the groups anyway treats those differences as known to a reader, which can
    only hide more, never less.
    """
    row_groups = []
    for _, rows in table.groupby(["survey_id", "council_code"], sort=False):
        total = rows.index[rows["group_type"] == "council"]
        for kind in ("locality", "simd_quintile"):
            parts = list(rows.index[rows["group_type"] == kind])
            if len(total) == 1 and parts:
                row_groups.append((total[0], parts))
    rules = dataclasses.replace(
        rules, derived_columns={**rules.derived_columns, "responses": _REACH_DERIVED}
    )
    mask = suppression_mask(table, ["responses"], rules, row_groups=row_groups)
    out = apply_mask(table, mask)
    out["responses"] = out["responses"].astype("Int64")
    out["under_heard"] = out["under_heard"].astype("boolean")
    return out
