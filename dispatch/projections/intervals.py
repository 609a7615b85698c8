"""Per-incident facts and per-response NEMSIS times and intervals (DESIGN.md §1), kept for the reports.

A response row also carries its incident's zone, source and report triage, so a report reads one table; a
triage that changes the report triage rewrites each of the incident's responses.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Table

from dispatch.adapters.read_models import INCIDENT_FACTS
from dispatch.adapters.read_models import RESPONSES as RESPONSES_TABLE
from dispatch.domain.catalogue import (
    IncidentClosed,
    IncidentEvent,
    IncidentReported,
    IncidentTriaged,
    MilestoneRecorded,
    ResourceDispatched,
)
from dispatch.domain.envelope import StoredEvent
from dispatch.domain.vocabulary import RECORDABLE_MILESTONES
from dispatch.projections.rows import Row, RowGroup, RowKey, RowSet

FACTS = "incident_facts"
RESPONSES = "response_intervals"
# interval name -> (from column, to column), as DESIGN.md §1 defines them
INTERVALS: dict[str, tuple[str, str]] = {
    "response_seconds": ("resource_notified_at", "on_scene_at"),
    "scene_seconds": ("on_scene_at", "left_scene_at"),
    "transport_seconds": ("left_scene_at", "at_destination_at"),
    "hospital_wall_seconds": ("at_destination_at", "handed_over_at"),
    "total_seconds": ("reported_at", "at_destination_at"),
}


def response_key(incident_id: str, resource_id: str) -> str:
    return f"{incident_id}/{resource_id}"


def seconds_between(start: datetime | None, end: datetime | None) -> int | None:
    return int((end - start).total_seconds()) if start is not None and end is not None else None


def report_triage(facts: Row) -> str:
    """The code reports count an incident by: the scene code (RC) where a crew recorded one, else the dispatch
    code (IDC). The crew saw the patient; the dispatcher heard a caller. Provincial "triage level 1 / 2" means
    how ill the patient was, and an incident no crew reached still counts by the code it was sent with."""
    scene: str | None = facts["triage_scene"]
    return scene if scene is not None else str(facts["triage_dispatch"])


class Intervals:
    name = "intervals"

    @property
    def tables(self) -> tuple[Table, ...]:
        return (INCIDENT_FACTS, RESPONSES_TABLE)

    def keys(self, stored: StoredEvent) -> Iterable[RowKey]:
        event = stored.event
        if not isinstance(event, IncidentEvent):
            return []
        keys: list[RowKey] = [(FACTS, event.incident_id)]
        if isinstance(event, ResourceDispatched | MilestoneRecorded):
            keys.append((RESPONSES, response_key(event.incident_id, event.resource_id)))
        if isinstance(event, IncidentTriaged):
            keys.append(RowGroup(RESPONSES, "incident_id", event.incident_id))
        return keys

    def apply(self, rows: RowSet, stored: StoredEvent) -> None:
        event = stored.event
        if not isinstance(event, IncidentEvent):
            return
        facts = rows.get(FACTS, event.incident_id)
        match event:
            case IncidentReported():
                self._facts(rows, stored, {
                    "incident_id": event.incident_id, "zone": event.zone, "source": event.source,
                    "category": event.category, "triage_dispatch": event.triage, "triage_scene": None,
                    "patients": event.patients, "reported_at": event.at, "reached_at": None, "closed_at": None,
                    "outcome": None, "deceased": 0,
                })
            case IncidentTriaged() if facts is not None:
                triaged = {**facts, f"triage_{event.stage}": event.code}
                self._facts(rows, stored, triaged)
                if (counted_as := report_triage(triaged)) != report_triage(facts):
                    for response in rows.group(RESPONSES, "incident_id", event.incident_id):
                        self._response(rows, stored, {**response, "triage": counted_as})
            case IncidentClosed() if facts is not None:
                self._facts(rows, stored, {**facts, "closed_at": event.at, "outcome": event.outcome,
                                           "deceased": event.deceased})
            case ResourceDispatched() if facts is not None:
                response = {
                    "response_id": response_key(event.incident_id, event.resource_id),
                    "incident_id": event.incident_id, "resource_id": event.resource_id, "kind": event.kind,
                    "zone": facts["zone"], "source": facts["source"], "triage": report_triage(facts),
                    "reported_at": facts["reported_at"], "resource_notified_at": event.at, "late_entries": 0,
                    **{f"{name}_at": None for name in RECORDABLE_MILESTONES},
                }
                self._response(rows, stored, response)
            case MilestoneRecorded() if facts is not None:
                key = response_key(event.incident_id, event.resource_id)
                recorded = rows.get(RESPONSES, key)
                if recorded is None:
                    return
                self._response(rows, stored, {**recorded, f"{event.milestone}_at": event.at,
                                              "late_entries": recorded["late_entries"] + int(event.late)})
                reached = facts["reached_at"]
                if event.milestone in ("on_scene", "at_patient") and (reached is None or event.at < reached):
                    self._facts(rows, stored, {**facts, "reached_at": event.at})

    def _facts(self, rows: RowSet, stored: StoredEvent, facts: Row) -> None:
        rows.put(FACTS, facts["incident_id"], {**facts, "position": stored.position}, stored.position)

    def _response(self, rows: RowSet, stored: StoredEvent, response: Row) -> None:
        for name, (start, end) in INTERVALS.items():
            response[name] = seconds_between(response[start], response[end])
        rows.put(RESPONSES, response["response_id"], {**response, "position": stored.position}, stored.position)
