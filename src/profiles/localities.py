"""Localities: what they are (versioned config) and which data zones belong to each.

What belongs here: reading and validating `data/config/localities/*.yaml`, the default of
one locality per multi-member ward for councils without a file, the data zone → locality
bridge, the coverage report (overlaps, data zones in no locality, codes that do not exist),
and resolving a `--council` argument to a code. Spatial assignment of data zones to polygon
localities uses representative points (shapely); nothing here reads the warehouse.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from profiles import contract
from profiles.errors import ConfigError

LOCALITY_KINDS = ("ward", "iz", "dz", "polygon")
DEFAULT_DEFINITION_VERSION = "default-one-per-ward"

DIM_LOCALITY_COLUMNS = (
    "council_code",
    "locality_id",
    "locality_name",
    "kind",
    "definition_version",
    "dz_count",
    "population",
)
BRIDGE_COLUMNS = ("council_code", "locality_id", "dz_code")
COVERAGE_COLUMNS = ("council_code", "issue", "dz_code", "locality_ids", "detail")

_CODE_PATTERN = {"ward": contract.WARD_CODE, "iz": contract.IZ_CODE, "dz": contract.DZ_CODE}
_LOOKUP_COLUMN = {"ward": "ward_code", "iz": "iz_code", "dz": "dz_code"}


@dataclass(frozen=True)
class LocalityDefinition:
    council_code: str
    locality_id: str
    locality_name: str
    kind: str
    definition_version: str
    codes: tuple[str, ...] = ()
    file: Path | None = None
    feature: str | None = None
    feature_field: str = "name"
    allow_overlap: bool = False


@dataclass(frozen=True)
class LocalityBuild:
    dim_locality: pd.DataFrame
    bridge: pd.DataFrame
    coverage: pd.DataFrame


def _require(mapping: Mapping, key: str, where: str) -> object:
    if key not in mapping or mapping[key] in (None, ""):
        raise ConfigError(f"{where}: missing required key {key!r}")
    return mapping[key]


def load_locality_file(path: Path) -> list[LocalityDefinition]:
    """Read and validate one council's locality file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from error
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping with council_code and localities")
    council = str(_require(document, "council_code", str(path)))
    if not contract.COUNCIL_CODE.match(council):
        raise ConfigError(f"{path}: council_code {council!r} is not an S12 code")
    version = str(_require(document, "definition_version", str(path)))
    entries = _require(document, "localities", str(path))
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: 'localities' must be a non-empty list")
    definitions: list[LocalityDefinition] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        where = f"{path}, locality {index}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping")
        locality_id = str(_require(entry, "id", where))
        where = f"{path}, locality {locality_id!r}"
        if locality_id in seen:
            raise ConfigError(f"{where}: duplicate id")
        seen.add(locality_id)
        kind = str(entry.get("kind", "ward"))
        if kind not in LOCALITY_KINDS:
            raise ConfigError(f"{where}: kind {kind!r} is not one of {', '.join(LOCALITY_KINDS)}")
        codes: tuple[str, ...] = ()
        file: Path | None = None
        if kind == "polygon":
            file = path.parent / str(_require(entry, "file", where))
            if not file.is_file():
                raise ConfigError(f"{where}: polygon file {file} does not exist")
        else:
            raw_codes = _require(entry, "codes", where)
            if not isinstance(raw_codes, list) or not raw_codes:
                raise ConfigError(f"{where}: 'codes' must be a non-empty list")
            codes = tuple(str(code).strip() for code in raw_codes)
            bad = [code for code in codes if not _CODE_PATTERN[kind].match(code)]
            if bad:
                raise ConfigError(f"{where}: not {kind} codes: {', '.join(bad)}")
        definitions.append(
            LocalityDefinition(
                council_code=council,
                locality_id=locality_id,
                locality_name=str(_require(entry, "name", where)),
                kind=kind,
                definition_version=version,
                codes=codes,
                file=file,
                feature=str(entry["feature"]) if entry.get("feature") is not None else None,
                feature_field=str(entry.get("feature_field", "name")),
                allow_overlap=bool(entry.get("allow_overlap", False)),
            )
        )
    return definitions


def load_locality_configs(config_dir: Path) -> dict[str, list[LocalityDefinition]]:
    """Every council's explicit localities, keyed by council code."""
    folder = config_dir / "localities"
    configs: dict[str, list[LocalityDefinition]] = {}
    for path in sorted(folder.glob("*.y*ml")):
        definitions = load_locality_file(path)
        council = definitions[0].council_code
        if council in configs:
            raise ConfigError(f"{path}: a second locality file for council {council}")
        configs[council] = definitions
    return configs


def default_ward_localities(
    dim_datazone: pd.DataFrame, council_code: str
) -> list[LocalityDefinition]:
    wards = (
        dim_datazone.loc[dim_datazone["council_code"] == council_code, ["ward_code", "ward_name"]]
        .drop_duplicates("ward_code")
        .sort_values("ward_code")
    )
    return [
        LocalityDefinition(
            council_code=council_code,
            locality_id=row.ward_code,
            locality_name=row.ward_name,
            kind="ward",
            definition_version=DEFAULT_DEFINITION_VERSION,
            codes=(row.ward_code,),
        )
        for row in wards.itertuples()
    ]


def _polygon_members(
    definition: LocalityDefinition, council_dz: pd.DataFrame, dz_points: pd.DataFrame | None
) -> tuple[list[str], str]:
    import geopandas as gpd
    import shapely

    if dz_points is None or dz_points.empty:
        return [], "no data zone polygons loaded, so polygon localities cannot be assigned"
    shapes = gpd.read_file(definition.file)
    if shapes.crs is None:
        shapes = shapes.set_crs(4326)
    shapes = shapes.to_crs(27700)
    if definition.feature is not None:
        if definition.feature_field not in shapes.columns:
            raise ConfigError(
                f"{definition.file}: no field {definition.feature_field!r} to select "
                f"feature {definition.feature!r}"
            )
        shapes = shapes[shapes[definition.feature_field].astype(str) == definition.feature]
        if shapes.empty:
            raise ConfigError(f"{definition.file}: no feature named {definition.feature!r}")
    polygon = shapely.make_valid(shapes.geometry.union_all())
    points = dz_points[dz_points["dz_code"].isin(council_dz["dz_code"])]
    inside = shapely.contains(polygon, shapely.points(points["x"], points["y"]))
    return sorted(points.loc[inside, "dz_code"]), ""


def build_localities(
    dim_datazone: pd.DataFrame,
    configs: Mapping[str, list[LocalityDefinition]],
    *,
    councils: Iterable[str] | None = None,
    dz_points: pd.DataFrame | None = None,
) -> LocalityBuild:
    """Localities, the data zone bridge and the coverage report for the given councils.

    `dz_points` (columns dz_code, x, y in EPSG:27700) are data zone representative points,
    needed only for polygon localities.
    """
    wanted = sorted(set(councils) if councils is not None else set(dim_datazone["council_code"]))
    population = dim_datazone.set_index("dz_code")["population"]
    localities, bridges, issues = [], [], []
    for council in wanted:
        council_dz = dim_datazone[dim_datazone["council_code"] == council]
        definitions = configs.get(council) or default_ward_localities(dim_datazone, council)
        for definition in definitions:
            detail = ""
            if definition.kind == "polygon":
                members, detail = _polygon_members(definition, council_dz, dz_points)
            else:
                column = _LOOKUP_COLUMN[definition.kind]
                known = set(council_dz[column])
                unknown = [code for code in definition.codes if code not in known]
                for code in unknown:
                    issues.append(
                        (
                            council,
                            "unknown_code",
                            None,
                            definition.locality_id,
                            f"{definition.kind} code {code} is not in this council's lookup",
                        )
                    )
                members = sorted(
                    council_dz.loc[council_dz[column].isin(definition.codes), "dz_code"]
                )
            if not members:
                issues.append(
                    (
                        council,
                        "empty_locality",
                        None,
                        definition.locality_id,
                        detail or "no data zones matched this locality's definition",
                    )
                )
            localities.append(
                {
                    "council_code": council,
                    "locality_id": definition.locality_id,
                    "locality_name": definition.locality_name,
                    "kind": definition.kind,
                    "definition_version": definition.definition_version,
                    "dz_count": len(members),
                    "population": int(population.reindex(members).fillna(0).sum()),
                    "allow_overlap": definition.allow_overlap,
                }
            )
            bridges.extend((council, definition.locality_id, dz) for dz in members)
    dim_locality = pd.DataFrame(localities)
    bridge = pd.DataFrame(bridges, columns=list(BRIDGE_COLUMNS))
    issues.extend(_coverage_issues(dim_datazone, dim_locality, bridge, wanted))
    coverage = pd.DataFrame(issues, columns=list(COVERAGE_COLUMNS))
    if dim_locality.empty:
        dim_locality = pd.DataFrame(columns=[*DIM_LOCALITY_COLUMNS, "allow_overlap"])
    return LocalityBuild(
        dim_locality=dim_locality.sort_values(["council_code", "locality_id"], ignore_index=True),
        bridge=bridge.sort_values(list(BRIDGE_COLUMNS), ignore_index=True),
        coverage=coverage.sort_values(
            ["council_code", "issue", "dz_code", "locality_ids"],
            ignore_index=True,
            na_position="first",
        ),
    )


def _coverage_issues(
    dim_datazone: pd.DataFrame,
    dim_locality: pd.DataFrame,
    bridge: pd.DataFrame,
    councils: list[str],
) -> list[tuple]:
    issues: list[tuple] = []
    if dim_locality.empty:
        return issues
    intended = set(dim_locality.loc[dim_locality["allow_overlap"], "locality_id"])
    for council in councils:
        members = bridge[bridge["council_code"] == council]
        council_dz = set(dim_datazone.loc[dim_datazone["council_code"] == council, "dz_code"])
        for dz in sorted(council_dz - set(members["dz_code"])):
            issues.append((council, "uncovered", dz, "", "data zone is in no locality"))
        overlapping = members[~members["locality_id"].isin(intended)]
        counts = overlapping.groupby("dz_code")["locality_id"].agg(sorted)
        for dz, ids in counts.items():
            if len(ids) > 1:
                issues.append(
                    (council, "overlap", dz, ",".join(ids), "data zone is in several localities")
                )
    return issues


def resolve_council(dim_council: pd.DataFrame, name_or_code: str) -> str:
    """The S12 code for a council given by code or (case-insensitive) name."""
    wanted = name_or_code.strip()
    codes = set(dim_council["council_code"])
    if wanted.upper() in codes:
        return wanted.upper()
    by_name = {
        str(name).casefold(): code
        for name, code in zip(dim_council["council_name"], dim_council["council_code"], strict=True)
    }
    if wanted.casefold() in by_name:
        return by_name[wanted.casefold()]
    close = difflib.get_close_matches(wanted.casefold(), list(by_name), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c.title()) for c in close)}?" if close else ""
    raise ConfigError(f"council {name_or_code!r} is not in the warehouse{hint}")
