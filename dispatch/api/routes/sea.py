"""The live sea picture at the API: crew phones sharing their position, vessels of opportunity near an incident at
sea, and the operator's answer to a distress beacon."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from redis.exceptions import RedisError
from sqlalchemy import select

from dispatch.ais.picture import vessels_near
from dispatch.api import views
from dispatch.api.answers import VesselsOut
from dispatch.api.command_route import CommandRoute
from dispatch.api.commanding import answer, run, stamp
from dispatch.api.deps import COMMAND_OPENAPI, FleetReader, LifeguardCommand, OperatorCommand, ServicesDep
from dispatch.api.openapi import answers, problems
from dispatch.api.schemas import AppendedOut, BeaconConfirmIn, BeaconDismissIn, PositionShareIn
from dispatch.commands import ConfirmBeacon, DismissBeacon, ReportResourcePosition
from dispatch.projections.tables import RESOURCES

router = APIRouter(tags=["sea"])
commands = APIRouter(tags=["sea"], route_class=CommandRoute)


@commands.post("/api/resources/{resource_id}/position", response_model=AppendedOut,
               summary="Share the position of the unit you crew from your phone (recorded when it moved: no events "
                       "when nothing changed)", responses=problems(404, 409), openapi_extra=COMMAND_OPENAPI)
async def share_position(resource_id: str, body: PositionShareIn, context: LifeguardCommand) -> Response:
    command = ReportResourcePosition(
        **stamp(context), resource_id=resource_id, position=body.position.to_position(), source="crew_phone",
        course_deg=body.course_deg, sog_knots=body.speed_knots,
        throttle=context.services.settings.position_throttle)
    return answer(resource_id, await run(command, context))


@commands.post("/api/incidents/{incident_id}/beacon/confirm", response_model=AppendedOut,
               summary="Confirm that the distress beacon which opened the incident is real",
               responses=problems(404, 409), openapi_extra=COMMAND_OPENAPI)
async def confirm_beacon(incident_id: str, body: BeaconConfirmIn, context: OperatorCommand) -> Response:
    command = ConfirmBeacon(**stamp(context), incident_id=incident_id, how=body.how)
    return answer(incident_id, await run(command, context))


@commands.post("/api/incidents/{incident_id}/beacon/dismiss", response_model=AppendedOut,
               summary="Dismiss the distress beacon (a test, a false activation): closes the incident as a false "
                       "alarm", responses=problems(404, 409), openapi_extra=COMMAND_OPENAPI)
async def dismiss_beacon(incident_id: str, body: BeaconDismissIn, context: OperatorCommand) -> Response:
    command = DismissBeacon(**stamp(context), incident_id=incident_id, summary=body.reason)
    return answer(incident_id, await run(command, context))


@router.get("/api/incidents/{incident_id}/vessels", operation_id="vesselsNearIncident",
            summary="Vessels of opportunity: non-fleet vessels heard on AIS near an incident at sea, nearest first",
            response_model=None, responses=answers(VesselsOut, 404))
def vessels(incident_id: str, actor: FleetReader, services: ServicesDep) -> dict[str, Any]:
    settings = services.settings
    scene = views.incident_state(services, incident_id).report.position
    at_sea = services.places.landmass_of(scene) is None
    found: dict[str, Any] = {"incident_id": incident_id, "at_sea": at_sea, "picture": "live",
                             "radius_km": settings.ais_opportunity_km, "vessels": []}
    if not at_sea:
        return found
    if services.redis is None:
        return found | {"picture": "unavailable"}
    with services.store.engine.connect() as db:
        fleet = set(db.execute(select(RESOURCES.c.mmsi).where(RESOURCES.c.mmsi.is_not(None))).scalars())
    try:
        near = vessels_near(services.redis, settings.ais_redis_prefix, scene, radius_km=settings.ais_opportunity_km,
                            limit=settings.ais_opportunity_limit, exclude=fleet, now=services.clock.now().timestamp())
    except RedisError:
        return found | {"picture": "unavailable"}
    found["vessels"] = [{
        "mmsi": v.mmsi, "name": v.name, "callsign": v.callsign, "ship_type": v.ship_type, "lat": v.position.lat,
        "lon": v.position.lon, "distance_km": round(v.distance_km, 2), "sog_knots": v.sog_knots,
        "course_deg": v.course_deg, "heard_seconds_ago": int(v.heard_seconds_ago),
        "eta_minutes": round(v.eta_minutes, 1) if v.eta_minutes is not None else None,
    } for v in near]
    return found
