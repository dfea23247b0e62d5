"""Triangulation configuration: priority themes, the crosswalk, city-wide themes and weights.

What belongs here: reading `data/config/themes/<council>.yaml` (or `default.yaml` for a
council without its own file), resolving `extends`, validating every key and reference with
a `ConfigError` that names the file and the key, and the typed `TriangulationConfig` the
scoring code reads. The format is documented in `data/config/themes/README.md`.

Validation checks ids against the vocabularies they refer to: SIMD domains
(`profiles.contract.SIMD_DOMAINS`), indicators (`indicators.csv` in the config folder, whose
polarity every indicator needs, and counts are refused), Place Standard themes and comment
codes (`profiles.voice.contract`), and city-wide themes of the same file.
"""

from __future__ import annotations

import copy
import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import yaml

from profiles.contract import COUNCIL_CODE, SIMD_DOMAINS
from profiles.errors import ConfigError
from profiles.settings import CONFIG_DIR
from profiles.voice.contract import NO_THEME, PLACE_STANDARD_THEMES

THEMES_FOLDER: Final[str] = "themes"
DEFAULT_FILE: Final[str] = "default.yaml"
COMPONENTS: Final[tuple[str, ...]] = ("need", "voice", "strategic")
COMPARATORS: Final[tuple[str, ...]] = ("council", "scotland")
VOICE_SIGNALS: Final[tuple[str, ...]] = ("low_score_share", "mean_score", "mention_share")
NEED_POLARITIES: Final[tuple[str, ...]] = ("higher_is_worse", "higher_is_better")
COMMENT_CODES: Final[tuple[str, ...]] = PLACE_STANDARD_THEMES
"""Free-text codes of the coding frame (`data/config/coding/frame.yaml`) other than 'none'."""

_TOP_KEYS: Final[frozenset[str]] = frozenset(
    {
        "version",
        "council_code",
        "council_name",
        "extends",
        "sources",
        "priority_themes",
        "city_themes",
        "strategic_fit",
        "weights",
        "need",
        "voice",
        "thresholds",
        "uncertainty",
        "evidence",
    }
)
_REQUIRED_SECTIONS: Final[tuple[str, ...]] = (
    "priority_themes",
    "city_themes",
    "strategic_fit",
    "weights",
    "need",
    "voice",
    "thresholds",
    "uncertainty",
    "evidence",
)
_ID_CHARS: Final[frozenset[str]] = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class NeedMeasure:
    """A `locality_profile` measure mapped to a priority theme."""

    measure_id: str
    weight: float
    polarity: str  # higher_is_worse | higher_is_better
    origin: str  # 'simd_domain:<domain>' or 'indicator'


@dataclass(frozen=True)
class PriorityTheme:
    """One row of the crosswalk: what local data and voice say about a priority theme."""

    theme_id: str
    label: str
    need: tuple[NeedMeasure, ...]
    place_standard: Mapping[str, float]  # Place Standard theme -> weight
    comment_codes: Mapping[str, float]  # free-text code -> weight
    city_fit: Mapping[str, float]  # city-wide theme -> strength of fit, 0..1


@dataclass(frozen=True)
class CityTheme:
    """A council-wide strategic theme (a City Plan priority, a partnership theme...)."""

    theme_id: str
    label: str
    kind: str
    weight: float


@dataclass(frozen=True)
class Thresholds:
    """Where a 0-100 component counts as 'high' for the agreement categories."""

    need_high: float
    voice_high: float


@dataclass(frozen=True)
class UncertaintySettings:
    """Bootstrap and weight-perturbation settings."""

    replicates: int
    seed: int
    interval: tuple[float, float]  # quantiles of replicate ranks for rank_low/rank_high
    stable_share: float  # stability below this labels a rank 'unstable'
    weight_jitter: float  # each weight is multiplied by U(1 - j, 1 + j) per replicate


@dataclass(frozen=True)
class EvidenceSettings:
    """How much response-level evidence a ranked row carries."""

    max_responses: int
    skip_redacted: bool
    max_quote_chars: int  # longer comments are listed by response id without their text


@dataclass(frozen=True)
class TriangulationConfig:
    """A council's validated triangulation settings (see `data/config/themes/README.md`)."""

    council_code: str
    council_name: str | None
    version: str
    files: tuple[Path, ...]  # the council file first, then what it extends
    sources: tuple[str, ...]
    priority_themes: tuple[PriorityTheme, ...]
    city_themes: tuple[CityTheme, ...]
    component_weights: Mapping[str, float]
    comparator_weights: Mapping[str, float]
    voice_signal_weights: Mapping[str, float]
    need_vintage: str  # 'latest' or a vintage id such as '2020v2'
    need_z_cap: float  # every standardised gap is clipped to [-cap, cap]
    simd_measure: str  # simd_<domain>_<simd_measure> is the measure of a mapped domain
    voice_weighting: str  # weighted | unweighted (preferred rows of voice_theme_summary)
    voice_surveys: tuple[str, ...] | None  # None = every survey of the council
    thresholds: Thresholds
    uncertainty: UncertaintySettings
    evidence: EvidenceSettings

    @property
    def theme_ids(self) -> tuple[str, ...]:
        return tuple(theme.theme_id for theme in self.priority_themes)

    @property
    def need_measure_ids(self) -> tuple[str, ...]:
        """The profile measures need scoring reads (mapped with a positive weight), sorted."""
        return tuple(
            sorted(
                {m.measure_id for theme in self.priority_themes for m in theme.need if m.weight > 0}
            )
        )

    def theme(self, theme_id: str) -> PriorityTheme:
        for theme in self.priority_themes:
            if theme.theme_id == theme_id:
                return theme
        raise KeyError(theme_id)

    @property
    def strategic_scores(self) -> dict[str, float]:
        """Strategic fit of each priority theme on 0-100 (the best-fitting theme = 100).

        raw(p) = Σ_c fit(p, c) × weight(c); score(p) = 100 × raw(p) / max_p raw(p).
        """
        weight = {city.theme_id: city.weight for city in self.city_themes}
        raw = {
            theme.theme_id: sum(fit * weight[c] for c, fit in theme.city_fit.items())
            for theme in self.priority_themes
        }
        top = max(raw.values(), default=0.0)
        return {k: (100.0 * v / top if top > 0 else 0.0) for k, v in raw.items()}


# --- Reading -------------------------------------------------------------------------------


class _Checker:
    """Builds `ConfigError`s naming the file that supplied each section and the key."""

    def __init__(self, origin: Mapping[str, Path]) -> None:
        self.origin = origin

    def fail(self, key: str, reason: str) -> ConfigError:
        section = key.split(".", 1)[0]
        path = self.origin.get(section, next(iter(self.origin.values())))
        return ConfigError(f"{path}, key '{key}': {reason}")

    def mapping(self, value: Any, key: str, *, allowed: set[str] | None = None) -> dict:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__}")
        if allowed is not None:
            unknown = sorted(set(map(str, value)) - allowed)
            if unknown:
                raise self.fail(
                    key,
                    f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})",
                )
        return value

    def require(self, block: Mapping, name: str, key: str) -> Any:
        if name not in block:
            raise self.fail(f"{key}.{name}", "required key is missing")
        return block[name]

    def number(
        self, value: Any, key: str, *, low: float = -math.inf, high: float = math.inf
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise self.fail(key, f"must be a number, got {value!r}")
        if not low <= value <= high:
            raise self.fail(key, f"must be between {low:g} and {high:g}, got {value!r}")
        return float(value)

    def integer(self, value: Any, key: str, *, low: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be a whole number, got {value!r}")
        if value < low:
            raise self.fail(key, f"must be at least {low}, got {value}")
        return value

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be non-empty text, got {value!r}")
        return value.strip()

    def weights(
        self,
        value: Any,
        key: str,
        vocabulary: tuple[str, ...] | set[str],
        what: str,
        *,
        high: float = math.inf,
        require_all: bool = False,
    ) -> dict[str, float]:
        block = self.mapping(value, key)
        out: dict[str, float] = {}
        for name, weight in block.items():
            if name not in vocabulary:
                known = ", ".join(sorted(vocabulary))
                raise self.fail(f"{key}.{name}", f"unknown {what} (known: {known})")
            out[str(name)] = self.number(weight, f"{key}.{name}", low=0.0, high=high)
        if require_all:
            missing = [name for name in vocabulary if name not in out]
            if missing:
                raise self.fail(key, f"missing weight(s) for {', '.join(missing)}")
        return out


def _read_yaml(path: Path) -> dict:
    try:
        stat = path.stat()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read triangulation config ({error})") from error
    # Every council's config extends the same base file: parse each version of a file once.
    return copy.deepcopy(_parse_yaml(str(path), stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=64)
def _parse_yaml(name: str, _mtime_ns: int, _size: int) -> dict:
    path = Path(name)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read triangulation config ({error})") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from error
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    unknown = sorted(set(map(str, document)) - _TOP_KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown top-level key(s) {', '.join(unknown)} "
            f"(allowed: {', '.join(sorted(_TOP_KEYS))})"
        )
    return document


def _resolve(path: Path) -> tuple[dict, dict[str, Path], tuple[Path, ...]]:
    """The merged document, which file supplied each section, and the files read.

    `extends: <file>` (relative to the file's folder) takes every section the file does not
    define from that file, whole: sections are never merged key by key, so what a council
    file says about a section is all there is of it. One level only.
    """
    document = _read_yaml(path)
    origin = {key: path for key in document}
    files: tuple[Path, ...] = (path,)
    parent_name = document.pop("extends", None)
    if parent_name is None:
        return document, origin, files
    if not isinstance(parent_name, str) or not parent_name.strip():
        raise ConfigError(f"{path}, key 'extends': must be a file name, got {parent_name!r}")
    parent_path = path.parent / parent_name
    if parent_path.resolve() == path.resolve():
        raise ConfigError(f"{path}, key 'extends': a file cannot extend itself")
    if not parent_path.is_file():
        raise ConfigError(f"{path}, key 'extends': no file {parent_path}")
    parent = _read_yaml(parent_path)
    if "extends" in parent:
        raise ConfigError(f"{parent_path}, key 'extends': only one level of extends is allowed")
    for key, value in parent.items():
        if key not in document and key not in {"council_code", "council_name", "version"}:
            document[key] = value
            origin[key] = parent_path
    return document, origin, (path, parent_path)


def _indicator_catalogue(config_dir: Path) -> dict[str, dict[str, str]]:
    path = config_dir / "indicators.csv"
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return {row["indicator"]: row for row in csv.DictReader(handle)}
    except (OSError, KeyError) as error:
        raise ConfigError(f"{path}: cannot read the indicator catalogue ({error})") from error


def _theme_id(check: _Checker, value: Any, key: str) -> str:
    name = str(value)
    if not name or not set(name) <= _ID_CHARS or not name[0].isalpha():
        raise check.fail(key, f"id {name!r} must be lower_snake_case (letters, digits, _)")
    return name


def _need_measures(
    check: _Checker, block: Any, key: str, simd_measure: str, catalogue: dict[str, dict]
) -> tuple[NeedMeasure, ...]:
    need = check.mapping(block, key, allowed={"simd_domains", "indicators"})
    measures: list[NeedMeasure] = []
    domains = check.weights(
        need.get("simd_domains") or {},
        f"{key}.simd_domains",
        tuple(d for d in SIMD_DOMAINS),
        "SIMD domain",
    )
    for domain, weight in domains.items():
        # A larger share of people in the most deprived zones is always worse.
        measures.append(
            NeedMeasure(
                f"simd_{domain}_{simd_measure}", weight, "higher_is_worse", f"simd_domain:{domain}"
            )
        )
    indicators = check.weights(
        need.get("indicators") or {},
        f"{key}.indicators",
        set(catalogue),
        "indicator",
    )
    for indicator, weight in indicators.items():
        info = catalogue[indicator]
        if info.get("unit") == "count":
            raise check.fail(
                f"{key}.indicators.{indicator}",
                "is a count, which grows with the size of the area; map its rate instead",
            )
        if info.get("polarity") not in NEED_POLARITIES:
            raise check.fail(
                f"{key}.indicators.{indicator}",
                f"has polarity {info.get('polarity')!r} in indicators.csv; need requires "
                f"{' or '.join(NEED_POLARITIES)}",
            )
        measures.append(NeedMeasure(indicator, weight, info["polarity"], "indicator"))
    return tuple(measures)


def _priority_themes(
    check: _Checker, block: Any, simd_measure: str, catalogue: dict[str, dict]
) -> list[dict[str, Any]]:
    themes = check.mapping(block, "priority_themes")
    if not themes:
        raise check.fail("priority_themes", "at least one priority theme is required")
    parsed = []
    for raw_id, spec in themes.items():
        theme_id = _theme_id(check, raw_id, f"priority_themes.{raw_id}")
        key = f"priority_themes.{theme_id}"
        spec = check.mapping(spec, key, allowed={"label", "need", "voice"})
        label = check.text(check.require(spec, "label", key), f"{key}.label")
        need = _need_measures(check, spec.get("need") or {}, f"{key}.need", simd_measure, catalogue)
        voice = check.mapping(
            spec.get("voice") or {}, f"{key}.voice", allowed={"place_standard", "comment_codes"}
        )
        place_standard = check.weights(
            voice.get("place_standard") or {},
            f"{key}.voice.place_standard",
            PLACE_STANDARD_THEMES,
            "Place Standard theme",
        )
        codes = check.weights(
            voice.get("comment_codes") or {},
            f"{key}.voice.comment_codes",
            COMMENT_CODES,
            f"comment code ('{NO_THEME}' cannot be mapped)",
        )
        if not any(m.weight > 0 for m in need) and not any(
            w > 0 for w in (*place_standard.values(), *codes.values())
        ):
            raise check.fail(key, "maps to no measure and no voice theme with a weight above 0")
        parsed.append(
            {
                "theme_id": theme_id,
                "label": label,
                "need": need,
                "place_standard": place_standard,
                "comment_codes": codes,
            }
        )
    return parsed


def _city_themes(check: _Checker, block: Any) -> tuple[CityTheme, ...]:
    themes = check.mapping(block, "city_themes")
    if not themes:
        raise check.fail("city_themes", "at least one city-wide theme is required")
    out = []
    for raw_id, spec in themes.items():
        theme_id = _theme_id(check, raw_id, f"city_themes.{raw_id}")
        key = f"city_themes.{theme_id}"
        spec = check.mapping(spec, key, allowed={"label", "kind", "weight"})
        out.append(
            CityTheme(
                theme_id,
                check.text(check.require(spec, "label", key), f"{key}.label"),
                check.text(spec.get("kind", "theme"), f"{key}.kind"),
                check.number(spec.get("weight", 1.0), f"{key}.weight", low=0.0),
            )
        )
    return tuple(out)


def _positive_total(check: _Checker, weights: Mapping[str, float], key: str) -> None:
    if sum(weights.values()) <= 0:
        raise check.fail(key, "at least one weight must be above 0")


def _build(
    document: dict,
    origin: dict[str, Path],
    files: tuple[Path, ...],
    council_code: str,
    catalogue: dict[str, dict],
) -> TriangulationConfig:
    check = _Checker(origin)
    for section in _REQUIRED_SECTIONS:
        if section not in document:
            raise ConfigError(f"{files[0]}: required section '{section}' is missing")

    need = check.mapping(document["need"], "need", allowed={"vintage", "simd_measure", "z_cap"})
    z_cap = check.number(check.require(need, "z_cap", "need"), "need.z_cap", low=0.1)
    need_vintage = check.text(need.get("vintage", "latest"), "need.vintage")
    simd_measure = check.text(
        need.get("simd_measure", "pop_share_most_deprived_20"), "need.simd_measure"
    )
    themes = _priority_themes(check, document["priority_themes"], simd_measure, catalogue)
    city = _city_themes(check, document["city_themes"])
    city_ids = {c.theme_id for c in city}

    fit_block = check.mapping(document["strategic_fit"], "strategic_fit")
    theme_ids = {t["theme_id"] for t in themes}
    for name in fit_block:
        if name not in theme_ids:
            raise check.fail(
                f"strategic_fit.{name}",
                f"unknown priority theme (known: {', '.join(sorted(theme_ids))})",
            )
    fits = {
        name: check.weights(
            fit_block[name] or {}, f"strategic_fit.{name}", city_ids, "city-wide theme", high=1.0
        )
        for name in fit_block
    }

    weights = check.mapping(
        document["weights"], "weights", allowed={"components", "need_comparators", "voice_signals"}
    )
    components = check.weights(
        check.require(weights, "components", "weights"),
        "weights.components",
        COMPONENTS,
        "component",
        require_all=True,
    )
    comparators = check.weights(
        check.require(weights, "need_comparators", "weights"),
        "weights.need_comparators",
        COMPARATORS,
        "comparator",
        require_all=True,
    )
    signals = check.weights(
        check.require(weights, "voice_signals", "weights"),
        "weights.voice_signals",
        VOICE_SIGNALS,
        "voice signal",
        require_all=True,
    )
    _positive_total(check, components, "weights.components")
    _positive_total(check, comparators, "weights.need_comparators")
    _positive_total(check, signals, "weights.voice_signals")

    voice = check.mapping(document["voice"], "voice", allowed={"weighting", "surveys"})
    weighting = voice.get("weighting", "weighted")
    if weighting not in ("weighted", "unweighted"):
        raise check.fail("voice.weighting", f"must be weighted or unweighted, got {weighting!r}")
    surveys = voice.get("surveys", "all")
    if surveys == "all":
        survey_ids = None
    elif isinstance(surveys, list) and surveys and all(isinstance(s, str) for s in surveys):
        survey_ids = tuple(surveys)
    else:
        raise check.fail("voice.surveys", f"must be 'all' or a list of survey ids, got {surveys!r}")

    thresholds = check.mapping(
        document["thresholds"], "thresholds", allowed={"need_high", "voice_high"}
    )
    uncertainty = check.mapping(
        document["uncertainty"],
        "uncertainty",
        allowed={"replicates", "seed", "interval", "stable_share", "weight_jitter"},
    )
    interval = check.require(uncertainty, "interval", "uncertainty")
    if not (isinstance(interval, list) and len(interval) == 2):
        raise check.fail("uncertainty.interval", f"must be [low, high], got {interval!r}")
    low = check.number(interval[0], "uncertainty.interval[0]", low=0.0, high=1.0)
    high = check.number(interval[1], "uncertainty.interval[1]", low=0.0, high=1.0)
    if low >= high:
        raise check.fail("uncertainty.interval", f"low must be below high, got {interval!r}")
    evidence = check.mapping(
        document["evidence"],
        "evidence",
        allowed={"max_responses", "skip_redacted", "max_quote_chars"},
    )
    skip_redacted = evidence.get("skip_redacted", True)
    if not isinstance(skip_redacted, bool):
        raise check.fail("evidence.skip_redacted", "must be true or false")

    name = document.get("council_name")
    return TriangulationConfig(
        council_code=council_code,
        council_name=None if name is None else check.text(name, "council_name"),
        version=str(document.get("version", "")),
        files=files,
        sources=tuple(str(s) for s in document.get("sources") or ()),
        priority_themes=tuple(
            PriorityTheme(
                t["theme_id"],
                t["label"],
                t["need"],
                t["place_standard"],
                t["comment_codes"],
                fits.get(t["theme_id"], {}),
            )
            for t in themes
        ),
        city_themes=city,
        component_weights=components,
        comparator_weights=comparators,
        voice_signal_weights=signals,
        need_vintage=need_vintage,
        need_z_cap=z_cap,
        simd_measure=simd_measure,
        voice_weighting=weighting,
        voice_surveys=survey_ids,
        thresholds=Thresholds(
            check.number(
                check.require(thresholds, "need_high", "thresholds"),
                "thresholds.need_high",
                low=0.0,
                high=100.0,
            ),
            check.number(
                check.require(thresholds, "voice_high", "thresholds"),
                "thresholds.voice_high",
                low=0.0,
                high=100.0,
            ),
        ),
        uncertainty=UncertaintySettings(
            replicates=check.integer(
                check.require(uncertainty, "replicates", "uncertainty"),
                "uncertainty.replicates",
                low=1,
            ),
            seed=check.integer(
                check.require(uncertainty, "seed", "uncertainty"), "uncertainty.seed", low=0
            ),
            interval=(low, high),
            stable_share=check.number(
                check.require(uncertainty, "stable_share", "uncertainty"),
                "uncertainty.stable_share",
                low=0.0,
                high=1.0,
            ),
            weight_jitter=check.number(
                check.require(uncertainty, "weight_jitter", "uncertainty"),
                "uncertainty.weight_jitter",
                low=0.0,
                high=0.99,
            ),
        ),
        evidence=EvidenceSettings(
            max_responses=check.integer(
                check.require(evidence, "max_responses", "evidence"),
                "evidence.max_responses",
                low=0,
            ),
            skip_redacted=skip_redacted,
            max_quote_chars=check.integer(
                check.require(evidence, "max_quote_chars", "evidence"),
                "evidence.max_quote_chars",
                low=1,
            ),
        ),
    )


def themes_file(config_dir: Path, council_code: str) -> Path:
    """The council's own file when it has one, else `default.yaml`."""
    folder = Path(config_dir) / THEMES_FOLDER
    own = folder / f"{council_code}.yaml"
    return own if own.is_file() else folder / DEFAULT_FILE


def load_triangulation_config(
    config_dir: str | Path = CONFIG_DIR, council_code: str = ""
) -> TriangulationConfig:
    """The validated configuration for `council_code` from `config_dir/themes/`.

    `config_dir` is the `data/config` folder (its `indicators.csv` validates indicator ids).
    A council without `themes/<council_code>.yaml` gets `themes/default.yaml`. Any problem
    raises `ConfigError` naming the file and the key.
    """
    config_dir = Path(config_dir)
    if not COUNCIL_CODE.match(council_code or ""):
        raise ConfigError(f"council code {council_code!r} is not an S12 council code")
    path = themes_file(config_dir, council_code)
    if not path.is_file():
        raise ConfigError(f"{path}: no triangulation config for council {council_code}")
    document, origin, files = _resolve(path)
    declared = document.get("council_code")
    if path.name != DEFAULT_FILE and declared != council_code:
        raise ConfigError(
            f"{path}, key 'council_code': file is for council {council_code} but says {declared!r}"
        )
    if path.name == DEFAULT_FILE and declared not in (None, council_code):
        raise ConfigError(f"{path}, key 'council_code': the default file must leave it null")
    return _build(document, origin, files, council_code, _indicator_catalogue(config_dir))
