"""The reference: the `eventsourcing` library doing the same work through its own normal paths.

Appends go through `Application.save(aggregate)`, the library's ordinary write path (aggregate method ->
pending event -> mapper/JSON transcoder -> recorder.insert_events, one transaction per save). Replay uses
`recorder.select_notifications` + `mapper.to_domain_event`, which is what its NotificationLogReader and
process applications do. We call the recorder rather than `app.notification_log.select` because the
latter caps a request at `log_section_size` (10 rows), which would make the library look slower than it
is; both sides read in batches of the same size instead.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Notification
from eventsourcing.sqlite import SQLiteConnectionPool, SQLiteDatastore

from bench.workload import Workload, filler


class BenchIncident(Aggregate):
    """An incident as an eventsourcing aggregate: a report, then notes (our IncidentReported, NoteAdded)."""

    @event("Reported")
    def __init__(
        self,
        *,
        source: str,
        lat: float,
        lon: float,
        zone: str,
        triage: str,
        category: str,
        patients: int,
        description: str,
        reporter: str,
        language: str,
    ) -> None:
        self.notes = 0

    @event("NoteAdded")
    def add_note(self, text: str) -> None:
        self.notes += 1


class BenchApplication(Application[UUID]):
    name = "BenchIncidents"


def _reported(description: str) -> BenchIncident:
    return BenchIncident(
        source="beach",
        lat=8.6512,
        lon=97.6418,
        zone="similan",
        triage="red",
        category="drowning",
        patients=1,
        description=description,
        reporter="lifeguard-07",
        language="en",
    )


@dataclass(frozen=True)
class ReferencePayloads:
    """Free text for the library's two events, sized so the stored `state` comes to the payload size."""

    description: str
    note: str

    @classmethod
    def sized(cls, app: BenchApplication, workload: Workload) -> ReferencePayloads:
        probe = _reported("")
        report = len(app.mapper.to_stored_event(probe.collect_events()[0]).state)
        probe.add_note("")
        note = len(app.mapper.to_stored_event(probe.collect_events()[0]).state)
        return cls(filler(workload.payload_bytes - report), filler(workload.payload_bytes - note))


@contextmanager
def application(env: dict[str, str]) -> Iterator[BenchApplication]:
    app = BenchApplication(env=env)
    try:
        yield app
    finally:
        app.close()


class ReferenceStore:
    """The library as a contestant: one `save` (one transaction) per event, replay via the recorder."""

    def __init__(self, app: BenchApplication, workload: Workload, backend: str) -> None:
        self.app = app
        self.workload = workload
        self.payloads = ReferencePayloads.sized(app, workload)
        self.aggregates: list[BenchIncident | None] = [None] * workload.streams
        self.append_key = f"{backend}_es_append_eps"
        self.replay_key: str | None = f"{backend}_es_replay_eps"

    def append_range(self, start: int, stop: int) -> tuple[int, float]:
        began = time.perf_counter()
        for index in range(start, stop):
            stream = self.workload.stream_of(index)
            aggregate = self.aggregates[stream]
            if aggregate is None:
                aggregate = self.aggregates[stream] = _reported(self.payloads.description)
            else:
                aggregate.add_note(self.payloads.note)
            self.app.save(aggregate)
        return stop - start, time.perf_counter() - began

    def replay(self) -> tuple[int, float]:
        mapper, batch_size = self.app.mapper, self.workload.batch_size
        count, after = 0, 0
        began = time.perf_counter()
        while batch := self._batch(after, batch_size):
            for notification in batch:
                mapper.to_domain_event(notification)
            count += len(batch)
            after = batch[-1].id
        return count, time.perf_counter() - began

    def _batch(self, after: int, limit: int) -> Sequence[Notification]:
        return self.app.recorder.select_notifications(start=after, limit=limit, inclusive_of_start=False)


def events_table(app: BenchApplication) -> str:
    """The table the library stores this application's events in (it is named after the application)."""
    return str(app.recorder.events_table_name)  # type: ignore[attr-defined]


def sqlite_durability(app: BenchApplication) -> str:
    """What the library's SQLite connections run with, read back from a pooled connection."""
    datastore = app.recorder.datastore  # type: ignore[attr-defined]
    assert isinstance(datastore, SQLiteDatastore)
    with datastore.get_connection(commit=False) as connection:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode")
        journal = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous")
        synchronous = int(cursor.fetchone()[0])
    source = inspect.getsource(SQLiteConnectionPool._create_connection)
    sets = "sets" if "synchronous" in source.lower() else "does not set"
    name = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(synchronous, str(synchronous))
    return (
        f"journal_mode={journal}, synchronous={name} (eventsourcing/sqlite.py sets WAL and {sets} "
        "PRAGMA synchronous, so it runs at this SQLite build's default)"
    )


def postgres_durability(app: BenchApplication) -> str:
    datastore = app.recorder.datastore  # type: ignore[attr-defined]
    with datastore.get_connection() as connection:
        row = connection.execute("SHOW synchronous_commit").fetchone()
    return f"synchronous_commit={row['synchronous_commit']}"
