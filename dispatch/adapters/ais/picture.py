"""The live sea picture: every vessel heard on AIS, in Redis with an expiry, never in the event log.

Per vessel a hash `{prefix}:vessel:{mmsi}` (position, speed, course, name, when last heard) that expires
`ais_vessel_ttl_minutes` after it was last heard; beside it a geo set `{prefix}:geo` to find vessels near a point
and a sorted set `{prefix}:heard` (MMSI by time last heard) to drop those that went quiet from the geo set, which
cannot expire members by itself. The feed writes through `PictureWriter` in pipelined batches; the API reads
with `vessels_near`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from redis import Redis

from dispatch.adapters.ais.sentences import VesselFix, VesselStatic
from dispatch.domain.catalogue import Position
from dispatch.domain.decisions.beacon import beacon_kind
from dispatch.domain.geo.motion import METRES_PER_NMI, UNDER_WAY_KNOTS, metres_between


def keys(prefix: str) -> tuple[str, str]:
    """The geo set and the heard-at sorted set."""
    return f"{prefix}:geo", f"{prefix}:heard"


def vessel_key(prefix: str, mmsi: str) -> str:
    return f"{prefix}:vessel:{mmsi}"


class PictureWriter:
    """Holds the newest fix and static data of each vessel heard since the last flush, and writes them to Redis in one
    round trip per flush. A vessel reports up to every two seconds and a busy coast has hundreds: writing each fix as
    it came was most of the feed's CPU (bench/ais_feed.py), while the picture needs no more than a second's detail."""

    def __init__(self, redis: Redis, prefix: str, ttl_seconds: float) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = max(1, int(ttl_seconds))
        self.geo, self.heard = keys(prefix)
        self.fixes: dict[str, tuple[VesselFix, float]] = {}
        self.statics: dict[str, dict[str, Any]] = {}
        self.quiet: list[str] = []

    def fix(self, fix: VesselFix, heard_at: float) -> None:
        self.fixes[fix.mmsi] = (fix, heard_at)

    def static(self, static: VesselStatic) -> None:
        said = {name: value for name, value in (("name", static.name), ("callsign", static.callsign),
                                                ("ship_type", static.ship_type)) if value not in ("", None)}
        if said:
            self.statics.setdefault(static.mmsi, {}).update(said)

    def prune(self, now: float) -> None:
        """Forget, at the next flush, the vessels not heard within the expiry (their hashes have expired): the geo
        index cannot expire its members by itself."""
        found = self.redis.zrangebyscore(self.heard, "-inf", now - self.ttl)
        self.quiet = [_text(mmsi) for mmsi in found if isinstance(mmsi, str | bytes)]

    def flush(self) -> None:
        """Write what was held; on a Redis error it is dropped (the next fixes renew the picture)."""
        if not (self.fixes or self.statics or self.quiet):
            return
        fixes, statics, quiet = self.fixes, self.statics, self.quiet
        self.fixes, self.statics, self.quiet = {}, {}, []
        pipe = self.redis.pipeline(transaction=False)
        for mmsi, (fix, heard_at) in fixes.items():
            key = vessel_key(self.prefix, mmsi)
            row: dict[Any, Any] = {"mmsi": mmsi, "lat": fix.position.lat, "lon": fix.position.lon,
                                   "class": fix.ais_class, "heard_at": heard_at, "sog": _or_empty(fix.sog_knots),
                                   "cog": _or_empty(fix.course_deg), "heading": _or_empty(fix.heading_deg),
                                   "status": _or_empty(fix.nav_status)}
            row.update(statics.pop(mmsi, {}))
            pipe.hset(key, mapping=row)
            pipe.expire(key, self.ttl)
        for mmsi, said in statics.items():
            key = vessel_key(self.prefix, mmsi)
            named: dict[Any, Any] = {"mmsi": mmsi, **said}
            pipe.hset(key, mapping=named)
            pipe.expire(key, self.ttl)
        if fixes:
            members: list[float | str] = []
            for mmsi, (fix, _) in fixes.items():
                members += [fix.position.lon, fix.position.lat, mmsi]
            pipe.geoadd(self.geo, members)
            pipe.zadd(self.heard, {mmsi: heard_at for mmsi, (_, heard_at) in fixes.items()})
        if quiet:
            pipe.zrem(self.heard, *quiet)
            pipe.zrem(self.geo, *quiet)
        pipe.execute()


@dataclass(frozen=True, kw_only=True)
class NearbyVessel:
    mmsi: str
    name: str
    callsign: str
    ship_type: int | None
    position: Position
    distance_km: float
    sog_knots: float | None
    course_deg: float | None
    heard_seconds_ago: float
    # At its reported speed, straight there; None when it is not under way (it can still be called).
    eta_minutes: float | None


def vessels_near(redis: Redis, prefix: str, point: Position, *, radius_km: float, limit: int,
                 exclude: set[str], now: float | None = None) -> list[NearbyVessel]:
    """Vessels heard within `radius_km` of `point`, nearest first, leaving out `exclude` (the fleet) and distress
    beacons (a beacon is the emergency, not help for it)."""
    now = time.time() if now is None else now
    geo, _ = keys(prefix)
    # Ask for more than `limit`: some found are excluded, and some have expired since the last prune.
    found = redis.geosearch(geo, longitude=point.lon, latitude=point.lat, radius=radius_km, unit="km", sort="ASC",
                            count=limit * 3 + len(exclude))
    mmsis = [_text(mmsi) for mmsi in found if isinstance(mmsi, str | bytes)]
    wanted = [mmsi for mmsi in mmsis if mmsi not in exclude and beacon_kind(mmsi) is None]
    pipe = redis.pipeline(transaction=False)
    for mmsi in wanted:
        pipe.hgetall(vessel_key(prefix, mmsi))
    heard = [_vessel(row, point, now) for row in pipe.execute() if row]
    vessels = [vessel for vessel in heard if vessel is not None and vessel.distance_km <= radius_km]
    return sorted(vessels, key=lambda vessel: vessel.distance_km)[:limit]


def _vessel(raw: dict[bytes, bytes], point: Position, now: float) -> NearbyVessel | None:
    row = {_text(key): _text(value) for key, value in raw.items()}
    if "lat" not in row or "lon" not in row:
        return None  # static data heard, no position yet
    position = Position(lat=float(row["lat"]), lon=float(row["lon"]))
    distance_m = metres_between(point, position)
    sog = _float(row.get("sog"))
    eta = distance_m / METRES_PER_NMI / sog * 60 if sog is not None and sog >= UNDER_WAY_KNOTS else None
    return NearbyVessel(
        mmsi=row["mmsi"], name=row.get("name", ""), callsign=row.get("callsign", ""),
        ship_type=int(row["ship_type"]) if row.get("ship_type") else None, position=position,
        distance_km=distance_m / 1000, sog_knots=sog, course_deg=_float(row.get("cog")),
        heard_seconds_ago=max(0.0, now - float(row.get("heard_at") or now)), eta_minutes=eta,
    )


def _or_empty(value: float | int | None) -> float | int | str:
    return "" if value is None else value


def _float(value: str | None) -> float | None:
    if not value:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
