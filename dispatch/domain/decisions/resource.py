"""A resource (boat, AED, team): its state folded from its stream, and the rules for changing it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from dispatch.domain.catalogue import (
    Event,
    Position,
    ResourcePositionReported,
    ResourceRegistered,
    ResourceStatusChanged,
)
from dispatch.domain.commands import (
    ChangeResourceStatus,
    RegisterResource,
    ReportResourcePosition,
    ResourceCommand,
    UpdateResource,
)
from dispatch.domain.errors import InvalidInput, InvalidStatusChange, ResourceAlreadyExists, ResourceNotFound
from dispatch.domain.geo.eta import BOAT_SPEED_KNOTS_MAX, BOAT_SPEED_KNOTS_MIN, usable_speed
from dispatch.domain.vocabulary import ResourceKind, ResourceStatus, Season, Zone


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


def evolve(resource: Resource | None, event: Event) -> Resource | None:
    """The resource after `event`."""
    match event:
        case ResourceRegistered():
            return Resource(
                id=event.resource_id, kind=event.kind, name=event.name, subtype=event.subtype,
                speed_knots=event.speed_knots, position=event.position,
                position_at=event.at if event.position else None, home_site_id=event.home_site_id,
                zone=event.zone, status="available", status_since=event.at, incident_id=None, season=event.season,
            )
        case ResourceStatusChanged() if resource is not None:
            return replace(
                resource, status=event.status, status_since=event.at,
                incident_id=event.incident_id if event.status == "assigned" else None,
            )
        case ResourcePositionReported() if resource is not None:
            return replace(resource, position=event.position, position_at=event.at)
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
            return [_registered(command)]
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
            return [ResourcePositionReported(at=command.at, resource_id=resource.id, position=command.position)]
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


def _update(command: UpdateResource, resource: Resource) -> list[Event]:
    if command.status is None and command.position is None:
        raise InvalidInput("give a status, a position, or both", field="status")
    events: list[Event] = []
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
