"""Engines for the log and the read models: SQLite (embedded default) or PostgreSQL (production)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Final

import psycopg
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

# The store reads and writes on raw driver connections (engine.raw_connection(), for speed), and SQLAlchemy does not
# wrap what those raise: a database that is away shows up as the driver's own error, not as SQLAlchemy's.
DATABASE_ERRORS: Final = (sqlite3.Error, psycopg.Error, SQLAlchemyError)
# The database could not be reached or used (refused, gone, locked, disk): the request may succeed if retried.
# Integrity and programming errors are not among them: they are bugs, and answer 500.
DATABASE_UNAVAILABLE: Final = (sqlite3.OperationalError, psycopg.OperationalError, OperationalError)


def make_engine(
    url: str,
    *,
    sqlite_synchronous: str = "FULL",
    busy_timeout_ms: int = 30_000,
    pool_size: int = 10,
    connect_args: dict[str, Any] | None = None,
) -> Engine:
    """Build an engine; SQLite gets WAL and the chosen synchronous level on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, sqlite_synchronous, busy_timeout_ms, pool_size)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    args = dict(connect_args or {})
    # Times come back in UTC whatever the server's zone, so hashes and intervals never depend on it.
    # Options given in the URL (e.g. ?options=-csearch_path%3Dx) are kept beside it.
    url_options = parsed.query.get("options")
    args["options"] = " ".join(filter(None, [url_options, args.get("options"), "-c timezone=UTC"]))  # type: ignore[list-item]
    parsed = parsed.difference_update_query(["options"])
    return create_engine(parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, connect_args=args)


def _sqlite_engine(url: str, synchronous: str, busy_timeout_ms: int, pool_size: int) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
    )

    @event.listens_for(engine, "connect")
    def configure(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver, so the store can say BEGIN IMMEDIATE itself (DESIGN.md §2).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin(connection: Any) -> None:
        # Writers ask for IMMEDIATE so two of them queue on the lock instead of failing with SQLITE_BUSY.
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine

