"""Recommendations: what to send to an incident, where to refer a patient, when an open referral arrives.

Pure functions over resource states (folded from their streams) and places; nothing here reads the log,
the clock or settings. Distances are WGS84 geodesics like the rest of dispatch/domain/geo, but a geodesic costs
~0.1-0.2 ms, too much to take for each of 500 boats on every call. So every ranking runs best-first: a
cheap spherical (haversine) lower bound orders the candidates, and the exact geodesic is taken only for
those whose bound could still make the list. The result is the same as ranking everything exactly.

The province's rule is "refer from wherever is nearest" (DESIGN.md §1): facilities rank by predicted
arrival, the level of care only breaks ties; a caller that needs a floor passes `min_level_of_care`.
"""

from __future__ import annotations

import math
from bisect import insort
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, TypeVar

from geographiclib.geodesic import Geodesic  # type: ignore[import-untyped]

from dispatch.domain.catalogue import Position, ReferralRequested
from dispatch.domain.decisions.incident import Assignment, Incident
from dispatch.domain.decisions.resource import Resource
from dispatch.domain.geo.eta import (
    EtaSettings,
    NoSeaRoute,
    ReferralRoute,
    km_to_nmi,
    minutes,
    referral_route,
    sea_leg,
    usable_speed,
)
from dispatch.domain.geo.places import HasLatLon, Place, Places
from dispatch.domain.geo.seasons import in_service
from dispatch.domain.vocabulary import BANGKOK, ResourceKind

# Haversine on the mean-radius sphere is within 0.6% of the WGS84 geodesic anywhere; bounds are shrunk by
# twice that so a lower bound never exceeds the exact value.
BOUND_SLACK: Final[float] = 0.012
EARTH_MEAN_RADIUS_KM: Final[float] = 6371.0088
# A boat this close to the patient is there: the pickup leg is nothing but loading, counted in the launch.
AT_PATIENT_KM: Final[float] = 0.5
# "Nearer facility" advice names only hospitals with a 24-hour emergency room and doctors (level 3 and up):
# a health unit can stabilise, but a referral exists because the patient needs more than that.
ADVICE_MIN_LEVEL_OF_CARE: Final[int] = 3
DEFAULT_LIMIT: Final[int] = 3
_WGS84: Final = Geodesic.WGS84

T = TypeVar("T")
R = TypeVar("R")
SortKey = tuple[float, float, str]


# --- resources for an incident ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ResourceOption:
    """A resource that could go, how far it is, and (boats) when it would be there."""

    resource: Resource
    distance_km: float
    eta: timedelta | None = None


@dataclass(frozen=True, kw_only=True)
class ResourceRecommendation:
    """The nearest available suitable resources of each kind, best first."""

    boats: tuple[ResourceOption, ...]
    aeds: tuple[ResourceOption, ...]
    teams: tuple[ResourceOption, ...]


def recommend_resources(
    scene: HasLatLon, resources: Iterable[Resource], params: EtaSettings, *, limit: int = DEFAULT_LIMIT,
    held: Collection[str] = (),
) -> ResourceRecommendation:
    """Boats by ETA to the scene (launch + transit at their speed + landing), AEDs and teams by distance.

    Only available resources with a known position are considered: an assigned or out-of-service one is
    never recommended, and one whose position is unknown cannot be ranked; nor is a boat `held` ashore by a
    warning in force (dispatch/domain/holds.py).
    """
    candidates = [resource for resource in resources if _can_go(resource) and resource.id not in held]  # holds.py
    by_kind: dict[ResourceKind, list[Resource]] = {"boat": [], "aed": [], "team": []}
    for resource in candidates:
        by_kind[resource.kind].append(resource)
    return ResourceRecommendation(
        boats=tuple(_nearest_boats(scene, by_kind["boat"], params, limit)),
        aeds=tuple(_nearest_by_distance(scene, by_kind["aed"], limit)),
        teams=tuple(_nearest_by_distance(scene, by_kind["team"], limit)),
    )


def _can_go(resource: Resource) -> bool:
    if resource.status != "available" or resource.position is None:
        return False
    return resource.kind != "boat" or usable_speed(resource.speed_knots)


def _nearest_boats(
    scene: HasLatLon, boats: list[Resource], params: EtaSettings, limit: int
) -> list[ResourceOption]:
    fixed = params.boat_launch_minutes + params.boat_landing_minutes
    from_scene = _Haversine(scene)

    def bound(boat: Resource) -> float:
        return fixed + _sea_minutes_at_least(from_scene(_at(boat)), _speed(boat))

    def exact(boat: Resource) -> tuple[SortKey, ResourceOption]:
        km = geodesic_km(_at(boat), scene)
        eta = minutes(fixed) + sea_leg(km, _speed(boat))
        return (_minutes_of(eta), 0.0, boat.id), ResourceOption(resource=boat, distance_km=km, eta=eta)

    return _smallest(boats, bound, exact, limit)


def _nearest_by_distance(scene: HasLatLon, resources: list[Resource], limit: int) -> list[ResourceOption]:
    from_scene = _Haversine(scene)

    def bound(resource: Resource) -> float:
        return from_scene(_at(resource)) * (1 - BOUND_SLACK)

    def exact(resource: Resource) -> tuple[SortKey, ResourceOption]:
        km = geodesic_km(_at(resource), scene)
        return (km, 0.0, resource.id), ResourceOption(resource=resource, distance_km=km)

    return _smallest(resources, bound, exact, limit)


# --- facilities for a referral ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FacilityOption:
    """A receiving facility and the fastest modelled way to its door."""

    facility: Place
    route: ReferralRoute

    @property
    def eta(self) -> timedelta:
        return self.route.total


def recommend_facilities(
    origin: HasLatLon,
    places: Places,
    speed_knots: float,
    params: EtaSettings,
    *,
    min_level_of_care: int | None = None,
    exclude: Iterable[str] = (),
    limit: int = DEFAULT_LIMIT,
) -> list[FacilityOption]:
    """Facilities by predicted door-to-door time from `origin` at `speed_knots`, then by level of care.

    Facilities no modelled sea route reaches from the origin (NoSeaRoute) are left out, as are `exclude`d ids.
    """
    skip = set(exclude)
    facilities = [f for f in places.facilities(min_level_of_care=min_level_of_care) if f.id not in skip]
    # What referral_route decides by: the origin's landmass (road only if shared) and zone (which landings).
    landmass = origin.landmass if isinstance(origin, Place) else places.landmass_of(origin)
    zone = origin.zone if isinstance(origin, Place) else places.zone_of(origin)
    from_origin = _Haversine(origin)

    def bound(facility: Place) -> float:
        if landmass is not None and landmass == facility.landmass:
            road_km = from_origin(facility) * (1 - BOUND_SLACK) * params.road_detour_factor
            return road_km / params.road_speed_kmh * 60
        return _sea_route_minutes_at_least(from_origin, zone, facility, places, speed_knots, params)

    def exact(facility: Place) -> tuple[SortKey, FacilityOption] | None:
        try:
            route = referral_route(origin, facility, speed_knots, params, places=places)
        except NoSeaRoute:
            return None
        key = (_minutes_of(route.total), -float(facility.level_of_care or 0), facility.id)
        return key, FacilityOption(facility=facility, route=route)

    return _smallest(facilities, bound, exact, limit)


def _sea_route_minutes_at_least(
    from_origin: _Haversine, zone: str, facility: Place, places: Places, speed_knots: float,
    params: EtaSettings,
) -> float:
    """A lower bound of referral_route's sea route: its best landing from the origin's zone; inf if none."""
    fixed = params.boat_launch_minutes + params.boat_landing_minutes
    options = [
        fixed + _sea_minutes_at_least(from_origin(via), speed_knots) + landing.road_minutes
        for landing in facility.landings
        if zone in landing.from_zones and (via := places.find(landing.via_id)) is not None
    ]
    return min(options, default=math.inf)


# --- predicted arrival of an open referral --------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Prediction:
    """When the patient of an open referral will reach the facility, and how; made at `made_at`."""

    made_at: datetime
    arrival_at: datetime
    # The boat carrying or fetching the patient; None for a road-only transfer. `assigned` is False when no
    # boat is on the referral yet and this is the available one that would deliver soonest.
    boat: Resource | None
    assigned: bool
    # Where the patient sets off from along `route`, and when: from the origin once the boat has fetched them,
    # or, aboard, from the boat's last reported position (departs_at is then in the past).
    patient_at: HasLatLon
    departs_at: datetime
    aboard: bool
    facility: Place
    route: ReferralRoute

    @property
    def pickup(self) -> timedelta:
        """How long until the boat has the patient (nothing once aboard)."""
        return timedelta(0) if self.aboard else max(timedelta(0), self.departs_at - self.made_at)


def predict_arrival(
    requested: ReferralRequested,
    incident: Incident,
    fleet: Mapping[str, Resource],
    now: datetime,
    places: Places,
    params: EtaSettings,
) -> Prediction | None:
    """now + the ETA of the remaining legs: fetching the patient if the boat has not yet, then the route.

    A boat under way that has not reported since its last position is taken to be keeping its speed, so the
    estimate holds still while nothing is heard (and a check that runs late finds the same); a boat that has
    not set off, or waits at the scene, loses the time it waits.

    The boat is the referral's, else the fastest boat active on the incident; with none, a road-only
    transfer when the facility is on the origin's landmass, else the available boat that would deliver
    soonest (if even that one is late, the referral is at risk whatever is sent). None when no boat can be
    found or no modelled route reaches the facility.
    """
    facility = places.find(requested.facility_id)
    if facility is None or not facility.is_facility:
        return None
    origin = _origin(requested, places)
    boat = _transport(requested, incident, fleet)
    if boat is None:
        return _by_road(origin, facility, now, places, params) or _best_available_boat(
            origin, facility, fleet, now, places, params
        )
    assignment = incident.assignments.get(boat.id)
    left_at = assignment.milestones.get("left_scene") if assignment else None
    if left_at is None:
        departs_at = _picked_up_at(boat, assignment, origin, now, params)
        return _predicted(boat, origin, facility, departs_at, now, places, params, aboard=False)
    # The patient is aboard: from the boat's last position if it reported one since leaving, else the scene.
    if boat.position is not None and boat.position_at is not None and boat.position_at >= left_at:
        return _predicted(boat, boat.position, facility, boat.position_at, now, places, params, aboard=True)
    return _predicted(boat, origin, facility, left_at, now, places, params, aboard=True)


def advise(prediction: Prediction, fleet: Iterable[Resource], places: Places, params: EtaSettings) -> str:
    """What would bring the patient in sooner (a faster boat, a nearer facility), or which boat to send;
    "" when nothing would."""
    parts = []
    if prediction.boat is not None and not prediction.assigned:
        parts.append(f"send a boat: {_boat_eta(prediction.boat, prediction.arrival_at)}")
    elif prediction.boat is not None and not prediction.aboard:
        faster = _faster_boat(prediction, fleet, places, params)
        if faster is not None and faster.boat is not None:
            parts.append(f"send a faster boat: {_boat_eta(faster.boat, faster.arrival_at)}")
    if (nearer := _nearer_facility(prediction, places, params)) is not None:
        parts.append(f"nearer facility: {nearer.facility.name_en} (level {nearer.facility.level_of_care}) "
                     f"ETA {_clock(nearer.arrival_at)}")
    return "; ".join(parts)


def _origin(requested: ReferralRequested, places: Places) -> HasLatLon:
    # The named site when known: its stored landmass and zone are exact, a bare position's are looked up.
    site = places.find(requested.from_site_id) if requested.from_site_id else None
    return site if site is not None else requested.from_position


def _transport(
    requested: ReferralRequested, incident: Incident, fleet: Mapping[str, Resource]
) -> Resource | None:
    if requested.resource_id is not None:
        named = fleet.get(requested.resource_id)
        return named if named is not None and _is_boat(named) else None
    active = [fleet.get(rid) for rid in incident.active_resource_ids()]
    boats = [boat for boat in active if boat is not None and _is_boat(boat)]
    return max(boats, key=lambda boat: (_speed(boat), boat.id), default=None)


def _picked_up_at(
    boat: Resource, assignment: Assignment | None, origin: HasLatLon, now: datetime, params: EtaSettings
) -> datetime:
    """When the boat will have the patient: now if it is there; after launch and transit if it has not
    set off; after the transit from its last known position (at its speed since then) if under way."""
    reached = assignment is not None and bool({"on_scene", "at_patient"} & assignment.milestones.keys())
    if reached or boat.position is None:
        return now
    km = geodesic_km(boat.position, origin)
    if km < AT_PATIENT_KM:
        return now
    transit = sea_leg(km, _speed(boat))
    set_off_at = assignment.milestones.get("en_route") if assignment else None
    if set_off_at is None:
        return now + minutes(params.boat_launch_minutes) + transit
    since = max(set_off_at, boat.position_at or set_off_at)
    return max(now, since + transit)


def _predicted(
    boat: Resource,
    here: HasLatLon,
    facility: Place,
    departs_at: datetime,
    now: datetime,
    places: Places,
    params: EtaSettings,
    *,
    aboard: bool,
) -> Prediction | None:
    try:
        route = referral_route(here, facility, _speed(boat), params, places=places)
    except NoSeaRoute:
        return None
    return Prediction(
        made_at=now, arrival_at=_arrival(now, departs_at, route, aboard), boat=boat, assigned=True,
        patient_at=here, departs_at=departs_at, aboard=aboard, facility=facility, route=route,
    )


def _arrival(now: datetime, departs_at: datetime, route: ReferralRoute, aboard: bool) -> datetime:
    # A boat already under way with the patient has cast off: the launch is behind it. One overdue by the
    # estimate is still out there: it arrives now at the soonest.
    remaining = route.total - route.launch if aboard else route.total
    return max(now, departs_at + remaining)


def _by_road(
    origin: HasLatLon, facility: Place, now: datetime, places: Places, params: EtaSettings
) -> Prediction | None:
    """A transfer by road when the facility stands on the origin's landmass (no boat needed)."""
    try:
        # A road route ignores the boat speed; any positive one will do.
        route = referral_route(origin, facility, 1.0, params, places=places)
    except NoSeaRoute:
        return None
    if not route.road_only:
        return None
    return Prediction(made_at=now, arrival_at=now + route.total, boat=None, assigned=False, patient_at=origin,
                      departs_at=now, aboard=False, facility=facility, route=route)


def _best_available_boat(
    origin: HasLatLon,
    facility: Place,
    fleet: Mapping[str, Resource],
    now: datetime,
    places: Places,
    params: EtaSettings,
) -> Prediction | None:
    options = _boat_options(origin, facility, fleet.values(), now, places, params, limit=1)
    return options[0] if options else None


def _faster_boat(
    prediction: Prediction, fleet: Iterable[Resource], places: Places, params: EtaSettings
) -> Prediction | None:
    busy = prediction.boat.id if prediction.boat is not None else None
    others = [boat for boat in fleet if boat.id != busy]
    options = _boat_options(
        prediction.patient_at, prediction.facility, others, prediction.made_at, places, params, limit=1
    )
    return next((o for o in options if o.arrival_at < prediction.arrival_at), None)


def _boat_options(
    origin: HasLatLon,
    facility: Place,
    fleet: Iterable[Resource],
    now: datetime,
    places: Places,
    params: EtaSettings,
    *,
    limit: int,
) -> list[Prediction]:
    """Available boats by when they would deliver the patient waiting at `origin` to `facility`."""
    boats = [boat for boat in fleet if _is_boat(boat) and _can_go(boat) and in_service(boat, now)]
    routes: dict[float, ReferralRoute | None] = {}  # the route depends on the speed only; fleets have few
    from_origin = _Haversine(origin)

    def route_at(speed: float) -> ReferralRoute | None:
        if speed not in routes:
            try:
                routes[speed] = referral_route(origin, facility, speed, params, places=places)
            except NoSeaRoute:
                routes[speed] = None
        return routes[speed]

    def bound(boat: Resource) -> float:
        route = route_at(_speed(boat))
        if route is None:
            return math.inf
        km = from_origin(_at(boat)) * (1 - BOUND_SLACK)
        fetch = 0.0 if km < AT_PATIENT_KM else params.boat_launch_minutes + km_to_nmi(km) / _speed(boat) * 60
        return fetch + _minutes_of(route.total)

    def exact(boat: Resource) -> tuple[SortKey, Prediction] | None:
        route = route_at(_speed(boat))
        if route is None:
            return None
        departs_at = _picked_up_at(boat, None, origin, now, params)
        prediction = Prediction(
            made_at=now, arrival_at=departs_at + route.total, boat=boat, assigned=False, patient_at=origin,
            departs_at=departs_at, aboard=False, facility=facility, route=route,
        )
        return (_minutes_of(departs_at - now + route.total), 0.0, boat.id), prediction

    return _smallest(boats, bound, exact, limit)


@dataclass(frozen=True, kw_only=True)
class _FacilityArrival:
    facility: Place
    arrival_at: datetime


def _nearer_facility(prediction: Prediction, places: Places, params: EtaSettings) -> _FacilityArrival | None:
    speed = _speed(prediction.boat) if prediction.boat is not None else 1.0  # road only: speed unused
    options = recommend_facilities(
        prediction.patient_at, places, speed, params,
        min_level_of_care=ADVICE_MIN_LEVEL_OF_CARE, exclude=[prediction.facility.id], limit=1,
    )
    for option in options:
        arrival_at = _arrival(prediction.made_at, prediction.departs_at, option.route, prediction.aboard)
        if arrival_at < prediction.arrival_at:
            return _FacilityArrival(facility=option.facility, arrival_at=arrival_at)
    return None


# --- helpers ----------------------------------------------------------------------------------------------


def _smallest(
    items: Iterable[T],
    bound: Callable[[T], float],
    exact: Callable[[T], tuple[SortKey, R] | None],
    limit: int,
) -> list[R]:
    """The `limit` results with the smallest exact keys, best first.

    `bound(item)` must never exceed the first element of its exact key; `exact` then runs only while an
    item's bound could still beat (or tie) the limit-th key found so far, and may return None to drop it.
    """
    kept: list[tuple[SortKey, R]] = []
    for low, item in sorted(((bound(item), item) for item in items), key=lambda pair: pair[0]):
        if low == math.inf or (len(kept) >= limit and low > kept[limit - 1][0][0]):
            break
        found = exact(item)
        if found is not None:
            insort(kept, found, key=lambda pair: pair[0])
    return [result for _, result in kept[:limit]]


def geodesic_km(a: HasLatLon, b: HasLatLon) -> float:
    """The WGS84 geodesic distance of places.distance_km, from geographiclib directly: geopy computes it with
    the same Karney algorithm but spends as long again parsing its points."""
    return float(_WGS84.Inverse(a.lat, a.lon, b.lat, b.lon, Geodesic.DISTANCE)["s12"]) / 1000


class _Haversine:
    """Great-circle kilometres from one point, its trigonometry worked out once for many calls."""

    def __init__(self, origin: HasLatLon) -> None:
        self.lat = math.radians(origin.lat)
        self.lon = origin.lon
        self.cos_lat = math.cos(self.lat)

    def __call__(self, point: HasLatLon) -> float:
        lat = math.radians(point.lat)
        h = math.sin((lat - self.lat) / 2) ** 2 + self.cos_lat * math.cos(lat) * math.sin(
            math.radians(point.lon - self.lon) / 2
        ) ** 2
        return 2 * EARTH_MEAN_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _sea_minutes_at_least(haversine_km: float, speed_knots: float) -> float:
    return km_to_nmi(haversine_km * (1 - BOUND_SLACK)) / speed_knots * 60


def _at(resource: Resource) -> Position:
    assert resource.position is not None, "only resources with a position are ranked"
    return resource.position


def _speed(boat: Resource) -> float:
    assert boat.speed_knots is not None and usable_speed(boat.speed_knots), "only boats with a usable speed"
    return boat.speed_knots


def _is_boat(resource: Resource) -> bool:
    return resource.kind == "boat" and usable_speed(resource.speed_knots)


def _boat_eta(boat: Resource, arrival_at: datetime) -> str:
    return f"{boat.name} ({boat.speed_knots or 0:g} kn) ETA {_clock(arrival_at)}"


def _minutes_of(duration: timedelta) -> float:
    return duration.total_seconds() / 60


def _clock(moment: datetime) -> str:
    # The command centre reads Thai time (UTC+7, no daylight saving); the event keeps the UTC instant too.
    return f"{moment.astimezone(BANGKOK):%H:%M} ICT"
