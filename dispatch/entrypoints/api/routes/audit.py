"""The audit trail: an incident's every event with who, when (server and device), and the chain's state."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, BackgroundTasks, Depends, Query
from sqlalchemy import select

from dispatch.adapters import read_access
from dispatch.adapters.eventlog.checkpoints import published_checkpoint
from dispatch.adapters.read_models import REFERRALS, RESPONSES
from dispatch.domain.catalogue import incident_stream
from dispatch.domain.commands import Actor
from dispatch.domain.errors import IncidentNotFound
from dispatch.entrypoints.api.answers import ChainReportOut, IncidentTrailOut, ReadsOut
from dispatch.entrypoints.api.deps import Auditor, ServicesDep, require
from dispatch.entrypoints.api.openapi import answers
from dispatch.entrypoints.api.views import note_read, timeline_entry
from dispatch.projections.outbox import notifications_with_deliveries

router = APIRouter(prefix="/api/audit", tags=["audit"])
# Who looked at patient details is the officials' to review (PDPA accountability), not the people recorded.
Official = Annotated[Actor, Depends(require("official"))]
# Incident ids and usernames, as the API accepts them (schemas.Id).
_ID = r"^[A-Za-z0-9_.:-]+$"


@router.get("/incidents/{incident_id}",
            summary="Every event of an incident (actor, role, server and device time, hash), its intervals and "
                    "referrals",
            operation_id="getIncidentTrail", response_model=None, responses=answers(IncidentTrailOut, 404))
def incident_trail(incident_id: str, actor: Auditor, services: ServicesDep,
                   background: BackgroundTasks) -> dict[str, Any]:
    stored = services.store.read_stream(incident_stream(incident_id))
    if not stored:
        raise IncidentNotFound(f"incident {incident_id} does not exist", field="incident_id")
    note_read(background, services, actor, incident_id, "audit_trail")
    with services.store.engine.connect() as db:
        responses = db.execute(select(RESPONSES).where(RESPONSES.c.incident_id == incident_id)
                               .order_by(RESPONSES.c.resource_notified_at)).mappings().all()
        referrals = db.execute(select(REFERRALS).where(REFERRALS.c.incident_id == incident_id)
                               .order_by(REFERRALS.c.requested_at)).mappings().all()
    return {
        "incident_id": incident_id,
        "version": stored[-1].version,
        "events": [timeline_entry(item) | {"prev_hash": item.prev_hash, "hash": item.hash} for item in stored],
        "responses": [dict(row) for row in responses],
        "referrals": [dict(row) for row in referrals],
        # Who the incident's events notified, on which channels, and how each delivery ended (its attempts:
        # GET /api/deliveries/{key}).
        "notifications": notifications_with_deliveries(services.store.engine, incident_id=incident_id),
    }


@router.get("/verify", summary="Walk the whole hash chain and check it against the newest signed checkpoint: "
                                "intact, events checked, first altered or missing position",
            operation_id="verifyLog", response_model=None, responses=answers(ChainReportOut))
def verify(actor: Auditor, services: ServicesDep) -> dict[str, Any]:
    anchor = published_checkpoint(services.settings)
    report: dict[str, Any] = msgspec.to_builtins(services.store.verify(checkpoints=[anchor] if anchor else []))
    return report


@router.get("/reads", summary="Who read which incident's patient details, newest first (officials only)",
            operation_id="listReads", response_model=None, responses=answers(ReadsOut))
def reads(
    actor: Official,
    services: ServicesDep,
    incident_id: Annotated[str | None, Query(min_length=1, max_length=80, pattern=_ID,
                                             description="only reads of this incident")] = None,
    actor_id: Annotated[str | None, Query(min_length=1, max_length=80, pattern=_ID,
                                          description="only reads by this person")] = None,
    limit: Annotated[int, Query(ge=1, le=read_access.MAX_LISTED)] = 100,
) -> dict[str, Any]:
    return {"reads": read_access.reads(services.store.engine, incident_id=incident_id, actor_id=actor_id,
                                       limit=limit)}
