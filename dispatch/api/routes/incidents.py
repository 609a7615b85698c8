"""Incident commands and the incident's own view (state and timeline)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Response
from fastapi.concurrency import run_in_threadpool

from dispatch.api import views
from dispatch.api.answers import IncidentListOut, IncidentOut
from dispatch.api.command_route import CommandRoute
from dispatch.api.commanding import answer, not_future, run, stamp
from dispatch.api.deps import COMMAND_OPENAPI, LifeguardCommand, OperatorCommand, Reader, ServicesDep, new_id
from dispatch.api.openapi import answers, problems
from dispatch.api.schemas import (
    AppendedOut,
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
from dispatch.bootstrap import Services
from dispatch.commands import (
    AddNote,
    ChangeReferralCarrier,
    ChangeReferralDestination,
    CloseIncident,
    DispatchResource,
    ReassignResource,
    RecordMilestone,
    ReportIncident,
    RequestReferral,
    StandDownResource,
    TriageIncident,
)
from dispatch.decisions import access
from dispatch.errors import FacilityNotFound, InvalidInput
from dispatch.events.catalogue import ReferralPolicy, ReferralRequested
from dispatch.projections import queries

router = APIRouter(prefix="/api/incidents", tags=["incidents"])
# The commands, served by CommandRoute's lean handler.
commands = APIRouter(prefix="/api/incidents", tags=["incidents"], route_class=CommandRoute)


@commands.post("", status_code=201, response_model=AppendedOut, summary="Report an incident",
               responses=problems(409), openapi_extra=COMMAND_OPENAPI)
async def report_incident(body: ReportIn, context: LifeguardCommand) -> Response:
    services = context.services
    places = services.places
    site = places.find(body.site_id) if body.site_id else None
    if body.site_id and site is None:
        raise InvalidInput(f"site {body.site_id} is not a known place; pick one from /api/places", field="site_id")
    if body.position is None and site is None:
        raise InvalidInput("give the place: a known site_id, a GPS position, or both", field="position")
    position = body.position.to_position() if body.position else site.position  # type: ignore[union-attr]
    incident_id = new_id(context.actor, context.key)
    command = ReportIncident(
        **stamp(context), device_at=not_future(body.device_time, services, "device_time"),
        incident_id=incident_id, source=body.source, position=position, site_id=body.site_id,
        zone=places.zone_of(position), triage=body.triage, category=body.category, patients=body.patients,
        description=body.description, language=body.language,
    )
    return answer(incident_id, await run(command, context), status_code=201)


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


@commands.post("/{incident_id}/triage", response_model=AppendedOut, summary="Set the dispatch or scene triage code",
               operation_id="triageIncident", responses=problems(404, 409), openapi_extra=COMMAND_OPENAPI)
async def triage(incident_id: str, body: TriageIn, context: OperatorCommand) -> Response:
    command = TriageIncident(**stamp(context), incident_id=incident_id, stage=body.stage, code=body.code,
                             expected_version=body.expected_version)
    return answer(incident_id, await run(command, context))


@commands.post("/{incident_id}/dispatch", response_model=AppendedOut, summary="Dispatch a boat, AED or team",
               responses=problems(404, 409), openapi_extra=COMMAND_OPENAPI)
async def dispatch_resource(incident_id: str, body: DispatchIn, context: OperatorCommand) -> Response:
    command = DispatchResource(**stamp(context), incident_id=incident_id, resource_id=body.resource_id,
                               expected_version=body.expected_version)
    return answer(incident_id, await run(command, context))


@commands.post("/{incident_id}/milestones", response_model=AppendedOut, summary="Record a resource's milestone",
               responses=problems(404, 409), openapi_extra=COMMAND_OPENAPI)
async def record_milestone(incident_id: str, body: MilestoneIn, context: LifeguardCommand) -> Response:
    command = RecordMilestone(**stamp(context), incident_id=incident_id, resource_id=body.resource_id,
                              milestone=body.milestone,
                              happened_at=not_future(body.happened_at, context.services, "happened_at"))
    return answer(incident_id, await run(command, context))


@commands.post("/{incident_id}/referral", response_model=ReferralOut,
               summary="Request a referral; the answer says the guarantee's deadline", responses=problems(404, 409),
               openapi_extra=COMMAND_OPENAPI)
async def request_referral(incident_id: str, body: ReferralIn, context: OperatorCommand) -> Response:
    services = context.services
    if body.facility_id:  # an empty one is refused by the rules: a referral needs a destination
        known_facility(services, body.facility_id)
    # 404 for an unknown incident; a read of the log, so on the thread pool, not the event loop.
    zone = (await run_in_threadpool(views.incident_state, services, incident_id)).report.zone
    setting = services.settings.zone_policies.get(zone)
    policy = ReferralPolicy(zone=zone, guarantee_minutes=setting.guarantee_minutes,
                            warning_minutes=setting.warning_minutes) if setting else None
    command = RequestReferral(**stamp(context), incident_id=incident_id, facility_id=body.facility_id,
                              resource_id=body.resource_id, from_site_id=body.from_site_id, policy=policy)
    result = await run(command, context)
    requested = next((e.event for e in result.events if isinstance(e.event, ReferralRequested)), None)
    if requested is None:
        return answer(incident_id, result, facility_id=body.facility_id)
    return answer(
        incident_id, result, referral_id=requested.referral_id, facility_id=requested.facility_id,
        guarantee_minutes=requested.policy.guarantee_minutes if requested.policy else None,
        warning_at=requested.warning_at, deadline_at=requested.deadline_at,
    )


@commands.post("/{incident_id}/notes", response_model=AppendedOut, summary="Add a note to the incident",
               responses=problems(404, 409), openapi_extra=COMMAND_OPENAPI)
async def add_note(incident_id: str, body: NoteIn, context: LifeguardCommand) -> Response:
    command = AddNote(**stamp(context), incident_id=incident_id, text=body.text, resource_id=body.resource_id)
    return answer(incident_id, await run(command, context))


@commands.post("/{incident_id}/close", response_model=AppendedOut,
               summary="Close the incident with its outcome; releases its resources", responses=problems(404, 409),
               openapi_extra=COMMAND_OPENAPI)
async def close_incident(incident_id: str, body: CloseIn, context: OperatorCommand) -> Response:
    command = CloseIncident(**stamp(context), incident_id=incident_id, outcome=body.outcome,
                            deceased=body.deceased, summary=body.summary)
    return answer(incident_id, await run(command, context))



# --- an operator's corrections (decisions/incident.py says what each may change, and why) ------------------


@commands.post("/{incident_id}/stand-down", response_model=AppendedOut,
               summary="Stand down a unit sent by mistake or not needed: its response ends, it is available again",
               responses=problems(404, 409), openapi_extra=COMMAND_OPENAPI)
async def stand_down_resource(incident_id: str, body: StandDownIn, context: OperatorCommand) -> Response:
    command = StandDownResource(**stamp(context), incident_id=incident_id, resource_id=body.resource_id,
                                reason=body.reason, expected_version=body.expected_version)
    return answer(incident_id, await run(command, context))


@commands.post("/{incident_id}/reassign", response_model=AppendedOut,
               summary="Move a unit from this incident to another open one, in one append to both and the unit",
               responses=problems(404, 409), openapi_extra=COMMAND_OPENAPI)
async def reassign_resource(incident_id: str, body: ReassignIn, context: OperatorCommand) -> Response:
    command = ReassignResource(**stamp(context), incident_id=incident_id, resource_id=body.resource_id,
                               to_incident_id=body.to_incident_id, expected_version=body.expected_version)
    return answer(incident_id, await run(command, context))


@commands.post("/{incident_id}/referral/carrier", response_model=AppendedOut,
               summary="Name another unit on the incident to carry the open referral; its clock keeps running",
               responses=problems(404, 409), openapi_extra=COMMAND_OPENAPI)
async def change_referral_carrier(incident_id: str, body: CarrierIn, context: OperatorCommand) -> Response:
    command = ChangeReferralCarrier(**stamp(context), incident_id=incident_id, resource_id=body.resource_id,
                                    referral_id=body.referral_id, expected_version=body.expected_version)
    return answer(incident_id, await run(command, context))


@commands.post("/{incident_id}/referral/destination", response_model=AppendedOut,
               summary="Send the open referral's patient to another facility; its clock keeps running",
               responses=problems(404, 409), openapi_extra=COMMAND_OPENAPI)
async def change_referral_destination(incident_id: str, body: DestinationIn, context: OperatorCommand) -> Response:
    known_facility(context.services, body.facility_id)
    command = ChangeReferralDestination(**stamp(context), incident_id=incident_id, facility_id=body.facility_id,
                                        referral_id=body.referral_id, expected_version=body.expected_version)
    return answer(incident_id, await run(command, context))


def known_facility(services: Services, facility_id: str) -> None:
    """Refuse a destination that is not a known hospital or health unit (places are data, not rules)."""
    facility = services.places.find(facility_id)
    if facility is None or not facility.is_facility:
        raise FacilityNotFound(f"{facility_id} is not a known hospital or health unit", field="facility_id")
