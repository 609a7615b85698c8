"""The live sea picture at the API: crew phones sharing their position, vessels of opportunity near an incident at
sea, and the operator's answer to a distress beacon."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from redis.exceptions import RedisError
from sqlalchemy import select

from dispatch.adapters.ais.picture import vessels_near
from dispatch.adapters.read_models import RESOURCES
from dispatch.domain.commands import Command, ConfirmBeacon, DismissBeacon, ReportResourcePosition
from dispatch.entrypoints.api import views
from dispatch.entrypoints.api.answers import VesselsOut
from dispatch.entrypoints.api.commanding import CommandRouter
from dispatch.entrypoints.api.deps import FleetReader, LifeguardCommand, OperatorCommand, ServicesDep
from dispatch.entrypoints.api.openapi import answers
from dispatch.entrypoints.api.schemas import BeaconConfirmIn, BeaconDismissIn, PositionShareIn

router = APIRouter(tags=["sea"])
# The commands: each endpoint builds one, the router runs it (commanding.py).
commands = CommandRouter(tags=["sea"])


@commands.post("/api/resources/{resource_id}/position",
               summary="Share the position of the unit you crew from your phone (recorded when it moved: no events "
                       "when nothing changed)")
async def share_position(resource_id: str, body: PositionShareIn, context: LifeguardCommand) -> Command:
    return ReportResourcePosition(
        **context.stamp(), resource_id=resource_id, position=body.position.to_position(), source="crew_phone",
        course_deg=body.course_deg, sog_knots=body.speed_knots,
        throttle=context.services.settings.position_throttle)


@commands.post("/api/incidents/{incident_id}/beacon/confirm",
               summary="Confirm that the distress beacon which opened the incident is real")
async def confirm_beacon(incident_id: str, body: BeaconConfirmIn, context: OperatorCommand) -> Command:
    return ConfirmBeacon(**context.stamp(), incident_id=incident_id, how=body.how)


@commands.post("/api/incidents/{incident_id}/beacon/dismiss",
               summary="Dismiss the distress beacon (a test, a false activation): closes the incident as a false "
                       "alarm")
async def dismiss_beacon(incident_id: str, body: BeaconDismissIn, context: OperatorCommand) -> Command:
    return DismissBeacon(**context.stamp(), incident_id=incident_id, summary=body.reason)


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
