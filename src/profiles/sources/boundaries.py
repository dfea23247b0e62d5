"""Boundary file reader: data zone, ward and IZ polygons into EPSG:27700 with clean geometry.

What belongs here: reading GeoJSON / GeoPackage / shapefile boundaries with pyogrio,
finding which properties hold the area code and name (aliases per area type in
`data/config/boundary_fields.yaml`), repairing invalid polygons, reprojecting to the
British National Grid, and turning the result into the `STG_BOUNDARY_COLUMNS` staging frame
(geometry as WKB). Spatial joins and maps live elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from profiles import contract
from profiles.errors import ConfigError, SourceFormatError

DEFAULT_FIELDS_CONFIG = (
    Path(__file__).resolve().parents[3] / "data" / "config" / "boundary_fields.yaml"
)
TARGET_CRS = "EPSG:27700"
_LONLAT_BOUNDS = (-180.0, -90.0, 180.0, 90.0)
_BNG_BOUNDS = (-1e5, -1e5, 8e5, 1.4e6)
_POLYGONAL = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class AreaFields:
    """Configured property names and code shape for one area type."""

    area_type: str
    code_pattern: re.Pattern[str] | None
    pairs: tuple[tuple[str, str | None], ...]


def load_boundary_fields(path: str | Path | None = None) -> dict[str, AreaFields]:
    """Area type -> `AreaFields`, from `boundary_fields.yaml` (default: data/config)."""
    config_path = Path(path) if path is not None else DEFAULT_FIELDS_CONFIG
    try:
        document = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        result = {}
        for area_type, spec in document["area_types"].items():
            pattern = spec.get("code_pattern")
            pairs = tuple((pair["code"], pair.get("name")) for pair in spec["fields"])
            result[area_type] = AreaFields(
                area_type, re.compile(pattern) if pattern else None, pairs
            )
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError, re.error) as error:
        raise ConfigError(f"{config_path}: not a valid boundary field config ({error})") from error
    return result


def match_boundary_fields(
    columns: list[str], area_fields: AreaFields
) -> tuple[str, str | None] | None:
    """The first configured (code, name) pair whose code property is among `columns`."""
    by_lower = {str(name).lower(): str(name) for name in columns}
    for code, name in area_fields.pairs:
        if code.lower() in by_lower:
            found_name = by_lower.get(name.lower()) if name else None
            return by_lower[code.lower()], found_name
    return None


def _code_field_by_values(frame: pd.DataFrame, pattern: re.Pattern[str] | None) -> str | None:
    """Fallback: the first text property whose every value has the area type's code shape."""
    if pattern is None:
        return None
    for column in frame.columns:
        if column == frame.geometry.name or frame[column].dtype.kind not in "OU":
            continue
        values = frame[column].dropna().astype(str).str.strip()
        if len(values) and values.str.fullmatch(pattern.pattern).all():
            return str(column)
    return None


def _polygonal(geometry: BaseGeometry | None) -> BaseGeometry | None:
    """Keep only the polygon parts of a repaired geometry (make_valid can add lines/points)."""
    if geometry is None or geometry.geom_type in _POLYGONAL:
        return geometry
    parts = [
        part
        for part in getattr(geometry, "geoms", [])
        if part.geom_type in _POLYGONAL and not part.is_empty
    ]
    if not parts:
        return shapely.MultiPolygon()
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def repair_geometries(geometries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make invalid polygons valid; returns `(geometries, was_repaired)`.

    Uses GEOS make_valid with the 'structure' method where shapely supports it (it keeps
    polygons as polygons), and keeps only polygonal parts of the result.
    """
    present = ~shapely.is_missing(geometries)
    invalid = present & ~shapely.is_valid(geometries)
    repaired = geometries.copy()
    if invalid.any():
        try:
            fixed = shapely.make_valid(
                geometries[invalid], method="structure", keep_collapsed=False
            )
        except TypeError:  # shapely < 2.1 has only the 'linework' method
            fixed = shapely.make_valid(geometries[invalid])
        repaired[invalid] = np.array([_polygonal(g) for g in fixed], dtype=object)
    return repaired, invalid


def _assumed_crs(frame: gpd.GeoDataFrame, path: Path) -> str:
    """CRS for a file that declares none, judged from its coordinate range."""
    minx, miny, maxx, maxy = frame.total_bounds
    lon_min, lat_min, lon_max, lat_max = _LONLAT_BOUNDS
    if lon_min <= minx and maxx <= lon_max and lat_min <= miny and maxy <= lat_max:
        return "EPSG:4326"  # RFC 7946: GeoJSON without a CRS is WGS84 longitude/latitude
    east_min, north_min, east_max, north_max = _BNG_BOUNDS
    if east_min <= minx and maxx <= east_max and north_min <= miny and maxy <= north_max:
        return TARGET_CRS
    raise SourceFormatError(
        path,
        f"no coordinate reference system declared and the bounds {frame.total_bounds.tolist()} "
        "are neither longitude/latitude nor British National Grid",
    )


def read_boundaries(
    path: str | Path,
    area_type: str,
    *,
    code_field: str | None = None,
    name_field: str | None = None,
    layer: str | int | None = None,
    fields_config: str | Path | None = None,
) -> gpd.GeoDataFrame:
    """Read a boundary file into a GeoDataFrame in EPSG:27700.

    Columns: `area_code`, `area_name`, `area_type`, `was_repaired`, `area_km2`, `geometry`.
    The code/name properties are `code_field`/`name_field` when given, else the first
    configured alias pair present, else the first property whose values all look like the
    area type's GSS codes (then `area_name` is missing unless `name_field` is given).
    A file without a CRS is taken as EPSG:4326 (or 27700 if its coordinates are metres in
    the British National Grid range). `attrs` records `source_file`, `source_crs`,
    `crs_assumed`, `code_field` and `name_field`.
    """
    file_path = Path(path)
    all_fields = load_boundary_fields(fields_config)
    if area_type not in all_fields:
        raise ValueError(f"unknown area type {area_type!r}; configured: {sorted(all_fields)}")
    area_fields = all_fields[area_type]
    try:
        frame = gpd.read_file(file_path, layer=layer, engine="pyogrio")
    except Exception as error:  # pyogrio raises several DataSourceError/GDAL types
        raise SourceFormatError(file_path, f"not a readable boundary file: {error}") from error
    if frame.empty:
        raise SourceFormatError(file_path, "the boundary file has no features")

    columns = [str(c) for c in frame.columns if c != frame.geometry.name]
    if code_field is None:
        matched = match_boundary_fields(columns, area_fields)
        if matched is not None:
            code_field, found_name = matched
            name_field = name_field or found_name
        else:
            code_field = _code_field_by_values(frame, area_fields.code_pattern)
    if code_field is None or code_field not in frame.columns:
        raise SourceFormatError(
            file_path,
            f"cannot find the {area_type} code property; properties are {columns} "
            f"(add an alias to boundary_fields.yaml or pass code_field=)",
        )
    if name_field is not None and name_field not in frame.columns:
        raise SourceFormatError(file_path, f"no property {name_field!r}", field=name_field)

    codes = frame[code_field].astype("string").str.strip()
    if area_fields.code_pattern is not None:
        bad = ~codes.str.fullmatch(area_fields.code_pattern.pattern).fillna(False).astype(bool)
        if bad.any():
            first = int(np.argmax(bad.to_numpy()))
            raise SourceFormatError(
                file_path,
                f"feature {first + 1} has code {codes.iloc[first]!r}, not a {area_type} code "
                f"({area_fields.code_pattern.pattern})",
                row=first + 1,
                field=code_field,
            )
    names = (
        frame[name_field].astype("string").str.strip()
        if name_field is not None
        else pd.Series(pd.NA, index=frame.index, dtype="string")
    )

    source_crs = frame.crs.to_string() if frame.crs is not None else None
    crs_assumed = frame.crs is None
    geoms, repaired = repair_geometries(frame.geometry.to_numpy())
    result = gpd.GeoDataFrame(
        {
            "area_code": codes.to_numpy(),
            "area_name": names.to_numpy(),
            "area_type": area_type,
        },
        geometry=gpd.GeoSeries(
            geoms, crs=frame.crs if frame.crs is not None else _assumed_crs(frame, file_path)
        ),
    )
    if CRS.from_user_input(result.crs) != CRS.from_user_input(TARGET_CRS):
        result = result.to_crs(TARGET_CRS)
    # Reprojection can (rarely) turn a valid ring into a self-touching one: repair again.
    geoms, repaired_after = repair_geometries(result.geometry.to_numpy())
    result = result.set_geometry(gpd.GeoSeries(geoms, crs=TARGET_CRS, index=result.index))
    result["was_repaired"] = repaired | repaired_after
    result["area_km2"] = result.geometry.area / 1e6
    result["area_code"] = result["area_code"].astype("string")
    result["area_name"] = result["area_name"].astype("string")
    result = result[["area_code", "area_name", "area_type", "was_repaired", "area_km2", "geometry"]]
    result.attrs.update(
        {
            "source_file": file_path.name,
            "source_crs": source_crs,
            "crs_assumed": crs_assumed,
            "code_field": code_field,
            "name_field": name_field,
        }
    )
    return result


def boundaries_to_frame(gdf: gpd.GeoDataFrame, source_file: str) -> pd.DataFrame:
    """`STG_BOUNDARY_COLUMNS` rows from `read_boundaries` output; geometry as EPSG:27700 WKB."""
    if gdf.crs is None or CRS.from_user_input(gdf.crs) != CRS.from_user_input(TARGET_CRS):
        raise ValueError(f"boundaries must be in {TARGET_CRS} (use read_boundaries); got {gdf.crs}")
    frame = pd.DataFrame(
        {
            "area_code": gdf["area_code"].astype("string").to_numpy(),
            "area_name": gdf["area_name"].astype("string").to_numpy(),
            "area_type": gdf["area_type"].astype("string").to_numpy(),
            "geometry_wkb": shapely.to_wkb(gdf.geometry.to_numpy()),
            "area_km2": gdf["area_km2"].astype("float64").to_numpy(),
            "was_repaired": gdf["was_repaired"].astype(bool).to_numpy(),
            "source_file": source_file,
        }
    )
    return frame.loc[:, list(contract.STG_BOUNDARY_COLUMNS)]


def check_boundaries(gdf: gpd.GeoDataFrame) -> dict[str, Any]:
    """Quality facts about a boundary layer, for asset metadata and tests.

    Keys: `features`, `crs`, `crs_assumed`, `repaired`, `invalid` (still invalid after
    repair), `empty` (missing or empty geometry), `duplicate_codes` (sorted list),
    `total_area_km2`.
    """
    geoms = gdf.geometry.to_numpy()
    present = ~shapely.is_missing(geoms)
    empty = ~present | shapely.is_empty(geoms)
    codes = gdf["area_code"]
    return {
        "features": len(gdf),
        "crs": gdf.crs.to_string() if gdf.crs is not None else None,
        "crs_assumed": bool(gdf.attrs.get("crs_assumed", False)),
        "repaired": int(gdf["was_repaired"].sum()) if "was_repaired" in gdf else 0,
        "invalid": int((present & ~shapely.is_valid(geoms)).sum()),
        "empty": int(empty.sum()),
        "duplicate_codes": sorted(codes[codes.duplicated()].dropna().unique().tolist()),
        "total_area_km2": float(gdf.geometry.area.sum() / 1e6),
    }


def representative_points(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One point guaranteed inside each area (not the centroid, which can fall outside)."""
    return gpd.GeoDataFrame(
        {"area_code": gdf["area_code"].to_numpy(), "area_name": gdf["area_name"].to_numpy()},
        geometry=gdf.geometry.representative_point().to_numpy(),
        crs=gdf.crs,
        index=gdf.index,
    )
