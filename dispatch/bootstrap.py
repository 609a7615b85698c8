"""The one place that wires things: settings in, a Services bundle out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from redis import Redis
from sqlalchemy import Engine

from dispatch.accounts import Accounts
from dispatch.clock import Clock, SystemClock
from dispatch.database import make_engine
from dispatch.events.store import EventStore
from dispatch.geo.places import Places, load_places
from dispatch.migrations.runner import upgrade
from dispatch.policies import Scheduler
from dispatch.settings import Settings


@dataclass
class Services:
    settings: Settings
    clock: Clock
    store: EventStore
    accounts: Accounts
    places: Places
    # None when no Redis is configured (tests of the log alone); the API then reports it as absent.
    redis: Redis | None = None
    # Follow-ups after an append (the referral deadline checks); None where no worker queue is wired.
    scheduler: Scheduler | None = None


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
    return services_on(engine, settings, clock)


def services_on(engine: Engine, settings: Settings, clock: Clock) -> Services:
    """Services over an engine whose schema is already migrated (tests hand in their own)."""
    store = EventStore(engine, clock=clock, poll_seconds=settings.follow_poll_seconds)
    accounts = Accounts(engine, clock, timedelta(hours=settings.session_hours),
                        time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib)
    return Services(settings=settings, clock=clock, store=store, accounts=accounts, places=load_places())
