"""Phang Nga places, receiving facilities, zones and landmasses, loaded from the project's own places.json.

The data file carries its provenance (`_about`): every coordinate keeps its source and quality tag, and
every level of care and road time says whether it is sourced or an assumption. Distances are WGS84
geodesics (geopy), straight line, not sailing routes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from importlib.resources import files
from typing import Any, Final, Literal, NamedTuple, Protocol, get_args

import msgspec
from geopy.distance import geodesic  # type: ignore[import-untyped]

from dispatch.domain.catalogue import Latitude, Longitude, Position
from dispatch.domain.errors import FacilityNotFound
from dispatch.domain.vocabulary import Zone

PlaceKind = Literal["beach", "island", "dive_site", "pier", "hospital", "health_unit", "park_station", "town"]
FacilityKind = Literal["hospital", "health_unit"]
Quality = Literal["high", "medium", "medium-low", "low", "APPROX", "DERIVED"]

FACILITY_KINDS: Final[tuple[str, ...]] = get_args(FacilityKind)
OTHER_ZONE: Final[Zone] = "other"


class HasLatLon(Protocol):
    """Anything with a WGS84 `lat` and `lon`: a Position, a Place, a resource."""

    @property
    def lat(self) -> float: ...

    @property
    def lon(self) -> float: ...


class Landing(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where a boat lands for a facility (`via_id`, a place id) and the road time from there to the door.

    `from_zones`: origin zones from which this landing is a realistic sea approach; a straight line from
    anywhere else would cross land (Ko Yao to Thap Lamu, Similan to Bang Rong).
    """

    via_id: str
    from_zones: tuple[Zone, ...]
    road_minutes: float
    assumption: bool
    basis: str


class Place(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A named point: a site from the reference, a receiving facility or a town."""

    id: str
    name_en: str
    name_th: str | None
    kind: PlaceKind
    lat: Latitude
    lon: Longitude
    zone: Zone
    landmass: str | None
    district: str
    quality: Quality
    quality_note: str
    notes: str
    source: str
    level_of_care: int | None = None
    level_of_care_note: str | None = None
    landings: tuple[Landing, ...] = ()
    landing_note: str | None = None

    @property
    def position(self) -> Position:
        return Position(lat=self.lat, lon=self.lon)

    @property
    def is_facility(self) -> bool:
        return self.kind in FACILITY_KINDS


class CareLevel(msgspec.Struct, frozen=True, kw_only=True):
    level: int
    name: str
    thai: str
    means: str


class About(msgspec.Struct, frozen=True, kw_only=True):
    """The file's provenance; unknown keys are allowed so documentation can grow without a code change."""

    title: str
    status: str
    level_of_care_scale: tuple[CareLevel, ...]
    sources: tuple[str, ...]
    caveats: tuple[str, ...]


class ZoneArea(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    zone: Zone
    name: str
    polygon_lat_lon: tuple[tuple[float, float], ...]
    why: str

    def contains(self, point: HasLatLon) -> bool:
        return _inside(point.lat, point.lon, self.polygon_lat_lon)


class LandmassArea(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    landmass: str
    name: str
    polygon_lat_lon: tuple[tuple[float, float], ...]
    why: str

    def contains(self, point: HasLatLon) -> bool:
        return _inside(point.lat, point.lon, self.polygon_lat_lon)


class PlacesFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    about: About = msgspec.field(name="_about")
    zones: tuple[ZoneArea, ...]
    landmasses: tuple[LandmassArea, ...]
    places: tuple[Place, ...]


class Nearest(NamedTuple):
    place: Place
    distance_km: float


class PlacesDataError(ValueError):
    """places.json breaks one of its own rules (a duplicate id, a landing that names no place, ...)."""


class UnknownPlace(LookupError):
    """No place has this id."""


class Places:
    """The loaded places with lookups by id, kind and position."""

    def __init__(self, data: PlacesFile) -> None:
        self.about = data.about
        self.zone_areas = data.zones
        self.landmass_areas = data.landmasses
        self.all: tuple[Place, ...] = data.places
        self._by_id = {place.id: place for place in data.places}
        self.care_levels: dict[int, CareLevel] = {
            level.level: level for level in data.about.level_of_care_scale
        }
        _check(self)

    def __iter__(self) -> Iterator[Place]:
        return iter(self.all)

    def __len__(self) -> int:
        return len(self.all)

    def __contains__(self, place_id: object) -> bool:
        return place_id in self._by_id

    def get(self, place_id: str) -> Place:
        """The place with this id; raises UnknownPlace."""
        try:
            return self._by_id[place_id]
        except KeyError as exc:
            raise UnknownPlace(f"no place with id {place_id!r} in places.json") from exc

    def find(self, place_id: str) -> Place | None:
        return self._by_id.get(place_id)

    def facility(self, facility_id: str) -> Place:
        """The hospital or health unit with this id; raises FacilityNotFound for anything else."""
        place = self._by_id.get(facility_id)
        if place is None or not place.is_facility:
            raise FacilityNotFound(
                f"{facility_id!r} is not a receiving facility (hospital or health unit)", field="facility_id"
            )
        return place

    def facilities(self, *, min_level_of_care: int | None = None) -> tuple[Place, ...]:
        """Hospitals and health units, optionally only those at or above a level of care."""
        floor = min_level_of_care or 0
        return tuple(p for p in self.all if p.is_facility and (p.level_of_care or 0) >= floor)

    def by_kind(self, *kinds: PlaceKind) -> tuple[Place, ...]:
        return tuple(p for p in self.all if p.kind in kinds)

    def zone_of(self, point: HasLatLon) -> Zone:
        """The operational zone of any point: the zone polygon holding it, else 'other'."""
        return next((area.zone for area in self.zone_areas if area.contains(point)), OTHER_ZONE)

    def landmass_of(self, point: HasLatLon) -> str | None:
        """The landmass a point stands on, or None at sea (coarse: see `_about.landmasses_doc`)."""
        return next((area.landmass for area in self.landmass_areas if area.contains(point)), None)

    def nearest(self, point: HasLatLon, kinds: Iterable[PlaceKind] | None = None) -> Nearest:
        """The closest place (of the given kinds, if any) and its geodesic distance."""
        wanted = set(kinds) if kinds is not None else None
        candidates = [p for p in self.all if wanted is None or p.kind in wanted]
        if not candidates:
            raise UnknownPlace(f"no place of kinds {sorted(wanted or ())} in places.json")
        return min((Nearest(p, distance_km(point, p)) for p in candidates), key=lambda n: n.distance_km)


def distance_km(a: HasLatLon, b: HasLatLon) -> float:
    """Straight-line WGS84 geodesic distance in kilometres (geopy / geographiclib)."""
    return float(geodesic((a.lat, a.lon), (b.lat, b.lon)).km)


@lru_cache(maxsize=1)
def load_places() -> Places:
    """The project's places, read once from the packaged places.json."""
    raw = files("dispatch.domain.geo").joinpath("places.json").read_bytes()
    return parse_places(raw)


def parse_places(raw: bytes | str) -> Places:
    """Places from places.json text; raises PlacesDataError when the file is malformed or inconsistent."""
    try:
        data = msgspec.json.decode(raw, type=PlacesFile)
    except msgspec.ValidationError as exc:
        raise PlacesDataError(f"places.json does not match the schema: {exc}") from exc
    return Places(data)


def zone_of(point: HasLatLon) -> Zone:
    """The operational zone of any lat/lon (see places.json `zones`); 'other' outside every zone."""
    return load_places().zone_of(point)


def landmass_of(point: HasLatLon) -> str | None:
    return load_places().landmass_of(point)


def nearest_place(point: HasLatLon, kinds: Iterable[PlaceKind] | None = None) -> Nearest:
    return load_places().nearest(point, kinds)


# --- internals ---------------------------------------------------------------------------------------


def _inside(lat: float, lon: float, polygon: Sequence[tuple[float, float]]) -> bool:
    """Even-odd ray casting in plain lat/lon; exact enough for areas a few dozen km across."""
    inside = False
    previous_lat, previous_lon = polygon[-1]
    for vertex_lat, vertex_lon in polygon:
        if (vertex_lat > lat) != (previous_lat > lat):
            crossing_lon = vertex_lon + (lat - vertex_lat) * (previous_lon - vertex_lon) / (
                previous_lat - vertex_lat
            )
            if lon < crossing_lon:
                inside = not inside
        previous_lat, previous_lon = vertex_lat, vertex_lon
    return inside


def _check(places: Places) -> None:
    """Refuse a data file that breaks its own rules, so a bad edit fails at start, not mid-dispatch."""
    problems = [*_duplicate_ids(places.all), *_facility_problems(places), *_polygon_problems(places)]
    if problems:
        raise PlacesDataError("places.json: " + "; ".join(problems))


def _duplicate_ids(all_places: Sequence[Place]) -> list[str]:
    counts = Counter(place.id for place in all_places)
    return [f"duplicate id {place_id!r}" for place_id, count in counts.items() if count > 1]


def _facility_problems(places: Places) -> list[str]:
    problems: list[str] = []
    for place in places.all:
        if place.is_facility and place.level_of_care not in places.care_levels:
            problems.append(
                f"facility {place.id!r} has level_of_care {place.level_of_care!r} outside the scale"
            )
        if not place.is_facility and (place.level_of_care is not None or place.landings):
            problems.append(
                f"{place.id!r} is a {place.kind}, not a facility, yet has a level of care or landings"
            )
        problems.extend(_landing_problems(place, places))
    return problems


def _landing_problems(facility: Place, places: Places) -> list[str]:
    problems: list[str] = []
    for landing in facility.landings:
        if landing.via_id not in places:
            problems.append(f"facility {facility.id!r} lands via unknown place {landing.via_id!r}")
        if not landing.from_zones:
            problems.append(f"facility {facility.id!r} landing {landing.via_id!r} serves no origin zone")
    return problems


def _polygon_problems(places: Places) -> list[str]:
    areas: list[Any] = [*places.zone_areas, *places.landmass_areas]
    return [
        f"area {area.name!r} needs at least 3 vertices" for area in areas if len(area.polygon_lat_lon) < 3
    ]
