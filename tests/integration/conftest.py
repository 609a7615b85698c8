"""The integration tier's fixtures: a fresh log on SQLite and PostgreSQL, services over it, a private Redis (from
tests/servers.py, shared with the end-to-end tier; tests/unit loads neither conftest, so it starts without a
server or a driver); a database reachable by URL from other processes; and the local servers that speak LINE's
and the SMS gateway's protocols (tests/peers.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.peers import line_api, sms_api
from tests.servers import POSTGRES_URL, clock, engine, postgres_schema, private_redis, services, store

__all__ = ["clock", "engine", "line_api", "postgres_schema", "private_redis", "services", "sms_api", "store"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database a test and its worker subprocesses all open by URL: an SQLite file, or a fresh PostgreSQL
    database (a schema would not do: the URL cannot carry a search_path past make_engine's options)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'log.db'}"
        return
    name = f"wt_{uuid.uuid4().hex[:12]}"
    admin_dsn = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
