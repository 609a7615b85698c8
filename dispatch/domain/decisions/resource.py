"""A resource (boat, AED, team): its state folded from its stream, and the rules for changing it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from dispatch.domain.catalogue import (
    Event,
    Position,
    ResourceMmsiSet,
    ResourcePositionReported,
    ResourceRegistered,
    ResourceStatusChanged,
)
from dispatch.domain.commands import (
    ChangeResourceStatus,
    RegisterResource,
    ReportResourcePosition,
    ResourceCommand,
    SetResourceMmsi,
    UpdateResource,
)
from dispatch.domain.decisions import access
from dispatch.domain.decisions.beacon import beacon_kind
from dispatch.domain.decisions.tracking import worth_recording
from dispatch.domain.errors import (
    InvalidInput,
    InvalidStatusChange,
    NotCrewOfResource,
    NotPermitted,
    ResourceAlreadyExists,
    ResourceNotFound,
)
from dispatch.domain.geo.eta import BOAT_SPEED_KNOTS_MAX, BOAT_SPEED_KNOTS_MIN, usable_speed
from dispatch.domain.vocabulary import PositionSource, ResourceKind, ResourceStatus, Season, Zone

MMSI_DIGITS = 9


@dataclass(frozen=True, kw_only=True)
class Resource:
    id: str
    kind: ResourceKind
    name: str
    subtype: str
    speed_knots: float | None
    position: Position | None
    position_at: datetime | None
    home_site_id: str | None
    zone: Zone | None
    status: ResourceStatus
    status_since: datetime
    incident_id: str | None
    # When it serves (dispatch/domain/geo/seasons.py decides by the clock); its status says nothing of the season.
    season: Season = "all_year"
    # Its AIS transponder, and what the last recorded position says of itself (dispatch/domain/decisions/tracking.py).
    mmsi: str | None = None
    position_source: PositionSource | None = None
    course_deg: float | None = None
    sog_knots: float | None = None


def evolve(resource: Resource | None, event: Event) -> Resource | None:
    """The resource after `event`."""
    match event:
        case ResourceRegistered():
            return Resource(
                id=event.resource_id, kind=event.kind, name=event.name, subtype=event.subtype,
                speed_knots=event.speed_knots, position=event.position,
                position_at=event.at if event.position else None, home_site_id=event.home_site_id,
                zone=event.zone, status="available", status_since=event.at, incident_id=None, season=event.season,
                position_source="operator" if event.position else None,
            )
        case ResourceStatusChanged() if resource is not None:
            return replace(
                resource, status=event.status, status_since=event.at,
                incident_id=event.incident_id if event.status == "assigned" else None,
            )
        case ResourcePositionReported() if resource is not None:
            return replace(resource, position=event.position, position_at=event.at, position_source=event.source,
                           course_deg=event.course_deg, sog_knots=event.sog_knots)
        case ResourceMmsiSet() if resource is not None:
            return replace(resource, mmsi=event.mmsi)
    return resource


def assigned_to(resource: Resource | None, incident_id: str) -> bool:
    """Whether the resource's own stream has it on this incident. An incident's assignment can outlive that (a
    status set by hand, then a dispatch elsewhere): releasing or moving it from here must then leave it alone."""
    return resource is not None and resource.status == "assigned" and resource.incident_id == incident_id


def fold(events: Iterable[Event]) -> Resource | None:
    state: Resource | None = None
    for event in events:
        state = evolve(state, event)
    return state


def decide(command: ResourceCommand, resource: Resource | None) -> list[Event]:
    """The events a resource command produces, or a RuleViolation; an empty list means nothing to change."""
    match command:
        case RegisterResource() if resource is not None:
            raise ResourceAlreadyExists(f"resource {command.resource_id} is already registered", field="id")
        case RegisterResource():
            registered: list[Event] = [_registered(command)]
            if command.mmsi is not None:
                registered.append(ResourceMmsiSet(at=command.at, resource_id=command.resource_id,
                                                  mmsi=_checked_mmsi(command.mmsi)))
            return registered
    if resource is None:
        raise ResourceNotFound(f"resource {command.resource_id} is not registered", field="resource_id")
    match command:
        case ChangeResourceStatus() if command.status == resource.status:
            return []
        case ChangeResourceStatus():
            return [
                ResourceStatusChanged(
                    at=command.at, resource_id=resource.id, status=command.status, reason=command.reason
                )
            ]
        case ReportResourcePosition():
            return _position(command, resource)
        case SetResourceMmsi():
            mmsi = _checked_mmsi(command.mmsi) if command.mmsi is not None else None
            return [] if mmsi == resource.mmsi else [ResourceMmsiSet(at=command.at, resource_id=resource.id, mmsi=mmsi)]
        case UpdateResource():
            return _update(command, resource)
    raise InvalidStatusChange(f"{type(command).__name__} is not a resource command")


def _registered(command: RegisterResource) -> ResourceRegistered:
    if command.kind == "boat" and not usable_speed(command.speed_knots):
        raise InvalidInput(f"boat {command.resource_id} needs a speed of {BOAT_SPEED_KNOTS_MIN:g} to "
                           f"{BOAT_SPEED_KNOTS_MAX:g} knots", field="speed_knots")
    if command.kind != "boat" and command.speed_knots is not None:
        raise InvalidInput(f"only boats have a speed; {command.resource_id} is a {command.kind}", field="speed_knots")
    return ResourceRegistered(
        at=command.at, resource_id=command.resource_id, kind=command.kind, name=command.name,
        subtype=command.subtype, speed_knots=command.speed_knots, position=command.position,
        home_site_id=command.home_site_id, zone=command.zone, season=command.season,
    )


def _position(command: ReportResourcePosition, resource: Resource) -> list[Event]:
    """The position as an event, unless a tracker's fix says nothing new (tracking.py); a crew phone speaks only
    for the unit its lifeguard crews, and only a person on duty's phone is a crew phone."""
    actor = command.actor
    if command.source == "crew_phone" and actor.role == "lifeguard" and not access.crews(actor, resource.id):
        raise NotCrewOfResource(f"{actor.role} {actor.id} crews {actor.resource_id or 'no unit'}, not {resource.id}; "
                                "a phone shares the position of its own unit only", field="resource_id")
    if command.source != "crew_phone" and actor.role == "lifeguard":
        raise NotPermitted(f"a lifeguard shares a position from their phone only, not as {command.source}")
    throttle = command.throttle
    if throttle is not None and not worth_recording(resource.position, resource.position_at, resource.sog_knots,
                                                    resource.position_source, command.position, command.at,
                                                    command.sog_knots, throttle):
        return []
    return [ResourcePositionReported(at=command.at, resource_id=resource.id, position=command.position,
                                     source=command.source, course_deg=command.course_deg,
                                     sog_knots=command.sog_knots)]


def _checked_mmsi(mmsi: str) -> str:
    if not (len(mmsi) == MMSI_DIGITS and mmsi.isascii() and mmsi.isdigit()):
        raise InvalidInput(f"an MMSI is {MMSI_DIGITS} digits, not {mmsi!r}", field="mmsi")
    if beacon_kind(mmsi) is not None:
        raise InvalidInput(f"{mmsi} is a distress beacon's MMSI, not a transponder a resource carries", field="mmsi")
    return mmsi


def _update(command: UpdateResource, resource: Resource) -> list[Event]:
    if command.status is None and command.position is None and command.mmsi is None:
        raise InvalidInput("give a status, a position, an MMSI, or several", field="status")
    events: list[Event] = []
    if command.mmsi is not None:
        events += decide(SetResourceMmsi(actor=command.actor, at=command.at, resource_id=resource.id,
                                         mmsi=command.mmsi or None), resource)
    if command.position is not None:
        events += decide(
            ReportResourcePosition(actor=command.actor, at=command.at, resource_id=resource.id,
                                   position=command.position),
            resource,
        )
    if command.status is not None:
        events += decide(
            ChangeResourceStatus(actor=command.actor, at=command.at, resource_id=resource.id, status=command.status,
                                 reason=command.reason),
            resource,
        )
    return events
