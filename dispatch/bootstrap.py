"""The one place that wires things: settings in, a Services bundle out."""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.clock import Clock, SystemClock
from dispatch.database import make_engine
from dispatch.events.store import EventStore
from dispatch.migrations.runner import upgrade
from dispatch.settings import Settings


@dataclass
class Services:
    settings: Settings
    clock: Clock
    store: EventStore


def build_services(settings: Settings, *, clock: Clock | None = None, migrate: bool = True) -> Services:
    """Engine, migrated schema and store for these settings."""
    clock = clock or SystemClock()
    engine = make_engine(
        settings.resolved_database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        pool_size=settings.db_pool_size,
    )
    if migrate:
        upgrade(engine)
    store = EventStore(engine, clock=clock, poll_seconds=settings.follow_poll_seconds)
    return Services(settings=settings, clock=clock, store=store)
