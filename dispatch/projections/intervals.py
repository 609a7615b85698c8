"""Per-incident facts and per-response NEMSIS times and intervals (DESIGN.md §1), kept for the reports.

A response is one dispatch of one unit to one incident, until it ends: by its milestones (back in service,
cancelled), or by an operator standing it down or moving it elsewhere (both recorded as cancelled, with
`ended_by` saying which). A unit released and sent to the same incident again starts a second response, a row
of its own (`response_no` 2, …); nothing overwrites an earlier response, so every response the log holds is
counted, as NEMSIS counts unit responses. The first response keeps the key `{incident}/{unit}` it always had.

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
    ResourceReassigned,
    ResourceStoodDown,
)
from dispatch.domain.envelope import StoredEvent
from dispatch.domain.vocabulary import RECORDABLE_MILESTONES, RELEASING_MILESTONES
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
# The milestones that end a response the crew's way; an operator's correction ends it as its event says.
_RESPONSE_EVENTS = (ResourceDispatched, MilestoneRecorded, ResourceStoodDown, ResourceReassigned)


def response_key(incident_id: str, resource_id: str, number: int = 1) -> str:
    """The row of a unit's `number`th response to an incident (the first keeps the key it had before there were
    others)."""
    return f"{incident_id}/{resource_id}" if number == 1 else f"{incident_id}/{resource_id}/{number}"


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
        # A unit's responses are found among the incident's (a handful): which is its latest is in the rows.
        if isinstance(event, (IncidentTriaged, *_RESPONSE_EVENTS)):
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
                latest = _latest_response(rows, event.incident_id, event.resource_id)
                number = 1 if latest is None else latest["response_no"] + 1
                response = {
                    "response_id": response_key(event.incident_id, event.resource_id, number),
                    "incident_id": event.incident_id, "resource_id": event.resource_id, "response_no": number,
                    "kind": event.kind, "zone": facts["zone"], "source": facts["source"],
                    "triage": report_triage(facts), "reported_at": facts["reported_at"],
                    "resource_notified_at": event.at, "late_entries": 0, "ended_by": None,
                    **{f"{name}_at": None for name in RECORDABLE_MILESTONES},
                }
                self._response(rows, stored, response)
            case ResourceStoodDown() | ResourceReassigned() if facts is not None:
                if (recorded := _latest_response(rows, event.incident_id, event.resource_id)) is not None:
                    ended_by = "stood_down" if isinstance(event, ResourceStoodDown) else "reassigned"
                    self._response(rows, stored, {**recorded, "cancelled_at": event.at, "ended_by": ended_by})
            case MilestoneRecorded() if facts is not None:
                recorded = _latest_response(rows, event.incident_id, event.resource_id)
                if recorded is None:
                    return
                ended = {"ended_by": event.milestone} if event.milestone in RELEASING_MILESTONES else {}
                self._response(rows, stored, {**recorded, f"{event.milestone}_at": event.at, **ended,
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


def _latest_response(rows: RowSet, incident_id: str, resource_id: str) -> Row | None:
    """The unit's latest response to the incident: the one its milestones and corrections belong to (decide lets
    none through for an earlier one, which has ended)."""
    responses = [row for row in rows.group(RESPONSES, "incident_id", incident_id) if row["resource_id"] == resource_id]
    return max(responses, key=lambda row: row["response_no"], default=None)
