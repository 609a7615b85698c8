"""The raw log, page by page, for audits and integrations."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query

from dispatch.entrypoints.api.deps import Auditor, ServicesDep
from dispatch.entrypoints.api.limits import POSITION_MAX
from dispatch.entrypoints.api.schemas import EventsPageOut, StoredEventOut

router = APIRouter(prefix="/api/events", tags=["audit"])


@router.get("", response_model=EventsPageOut, summary="Events after a position, in log order")
def read_events(
    actor: Auditor,
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, le=POSITION_MAX, description="the last position you have")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventsPageOut:
    store = services.store
    events = store.read_all(after=after, limit=limit)
    return EventsPageOut(
        events=[
            StoredEventOut(
                position=e.position, stream_id=e.stream_id, version=e.version, type=e.type,
                schema_version=e.schema_version, data=orjson.loads(e.data), meta=orjson.loads(e.meta_json),
                recorded_at=e.recorded_at, prev_hash=e.prev_hash, hash=e.hash,
            )
            for e in events
        ],
        next_after=events[-1].position if events else after,
        head=store.head(),
    )
