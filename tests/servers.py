"""Fixtures that need a server or a driver: a fresh log per test on SQLite and on the PostgreSQL server, the
services over it, and a redis-server of the test's own.

Only the integration and end-to-end tiers load them (their conftest.py imports them), so the unit tier starts
without psycopg, Redis, RQ or the migrations.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from dispatch.adapters.database import make_engine
from dispatch.adapters.embedded_redis import EmbeddedRedis
from dispatch.adapters.eventlog.store import EventStore
from dispatch.adapters.migrations.runner import upgrade
from dispatch.app.services import Services, services_on
from dispatch.runtime.clock import FrozenClock
from dispatch.runtime.settings import Settings
from tests.builders import T0

POSTGRES_URL = os.environ.get("DISPATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("DISPATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
"""The shared Redis: a test namespaces its keys, and flushes or kills only a `private_redis`."""


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


def _postgres_dsn() -> str:
    return POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A private schema in the `test` database, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(_postgres_dsn(), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:  # pragma: no cover - the server runs in every session and in CI
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}")
    with admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            yield schema
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def postgres_engine(schema: str, pool_size: int = 10) -> Engine:
    return make_engine(POSTGRES_URL, pool_size=pool_size, connect_args={"options": f"-c search_path={schema}"})


def sqlite_engine(directory: Path, pool_size: int = 10) -> Engine:
    return make_engine(f"sqlite:///{directory / 'log.db'}", pool_size=pool_size)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        built = sqlite_engine(tmp_path)
    else:
        built = postgres_engine(request.getfixturevalue("postgres_schema"))
    upgrade(built)
    yield built
    built.dispose()


@pytest.fixture
def services(engine: Engine, clock: FrozenClock, tmp_path: Path) -> Services:
    # Cheap password hashing: the tests check who may do what, not argon2's cost. The data dir (checkpoints,
    # their key) is the test's own, never a `var/` left in the working directory.
    settings = Settings(data_dir=tmp_path, follow_poll_seconds=0.05, password_time_cost=1, password_memory_kib=1024)
    return services_on(engine, settings, clock)


@pytest.fixture
def store(services: Services) -> EventStore:
    return services.store


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A redis-server of this test's own, on a unix socket: it may be flushed, killed and started again."""
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()
