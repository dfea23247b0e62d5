"""A GeoPackage for QGIS: data zones, localities and wards carrying the profile attributes.

What belongs here: building the three layers from a `PackData` and writing them, all in
British National Grid (EPSG:27700, the boundaries' own CRS).

- `data_zones`: every data zone of the council with its names, ward, population, the
  locality (or localities) it belongs to, and its overall SIMD rank, decile and quintile in
  each vintage (`simd_<vintage>_rank`, ...).
- `localities`: each locality's outline (its data zones dissolved) with `dim_locality` and
  the latest vintage's `locality_summary` headline columns.
- `wards`: the multi-member wards of the council.

Reproducibility: GDAL stamps GeoPackage metadata with the current time unless the
`OGR_CURRENT_DATE` option is set; it is set to the data's `as_of` time while writing, so a
rebuild gives the same content. The SQLite file itself is not guaranteed byte-identical
across GDAL versions.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from profiles.exports.data import BNG, PackData

LAYERS = ("data_zones", "localities", "wards")


def _plain_types(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Nullable pandas types become types every OGR driver takes."""
    out = frame.copy()
    for column in out.columns:
        if column == out.geometry.name:
            continue
        dtype = out[column].dtype
        if isinstance(dtype, pd.BooleanDtype):
            out[column] = out[column].astype(object)
        elif pd.api.types.is_extension_array_dtype(dtype) and pd.api.types.is_numeric_dtype(dtype):
            out[column] = out[column].astype("float64")
    return out


def data_zone_layer(data: PackData) -> gpd.GeoDataFrame:
    zones = data.geo_datazone[["dz_code", "geometry"]].merge(
        data.datazones.drop(columns=["council_name"], errors="ignore"), on="dz_code", how="left"
    )
    membership = data.bridge.groupby("dz_code")["locality_id"].agg(
        lambda ids: ", ".join(sorted(ids))
    )
    zones["locality_id"] = zones["dz_code"].map(membership).fillna("")
    names = data.area_names()
    zones["locality_name"] = [
        ", ".join(names.get(i, i) for i in ids.split(", ")) if ids else ""
        for ids in zones["locality_id"]
    ]
    overall = data.simd[data.simd["domain"] == "overall"]
    for vintage in data.vintages:
        ranks = overall[overall["vintage"] == vintage].set_index("dz_code")
        for measure in ("rank", "decile", "quintile"):
            zones[f"simd_{vintage}_{measure}"] = zones["dz_code"].map(ranks[measure])
    frame = gpd.GeoDataFrame(zones, geometry="geometry", crs=BNG)
    return frame.sort_values("dz_code", ignore_index=True)


def locality_layer(data: PackData) -> gpd.GeoDataFrame:
    shapes = data.bridge.merge(data.geo_datazone[["dz_code", "geometry"]], on="dz_code")
    shapes = gpd.GeoDataFrame(shapes, geometry="geometry", crs=BNG)
    outlines = shapes.dissolve("locality_id", as_index=False)[["locality_id", "geometry"]]
    attributes = data.localities.drop(columns=["allow_overlap"], errors="ignore")
    layer = outlines.merge(attributes, on="locality_id", how="left")
    vintage = data.latest_vintage
    summary = data.summary[
        (data.summary["area_level"] == "locality") & (data.summary["vintage"] == vintage)
    ]
    headline = [item["column"] for item in data.headline if item["column"] in summary.columns]
    extra = [c for c in ("most_deprived_dz_code", "most_deprived_dz_name") if c in summary]
    layer = layer.merge(summary[["locality_id", *headline, *extra]], on="locality_id", how="left")
    layer["simd_vintage"] = vintage
    return gpd.GeoDataFrame(layer, geometry="geometry", crs=BNG).sort_values(
        "locality_id", ignore_index=True
    )


def ward_layer(data: PackData) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(data.geo_ward, geometry="geometry", crs=BNG).sort_values(
        "ward_code", ignore_index=True
    )


def write_geopackage(data: PackData, path: Path) -> Path:
    """Write the three layers to `path` (replaced if it exists)."""
    path.unlink(missing_ok=True)
    stamp = data.as_of[:19].replace(" ", "T") + "Z"
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": stamp})
    try:
        for name, layer in (
            ("data_zones", data_zone_layer(data)),
            ("localities", locality_layer(data)),
            ("wards", ward_layer(data)),
        ):
            if layer.empty:
                continue
            _plain_types(layer).to_file(
                path, layer=name, driver="GPKG", engine="pyogrio", promote_to_multi=True
            )
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
    return path
