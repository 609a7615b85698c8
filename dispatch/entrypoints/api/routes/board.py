"""The live views: the triage board (now or as it was), the fleet list and the referral tracker."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from dispatch.domain.decisions import access
from dispatch.domain.errors import InvalidInput
from dispatch.entrypoints.api.answers import BoardOut, ReferralListOut, ResourceListOut
from dispatch.entrypoints.api.deps import FleetReader, Reader, ServicesDep
from dispatch.entrypoints.api.limits import POSITION_MAX
from dispatch.entrypoints.api.openapi import answers
from dispatch.projections import queries
from dispatch.reports.periods import parse_bound

router = APIRouter(tags=["board"])
_POSITION = re.compile(r"[0-9]{1,19}")


@router.get("/api/board", summary="Open incidents by triage colour then age; ?as_of= for the board as it was",
            operation_id="getBoard", response_model=None, responses=answers(BoardOut))
def board(
    actor: FleetReader,
    services: ServicesDep,
    as_of: Annotated[str | None, Query(description="a log position (e.g. 1234), a time (ISO 8601 with zone) or a "
                                                   "date (Bangkok midnight)",
                                       max_length=40)] = None,
) -> dict[str, Any]:
    engine, now = services.store.engine, services.clock.now()
    if as_of is None:
        return queries.current_board(engine, now)
    if _POSITION.fullmatch(as_of):  # ASCII digits only: str.isdigit() also takes "²", which int() refuses
        position = int(as_of)
        if position > POSITION_MAX:
            raise InvalidInput(f"as_of: a log position is at most {POSITION_MAX}", field="as_of")
        return queries.board_as_of(services.store, position, now)
    moment = parse_bound(as_of, "as_of")
    if moment is None:
        raise InvalidInput("as_of is a log position or an ISO 8601 time", field="as_of")
    return queries.board_as_of(services.store, queries.position_at(engine, moment), moment)


@router.get("/api/resources", summary="Every boat, AED and team: status, position, assignment, time in status",
            response_model=None, responses=answers(ResourceListOut))
def list_resources(actor: FleetReader, services: ServicesDep) -> dict[str, Any]:
    return queries.resources(services.store.engine, services.clock.now(),
                             timedelta(minutes=services.settings.position_stale_minutes))


@router.get("/api/referrals", summary="Open referrals and recent ones, with deadline, elapsed and status (a "
                                     "lifeguard: those of incidents they reported or crew a unit on)",
            response_model=None, responses=answers(ReferralListOut))
def list_referrals(
    actor: Reader,
    services: ServicesDep,
    recent_hours: Annotated[int, Query(ge=0, le=24 * 31, description="closed referrals from the last hours")] = 24,
) -> dict[str, Any]:
    now = services.clock.now()
    found = queries.referrals(services.store.engine, now, recent_since=now - timedelta(hours=recent_hours))
    if not access.sees_every_incident(actor):  # a lifeguard: only the referrals of incidents they are on
        mine = queries.incidents_on(services.store.engine, actor, {row["incident_id"] for row in found["referrals"]})
        found["referrals"] = [row for row in found["referrals"] if row["incident_id"] in mine]
    return found
