"""What to fetch from statistics.gov.scot, and fetching it into the raw cache.

What belongs here: the statistics.gov.scot specifics — reading `data/config/statsgov.yaml`
(endpoint paths, dataset slugs, the SPARQL query template, timeouts and retries), building
the SIMD ranks SPARQL query for a vintage, the cube-table and data zone lookup downloads,
and `StatsGovSource.fetch_all`, which fills the `RawCache` and returns one
`provenance.SourceRecord` per file. Offline, or when the service fails and
`fallback_to_cache` is set, the last good cached files are replayed with mode "live-cache".
Robust HTTP lives in `profiles.live.http`, the cache layout in `profiles.live.cache`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

import requests
import yaml

from profiles.contract import DZ_CODE
from profiles.errors import ConfigError, FetchError
from profiles.live.cache import CacheEntry, CacheError, RawCache
from profiles.live.http import ColumnSpec, fetch_to_file, make_session
from profiles.provenance import SourceRecord

log = logging.getLogger(__name__)

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[3] / "data" / "config" / "statsgov.yaml"

MODE_LIVE = "live"
MODE_LIVE_CACHE = "live-cache"


# --- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpSettings:
    connect_timeout_s: float
    read_timeout_s: float
    attempt_deadline_s: float
    max_attempts: int
    backoff_s: float
    backoff_cap_s: float
    retry_after_cap_s: float
    csv_content_types: frozenset[str]


@dataclass(frozen=True)
class SimdVintage:
    dataset: str  # slug under uris.dataset_base
    year: str  # refPeriod year


@dataclass(frozen=True)
class FileDownload:
    path: str
    params: Mapping[str, str]
    required_columns: tuple[ColumnSpec, ...]
    vintage: str
    dataset: str
    publish_as: str


@dataclass(frozen=True)
class StatsGovConfig:
    """Parsed `statsgov.yaml`; see the comments in that file for the meaning of each key."""

    base_url: str
    user_agent: str
    http: HttpSettings
    dataset_base: str
    year_base: str
    area_base: str
    sparql_path: str
    sparql_method: str
    sparql_accept: str
    sparql_columns: tuple[str, ...]
    simd_query_template: str
    all_data_zones_filter: str
    simd_vintages: Mapping[str, SimdVintage]
    cube_path: str
    cube_required_columns: tuple[ColumnSpec, ...]
    cube_vintage: str
    cube_slugs: Mapping[str, tuple[str, ...]]
    cube_default_slugs: tuple[str, ...]
    dz_lookup: FileDownload
    names: Mapping[str, str]


def load_config(path: str | Path | None = None) -> StatsGovConfig:
    """Read and check the statistics.gov.scot configuration; `ConfigError` names the bad key."""
    config_path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    try:
        raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{config_path}: cannot read ({error})") from error
    reader = _Reader(config_path, raw)
    try:
        http = reader.section("http")
        uris = reader.section("uris")
        sparql = reader.section("sparql")
        cube = reader.section("cube_table")
        lookup = reader.section("dz_lookup")
        vintages = reader.section("simd_vintages")
        return StatsGovConfig(
            base_url=str(reader.get(raw, "base_url")).rstrip("/"),
            user_agent=str(reader.get(raw, "user_agent")),
            http=HttpSettings(
                connect_timeout_s=float(reader.get(http, "connect_timeout_s", "http")),
                read_timeout_s=float(reader.get(http, "read_timeout_s", "http")),
                attempt_deadline_s=float(reader.get(http, "attempt_deadline_s", "http")),
                max_attempts=int(reader.get(http, "max_attempts", "http")),
                backoff_s=float(reader.get(http, "backoff_s", "http")),
                backoff_cap_s=float(reader.get(http, "backoff_cap_s", "http")),
                retry_after_cap_s=float(reader.get(http, "retry_after_cap_s", "http")),
                csv_content_types=frozenset(
                    str(item).lower() for item in reader.get(http, "csv_content_types", "http")
                ),
            ),
            dataset_base=str(reader.get(uris, "dataset_base", "uris")),
            year_base=str(reader.get(uris, "year_base", "uris")),
            area_base=str(reader.get(uris, "area_base", "uris")),
            sparql_path=str(reader.get(sparql, "path", "sparql")),
            sparql_method=str(reader.get(sparql, "method", "sparql")).upper(),
            sparql_accept=str(reader.get(sparql, "accept", "sparql")),
            sparql_columns=tuple(str(c) for c in reader.get(sparql, "columns", "sparql")),
            simd_query_template=str(reader.get(sparql, "simd_ranks_query", "sparql")),
            all_data_zones_filter=str(reader.get(sparql, "all_data_zones_filter", "sparql")),
            simd_vintages={
                str(name): SimdVintage(
                    dataset=str(reader.get(spec, "dataset", f"simd_vintages.{name}")),
                    year=str(reader.get(spec, "year", f"simd_vintages.{name}")),
                )
                for name, spec in vintages.items()
            },
            cube_path=str(reader.get(cube, "path", "cube_table")),
            cube_required_columns=_column_specs(reader.get(cube, "required_columns", "cube_table")),
            cube_vintage=str(reader.get(cube, "vintage", "cube_table")),
            cube_slugs={
                str(slug): tuple(str(c) for c in (extra or ()))
                for slug, extra in (reader.get(cube, "slugs", "cube_table") or {}).items()
            },
            cube_default_slugs=tuple(
                str(s) for s in reader.get(cube, "default_slugs", "cube_table")
            ),
            dz_lookup=FileDownload(
                path=str(reader.get(lookup, "path", "dz_lookup")),
                params={
                    str(k): str(v)
                    for k, v in (reader.get(lookup, "params", "dz_lookup") or {}).items()
                },
                required_columns=_column_specs(reader.get(lookup, "required_columns", "dz_lookup")),
                vintage=str(reader.get(lookup, "vintage", "dz_lookup")),
                dataset=str(reader.get(lookup, "dataset", "dz_lookup")),
                publish_as=str(reader.get(lookup, "publish_as", "dz_lookup")),
            ),
            names={str(k): str(v) for k, v in reader.section("names").items()},
        )
    except (TypeError, ValueError, AttributeError) as error:
        raise ConfigError(f"{config_path}: invalid value ({error})") from error


class _Reader:
    def __init__(self, path: Path, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        self.path = path
        self.raw = raw

    def section(self, key: str) -> dict[str, Any]:
        value = self.get(self.raw, key)
        if not isinstance(value, dict):
            raise ConfigError(f"{self.path}: '{key}' must be a mapping")
        return value

    def get(self, mapping: Any, key: str, where: str = "") -> Any:
        if not isinstance(mapping, dict) or key not in mapping:
            name = f"{where}.{key}" if where else key
            raise ConfigError(f"{self.path}: missing key '{name}'")
        return mapping[key]


def _column_specs(items: Any) -> tuple[ColumnSpec, ...]:
    return tuple(
        str(item) if isinstance(item, str) else tuple(str(alt) for alt in item) for item in items
    )


# --- the source ----------------------------------------------------------------------------


class StatsGovSource:
    """Fetches SIMD ranks (SPARQL), cube-table CSVs and the data zone lookup into a RawCache.

    `base_url` overrides the configured one (a mirror, or a test server). With
    `fallback_to_cache`, a download that fails for good replays the last good cached copy
    (mode "live-cache") and the reason is kept in `failures`; otherwise `FetchError` is
    raised and the cache keeps its previous entry.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        cache: RawCache,
        session: requests.Session | None = None,
        config: StatsGovConfig | None = None,
        fallback_to_cache: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.config = config or load_config()
        self.base_url = (base_url or self.config.base_url).rstrip("/")
        self.cache = cache
        self.session = session or make_session(self.config.user_agent)
        self.fallback_to_cache = fallback_to_cache
        self.failures: dict[str, str] = {}
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter

    # --- names ---------------------------------------------------------------------------

    def simd_dataset(self, vintage: str) -> str:
        return Template(self.config.names["simd_dataset"]).substitute(vintage=vintage)

    def cube_dataset(self, slug: str) -> str:
        return Template(self.config.names["cube_dataset"]).substitute(slug=slug)

    def cube_dataset_uri(self, slug: str) -> str:
        return self.config.dataset_base + slug

    # --- queries -------------------------------------------------------------------------

    def simd_query(self, vintage: str, zones: Sequence[str] | None = None) -> str:
        """The SPARQL text for one SIMD vintage: ranks, deciles, quintiles and vigintiles of
        every domain, for all data zones or the given `S01` codes."""
        spec = self._vintage(vintage)
        if zones:
            bad = [code for code in zones if not DZ_CODE.match(code)]
            if bad:
                raise ValueError(f"not data zone codes: {', '.join(bad[:5])}")
            uris = " ".join(f"<{self.config.area_base}{code}>" for code in zones)
            zone_filter = f"VALUES ?area {{ {uris} }}"
        else:
            zone_filter = Template(self.config.all_data_zones_filter).substitute(
                area_base=self.config.area_base
            )
        return Template(self.config.simd_query_template).substitute(
            dataset_uri=self.config.dataset_base + spec.dataset,
            period_uri=self.config.year_base + spec.year,
            year=spec.year,
            area_base=self.config.area_base,
            zone_filter=zone_filter,
        )

    # --- single downloads ----------------------------------------------------------------

    def fetch_simd_ranks(self, vintage: str, zones: Sequence[str] | None = None) -> SourceRecord:
        """SPARQL CSV with header `year,zone,domain,measure,value` for one SIMD vintage."""
        query = self.simd_query(vintage, zones)
        method = self.config.sparql_method
        form = {"query": query}
        return self._fetch(
            self.simd_dataset(vintage),
            method=method,
            path=self.config.sparql_path,
            params=form if method == "GET" else None,
            data=form if method != "GET" else None,
            headers={"Accept": self.config.sparql_accept},
            required_columns=self.config.sparql_columns,
            vintage=vintage,
            publish_as=Template(self.config.names["simd_publish_as"]).substitute(vintage=vintage),
            request={"method": method, "path": self.config.sparql_path, "query": query},
        )

    def fetch_cube_table(self, slug: str) -> SourceRecord:
        """The whole cube as a tidy CSV (`FeatureCode,DateCode,Measurement,Units,Value,...`)."""
        extra = self.config.cube_slugs.get(slug, ())
        params = {"uri": self.cube_dataset_uri(slug)}
        return self._fetch(
            self.cube_dataset(slug),
            method="GET",
            path=self.config.cube_path,
            params=params,
            headers={"Accept": "text/csv"},
            required_columns=(*self.config.cube_required_columns, *extra),
            vintage=self.config.cube_vintage,
            publish_as=Template(self.config.names["cube_publish_as"]).substitute(slug=slug),
            request={"method": "GET", "path": self.config.cube_path, "params": params},
        )

    def fetch_dz_lookup(self) -> SourceRecord:
        """The data zone lookup file (Windows-1252 CSV), stored byte for byte."""
        spec = self.config.dz_lookup
        return self._fetch(
            spec.dataset,
            method="GET",
            path=spec.path,
            params=dict(spec.params),
            headers={"Accept": "text/csv, */*;q=0.5"},
            required_columns=spec.required_columns,
            vintage=spec.vintage,
            publish_as=spec.publish_as,
            request={"method": "GET", "path": spec.path, "params": dict(spec.params)},
        )

    def replay(self, dataset: str) -> SourceRecord:
        """The last good cached copy of `dataset` (checksum verified), mode "live-cache"."""
        entry = self.cache.latest(dataset)
        if entry is None:
            raise CacheError(
                f"no cached copy of {dataset} in {self.cache.root}; fetch once with network access"
            )
        return self._record(entry, MODE_LIVE_CACHE)

    # --- everything ----------------------------------------------------------------------

    def plan(
        self, vintages: Iterable[str], cube_slugs: Iterable[str] | None = None
    ) -> list[tuple[str, Callable[[], SourceRecord]]]:
        """(cache dataset name, fetch function) for every file a load needs."""
        slugs = self.config.cube_default_slugs if cube_slugs is None else tuple(cube_slugs)
        steps: list[tuple[str, Callable[[], SourceRecord]]] = []
        for vintage in vintages:
            self._vintage(vintage)
            steps.append((self.simd_dataset(vintage), lambda v=vintage: self.fetch_simd_ranks(v)))
        for slug in slugs:
            steps.append((self.cube_dataset(slug), lambda s=slug: self.fetch_cube_table(s)))
        steps.append((self.config.dz_lookup.dataset, self.fetch_dz_lookup))
        return steps

    def fetch_all(
        self,
        vintages: Iterable[str],
        *,
        offline: bool = False,
        cube_slugs: Iterable[str] | None = None,
    ) -> list[SourceRecord]:
        """Fetch (or, `offline`, replay) every file; one `SourceRecord` per file.

        Every download is attempted even if an earlier one failed, so the cache is as fresh
        as possible; then a single `FetchError` lists the failures (unless they were covered
        by `fallback_to_cache`). Offline, a dataset never cached raises `CacheError`.
        """
        records: list[SourceRecord] = []
        problems: list[str] = []
        for dataset, fetch in self.plan(vintages, cube_slugs):
            try:
                records.append(self.replay(dataset) if offline else fetch())
            except (FetchError, CacheError) as error:
                problems.append(str(error))
        if problems:
            kind = CacheError if offline else FetchError
            raise kind(
                f"{len(problems)} of {len(records) + len(problems)} statistics.gov.scot files "
                f"unavailable (the cache keeps its last good copies): " + "; ".join(problems)
            )
        return records

    def materialise_folder(
        self, dest: str | Path, records: Iterable[SourceRecord] | None = None
    ) -> dict[str, Path]:
        """Hard-link the current cached files into `dest` under their published names
        (`simd_sparql_2020v2.csv`, `Datazone2011lookup.csv`, `cube_<slug>.csv`)."""
        datasets = None if records is None else [record.dataset for record in records]
        return self.cache.materialise_folder(dest, datasets)

    # --- internals -----------------------------------------------------------------------

    def _vintage(self, vintage: str) -> SimdVintage:
        try:
            return self.config.simd_vintages[vintage]
        except KeyError:
            known = ", ".join(self.config.simd_vintages)
            raise ConfigError(
                f"SIMD vintage {vintage!r} is not in statsgov.yaml simd_vintages ({known})"
            ) from None

    def _fetch(
        self,
        dataset: str,
        *,
        method: str,
        path: str,
        headers: Mapping[str, str],
        required_columns: Sequence[ColumnSpec],
        vintage: str,
        publish_as: str,
        request: dict[str, Any],
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> SourceRecord:
        settings = self.config.http
        url = self.base_url + path
        try:
            with self.cache.incoming(dataset, Path(publish_as).suffix or ".csv") as temp:
                result = fetch_to_file(
                    self.session,
                    method,
                    url,
                    dest=temp,
                    params=params,
                    data=data,
                    headers=headers,
                    timeout=(settings.connect_timeout_s, settings.read_timeout_s),
                    max_attempts=settings.max_attempts,
                    backoff=settings.backoff_s,
                    backoff_cap=settings.backoff_cap_s,
                    retry_after_cap=settings.retry_after_cap_s,
                    expect="csv",
                    required_columns=required_columns,
                    total_deadline=settings.attempt_deadline_s,
                    csv_content_types=settings.csv_content_types,
                    sleep=self._sleep,
                    clock=self._clock,
                    jitter=self._jitter,
                )
                entry = self.cache.commit(
                    dataset,
                    result.path,
                    sha256=result.sha256,
                    url=result.url,
                    retrieved_at=result.retrieved_at,
                    vintage=vintage,
                    publish_as=publish_as,
                    content_type=result.content_type,
                    request=request,
                )
        except FetchError as error:
            if not self.fallback_to_cache:
                raise
            return self._fall_back(dataset, error)
        self.failures.pop(dataset, None)
        return self._record(entry, MODE_LIVE)

    def _fall_back(self, dataset: str, error: FetchError) -> SourceRecord:
        entry = self.cache.latest(dataset)
        if entry is None:
            raise FetchError(f"{error}; and no cached copy of {dataset} to fall back on") from error
        self.failures[dataset] = str(error)
        log.warning(
            "%s: download failed (%s); using the cached copy from %s",
            dataset,
            error,
            entry.retrieved_at,
        )
        return self._record(entry, MODE_LIVE_CACHE)

    def _record(self, entry: CacheEntry, mode: str) -> SourceRecord:
        return SourceRecord(
            dataset=entry.dataset,
            source=entry.url,
            path=str(self.cache.path_of(entry).resolve()),
            sha256=entry.sha256,
            bytes=entry.bytes,
            retrieved_at=entry.retrieved_at,
            vintage=entry.vintage,
            mode=mode,
        )
