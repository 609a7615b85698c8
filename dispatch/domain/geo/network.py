"""The referral network: road on land, sea between landings, and the fastest way from a patient to a facility.

A route has one shape, because one boat carries the patient: the boat comes to fetch the patient (at sea where
the patient is, or at a landing the patient reaches by road), then takes them to a landing, from where the road
leads to the door. So the search is a shortest path over a layered graph (boarding point -> landing ->
destination) relaxed in that order: exact for this shape, and a few hundred additions for every facility at
once, cheaper than a general Dijkstra (or networkx) over the same nodes. The patient and the boat travel to the
boarding point at the same time; whoever is first waits.

Sea distances come from `dispatch.domain.geo.sea` (water paths around the coastline, precomputed); roads from
network.json (sourced or assumed legs) or, for short hops, the straight line stretched by the detour factor.
Nothing here reads settings or the clock: the caller passes the timings (EtaSettings) and the boat's speed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib.resources import files
from typing import Final, Literal, NamedTuple

import msgspec

from dispatch.domain.geo.eta import EtaSettings, km_to_nmi, usable_speed
from dispatch.domain.geo.places import HasLatLon, Place, Places, load_places
from dispatch.domain.geo.sea import CoastSea, haversine_km, load_sea

LegMode = Literal["road", "sea", "transfer"]
Accuracy = Literal["sourced", "assumption", "estimate", "computed"]

MINUTES_PER_HOUR: Final[float] = 60.0
ORIGIN_ID: Final[str] = "origin"
BOAT_ID: Final[str] = "boat"


class NetworkDataError(ValueError):
    """network.json breaks one of its own rules (a landing or road leg naming no place, ...)."""


# --- the data file --------------------------------------------------------------------------------------


class LandingEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    place_id: str
    note: str


class RoadLegEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    from_id: str
    to_id: str
    km: float | None
    minutes: float | None
    accuracy: Literal["sourced", "assumption", "estimate"]
    source: str


class NetworkFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    about: dict[str, object] = msgspec.field(name="_about")
    computed_road_max_km: float
    landings: tuple[LandingEntry, ...]
    road_legs: tuple[RoadLegEntry, ...]


# --- routes -------------------------------------------------------------------------------------------


class Leg(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a journey: by road, by sea at the carrier's speed, or a transfer (launch, boarding, wait)."""

    mode: LegMode
    from_id: str
    from_name: str
    to_id: str
    to_name: str
    km: float
    minutes: float
    accuracy: Accuracy
    source: str


class Route(msgspec.Struct, frozen=True, kw_only=True):
    """The patient's journey to `destination_id`, leg by leg, from the moment of the request.

    `legs` add up to `total_minutes` (a wait for the boat is a transfer leg). `pickup_legs` are the boat's own
    trip to where the patient boards (launch, sea); `pickup_minutes` is their sum, 0 for a road-only route."""

    destination_id: str
    legs: tuple[Leg, ...]
    pickup_legs: tuple[Leg, ...]
    pickup_minutes: float
    total_minutes: float

    @property
    def road_only(self) -> bool:
        return all(leg.mode == "road" for leg in self.legs)

    @property
    def sea_km(self) -> float:
        return sum(leg.km for leg in self.legs if leg.mode == "sea")

    @property
    def landing_id(self) -> str | None:
        """Where the patient comes ashore (None: road only, or a destination at sea)."""
        sea = [index for index, leg in enumerate(self.legs) if leg.mode == "sea"]
        return self.legs[sea[-1]].to_id if sea and sea[-1] + 1 < len(self.legs) else None


class Node(NamedTuple):
    """A point of the network as a route names it."""

    id: str
    name: str
    lat: float
    lon: float
    landmass: str | None


class _Boarding(NamedTuple):
    """Where the patient gets aboard, and what it took to get there (before the boarding transfer)."""

    node: Node
    landing_index: int | None  # index in the landing list, None for the patient's own position at sea
    ready_minutes: float  # boarding done: the later of patient and boat, plus the boarding transfer
    legs: tuple[Leg, ...]
    pickup_legs: tuple[Leg, ...]
    pickup_minutes: float


class _Arrival(NamedTuple):
    boarding: _Boarding
    sea_km: float
    sea_minutes: float
    minutes: float  # ashore at the landing, landing transfer done


# --- the network --------------------------------------------------------------------------------------


class Network:
    """Landings, road legs and sea legs, with the fastest route from any patient to any place."""

    def __init__(self, places: Places, data: NetworkFile, sea: CoastSea) -> None:
        self.places = places
        self.about = data.about
        self.computed_road_max_km = data.computed_road_max_km
        self.landings: tuple[Place, ...] = tuple(places.get(entry.place_id) for entry in data.landings)
        self._landing_index = {place.id: index for index, place in enumerate(self.landings)}
        self._landing_by_position = {(place.lat, place.lon): index for index, place in enumerate(self.landings)}
        self._by_landmass: dict[str | None, tuple[int, ...]] = {}
        for index, place in enumerate(self.landings):
            self._by_landmass[place.landmass] = (*self._by_landmass.get(place.landmass, ()), index)
        self._roads = _road_legs(places, data.road_legs)
        self.sea = sea

    # --- sea ---

    def sea_km(self, a: HasLatLon, b: HasLatLon) -> float | None:
        """Shortest water distance between two points at sea or at landings, around land; None if unreachable."""
        if not (_finite(a) and _finite(b)):
            return None
        i, j = self._landing_at(a), self._landing_at(b)
        if i is not None and j is not None:  # both landings: the stored graph distance, exactly
            return 0.0 if i == j else self.sea.landing_row(i)[j]
        return self.sea.between(a, b)

    def _landing_at(self, point: HasLatLon) -> int | None:
        """The landing this point is (a landing place, or a boat moored exactly at one), else None."""
        if isinstance(point, Place):
            return self._landing_index.get(point.id)
        return self._landing_by_position.get((point.lat, point.lon))

    def _boat_to(self, patient: Node, boat_at: HasLatLon | None) -> float | None:
        """The carrier's water km to a patient at sea; a moored carrier reads it off the patient's distances."""
        if boat_at is None:
            return 0.0
        moored = self._landing_at(boat_at)
        if moored is not None:
            return self.sea.to_landings(patient)[moored]
        return self.sea.between(boat_at, patient)

    def _from_boat(self, boat_at: HasLatLon | None) -> Sequence[float | None] | None:
        if boat_at is None:
            return None
        moored = self._landing_at(boat_at)
        return self.sea.landing_row(moored) if moored is not None else self.sea.to_landings(boat_at)

    # --- routes ---

    def fastest_route(
        self,
        origin: HasLatLon,
        destination: Place,
        *,
        speed_knots: float,
        boat_at: HasLatLon | None,
        timings: EtaSettings,
    ) -> Route | None:
        """The fastest route from the patient at `origin` to `destination`; None when there is none."""
        routes = self.routes_from(origin, [destination], speed_knots=speed_knots, boat_at=boat_at, timings=timings)
        return routes.get(destination.id)

    def routes_from(
        self,
        origin: HasLatLon,
        destinations: Iterable[Place],
        *,
        speed_knots: float,
        boat_at: HasLatLon | None,
        timings: EtaSettings,
    ) -> dict[str, Route]:
        """The fastest route to each destination that can be reached, by destination id, in one search.

        `boat_at` is where the carrier is now (None: already where the patient boards). A boat whose speed is
        outside the bounds any boat of this service can have gets no sea legs: only road routes remain."""
        targets = list(destinations)
        if not _finite(origin) or (boat_at is not None and not _finite(boat_at)):
            return {}
        start = self._origin_node(origin)
        boat_ok = usable_speed(speed_knots)
        arrivals: list[_Arrival | None] = []
        boardings: list[_Boarding] = []
        if boat_ok:
            boardings = self._boardings(start, speed_knots, boat_at, timings)
            arrivals = self._arrivals(boardings, speed_knots, timings)
        routes: dict[str, Route] = {}
        for target in targets:
            if not _finite(target):
                continue
            options = [
                *self._by_road(start, target, timings),
                *(self._via_landings(arrivals, target, timings) if boat_ok else ()),
                *(self._by_sea_to(boardings, target, speed_knots, timings) if boat_ok else ()),
            ]
            if options:
                routes[target.id] = min(options, key=lambda route: route.total_minutes)
        return routes

    # --- steps of the search ---

    def _origin_node(self, origin: HasLatLon) -> Node:
        if isinstance(origin, Place):
            return _node(origin)
        landmass = self.sea.landmass_of(origin, self.places)
        return Node(ORIGIN_ID, "patient's position", origin.lat, origin.lon, landmass)

    def _boardings(
        self, start: Node, speed_knots: float, boat_at: HasLatLon | None, timings: EtaSettings
    ) -> list[_Boarding]:
        """Every place the patient can board: their own position at sea, or each landing of their landmass."""
        from_boat = self._from_boat(boat_at)
        if start.landmass not in self._by_landmass or start.landmass is None:
            # at sea, or on land with no landing (an island without a pier): fetched at the nearest water
            boat_km = self._boat_to(start, boat_at)
            if boat_km is None:
                return []
            pickup = self._pickup_legs(start, boat_at, boat_km, speed_knots, timings)
            return [_board(start, None, 0.0, (), pickup, timings)]
        boardings: list[_Boarding] = []
        for index in self._by_landmass.get(start.landmass, ()):
            pier = _node(self.landings[index])
            road = self._road(start, pier, timings)
            boat_km = from_boat[index] if from_boat is not None else 0.0
            if road is None or boat_km is None:
                continue
            pickup = self._pickup_legs(pier, boat_at, boat_km, speed_knots, timings)
            boardings.append(_board(pier, index, road.minutes, (road,) if road.minutes else (), pickup, timings))
        return boardings

    def _arrivals(
        self, boardings: Sequence[_Boarding], speed_knots: float, timings: EtaSettings
    ) -> list[_Arrival | None]:
        """For each landing, the earliest the patient can be ashore there (landing transfer done)."""
        best: list[_Arrival | None] = [None] * len(self.landings)
        for boarding in boardings:
            kms = (
                self.sea.landing_row(boarding.landing_index)
                if boarding.landing_index is not None
                else self.sea.to_landings(boarding.node)
            )
            for index, km in enumerate(kms):
                if km is None or index == boarding.landing_index:
                    continue
                sea_minutes = _sea_minutes(km, speed_knots)
                minutes = boarding.ready_minutes + sea_minutes + timings.boat_landing_minutes
                current = best[index]
                if current is None or minutes < current.minutes:
                    best[index] = _Arrival(boarding, km, sea_minutes, minutes)
        return best

    def _by_road(self, start: Node, target: Place, timings: EtaSettings) -> list[Route]:
        if start.landmass is None or start.landmass != target.landmass:
            return []
        road = self._road(start, _node(target), timings, capped=False)
        if road is None:
            return []
        return [Route(destination_id=target.id, legs=(road,), pickup_legs=(), pickup_minutes=0.0,
                      total_minutes=road.minutes)]

    def _via_landings(self, arrivals: Sequence[_Arrival | None], target: Place, timings: EtaSettings) -> list[Route]:
        """The best landing on the destination's landmass, then the road; legs are built for that one only."""
        if target.landmass is None:
            return []
        goal = _node(target)
        best: tuple[float, Node, _Arrival, Leg] | None = None
        for index in self._by_landmass.get(target.landmass, ()):
            arrival = arrivals[index] if index < len(arrivals) else None
            if arrival is None:
                continue
            landing = _node(self.landings[index])
            road = self._road(landing, goal, timings)
            if road is not None and (best is None or arrival.minutes + road.minutes < best[0]):
                best = (arrival.minutes + road.minutes, landing, arrival, road)
        if best is None:
            return []
        _total, landing, arrival, road = best
        legs = (
            *arrival.boarding.legs,
            _sea_leg(arrival.boarding.node, landing, arrival.sea_km, arrival.sea_minutes),
            _transfer(landing, "landing", timings.boat_landing_minutes),
            *((road,) if road.minutes or road.km else ()),
        )
        return [_route(target, legs, arrival.boarding)]

    def _by_sea_to(
        self, boardings: Sequence[_Boarding], target: Place, speed_knots: float, timings: EtaSettings
    ) -> list[Route]:
        """A destination with no roads (a park station on an island): the boat takes the patient there."""
        if target.landmass is not None:
            return []
        routes: list[Route] = []
        goal = _node(target)
        for boarding in boardings:
            km = (
                self.sea.landing_row(boarding.landing_index)[self._landing_index[target.id]]
                if boarding.landing_index is not None and target.id in self._landing_index
                else self.sea.between(boarding.node, goal)
            )
            if km is None:
                continue
            legs = (
                *boarding.legs,
                _sea_leg(boarding.node, goal, km, _sea_minutes(km, speed_knots)),
                _transfer(goal, "landing", timings.boat_landing_minutes),
            )
            routes.append(_route(target, legs, boarding))
        return routes

    def _pickup_legs(
        self, pickup: Node, boat_at: HasLatLon | None, km: float, speed_knots: float, timings: EtaSettings
    ) -> tuple[Leg, ...]:
        if boat_at is None:
            return (_transfer(pickup, "launch", timings.boat_launch_minutes),)
        boat = Node(BOAT_ID, "carrier's position", boat_at.lat, boat_at.lon, None)
        launch = _transfer(boat, "launch", timings.boat_launch_minutes)
        if km == 0:
            return (launch,)
        return (launch, _sea_leg(boat, pickup, km, _sea_minutes(km, speed_knots)))

    def _road(self, a: Node, b: Node, timings: EtaSettings, *, capped: bool = True) -> Leg | None:
        """The road leg from a to b on one landmass: listed, else estimated within computed_road_max_km."""
        if a.id == b.id:
            return _road_leg(a, b, 0.0, 0.0, "computed", "same place")
        listed = self._roads.get((a.id, b.id))
        straight = haversine_km(a.lat, a.lon, b.lat, b.lon)
        if listed is not None:
            km = listed.km if listed.km is not None else straight * timings.road_detour_factor
            minutes = listed.minutes if listed.minutes is not None else km / timings.road_speed_kmh * MINUTES_PER_HOUR
            return _road_leg(a, b, km, minutes, listed.accuracy, listed.source)
        if capped and straight > self.computed_road_max_km:
            return None
        km = straight * timings.road_detour_factor
        return _road_leg(a, b, km, km / timings.road_speed_kmh * MINUTES_PER_HOUR, "estimate",
                         "straight line x road detour factor at the road speed")


# --- loading ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def load_network(places: Places | None = None) -> Network:
    """The project's network over `places` (default: the packaged places), read once."""
    known = places or load_places()
    data = read_network(known)
    return Network(known, data, load_sea(landings_of(known, data)))


def read_network(places: Places) -> NetworkFile:
    data = parse_network(files("dispatch.domain.geo").joinpath("network.json").read_bytes())
    _check(places, data)
    return data


def landings_of(places: Places, data: NetworkFile | None = None) -> tuple[Place, ...]:
    """The network's landings, in network.json's order (the sea graph is built for exactly these)."""
    entries = (data or read_network(places)).landings
    return tuple(places.get(entry.place_id) for entry in entries)


def parse_network(raw: bytes | str) -> NetworkFile:
    try:
        return msgspec.json.decode(raw, type=NetworkFile)
    except msgspec.ValidationError as exc:
        raise NetworkDataError(f"network.json does not match the schema: {exc}") from exc


def _check(places: Places, data: NetworkFile) -> None:
    """Refuse a data file that names places that do not exist, so a bad edit fails at start."""
    problems = [f"landing {entry.place_id!r} is not a place" for entry in data.landings
                if entry.place_id not in places]
    problems += [f"road leg {leg.from_id!r}-{leg.to_id!r} names an unknown place" for leg in data.road_legs
                 if leg.from_id not in places or leg.to_id not in places]
    if problems:
        raise NetworkDataError("network.json: " + "; ".join(problems))


def _road_legs(places: Places, entries: Sequence[RoadLegEntry]) -> dict[tuple[str, str], RoadLegEntry]:
    """Listed road legs both ways; facility landings in places.json count as road legs with their minutes."""
    legs: dict[tuple[str, str], RoadLegEntry] = {}
    for facility in places.facilities():
        for landing in facility.landings:
            entry = RoadLegEntry(from_id=landing.via_id, to_id=facility.id, km=None, minutes=landing.road_minutes,
                                 accuracy="assumption" if landing.assumption else "sourced", source=landing.basis)
            legs[(entry.from_id, entry.to_id)] = legs[(entry.to_id, entry.from_id)] = entry
    for entry in entries:
        legs[(entry.from_id, entry.to_id)] = legs[(entry.to_id, entry.from_id)] = entry
    return legs


# --- small builders ---------------------------------------------------------------------------------------


def _node(place: Place) -> Node:
    return Node(place.id, place.name_en, place.lat, place.lon, place.landmass)


def _finite(point: HasLatLon) -> bool:
    return math.isfinite(point.lat) and math.isfinite(point.lon) and -90 <= point.lat <= 90


def _sea_minutes(km: float, speed_knots: float) -> float:
    return km_to_nmi(km) / speed_knots * MINUTES_PER_HOUR


def _road_leg(a: Node, b: Node, km: float, minutes: float, accuracy: Accuracy, source: str) -> Leg:
    return Leg(mode="road", from_id=a.id, from_name=a.name, to_id=b.id, to_name=b.name, km=km, minutes=minutes,
               accuracy=accuracy, source=source)


def _sea_leg(a: Node, b: Node, km: float, minutes: float) -> Leg:
    return Leg(mode="sea", from_id=a.id, from_name=a.name, to_id=b.id, to_name=b.name, km=km, minutes=minutes,
               accuracy="computed", source="shortest water path around the GSHHG 2.3.6 coast (sea_graph.json) "
               "at the carrier's speed")


TRANSFERS: Final[dict[str, str]] = {
    "launch": "boat_launch_minutes: crew to boat, engines, casting off",
    "boarding": "boat_landing_minutes: berthing and moving the patient aboard",
    "landing": "boat_landing_minutes: berthing and moving the patient ashore",
    "wait": "waiting for the boat",
}


def _transfer(at: Node, what: str, minutes: float) -> Leg:
    return Leg(mode="transfer", from_id=at.id, from_name=at.name, to_id=at.id, to_name=f"{what} ({at.name})",
               km=0.0, minutes=minutes, accuracy="assumption" if what != "wait" else "computed",
               source=TRANSFERS[what])


def _board(
    at: Node, index: int | None, road_minutes: float, road_legs: tuple[Leg, ...], pickup: tuple[Leg, ...],
    timings: EtaSettings,
) -> _Boarding:
    """The patient is aboard when both have arrived (the later waits) and the boarding transfer is done."""
    pickup_minutes = sum(leg.minutes for leg in pickup)
    wait = max(0.0, pickup_minutes - road_minutes)
    legs = (*road_legs, *((_transfer(at, "wait", wait),) if wait > 0 else ()),
            _transfer(at, "boarding", timings.boat_landing_minutes))
    ready = max(road_minutes, pickup_minutes) + timings.boat_landing_minutes
    return _Boarding(at, index, ready, legs, pickup, pickup_minutes)


def _route(target: Place, legs: tuple[Leg, ...], boarding: _Boarding) -> Route:
    return Route(destination_id=target.id, legs=legs, pickup_legs=boarding.pickup_legs,
                 pickup_minutes=boarding.pickup_minutes, total_minutes=sum(leg.minutes for leg in legs))
