"""How far behind the log the read models are, and whether the projector is stalled, readable from any process.

Lag comes from the database alone (the projections' checkpoints against the log's head), so the API can tell a
stale board even when the projector is dead or Redis is away. Why the projector stopped (its position and the
error's class and code) comes from a small record the projector keeps in Redis with an expiry: a record that
has expired means no projector has said anything for a while.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final, Literal

import orjson
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Engine, func, select

from dispatch.adapters.eventlog.tables import EventRecord
from dispatch.adapters.read_models import CHECKPOINTS, table_of

EVENTS = table_of(EventRecord)
log = logging.getLogger("dispatch.projector")
# A record older than this is gone: the projector writes it at least every few seconds while it runs.
STATUS_TTL_SECONDS: Final[int] = 30

State = Literal["running", "stalled"]


@dataclass(frozen=True)
class Lag:
    """The read models' shared position against the log's head; `seconds`: how long the oldest event they have
    not applied has been in the log (0 when they are at the head)."""

    position: int
    head: int
    seconds: float

    @property
    def events(self) -> int:
        return max(0, self.head - self.position)


def projector_lag(engine: Engine, names: Sequence[str], now: datetime) -> Lag:
    """The lag of the projections `names` (the furthest behind of them) at `now`, from the database."""
    with engine.connect() as db:
        found = dict(db.execute(select(CHECKPOINTS.c.name, CHECKPOINTS.c.position)
                                .where(CHECKPOINTS.c.name.in_(list(names)))).all())
        position = min((int(found.get(name, 0)) for name in names), default=0)
        head = int(db.execute(select(func.coalesce(func.max(EVENTS.c.position), 0))).scalar_one())
        oldest: datetime | None = None
        if head > position:
            oldest = db.execute(select(EVENTS.c.recorded_at).where(EVENTS.c.position > position)
                                .order_by(EVENTS.c.position).limit(1)).scalar()
    seconds = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return Lag(position=position, head=head, seconds=round(seconds, 3))


@dataclass(frozen=True)
class ProjectorStatus:
    """What the projector says of itself. `stalled_at`: the position of the event it cannot apply; `error`: that
    failure's class and database code (never its message, which may quote patient text)."""

    state: State
    position: int
    updated_at: datetime
    stalled_at: int | None = None
    error: str | None = None
    since: datetime | None = None
    attempts: int = 0

    def to_json(self) -> dict[str, Any]:
        return {key: value.isoformat() if isinstance(value, datetime) else value
                for key, value in asdict(self).items()}


def error_code(exc: BaseException) -> str:
    """`DataError 22P05`: the failure's class and, from a database, its SQLSTATE or SQLite error name.

    Only these reach logs and probes: a driver's message, and SQLAlchemy's with its bound parameters, may quote
    the very text that failed."""
    cause: Any = getattr(exc, "orig", None) or exc.__cause__ or exc
    code = getattr(cause, "sqlstate", None) or getattr(cause, "sqlite_errorname", None)
    name = type(cause).__name__
    return f"{name} {code}" if code else name


def failure_site(exc: BaseException) -> str:
    """Where the failure was raised (file:line in function), innermost frame of the project's code first."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [frame for frame in frames if "/dispatch/" in frame.filename] or frames
    if not ours:
        return "unknown"
    frame = ours[-1]
    return f"{frame.filename.rsplit('/dispatch/', 1)[-1]}:{frame.lineno} in {frame.name}"


class StatusRecord:
    """The projector's status in Redis under `key`, expiring after STATUS_TTL_SECONDS. Writing never raises (a
    Redis away must not stop the projector); reading answers None when there is no fresh record."""

    def __init__(self, redis: Redis | None, key: str) -> None:
        self.redis = redis
        self.key = key

    def write(self, status: ProjectorStatus) -> None:
        if self.redis is None:
            return
        try:
            self.redis.set(self.key, orjson.dumps(status.to_json()), ex=STATUS_TTL_SECONDS)
        except RedisError as exc:
            log.debug("projector status not written: redis unavailable", extra={"error": type(exc).__name__})

    def read(self) -> dict[str, Any] | None:
        if self.redis is None:
            return None
        raw = self.redis.get(self.key)
        if raw is None:
            return None
        found: dict[str, Any] = orjson.loads(raw)
        return found


def assess(lag: Lag, record: dict[str, Any] | None, max_lag_seconds: float) -> dict[str, Any]:
    """What probes say of the read models: status ok, lagging (the oldest event not applied is older than
    `max_lag_seconds`) or stalled (the projector's fresh record says it cannot apply an event), and by how much."""
    stalled = record is not None and record.get("state") == "stalled"
    late = lag.seconds > max_lag_seconds
    found: dict[str, Any] = {
        "status": "stalled" if stalled else "lagging" if late else "ok",
        "position": lag.position, "lag_events": lag.events, "lag_seconds": lag.seconds,
        "max_lag_seconds": max_lag_seconds,
        "reported_at": None if record is None else record.get("updated_at"),
    }
    if stalled and record is not None:
        found |= {key: record.get(key) for key in ("stalled_at", "error", "since", "attempts")}
    return found


def status_key(live_channel: str) -> str:
    """The record's key, namespaced like the deployment's live channel (several deployments may share a Redis)."""
    return f"{live_channel}:projector-status"
