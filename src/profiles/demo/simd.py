"""Synthetic statistics of the demo: populations, SIMD ranks and indicators.

What belongs here: a smooth latent deprivation field over the demo's data zones, the
populations (by year, and by sex and single year of age) that follow from it, and for
each SIMD vintage the indicators and domain ranks, the overall rank with its bands, and
the suppression markers the published tables carry ('*', 'n/a', '#VALUE!', empty cells).
Indicator values here are plain numbers (rates as fractions); how each file spells them
is `writers`' job.

Ranks follow the SIMD conventions: 1 is the most deprived; ranks are national (over all
demo data zones); income, employment, crime and housing ranks are computed on rounded
rates, so tied zones share an average rank (x.5 when two tie), like the published files.
Bands use the SIMD cut points: band b of k holds ranks up to floor(b * N / k) — except
the 2016 table's own overall bands, which round b * N / k (as the published file does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from profiles.demo import DemoSpec
from profiles.demo.geography import DemoGeography, dz_area_km2

DOMAIN_WEIGHTS: Final[dict[str, float]] = {
    "income": 0.28,
    "employment": 0.28,
    "health": 0.14,
    "education": 0.14,
    "access": 0.09,
    "crime": 0.05,
    "housing": 0.02,
}
TIED_DOMAINS: Final = ("income", "employment", "crime", "housing")
# How closely each domain follows the shared latent deprivation (access follows geography).
DOMAIN_LOADING: Final[dict[str, float]] = {
    "income": 0.95,
    "employment": 0.93,
    "health": 0.88,
    "education": 0.85,
    "crime": 0.6,
    "housing": 0.55,
}
YEARS: Final = (2014, 2017, 2018, 2020, 2021)
AGES: Final = 91  # single years 0..89 and 90+
VINTAGE_POPULATION_YEAR: Final[dict[str, int]] = {"2016": 2014, "2020v2": 2017}
# The 2016 table's own overall bands round b * N / k (decile 1 = ranks 1-698 of 6,976);
# 2020v2 and statistics.gov.scot floor it (decile 1 = ranks 1-697).
VINTAGE_BAND_RULE: Final[dict[str, str]] = {"2016": "round", "2020v2": "floor"}
BANDS: Final[dict[str, int]] = {"percentile": 100, "vigintile": 20, "decile": 10, "quintile": 5}


def cut_points(n: int, bands: int, rule: str = "floor") -> np.ndarray:
    """Highest rank in each band: band b of k holds ranks up to floor(b * n / k), or with
    `rule="round"` up to b * n / k rounded half up (the SIMD 2016 table's own bands)."""
    scaled = np.arange(1, bands + 1) * n
    if rule == "floor":
        return scaled // bands
    if rule == "round":
        return (2 * scaled + bands) // (2 * bands)
    raise ValueError(f"unknown cut point rule {rule!r}")


def band_of_rank(rank: np.ndarray, n: int, bands: int, rule: str = "floor") -> np.ndarray:
    """Band (1 = most deprived) of each overall rank, by the SIMD cut points."""
    return np.searchsorted(cut_points(n, bands, rule), np.asarray(rank), side="left") + 1


@dataclass(frozen=True)
class Population:
    """People per data zone (rows align with `DemoGeography.dzs`)."""

    by_year: pd.DataFrame  # columns: the YEARS, ints
    working_age: pd.DataFrame  # columns 2014 and 2017 (the SIMD vintages' years)
    female_2020: np.ndarray  # (n_dz, 91) single years 0..89 and 90+
    male_2020: np.ndarray


@dataclass(frozen=True)
class SimdVintage:
    """One SIMD release. `values` holds ranks, bands and indicators (numbers; rates as
    fractions); `markers` holds, per indicator cell, None or the text the file prints
    instead of the value ('*', 'n/a', '#VALUE!' or '' for an empty cell)."""

    vintage: str
    values: pd.DataFrame
    markers: pd.DataFrame


@dataclass(frozen=True)
class DemoStatistics:
    latent: np.ndarray
    population: Population
    vintages: dict[str, SimdVintage]


# --- latent field ---------------------------------------------------------------------------


def latent_deprivation(geo: DemoGeography, spec: DemoSpec, rng: np.random.Generator) -> np.ndarray:
    """Standardised deprivation (higher = more deprived): per council, a smooth random
    field (random Fourier features with a correlation length of a few DZ spacings) plus
    the council kind's offset, a pull towards dense town centres, and local noise."""
    dzs = geo.dzs
    params = spec.simd
    areas = dz_area_km2(geo)
    field = np.zeros(len(dzs))
    for _, members in dzs.groupby("council_code", sort=False).indices.items():
        xy = dzs[["x", "y"]].to_numpy()[members]
        spacing = np.sqrt(areas[members].sum() * 1e6 / len(members))
        scaled = xy / (spacing * params.field_length)
        features = 64
        frequencies = rng.normal(size=(2, features))
        phases = rng.uniform(0, 2 * np.pi, size=features)
        smooth = np.sqrt(2.0 / features) * np.cos(scaled @ frequencies + phases).sum(axis=1)
        centre_pull = dzs["intensity"].to_numpy()[members]
        centre_pull = (centre_pull - centre_pull.mean()) / (centre_pull.std() + 1e-9)
        field[members] = params.field_weight * smooth + 0.3 * centre_pull
    offsets = dzs["kind"].map({name: kind.deprivation_offset for name, kind in spec.kinds.items()})
    latent = field + offsets.to_numpy() + params.noise_weight * rng.normal(size=len(dzs))
    return (latent - latent.mean()) / latent.std()


# --- population -------------------------------------------------------------------------------


def _age_profiles() -> np.ndarray:
    """Three age shapes (young adults, families, older people) over 0..89 and 90+."""
    ages = np.arange(105, dtype=float)
    survival = np.exp(-((ages / 86.0) ** 7))
    young = survival * (1 + 1.1 * np.exp(-(((ages - 23) / 6.0) ** 2)))
    family = survival * (
        1 + 0.35 * np.exp(-(((ages - 8) / 7.0) ** 2)) + 0.4 * np.exp(-(((ages - 38) / 9.0) ** 2))
    )
    older = (
        survival * (1 + 0.8 * np.exp(-(((ages - 63) / 11.0) ** 2))) * np.where(ages < 18, 0.7, 1)
    )
    shapes = np.vstack([young, family, older])
    folded = np.concatenate([shapes[:, :90], shapes[:, 90:].sum(axis=1, keepdims=True)], axis=1)
    return folded / folded.sum(axis=1, keepdims=True)


def build_population(
    geo: DemoGeography, spec: DemoSpec, latent: np.ndarray, rng: np.random.Generator
) -> Population:
    """Populations for every year the files need, consistent across files: years differ by
    smooth growth plus a little noise; 2020 is split by sex and single year of age."""
    dzs = geo.dzs
    n = len(dzs)
    mean = dzs["kind"].map({name: kind.mean_population for name, kind in spec.kinds.items()})
    base = np.clip(mean.to_numpy() * np.exp(rng.normal(0, 0.2, size=n)), 380, 1700)
    growth = rng.normal(0.002, 0.009, size=n)
    empty = dzs["zero_population"].to_numpy()
    by_year = {}
    for year in YEARS:
        wobble = 0.0 if year == 2018 else rng.normal(0, 6, size=n)
        people = np.rint(base * (1 + growth) ** (year - 2018) + wobble).astype(np.int64)
        by_year[year] = np.where(empty, 0, np.maximum(people, 60))

    rural = (dzs["ur8"].to_numpy() >= 3).astype(float)
    centre = dzs["intensity"].to_numpy() * (dzs["kind"].to_numpy() == "city")
    logits = np.column_stack(
        [
            1.2 * centre + 0.3 * latent - 0.5,
            np.full(n, 0.4),
            0.9 * rural - 0.35 * latent,
        ]
    ) + rng.normal(0, 0.25, size=(n, 3))
    mix = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    profile = mix @ _age_profiles()
    ages = np.arange(AGES)
    female_tilt = 0.49 + 0.003 * np.clip(ages - 50, 0, None)
    female_p = profile * female_tilt
    male_p = profile * (1 - female_tilt)
    people_2020 = by_year[2020]
    females = rng.binomial(people_2020, female_p.sum(axis=1))
    female_2020 = rng.multinomial(females, female_p / female_p.sum(axis=1, keepdims=True))
    male_2020 = rng.multinomial(people_2020 - females, male_p / male_p.sum(axis=1, keepdims=True))
    working_share = profile[:, 16:65].sum(axis=1)
    working_age = {
        year: np.rint(
            by_year[year] * np.clip(working_share + rng.normal(0, 0.01, n), 0.3, 0.9)
        ).astype(np.int64)
        for year in (2014, 2017)
    }
    return Population(
        by_year=pd.DataFrame(by_year),
        working_age=pd.DataFrame(working_age),
        female_2020=female_2020.astype(np.int64),
        male_2020=male_2020.astype(np.int64),
    )


# --- indicators and ranks -------------------------------------------------------------------


def _standard(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() + 1e-12)


def _ratio(count: np.ndarray, base: np.ndarray) -> np.ndarray:
    return np.divide(count, base, out=np.zeros(len(count)), where=base > 0)


def _tied_rank(score: np.ndarray) -> np.ndarray:
    """Rank 1 = highest score; equal scores share their average rank."""
    return rankdata(-score, method="average")


def _ordinal_rank(score: np.ndarray) -> np.ndarray:
    return rankdata(-score, method="ordinal").astype(float)


def _exponential_transform(rank: np.ndarray) -> np.ndarray:
    """SIMD's transform of a domain rank to 0..100 (100 = most deprived), which lets a
    very deprived domain weigh more than an average one can offset."""
    n = len(rank)
    share = (n - rank + 0.5) / n
    return -23.0 * np.log(1.0 - share * (1.0 - np.exp(-100.0 / 23.0)))


def _vintage_values(
    geo: DemoGeography,
    domains: dict[str, np.ndarray],
    people: np.ndarray,
    working: np.ndarray,
    band_rule: str,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Indicators as noisy functions of the domain scores, and ranks from the indicators."""
    n = len(people)
    noise = {name: rng.normal(size=n) for name in ("h", "e", "a", "x")}
    intensity = geo.dzs["intensity"].to_numpy()
    rural = geo.dzs["ur8"].to_numpy() >= 6
    v: dict[str, np.ndarray] = {"population": people, "working_age": working}

    income_true = np.clip(0.085 * np.exp(0.72 * domains["income"]), 0.004, 0.55)
    v["income_count"] = rng.binomial(people, income_true)
    v["income_rate"] = _ratio(v["income_count"], people)
    employment_true = np.clip(0.07 * np.exp(0.68 * domains["employment"]), 0.003, 0.45)
    v["employment_count"] = rng.binomial(working, employment_true)
    v["employment_rate"] = _ratio(v["employment_count"], working)

    d, h = domains["health"], noise["h"]
    v["CIF"] = 5 * np.rint(np.clip(95 * np.exp(0.55 * d + 0.18 * h), 5, 600) / 5)
    v["ALCOHOL"] = np.rint(75 * np.exp(0.85 * d + 0.35 * rng.normal(size=n)))
    v["ALCOHOL"][rng.uniform(size=n) < 0.03] = 0
    # The worst zone tops 1,000, as real ones do (the 2016 table prints it as "1,234").
    worst = int(np.argmax(v["ALCOHOL"]))
    v["ALCOHOL"][worst] = max(v["ALCOHOL"][worst], 1000 + rng.integers(0, 900))
    v["DRUG"] = np.rint(45 * np.exp(1.0 * d + 0.5 * rng.normal(size=n)))
    v["DRUG"][rng.uniform(size=n) < 0.1 * np.exp(-d)] = 0
    v["SMR"] = np.rint(95 * np.exp(0.4 * d + 0.2 * rng.normal(size=n)))
    v["DEPRESS"] = np.clip(0.17 + 0.045 * d + 0.015 * h, 0.03, 0.4)
    v["LBWT"] = np.clip(0.05 + 0.02 * d + 0.025 * rng.normal(size=n), 0.0, 0.25)
    v["EMERG"] = np.rint(95 * np.exp(0.3 * d + 0.12 * rng.normal(size=n)))
    health_score = np.mean(
        [
            _standard(np.log(v["CIF"])),
            _standard(np.log(v["ALCOHOL"] + 10)),
            _standard(np.log(v["DRUG"] + 10)),
            _standard(np.log(v["SMR"] + 10)),
            _standard(v["DEPRESS"]),
            _standard(v["LBWT"]),
            _standard(np.log(v["EMERG"] + 10)),
        ],
        axis=0,
    )

    d, e = domains["education"], noise["e"]
    v["Attendance"] = np.clip(0.9 - 0.035 * d + 0.015 * e, 0.6, 0.99)
    v["Attainment"] = np.clip(5.6 - 0.45 * d + 0.15 * rng.normal(size=n), 2.5, 7.0)
    v["no_qualifications"] = np.rint(np.clip(95 * np.exp(0.5 * d + 0.15 * e), 3, 400))
    v["not_participating"] = np.clip(0.05 + 0.035 * d + 0.02 * rng.normal(size=n), 0.0, 0.4)
    v["University"] = np.clip(0.3 - 0.1 * d + 0.05 * rng.normal(size=n), 0.0, 0.85)
    education_score = np.mean(
        [
            _standard(-v["Attendance"]),
            _standard(-v["Attainment"]),
            _standard(np.log(v["no_qualifications"])),
            _standard(v["not_participating"]),
            _standard(-v["University"]),
        ],
        axis=0,
    )

    speed_kmh = 22.0 + 40.0 * (1.0 - intensity)
    access_parts = []
    for service in ("petrol", "GP", "post", "primary", "retail", "secondary"):
        km = geo.service_km[service].to_numpy() + 0.3
        drive = (1.0 + 60.0 * 1.3 * km / speed_kmh) * np.exp(rng.normal(0, 0.12, n))
        v[f"drive_{service}"] = drive
        access_parts.append(_standard(np.log(drive)))
    for service in ("GP", "post", "retail"):
        slowdown = 2.3 + 1.8 * (1.0 - intensity)
        v[f"PT_{service}"] = (3.0 + v[f"drive_{service}"] * slowdown) * np.exp(
            rng.normal(0, 0.15, n)
        )
        access_parts.append(_standard(np.log(v[f"PT_{service}"])))
    v["broadband"] = np.clip(
        0.01 + (1 - intensity) ** 4 * np.where(rural, 0.65, 0.15) + 0.03 * noise["a"], 0.0, 0.95
    )
    access_parts.append(_standard(v["broadband"]))
    access_score = np.mean(access_parts, axis=0)

    crime_true = 240 * np.exp(0.75 * domains["crime"])
    v["crime_count"] = rng.poisson(people * crime_true / 10_000)
    v["crime_rate"] = np.floor(_ratio(v["crime_count"], people) * 10_000 + 0.5)

    d, x = domains["housing"], noise["x"]
    overcrowded = np.clip(0.09 + 0.045 * d + 0.02 * x, 0.005, 0.45)
    no_heating = np.clip(0.012 + 0.01 * np.maximum(d, 0) + 0.006 * x + 0.02 * rural, 0.0, 0.2)
    v["overcrowded_count"] = rng.binomial(people, overcrowded)
    v["nocentralheating_count"] = rng.binomial(people, no_heating)
    v["overcrowded_rate"] = _ratio(v["overcrowded_count"], people)
    v["nocentralheating_rate"] = _ratio(v["nocentralheating_count"], people)
    housing_share = _ratio(v["overcrowded_count"] + v["nocentralheating_count"], people)

    # Rates are ranked at a precision that leaves roughly a tenth of zones tied, as in the
    # published files (where ties come from equal count/population fractions).
    places = round(np.log10(60 * n))
    ranks = {
        "income": _tied_rank(np.round(v["income_rate"], places)),
        "employment": _tied_rank(np.round(v["employment_rate"], places)),
        "health": _ordinal_rank(health_score),
        "education": _ordinal_rank(education_score),
        "access": _ordinal_rank(access_score),
        "crime": _tied_rank(np.round(_ratio(v["crime_count"], people), places + 1)),
        "housing": _tied_rank(np.round(housing_share, places)),
    }
    overall_score = sum(
        weight * _exponential_transform(ranks[domain]) for domain, weight in DOMAIN_WEIGHTS.items()
    )
    overall = _ordinal_rank(overall_score).astype(np.int64)
    frame = pd.DataFrame(v)
    frame.insert(2, "rank_overall", overall)
    for position, (band, k) in enumerate(BANDS.items()):
        frame.insert(3 + position, band, band_of_rank(overall, n, k, band_rule))
    for position, (domain, rank) in enumerate(ranks.items()):
        frame.insert(7 + position, f"rank_{domain}", rank)
    return frame


def _domain_scores(
    latent: np.ndarray, shared_noise: dict[str, np.ndarray], rng: np.random.Generator, fresh: float
) -> dict[str, np.ndarray]:
    """Domain scores loading on the latent; `fresh` of each domain's own noise is redrawn
    (0 for the first vintage) so the vintages correlate without being equal."""
    scores = {}
    for domain, loading in DOMAIN_LOADING.items():
        own = np.sqrt(1 - fresh**2) * shared_noise[domain] + fresh * rng.normal(size=len(latent))
        scores[domain] = loading * latent + np.sqrt(1 - loading**2) * own
    return scores


# --- suppression markers ----------------------------------------------------------------------


def _fewest(values: np.ndarray, share: float, eligible: np.ndarray) -> np.ndarray:
    """Positions of the `share` smallest `values` among `eligible` rows (at least one)."""
    candidates = np.flatnonzero(eligible)
    count = max(1, round(share * len(values)))
    return candidates[np.argsort(values[candidates], kind="stable")[:count]]


def _no_markers(values: pd.DataFrame) -> pd.DataFrame:
    blank = np.full(values.shape, None, dtype=object)
    return pd.DataFrame(blank, index=values.index, columns=values.columns)


def _markers_2020(
    values: pd.DataFrame, population: Population, empty: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """As published in 2020v2: '*' where too few pupils or crimes (< 3) to show, 'n/a'
    Attainment where there are no school leavers, a few empty cells, and a zone without
    residents left mostly empty."""
    n = len(values)
    markers = _no_markers(values)
    people = ~empty
    children = (population.female_2020 + population.male_2020)[:, 5:16].sum(axis=1)
    teenagers = (population.female_2020 + population.male_2020)[:, 15:18].sum(axis=1)
    few_children = _fewest(children, 0.08, people)
    markers.loc[few_children, "Attendance"] = "*"
    markers.loc[_fewest(teenagers, 0.025, people), "Attainment"] = "*"
    markers.loc[few_children[: max(1, n // 3000)], "Attainment"] = "n/a"
    small_crime = values["crime_count"].to_numpy() < 3
    markers.loc[small_crime, ["crime_count", "crime_rate"]] = "*"
    for column in ("CIF", "broadband"):
        markers.loc[rng.choice(np.flatnonzero(people), size=max(1, n // 3000)), column] = ""
    blank_when_empty = [
        "CIF", "ALCOHOL", "DRUG", "SMR", "DEPRESS", "LBWT", "EMERG", "Attendance",
        "not_participating", "University", "crime_rate", "broadband",
    ]  # fmt: skip
    markers.loc[empty, blank_when_empty] = ""
    markers.loc[empty, "Attainment"] = "n/a"
    markers.loc[empty, "crime_count"] = "*"
    return markers


def _markers_2016(
    values: pd.DataFrame, population: Population, empty: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """As published in 2016: a few '*' cells, and the spreadsheet error '#VALUE!' in rates
    whose denominator is zero (and once elsewhere)."""
    n = len(values)
    markers = _no_markers(values)
    people = np.flatnonzero(~empty)
    teenagers = (population.female_2020 + population.male_2020)[:, 15:18].sum(axis=1)
    markers.loc[_fewest(teenagers, 0.002, ~empty), "Attainment"] = "*"
    for column, text in (
        ("DEPRESS", "*"),
        ("LBWT", "*"),
        ("University", "*"),
        ("crime_rate", "*"),
        ("not_participating", "#VALUE!"),
    ):
        markers.loc[rng.choice(people, size=max(1, n // 3000)), column] = text
    markers.loc[empty, ["income_rate", "employment_rate", "Attendance", "not_participating"]] = (
        "#VALUE!"
    )
    markers.loc[empty, ["CIF", "DEPRESS", "Attainment", "University", "crime_rate"]] = "*"
    return markers


# --- entry --------------------------------------------------------------------------------------


def build_statistics(
    geo: DemoGeography, spec: DemoSpec, rng: np.random.Generator
) -> DemoStatistics:
    """Latent deprivation, populations and both SIMD vintages for the demo geography."""
    latent = latent_deprivation(geo, spec, rng)
    population = build_population(geo, spec, latent, rng)
    empty = geo.dzs["zero_population"].to_numpy()
    shared_noise = {domain: rng.normal(size=len(latent)) for domain in DOMAIN_LOADING}
    correlation = spec.simd.vintage_correlation
    latent_2016 = correlation * latent + np.sqrt(1 - correlation**2) * rng.normal(size=len(latent))
    vintages = {}
    for vintage, vintage_latent, fresh, make_markers in (
        ("2020v2", latent, 0.0, _markers_2020),
        ("2016", latent_2016, 0.5, _markers_2016),
    ):
        year = VINTAGE_POPULATION_YEAR[vintage]
        domains = _domain_scores(vintage_latent, shared_noise, rng, fresh)
        values = _vintage_values(
            geo,
            domains,
            population.by_year[year].to_numpy(),
            population.working_age[year].to_numpy(),
            VINTAGE_BAND_RULE[vintage],
            rng,
        )
        vintages[vintage] = SimdVintage(
            vintage, values, make_markers(values, population, empty, rng)
        )
    return DemoStatistics(latent=latent, population=population, vintages=vintages)
