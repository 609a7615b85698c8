"""`dispatch ais`: NMEA lines in; the live picture in Redis, the fleet's meaningful moves and beacons' incidents out.

Listener threads (listeners.py) put each line on a bounded queue with the time it arrived. One thread decodes
them in order (sentences.py), writes every vessel to the picture (picture.py) in pipelined batches, and asks of
each fix of a fleet boat whether it is worth an event (decisions/tracking.py) and of each beacon whether it is a
new activation. The commands that follow go to a second thread, which appends them through the same `handle`
as the API (several at once in one transaction), so a slow database never holds up decoding. What cannot be
used is counted by reason and skipped: no input stops the feed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from dispatch.adapters.ais.picture import PictureWriter
from dispatch.adapters.ais.sentences import Assembler, Decoded, Rejected, SafetyText, VesselFix, VesselStatic
from dispatch.adapters.read_models import RESOURCES
from dispatch.app.ais_metrics import AisMetrics
from dispatch.app.handle import handle_many
from dispatch.app.services import Services
from dispatch.domain.catalogue import Position
from dispatch.domain.commands import Actor, Command, ReportBeacon, ReportResourcePosition
from dispatch.domain.decisions.beacon import beacon_kind
from dispatch.domain.decisions.tracking import worth_recording
from dispatch.domain.geo.motion import knots_between
from dispatch.domain.vocabulary import BeaconKind

log = logging.getLogger("dispatch.ais")

# Who the log names as the author of what the feed appends.
AIS_ACTOR: Final[Actor] = Actor(id="ais", role="system")
# Lines waiting to be decoded; a receiver that sends faster than the feed decodes loses the excess (counted),
# never the feed its memory.
QUEUE_LINES: Final[int] = 50_000
# How many lines the decoding thread takes at a time, and how long it waits for the first.
BATCH_LINES: Final[int] = 500
WAIT_SECONDS: Final[float] = 0.05
# The fleet's MMSIs are read again this often (a boat given a transponder starts to follow it within this).
FLEET_REFRESH_SECONDS: Final[float] = 5.0
# Quiet vessels leave the geo index this often; the feed's status record is renewed this often.
PRUNE_SECONDS: Final[float] = 30.0
# The picture is written this often (each vessel's newest fix): vessels of opportunity need no finer detail.
PICTURE_SECONDS: Final[float] = 1.0
STATUS_SECONDS: Final[float] = 5.0
# A vessel whose fixes were refused as impossible jumps this many times running has really moved (the refused
# fix before was the outlier, or the vessel was unheard while it moved): its new position is taken.
JUMPS_BEFORE_ACCEPTING: Final[int] = 3
# AIS-SART test mode (IEC 61097-14): navigational status 15; active mode sends 14.
BEACON_TEST_STATUS: Final[int] = 15
# The same reason is logged at most this often, with how many were skipped since.
LOG_EVERY_SECONDS: Final[float] = 10.0


@dataclass
class _FleetBoat:
    resource_id: str
    last: Position | None
    last_at: datetime | None
    last_sog: float | None
    last_source: str | None


@dataclass
class _Track:
    position: Position
    at: datetime
    refused: int = 0


class RateLimitedLog:
    """Logs a reason at most once per LOG_EVERY_SECONDS, saying how many it held back."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.last: dict[str, float] = {}
        self.held: dict[str, int] = {}

    def warning(self, reason: str, message: str) -> None:
        now = self.clock()
        if now - self.last.get(reason, -LOG_EVERY_SECONDS) < LOG_EVERY_SECONDS:
            self.held[reason] = self.held.get(reason, 0) + 1
            return
        self.last[reason] = now
        held = self.held.pop(reason, 0)
        log.warning("ais input skipped", extra={"reason": reason, "detail": message[:200], "held_back": held})


class Feed:
    """The decoding side of `dispatch ais`; `put` is safe from any thread, `run` is the decoding thread."""

    def __init__(self, services: Services, metrics: AisMetrics, *, hostname: str = "") -> None:
        settings = services.settings
        assert services.redis is not None, "the live picture lives in Redis"
        self.services = services
        self.redis: Redis = services.redis
        self.metrics = metrics
        self.hostname = hostname
        self.lines: queue.Queue[tuple[float, bytes]] = queue.Queue(maxsize=QUEUE_LINES)
        self.assembler = Assembler()
        self.picture = PictureWriter(self.redis, settings.ais_redis_prefix, settings.ais_vessel_ttl_minutes * 60)
        self.throttle = settings.position_throttle
        self.max_knots = settings.ais_max_plausible_knots
        self.beacons = BeaconWatch(self.redis, settings.ais_redis_prefix,
                                   timedelta(minutes=settings.ais_beacon_dedup_minutes))
        self.appender = Appender(services, metrics, self.beacons)
        self.fleet: dict[str, _FleetBoat] = {}
        self.claimed_twice: set[str] = set()
        self.tracks: dict[str, _Track] = {}
        self.names: dict[str, str] = {}
        self.skipped = RateLimitedLog()
        self._timers = {"fleet": 0.0, "prune": 0.0, "status": 0.0, "picture": 0.0}

    def put(self, line: bytes) -> None:
        """A line from a receiver (any thread); dropped and counted when the feed is that far behind."""
        try:
            self.lines.put_nowait((time.monotonic(), line))
        except queue.Full:
            self.metrics.rejected.labels("overload").inc()

    def run(self, stop: threading.Event) -> None:
        """Decode until `stop`; the appender runs beside it on a thread of its own."""
        appending = threading.Thread(target=self.appender.run, args=(stop,), name="ais-appender", daemon=True)
        appending.start()
        try:
            while not stop.is_set():
                self.step()
        finally:
            self._flush_picture()
            appending.join(timeout=10)

    def step(self) -> int:
        """Decode what has arrived (waiting a moment for the first line), then the periodic chores; returns how
        many lines it took."""
        batch = self._take()
        now = self.services.clock.now()
        for received, line in batch:
            self.process(line, received, now)
        self._chores()
        return len(batch)

    def process(self, line: bytes, received: float, now: datetime) -> None:
        try:
            decoded = self.assembler.feed(line, received)
        except Rejected as exc:
            self._reject(exc.reason, line.decode("ascii", "replace"))
            return
        # Unused: the first fragments of a message, and the types the picture does not need (base stations...).
        self.metrics.sentences.labels("used" if decoded else "unused").inc()
        for item in decoded:
            self._use(item, now)

    # --- one decoded message ---------------------------------------------------------------------------

    def _use(self, item: Decoded, now: datetime) -> None:
        match item:
            case VesselFix():
                if not self._plausible(item, now):
                    self._reject("impossible_jump", f"{item.mmsi} moved faster than {self.max_knots:g} kn")
                    return
                self.picture.fix(item, now.timestamp())
                if (kind := beacon_kind(item.mmsi)) is not None:
                    self._beacon(item, kind, now)
                elif item.mmsi in self.fleet or item.mmsi in self.claimed_twice:
                    self._fleet_fix(item, now)
            case VesselStatic():
                self.picture.static(item)
                if item.name:
                    self.names[item.mmsi] = item.name
            case SafetyText():
                pass  # the beacon's position reports carry all the feed needs; the text is for the receiver's log

    def _plausible(self, fix: VesselFix, now: datetime) -> bool:
        """False for a fix implying more than the plausible speed since the vessel's last accepted one."""
        track = self.tracks.get(fix.mmsi)
        if track is not None and track.refused < JUMPS_BEFORE_ACCEPTING and knots_between(
                track.position, track.at, fix.position, now) > self.max_knots:
            track.refused += 1
            return False
        self.tracks[fix.mmsi] = _Track(fix.position, now)
        return True

    def _fleet_fix(self, fix: VesselFix, now: datetime) -> None:
        if fix.mmsi in self.claimed_twice:
            self._reject("mmsi_conflict", f"{fix.mmsi} is claimed by more than one resource")
            return
        boat = self.fleet[fix.mmsi]
        if not worth_recording(boat.last, boat.last_at, boat.last_sog, boat.last_source, fix.position, now,
                               fix.sog_knots, self.throttle):
            return
        boat.last, boat.last_at, boat.last_sog, boat.last_source = fix.position, now, fix.sog_knots, "ais"
        self.appender.submit(ReportResourcePosition(
            actor=AIS_ACTOR, at=now, resource_id=boat.resource_id, position=fix.position, source="ais",
            course_deg=fix.course_deg, sog_knots=fix.sog_knots, throttle=self.throttle))

    def _beacon(self, fix: VesselFix, kind: BeaconKind, now: datetime) -> None:
        if fix.nav_status == BEACON_TEST_STATUS:
            self.metrics.beacons.labels("test").inc()
            return
        incident_id = self.beacons.activation(fix.mmsi, now)
        if incident_id is None:
            self.metrics.beacons.labels("repeat").inc()
            return
        self.metrics.beacons.labels("opened").inc()
        log.warning("distress beacon heard", extra={"mmsi": fix.mmsi, "beacon": kind, "incident": incident_id})
        self.appender.submit(ReportBeacon(
            actor=AIS_ACTOR, at=now, incident_id=incident_id, command_id=f"ais:beacon-{incident_id}",
            mmsi=fix.mmsi, beacon=kind, position=fix.position,
            zone=self.services.places.zone_of(fix.position), vessel_name=self.names.get(fix.mmsi, "")))

    def _reject(self, reason: str, detail: str) -> None:
        self.metrics.rejected.labels(reason).inc()
        self.skipped.warning(reason, detail)

    # --- housekeeping ----------------------------------------------------------------------------------

    def _take(self) -> list[tuple[float, bytes]]:
        try:
            batch = [self.lines.get(timeout=WAIT_SECONDS)]
        except queue.Empty:
            return []
        while len(batch) < BATCH_LINES:
            try:
                batch.append(self.lines.get_nowait())
            except queue.Empty:
                break
        return batch

    def _flush_picture(self) -> None:
        try:
            self.picture.flush()
        except RedisError as exc:  # the picture misses a moment; the next fixes renew it
            self._reject("redis_unavailable", str(exc))

    def _chores(self) -> None:
        now = time.monotonic()
        for _ in range(self.assembler.expire(now)):
            self._reject("multipart_incomplete", "a multi-sentence message never completed")
        if now - self._timers["fleet"] >= FLEET_REFRESH_SECONDS:
            self._timers["fleet"] = now
            self.refresh_fleet()
        if now - self._timers["prune"] >= PRUNE_SECONDS:
            self._timers["prune"] = now
            self._forget_quiet()
        if now - self._timers["picture"] >= PICTURE_SECONDS:
            self._timers["picture"] = now
            self._flush_picture()
        if now - self._timers["status"] >= STATUS_SECONDS:
            self._timers["status"] = now
            self._report_status()

    def refresh_fleet(self) -> None:
        """Read which resources follow which MMSI, and their last recorded fix, from the fleet view."""
        table = RESOURCES
        try:
            with self.services.store.engine.connect() as db:
                rows = db.execute(select(table.c.resource_id, table.c.mmsi, table.c.lat, table.c.lon,
                                         table.c.position_at, table.c.sog_knots,
                                         table.c.position_source).where(table.c.mmsi.is_not(None)))
                found = list(rows)
        except SQLAlchemyError as exc:
            self._reject("database_unavailable", str(exc))
            return
        claims: dict[str, list[str]] = {}
        for row in found:
            claims.setdefault(row.mmsi, []).append(row.resource_id)
        self.claimed_twice = {mmsi for mmsi, ids in claims.items() if len(ids) > 1}
        fleet: dict[str, _FleetBoat] = {}
        for row in found:
            if row.mmsi in self.claimed_twice:
                continue
            known = self.fleet.get(row.mmsi)
            recorded = Position(lat=row.lat, lon=row.lon) if row.lat is not None else None
            if known is not None and known.resource_id == row.resource_id and known.last_at is not None and (
                    row.position_at is None or known.last_at >= row.position_at):
                fleet[row.mmsi] = known  # the feed's own latest is not projected yet
            else:
                fleet[row.mmsi] = _FleetBoat(row.resource_id, recorded, row.position_at, row.sog_knots,
                                             row.position_source)
        self.fleet = fleet

    def _forget_quiet(self) -> None:
        cutoff = self.services.clock.now() - timedelta(seconds=self.picture.ttl)
        self.tracks = {mmsi: track for mmsi, track in self.tracks.items() if track.at >= cutoff}
        try:
            self.picture.prune(time.time())
        except RedisError as exc:
            self._reject("redis_unavailable", str(exc))

    def _report_status(self) -> None:
        status = {"host": self.hostname, "at": datetime.now(UTC).isoformat(), "vessels": len(self.tracks),
                  "fleet": len(self.fleet), "queued": self.lines.qsize()}
        try:
            self.redis.set(status_key(self.services.settings.ais_redis_prefix),
                           json.dumps(status), ex=int(STATUS_SECONDS * 4))
        except RedisError as exc:
            self._reject("redis_unavailable", str(exc))


def status_key(prefix: str) -> str:
    """Where the feed says it is alive (renewed every STATUS_SECONDS; `dispatch health ais` reads it)."""
    return f"{prefix}:status"


class BeaconWatch:
    """Whether a beacon's transmission is a new activation, or the same one heard again within the window.

    The window slides: a SART transmits every minute for days, and each transmission renews it, so one activation
    is one incident however long it lasts. Kept in memory and in Redis (`{prefix}:beacon:{mmsi}`, expiring with
    the window), so a restarted feed does not open a second incident for a beacon still transmitting.
    """

    def __init__(self, redis: Redis, prefix: str, window: timedelta) -> None:
        self.redis = redis
        self.prefix = prefix
        self.window = window
        self.heard: dict[str, tuple[str, datetime]] = {}

    def activation(self, mmsi: str, now: datetime) -> str | None:
        """The incident id of a new activation, or None when this one is already known."""
        known = self.heard.get(mmsi)
        if known is not None and now - known[1] <= self.window:
            self.heard[mmsi] = (known[0], now)
            self._renew(mmsi)
            return None
        incident_id = hashlib.sha1(f"ais-beacon:{mmsi}:{now.isoformat()}".encode()).hexdigest()[:12]
        try:
            if not self.redis.set(self._key(mmsi), incident_id, nx=True, ex=self._seconds()):
                self.heard[mmsi] = (_text(self.redis.get(self._key(mmsi)) or incident_id), now)
                self._renew(mmsi)
                return None
        except RedisError:
            pass  # memory alone: a feed restart during an outage could open a second incident, never none
        self.heard[mmsi] = (incident_id, now)
        return incident_id

    def forget(self, mmsi: str) -> None:
        """The incident could not be appended: the next transmission tries again."""
        self.heard.pop(mmsi, None)
        with suppress(RedisError):
            self.redis.delete(self._key(mmsi))

    def _renew(self, mmsi: str) -> None:
        with suppress(RedisError):  # the memory still holds the window
            self.redis.expire(self._key(mmsi), self._seconds())

    def _key(self, mmsi: str) -> str:
        return f"{self.prefix}:beacon:{mmsi}"

    def _seconds(self) -> int:
        return max(1, int(self.window.total_seconds()))


class Appender:
    """Appends the feed's commands on a thread of its own, all that queued while it was busy in one transaction."""

    def __init__(self, services: Services, metrics: AisMetrics, beacons: BeaconWatch) -> None:
        self.services = services
        self.metrics = metrics
        self.beacons = beacons
        self.commands: queue.Queue[Command] = queue.Queue(maxsize=10_000)
        self.failed = RateLimitedLog()

    def submit(self, command: Command) -> None:
        try:
            self.commands.put_nowait(command)
        except queue.Full:
            self.metrics.appends.labels("dropped").inc()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set() or not self.commands.empty():
            try:
                batch = [self.commands.get(timeout=WAIT_SECONDS * 4)]
            except queue.Empty:
                continue
            while len(batch) < BATCH_LINES:
                try:
                    batch.append(self.commands.get_nowait())
                except queue.Empty:
                    break
            self.append(batch)

    def append(self, batch: list[Command]) -> None:
        for command, answer in zip(batch, handle_many(batch, self.services), strict=True):
            if not isinstance(answer, Exception):
                self.metrics.appends.labels("recorded" if answer.events else "unchanged").inc()
                continue
            self.metrics.appends.labels("failed").inc()
            self.failed.warning(type(answer).__name__, str(answer))
            if isinstance(command, ReportBeacon):
                self.beacons.forget(command.mmsi)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
