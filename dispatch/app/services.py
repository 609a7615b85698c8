"""The one place that wires things: settings in, a Services bundle out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis import Redis
from sqlalchemy import Engine

from dispatch.adapters.accounts import Accounts
from dispatch.adapters.database import make_engine
from dispatch.adapters.eventlog.sql import open_event_store
from dispatch.adapters.eventlog.store import EventStore
from dispatch.adapters.eventlog.wakeup import RedisWakeup
from dispatch.adapters.migrations.runner import upgrade
from dispatch.app.deadline_queue import RqScheduler
from dispatch.domain.geo.places import Places, load_places
from dispatch.domain.policies import Scheduler
from dispatch.runtime.clock import Clock, ScaledClock, SystemClock
from dispatch.runtime.settings import Settings


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
    clock = clock or clock_for(settings)
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
    store = open_event_store(engine, clock=clock, poll_seconds=settings.follow_poll_seconds)
    accounts = Accounts(engine, clock, timedelta(hours=settings.session_hours),
                        time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib,
                        cache_seconds=settings.session_cache_seconds)
    return Services(settings=settings, clock=clock, store=store, accounts=accounts, places=load_places())


# --- referral deadline workers -------------------------------------------------------------


def clock_for(settings: Settings) -> Clock:
    """The system clock, or the scaled one a drill or a test configured (every process must agree)."""
    if settings.clock_speed == 1.0 and settings.clock_offset_seconds == 0.0:
        return SystemClock()
    return ScaledClock(settings.clock_anchor_at or datetime.now(UTC), settings.clock_speed,
                       timedelta(seconds=settings.clock_offset_seconds))


def attach_scheduler(services: Services, redis: Redis) -> Services:
    """Schedule referral checks on `redis` after every append; the API processes and the workers both need it.

    Give `redis` short socket timeouts (a few seconds): a command waits for its scheduling, and a Redis that
    hangs must not hold up a dispatch. A Redis that fails is only logged (the reconcile sweep catches up),
    and commands then skip it for one sweep interval, so it costs one command its client's retries.
    """
    settings = services.settings
    services.redis = redis
    # After a Redis failure, commands skip scheduling for one sweep interval: the sweep then catches up.
    services.scheduler = RqScheduler(redis, settings.queue_name, clock=services.clock,
                                     retry_seconds=settings.check_retry_seconds,
                                     pause_after_failure_seconds=settings.reconcile_seconds)
    return services


def connect_redis(services: Services) -> Services:
    """Attach Redis where settings name one: cross-process wake-ups, and the deadline queue for follow-ups."""
    url = services.settings.redis_url
    if not url:
        return services
    # Short timeouts and no client retries: a Redis that hangs or is gone must not hold up a report
    # (see attach_scheduler); what Redis misses, the reconcile sweep and board catch-up recover.
    redis = Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3, retry=None)
    services.store.wakeup = RedisWakeup(redis, services.settings.append_channel)
    return attach_scheduler(services, redis)
