"""Which of the province's zones an alert's area touches: polygons and circles against the zone polygons.

Plain lat/lon geometry like the zones' own point test (places.py): the zones are a few dozen km across, and an
alert either overlaps one or is plainly elsewhere, so a flat-earth test is exact enough. A circle is tested
by the distance from its centre to the zone's edges in km (a degree of longitude shrinks with latitude).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dispatch.domain.catalogue import AlertArea, Circle, Position
from dispatch.domain.geo.places import Places, ZoneArea, _inside
from dispatch.domain.vocabulary import Zone

LatLon = tuple[float, float]
KM_PER_DEGREE_LAT = 111.32


def zones_touched(area: AlertArea, places: Places) -> tuple[Zone, ...]:
    """The zones any polygon or circle of `area` overlaps, in the order places.json lists them."""
    return tuple(zone.zone for zone in places.zone_areas if _touches(area, zone))


def _touches(area: AlertArea, zone: ZoneArea) -> bool:
    ring = list(zone.polygon_lat_lon)
    return (any(polygons_overlap([(p.lat, p.lon) for p in polygon], ring) for polygon in area.polygons)
            or any(circle_overlaps(circle, ring) for circle in area.circles))


def polygons_overlap(a: Sequence[LatLon], b: Sequence[LatLon]) -> bool:
    """Whether two simple polygons share any point: an edge crosses, or one holds a vertex of the other."""
    if len(a) < 3 or len(b) < 3:
        return False
    if _inside(*a[0], b) or _inside(*b[0], a):
        return True
    return any(_segments_cross(p, q, r, s) for p, q in _edges(a) for r, s in _edges(b))


def circle_overlaps(circle: Circle, ring: Sequence[LatLon]) -> bool:
    """Whether a circle and a polygon share any point: its centre is inside, or an edge comes within its radius."""
    center = circle.center
    if _inside(center.lat, center.lon, ring):
        return True
    return any(_km_to_segment(center, p, q) <= circle.radius_km for p, q in _edges(ring))


def _edges(ring: Sequence[LatLon]) -> list[tuple[LatLon, LatLon]]:
    return [(ring[index - 1], ring[index]) for index in range(len(ring))]


def _segments_cross(p: LatLon, q: LatLon, r: LatLon, s: LatLon) -> bool:
    def side(a: LatLon, b: LatLon, c: LatLon) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2, d3, d4 = side(r, s, p), side(r, s, q), side(p, q, r), side(p, q, s)
    return ((d1 > 0) != (d2 > 0) and (d3 > 0) != (d4 > 0)) or (0.0 in (d1, d2, d3, d4) and _bounds_meet(p, q, r, s))


def _bounds_meet(p: LatLon, q: LatLon, r: LatLon, s: LatLon) -> bool:
    return (min(p[0], q[0]) <= max(r[0], s[0]) and min(r[0], s[0]) <= max(p[0], q[0])
            and min(p[1], q[1]) <= max(r[1], s[1]) and min(r[1], s[1]) <= max(p[1], q[1]))


def _km_to_segment(point: Position, a: LatLon, b: LatLon) -> float:
    """Distance in km from a point to a segment, on a plane scaled to km around the point."""
    kx = KM_PER_DEGREE_LAT * math.cos(math.radians(point.lat))

    def xy(lat_lon: LatLon) -> tuple[float, float]:
        return ((lat_lon[1] - point.lon) * kx, (lat_lon[0] - point.lat) * KM_PER_DEGREE_LAT)

    (ax, ay), (bx, by) = xy(a), xy(b)
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
    return math.hypot(ax + t * dx, ay + t * dy)
