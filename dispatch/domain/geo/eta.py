"""Boat and referral ETAs: pure arithmetic over geodesic distances, boat speeds and fixed transfer times.

ETA = launch delay + straight-line distance / speed + landing and transfer time (+ road leg to the door).
Straight lines are shorter than sailing routes, so these are lower bounds; the prediction of a breach
should err early, which is why the demo fleet uses the low end of the reference's planning speeds.
Nothing here reads settings or the environment: the caller passes the timings in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Protocol

import msgspec

from dispatch.domain.geo.places import HasLatLon, Landing, Place, Places, distance_km, load_places

KM_PER_NMI: Final[float] = 1.852  # international nautical mile, exact
MINUTES_PER_HOUR: Final[float] = 60.0
# The speeds a boat of this service can have: a longtail makes about 6 kn, the fastest ambulance RIB about 40.
# The API registers no other; a speed outside them in the log (an import, a typo before the bound) makes the
# boat unusable for ETAs, never a crash: 1e-300 kn would be a transit longer than any time can hold.
BOAT_SPEED_KNOTS_MIN: Final[float] = 1.0
BOAT_SPEED_KNOTS_MAX: Final[float] = 60.0


class NoSeaRoute(ValueError):
    """No landing of the facility serves the origin, and the origin is not on the facility's landmass."""


class NotAFacility(ValueError):
    """A referral destination must be a hospital or health unit."""


# --- units ------------------------------------------------------------------------------------------


def knots_to_kmh(knots: float) -> float:
    return knots * KM_PER_NMI


def kmh_to_knots(kmh: float) -> float:
    return kmh / KM_PER_NMI


def km_to_nmi(km: float) -> float:
    return km / KM_PER_NMI


def nmi_to_km(nmi: float) -> float:
    return nmi * KM_PER_NMI


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


def usable_speed(speed_knots: float | None) -> bool:
    """Whether a boat at this speed can be planned with (within BOAT_SPEED_KNOTS_MIN..MAX)."""
    return speed_knots is not None and BOAT_SPEED_KNOTS_MIN <= speed_knots <= BOAT_SPEED_KNOTS_MAX


# --- legs -------------------------------------------------------------------------------------------


def sea_leg_minutes(distance_km: float, speed_knots: float) -> float:
    """Minutes in transit over `distance_km` at `speed_knots` (no launch or landing)."""
    _require_speed(speed_knots, "speed_knots")
    _require_distance(distance_km)
    return km_to_nmi(distance_km) / speed_knots * MINUTES_PER_HOUR


def sea_leg(distance_km: float, speed_knots: float) -> timedelta:
    return minutes(sea_leg_minutes(distance_km, speed_knots))


def road_leg_minutes(distance_km: float, road_speed_kmh: float, road_detour_factor: float) -> float:
    """Minutes by road for a straight-line distance, stretched by a detour factor (roads are not straight)."""
    _require_speed(road_speed_kmh, "road_speed_kmh")
    _require_distance(distance_km)
    if road_detour_factor < 1.0:
        raise ValueError(
            f"road_detour_factor must be at least 1 (a road is never shorter), got {road_detour_factor}"
        )
    return distance_km * road_detour_factor / road_speed_kmh * MINUTES_PER_HOUR


def boat_eta(
    origin: HasLatLon,
    destination: HasLatLon,
    speed_knots: float,
    launch_minutes: float,
    landing_minutes: float,
) -> timedelta:
    """Dispatch/launch delay + straight-line transit at `speed_knots` + landing/transfer time."""
    _require_non_negative(launch_minutes, "launch_minutes")
    _require_non_negative(landing_minutes, "landing_minutes")
    transit = sea_leg_minutes(distance_km(origin, destination), speed_knots)
    return minutes(launch_minutes + transit + landing_minutes)


# --- referrals --------------------------------------------------------------------------------------


class EtaSettings(Protocol):
    """The timings a referral ETA needs; the Settings object provides them under these names."""

    @property
    def boat_launch_minutes(self) -> float: ...

    @property
    def boat_landing_minutes(self) -> float: ...

    @property
    def road_speed_kmh(self) -> float: ...

    @property
    def road_detour_factor(self) -> float: ...


@dataclass(frozen=True, slots=True)
class EtaParams:
    """A plain EtaSettings, for tests and for callers that override one timing (dataclasses.replace)."""

    boat_launch_minutes: float
    boat_landing_minutes: float
    road_speed_kmh: float
    road_detour_factor: float


# Planning assumptions, NOT sourced (the reference found no launch, transfer or ambulance road speeds).
# Settings should use these as its defaults so there is one set of numbers.
PLANNING_DEFAULTS: Final[EtaParams] = EtaParams(
    boat_launch_minutes=10.0,  # crew to boat, engines, casting off
    boat_landing_minutes=10.0,  # berthing and moving the patient from boat to ambulance
    road_speed_kmh=60.0,  # over the stretched distance; gives ~105 min Takua Pa-Phuket (reported ~90)
    road_detour_factor=1.25,  # road km per straight-line km
)


class ReferralRoute(msgspec.Struct, frozen=True, kw_only=True):
    """One way to the facility's door, leg by leg; `via_id` is the landing used (None: road only)."""

    facility_id: str
    via_id: str | None
    sea_km: float
    road_km: float | None
    launch: timedelta
    sea: timedelta
    landing: timedelta
    road: timedelta
    road_assumed: bool

    @property
    def total(self) -> timedelta:
        return self.launch + self.sea + self.landing + self.road

    @property
    def road_only(self) -> bool:
        return self.via_id is None


def referral_route(
    origin: HasLatLon,
    facility: Place,
    speed_knots: float,
    params: EtaSettings,
    *,
    places: Places | None = None,
) -> ReferralRoute:
    """The fastest modelled way from `origin` to `facility`: road only on the same landmass, else boat to a
    landing that serves the origin's zone + landing time + that landing's road minutes.

    Pass a Place as origin when known: its stored landmass and zone are exact. Raises NoSeaRoute when no
    landing serves the origin, NotAFacility when the destination is not a hospital or health unit."""
    if not facility.is_facility:
        raise NotAFacility(f"{facility.id!r} is a {facility.kind}, not a hospital or health unit")
    known = places or load_places()
    origin_landmass = origin.landmass if isinstance(origin, Place) else known.landmass_of(origin)
    if origin_landmass is not None and origin_landmass == facility.landmass:
        return _by_road(origin, facility, params)
    origin_zone = origin.zone if isinstance(origin, Place) else known.zone_of(origin)
    landings = [landing for landing in facility.landings if origin_zone in landing.from_zones]
    if not landings:
        why = facility.landing_note or f"none of its landings is a sea approach from zone {origin_zone}"
        raise NoSeaRoute(f"no sea route to {facility.id!r}: {why}")
    routes = [_by_sea(origin, facility, landing, known, speed_knots, params) for landing in landings]
    return min(routes, key=lambda route: route.total)


def referral_eta(
    origin: HasLatLon,
    facility: Place,
    speed_knots: float,
    params: EtaSettings,
    *,
    places: Places | None = None,
) -> timedelta:
    """Door-to-door time to the facility by the fastest modelled route (see referral_route)."""
    return referral_route(origin, facility, speed_knots, params, places=places).total


def _by_road(origin: HasLatLon, facility: Place, params: EtaSettings) -> ReferralRoute:
    road_km = distance_km(origin, facility)
    road = road_leg_minutes(road_km, params.road_speed_kmh, params.road_detour_factor)
    return ReferralRoute(
        facility_id=facility.id,
        via_id=None,
        sea_km=0.0,
        road_km=road_km,
        launch=timedelta(0),
        sea=timedelta(0),
        landing=timedelta(0),
        road=minutes(road),
        road_assumed=True,
    )


def _by_sea(
    origin: HasLatLon,
    facility: Place,
    landing: Landing,
    places: Places,
    speed_knots: float,
    params: EtaSettings,
) -> ReferralRoute:
    _require_non_negative(params.boat_launch_minutes, "boat_launch_minutes")
    _require_non_negative(params.boat_landing_minutes, "boat_landing_minutes")
    sea_km = distance_km(origin, places.get(landing.via_id))
    return ReferralRoute(
        facility_id=facility.id,
        via_id=landing.via_id,
        sea_km=sea_km,
        road_km=None,
        launch=minutes(params.boat_launch_minutes),
        sea=sea_leg(sea_km, speed_knots),
        landing=minutes(params.boat_landing_minutes),
        road=minutes(landing.road_minutes),
        road_assumed=landing.assumption,
    )


def _require_speed(speed: float, name: str) -> None:
    if not speed > 0:
        raise ValueError(f"{name} must be positive, got {speed}")


def _require_distance(distance: float) -> None:
    _require_non_negative(distance, "distance_km")


def _require_non_negative(value: float, name: str) -> None:
    if not value >= 0:
        raise ValueError(f"{name} must be zero or more, got {value}")
