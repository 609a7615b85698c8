"""The audit trail: an incident's every event with who, when (server and device), and the chain's state."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import APIRouter
from sqlalchemy import select

from dispatch.api.answers import ChainReportOut, IncidentTrailOut
from dispatch.api.deps import Auditor, ServicesDep
from dispatch.api.openapi import answers
from dispatch.api.views import timeline_entry
from dispatch.errors import IncidentNotFound
from dispatch.events.catalogue import incident_stream
from dispatch.projections.tables import REFERRALS, RESPONSES

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("/incidents/{incident_id}",
            summary="Every event of an incident (actor, role, server and device time, hash), its intervals and "
                    "referrals",
            operation_id="getIncidentTrail", response_model=None, responses=answers(IncidentTrailOut, 404))
def incident_trail(incident_id: str, actor: Auditor, services: ServicesDep) -> dict[str, Any]:
    stored = services.store.read_stream(incident_stream(incident_id))
    if not stored:
        raise IncidentNotFound(f"incident {incident_id} does not exist", field="incident_id")
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
    }


@router.get("/verify", summary="Walk the whole hash chain: intact, events checked, first altered position",
            operation_id="verifyLog", response_model=None, responses=answers(ChainReportOut))
def verify(actor: Auditor, services: ServicesDep) -> dict[str, Any]:
    report: dict[str, Any] = msgspec.to_builtins(services.store.verify())
    return report
