"""Who read which incident's patient details, when and through which view: a table of its own, not the event log.

A read changes nothing, so it is no event: the log stays the record of what happened to patients, and its hash
chain and projections are not made to carry every glance at a screen. Recording is best effort and after the
answer: a read is never slowed down or refused because its record could not be written (a database that is
busy or away is logged, by ids only, and the read goes on). Officials read the records (GET /api/audit/reads).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Column, Engine, Index, Integer, String, insert, select
from sqlmodel import Field, SQLModel

from dispatch.adapters.database import DATABASE_ERRORS
from dispatch.adapters.eventlog.tables import UTCDateTime
from dispatch.adapters.read_models import table_of
from dispatch.domain.commands import Actor

log = logging.getLogger("dispatch.adapters.read_access")

# Where the details were read: the incident's own page, or its audit trail.
View = Literal["incident", "audit_trail"]
MAX_LISTED = 500


class ReadAccessRecord(SQLModel, table=True):
    __tablename__ = "read_access"
    __table_args__ = (Index("ix_read_access_incident_id_read_at", "incident_id", "read_at"),
                      Index("ix_read_access_actor_id_read_at", "actor_id", "read_at"))

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    read_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    actor_id: str = Field(sa_column=Column(String(80), nullable=False))
    role: str = Field(sa_column=Column(String(20), nullable=False))
    incident_id: str = Field(sa_column=Column(String(80), nullable=False))
    view: str = Field(sa_column=Column(String(20), nullable=False))


READ_ACCESS = table_of(ReadAccessRecord)


@dataclass(frozen=True)
class Read:
    """One read to record: taken when the answer was made, written after it was sent."""

    read_at: datetime
    actor: Actor
    incident_id: str
    view: View


def record(engine: Engine, read: Read) -> None:
    """Write one read; a failure is logged (ids and the error's type only) and swallowed, never raised."""
    try:
        with engine.begin() as db:
            db.execute(insert(READ_ACCESS).values(
                read_at=read.read_at, actor_id=read.actor.id, role=read.actor.role, incident_id=read.incident_id,
                view=read.view,
            ))
    except DATABASE_ERRORS as exc:
        log.warning("read_not_recorded", extra={"actor": read.actor.id, "incident": read.incident_id,
                                                "view": read.view, "error": type(exc).__name__})


def reads(engine: Engine, *, incident_id: str | None = None, actor_id: str | None = None,
          limit: int = 100) -> list[dict[str, Any]]:
    """The newest reads first, of one incident and/or by one person."""
    table = READ_ACCESS
    query = select(table.c.read_at, table.c.actor_id, table.c.role, table.c.incident_id, table.c.view)
    if incident_id is not None:
        query = query.where(table.c.incident_id == incident_id)
    if actor_id is not None:
        query = query.where(table.c.actor_id == actor_id)
    with engine.connect() as db:
        rows = db.execute(query.order_by(table.c.read_at.desc(), table.c.id.desc()).limit(limit)).mappings()
        return [dict(row) for row in rows]
