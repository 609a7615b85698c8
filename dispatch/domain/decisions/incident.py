"""An incident: its state folded from its stream, and the rules every incident command must obey."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from dispatch.domain.catalogue import (
    BeaconConfirmed,
    BeaconDetected,
    Event,
    IncidentClosed,
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
    ReferralPolicy,
    ReferralRequested,
    ResourceDispatched,
    ResourceReassigned,
    ResourceStatusChanged,
    ResourceStoodDown,
)
from dispatch.domain.commands import (
    AddNote,
    ChangeReferralCarrier,
    ChangeReferralDestination,
    CheckReferral,
    CloseIncident,
    ConfirmBeacon,
    DismissBeacon,
    DispatchResource,
    IncidentCommand,
    ReassignResource,
    RecordMilestone,
    ReportBeacon,
    ReportIncident,
    RequestReferral,
    StandDownResource,
    TriageIncident,
)
from dispatch.domain.decisions import access, beacon
from dispatch.domain.decisions.resource import Resource, assigned_to
from dispatch.domain.errors import (
    IncidentAlreadyClosed,
    IncidentAlreadyExists,
    IncidentNotFound,
    InvalidInput,
    InvalidTime,
    MilestoneAlreadyRecorded,
    MilestoneOutOfOrder,
    NoOpenReferral,
    NotCrewOfResource,
    NotOnIncident,
    NotPermitted,
    ReferralAlreadyOpen,
    ReferralNeedsDestination,
    ReferralUnchanged,
    ResourceAlreadyOnIncident,
    ResourceCarriesReferral,
    ResourceNotAssigned,
    ResourceNotFound,
    ResourceNotOnIncident,
    ResourceUnavailable,
    ResponseCompleted,
)
from dispatch.domain.languages import is_language
from dispatch.domain.vocabulary import (
    MAX_NOTE_LENGTH,
    MAX_PATIENTS,
    MAX_REASON_LENGTH,
    MILESTONE_ORDER,
    RECORDABLE_MILESTONES,
    RELEASING_MILESTONES,
    Outcome,
    ReferralStatus,
    ResourceKind,
    RiskReason,
    Triage,
)

# How an operator's correction ends a response (the milestones above end it the crew's way).
EndedBy = Literal["stood_down", "reassigned"]


@dataclass(frozen=True, kw_only=True)
class Assignment:
    """A resource sent to the incident and the milestones it has reached, with when."""

    resource_id: str
    kind: ResourceKind
    dispatched_at: datetime
    milestones: Mapping[str, datetime] = field(default_factory=dict)
    ended_by: EndedBy | None = None

    @property
    def released(self) -> bool:
        return self.ended_by is not None or any(name in self.milestones for name in RELEASING_MILESTONES)

    @property
    def latest_milestone(self) -> str:
        if not self.milestones:
            return "resource_notified"
        return max(self.milestones, key=MILESTONE_ORDER.__getitem__)


@dataclass(frozen=True, kw_only=True)
class Referral:
    referral_id: str
    facility_id: str
    resource_id: str | None
    requested_at: datetime
    policy: ReferralPolicy | None
    warning_at: datetime | None
    deadline_at: datetime | None
    at_risk: bool = False
    risk_reason: RiskReason | None = None
    breached: bool = False
    arrived_at: datetime | None = None
    handed_over_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.arrived_at is None

    @property
    def status(self) -> ReferralStatus:
        return referral_status(
            arrived_at=self.arrived_at, deadline_at=self.deadline_at, breached=self.breached, at_risk=self.at_risk
        )


def referral_status(
    *, arrived_at: datetime | None, deadline_at: datetime | None, breached: bool, at_risk: bool
) -> ReferralStatus:
    """met / missed once the patient arrived (arriving exactly at the deadline is within it); before that
    breached, at_risk or on_track."""
    if arrived_at is not None:
        return "missed" if deadline_at is not None and arrived_at > deadline_at else "met"
    if breached:
        return "breached"
    return "at_risk" if at_risk else "on_track"


@dataclass(frozen=True, kw_only=True)
class Incident:
    report: IncidentReported
    dispatch_triage: Triage
    scene_triage: Triage | None = None
    assignments: Mapping[str, Assignment] = field(default_factory=dict)
    referrals: tuple[Referral, ...] = ()
    notes: int = 0
    closed_at: datetime | None = None
    outcome: Outcome | None = None
    # Set when an AIS distress beacon opened the incident (decisions/beacon.py).
    beacon: BeaconDetected | None = None
    beacon_confirmed: bool = False

    @property
    def id(self) -> str:
        return self.report.incident_id

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @property
    def open_referral(self) -> Referral | None:
        return next((referral for referral in self.referrals if referral.open), None)

    def active_resource_ids(self) -> list[str]:
        return [rid for rid, assignment in self.assignments.items() if not assignment.released]


# --- evolve ----------------------------------------------------------------------------------------


def evolve(incident: Incident | None, event: Event) -> Incident | None:
    """The incident after `event`."""
    if isinstance(event, IncidentReported):
        return Incident(report=event, dispatch_triage=event.triage)
    if incident is None:
        return None
    match event:
        case IncidentTriaged(stage="dispatch"):
            return replace(incident, dispatch_triage=event.code)
        case IncidentTriaged(stage="scene"):
            return replace(incident, scene_triage=event.code)
        case ResourceDispatched():
            assignment = Assignment(resource_id=event.resource_id, kind=event.kind, dispatched_at=event.at)
            return replace(incident, assignments={**incident.assignments, event.resource_id: assignment})
        case MilestoneRecorded():
            current = incident.assignments[event.resource_id]
            updated = replace(current, milestones={**current.milestones, event.milestone: event.at})
            return replace(incident, assignments={**incident.assignments, event.resource_id: updated})
        case ReferralRequested():
            referral = Referral(
                referral_id=event.referral_id, facility_id=event.facility_id, resource_id=event.resource_id,
                requested_at=event.at, policy=event.policy, warning_at=event.warning_at,
                deadline_at=event.deadline_at,
            )
            return replace(incident, referrals=(*incident.referrals, referral))
        case ReferralAtRisk():
            return _update_referral(incident, event.referral_id, at_risk=True, risk_reason=event.reason)
        case ReferralCarrierChanged():
            return _update_referral(incident, event.referral_id, resource_id=event.resource_id,
                                    **_lifted(event.risk_lifted))
        case ReferralDestinationChanged():
            return _update_referral(incident, event.referral_id, facility_id=event.facility_id,
                                    **_lifted(event.risk_lifted))
        case ResourceStoodDown():
            return _end_assignment(incident, event.resource_id, "stood_down")
        case ResourceReassigned():
            return _end_assignment(incident, event.resource_id, "reassigned")
        case ReferralBreached():
            return _update_referral(incident, event.referral_id, breached=True)
        case PatientArrivedAtFacility(referral_id=str(referral_id)):
            return _update_referral(incident, referral_id, arrived_at=event.at)
        case PatientHandedOver(referral_id=str(referral_id)):
            return _update_referral(incident, referral_id, handed_over_at=event.at)
        case NoteAdded():
            return replace(incident, notes=incident.notes + 1)
        case IncidentClosed():
            return replace(incident, closed_at=event.at, outcome=event.outcome)
        case BeaconDetected():
            return replace(incident, beacon=event)
        case BeaconConfirmed():
            return replace(incident, beacon_confirmed=True)
    return incident


def _update_referral(incident: Incident, referral_id: str, **changes: object) -> Incident:
    referrals = tuple(
        replace(referral, **changes) if referral.referral_id == referral_id else referral  # type: ignore[arg-type]
        for referral in incident.referrals
    )
    return replace(incident, referrals=referrals)


def _lifted(risk_lifted: bool) -> dict[str, object]:
    return {"at_risk": False, "risk_reason": None} if risk_lifted else {}


def _end_assignment(incident: Incident, resource_id: str, ended_by: EndedBy) -> Incident:
    if (assignment := incident.assignments.get(resource_id)) is None:
        return incident  # decide appends none such; a log from elsewhere may, and must still fold
    return replace(incident, assignments={**incident.assignments, resource_id: replace(assignment, ended_by=ended_by)})


def fold(events: Iterable[Event]) -> Incident | None:
    state: Incident | None = None
    for event in events:
        state = evolve(state, event)
    return state


# --- decide ----------------------------------------------------------------------------------------


def decide(
    command: IncidentCommand,
    incident: Incident | None,
    resources: Mapping[str, Resource | None],
    others: Mapping[str, Incident | None] | None = None,
) -> list[Event]:
    """The events an incident command produces, or the RuleViolation it breaks; [] means nothing to do.

    `resources` holds the current state of every resource the command touches (the one to dispatch, the
    ones a close releases), read by the caller from their own streams; `others` the other incidents it
    touches (a reassignment's target), by id.
    """
    if isinstance(command, ReportIncident):
        return _report(command, incident)
    if isinstance(command, ReportBeacon):
        return beacon.report(command, incident)
    # Before any rule that tells what the incident is (unknown, closed): a lifeguard learns nothing of an
    # incident they are not on, not even that it exists.
    _check_permission(command, incident)
    if incident is None:
        raise IncidentNotFound(f"incident {command.incident_id} does not exist", field="incident_id")
    if isinstance(command, CheckReferral):
        # Workers ask on a schedule; a closed incident or an arrived referral just needs nothing.
        return [] if incident.closed else _check_referral(command, incident)
    if incident.closed:
        raise IncidentAlreadyClosed(
            f"incident {incident.id} is closed ({incident.outcome}); it takes no more commands", field="incident_id"
        )
    match command:
        case TriageIncident():
            return _triage(command, incident)
        case DispatchResource():
            return _dispatch(command, incident, resources.get(command.resource_id))
        case RecordMilestone():
            return _milestone(command, incident, resources.get(command.resource_id))
        case RequestReferral():
            return _refer(command, incident)
        case AddNote():
            return _note(command, incident)
        case ConfirmBeacon():
            return beacon.confirm(command, incident)
        case DismissBeacon():
            return beacon.dismiss(command, incident, _close(command, incident, resources))
        case CloseIncident():
            return _close(command, incident, resources)
        case StandDownResource():
            return _stand_down(command, incident, resources.get(command.resource_id))
        case ReassignResource():
            target = (others or {}).get(command.to_incident_id)
            return _reassign(command, incident, resources.get(command.resource_id), target)
        case ChangeReferralCarrier():
            return _change_carrier(command, incident)
        case ChangeReferralDestination():
            return _change_destination(command, incident)
    raise InvalidInput(f"{type(command).__name__} is not an incident command")


def _check_permission(command: IncidentCommand, incident: Incident | None) -> None:
    """Lifeguards may add notes and milestones only to incidents they are on, and speak only for the unit they
    crew (decisions/access.py); every other role's limits are its routes'."""
    actor = command.actor
    if access.sees_every_incident(actor):
        return
    if not isinstance(command, AddNote | RecordMilestone):
        raise NotPermitted(f"a {actor.role} cannot {type(command).__name__} (incident {command.incident_id})")
    if incident is None or not access.is_on_incident(actor, incident.report.reporter, incident.assignments):
        raise NotOnIncident(
            f"{actor.role} {actor.id} has not reported incident {command.incident_id} and crews no unit sent to it",
            field="incident_id",
        )
    if command.resource_id is not None and not access.crews(actor, command.resource_id):
        raise NotCrewOfResource(
            f"{actor.role} {actor.id} crews {actor.resource_id or 'no unit'}, not {command.resource_id}; only its "
            "crew records for a unit",
            field="resource_id",
        )


def _report(command: ReportIncident, incident: Incident | None) -> list[Event]:
    if incident is not None:
        raise IncidentAlreadyExists(f"incident {command.incident_id} already exists", field="incident_id")
    if not 1 <= command.patients <= MAX_PATIENTS:
        raise InvalidInput(f"patients must be between 1 and {MAX_PATIENTS}", field="patients")
    if not is_language(command.language):
        raise InvalidInput(f"language {command.language!r} is not an ISO 639-1 code", field="language")
    return [
        IncidentReported(
            at=command.at, incident_id=command.incident_id, source=command.source, position=command.position,
            site_id=command.site_id, zone=command.zone, triage=command.triage, category=command.category,
            patients=command.patients, description=command.description, reporter=command.actor.id,
            language=command.language,
        )
    ]


def _triage(command: TriageIncident, incident: Incident) -> list[Event]:
    current = incident.dispatch_triage if command.stage == "dispatch" else incident.scene_triage
    if current == command.code:
        return []
    return [IncidentTriaged(at=command.at, incident_id=incident.id, stage=command.stage, code=command.code)]


def _dispatch(command: DispatchResource, incident: Incident, resource: Resource | None) -> list[Event]:
    if resource is None:
        raise ResourceNotFound(f"resource {command.resource_id} is not registered", field="resource_id")
    if resource.status == "assigned" and resource.incident_id == incident.id:
        raise ResourceAlreadyOnIncident(
            f"{resource.name} ({resource.id}) is already on incident {incident.id}", field="resource_id"
        )
    if resource.status != "available":
        where = f"assigned to incident {resource.incident_id}" if resource.status == "assigned" else "out of service"
        raise ResourceUnavailable(
            f"{resource.name} ({resource.id}) is {where}; cannot dispatch it to incident {incident.id}",
            field="resource_id",
        )
    return [
        ResourceDispatched(at=command.at, incident_id=incident.id, resource_id=resource.id, kind=resource.kind),
        ResourceStatusChanged(
            at=command.at, resource_id=resource.id, status="assigned", incident_id=incident.id,
            reason="dispatched",
        ),
    ]


def _milestone(command: RecordMilestone, incident: Incident, resource: Resource | None) -> list[Event]:
    assignment = incident.assignments.get(command.resource_id)
    if assignment is None:
        raise ResourceNotAssigned(
            f"resource {command.resource_id} was not dispatched to incident {incident.id}", field="resource_id"
        )
    if command.milestone not in RECORDABLE_MILESTONES:
        raise InvalidInput(
            f"{command.milestone} is recorded by the report or the dispatch itself, not as a milestone",
            field="milestone",
        )
    if command.milestone in assignment.milestones:
        raise MilestoneAlreadyRecorded(
            f"{command.milestone} is already recorded for {command.resource_id} on incident {incident.id}",
            field="milestone",
        )
    if command.milestone == "cancelled" and "at_destination" in assignment.milestones:
        raise MilestoneOutOfOrder(
            f"{command.resource_id} already delivered the patient; a response cannot be cancelled after arrival",
            field="milestone",
        )
    if assignment.released:
        raise ResourceNotAssigned(
            f"{command.resource_id} was released from incident {incident.id}; record no more milestones",
            field="resource_id",
        )
    happened_at = _milestone_time(command, assignment)
    events: list[Event] = [
        MilestoneRecorded(
            at=happened_at, incident_id=incident.id, resource_id=command.resource_id,
            milestone=command.milestone, late=command.happened_at is not None and happened_at < command.at,
        )
    ]
    return events + _milestone_consequences(command, incident, resource, happened_at)


def _milestone_time(command: RecordMilestone, assignment: Assignment) -> datetime:
    """When the milestone happened: now, or the crew's stated earlier time, which must fit the sequence."""
    happened_at = command.happened_at or command.at
    if happened_at > command.at:
        raise InvalidTime(f"{command.milestone} time {happened_at.isoformat()} is in the future", field="happened_at")
    if happened_at < assignment.dispatched_at:
        raise InvalidTime(
            f"{command.milestone} cannot be before the dispatch at {assignment.dispatched_at.isoformat()}",
            field="happened_at",
        )
    rank = MILESTONE_ORDER[command.milestone]
    earlier = [at for name, at in assignment.milestones.items() if MILESTONE_ORDER[name] < rank]
    later = [at for name, at in assignment.milestones.items() if MILESTONE_ORDER[name] > rank]
    if later and command.happened_at is None:
        raise MilestoneOutOfOrder(
            f"{command.resource_id} is already past {command.milestone} (at {assignment.latest_milestone}); "
            "a late entry needs the time it happened",
            field="happened_at",
        )
    if earlier and happened_at < max(earlier):
        raise InvalidTime(
            f"{command.milestone} cannot be before an earlier milestone at {max(earlier).isoformat()}",
            field="happened_at",
        )
    if later and happened_at > min(later):
        raise InvalidTime(
            f"{command.milestone} cannot be after a later milestone at {min(later).isoformat()}", field="happened_at"
        )
    return happened_at


def _milestone_consequences(
    command: RecordMilestone, incident: Incident, resource: Resource | None, happened_at: datetime
) -> list[Event]:
    """What else a milestone means: a patient arriving for an open referral, a resource free again."""
    referral = incident.open_referral
    carries_patient = referral is not None and referral.resource_id in (None, command.resource_id)
    match command.milestone:
        case "at_destination" if referral is not None and carries_patient:
            if happened_at < referral.requested_at:
                raise InvalidTime(
                    f"arrival at {happened_at.isoformat()} is before referral {referral.referral_id} was requested "
                    f"at {referral.requested_at.isoformat()}",
                    field="happened_at",
                )
            return [
                PatientArrivedAtFacility(
                    at=happened_at, incident_id=incident.id, referral_id=referral.referral_id,
                    facility_id=referral.facility_id, resource_id=command.resource_id,
                )
            ]
        case "handed_over":
            arrived = [r for r in incident.referrals if r.arrived_at is not None and r.handed_over_at is None]
            return [
                PatientHandedOver(
                    at=happened_at, incident_id=incident.id, referral_id=r.referral_id, facility_id=r.facility_id,
                    resource_id=command.resource_id,
                )
                for r in arrived[-1:]
            ]
        case name if name in RELEASING_MILESTONES:
            return _release([resource], incident, command.at, reason=command.milestone)
    return []


def _release(resources: Iterable[Resource | None], incident: Incident, at: datetime, reason: str) -> list[Event]:
    """Make resources still assigned to this incident available again (never one since sent elsewhere)."""
    return [
        ResourceStatusChanged(at=at, resource_id=resource.id, status="available", reason=reason)
        for resource in resources
        if resource is not None and assigned_to(resource, incident.id)
    ]


def _refer(command: RequestReferral, incident: Incident) -> list[Event]:
    if not command.facility_id.strip():
        raise ReferralNeedsDestination(
            f"a referral from incident {incident.id} needs a receiving facility", field="facility_id"
        )
    if (open_referral := incident.open_referral) is not None:
        raise ReferralAlreadyOpen(
            f"referral {open_referral.referral_id} to {open_referral.facility_id} is still open", field="facility_id"
        )
    if command.resource_id is not None and command.resource_id not in incident.active_resource_ids():
        raise ResourceNotAssigned(
            f"resource {command.resource_id} is not on incident {incident.id}; dispatch it first",
            field="resource_id",
        )
    policy = command.policy
    return [
        ReferralRequested(
            at=command.at, incident_id=incident.id, referral_id=f"{incident.id}-r{len(incident.referrals) + 1}",
            from_site_id=command.from_site_id or incident.report.site_id,
            from_position=command.from_position or incident.report.position, facility_id=command.facility_id,
            resource_id=command.resource_id, policy=policy,
            warning_at=command.at + timedelta(minutes=policy.warning_minutes) if policy else None,
            deadline_at=command.at + timedelta(minutes=policy.guarantee_minutes) if policy else None,
        )
    ]


def _check_referral(command: CheckReferral, incident: Incident) -> list[Event]:
    referral = next((r for r in incident.referrals if r.referral_id == command.referral_id), None)
    if referral is None or not referral.open or referral.deadline_at is None or referral.breached:
        return []
    now = command.at
    match command.check:
        case "breach" if now >= referral.deadline_at:
            return [
                ReferralBreached(
                    at=now, incident_id=incident.id, referral_id=referral.referral_id,
                    deadline_at=referral.deadline_at,
                )
            ]
        case "warning" if not referral.at_risk and referral.warning_at is not None and now >= referral.warning_at:
            return [ReferralAtRisk(at=now, incident_id=incident.id, referral_id=referral.referral_id,
                                   reason="warning_point", advice=command.advice)]
        case "predicted" if not referral.at_risk and command.predicted_arrival_at is not None:
            late_by = command.predicted_arrival_at - referral.deadline_at
            if late_by <= timedelta(0):
                return []
            return [
                ReferralAtRisk(
                    at=now, incident_id=incident.id, referral_id=referral.referral_id, reason="predicted_late",
                    predicted_arrival_at=command.predicted_arrival_at,
                    predicted_late_seconds=int(late_by.total_seconds()), advice=command.advice,
                )
            ]
    return []


def _note(command: AddNote, incident: Incident) -> list[Event]:
    text = command.text.strip()
    if not text:
        raise InvalidInput("a note needs some text", field="text")
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidInput(f"a note is at most {MAX_NOTE_LENGTH} characters", field="text")
    return [NoteAdded(at=command.at, incident_id=incident.id, text=text, resource_id=command.resource_id)]


def _close(command: CloseIncident, incident: Incident, resources: Mapping[str, Resource | None]) -> list[Event]:
    if not 0 <= command.deceased <= incident.report.patients:
        raise InvalidInput(
            f"deceased must be between 0 and the {incident.report.patients} patients reported", field="deceased"
        )
    if command.outcome == "deceased" and command.deceased == 0:
        raise InvalidInput("outcome 'deceased' needs the number of deaths", field="deceased")
    releases = _release(
        (resources.get(rid) for rid in incident.active_resource_ids()), incident, command.at, "incident closed"
    )
    closed = IncidentClosed(
        at=command.at, incident_id=incident.id, outcome=command.outcome, deceased=command.deceased,
        summary=command.summary, released_resource_ids=tuple(
            event.resource_id for event in releases if isinstance(event, ResourceStatusChanged)
        ),
    )
    return [closed, *releases]


# --- operator corrections ----------------------------------------------------------------------------
#
# An operator corrects what the board shows by new events, never by editing old ones: a unit sent by mistake is
# stood down, a unit needed elsewhere is moved there, a referral gets another carrier or destination. What a
# dispatcher expects of each:
# - Only a unit still working on the incident can be stood down or moved. One that has delivered its patient ends
#   its response with its own milestones (back in service): recording it as cancelled would falsify the report.
# - The named carrier of an open referral is neither stood down nor moved while it is named: the patient would be
#   left without transport by one click. Name another carrier first (a deliberate second step).
# - A referral's guarantee runs from the request whatever changes; a new carrier or destination only changes the
#   prediction. A referral at risk only because the old route was predicted late is lifted back on track, and the
#   new route's prediction decides again; past the warning point it stays at risk, as the clock says.


def _stand_down(command: StandDownResource, incident: Incident, resource: Resource | None) -> list[Event]:
    _still_working(command.resource_id, incident)
    if len(reason := command.reason.strip()) > MAX_REASON_LENGTH:
        raise InvalidInput(f"a stand-down's reason is at most {MAX_REASON_LENGTH} characters", field="reason")
    stood_down = ResourceStoodDown(at=command.at, incident_id=incident.id, resource_id=command.resource_id,
                                   reason=reason)
    return [stood_down, *_release([resource], incident, command.at, reason="stood down")]


def _reassign(
    command: ReassignResource, incident: Incident, resource: Resource | None, target: Incident | None
) -> list[Event]:
    if command.to_incident_id == incident.id:
        raise InvalidInput(f"{command.resource_id} is on incident {incident.id} already; name another incident",
                           field="to_incident_id")
    _still_working(command.resource_id, incident)
    if target is None:
        raise InvalidInput(f"incident {command.to_incident_id} does not exist", field="to_incident_id")
    if target.closed:
        raise IncidentAlreadyClosed(f"incident {target.id} is closed ({target.outcome}); cannot send "
                                    f"{command.resource_id} to it", field="to_incident_id")
    if resource is None or not assigned_to(resource, incident.id):
        where = f"assigned to incident {resource.incident_id}" if resource and resource.incident_id else "not assigned"
        raise ResourceNotAssigned(f"{command.resource_id} is {where} by its own record, not to incident {incident.id}; "
                                  "stand it down here instead", field="resource_id")
    return [
        ResourceReassigned(at=command.at, incident_id=incident.id, resource_id=resource.id, to_incident_id=target.id),
        ResourceDispatched(at=command.at, incident_id=target.id, resource_id=resource.id, kind=resource.kind,
                           from_incident_id=incident.id),
        ResourceStatusChanged(at=command.at, resource_id=resource.id, status="assigned", incident_id=target.id,
                              reason="reassigned"),
    ]


def _still_working(resource_id: str, incident: Incident) -> Assignment:
    """The unit's assignment, if an operator may still end it here (see the rules above)."""
    assignment = incident.assignments.get(resource_id)
    if assignment is None:
        raise ResourceNotOnIncident(f"{resource_id} was never sent to incident {incident.id}", field="resource_id")
    if assignment.released:
        raise ResourceNotAssigned(f"{resource_id} was already released from incident {incident.id}",
                                  field="resource_id")
    if "at_destination" in assignment.milestones:
        raise ResponseCompleted(f"{resource_id} has delivered the patient of incident {incident.id}; record it back "
                                "in service to end its response", field="resource_id")
    referral = incident.open_referral
    if referral is not None and referral.resource_id == resource_id:
        raise ResourceCarriesReferral(f"{resource_id} carries referral {referral.referral_id}; name another carrier "
                                      "first", field="resource_id")
    return assignment


def _change_carrier(command: ChangeReferralCarrier, incident: Incident) -> list[Event]:
    referral = _open_referral(command.referral_id, incident)
    if command.resource_id == referral.resource_id:
        raise ReferralUnchanged(f"{command.resource_id} already carries referral {referral.referral_id}",
                                field="resource_id")
    assignment = incident.assignments.get(command.resource_id)
    if assignment is None:
        raise ResourceNotOnIncident(f"{command.resource_id} was never sent to incident {incident.id}; dispatch it "
                                    "first", field="resource_id")
    if assignment.released:
        raise ResourceNotAssigned(f"{command.resource_id} was released from incident {incident.id}; dispatch it "
                                  "again first", field="resource_id")
    if assignment.kind == "aed":
        raise InvalidInput(f"{command.resource_id} is an AED; it carries no patient", field="resource_id")
    return [
        ReferralCarrierChanged(
            at=command.at, incident_id=incident.id, referral_id=referral.referral_id,
            resource_id=command.resource_id, previous_resource_id=referral.resource_id,
            risk_lifted=_risk_lifted(referral, command.at),
        )
    ]


def _change_destination(command: ChangeReferralDestination, incident: Incident) -> list[Event]:
    referral = _open_referral(command.referral_id, incident)
    if not command.facility_id.strip():
        raise ReferralNeedsDestination(f"referral {referral.referral_id} needs a receiving facility",
                                       field="facility_id")
    if command.facility_id == referral.facility_id:
        raise ReferralUnchanged(f"referral {referral.referral_id} goes to {command.facility_id} already",
                                field="facility_id")
    return [
        ReferralDestinationChanged(
            at=command.at, incident_id=incident.id, referral_id=referral.referral_id,
            facility_id=command.facility_id, previous_facility_id=referral.facility_id,
            risk_lifted=_risk_lifted(referral, command.at),
        )
    ]


def _open_referral(referral_id: str | None, incident: Incident) -> Referral:
    """The referral a change applies to: the open one, which the command may name to be sure it is that one."""
    referral = incident.open_referral
    if referral is None:
        raise NoOpenReferral(f"incident {incident.id} has no referral on its way", field="referral_id")
    if referral_id is not None and referral_id != referral.referral_id:
        raise NoOpenReferral(f"referral {referral_id} is not the open one ({referral.referral_id})",
                             field="referral_id")
    return referral


def _risk_lifted(referral: Referral, at: datetime) -> bool:
    """Whether the referral is at risk only by the prediction a change makes stale: before its warning point and
    its deadline, nothing but the old route said it would be late."""
    before_warning = referral.warning_at is None or at < referral.warning_at
    return referral.at_risk and referral.risk_reason == "predicted_late" and not referral.breached and before_warning
