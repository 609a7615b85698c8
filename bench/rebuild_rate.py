"""The rebuild rate: replay every projection from a realistic log, beside a plain read of the same log.

The log is written once through `handle` (bench/busy_log.py) into an SQLite file with
synchronous=OFF, since only the rebuild is timed; the rebuild then runs on a fresh engine at the default
durability, exactly as `dispatch rebuild` runs it: `Projector(store, all_projections()).rebuild()`.
For PostgreSQL the same events (same hash chain) are copied into a private schema, and rebuilt there.
The reference is reading and decoding the whole log in order (`EventStore.iter_all`), the floor any
rebuild pays before it projects anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy import Engine

from bench import busy_log
from bench.system import DEFAULT_POSTGRES_URL, database, progress
from dispatch.adapters.database import make_engine
from dispatch.adapters.eventlog.codec import COLUMNS, row_of
from dispatch.adapters.eventlog.sql import open_event_store
from dispatch.adapters.eventlog.store import EventStore
from dispatch.adapters.migrations.runner import upgrade
from dispatch.projections import all_projections
from dispatch.projections.runner import Projector

REBUILD_TARGET_EPS: Final[float] = 50_000.0


@dataclass(frozen=True)
class RebuildFigures:
    events: int
    rebuild_seconds: list[float]
    replay_seconds: list[float]

    @property
    def rebuild_eps(self) -> float:
        return self.events / min(self.rebuild_seconds)

    @property
    def replay_eps(self) -> float:
        return self.events / min(self.replay_seconds)


def build_log(path: Path, events: int) -> tuple[str, float]:
    """Write the busy log into a new SQLite file; its URL and the seconds the writing took."""
    url = f"sqlite:///{path}"
    engine = make_engine(url, sqlite_synchronous="OFF")
    try:
        upgrade(engine)
        started = time.perf_counter()
        busy_log.build(engine, events, progress=lambda head: progress(f"log: {head:,} events written"))
        return url, time.perf_counter() - started
    finally:
        engine.dispose()


def measure(engine: Engine, repeats: int, label: str) -> RebuildFigures:
    """Best of `repeats` full rebuilds of every projection, each beside a full read of the log."""
    store = open_event_store(engine)
    projector = Projector(store, all_projections())
    rebuilds, replays = [], []
    events = store.head()
    for attempt in range(1, repeats + 1):
        progress(f"{label}: replay and rebuild {attempt}/{repeats} of {events:,} events")
        replays.append(_timed(lambda: _count(store)))
        rebuilds.append(_timed(projector.rebuild))
    return RebuildFigures(events=events, rebuild_seconds=rebuilds, replay_seconds=replays)


def on_sqlite(url: str, repeats: int) -> RebuildFigures:
    engine = make_engine(url)  # the default durability, as `dispatch rebuild` opens it
    try:
        return measure(engine, repeats, "sqlite")
    finally:
        engine.dispose()


def on_postgres(source_url: str, directory: Path, repeats: int, postgres_url: str = DEFAULT_POSTGRES_URL
                ) -> RebuildFigures:
    """Copy the SQLite log into a private PostgreSQL schema and rebuild there."""
    source = make_engine(source_url)
    with database("postgres", directory, postgres_url) as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            progress("postgres: copying the log")
            _copy_events(open_event_store(source), engine)
            return measure(engine, repeats, "postgres")
        finally:
            engine.dispose()
            source.dispose()


def _copy_events(source: EventStore, target: Engine) -> None:
    connection = target.raw_connection()
    try:
        cursor = connection.cursor()
        with cursor.copy(f"COPY events ({COLUMNS}) FROM STDIN") as copy:
            for stored in source.iter_all():
                copy.write_row(row_of(stored))
        cursor.execute("ANALYZE events")
        connection.commit()
    finally:
        connection.close()


def _count(store: EventStore) -> int:
    return sum(1 for _event in store.iter_all())


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started
