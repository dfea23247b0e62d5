"""Synthetic geography of the demo: land, data zone polygons, wards, IZs, names and codes.

What belongs here: geometry and the area hierarchy, in EPSG:27700 metres throughout —
council land (a noisy "mainland" split among shires, cities carved out of it, island
groups offshore), data zone seeds that crowd where settlements are, their Voronoi cells,
wards and intermediate zones as spatially compact groups of data zones, the higher
geographies of the data zone lookup, urban-rural classes, distances to services and
postcode units placed inside their data zones. No statistics (`simd`), no file formats
(`writers`).

Deterministic for a given generator: every random draw comes from the `rng` passed in,
and geometry operations are GEOS calls on the same inputs in the same order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from shapely.affinity import scale as scale_geometry
from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel

from profiles.demo import (
    CouncilSpec,
    DemoSpec,
    KindProfile,
    NameParts,
    PostcodeSpec,
    apportion,
)

SCOTLAND: Final = ("S92000003", "Scotland")

# Scottish Government urban-rural classification: 8-fold code -> (name, 6-fold, 3-fold, 2-fold).
UR8_NAMES: Final[dict[int, str]] = {
    1: "Large Urban Areas",
    2: "Other Urban Areas",
    3: "Accessible Small Towns",
    4: "Remote Small Towns",
    5: "Very Remote Small Towns",
    6: "Accessible Rural Areas",
    7: "Remote Rural Areas",
    8: "Very Remote Rural Areas",
}
UR8_TO_UR6: Final[dict[int, int]] = {1: 1, 2: 2, 3: 3, 4: 4, 5: 4, 6: 5, 7: 6, 8: 6}
UR6_NAMES: Final[dict[int, str]] = {
    1: "Large Urban Areas",
    2: "Other Urban Areas",
    3: "Accessible Small Towns",
    4: "Remote Small Towns",
    5: "Accessible Rural",
    6: "Remote Rural",
}
UR6_TO_UR3: Final[dict[int, int]] = {1: 1, 2: 1, 3: 1, 4: 1, 5: 2, 6: 3}
UR3_NAMES: Final[dict[int, str]] = {1: "Rest of Scotland", 2: "Accessible Rural", 3: "Remote Rural"}
UR3_TO_UR2: Final[dict[int, int]] = {1: 1, 2: 2, 3: 2}
UR2_NAMES: Final[dict[int, str]] = {1: "Rest of Scotland", 2: "Rural"}

SERVICES: Final[dict[str, float]] = {
    # share of data zones that host the service (scaled up where settlement is dense)
    "petrol": 0.07,
    "GP": 0.10,
    "post": 0.14,
    "primary": 0.18,
    "retail": 0.08,
    "secondary": 0.04,
}

UNIT_LETTERS: Final = "ABDEFGHJLNPQRSTUWXYZ"  # letters a postcode unit may use
_DRIVE_KMH: Final = 45.0
_ROAD_WINDING: Final = 1.3
_COMPASS: Final = ("North", "South", "East", "West", "Central", "Upper", "Lower")


@dataclass(frozen=True)
class Settlements:
    """Town centres of one council: the data zone density is a sum of Gaussians."""

    x: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    sigma: np.ndarray
    floor: float

    def intensity(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Strongest single-town pull at each point, 0..1 (1 at the main town centre)."""
        return self._pulls(x, y).max(axis=1)

    def density(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.floor + self._pulls(x, y).sum(axis=1)

    def _pulls(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        dx = np.asarray(x)[:, None] - self.x[None, :]
        dy = np.asarray(y)[:, None] - self.y[None, :]
        return self.weight * np.exp(-(dx * dx + dy * dy) / (2.0 * self.sigma**2))


@dataclass(frozen=True)
class DemoGeography:
    """The demo's areas. Frames are in code order; polygons align with their frame rows."""

    councils: pd.DataFrame
    wards: pd.DataFrame
    izs: pd.DataFrame
    dzs: pd.DataFrame
    dz_polygons: np.ndarray
    ward_polygons: np.ndarray
    service_km: pd.DataFrame

    @property
    def n_dz(self) -> int:
        return len(self.dzs)


# --- land ---------------------------------------------------------------------------------


def _noisy_blob(
    centre: tuple[float, float],
    area_m2: float,
    rng: np.random.Generator,
    *,
    roughness: float = 0.12,
    aspect: float = 1.0,
    vertices: int = 180,
) -> shapely.Polygon:
    """A star-shaped polygon of the given area with a wobbly outline (a coast)."""
    theta = np.linspace(0.0, 2.0 * math.pi, vertices, endpoint=False)
    radius = np.ones_like(theta)
    for harmonic in range(2, 9):
        amplitude = roughness / harmonic * rng.normal()
        radius += amplitude * np.cos(harmonic * theta + rng.uniform(0, 2 * math.pi))
    radius += roughness * 0.04 * rng.normal(size=vertices)
    radius = np.clip(radius, 0.45, None)
    x = radius * np.cos(theta) * math.sqrt(aspect)
    y = radius * np.sin(theta) / math.sqrt(aspect)
    turn = rng.uniform(0, math.pi)
    x, y = x * math.cos(turn) - y * math.sin(turn), x * math.sin(turn) + y * math.cos(turn)
    shoelace = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
    scale = math.sqrt(area_m2 / shoelace)
    return shapely.Polygon(np.column_stack([centre[0] + scale * x, centre[1] + scale * y]))


def _half_plane(
    centre: np.ndarray, direction: np.ndarray, offset: float, reach: float, wiggle: np.ndarray
) -> shapely.Polygon:
    """The side below the line {p : p.direction = offset}, as a big polygon whose edge
    along the line wobbles by `wiggle` (metres at evenly spaced points), so that council
    borders are not ruler-straight."""
    normal = np.array([-direction[1], direction[0]])
    base = centre + (offset - centre @ direction) * direction
    along = np.linspace(-reach, reach, len(wiggle))
    edge = base + along[:, None] * normal + wiggle[:, None] * direction
    far = [base - reach * normal - reach * direction, base + reach * normal - reach * direction]
    return shapely.Polygon(np.vstack([edge[::-1], *far]))


def _split_by_area(
    region: BaseGeometry, weights: list[float], rng: np.random.Generator
) -> list[BaseGeometry]:
    """Cut `region` into parts with areas proportional to `weights` (a slanted treemap)."""
    if len(weights) == 1:
        return [region]
    cumulative = np.cumsum(weights)
    k = int(np.argmin(np.abs(cumulative[:-1] - cumulative[-1] / 2.0))) + 1
    fraction = cumulative[k - 1] / cumulative[-1]
    rectangle = np.asarray(shapely.oriented_envelope(region).exterior.coords)
    edges = np.diff(rectangle[:3], axis=0)
    longest = edges[np.argmax(np.hypot(edges[:, 0], edges[:, 1]))]
    angle = math.atan2(longest[1], longest[0]) + rng.uniform(-0.35, 0.35)
    direction = np.array([math.cos(angle), math.sin(angle)])
    coords = shapely.get_coordinates(region)
    projected = coords @ direction
    centre = coords.mean(axis=0)
    reach = 4.0 * float(np.ptp(coords, axis=0).max())
    low, high = float(projected.min()), float(projected.max())
    target = fraction * region.area
    steps = np.linspace(0, 2 * math.pi, 241)
    wiggle = sum(
        0.02
        * (high - low)
        / harmonic
        * rng.normal()
        * np.sin(harmonic * steps * 4 + rng.uniform(0, 6.3))
        for harmonic in range(1, 6)
    )
    for _ in range(48):
        middle = 0.5 * (low + high)
        part = region.intersection(_half_plane(centre, direction, middle, reach, wiggle))
        if part.area < target:
            low = middle
        else:
            high = middle
    first = region.intersection(_half_plane(centre, direction, 0.5 * (low + high), reach, wiggle))
    second = region.difference(first)
    return _split_by_area(first, weights[:k], rng) + _split_by_area(second, weights[k:], rng)


def _coastal_centre(
    host: BaseGeometry, mainland: BaseGeometry, radius: float, avoid: list[np.ndarray]
) -> np.ndarray:
    """A point just inland from the host's stretch of coast, away from other cities."""
    coast = host.boundary.intersection(mainland.exterior.buffer(1.0))
    candidates = []
    if not coast.is_empty:
        for fraction in np.linspace(0.1, 0.9, 17):
            on_coast = shapely.get_coordinates(coast.interpolate(fraction, normalized=True))[0]
            inward = np.asarray(host.centroid.coords[0]) - on_coast
            inward /= max(np.hypot(*inward), 1.0)
            candidates.append(on_coast + 0.55 * radius * inward)
    candidates.append(np.asarray(polylabel(_largest_part(host), 10.0).coords[0]))
    best, best_score = candidates[-1], -np.inf
    for point in candidates:
        if not host.contains(shapely.Point(point)):
            continue
        spacing = min((float(np.hypot(*(point - other))) for other in avoid), default=np.inf)
        score = min(spacing, 6.0 * radius)
        if score > best_score + 1e-6:
            best, best_score = point, score
    return best


def _largest_part(geometry: BaseGeometry) -> shapely.Polygon:
    parts = shapely.get_parts(geometry)
    return parts[int(np.argmax(shapely.area(parts)))]


def _layout_land(spec: DemoSpec, rng: np.random.Generator) -> list[BaseGeometry]:
    """Land of each council, in spec order."""
    councils = spec.councils
    areas = [c.data_zones * spec.kinds[c.kind].km2_per_dz * 1e6 for c in councils]
    mainland_ids = [i for i, c in enumerate(councils) if c.kind != "isles"]
    city_ids = [i for i in mainland_ids if councils[i].kind == "city"]
    shire_ids = [i for i in mainland_ids if councils[i].kind != "city"]
    land: list[BaseGeometry | None] = [None] * len(councils)

    mainland_area = sum(areas[i] for i in mainland_ids) if mainland_ids else 1e6
    mainland = _noisy_blob(spec.origin, mainland_area, rng, roughness=0.16, aspect=1.35)

    treemap_ids = shire_ids or city_ids
    hosts: dict[int, int] = {}
    weights = [areas[i] for i in treemap_ids]
    if shire_ids:
        by_size = sorted(shire_ids, key=lambda i: -areas[i])
        for position, city in enumerate(city_ids):
            hosts[city] = by_size[position % len(by_size)]
            weights[treemap_ids.index(hosts[city])] += areas[city]
    if treemap_ids:
        for index, part in zip(treemap_ids, _split_by_area(mainland, weights, rng), strict=True):
            land[index] = part
    if shire_ids:
        placed: list[np.ndarray] = []
        carved = []
        for city in city_ids:
            radius = math.sqrt(areas[city] / math.pi)
            centre = _coastal_centre(land[hosts[city]], mainland, radius, placed)
            placed.append(centre)
            blob_area = areas[city]
            blob = _noisy_blob((centre[0], centre[1]), blob_area, rng, roughness=0.14)
            for _ in range(4):
                on_land = blob.intersection(mainland)
                if on_land.area >= 0.97 * areas[city]:
                    break
                grow = math.sqrt(areas[city] / on_land.area)
                blob = scale_geometry(blob, grow, grow, origin=(centre[0], centre[1]))
            for other in carved:
                blob = blob.difference(other)
            city_land = blob.intersection(mainland)
            land[city] = city_land
            carved.append(city_land)
        cities = shapely.union_all(carved)
        for shire in shire_ids:
            land[shire] = land[shire].difference(cities)

    _place_isles(spec, areas, land, mainland, rng)
    return [shapely.make_valid(part) for part in land]  # type: ignore[misc]


def _place_isles(
    spec: DemoSpec,
    areas: list[float],
    land: list[BaseGeometry | None],
    mainland: BaseGeometry,
    rng: np.random.Generator,
) -> None:
    """Put each isles council offshore, east of the mainland, as a group of islands."""
    isles_ids = [i for i, c in enumerate(spec.councils) if c.kind == "isles"]
    if not isles_ids:
        return
    occupied = [mainland.buffer(6000.0)]
    mainland_xy = shapely.get_coordinates(mainland)
    origin = np.asarray(spec.origin)
    angles = np.linspace(-0.9, 0.9, len(isles_ids)) if len(isles_ids) > 1 else [-0.35]
    for index, angle in zip(isles_ids, angles, strict=True):
        kind = spec.kinds[spec.councils[index].kind]
        n_islands = max(1, kind.islands)
        island_areas = np.sort(rng.dirichlet(np.full(n_islands, 2.5)))[::-1] * areas[index]
        spread = 1.9 * math.sqrt(areas[index] / math.pi)
        direction = np.array([math.cos(angle), math.sin(angle)])
        reach = float(((mainland_xy - origin) @ direction).max())
        distance = reach + 6000.0 + spread
        while True:
            centre = origin + distance * direction
            islands = _island_group(centre, island_areas, spread, occupied, rng)
            if islands is not None:
                break
            distance += 0.5 * spread
        group = shapely.union_all(islands)
        land[index] = group
        occupied.append(group.buffer(6000.0))


def _island_group(
    centre: np.ndarray,
    island_areas: np.ndarray,
    spread: float,
    occupied: list[BaseGeometry],
    rng: np.random.Generator,
) -> list[shapely.Polygon] | None:
    islands: list[shapely.Polygon] = []
    blocked = shapely.union_all(occupied)
    for number, area in enumerate(island_areas):
        for _ in range(60):
            offset = np.zeros(2)
            if number:
                angle = rng.uniform(0, 2 * math.pi)
                offset = (
                    rng.uniform(0.45, 1.0) * spread * np.array([math.cos(angle), math.sin(angle)])
                )
            aspect = rng.uniform(1.0, 2.2)
            island = _noisy_blob(tuple(centre + offset), area, rng, roughness=0.2, aspect=aspect)
            clear = not island.intersects(blocked) and not any(
                island.distance(other) < 1500.0 for other in islands
            )
            if clear:
                islands.append(island)
                break
        else:
            return None
    return islands


# --- settlements, seeds and cells ---------------------------------------------------------


def _settlements(
    council: CouncilSpec, kind: KindProfile, region: BaseGeometry, rng: np.random.Generator
) -> Settlements:
    scale = kind.town_sigma * math.sqrt(region.area / (math.pi if council.kind == "city" else 1))
    if council.kind == "isles":
        parts = sorted(shapely.get_parts(region), key=lambda part: -part.area)[: kind.towns]
        points = np.array([polylabel(part, 10.0).coords[0] for part in parts])
    elif council.kind == "city":
        main = np.asarray(polylabel(_largest_part(region), 10.0).coords[0])
        extra = _random_points_in(region, kind.towns - 1, rng)
        points = np.vstack([main[None, :], extra]) if len(extra) else main[None, :]
    else:
        pool = _random_points_in(region, 60 * kind.towns, rng)
        centroid = np.asarray(region.centroid.coords[0])
        chosen = [int(np.argmin(np.hypot(*(pool - centroid).T)))]
        nearest = np.hypot(*(pool - pool[chosen[0]]).T)
        for _ in range(kind.towns - 1):
            chosen.append(int(np.argmax(nearest)))
            nearest = np.minimum(nearest, np.hypot(*(pool - pool[chosen[-1]]).T))
        points = pool[chosen]
    count = len(points)
    weight = np.ones(count)
    weight[1:] = kind.minor_town_weight * rng.uniform(0.6, 1.0, size=count - 1)
    sigma = np.full(count, scale)
    sigma[1:] *= 0.55
    return Settlements(points[:, 0], points[:, 1], weight, sigma, kind.density_floor)


def _random_points_in(region: BaseGeometry, count: int, rng: np.random.Generator) -> np.ndarray:
    if count <= 0:
        return np.empty((0, 2))
    x0, y0, x1, y1 = region.bounds
    shapely.prepare(region)
    found: list[np.ndarray] = []
    total = 0
    while total < count:
        xy = rng.uniform((x0, y0), (x1, y1), size=(4 * count + 16, 2))
        inside = xy[shapely.contains_xy(region, xy[:, 0], xy[:, 1])]
        found.append(inside)
        total += len(inside)
    return np.vstack(found)[:count]


def _seed_points(
    region: BaseGeometry, towns: Settlements, count: int, rng: np.random.Generator
) -> np.ndarray:
    """`count` data zone seeds, spaced ~1/sqrt(density) apart (so DZs hold similar numbers
    of people): candidates drawn from the density (a mixture of a uniform floor and one
    Gaussian per town, kept where they fall on land), thinned by farthest-point sampling."""
    x0, y0, x1, y1 = region.bounds
    shapely.prepare(region)
    masses = np.concatenate(
        [[towns.floor * region.area], towns.weight * 2.0 * math.pi * towns.sigma**2]
    )
    wanted = 8 * count
    pool: list[np.ndarray] = []
    total = 0
    while total < wanted:
        batch = 2 * wanted
        source = rng.choice(len(masses), size=batch, p=masses / masses.sum())
        xy = rng.uniform((x0, y0), (x1, y1), size=(batch, 2))
        from_town = source > 0
        town = source[from_town] - 1
        xy[from_town] = (
            np.column_stack([towns.x[town], towns.y[town]])
            + rng.normal(size=(int(from_town.sum()), 2)) * towns.sigma[town, None]
        )
        xy = xy[shapely.contains_xy(region, xy[:, 0], xy[:, 1])]
        pool.append(xy)
        total += len(xy)
    candidates = np.vstack(pool)[:wanted]
    stretch = np.sqrt(towns.density(candidates[:, 0], candidates[:, 1]))
    chosen = np.empty(count, dtype=np.int64)
    chosen[0] = int(np.argmax(stretch))
    cx, cy = candidates[:, 0], candidates[:, 1]
    nearest = np.hypot(cx - cx[chosen[0]], cy - cy[chosen[0]]) * stretch
    for step in range(1, count):
        pick = int(np.argmax(nearest))
        chosen[step] = pick
        np.minimum(nearest, np.hypot(cx - cx[pick], cy - cy[pick]) * stretch, out=nearest)
    return candidates[chosen]


def _voronoi_cells(seeds: np.ndarray, region: BaseGeometry) -> np.ndarray:
    """Voronoi cells of the seeds (in seed order), clipped to the region: a tiling of it."""
    x0, y0, x1, y1 = region.bounds
    frame = shapely.box(x0, y0, x1, y1).buffer(max(x1 - x0, y1 - y0))
    if len(seeds) == 1:
        return np.array([_polygonal(shapely.set_precision(region, 1.0))], dtype=object)
    diagram = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame, ordered=True)
    cells = shapely.get_parts(diagram)
    shapely.prepare(region)
    # Snapping to a 1 m grid drops slivers and near-duplicate vertices, which would
    # otherwise fold over once coordinates are rounded to 7 decimal degrees in GeoJSON.
    clipped = shapely.set_precision(shapely.intersection(cells, region), 1.0)
    return np.array([_polygonal(cell) for cell in clipped], dtype=object)


def _polygonal(geometry: BaseGeometry) -> BaseGeometry:
    """Only the areal parts of a geometry (clipping can leave stray lines or points)."""
    if geometry.geom_type in ("Polygon", "MultiPolygon") and geometry.is_valid:
        return geometry
    parts = [
        part
        for part in shapely.get_parts(shapely.make_valid(geometry))
        if part.geom_type == "Polygon" and part.area > 0
    ]
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def bisect_groups(xy: np.ndarray, sizes: list[int], rng: np.random.Generator) -> np.ndarray:
    """Label points 0..len(sizes)-1 so group g has exactly sizes[g] points and each group
    is spatially compact: recursive bisection across the principal axis, slightly tilted."""
    labels = np.empty(len(xy), dtype=np.int64)
    if sum(sizes) != len(xy):
        raise ValueError(f"group sizes sum to {sum(sizes)}, not {len(xy)} points")

    def split(indices: np.ndarray, first: int, group_sizes: list[int]) -> None:
        if len(group_sizes) == 1:
            labels[indices] = first
            return
        cumulative = np.cumsum(group_sizes)
        k = int(np.argmin(np.abs(cumulative[:-1] - cumulative[-1] / 2.0))) + 1
        points = xy[indices]
        spread = np.cov(points.T) if len(points) > 2 else np.eye(2)
        _, vectors = np.linalg.eigh(spread)
        angle = math.atan2(vectors[1, -1], vectors[0, -1]) + rng.uniform(-0.4, 0.4)
        along = points @ np.array([math.cos(angle), math.sin(angle)])
        order = indices[np.argsort(along, kind="stable")]
        split(order[: cumulative[k - 1]], first, group_sizes[:k])
        split(order[cumulative[k - 1] :], first + k, group_sizes[k:])

    split(np.arange(len(xy)), 0, list(sizes))
    return labels


def _iz_sizes(total: int, groups: int, rng: np.random.Generator) -> list[int]:
    base, extra = divmod(total, groups)
    sizes = [base + (1 if index < extra else 0) for index in range(groups)]
    floor = min(3, base)
    for _ in range(groups):
        give, take = rng.integers(groups, size=2)
        if sizes[give] > floor and sizes[give] - 1 >= 2:
            sizes[give] -= 1
            sizes[take] += 1
    return [int(size) for size in rng.permutation(sizes)]


def _intermediate_zones(
    seeds: np.ndarray, ward_of: np.ndarray, council: CouncilSpec, rng: np.random.Generator
) -> np.ndarray:
    """IZ label of each data zone: compact IZs inside each ward, then about a third of them
    take in one bordering data zone of a neighbouring ward — real IZs were drawn without
    regard to ward lines and wards are matched to DZs by best fit, so IZs straddle wards."""
    sizes = council.ward_sizes()
    per_ward = apportion(sizes, council.iz_count(), minimum=1)
    iz_of = np.empty(len(seeds), dtype=np.int64)
    first = 0
    for ward, (size, count) in enumerate(zip(sizes, per_ward, strict=True)):
        members = np.flatnonzero(ward_of == ward)
        count = max(1, min(count, size // 2))
        iz_of[members] = first + bisect_groups(seeds[members], _iz_sizes(size, count, rng), rng)
        first += count
    if len(sizes) == 1:
        return iz_of
    _, neighbours = cKDTree(seeds).query(seeds, k=min(7, len(seeds)))
    for iz in rng.permutation(first):
        members = np.flatnonzero(iz_of == iz)
        if rng.uniform() > 0.33 or len(members) <= 3:
            continue
        for dz in rng.permutation(members):
            across = [n for n in neighbours[dz][1:] if ward_of[n] != ward_of[dz]]
            if across:
                iz_of[dz] = iz_of[across[0]]
                break
    return iz_of


# --- names ----------------------------------------------------------------------------------


def _iz_names(count: int, parts: NameParts, rng: np.random.Generator, used: set[str]) -> list[str]:
    """Made-up intermediate zone names, unique across the demo. Each council gets one name
    with a comma and one with an apostrophe (both occur in real names and trip up CSVs)."""

    def word() -> str:
        return str(rng.choice(parts.prefixes)) + str(rng.choice(parts.suffixes))

    names: list[str] = []
    while len(names) < count:
        position = len(names)
        roll = rng.uniform()
        if position == 3 or (position > 3 and roll < 0.02):
            name = f"{word()}, {word()} and {word()}"
        elif position == 5 or (position > 5 and roll < 0.04):
            name = f"St {rng.choice(parts.prefixes)}an's"
        elif roll < 0.3:
            name = f"{word()} {rng.choice(parts.qualifiers)}"
        elif roll < 0.38:
            name = f"{word()} and {word()}"
        else:
            name = word()
        if name not in used:
            used.add(name)
            names.append(name)
    return names


# --- the whole geography ----------------------------------------------------------------------


def _group_names(count: int, base: str) -> list[str]:
    if count == 1:
        return [base]
    return [f"{base} {_COMPASS[index % len(_COMPASS)]}" for index in range(count)]


def build_geography(spec: DemoSpec, rng: np.random.Generator) -> DemoGeography:
    """Lay out the land, tile it into data zones and group those into IZs and wards."""
    land = _layout_land(spec, rng)
    used_names: set[str] = set()
    dz_frames: list[pd.DataFrame] = []
    polygons: list[np.ndarray] = []
    iz_rows: list[dict[str, str]] = []
    ward_rows: list[dict[str, str]] = []
    council_rows: list[dict[str, str]] = []
    all_towns: list[tuple[int, Settlements]] = []
    dz_counter = iz_counter = 0

    for position, (council, region) in enumerate(zip(spec.councils, land, strict=True)):
        kind = spec.kinds[council.kind]
        towns = _settlements(council, kind, region, rng)
        all_towns.append((position, towns))
        seeds = _seed_points(region, towns, council.data_zones, rng)
        cells = _voronoi_cells(seeds, region)
        ward_of = bisect_groups(seeds, council.ward_sizes(), rng)
        iz_of = _intermediate_zones(seeds, ward_of, council, rng)
        order = np.lexsort((seeds[:, 0], -seeds[:, 1], iz_of))
        seeds, cells, ward_of, iz_of = seeds[order], cells[order], ward_of[order], iz_of[order]

        iz_names = _iz_names(council.iz_count(), spec.names, rng, used_names)
        iz_codes: dict[int, str] = {}
        iz_name_of: dict[str, str] = {}
        for label in dict.fromkeys(iz_of.tolist()):
            iz_counter += 1
            code = f"S029{iz_counter:05d}"
            iz_codes[label] = code
            iz_name_of[code] = iz_names[len(iz_name_of)]
            iz_rows.append(
                {"iz_code": code, "iz_name": iz_name_of[code], "council_code": council.code}
            )
        dz_codes = [f"S019{dz_counter + k + 1:05d}" for k in range(council.data_zones)]
        dz_counter += council.data_zones
        iz_code_col = [iz_codes[label] for label in iz_of]
        within = pd.Series(iz_code_col).groupby(iz_code_col).cumcount() + 1
        dz_names = [
            f"{iz_name_of[iz]} - {n:02d}" for iz, n in zip(iz_code_col, within, strict=True)
        ]

        ward_codes = [ward.code for ward in council.wards]
        n_spc = max(1, round(council.data_zones / 100))
        n_ukpc = max(1, round(council.data_zones / 130))
        spc_of_ward = np.arange(len(ward_codes)) * n_spc // len(ward_codes)
        ukpc_of_ward = np.arange(len(ward_codes)) * n_ukpc // len(ward_codes)
        spc_names = _group_names(n_spc, council.name)
        ukpc_names = _group_names(n_ukpc, council.name)
        intensity = towns.intensity(seeds[:, 0], seeds[:, 1])
        frame = pd.DataFrame(
            {
                "dz_code": dz_codes,
                "dz_name": dz_names,
                "iz_code": iz_code_col,
                "iz_name": [iz_name_of[iz] for iz in iz_code_col],
                "ward_code": [ward_codes[w] for w in ward_of],
                "council_code": council.code,
                "council_position": position,
                "kind": council.kind,
                "spc_key": [f"{council.code}:{spc_of_ward[w]}" for w in ward_of],
                "spc_name": [spc_names[spc_of_ward[w]] for w in ward_of],
                "ukpc_key": [f"{council.code}:{ukpc_of_ward[w]}" for w in ward_of],
                "ukpc_name": [ukpc_names[ukpc_of_ward[w]] for w in ward_of],
                "x": seeds[:, 0],
                "y": seeds[:, 1],
                "intensity": intensity,
                "zero_population": False,
            }
        )
        if council.zero_population_dzs:
            # Docks and industrial estates: dense central spots with no residents.
            busy = np.argsort(-intensity, kind="stable")[: max(8, council.zero_population_dzs)]
            empty = rng.choice(busy, size=council.zero_population_dzs, replace=False)
            frame.loc[np.sort(empty), "zero_population"] = True
        dz_frames.append(frame)
        polygons.append(cells)
        for ward in council.wards:
            ward_rows.append(
                {
                    "ward_code": ward.code,
                    "ward_name": ward.name,
                    "lookup_name": ward.name_in_lookup,
                    "locality": ward.locality_name,
                    "council_code": council.code,
                }
            )
        council_rows.append(_council_row(council))

    dzs = pd.concat(dz_frames, ignore_index=True)
    dz_polygons = np.concatenate(polygons)
    dzs = _add_codes(dzs)
    dzs["drive_major_min"] = _drive_to_major_settlement(dzs, spec, all_towns)
    dzs["ur8"] = _urban_rural(dzs, spec)
    councils = _council_frame(council_rows)
    wards = pd.DataFrame(ward_rows).sort_values("ward_code", ignore_index=True)
    members = dzs.groupby("ward_code").indices
    ward_polygons = np.array(
        [shapely.union_all(dz_polygons[members[code]]) for code in wards["ward_code"]],
        dtype=object,
    )
    izs = pd.DataFrame(iz_rows)
    service_km = _service_distances(dzs, rng)
    return DemoGeography(councils, wards, izs, dzs, dz_polygons, ward_polygons, service_km)


def _council_row(council: CouncilSpec) -> dict[str, str]:
    health_board = council.health_board or council.name
    return {
        "council_code": council.code,
        "council_name": council.name,
        "kind": council.kind,
        "hb_name": health_board,
        "spd_name": council.police_division or health_board,
        "region": council.region,
    }


def _numbered(values: pd.Series, prefix: str) -> pd.Series:
    """Codes `<prefix>NNNNN` numbered in order of first appearance."""
    first_seen = list(dict.fromkeys(values.tolist()))
    lookup = {value: f"{prefix}{index + 1:05d}" for index, value in enumerate(first_seen)}
    return values.map(lookup)


def _council_frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["hb_code"] = _numbered(frame["hb_name"], "S089")
    frame["hia_code"] = _numbered(frame["council_code"], "S379")
    frame["spd_code"] = _numbered(frame["spd_name"], "S329")
    frame["sfrsda_code"] = _numbered(frame["region"], "S409")
    frame["rrp_code"] = _numbered(frame["region"], "S439")
    frame["lrp_code"] = _numbered(frame["hb_name"], "S429")
    frame["ttwa_code"] = _numbered(frame["council_code"], "S229")
    frame["sfrlso_code"] = _numbered(frame["hb_name"], "S399")
    members = frame.groupby("hb_name", sort=False)["council_name"].agg(list)
    frame["sfrlso_name"] = frame["hb_name"].map(
        {hb: _list_name(names) for hb, names in members.items()}
    )
    return frame


def _list_name(names: list[str]) -> str:
    """'A', 'A and B', 'A, B and C' — the style of the fire service area names."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _add_codes(dzs: pd.DataFrame) -> pd.DataFrame:
    """Codes numbered in data zone order: constituencies, and the first of eight output
    area numbers per data zone."""
    dzs = dzs.copy()
    dzs["spc_code"] = _numbered(dzs["spc_key"], "S169")
    dzs["ukpc_code"] = _numbered(dzs["ukpc_key"], "S149")
    dzs["oa_base"] = np.arange(len(dzs)) * 8
    return dzs.drop(columns=["spc_key", "ukpc_key"])


def _drive_to_major_settlement(
    dzs: pd.DataFrame, spec: DemoSpec, all_towns: list[tuple[int, Settlements]]
) -> np.ndarray:
    """Minutes by road to the nearest main town of a city or shire (islands add a ferry)."""
    majors = np.array(
        [
            (towns.x[0], towns.y[0])
            for position, towns in all_towns
            if spec.councils[position].kind != "isles"
        ]
        or [(towns.x[0], towns.y[0]) for _, towns in all_towns]
    )
    distance_km, _ = cKDTree(majors).query(dzs[["x", "y"]].to_numpy())
    offsets = dzs["kind"].map(
        {name: kind.drive_offset_minutes for name, kind in spec.kinds.items()}
    )
    return offsets.to_numpy() + 60.0 * _ROAD_WINDING * distance_km / 1000.0 / _DRIVE_KMH


def _urban_rural(dzs: pd.DataFrame, spec: DemoSpec) -> np.ndarray:
    """8-fold class: urban from settlement intensity, towns vs rural, and remoteness
    (accessible < 30 min, remote < 60 min, very remote beyond, to a main town)."""
    kinds = dzs["kind"].map(spec.kinds)
    urban_at = kinds.map(lambda kind: kind.urban_min_density).to_numpy()
    town_at = kinds.map(lambda kind: kind.town_min_density).to_numpy()
    urban_class = kinds.map(lambda kind: kind.urban_class).to_numpy()
    remoteness = np.digitize(dzs["drive_major_min"].to_numpy(), [30.0, 60.0])
    intensity = dzs["intensity"].to_numpy()
    town = np.where(intensity >= town_at, 3 + remoteness, 6 + remoteness)
    return np.where(intensity >= urban_at, urban_class, town).astype(np.int64)


def _service_distances(dzs: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Straight-line km from each data zone seed to the nearest service of each type in its
    own council; services sit in a share of data zones, more of them where it is dense."""
    result = pd.DataFrame(index=dzs.index)
    for service, share in SERVICES.items():
        distances = np.empty(len(dzs))
        for _, members in dzs.groupby("council_code", sort=False).groups.items():
            block = dzs.loc[members]
            chance = np.clip(share * (0.3 + 2.0 * block["intensity"].to_numpy()), 0.0, 0.9)
            hosts = rng.uniform(size=len(block)) < chance
            hosts[int(np.argmax(block["intensity"].to_numpy()))] = True
            xy = block[["x", "y"]].to_numpy()
            gap, _ = cKDTree(xy[hosts]).query(xy)
            distances[dzs.index.get_indexer(members)] = gap / 1000.0
        result[service] = distances
    return result


# --- postcodes --------------------------------------------------------------------------------


def _unit_pairs() -> np.ndarray:
    return np.array([first + second for first in UNIT_LETTERS for second in UNIT_LETTERS])


def place_postcodes(
    geo: DemoGeography,
    live_per_dz: np.ndarray,
    spec: PostcodeSpec,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Postcode units inside their data zones (integer metres, >= 5 m inside the polygon),
    with live and terminated units, sectors of consecutive data zones and districts per
    council. One terminated unit keeps no grid reference, as in the real directory."""
    counts = live_per_dz + rng.binomial(
        live_per_dz, spec.terminated_share / (1 - spec.terminated_share)
    )
    dz_index = np.repeat(np.arange(geo.n_dz), counts)
    easting, northing = _points_inside(geo.dz_polygons, counts, rng)
    postcodes = pd.DataFrame({"dz_index": dz_index, "easting": easting, "northing": northing})
    terminated = np.zeros(len(postcodes), dtype=bool)
    # Points come in random order within a data zone, so marking the last ones of each
    # zone as terminated scatters terminated units at random.
    first_of_dz = np.repeat(np.cumsum(counts) - counts, counts)
    terminated[np.arange(len(dz_index)) - first_of_dz >= live_per_dz[dz_index]] = True
    postcodes["terminated"] = terminated
    postcodes = postcodes.sort_values(
        ["dz_index", "northing", "easting"], ascending=[True, False, True], kind="stable"
    ).reset_index(drop=True)
    postcodes["area"], postcodes["outward"], postcodes["inward"] = _unit_codes(
        geo, postcodes, spec, rng
    )
    postcodes["large_user"] = rng.uniform(size=len(postcodes)) < spec.large_user_share
    empty_dz = geo.dzs["zero_population"].to_numpy()[postcodes["dz_index"].to_numpy()]
    postcodes.loc[empty_dz, "large_user"] = True
    postcodes["oa_index"] = _output_areas(postcodes)
    postcodes["dointr"], postcodes["doterm"] = _introduced_and_terminated(
        postcodes["terminated"].to_numpy(), rng
    )
    postcodes["osgrdind"] = "1"
    postcodes.loc[postcodes["terminated"], "osgrdind"] = rng.choice(
        ["1", "1", "1", "8", "6"], size=int(postcodes["terminated"].sum())
    )
    postcodes["no_grid"] = False
    terminated_rows = np.flatnonzero(postcodes["terminated"].to_numpy())
    if len(terminated_rows):
        postcodes.loc[terminated_rows[len(terminated_rows) // 2], "no_grid"] = True
    return postcodes


def _points_inside(
    polygons: np.ndarray, counts: np.ndarray, rng: np.random.Generator, inset: float = 5.0
) -> tuple[np.ndarray, np.ndarray]:
    """Random integer-metre points inside each polygon (`counts[i]` in polygon i), kept
    `inset` metres from the edge so rounding and reprojection cannot push them out."""
    shrunk = shapely.buffer(polygons, -inset)
    fallback = shapely.is_empty(shrunk)
    shrunk[fallback] = polygons[fallback]
    shapely.prepare(shrunk)
    bounds = shapely.bounds(shrunk)
    need = counts.astype(np.int64).copy()
    found_x: list[np.ndarray] = []
    found_y: list[np.ndarray] = []
    found_owner: list[np.ndarray] = []
    for _ in range(200):
        active = np.flatnonzero(need > 0)
        if not len(active):
            break
        tries = np.repeat(active, 3 * need[active] + 4)
        low, high = bounds[tries, :2], bounds[tries, 2:]
        xy = np.round(low + rng.uniform(size=(len(tries), 2)) * (high - low))
        inside = shapely.contains_xy(shrunk[tries], xy[:, 0], xy[:, 1])
        tries, xy = tries[inside], xy[inside]
        rank = pd.Series(tries).groupby(tries).cumcount().to_numpy()
        keep = rank < need[tries]
        found_owner.append(tries[keep])
        found_x.append(xy[keep, 0])
        found_y.append(xy[keep, 1])
        np.subtract.at(need, tries[keep], 1)
    if need.any():
        raise RuntimeError("could not place postcodes inside every data zone")
    owner = np.concatenate(found_owner)
    order = np.argsort(owner, kind="stable")
    return np.concatenate(found_x)[order].astype(np.int64), np.concatenate(found_y)[order].astype(
        np.int64
    )


def _unit_codes(
    geo: DemoGeography, postcodes: pd.DataFrame, spec: PostcodeSpec, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Postcode area, outward and inward codes. A sector holds consecutive data zones (so
    it is compact) up to `sector_capacity` units; ten sectors make a district; each council
    starts a new     district; areas are used in turn once one runs out of districts."""
    per_dz = np.bincount(postcodes["dz_index"], minlength=geo.n_dz)
    councils = geo.dzs["council_code"].to_numpy()
    sector_of_dz = np.empty(geo.n_dz, dtype=np.int64)
    district_of_sector: list[int] = []
    digit_of_sector: list[int] = []
    district = 0
    sector = -1
    filled = spec.sector_capacity
    digit = 10
    for dz in range(geo.n_dz):
        new_council = dz == 0 or councils[dz] != councils[dz - 1]
        if new_council or filled + per_dz[dz] > spec.sector_capacity:
            if new_council or digit == 9:
                district += 1
                digit = 0
            else:
                digit += 1
            sector += 1
            district_of_sector.append(district)
            digit_of_sector.append((digit + 1) % 10)
            filled = 0
        sector_of_dz[dz] = sector
        filled += per_dz[dz]
    capacity = spec.districts_per_area
    if district > capacity * len(spec.areas):
        raise ValueError(
            f"{district} postcode districts needed but {len(spec.areas)} area(s) hold "
            f"{capacity * len(spec.areas)}; add postcode areas or raise sector_capacity"
        )
    area_of_sector = np.array([spec.areas[(d - 1) // capacity] for d in district_of_sector])
    outward_of_sector = np.array(
        [
            f"{area}{(d - 1) % capacity + 1}"
            for area, d in zip(area_of_sector, district_of_sector, strict=True)
        ]
    )
    sector_of_postcode = sector_of_dz[postcodes["dz_index"].to_numpy()]
    pairs = _unit_pairs()
    inward = np.empty(len(postcodes), dtype=object)
    boundaries = np.flatnonzero(np.diff(sector_of_postcode)) + 1
    for block in np.split(np.arange(len(postcodes)), boundaries):
        sector = sector_of_postcode[block[0]]
        letters = pairs[np.sort(rng.choice(len(pairs), size=len(block), replace=False))]
        inward[block] = [f"{digit_of_sector[sector]}{pair}" for pair in letters]
    return area_of_sector[sector_of_postcode], outward_of_sector[sector_of_postcode], inward


def _introduced_and_terminated(
    terminated: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Months (YYYYMM) a unit was introduced and, if terminated, ended. Most units date
    from the directory's start (January 1980), as in the real NSPL."""
    last = (2021 - 1980) * 12 + 7  # months after January 1980 up to August 2021
    start = np.where(
        rng.uniform(size=len(terminated)) < 0.62, 0, rng.integers(1, last, len(terminated))
    )
    end = start + 1 + (rng.uniform(size=len(terminated)) * (last - start)).astype(np.int64)
    end = np.minimum(end, last)

    calendar = np.array([f"{1980 + m // 12}{m % 12 + 1:02d}" for m in range(last + 1)])
    return calendar[start], np.where(terminated, calendar[end], "")


def _output_areas(postcodes: pd.DataFrame) -> np.ndarray:
    """About 6 postcodes per output area, consecutive within a data zone."""
    within = postcodes.groupby("dz_index").cumcount().to_numpy()
    return postcodes["dz_index"].to_numpy() * 8 + np.minimum(within // 6, 7)


def dz_area_km2(geo: DemoGeography) -> np.ndarray:
    return shapely.area(geo.dz_polygons) / 1e6
