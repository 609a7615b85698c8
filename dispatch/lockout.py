"""Sign-in throttling: too many failed sign-ins for a username, or from one client address, lock it for a while.

The counters live in the database, not in Redis: every API process shares them, they survive a Redis flush or
restart (a lockout that a Redis loss lifts is no lockout), and sign-ins are rare enough (a few hundred a shift)
that a row per failure costs nothing. Each failure is its own row, so two processes counting at once never
lose an increment; the worst a race can do is let one extra attempt through before the lock is written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, Connection, Engine, Index, Integer, String, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from dispatch.clock import Clock
from dispatch.errors import DispatchError
from dispatch.events.tables import UTCDateTime
from dispatch.projections.tables import table_of
from dispatch.settings import Settings


class LoginFailure(SQLModel, table=True):
    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_failed_at", "key", "failed_at"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    # "user:<username>" or "ip:<address>"
    key: str = Field(sa_column=Column(String(120), nullable=False))
    failed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))


class LoginLockout(SQLModel, table=True):
    __tablename__ = "login_lockouts"

    key: str = Field(sa_column=Column(String(120), primary_key=True))
    locked_until: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class TooManyAttempts(DispatchError):
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after_seconds: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class Limit:
    key: str
    max_failures: int
    field: str


class LoginThrottle:
    """Counts failed sign-ins per username and per client address in the database; see the module docstring."""

    def __init__(self, engine: Engine, clock: Clock, settings: Settings) -> None:
        self.engine = engine
        self.clock = clock
        self.window = timedelta(seconds=settings.login_window_seconds)
        self.lockout = timedelta(seconds=settings.login_lockout_seconds)
        self.max_per_user = settings.login_max_failures
        self.max_per_ip = settings.login_max_failures_per_ip

    def limits(self, username: str, client: str) -> list[Limit]:
        # Usernames count case-insensitively, so "Operator" and "operator" share one budget.
        return [Limit(f"user:{username.lower()[:100]}", self.max_per_user, "username"),
                Limit(f"ip:{client[:100]}", self.max_per_ip, "client")]

    def check(self, username: str, client: str) -> None:
        """Raise TooManyAttempts while the username or the client address is locked."""
        now = self.clock.now()
        limits = {limit.key: limit for limit in self.limits(username, client)}
        with self.engine.connect() as db:
            locks = db.execute(select(_LOCKOUTS.c.key, _LOCKOUTS.c.locked_until).where(
                _LOCKOUTS.c.key.in_(limits), _LOCKOUTS.c.locked_until > now)).all()
        if locks:
            key, until = max(locks, key=lambda found: found[1])
            wait = math.ceil((until - now).total_seconds())
            what = "this username" if limits[key].field == "username" else "this address"
            raise TooManyAttempts(f"too many failed sign-ins for {what}; try again in {wait} s",
                                  retry_after_seconds=wait, field=limits[key].field)

    def failed(self, username: str, client: str) -> None:
        """Count a failed sign-in; the one that reaches a limit locks that key for the lockout period."""
        now = self.clock.now()
        with self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as db, db.begin():
            db.execute(delete(_FAILURES).where(_FAILURES.c.failed_at <= now - self.window))
            db.execute(delete(_LOCKOUTS).where(_LOCKOUTS.c.locked_until <= now))
            for limit in self.limits(username, client):
                db.execute(insert(_FAILURES).values(key=limit.key, failed_at=now))
                count = db.execute(select(func.count()).where(
                    _FAILURES.c.key == limit.key, _FAILURES.c.failed_at > now - self.window)).scalar_one()
                if count >= limit.max_failures:
                    self._lock(db, limit.key, now + self.lockout)

    def succeeded(self, username: str) -> None:
        """A right password wipes the username's failures (the address's expire with their window)."""
        with self.engine.begin() as db:
            db.execute(delete(_FAILURES).where(_FAILURES.c.key == self.limits(username, "")[0].key))

    def _lock(self, db: Connection, key: str, until: datetime) -> None:
        """Lock `key` until then; an upsert, so two processes locking it at once both succeed."""
        db.execute(delete(_FAILURES).where(_FAILURES.c.key == key))
        upsert = postgresql.insert if db.dialect.name == "postgresql" else sqlite.insert
        statement = upsert(_LOCKOUTS).values(key=key, locked_until=until)
        db.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"locked_until": until}))


_FAILURES = table_of(LoginFailure)
_LOCKOUTS = table_of(LoginLockout)
