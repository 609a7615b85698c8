"""The live views: the triage board (now or as it was), the fleet list and the referral tracker."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from dispatch.api.answers import BoardOut, ReferralListOut, ResourceListOut
from dispatch.api.deps import FleetReader, Reader, ServicesDep
from dispatch.api.openapi import answers
from dispatch.errors import InvalidInput
from dispatch.projections import queries

router = APIRouter(tags=["board"])


@router.get("/api/board", summary="Open incidents by triage colour then age; ?as_of= for the board as it was",
            operation_id="getBoard", response_model=None, responses=answers(BoardOut))
def board(
    actor: FleetReader,
    services: ServicesDep,
    as_of: Annotated[str | None, Query(description="a log position (e.g. 1234) or a time (ISO 8601 with zone)",
                                       max_length=40)] = None,
) -> dict[str, Any]:
    engine, now = services.store.engine, services.clock.now()
    if as_of is None:
        return queries.current_board(engine, now)
    if as_of.isdigit():
        return queries.board_as_of(services.store, int(as_of), now)
    try:
        moment = datetime.fromisoformat(as_of)
    except ValueError as exc:
        raise InvalidInput("as_of is a log position or an ISO 8601 time", field="as_of") from exc
    if moment.tzinfo is None:
        raise InvalidInput("as_of needs a time zone, e.g. 2026-03-14T14:32:00+07:00", field="as_of")
    return queries.board_as_of(services.store, queries.position_at(engine, moment), moment)


@router.get("/api/resources", summary="Every boat, AED and team: status, position, assignment, time in status",
            response_model=None, responses=answers(ResourceListOut))
def list_resources(actor: FleetReader, services: ServicesDep) -> dict[str, Any]:
    return queries.resources(services.store.engine, services.clock.now())


@router.get("/api/referrals", summary="Open referrals and recent ones, with deadline, elapsed and status",
            response_model=None, responses=answers(ReferralListOut))
def list_referrals(
    actor: Reader,
    services: ServicesDep,
    recent_hours: Annotated[int, Query(ge=0, le=24 * 31, description="closed referrals from the last hours")] = 24,
) -> dict[str, Any]:
    now = services.clock.now()
    return queries.referrals(services.store.engine, now, recent_since=now - timedelta(hours=recent_hours))
