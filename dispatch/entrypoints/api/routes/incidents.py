"""Incident commands and the incident's own view (state and timeline)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Response

from dispatch.app.services import Services
from dispatch.domain.catalogue import ReferralRequested
from dispatch.domain.commands import (
    AddNote,
    ChangeReferralCarrier,
    ChangeReferralDestination,
    CloseIncident,
    Command,
    DispatchResource,
    ReassignResource,
    RecordMilestone,
    ReportIncident,
    RequestReferral,
    StandDownResource,
    TriageIncident,
)
from dispatch.domain.decisions import access
from dispatch.domain.errors import FacilityNotFound, InvalidInput
from dispatch.entrypoints.api import views
from dispatch.entrypoints.api.answers import IncidentListOut, IncidentOut
from dispatch.entrypoints.api.commanding import CommandRouter, answer, not_future, run
from dispatch.entrypoints.api.deps import (
    LifeguardCommand,
    OperatorCommand,
    Reader,
    ServicesDep,
    new_id,
)
from dispatch.entrypoints.api.openapi import answers, problems
from dispatch.entrypoints.api.schemas import (
    CarrierIn,
    CloseIn,
    DestinationIn,
    DispatchIn,
    MilestoneIn,
    NoteIn,
    ReassignIn,
    ReferralIn,
    ReferralOut,
    ReportIn,
    StandDownIn,
    TriageIn,
)
from dispatch.projections import queries

router = APIRouter(prefix="/api/incidents", tags=["incidents"])
# The commands: each endpoint builds one, the router runs it (commanding.py).
commands = CommandRouter(prefix="/api/incidents", tags=["incidents"])


@commands.post("", status_code=201, summary="Report an incident", responses=problems(409))
async def report_incident(body: ReportIn, context: LifeguardCommand) -> Command:
    services = context.services
    places = services.places
    site = places.find(body.site_id) if body.site_id else None
    if body.site_id and site is None:
        raise InvalidInput(f"site {body.site_id} is not a known place; pick one from /api/places", field="site_id")
    if body.position is None and site is None:
        raise InvalidInput("give the place: a known site_id, a GPS position, or both", field="position")
    position = body.position.to_position() if body.position else site.position  # type: ignore[union-attr]
    incident_id = new_id(context.actor, context.key)
    return ReportIncident(
        **context.stamp(), device_at=not_future(body.device_time, services, "device_time"),
        incident_id=incident_id, source=body.source, position=position, site_id=body.site_id,
        zone=places.zone_of(position), triage=body.triage, category=body.category, patients=body.patients,
        description=body.description, language=body.language,
    )


@router.get("", summary="Incidents: a lifeguard's own (reported or assigned), or all open and recent ones",
            response_model=None, responses=answers(IncidentListOut))
def list_incidents(
    actor: Reader,
    services: ServicesDep,
    mine: Annotated[bool, Query(description="only those I reported or my team or boat is assigned to")] = False,
    recent_hours: Annotated[int, Query(ge=0, le=24 * 31, description="closed ones from the last hours")] = 24,
) -> dict[str, Any]:
    now = services.clock.now()
    # A lifeguard sees only their own incidents, whatever they ask for.
    own = mine or not access.sees_every_incident(actor)
    return queries.incidents_for(services.store.engine, now, recent_since=now - timedelta(hours=recent_hours),
                                 on=actor if own else None)


@router.get("/{incident_id}", summary="An incident's current state and full timeline (a lifeguard: only one they "
                                     "reported or crew a unit on; any other answers 404, as an unknown id does)",
            response_model=None, responses=answers(IncidentOut, 404))
def get_incident(incident_id: str, actor: Reader, services: ServicesDep, background: BackgroundTasks) -> dict[str, Any]:
    view = views.incident_view(services, incident_id, actor)
    views.note_read(background, services, actor, incident_id, "incident")
    return view


@commands.post("/{incident_id}/triage", summary="Set the dispatch or scene triage code", operation_id="triageIncident")
async def triage(incident_id: str, body: TriageIn, context: OperatorCommand) -> Command:
    return TriageIncident(**context.stamp(), incident_id=incident_id, stage=body.stage, code=body.code,
                          expected_version=body.expected_version)


@commands.post("/{incident_id}/dispatch", summary="Dispatch a boat, AED or team")
async def dispatch_resource(incident_id: str, body: DispatchIn, context: OperatorCommand) -> Command:
    return DispatchResource(**context.stamp(), incident_id=incident_id, resource_id=body.resource_id,
                            expected_version=body.expected_version)


@commands.post("/{incident_id}/milestones", summary="Record a resource's milestone")
async def record_milestone(incident_id: str, body: MilestoneIn, context: LifeguardCommand) -> Command:
    return RecordMilestone(**context.stamp(), incident_id=incident_id, resource_id=body.resource_id,
                           milestone=body.milestone,
                           happened_at=not_future(body.happened_at, context.services, "happened_at"))


@commands.post("/{incident_id}/referral", response_model=ReferralOut,
               summary="Request a referral; the answer says the guarantee's deadline")
async def request_referral(incident_id: str, body: ReferralIn, context: OperatorCommand) -> Response:
    services = context.services
    if body.facility_id:  # an empty one is refused by the rules: a referral needs a destination
        known_facility(services, body.facility_id)
    command = RequestReferral(**context.stamp(), incident_id=incident_id, facility_id=body.facility_id,
                              resource_id=body.resource_id, from_site_id=body.from_site_id)
    result = await run(command, context)
    requested = next((e.event for e in result.events if isinstance(e.event, ReferralRequested)), None)
    if requested is None:
        return answer(incident_id, result, facility_id=body.facility_id)
    return answer(
        incident_id, result, referral_id=requested.referral_id, facility_id=requested.facility_id,
        guarantee_minutes=requested.policy.guarantee_minutes if requested.policy else None,
        warning_at=requested.warning_at, deadline_at=requested.deadline_at,
    )


@commands.post("/{incident_id}/notes", summary="Add a note to the incident")
async def add_note(incident_id: str, body: NoteIn, context: LifeguardCommand) -> Command:
    return AddNote(**context.stamp(), incident_id=incident_id, text=body.text, resource_id=body.resource_id)


@commands.post("/{incident_id}/close", summary="Close the incident with its outcome; releases its resources")
async def close_incident(incident_id: str, body: CloseIn, context: OperatorCommand) -> Command:
    return CloseIncident(**context.stamp(), incident_id=incident_id, outcome=body.outcome,
                         deceased=body.deceased, summary=body.summary)


# --- an operator's corrections (decisions/incident.py says what each may change, and why) ------------------


@commands.post("/{incident_id}/stand-down",
               summary="Stand down a unit sent by mistake or not needed: its response ends, it is available again")
async def stand_down_resource(incident_id: str, body: StandDownIn, context: OperatorCommand) -> Command:
    return StandDownResource(**context.stamp(), incident_id=incident_id, resource_id=body.resource_id,
                             reason=body.reason, expected_version=body.expected_version)


@commands.post("/{incident_id}/reassign",
               summary="Move a unit from this incident to another open one, in one append to both and the unit")
async def reassign_resource(incident_id: str, body: ReassignIn, context: OperatorCommand) -> Command:
    return ReassignResource(**context.stamp(), incident_id=incident_id, resource_id=body.resource_id,
                            to_incident_id=body.to_incident_id, expected_version=body.expected_version)


@commands.post("/{incident_id}/referral/carrier",
               summary="Name another unit on the incident to carry the open referral; its clock keeps running")
async def change_referral_carrier(incident_id: str, body: CarrierIn, context: OperatorCommand) -> Command:
    return ChangeReferralCarrier(**context.stamp(), incident_id=incident_id, resource_id=body.resource_id,
                                 referral_id=body.referral_id, expected_version=body.expected_version)


@commands.post("/{incident_id}/referral/destination",
               summary="Send the open referral's patient to another facility; its clock keeps running")
async def change_referral_destination(incident_id: str, body: DestinationIn, context: OperatorCommand) -> Command:
    known_facility(context.services, body.facility_id)
    return ChangeReferralDestination(**context.stamp(), incident_id=incident_id, facility_id=body.facility_id,
                                     referral_id=body.referral_id, expected_version=body.expected_version)


def known_facility(services: Services, facility_id: str) -> None:
    """Refuse a destination that is not a known hospital or health unit (places are data, not rules)."""
    facility = services.places.find(facility_id)
    if facility is None or not facility.is_facility:
        raise FacilityNotFound(f"{facility_id} is not a known hospital or health unit", field="facility_id")
