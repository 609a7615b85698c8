"""Views read straight from one stream (an incident's own page); lists and boards come from read models."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import BackgroundTasks

from dispatch.adapters import read_access
from dispatch.app.services import Services
from dispatch.domain.catalogue import incident_stream, resource_stream
from dispatch.domain.commands import Actor
from dispatch.domain.decisions import access
from dispatch.domain.decisions import incident as incident_rules
from dispatch.domain.decisions import resource as resource_rules
from dispatch.domain.envelope import StoredEvent
from dispatch.domain.errors import IncidentNotFound, ResourceNotFound
from dispatch.projections import queries


def timeline_entry(stored: StoredEvent) -> dict[str, Any]:
    """One line of the audit trail: what, when it happened, when the server stored it, who, from which device time."""
    meta = stored.meta
    data = msgspec.to_builtins(stored.event)
    return {
        "position": stored.position,
        "version": stored.version,
        "type": stored.type,
        "at": data.pop("at"),
        "recorded_at": stored.recorded_at,
        "device_at": meta.device_at,
        "actor_id": meta.actor_id,
        "role": meta.role,
        "command_id": meta.command_id,
        "data": data,
    }


def incident_view(services: Services, incident_id: str, actor: Actor) -> dict[str, Any]:
    """The incident's state and timeline, for those who may read its patient details (else 404)."""
    stored = services.store.read_stream(incident_stream(incident_id))
    incident = incident_rules.fold(item.event for item in stored)
    if incident is None or not access.may_read_incident(actor, incident.report.reporter, incident.assignments):
        # The same answer as for an unknown id: refusing with 403 would confirm that the case exists.
        raise IncidentNotFound(f"incident {incident_id} does not exist", field="incident_id")
    report = incident.report
    return {
        "id": incident.id,
        "version": stored[-1].version,
        "source": report.source,
        "position": msgspec.to_builtins(report.position),
        "site_id": report.site_id,
        "zone": report.zone,
        "triage": {"dispatch": incident.dispatch_triage, "scene": incident.scene_triage},
        "category": report.category,
        "patients": report.patients,
        "description": report.description,
        "language": report.language,
        "reporter": report.reporter,
        "reported_at": report.at,
        "closed_at": incident.closed_at,
        "outcome": incident.outcome,
        "assignments": [
            {
                "resource_id": a.resource_id,
                "kind": a.kind,
                "dispatched_at": a.dispatched_at,
                "milestones": dict(a.milestones),
                "latest_milestone": a.latest_milestone,
                "released": a.released,
                "ended_by": a.ended_by,
            }
            for a in incident.assignments.values()
        ],
        "referrals": [
            {
                "referral_id": r.referral_id,
                "facility_id": r.facility_id,
                "resource_id": r.resource_id,
                "requested_at": r.requested_at,
                "warning_at": r.warning_at,
                "deadline_at": r.deadline_at,
                "arrived_at": r.arrived_at,
                "handed_over_at": r.handed_over_at,
                "status": r.status,
            }
            for r in incident.referrals
        ],
        "timeline": [timeline_entry(item) for item in stored],
    }


def incident_state(services: Services, incident_id: str) -> incident_rules.Incident:
    incident = incident_rules.fold(item.event for item in services.store.read_stream(incident_stream(incident_id)))
    if incident is None:
        raise IncidentNotFound(f"incident {incident_id} does not exist", field="incident_id")
    return incident


def resource_view(services: Services, resource_id: str) -> dict[str, Any]:
    stored = services.store.read_stream(resource_stream(resource_id))
    resource = resource_rules.fold(item.event for item in stored)
    if resource is None:
        raise ResourceNotFound(f"resource {resource_id} is not registered", field="resource_id")
    return {"version": stored[-1].version, **msgspec.to_builtins(resource, builtin_types=None)} | {
        "position": msgspec.to_builtins(resource.position) if resource.position else None
    } | queries.service_fields(resource.season, services.clock.now())


def note_read(background: BackgroundTasks, services: Services, actor: Actor, incident_id: str,
              view: read_access.View) -> None:
    """Record that `actor` read this incident's details, after the answer is sent (read_access.py)."""
    read = read_access.Read(read_at=services.clock.now(), actor=actor, incident_id=incident_id, view=view)
    background.add_task(read_access.record, services.store.engine, read)
