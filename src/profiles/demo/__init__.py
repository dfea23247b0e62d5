"""The embedded demo: a synthetic "Demo City" written in the real published formats.

What belongs here: the demo's specification (`DemoSpec` and its parts), read from
`data/config/demo.yaml` by `load_demo_spec`, and `scotland_scale_spec`, which builds a
Scotland-sized spec (6,976 data zones in 32 councils) for performance work. Building the
geography is `geography`, the statistics `simd`, file formats `writers`, and the entry
point `generate.generate_demo`.

All codes the demo uses sit in a fictitious `9xxxxx` block of each GSS family (councils
`S129…`, wards `S139…`, intermediate zones `S029…`, data zones `S019…`), so demo rows can
never be mistaken for (or joined to) real ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from profiles.errors import ConfigError

DEFAULT_SPEC_PATH = Path(__file__).resolve().parents[3] / "data" / "config" / "demo.yaml"

_DEMO_COUNCIL_CODE = re.compile(r"^S129\d{5}$")
_DEMO_WARD_CODE = re.compile(r"^S139\d{5}$")
_POSTCODE_AREA = re.compile(r"^[A-PR-UWYZ][A-HK-Y]?$")
KINDS = ("city", "shire", "isles")


@dataclass(frozen=True)
class KindProfile:
    """How a kind of council looks: density of data zones, settlements, deprivation level.

    `urban_min_density` / `town_min_density` are thresholds on a data zone's settlement
    intensity (0..1, 1 at a town centre) for urban-rural classes 1-2 and small towns;
    `urban_class` is the 6/8-fold class of the urban part (1 large urban, 2 other urban).
    """

    km2_per_dz: float
    towns: int
    town_sigma: float
    minor_town_weight: float
    density_floor: float
    urban_class: int
    urban_min_density: float
    town_min_density: float
    drive_offset_minutes: float
    deprivation_offset: float
    mean_population: float
    islands: int = 1


@dataclass(frozen=True)
class WardSpec:
    """One multi-member ward. `lookup_name` is the name as the DZ lookup spells it
    (real lookups carry trailing spaces, no-break spaces and curly apostrophes)."""

    code: str
    name: str
    data_zones: int | None = None
    lookup_name: str | None = None
    locality: str | None = None

    @property
    def name_in_lookup(self) -> str:
        return self.lookup_name if self.lookup_name is not None else self.name

    @property
    def locality_name(self) -> str:
        return self.locality or self.name


@dataclass(frozen=True)
class CouncilSpec:
    code: str
    name: str
    kind: str
    data_zones: int
    wards: tuple[WardSpec, ...]
    intermediate_zones: int | None = None
    health_board: str | None = None
    police_division: str | None = None
    region: str = "East"
    zero_population_dzs: int = 0

    def ward_sizes(self) -> list[int]:
        """Data zones per ward: as given, else an even split of `data_zones`."""
        given = [ward.data_zones for ward in self.wards]
        if all(size is not None for size in given):
            return [int(size) for size in given]  # type: ignore[arg-type]
        base, extra = divmod(self.data_zones, len(self.wards))
        return [base + (1 if index < extra else 0) for index in range(len(self.wards))]

    def iz_count(self) -> int:
        if self.intermediate_zones is not None:
            return self.intermediate_zones
        return max(1, round(self.data_zones / 5.45))


@dataclass(frozen=True)
class PostcodeSpec:
    """Synthetic postcodes: `areas` are postcode areas of a valid UK shape that do not
    exist (default `DM`), used in order once an area's 99 districts are full."""

    areas: tuple[str, ...] = ("DM",)
    per_dz: float = 30.0
    terminated_share: float = 0.06
    large_user_share: float = 0.15
    sector_capacity: int = 300
    districts_per_area: int = 99


@dataclass(frozen=True)
class SimdSpec:
    """Shape of the latent deprivation field (lengths in data-zone spacings)."""

    field_length: float = 2.5
    field_weight: float = 0.8
    noise_weight: float = 0.45
    vintage_correlation: float = 0.96


@dataclass(frozen=True)
class NameParts:
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    qualifiers: tuple[str, ...]


@dataclass(frozen=True)
class DemoSpec:
    """Everything that determines the generated files, apart from the seed."""

    title: str
    origin: tuple[float, float]
    generated_at: str
    kinds: dict[str, KindProfile]
    councils: tuple[CouncilSpec, ...]
    names: NameParts
    postcodes: PostcodeSpec = field(default_factory=PostcodeSpec)
    simd: SimdSpec = field(default_factory=SimdSpec)
    seed: int = 20260

    @property
    def total_data_zones(self) -> int:
        return sum(council.data_zones for council in self.councils)

    def validate(self, source: str = "demo spec") -> DemoSpec:
        """Raise `ConfigError` naming the first inconsistency; return self when sound."""
        if not self.councils:
            raise ConfigError(f"{source}: no councils")
        seen: set[str] = set()
        for council in self.councils:
            where = f"{source}: council {council.name!r}"
            if council.kind not in self.kinds:
                raise ConfigError(f"{where}: unknown kind {council.kind!r}")
            if not _DEMO_COUNCIL_CODE.match(council.code):
                raise ConfigError(f"{where}: code {council.code!r} is not an S129xxxxx code")
            if not council.wards:
                raise ConfigError(f"{where}: no wards")
            sizes = council.ward_sizes()
            if sum(sizes) != council.data_zones:
                raise ConfigError(
                    f"{where}: ward data zones sum to {sum(sizes)}, not {council.data_zones}"
                )
            if min(sizes) < 2:
                raise ConfigError(f"{where}: every ward needs at least 2 data zones")
            if not 1 <= council.iz_count() <= council.data_zones // 2:
                raise ConfigError(f"{where}: intermediate zones must hold >= 2 data zones each")
            for code in (council.code, *(ward.code for ward in council.wards)):
                if code in seen:
                    raise ConfigError(f"{where}: code {code} used twice")
                seen.add(code)
            for ward in council.wards:
                if not _DEMO_WARD_CODE.match(ward.code):
                    raise ConfigError(f"{where}: ward code {ward.code!r} is not S139xxxxx")
        for area in self.postcodes.areas:
            if not _POSTCODE_AREA.match(area):
                raise ConfigError(f"{source}: postcode area {area!r} has no valid UK shape")
        if not 0 < self.postcodes.sector_capacity <= 400:
            raise ConfigError(f"{source}: sector_capacity must be 1..400 (20x20 unit letters)")
        if self.total_data_zones > 99_999:
            raise ConfigError(f"{source}: at most 99,999 data zones fit the S019xxxxx block")
        return self


def _ward_from_mapping(raw: dict[str, Any]) -> WardSpec:
    return WardSpec(
        code=str(raw["code"]),
        name=str(raw["name"]),
        data_zones=None if raw.get("data_zones") is None else int(raw["data_zones"]),
        lookup_name=raw.get("lookup_name"),
        locality=raw.get("locality"),
    )


def _council_from_mapping(raw: dict[str, Any]) -> CouncilSpec:
    wards = tuple(_ward_from_mapping(ward) for ward in raw["wards"])
    sizes = [ward.data_zones for ward in wards]
    data_zones = raw.get("data_zones")
    if data_zones is None:
        if any(size is None for size in sizes):
            raise KeyError("data_zones (or data_zones on every ward)")
        data_zones = sum(sizes)  # type: ignore[arg-type]
    return CouncilSpec(
        code=str(raw["code"]),
        name=str(raw["name"]),
        kind=str(raw["kind"]),
        data_zones=int(data_zones),
        wards=wards,
        intermediate_zones=raw.get("intermediate_zones"),
        health_board=raw.get("health_board"),
        police_division=raw.get("police_division"),
        region=str(raw.get("region", "East")),
        zero_population_dzs=int(raw.get("zero_population_dzs", 0)),
    )


def spec_from_mapping(raw: dict[str, Any], source: str = "demo spec") -> DemoSpec:
    """Build and validate a `DemoSpec` from the parsed YAML mapping."""
    try:
        kinds = {name: KindProfile(**values) for name, values in raw["kinds"].items()}
        postcodes = dict(raw.get("postcodes", {}))
        if "areas" in postcodes:
            postcodes["areas"] = tuple(postcodes["areas"])
        names = raw["iz_names"]
        spec = DemoSpec(
            title=str(raw["title"]),
            origin=(float(raw["origin"][0]), float(raw["origin"][1])),
            generated_at=str(raw["generated_at"]),
            kinds=kinds,
            councils=tuple(_council_from_mapping(council) for council in raw["councils"]),
            names=NameParts(
                prefixes=tuple(names["prefixes"]),
                suffixes=tuple(names["suffixes"]),
                qualifiers=tuple(names["qualifiers"]),
            ),
            postcodes=PostcodeSpec(**postcodes),
            simd=SimdSpec(**raw.get("simd", {})),
            seed=int(raw.get("seed", 20260)),
        )
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise ConfigError(f"{source}: not a valid demo spec ({error!r})") from error
    return spec.validate(source)


def load_demo_spec(path: str | Path | None = None) -> DemoSpec:
    """Read the demo spec (default `data/config/demo.yaml`)."""
    spec_path = Path(path) if path is not None else DEFAULT_SPEC_PATH
    try:
        raw = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{spec_path}: cannot read demo spec ({error})") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"{spec_path}: demo spec must be a mapping")
    return spec_from_mapping(raw, str(spec_path))


# Real Scotland: 32 councils, 6,976 data zones, 355 wards, 1,279 intermediate zones.
_SCOTLAND_SIZES: tuple[tuple[str, int], ...] = (
    ("city", 746),
    ("city", 597),
    ("city", 380),
    ("city", 188),
    *(
        ("shire", size)
        for size in (
            494,
            453,
            350,
            340,
            286,
            280,
            247,
            234,
            218,
            201,
            186,
            170,
            163,
            159,
            154,
            130,
            125,
            121,
            120,
            114,
            110,
            100,
            93,
            72,
            50,
        )
    ),
    ("isles", 36),
    ("isles", 30),
    ("isles", 29),
)


# Map centre of the Scotland-sized layout (EPSG:27700). Its land and isles span about
# 371 km east-west and 355 km north-south, so this keeps every polygon inside the
# British National Grid (easting <= 700 km), which geo_datazone_valid enforces.
_SCOTLAND_ORIGIN = (440000.0, 760000.0)


def scotland_scale_spec(
    base: DemoSpec | None = None, *, wards: int = 355, izs: int = 1279
) -> DemoSpec:
    """A Scotland-sized spec: 32 councils and 6,976 data zones with the real totals of
    wards and intermediate zones, reusing `base`'s kinds, names and postcode settings.

    Council sizes follow the real distribution (largest 746, smallest 29) without
    reproducing any real council's name or code.
    """
    base = base or load_demo_spec()
    total = sum(size for _, size in _SCOTLAND_SIZES)
    ward_counts = apportion([size for _, size in _SCOTLAND_SIZES], wards, minimum=2)
    iz_counts = apportion([size for _, size in _SCOTLAND_SIZES], izs, minimum=2)
    councils = []
    ward_number = 1
    for index, ((kind, size), n_wards, n_iz) in enumerate(
        zip(_SCOTLAND_SIZES, ward_counts, iz_counts, strict=True)
    ):
        number = index + 1
        label = {"city": "Demo City", "shire": "Demo Shire", "isles": "Demo Isles"}[kind]
        ward_specs = []
        for local in range(n_wards):
            ward_specs.append(
                WardSpec(code=f"S139{ward_number:05d}", name=f"{label} {number} Ward {local + 1}")
            )
            ward_number += 1
        councils.append(
            CouncilSpec(
                code=f"S129{number:05d}",
                name=f"{label} {number}",
                kind=kind,
                data_zones=size,
                wards=tuple(ward_specs),
                intermediate_zones=n_iz,
                health_board=f"Demo Health Board {index // 3 + 1}",
                region=("North", "East", "West")[index % 3],
            )
        )
    assert sum(council.data_zones for council in councils) == total
    return replace(
        base, title="Demo Scotland", councils=tuple(councils), origin=_SCOTLAND_ORIGIN
    ).validate("scotland_scale_spec")


def apportion(weights: list[int], total: int, *, minimum: int) -> list[int]:
    """Integers proportional to `weights`, each >= `minimum`, summing to `total`
    (largest remainders)."""
    raw = [total * weight / sum(weights) for weight in weights]
    counts = [max(minimum, int(value)) for value in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - int(raw[i]), reverse=True)
    position = 0
    while sum(counts) < total:
        counts[order[position % len(order)]] += 1
        position += 1
    while sum(counts) > total:
        largest = max(range(len(counts)), key=lambda i: counts[i] - raw[i])
        counts[largest] -= 1
    return counts
