"""Sign-in throttling that an outsider cannot turn against the command centre, and a bound on password hashing.

Why it is shaped this way:

- **Counted before hashing.** A try is written down as a failure before its password is hashed, and forgotten
  only when it succeeds. Forty tries at once for one username and address are counted one after another (the
  count is serialised per username: PostgreSQL's advisory lock, SQLite's write lock), so only the first
  `login_max_failures` reach the hash; the rest are refused at once. Counting after hashing let 38 of 40 hash.
- **Locked per (username, address), not per username.** Five wrong passwords for "operator" from an attacker's
  address lock that pair only: the operator at the centre's address is answered as usual. A lock per username
  let anyone who knew an operator's name keep the centre from signing in at a shift change.
- **Per address, across usernames.** An address that fails `login_max_failures_per_ip` times (password
  spraying) is locked for every username; the centre's operators share one address behind its router, hence
  the larger budget. An attacker outside the centre cannot make the centre's address fail.
- **Slowed per username, never locked.** Past `login_slowdown_after` failures for one username from all
  addresses (a guesser with many addresses), every address waits `login_slowdown_seconds` between its own
  tries for that username. An address that has not just failed — the centre — is answered at once, so the
  guesser gains at most one try per address per period and the operator still signs in.
- **No session is touched.** Nothing here ends or refuses a session that exists: a signed-in operator stays
  signed in whatever anyone guesses.
- **Hashing is bounded per process** (HashSlots): argon2id takes `password_memory_kib` per hash on purpose, so
  forty at once grew the API by gigabytes and held every report up. A few hash at a time; the rest wait briefly,
  then get 429 with Retry-After, and their try is not counted (no password was checked).

The counters are rows in the database, not in Redis: every API process shares them, a Redis flush or restart
cannot lift a lock, and sign-ins are rare enough (a few hundred a shift) that a row per try costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, TypeVar

from sqlalchemy import Column, Connection, Engine, Index, Integer, String, delete, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from dispatch.adapters.eventlog.tables import UTCDateTime
from dispatch.adapters.read_models import table_of
from dispatch.domain.errors import DispatchError
from dispatch.runtime.clock import Clock
from dispatch.runtime.settings import Settings

T = TypeVar("T")
# Password-check threads yield the CPU to request handling (nice 10 weighs about a tenth of nice 0).
HASH_NICENESS: Final[int] = 10


class LoginFailure(SQLModel, table=True):
    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_failed_at", "key", "failed_at"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    # "pair:<sha256 of username and address>", "user:<username>" or "ip:<address>"
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
class Keys:
    """The counters one try touches."""

    pair: str
    user: str
    client: str


@dataclass(frozen=True)
class Attempt:
    """A try that was counted as a failure before its password was checked; `rows` are its counter rows."""

    keys: Keys
    rows: tuple[int, ...]


def keys_of(username: str, client: str) -> Keys:
    # Usernames count case-insensitively, so "Operator" and "operator" share one budget. The pair is hashed
    # so that a long username and an IPv6 address still fit the column.
    name = username.lower()
    pair = hashlib.sha256(f"{name}\n{client}".encode()).hexdigest()
    return Keys(pair=f"pair:{pair}", user=f"user:{name[:100]}", client=f"ip:{client[:100]}")


class LoginThrottle:
    """Counts sign-in tries in the database before their password is checked; see the module docstring."""

    def __init__(self, engine: Engine, clock: Clock, settings: Settings) -> None:
        self.engine = engine
        self.clock = clock
        self.window = timedelta(seconds=settings.login_window_seconds)
        self.lockout = timedelta(seconds=settings.login_lockout_seconds)
        self.slowdown = timedelta(seconds=settings.login_slowdown_seconds)
        self.max_per_pair = settings.login_max_failures
        self.max_per_client = settings.login_max_failures_per_ip
        self.slowdown_after = settings.login_slowdown_after

    def check(self, username: str, client: str) -> None:
        """Raise TooManyAttempts while this username from this address is locked or slowed; reads only, so a
        refused flood costs the database no write (and SQLite's single writer stays with the reports)."""
        keys = keys_of(username, client)
        now = self.clock.now()
        with self.engine.connect() as db:
            refused = (self._locked(db, keys, now) or self._spent(db, keys.pair, self.max_per_pair, "username", now)
                       or self._spent(db, keys.client, self.max_per_client, "client", now)
                       or self._slowed(db, keys, now))
        if refused is not None:
            raise refused

    def attempt(self, username: str, client: str) -> Attempt:
        """Count a try as a failure, or raise TooManyAttempts (counting nothing) while it is locked or slowed."""
        keys = keys_of(username, client)
        now = self.clock.now()
        with self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as db, db.begin():
            _serialise(db, keys.user)
            db.execute(delete(_FAILURES).where(_FAILURES.c.failed_at <= now - self.window))
            db.execute(delete(_LOCKOUTS).where(_LOCKOUTS.c.locked_until <= now))
            # A lock written here commits with the block even though the try is refused.
            refused = (self._locked(db, keys, now)
                       or self._lock_if_spent(db, keys.pair, self.max_per_pair, "username", now)
                       or self._lock_if_spent(db, keys.client, self.max_per_client, "client", now)
                       or self._slowed(db, keys, now))
            if refused is None:
                rows = tuple(db.execute(insert(_FAILURES).values(key=key, failed_at=now)
                                        .returning(_FAILURES.c.id)).scalar_one()
                             for key in (keys.pair, keys.user, keys.client))
        if refused is not None:
            raise refused
        return Attempt(keys, rows)

    def succeeded(self, attempt: Attempt) -> None:
        """A right password wipes its pair's failures and this try's own rows; the username's count across
        addresses stays, so an operator signing in does not reset a guesser elsewhere."""
        with self.engine.begin() as db:
            db.execute(delete(_FAILURES).where(_FAILURES.c.key == attempt.keys.pair))
            db.execute(delete(_FAILURES).where(_FAILURES.c.id.in_(attempt.rows)))

    def refund(self, attempt: Attempt) -> None:
        """Forget a try whose password was never judged."""
        with self.engine.begin() as db:
            db.execute(delete(_FAILURES).where(_FAILURES.c.id.in_(attempt.rows)))

    def _locked(self, db: Connection, keys: Keys, now: datetime) -> TooManyAttempts | None:
        found = db.execute(select(_LOCKOUTS.c.key, _LOCKOUTS.c.locked_until).where(
            _LOCKOUTS.c.key.in_([keys.pair, keys.client]), _LOCKOUTS.c.locked_until > now)).all()
        if not found:
            return None
        key, until = max(found, key=lambda lock: lock[1])
        return _refusal("username" if key == keys.pair else "client", until, now)

    def _spent(self, db: Connection, key: str, limit: int, field: str, now: datetime) -> TooManyAttempts | None:
        """Refused if `key` has used its budget within the window and its lockout has not yet passed."""
        count, last = db.execute(select(func.count(), func.max(_FAILURES.c.failed_at))
                                 .where(_FAILURES.c.key == key, _FAILURES.c.failed_at > now - self.window)).one()
        if count < limit or last + self.lockout <= now:
            return None
        return _refusal(field, last + self.lockout, now)

    def _lock_if_spent(self, db: Connection, key: str, limit: int, field: str,
                       now: datetime) -> TooManyAttempts | None:
        """A key whose budget is spent is locked until `lockout` after its last failure, and this try refused;
        its failures are dropped either way, so once the lock lifts it has a whole budget again."""
        refused = self._spent(db, key, limit, field, now)
        count = db.execute(select(func.count()).where(_FAILURES.c.key == key)).scalar_one()
        if count >= limit:
            db.execute(delete(_FAILURES).where(_FAILURES.c.key == key))
        if refused is not None:
            _upsert_lock(db, key, now + timedelta(seconds=refused.retry_after_seconds))
        return refused

    def _slowed(self, db: Connection, keys: Keys, now: datetime) -> TooManyAttempts | None:
        guesses = db.execute(select(func.count()).where(
            _FAILURES.c.key == keys.user, _FAILURES.c.failed_at > now - self.window)).scalar_one()
        if guesses < self.slowdown_after:
            return None
        last = db.execute(select(func.max(_FAILURES.c.failed_at)).where(_FAILURES.c.key == keys.pair)).scalar()
        if last is None or last + self.slowdown <= now:
            return None
        return _refusal("username", last + self.slowdown, now, slowed=True)


def _refusal(field: str, until: datetime, now: datetime, *, slowed: bool = False) -> TooManyAttempts:
    wait = max(1, math.ceil((until - now).total_seconds()))
    what = {"username": "this username from this address", "client": "this address"}[field]
    why = "this username is being guessed, so each address waits between tries" if slowed else \
        f"too many failed sign-ins for {what}"
    return TooManyAttempts(f"{why}; try again in {wait} s", retry_after_seconds=wait, field=field)


def _serialise(db: Connection, key: str) -> None:
    """Make concurrent counts for one username wait for each other (SQLite's IMMEDIATE transaction already
    holds the whole database's write lock)."""
    if db.dialect.name == "postgresql":
        lock_id = int.from_bytes(hashlib.sha256(f"dispatch-login\n{key}".encode()).digest()[:8], "big", signed=True)
        db.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


def _upsert_lock(db: Connection, key: str, until: datetime) -> None:
    """Lock `key` until then; an upsert, so two processes locking it at once both succeed."""
    upsert = postgresql.insert if db.dialect.name == "postgresql" else sqlite.insert
    statement = upsert(_LOCKOUTS).values(key=key, locked_until=until)
    db.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"locked_until": until}))


class HashSlots:
    """At most `size` password checks at once in this process, on threads of their own at a lower CPU priority;
    a try that finds no slot free within `wait_seconds` is refused with 429 (see the module docstring).

    The lower priority keeps a flood of sign-ins from taking the cores that reports and the board need: argon2id
    is CPU-bound by design, and on the command centre's two cores two hashes at once doubled report latency."""

    def __init__(self, size: int, wait_seconds: float) -> None:
        self._free = asyncio.Semaphore(size)
        self.wait_seconds = wait_seconds
        self._threads = ThreadPoolExecutor(max(size, 1), thread_name_prefix="password-check",
                                           initializer=_lower_priority)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the slots, or raise TooManyAttempts after waiting `wait_seconds` for one."""
        try:
            async with asyncio.timeout(self.wait_seconds):
                await self._free.acquire()
        except TimeoutError:
            raise TooManyAttempts("the server is checking too many passwords at once; try again in a second",
                                  retry_after_seconds=1) from None
        try:
            yield
        finally:
            self._free.release()

    async def run(self, check: Callable[[], T]) -> T:
        """Run `check` (which hashes a password) on a slot's thread; call it while holding a slot."""
        return await asyncio.get_running_loop().run_in_executor(self._threads, check)


def _lower_priority() -> None:
    # Linux gives each thread its own nice value; elsewhere this changes nothing.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICENESS)


_FAILURES = table_of(LoginFailure)
_LOCKOUTS = table_of(LoginLockout)
