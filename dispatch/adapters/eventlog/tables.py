"""The log's two tables as SQLModel classes: the schema Alembic migrates and auditors query."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import BigInteger, Column, DateTime, Integer, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

# SQLite makes `INTEGER PRIMARY KEY` the rowid (the cheapest, ordered key); PostgreSQL needs 64 bits.
PositionType = BigInteger().with_variant(Integer(), "sqlite")
# The text SQLAlchemy's DateTime stores on SQLite (UTC, no zone): raw SQL that writes or compares times there
# uses it too, so ORM and Core reads agree with its rows and text comparisons order as times do.
SQLITE_TIME_FORMAT: Final[str] = "%Y-%m-%d %H:%M:%S.%f"


def sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(SQLITE_TIME_FORMAT)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back tz-aware in UTC, on SQLite (which stores no zone) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; store UTC-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class EventRecord(SQLModel, table=True):
    """One fact. Never updated or deleted; `hash` chains it to every fact before it."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),)

    position: int = Field(sa_column=Column(PositionType, primary_key=True, autoincrement=False))
    stream_id: str = Field(sa_column=Column(String(120), nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    type: str = Field(sa_column=Column(String(80), nullable=False))
    schema_version: int = Field(sa_column=Column(Integer, nullable=False))
    # JSON kept as text: the hash covers these exact bytes, and PostgreSQL can still query data::jsonb.
    data: str = Field(sa_column=Column(Text, nullable=False))
    meta: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class CommandRecord(SQLModel, table=True):
    """Which positions a command produced, so a repeated command_id returns the original result."""

    __tablename__ = "commands"
    __table_args__ = {"sqlite_with_rowid": False}  # one b-tree on SQLite (migration 0004)

    command_id: str = Field(sa_column=Column(String(200), primary_key=True))
    first_position: int = Field(sa_column=Column(PositionType, nullable=False))
    last_position: int = Field(sa_column=Column(PositionType, nullable=False))
    # sha256 of the request, to tell a retry (same) from a reused key (different): the latter is a client bug.
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
