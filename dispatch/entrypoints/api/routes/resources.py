"""The fleet: boats, AEDs and teams; register, change status or position, look one up."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dispatch.app.services import Services
from dispatch.domain.commands import Command, RegisterResource, UpdateResource
from dispatch.domain.errors import InvalidInput, MmsiAlreadyClaimed
from dispatch.entrypoints.api import views
from dispatch.entrypoints.api.answers import ResourceOut
from dispatch.entrypoints.api.commanding import CommandRouter
from dispatch.entrypoints.api.deps import FleetReader, OperatorCommand, ServicesDep
from dispatch.entrypoints.api.openapi import answers, problems
from dispatch.entrypoints.api.schemas import ResourceIn, ResourcePatchIn
from dispatch.projections import queries

router = APIRouter(prefix="/api/resources", tags=["resources"])
# The commands: each endpoint builds one, the router runs it (commanding.py).
commands = CommandRouter(prefix="/api/resources", tags=["resources"])


@commands.post("", status_code=201, summary="Register a boat, AED or team", responses=problems(409))
async def register_resource(body: ResourceIn, context: OperatorCommand) -> Command:
    services = context.services
    if body.home_site_id and body.home_site_id not in services.places:
        raise InvalidInput(f"home site {body.home_site_id} is not a known place", field="home_site_id")
    _refuse_claimed(services, body.mmsi, body.id)
    home = services.places.find(body.home_site_id) if body.home_site_id else None
    position = body.position.to_position() if body.position else (home.position if home else None)
    return RegisterResource(
        **context.stamp(), resource_id=body.id, kind=body.kind, name=body.name,
        subtype=body.subtype, speed_knots=body.speed_knots, position=position, home_site_id=body.home_site_id,
        zone=services.places.zone_of(position) if position else None, season=body.season, mmsi=body.mmsi,
    )


@router.get("/{resource_id}", summary="One resource's current state", response_model=None,
            responses=answers(ResourceOut, 404))
def get_resource(resource_id: str, actor: FleetReader, services: ServicesDep) -> dict[str, Any]:
    return views.resource_view(services, resource_id)


@commands.patch("/{resource_id}", summary="Change a resource's status or position")
async def update_resource(resource_id: str, body: ResourcePatchIn, context: OperatorCommand) -> Command:
    _refuse_claimed(context.services, body.mmsi, resource_id)
    return UpdateResource(
        **context.stamp(), resource_id=resource_id, status=body.status,
        position=body.position.to_position() if body.position else None, reason=body.reason,
        expected_version=body.expected_version, mmsi=body.mmsi,
    )


def _refuse_claimed(services: Services, mmsi: str | None, resource_id: str) -> None:
    """One transponder moves one resource. Checked against the fleet view, so two operators tying one MMSI at the
    same moment can both succeed: the AIS feed then moves neither, and says so in its metrics and log."""
    if mmsi and (owner := queries.mmsi_claimed_by(services.store.engine, mmsi, other_than=resource_id)):
        raise MmsiAlreadyClaimed(f"MMSI {mmsi} already moves resource {owner}; untie it there first", field="mmsi")


