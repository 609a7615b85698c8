"""The fleet view: every boat, AED and team with status, position, assignment and latest milestone."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Table

from dispatch.adapters.read_models import RESOURCES
from dispatch.domain.catalogue import (
    MilestoneRecorded,
    ResourceDispatched,
    ResourceMmsiSet,
    ResourcePositionReported,
    ResourceRegistered,
    ResourceStatusChanged,
)
from dispatch.domain.envelope import StoredEvent
from dispatch.domain.vocabulary import MILESTONE_ORDER
from dispatch.projections.rows import Row, RowSet

TABLE = "resources_view"


class Resources:
    name = "resources"

    @property
    def tables(self) -> tuple[Table, ...]:
        return (RESOURCES,)

    def keys(self, stored: StoredEvent) -> Iterable[tuple[str, str]]:
        resource_id = getattr(stored.event, "resource_id", None)
        return [(TABLE, resource_id)] if resource_id else []

    def apply(self, rows: RowSet, stored: StoredEvent) -> None:
        event = stored.event
        resource_id = getattr(event, "resource_id", None)
        if resource_id is None:
            return
        current = rows.get(TABLE, resource_id)
        updated: Row | None = None
        match event:
            case ResourceRegistered():
                updated = {
                    "resource_id": resource_id, "kind": event.kind, "name": event.name, "subtype": event.subtype,
                    "speed_knots": event.speed_knots, "lat": event.position.lat if event.position else None,
                    "lon": event.position.lon if event.position else None,
                    "position_at": event.at if event.position else None, "home_site_id": event.home_site_id,
                    "zone": event.zone, "status": "available", "status_since": event.at, "incident_id": None,
                    "milestone": None, "season": event.season,
                    "mmsi": None, "position_source": "operator" if event.position else None,
                    "course_deg": None, "sog_knots": None,
                }
            case ResourceStatusChanged() if current is not None:
                assigned = event.status == "assigned"
                updated = {**current, "status": event.status, "status_since": event.at,
                           "incident_id": event.incident_id if assigned else None,
                           "milestone": current["milestone"] if assigned else None}
            case ResourcePositionReported() if current is not None:
                updated = {**current, "lat": event.position.lat, "lon": event.position.lon, "position_at": event.at,
                           "position_source": event.source, "course_deg": event.course_deg,
                           "sog_knots": event.sog_knots}
            case ResourceMmsiSet() if current is not None:
                updated = {**current, "mmsi": event.mmsi}
            case ResourceDispatched() if current is not None:
                updated = {**current, "milestone": "resource_notified"}
            case MilestoneRecorded() if current is not None and current["incident_id"] == event.incident_id:
                # A late entry of an earlier step leaves the latest milestone shown, as the board does.
                if MILESTONE_ORDER[event.milestone] > MILESTONE_ORDER.get(current["milestone"] or "", -1):
                    updated = {**current, "milestone": event.milestone}
        if updated is not None:
            rows.put(TABLE, resource_id, {**updated, "position": stored.position}, stored.position)
