"""Point-in-polygon work in British National Grid: which zone a point or a polygon falls in.

What belongs here: vectorised spatial joins with shapely's STRtree — points to the polygon
containing them, and polygons (data zones) to the polygon containing their representative
point. Used for the ward cross-check, the postcode fallback and survey geocoding. DuckDB's
spatial extension is not available here, so this is shapely/geopandas by design.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import shapely


def polygons_from_wkb(wkb: Sequence[bytes] | pd.Series) -> np.ndarray:
    return shapely.from_wkb(np.asarray([bytes(b) for b in wkb], dtype=object))


def locate_points(
    x: np.ndarray | pd.Series,
    y: np.ndarray | pd.Series,
    polygons: np.ndarray,
    codes: Sequence[str],
) -> np.ndarray:
    """The code of the polygon containing each point (None where none does).

    Points on a shared edge go to the polygon with the smallest code, so the answer does not
    depend on input order.
    """
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    result = np.full(len(xs), None, dtype=object)
    valid = np.isfinite(xs) & np.isfinite(ys)
    if not valid.any() or len(polygons) == 0:
        return result
    points = shapely.points(xs[valid], ys[valid])
    tree = shapely.STRtree(polygons)
    point_index, polygon_index = tree.query(points, predicate="intersects")
    code_array = np.asarray(codes, dtype=object)
    matches = pd.DataFrame({"point": point_index, "code": code_array[polygon_index]})
    first = matches.sort_values(["point", "code"]).drop_duplicates("point")
    located = np.full(len(points), None, dtype=object)
    located[first["point"].to_numpy()] = first["code"].to_numpy()
    result[np.flatnonzero(valid)] = located
    return result


def representative_xy(polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A point guaranteed inside each polygon (not the centroid, which may fall outside)."""
    points = shapely.point_on_surface(polygons)
    return shapely.get_x(points), shapely.get_y(points)
