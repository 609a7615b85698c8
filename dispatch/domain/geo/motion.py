"""Moving positions: distances between fixes, dead reckoning from a course and speed, and staleness.

Pure arithmetic on a sphere (the haversine of the mean Earth radius): fixes a few hundred metres to a few
kilometres apart, where its 0.5% error is metres, and it costs a fraction of a geodesic, which matters to a feed
that compares every fix it hears.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Final, Protocol, TypeVar

from dispatch.domain.catalogue import Position
from dispatch.domain.geo.eta import KM_PER_NMI

EARTH_MEAN_RADIUS_M: Final[float] = 6_371_008.8
METRES_PER_NMI: Final[float] = KM_PER_NMI * 1000
# The position sources that keep reporting by themselves, whose silence therefore means something.
TRACKERS: Final[frozenset[str]] = frozenset({"ais", "crew_phone"})
# Below this a boat is drifting or moored: its reported course means nothing, so it is not reckoned forward.
UNDER_WAY_KNOTS: Final[float] = 0.5


class Fix(Protocol):
    """What dead reckoning needs of a resource."""

    @property
    def position(self) -> Position | None: ...

    @property
    def position_at(self) -> datetime | None: ...

    @property
    def course_deg(self) -> float | None: ...

    @property
    def sog_knots(self) -> float | None: ...


F = TypeVar("F", bound=Fix)


def metres_between(a: Position, b: Position) -> float:
    lat_a, lat_b = math.radians(a.lat), math.radians(b.lat)
    h = math.sin((lat_b - lat_a) / 2) ** 2 + math.cos(lat_a) * math.cos(lat_b) * math.sin(
        math.radians(b.lon - a.lon) / 2) ** 2
    return 2 * EARTH_MEAN_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def knots_between(a: Position, a_at: datetime, b: Position, b_at: datetime, *, floor_s: float = 1.0) -> float:
    """The speed implied by two fixes; the time between them counts as at least `floor_s` (fixes heard in the same
    second, or out of order, would otherwise imply any speed at all)."""
    seconds = max(abs((b_at - a_at).total_seconds()), floor_s)
    return metres_between(a, b) / METRES_PER_NMI / (seconds / 3600)


def moved(position: Position, course_deg: float, distance_m: float) -> Position:
    """The point `distance_m` from `position` along the great circle leaving it at `course_deg` (true)."""
    lat, lon = math.radians(position.lat), math.radians(position.lon)
    course, angle = math.radians(course_deg), distance_m / EARTH_MEAN_RADIUS_M
    lat2 = math.asin(math.sin(lat) * math.cos(angle) + math.cos(lat) * math.sin(angle) * math.cos(course))
    lon2 = lon + math.atan2(math.sin(course) * math.sin(angle) * math.cos(lat),
                            math.cos(angle) - math.sin(lat) * math.sin(lat2))
    return Position(lat=math.degrees(lat2), lon=(math.degrees(lon2) + 540) % 360 - 180)


def dead_reckoned(fix: F, now: datetime, max_window: timedelta) -> F:
    """`fix` carried forward from its last position along its course at its speed until `now`, for at most
    `max_window` (a boat unheard for long may have turned or stopped: beyond the window the estimate would be
    fiction). Its position time moves to the reckoned moment, so an ETA from it counts the transit once. A fix
    without a course and a speed, or not under way, is returned as it is."""
    if (fix.position is None or fix.position_at is None or fix.course_deg is None or fix.sog_knots is None
            or fix.sog_knots < UNDER_WAY_KNOTS or now <= fix.position_at):
        return fix
    window = min(now - fix.position_at, max_window)
    distance_m = fix.sog_knots * METRES_PER_NMI * window.total_seconds() / 3600
    return replace(fix, position=moved(fix.position, fix.course_deg, distance_m),  # type: ignore[type-var]
                   position_at=fix.position_at + window)


def all_reckoned(fixes: Iterable[F], now: datetime, max_window: timedelta) -> list[F]:
    """Every fix dead reckoned to `now`: what the recommendations and the referral predictions both rank."""
    return [dead_reckoned(fix, now, max_window) for fix in fixes]


def is_stale(position_at: datetime | None, tracked: bool, now: datetime, stale_after: timedelta) -> bool:
    """A tracked position (a transponder's or a crew phone's) that has not been renewed for `stale_after`: the
    tracker went quiet, so where the resource is now is a guess. An operator's position is a statement that
    holds until changed (an AED at a hotel does not move), so it never goes stale."""
    return tracked and position_at is not None and now - position_at > stale_after
