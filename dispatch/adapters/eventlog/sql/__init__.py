"""The event store on an SQL database, one class per dialect; `open_event_store` picks it from the engine."""

from __future__ import annotations

from typing import Final

from sqlalchemy import Engine

from dispatch.adapters.eventlog.sql.base import SqlEventStore
from dispatch.adapters.eventlog.sql.postgres import PostgresEventStore
from dispatch.adapters.eventlog.sql.sqlite import SqliteEventStore
from dispatch.adapters.eventlog.store import EventStore
from dispatch.adapters.eventlog.wakeup import Wakeup
from dispatch.runtime.clock import Clock

STORES: Final[dict[str, type[SqlEventStore]]] = {
    "sqlite": SqliteEventStore, "postgresql": PostgresEventStore}


def open_event_store(engine: Engine, *, clock: Clock | None = None, wakeup: Wakeup | None = None,
                     poll_seconds: float = 1.0) -> EventStore:
    """The event store for the engine's database; ValueError for a database it has no class for."""
    store = STORES.get(engine.dialect.name)
    if store is None:
        raise ValueError(f"the event log needs SQLite or PostgreSQL, not {engine.dialect.name}")
    return store(engine, clock=clock, wakeup=wakeup, poll_seconds=poll_seconds)


__all__ = ["PostgresEventStore", "SqlEventStore", "SqliteEventStore", "open_event_store"]
