"""People and sessions: argon2-hashed passwords, and opaque session tokens checked by one indexed lookup.

A token is random; only its sha256 is stored, so a stolen database does not hand out sessions, and
checking a token costs one primary-key read, never a password hash. Revoking is deleting the row's
validity (revoked_at), effective at once on every API process.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import re
import secrets
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, Column, Engine, String, false, select, update
from sqlmodel import Field, Session, SQLModel

from dispatch.adapters.eventlog.tables import UTCDateTime
from dispatch.domain.commands import Actor
from dispatch.domain.errors import DispatchError, InvalidInput, NotFound
from dispatch.domain.notices import LINE_USER_ID_PATTERN, PHONE_PATTERN
from dispatch.domain.text import DISPLAY_NAME_MAX_LENGTH, USERNAME_MAX_LENGTH, clean_text
from dispatch.domain.vocabulary import ROLES, Role
from dispatch.runtime.clock import Clock


class UserRecord(SQLModel, table=True):
    __tablename__ = "users"

    id: str = Field(sa_column=Column(String(80), primary_key=True))
    role: str = Field(sa_column=Column(String(20), nullable=False))
    password_hash: str = Field(sa_column=Column(String(200), nullable=False))
    display_name: str = Field(sa_column=Column(String(120), nullable=False, default=""))
    # The team or boat a lifeguard or crew member belongs to: they may log milestones for it.
    resource_id: str | None = Field(default=None, sa_column=Column(String(80), nullable=True))
    active: bool = Field(sa_column=Column(Boolean, nullable=False, default=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    # Set for the demo accounts `dispatch up` makes on first start; cleared when the person sets their own
    # password. Production refuses to start while an active account still has one.
    must_change_password: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, default=False, server_default=false()))
    # How the outbox reaches the person (dispatch/app/notify.py): their LINE user id (from the LINE Official
    # Account's webhook when they add it as a friend), a mobile number for SMS, the language of their messages,
    # and the receiving facility they work at (a referral at risk reaches that facility's people).
    line_user_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    phone: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    language: str = Field(default="th", sa_column=Column(String(2), nullable=False, default="th", server_default="th"))
    facility_id: str | None = Field(default=None, sa_column=Column(String(80), nullable=True))


class SessionRecord(SQLModel, table=True):
    __tablename__ = "sessions"

    token_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    user_id: str = Field(sa_column=Column(String(80), nullable=False, index=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class AuthenticationFailed(DispatchError):
    code = "authentication_failed"


class UserNotFound(NotFound):
    code = "user_not_found"


class UserExists(DispatchError):
    code = "user_exists"


@dataclass(frozen=True)
class Contact:
    """How to reach one active person: their LINE user id and phone (either may be missing), in their language."""

    person_id: str
    line_user_id: str | None
    phone: str | None
    language: str


@dataclass(frozen=True)
class IssuedSession:
    token: str
    expires_at: datetime
    actor: Actor
    display_name: str


def token_hash(token: str) -> str:
    """What is stored of a session token, and what names a session outside this module."""
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(
        self, engine: Engine, clock: Clock, session_window: timedelta, *, time_cost: int = 3,
        memory_kib: int = 64 * 1024, cache_seconds: float = 0.0,
    ) -> None:
        self.engine = engine
        # Transactions that read and then write take SQLite's write lock up front: a deferred one fails at once
        # with "database is locked" when another connection appended since its read (WAL), which made every
        # sign-in fail while reports were coming in. Password hashing stays outside them.
        self._writes = engine.execution_options(sqlite_begin="IMMEDIATE")
        self.clock = clock
        self.session_window = session_window
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        # Sessions checked in the last `cache_seconds`, by token hash: a burst of reports from one phone or
        # a busy board costs one read, not one per request. Signing out or changing a password here
        # evicts at once; on another API process a revoked token lives at most cache_seconds longer.
        self._cache_seconds = cache_seconds
        self._recent: dict[str, tuple[Actor, str, datetime, float]] = {}
        self._recent_lock = threading.Lock()
        self._checks = itertools.count()
        self.password_checks = 0  # passwords verified by this object, so tests can count the work a sign-in does

    def add_user(
        self, user_id: str, role: str, password: str, *, display_name: str = "", resource_id: str | None = None,
        must_change_password: bool = False,
    ) -> None:
        """Create a user; the password is stored only as an argon2 hash."""
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
        clean_text(user_id, "name", max_length=USERNAME_MAX_LENGTH)  # every writer: the API, the CLI, first start
        clean_text(display_name, "display_name", max_length=DISPLAY_NAME_MAX_LENGTH)
        if len(password) < 10:
            raise InvalidInput("a password needs at least 10 characters", field="password")
        password_hash = self._hasher.hash(password)  # before the write lock: argon2 takes a while on purpose
        with Session(self._writes) as db:
            if db.get(UserRecord, user_id) is not None:
                raise UserExists(f"user {user_id} already exists", field="name")
            db.add(UserRecord(
                id=user_id, role=role, password_hash=password_hash, display_name=display_name or user_id,
                resource_id=resource_id, active=True, created_at=self.clock.now(),
                must_change_password=must_change_password,
            ))
            db.commit()

    def has_users(self) -> bool:
        with Session(self.engine) as db:
            return db.exec(select(UserRecord.id).limit(1)).first() is not None  # type: ignore[call-overload]

    def login(self, user_id: str, password: str) -> IssuedSession:
        """Check the password once and issue a session token for the shift."""
        with Session(self.engine) as db:
            user = db.get(UserRecord, user_id)
        # The password is checked outside any write transaction: argon2 must not hold up appends. An unknown
        # username costs the same hash as a known one (against a hash of nothing anyone knows), and an inactive
        # person's password is still checked: how long the answer takes must not tell who has an account.
        matches = self._password_matches(user.password_hash if user else self._dummy_hash, password)
        if user is None or not user.active or not matches:
            raise AuthenticationFailed("unknown user or wrong password", field="password")
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        expires_at = now + self.session_window
        with Session(self._writes) as db:
            db.add(SessionRecord(token_hash=token_hash(token), user_id=user.id, created_at=now, expires_at=expires_at))
            db.commit()
        return IssuedSession(token, expires_at, _actor(user), user.display_name)

    def authenticate(self, token: str) -> tuple[Actor, str]:
        """The actor behind a live session token, with their display name: one indexed read (or none, when
        the same session was checked in the last cache_seconds)."""
        return self.recently_checked(token) or self._authenticate(token)

    def recently_checked(self, token: str) -> tuple[Actor, str] | None:
        """The session's actor if it was checked within cache_seconds and has not expired since; no I/O."""
        with self._recent_lock:
            found = self._recent.get(token_hash(token))
        if found is None:
            return None
        actor, name, expires_at, fresh_until = found
        if time.monotonic() > fresh_until or expires_at <= self.clock.now():
            return None
        return actor, name

    def _forget(self, token: str | None = None, user_id: str | None = None) -> None:
        with self._recent_lock:
            if token is not None:
                self._recent.pop(token_hash(token), None)
            if user_id is not None:
                for key in [key for key, entry in self._recent.items() if entry[0].id == user_id]:
                    del self._recent[key]

    def _authenticate(self, token: str) -> tuple[Actor, str]:
        with Session(self.engine) as db:
            found = db.exec(  # type: ignore[call-overload]
                select(SessionRecord, UserRecord)
                .join(UserRecord, UserRecord.id == SessionRecord.user_id)  # type: ignore[arg-type]
                .where(SessionRecord.token_hash == token_hash(token))  # type: ignore[arg-type]
            ).first()
        if found is None:
            raise AuthenticationFailed("the session token is not known; sign in again")
        session, user = found
        if session.revoked_at is not None or session.expires_at <= self.clock.now() or not user.active:
            raise AuthenticationFailed("the session has ended; sign in again")
        actor = _actor(user)
        if self._cache_seconds > 0:
            # Trusted for between half and all of cache_seconds, at random: sessions first checked together (a
            # shift's phones after a restart, the benchmark's clients) would otherwise all be read again in the
            # same instant, and fifty reads on the thread pool at once held every request up for 100 ms.
            fresh_for = self._cache_seconds * random.uniform(0.5, 1.0)
            with self._recent_lock:
                self._recent[token_hash(token)] = (actor, user.display_name, session.expires_at,
                                                    time.monotonic() + fresh_for)
        return actor, user.display_name

    def change_password(self, token: str, current_password: str, new_password: str) -> Actor:
        """Set a new password for the session's person; their other sessions end, this one goes on."""
        actor, _name = self._authenticate(token)
        self._forget(user_id=actor.id)
        if len(new_password) < 10:
            raise InvalidInput("a password needs at least 10 characters", field="new_password")
        if new_password == current_password:
            raise InvalidInput("the new password must differ from the current one", field="new_password")
        with Session(self.engine) as db:
            user = db.get(UserRecord, actor.id)
        if user is None or not self._password_matches(user.password_hash, current_password):
            raise AuthenticationFailed("the current password is wrong", field="current_password")
        password_hash = self._hasher.hash(new_password)
        with Session(self._writes) as db:
            db.exec(update(UserRecord).where(UserRecord.id == actor.id)  # type: ignore[arg-type]
                    .values(password_hash=password_hash, must_change_password=False))
            db.exec(
                update(SessionRecord)
                .where(SessionRecord.user_id == actor.id, SessionRecord.token_hash != token_hash(token))  # type: ignore[arg-type]
                .where(SessionRecord.revoked_at.is_(None))  # type: ignore[union-attr]
                .values(revoked_at=self.clock.now())
            )
            db.commit()
        return actor

    def with_initial_passwords(self) -> list[str]:
        """Active people who still have the password first start generated for them (demo accounts)."""
        with Session(self.engine) as db:
            found = db.exec(select(UserRecord.id).where(  # type: ignore[call-overload]
                UserRecord.must_change_password, UserRecord.active).order_by(UserRecord.id))
            return [str(row[0]) for row in found]

    def revoke(self, token: str) -> None:
        self._forget(token=token)
        with Session(self.engine) as db:
            db.exec(
                update(SessionRecord)
                .where(SessionRecord.token_hash == token_hash(token))  # type: ignore[arg-type]
                .values(revoked_at=self.clock.now())
            )
            db.commit()

    def deactivate(self, user_id: str) -> None:
        """Stop a person signing in and end every session of theirs."""
        with Session(self._writes) as db:
            found = db.exec(update(UserRecord).where(UserRecord.id == user_id)  # type: ignore[arg-type]
                            .values(active=False))
            if found.rowcount == 0:
                raise UserNotFound(f"there is no person {user_id}", field="username")
            db.exec(update(SessionRecord)
                    .where(SessionRecord.user_id == user_id)  # type: ignore[arg-type]
                    .where(SessionRecord.revoked_at.is_(None))  # type: ignore[union-attr]
                    .values(revoked_at=self.clock.now()))
            db.commit()
        self._forget(user_id=user_id)

    def live_sessions(self, token_hashes: Collection[str]) -> set[str]:
        """Which of these sessions (by token hash) are still live: not revoked, not expired, person active.
        One read for every board socket of a process."""
        if not token_hashes:
            return set()
        with Session(self.engine) as db:
            found = db.exec(
                select(SessionRecord.token_hash)  # type: ignore[call-overload]
                .join(UserRecord, UserRecord.id == SessionRecord.user_id)
                .where(SessionRecord.token_hash.in_(list(token_hashes)))  # type: ignore[attr-defined]
                .where(SessionRecord.revoked_at.is_(None))  # type: ignore[union-attr]
                .where(SessionRecord.expires_at > self.clock.now())
                .where(UserRecord.active)
            )
            return {str(row[0]) for row in found}

    def forget_sessions(self, *, token_hash: str | None = None, user_id: str | None = None,
                        keep: str | None = None) -> None:
        """Drop ended sessions from the recently-checked cache (told by another API process)."""
        with self._recent_lock:
            for key in [key for key, entry in self._recent.items()
                        if key != keep and (key == token_hash or entry[0].id == user_id)]:
                del self._recent[key]

    def set_contact(self, user_id: str, *, line_user_id: str | None, phone: str | None, language: str,
                    facility_id: str | None) -> None:
        """Set how the outbox reaches a person (None clears a channel)."""
        for value, pattern, name in ((line_user_id, LINE_USER_ID_PATTERN, "line_user_id"),
                                     (phone, PHONE_PATTERN, "phone")):
            if value is not None and not re.fullmatch(pattern, value):
                raise InvalidInput(f"{name} must match {pattern}", field=name)
        if language not in ("th", "en"):
            raise InvalidInput("language must be th or en", field="language")
        with Session(self._writes) as db:
            found = db.exec(update(UserRecord).where(UserRecord.id == user_id)  # type: ignore[arg-type]
                            .values(line_user_id=line_user_id, phone=phone, language=language,
                                    facility_id=facility_id))
            if found.rowcount == 0:
                raise UserNotFound(f"there is no person {user_id}", field="username")
            db.commit()

    def contact(self, user_id: str) -> Contact | None:
        """How to reach this person now; None if they are gone or no longer active."""
        with Session(self.engine) as db:
            user = db.get(UserRecord, user_id)
        return _contact(user) if user is not None and user.active else None

    def contacts_of(self, *, resource_ids: Collection[str] = (), facility_ids: Collection[str] = (),
                    roles: Collection[str] = ()) -> list[Contact]:
        """Active people who crew these units, work at these facilities or hold these roles, by id."""
        if not (resource_ids or facility_ids or roles):
            return []
        with Session(self.engine) as db:
            found = db.exec(select(UserRecord).where(UserRecord.active).where(  # type: ignore[call-overload, arg-type]
                UserRecord.resource_id.in_(list(resource_ids))  # type: ignore[union-attr]
                | UserRecord.facility_id.in_(list(facility_ids))  # type: ignore[union-attr]
                | UserRecord.role.in_(list(roles))).order_by(UserRecord.id))  # type: ignore[attr-defined]
            return [_contact(row[0]) for row in found]

    @cached_property
    def _dummy_hash(self) -> str:
        """A hash with this hasher's parameters, of a password nobody knows."""
        return self._hasher.hash(secrets.token_urlsafe(32))

    def _password_matches(self, password_hash: str, password: str) -> bool:
        with self._recent_lock:
            self.password_checks = next(self._checks) + 1
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def _contact(user: UserRecord) -> Contact:
    return Contact(person_id=user.id, line_user_id=user.line_user_id, phone=user.phone, language=user.language)


def _actor(user: UserRecord) -> Actor:
    role: Role = user.role  # type: ignore[assignment]
    return Actor(id=user.id, role=role, resource_id=user.resource_id)
