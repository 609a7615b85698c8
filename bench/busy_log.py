"""A realistic log for the rebuild benchmark: a season of incidents, written through `handle`.

The demo fleet plus extra boats, AEDs and teams are registered first; then about 25 incidents are open at
any time and advance one command at a time in random order, as a busy command centre interleaves them:
report, dispatch triage, dispatches, milestones, notes, some referrals (to Koh Yao's 80-minute guarantee
where the zone has it), scene triage, releases and a close. Every command goes through the same `handle`
the API uses, with its own command id, so the log holds the events, metadata and hash chain production
writes; only the streams `handle` reads come from memory (the builder is the only writer), which keeps a
100,000-event log to a few tens of seconds. A stepped clock moves 15 s per command, so times and
intervals look like a real shift.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, TypedDict, get_args

from sqlalchemy import Engine

from dispatch.adapters.eventlog.store import (
    Append,
    AppendResult,
    EarlierCommands,
    EventStore,
    ForwardingStore,
    StreamWrite,
)
from dispatch.app.handle import handle
from dispatch.app.services import Services, services_on
from dispatch.domain.catalogue import ReferralPolicy
from dispatch.domain.commands import (
    SYSTEM,
    Actor,
    AddNote,
    CloseIncident,
    Command,
    DispatchResource,
    RecordMilestone,
    RegisterResource,
    ReportIncident,
    RequestReferral,
    TriageIncident,
)
from dispatch.domain.envelope import EventMeta, StoredEvent
from dispatch.domain.errors import DispatchError
from dispatch.domain.geo.fleet import load_demo_fleet
from dispatch.domain.geo.places import Place
from dispatch.domain.vocabulary import Category, Milestone, Outcome, ResourceKind, Source, Triage
from dispatch.runtime.clock import FrozenClock
from dispatch.runtime.settings import Settings

START_AT: Final[datetime] = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
STEP: Final[timedelta] = timedelta(seconds=15)
OPEN_INCIDENTS: Final[int] = 25
OPERATOR: Final[Actor] = Actor(id="operator", role="operator")
SOURCE_OF_KIND: Final[dict[str, Source]] = {
    "beach": "beach", "island": "island", "dive_site": "boat", "pier": "boat", "park_station": "island",
    "town": "beach", "hospital": "clinic", "health_unit": "clinic",
}
TRIAGE_WEIGHTS: Final[dict[Triage, int]] = {"red": 2, "yellow": 4, "green": 5, "white": 2, "black": 1}
OUTCOMES: Final[tuple[Outcome, ...]] = ("treated_on_scene", "transferred", "false_alarm", "treated_on_scene")
NOTES: Final[tuple[str, ...]] = (
    "Patient conscious, breathing, cold; blanket and oxygen given.",
    "Boat delayed by swell at the reef, new ETA 15 minutes.",
    "Family informed; interpreter on the phone (Russian).",
    "AED attached, no shock advised, CPR continued by the beach volunteers.",
    "Dive buddy reports a rapid ascent from 28 m; suspected decompression sickness.",
)
EXTRA_RESOURCES: Final[dict[ResourceKind, int]] = {"boat": 20, "aed": 15, "team": 15}
CATEGORIES: Final[tuple[Category, ...]] = get_args(Category)
ON_SCENE: Final[tuple[Milestone, ...]] = ("en_route", "on_scene", "at_patient")
TO_HOSPITAL: Final[tuple[Milestone, ...]] = ("left_scene", "at_destination", "handed_over")


class Stamp(TypedDict):
    actor: Actor
    at: datetime
    command_id: str


@dataclass
class Fleet:
    """Which resources are free to dispatch, as the generator believes (the rules check it for real)."""

    available: list[str] = field(default_factory=list)

    def take(self, rng: random.Random) -> str | None:
        if not self.available:
            return None
        return self.available.pop(rng.randrange(len(self.available)))

    def give_back(self, resource_ids: list[str]) -> None:
        self.available.extend(resource_ids)


@dataclass
class World:
    services: Services
    rng: random.Random
    fleet: Fleet
    sites: list[Place]
    facilities: list[Place]

    def now(self) -> datetime:
        return self.services.clock.now()


class WriteThroughStore(ForwardingStore):
    """A store with every stream also kept in memory. The builder is the log's only writer, so `handle`'s
    reads of the streams it decides on can come from here; its appends, and its look-ups of earlier commands,
    still go to the database."""

    def __init__(self, inner: EventStore) -> None:
        super().__init__(inner)
        self.streams: dict[str, list[StoredEvent]] = defaultdict(list)

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]:
        return [stored for stored in self.streams.get(stream_id, ()) if stored.version > after_version]

    def read_batch(self, commands: Sequence[tuple[str, str]], stream_ids: Sequence[str]
                   ) -> tuple[EarlierCommands, dict[str, list[StoredEvent]]]:
        earlier = super().read_batch(commands, [])[0] if commands else {}
        return earlier, {stream_id: self.read_stream(stream_id) for stream_id in stream_ids}

    def append_many(self, writes: Sequence[StreamWrite], *, command_id: str | None = None,
                    meta: EventMeta | None = None, fingerprint: str = "") -> AppendResult:
        return self._kept(super().append_many(writes, command_id=command_id, meta=meta, fingerprint=fingerprint))

    def append_batch(self, appends: Sequence[Append]) -> list[AppendResult | DispatchError]:
        return [self._kept(answer) if isinstance(answer, AppendResult) else answer
                for answer in super().append_batch(appends)]

    def _kept(self, result: AppendResult) -> AppendResult:
        if not result.replayed:
            for stored in result.events:
                self.streams[stored.stream_id].append(stored)
        return result


def build(engine: Engine, events: int, seed: int = 1669, progress: Callable[[int], None] | None = None) -> int:
    """Append commands until the log in `engine` (migrated, empty) holds at least `events` events; returns its head."""
    clock = FrozenClock(START_AT)
    services = services_on(engine, Settings(), clock)
    services.store = WriteThroughStore(services.store)
    world = World(services=services, rng=random.Random(seed), fleet=Fleet(),
                  sites=[p for p in services.places if not p.is_facility],
                  facilities=list(services.places.facilities()))
    _register_fleet(world)
    scripts: list[Iterator[Command]] = []
    head = services.store.head()
    while head < events:
        while len(scripts) < OPEN_INCIDENTS:
            scripts.append(_incident(world))
        script = scripts[world.rng.randrange(len(scripts))]
        command = next(script, None)
        if command is None:
            scripts.remove(script)
            continue
        result = handle(command, services)
        head = result.last_position or head
        clock.advance(STEP)
        if progress is not None and head % 10_000 < len(result.events):
            progress(head)
    return head


def _register_fleet(world: World) -> None:
    commands = [
        RegisterResource(actor=SYSTEM, at=world.now(), command_id=f"fleet:{r.id}", resource_id=r.id, kind=r.kind,
                         name=r.name, subtype=r.subtype, speed_knots=r.speed_knots, position=r.position,
                         home_site_id=r.home_site_id, zone=world.services.places.zone_of(r.position))
        for r in load_demo_fleet()
    ]
    for kind, count in EXTRA_RESOURCES.items():
        for number in range(1, count + 1):
            home = world.rng.choice(world.sites)
            commands.append(RegisterResource(
                actor=SYSTEM, at=world.now(), command_id=f"fleet:bench-{kind}-{number}",
                resource_id=f"bench-{kind}-{number:02d}", kind=kind, name=f"Bench {kind} {number}",
                speed_knots=22.0 if kind == "boat" else None, position=home.position, home_site_id=home.id,
                zone=home.zone))
    for command in commands:
        handle(command, world.services)
        world.fleet.give_back([command.resource_id])


def _incident(world: World) -> Iterator[Command]:
    """One incident's commands, from report to close; resources are chosen when the dispatch comes."""
    rng = world.rng
    incident_id = f"{rng.getrandbits(48):012x}"
    site = rng.choice(world.sites)
    reporter = Actor(id=f"lifeguard-{rng.randrange(40):02d}", role="lifeguard")
    yield ReportIncident(
        **_stamp(world, reporter), incident_id=incident_id, source=SOURCE_OF_KIND.get(site.kind, "beach"),
        position=site.position, site_id=site.id, zone=site.zone, triage=_triage(rng), category=_category(rng),
        patients=rng.choice((1, 1, 1, 2, 3)), description=rng.choice(NOTES), language=rng.choice(("th", "en")))
    if rng.random() < 0.6:
        yield TriageIncident(**_stamp(world, OPERATOR), incident_id=incident_id, stage="dispatch",
                             code=_triage(rng))
    assigned = [rid for rid in (world.fleet.take(rng) for _ in range(1 + (rng.random() < 0.2))) if rid]
    for resource_id in assigned:
        yield DispatchResource(**_stamp(world, OPERATOR), incident_id=incident_id, resource_id=resource_id)
    yield from _response(world, incident_id, reporter, site, assigned)


def _response(world: World, incident_id: str, reporter: Actor, site: Place, assigned: list[str]) -> Iterator[Command]:
    rng = world.rng
    for milestone in ON_SCENE:
        for resource_id in assigned:
            yield RecordMilestone(**_stamp(world, OPERATOR), incident_id=incident_id, resource_id=resource_id,
                                  milestone=milestone)
    for _ in range(rng.randrange(1, 4)):
        yield AddNote(**_stamp(world, rng.choice((OPERATOR, reporter))), incident_id=incident_id,
                      text=rng.choice(NOTES))
    if assigned and rng.random() < 0.25:
        yield _referral(world, incident_id, site, assigned[0])
        for milestone in TO_HOSPITAL:
            yield RecordMilestone(**_stamp(world, OPERATOR), incident_id=incident_id, resource_id=assigned[0],
                                  milestone=milestone)
    if rng.random() < 0.4:
        yield TriageIncident(**_stamp(world, OPERATOR), incident_id=incident_id, stage="scene", code=_triage(rng))
    if assigned and rng.random() < 0.5:
        yield RecordMilestone(**_stamp(world, OPERATOR), incident_id=incident_id, resource_id=assigned[-1],
                              milestone="back_in_service")
    yield CloseIncident(**_stamp(world, OPERATOR), incident_id=incident_id, outcome=rng.choice(OUTCOMES),
                        summary=rng.choice(NOTES))
    world.fleet.give_back(assigned)


def _referral(world: World, incident_id: str, site: Place, resource_id: str) -> RequestReferral:
    setting = world.services.settings.zone_policies.get(site.zone)
    policy = ReferralPolicy(zone=site.zone, guarantee_minutes=setting.guarantee_minutes,
                            warning_minutes=setting.warning_minutes) if setting else None
    return RequestReferral(**_stamp(world, OPERATOR), incident_id=incident_id,
                           facility_id=world.rng.choice(world.facilities).id, resource_id=resource_id,
                           from_site_id=site.id, policy=policy)


def _stamp(world: World, actor: Actor) -> Stamp:
    return {"actor": actor, "at": world.now(), "command_id": f"{actor.id}:{world.rng.getrandbits(64):016x}"}


def _triage(rng: random.Random) -> Triage:
    return rng.choices(list(TRIAGE_WEIGHTS), weights=list(TRIAGE_WEIGHTS.values()))[0]


def _category(rng: random.Random) -> Category:
    return rng.choice(CATEGORIES)
