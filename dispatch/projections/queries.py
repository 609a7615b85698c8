"""Reading the read models: the board as it is now (or was), the fleet and the referrals."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, or_, select, text

from dispatch.adapters.eventlog.store import EventStore
from dispatch.adapters.eventlog.tables import sqlite_time
from dispatch.adapters.read_models import BOARD, CHECKPOINTS, REFERRALS, RESOURCES
from dispatch.domain.catalogue import Position
from dispatch.domain.commands import Actor
from dispatch.domain.decisions import access
from dispatch.domain.decisions.resource import Resource
from dispatch.domain.geo.motion import TRACKERS, is_stale
from dispatch.domain.geo.seasons import service_state
from dispatch.domain.vocabulary import Season
from dispatch.projections.board import TABLE as BOARD_TABLE
from dispatch.projections.board import Board, board_rows, with_clock
from dispatch.projections.rows import Row, replay_in_memory

LIVE_PROJECTIONS = ("board", "resources", "referrals")


def shared_position(engine: Engine) -> int:
    """The log position every live view has reached: what the board on screen reflects."""
    table = CHECKPOINTS
    with engine.connect() as db:
        found = db.execute(
            select(func.min(table.c.position), func.count()).where(table.c.name.in_(LIVE_PROJECTIONS))
        ).one()
    return int(found[0]) if found[1] == len(LIVE_PROJECTIONS) else 0


def current_board(engine: Engine, now: datetime) -> dict[str, Any]:
    table = BOARD
    with engine.connect() as db:
        rows = [dict(row) for row in db.execute(select(table).where(table.c.status == "open")).mappings()]
    return {"position": shared_position(engine), "as_of": None, "incidents": board_rows(rows, now)}


def board_as_of(store: EventStore, position: int, moment: datetime) -> dict[str, Any]:
    """The board as it stood after `position`, replayed from the log (after-action review)."""
    events = []
    for stored in store.iter_all():
        if stored.position > position:
            break
        events.append(stored)
    rows = replay_in_memory(Board(), events).rows(BOARD_TABLE)
    return {"position": position, "as_of": moment, "incidents": board_rows(rows, moment)}


def position_at(engine: Engine, moment: datetime) -> int:
    """The last log position recorded at or before `moment`."""
    with engine.connect() as db:
        found = db.execute(
            text("SELECT COALESCE(MAX(position), 0) FROM events WHERE recorded_at <= :moment"),
            {"moment": moment if engine.dialect.name != "sqlite" else sqlite_time(moment)},
        ).scalar()
    return int(found or 0)


def resources(engine: Engine, now: datetime, stale_after: timedelta) -> dict[str, Any]:
    table = RESOURCES
    with engine.connect() as db:
        rows = [dict(row) for row in db.execute(select(table).order_by(table.c.kind, table.c.resource_id)).mappings()]
    for row in rows:
        row["seconds_in_status"] = int((now - row["status_since"]).total_seconds())
        row.update(service_fields(row["season"], now))
        row["position_stale"] = is_stale(row["position_at"], row["position_source"] in TRACKERS, now, stale_after)
    return {"position": shared_position(engine), "resources": rows}


def service_fields(season: Season, now: datetime) -> dict[str, Any]:
    """Whether a unit of this season serves at `now`, why not, and when that changes, as the API shows it."""
    state = service_state(season, now)
    # Rounded up: whoever asks again after that long finds the change made.
    changes_in = int((state.changes_at - now).total_seconds()) + 1 if state.changes_at else None
    return {"in_service": state.in_service, "service_reason": state.reason, "returns_at": state.returns_at,
            "season_ends_at": state.season_ends_at, "service_changes_in_seconds": changes_in}


def referrals(engine: Engine, now: datetime, *, recent_since: datetime) -> dict[str, Any]:
    """Open referrals and those closed since `recent_since`, with elapsed time and time left."""
    table = REFERRALS
    with engine.connect() as db:
        query = select(table).where(or_(table.c.arrived_at.is_(None), table.c.arrived_at >= recent_since))
        rows = [dict(row) for row in db.execute(query.order_by(table.c.requested_at)).mappings()]
    for row in rows:
        end = row["arrived_at"] or now
        row["elapsed_seconds"] = int((end - row["requested_at"]).total_seconds())
        row["seconds_left"] = int((row["deadline_at"] - now).total_seconds()) if row["deadline_at"] and not row[
            "arrived_at"] else None
    return {"position": shared_position(engine), "referrals": rows}



def mmsi_claimed_by(engine: Engine, mmsi: str, *, other_than: str) -> str | None:
    """The resource, other than `other_than`, that already follows this AIS transponder."""
    with engine.connect() as db:
        found = db.execute(select(RESOURCES.c.resource_id).where(
            RESOURCES.c.mmsi == mmsi, RESOURCES.c.resource_id != other_than)).scalar()
    return str(found) if found is not None else None


def fleet(engine: Engine) -> list[Resource]:
    """Every resource as the decisions and recommendations see one, from the fleet view."""
    with engine.connect() as db:
        rows = list(db.execute(select(RESOURCES)).mappings())
    return [
        Resource(
            id=row["resource_id"], kind=row["kind"], name=row["name"], subtype=row["subtype"],
            speed_knots=row["speed_knots"],
            position=Position(lat=row["lat"], lon=row["lon"]) if row["lat"] is not None else None,
            position_at=row["position_at"], home_site_id=row["home_site_id"], zone=row["zone"],
            status=row["status"], status_since=row["status_since"], incident_id=row["incident_id"],
            season=row["season"],
            mmsi=row["mmsi"], position_source=row["position_source"], course_deg=row["course_deg"],
            sog_knots=row["sog_knots"],
        )
        for row in rows
    ]


def incidents_for(engine: Engine, now: datetime, *, recent_since: datetime, on: Actor | None = None) -> dict[str, Any]:
    """Open incidents and those closed since `recent_since`, newest first; with `on`, only those that person is
    on (reported, or crews a unit sent to: a lifeguard's "my incidents", decisions/access.py)."""
    with engine.connect() as db:
        query = select(BOARD).where(or_(BOARD.c.status == "open", BOARD.c.closed_at >= recent_since))
        rows = [dict(row) for row in db.execute(query.order_by(BOARD.c.reported_at.desc())).mappings()]
    if on is not None:
        rows = [row for row in rows if access.is_on_incident(on, row["reporter"], _unit_ids(row))]
    return {"position": shared_position(engine), "incidents": [with_clock(row, now) for row in rows]}


def incidents_on(engine: Engine, actor: Actor, incident_ids: set[str]) -> set[str]:
    """Of these incidents, those the actor is on (reported, or crews a unit sent to)."""
    if not incident_ids:
        return set()
    with engine.connect() as db:
        query = select(BOARD.c.incident_id, BOARD.c.reporter, BOARD.c.assignments).where(
            BOARD.c.incident_id.in_(sorted(incident_ids)))
        rows = db.execute(query).mappings().all()
    return {row["incident_id"] for row in rows if access.is_on_incident(actor, row["reporter"], _unit_ids(row))}


def _unit_ids(row: Row | Any) -> list[str]:
    return [assignment["resource_id"] for assignment in row["assignments"]]
