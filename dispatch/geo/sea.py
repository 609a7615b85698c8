"""Sea legs: water distances between landings and from any point at sea.

First version: straight lines (haversine). To be replaced by water paths around the coastline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final, Protocol

from dispatch.geo.places import HasLatLon, Place, Places

EARTH_RADIUS_KM: Final[float] = 6371.0088  # IUGG mean radius


class SeaLegs(Protocol):
    def between(self, a: HasLatLon, b: HasLatLon) -> float | None: ...

    def to_landings(self, point: HasLatLon) -> Sequence[float | None]: ...

    def landing_row(self, index: int) -> Sequence[float | None]: ...

    def landmass_of(self, point: HasLatLon, places: Places) -> str | None: ...


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on the mean sphere; within 0.5% of the WGS84 geodesic."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


class StraightSea:
    def __init__(self, landings: Sequence[Place]) -> None:
        self.landings = tuple(landings)
        self._rows = [list(self.to_landings(place)) for place in self.landings]

    def between(self, a: HasLatLon, b: HasLatLon) -> float | None:
        return haversine_km(a.lat, a.lon, b.lat, b.lon)

    def to_landings(self, point: HasLatLon) -> Sequence[float | None]:
        return [haversine_km(point.lat, point.lon, p.lat, p.lon) for p in self.landings]

    def landing_row(self, index: int) -> Sequence[float | None]:
        return self._rows[index]

    def landmass_of(self, point: HasLatLon, places: Places) -> str | None:
        return places.landmass_of(point)


def load_sea(landings: Sequence[Place]) -> SeaLegs:
    return StraightSea(landings)
