"""The triage board: one row per incident, with its triage, place, resources and referral countdown."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Table

from dispatch.adapters.read_models import BOARD
from dispatch.domain.catalogue import (
    BeaconConfirmed,
    BeaconDetected,
    BeaconDismissed,
    IncidentClosed,
    IncidentEvent,
    IncidentReported,
    IncidentTriaged,
    MilestoneRecorded,
    NoteAdded,
    PatientArrivedAtFacility,
    PatientHandedOver,
    ReferralAtRisk,
    ReferralBreached,
    ReferralCarrierChanged,
    ReferralDestinationChanged,
    ReferralRequested,
    ResourceDispatched,
    ResourceReassigned,
    ResourceStoodDown,
)
from dispatch.domain.decisions.incident import referral_status
from dispatch.domain.envelope import StoredEvent
from dispatch.domain.vocabulary import MILESTONE_ORDER, RELEASING_MILESTONES, TRIAGE_ORDER
from dispatch.projections.rows import Row, RowSet

TABLE = "board_incidents"


def iso(moment: datetime | None) -> str | None:
    """Times inside JSON columns are ISO strings (UTC)."""
    return moment.isoformat() if moment is not None else None


class Board:
    name = "board"

    @property
    def tables(self) -> tuple[Table, ...]:
        return (BOARD,)

    def keys(self, stored: StoredEvent) -> Iterable[tuple[str, str]]:
        event = stored.event
        return [(TABLE, event.incident_id)] if isinstance(event, IncidentEvent) else []

    def apply(self, rows: RowSet, stored: StoredEvent) -> None:
        event = stored.event
        if not isinstance(event, IncidentEvent):
            return
        current = rows.get(TABLE, event.incident_id)
        if isinstance(event, IncidentReported):
            updated: Row | None = _reported(event)
        elif current is None:
            return  # a stream whose report this projection never saw cannot be shown
        else:
            updated = _change(current, event)
        if updated is not None:
            rows.put(TABLE, event.incident_id, {**updated, "position": stored.position}, stored.position)


def _reported(event: IncidentReported) -> Row:
    return {
        "incident_id": event.incident_id, "status": "open", "source": event.source, "category": event.category,
        "triage_dispatch": event.triage, "triage_scene": None, "triage_rank": TRIAGE_ORDER[event.triage],
        "site_id": event.site_id, "zone": event.zone, "lat": event.position.lat, "lon": event.position.lon,
        "patients": event.patients, "description": event.description, "language": event.language,
        "reporter": event.reporter, "reported_at": event.at, "closed_at": None, "outcome": None, "notes": 0,
        "assignments": [], "referral": None, "beacon": None,
    }


def _change(row: Row, event: IncidentEvent) -> Row | None:
    match event:
        case IncidentTriaged(stage="dispatch"):
            effective = row["triage_scene"] or event.code
            return {**row, "triage_dispatch": event.code, "triage_rank": TRIAGE_ORDER[effective]}
        case IncidentTriaged():
            # The crew at the scene sees the patient: their code ranks the board once it exists.
            return {**row, "triage_scene": event.code, "triage_rank": TRIAGE_ORDER[event.code]}
        case ResourceDispatched():
            others = [a for a in row["assignments"] if a["resource_id"] != event.resource_id]
            assignment = {"resource_id": event.resource_id, "kind": event.kind, "milestone": "resource_notified",
                          "milestone_at": iso(event.at), "dispatched_at": iso(event.at), "released": False}
            if event.from_incident_id is not None:  # the keys a correction adds are there only when it did
                assignment["from_incident_id"] = event.from_incident_id
            return {**row, "assignments": [*others, assignment]}
        case MilestoneRecorded():
            return {**row, "assignments": [_advance(a, event) for a in row["assignments"]]}
        case ResourceStoodDown() | ResourceReassigned():
            ended_by = "stood_down" if isinstance(event, ResourceStoodDown) else "reassigned"
            ended = [{**a, "released": True, "ended_by": ended_by} if a["resource_id"] == event.resource_id else a
                     for a in row["assignments"]]
            return {**row, "assignments": ended}
        case ReferralRequested():
            return {**row, "referral": _referral(event)}
        case (ReferralAtRisk() | ReferralBreached() | PatientArrivedAtFacility() | PatientHandedOver()
              | ReferralCarrierChanged() | ReferralDestinationChanged()):
            return _referral_change(row, event)
        case NoteAdded():
            return {**row, "notes": row["notes"] + 1}
        case BeaconDetected():
            return {**row, "beacon": {"mmsi": event.mmsi, "beacon": event.beacon, "vessel_name": event.vessel_name,
                                      "state": "detected"}}
        case BeaconConfirmed() | BeaconDismissed() if row.get("beacon"):
            state = "confirmed" if isinstance(event, BeaconConfirmed) else "dismissed"
            return {**row, "beacon": {**row["beacon"], "state": state}}
        case IncidentClosed():
            released = [{**a, "released": True} for a in row["assignments"]]
            return {**row, "status": "closed", "closed_at": event.at, "outcome": event.outcome,
                    "assignments": released}
    return None


def _advance(assignment: dict[str, Any], event: MilestoneRecorded) -> dict[str, Any]:
    if assignment["resource_id"] != event.resource_id:
        return assignment
    released = assignment["released"] or event.milestone in RELEASING_MILESTONES
    if MILESTONE_ORDER[event.milestone] < MILESTONE_ORDER[assignment["milestone"]]:
        return {**assignment, "released": released}  # a late entry for an earlier step: the latest stays
    return {**assignment, "milestone": event.milestone, "milestone_at": iso(event.at), "released": released}


def _referral(event: ReferralRequested) -> dict[str, Any]:
    return {
        "referral_id": event.referral_id, "facility_id": event.facility_id, "resource_id": event.resource_id,
        "status": "on_track", "requested_at": iso(event.at), "warning_at": iso(event.warning_at),
        "deadline_at": iso(event.deadline_at),
        "guarantee_minutes": event.policy.guarantee_minutes if event.policy else None,
        "at_risk": False, "breached": False, "predicted_arrival_at": None, "predicted_late_seconds": None,
        "advice": "", "arrived_at": None, "handed_over_at": None,
    }


def rerouted(risk_lifted: bool) -> dict[str, Any]:
    """What another carrier or destination changes on a referral's board copy: the prediction and its advice were
    of the old route (the worker predicts the new one), and a risk that only they raised is lifted."""
    lifted = {"at_risk": False} if risk_lifted else {}
    return {"predicted_arrival_at": None, "predicted_late_seconds": None, "advice": "", **lifted}


def _referral_change(row: Row, event: IncidentEvent) -> Row | None:
    referral = row["referral"]
    if referral is None or referral["referral_id"] != getattr(event, "referral_id", None):
        return None
    match event:
        case ReferralAtRisk():
            referral = {**referral, "at_risk": True, "advice": event.advice,
                        "predicted_arrival_at": iso(event.predicted_arrival_at),
                        "predicted_late_seconds": event.predicted_late_seconds}
        case ReferralBreached():
            referral = {**referral, "breached": True}
        case PatientArrivedAtFacility():
            referral = {**referral, "arrived_at": iso(event.at)}
        case PatientHandedOver():
            referral = {**referral, "handed_over_at": iso(event.at)}
        case ReferralCarrierChanged():
            referral = {**referral, **rerouted(event.risk_lifted), "resource_id": event.resource_id}
        case ReferralDestinationChanged():
            referral = {**referral, **rerouted(event.risk_lifted), "facility_id": event.facility_id}
    arrived = referral["arrived_at"]
    deadline = referral["deadline_at"]
    referral["status"] = referral_status(
        arrived_at=datetime.fromisoformat(arrived) if arrived else None,
        deadline_at=datetime.fromisoformat(deadline) if deadline else None,
        breached=referral["breached"], at_risk=referral["at_risk"],
    )
    return {**row, "referral": referral}


def board_rows(rows: list[Row], now: datetime) -> list[Row]:
    """Open incidents, most severe first, then oldest first; with age and the referral's time left."""
    open_rows = [row for row in rows if row["status"] == "open"]
    open_rows.sort(key=lambda row: (row["triage_rank"], row["reported_at"]))
    return [with_clock(row, now) for row in open_rows]


def with_clock(row: Row, now: datetime) -> Row:
    """The row as a screen shows it at `now`: with its age, and the referral's time left until it arrives."""
    shown = {**row, "age_seconds": int((now - row["reported_at"]).total_seconds())}
    referral = row.get("referral")
    if referral and referral.get("deadline_at") and not referral.get("arrived_at"):
        deadline = datetime.fromisoformat(referral["deadline_at"])
        shown["referral"] = {**referral, "seconds_left": int((deadline - now).total_seconds())}
    return shown
