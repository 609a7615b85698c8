"""Event store benchmark: our store against the `eventsourcing` library and raw driver ceilings, in one run.

The issue's targets: append ≥ 1.0× eventsourcing on SQLite and on PostgreSQL, replay ≥ 2.0×. Every
append is one event in its own transaction, with expected_version and a fresh command id (so the
idempotency record is paid for), at the default durability: SQLite WAL + synchronous=FULL, PostgreSQL
synchronous_commit as the server has it. Replay reads the whole log in order and decodes every event.

    .venv/bin/python -m bench.event_store [--quick] [--events N] [--streams N]
                                          [--backend sqlite|postgres|both] [--postgres-url URL]

Progress goes to stderr. The table goes to stdout, and its last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any, Final

import psycopg
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from bench import reference
from bench.ceilings import PostgresCeiling, SqliteCeiling, raw_rows
from bench.harness import Contestant, run_appends, run_replays
from bench.workload import OurPayloads, Workload, incident_reported, note_added
from dispatch.adapters.database import make_engine
from dispatch.adapters.eventlog.sql import open_event_store
from dispatch.adapters.migrations.runner import upgrade
from dispatch.domain.catalogue import Event

DEFAULT_POSTGRES_URL: Final[str] = "postgresql://postgres@127.0.0.1:5432/test"
APPEND_TARGET: Final[float] = 1.0
REPLAY_TARGET: Final[float] = 2.0


@dataclass
class Figures:
    """Everything measured, keyed `<backend>_<what>`; rates are events per second."""

    values: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def rate(self, key: str, events: int, seconds: float) -> None:
        self.values[key] = events / seconds

    def ratio(self, key: str, numerator: str, denominator: str) -> None:
        if numerator in self.values and denominator in self.values:
            self.values[key] = self.values[numerator] / self.values[denominator]


# --- our store ------------------------------------------------------------------------------------


class OurStore:
    """Our EventStore as a contestant: one `append` per event with expected_version and a new command id."""

    def __init__(self, engine: Engine, workload: Workload, append_key: str, replay_key: str | None) -> None:
        upgrade(engine)
        self.store = open_event_store(engine)
        self.workload = workload
        self.payloads = OurPayloads.sized(workload)
        self.versions = [0] * workload.streams
        self.append_key = append_key
        self.replay_key = replay_key

    def append_range(self, start: int, stop: int) -> tuple[int, float]:
        store, workload, versions = self.store, self.workload, self.versions
        began = time.perf_counter()
        for index in range(start, stop):
            stream = workload.stream_of(index)
            event = _our_event(workload.incident_ids[stream], versions[stream], self.payloads)
            expected, command_id = versions[stream], workload.command_ids[index]
            result = store.append(event.stream_id, [event], expected_version=expected, command_id=command_id)
            versions[stream] = result.last_versions[event.stream_id]
        return stop - start, time.perf_counter() - began

    def replay(self) -> tuple[int, float]:
        """The whole log in position order, every row decoded into its typed event by the store."""
        count = 0
        began = time.perf_counter()
        for stored in self.store.iter_all(batch_size=self.workload.batch_size):
            if not isinstance(stored.event, Event):  # pragma: no cover - a decoding bug, not a slow path
                raise TypeError(f"position {stored.position} decoded to {type(stored.event)}")
            count += 1
        return count, time.perf_counter() - began


def _our_event(incident_id: str, version: int, payloads: OurPayloads) -> Event:
    now = datetime.now(UTC)
    if version == 0:
        return incident_reported(incident_id, now, payloads.description)
    return note_added(incident_id, now, payloads.note)


@contextmanager
def _engine(url: str, **options: Any) -> Iterator[Engine]:
    engine = make_engine(url, **options)
    try:
        yield engine
    finally:
        engine.dispose()


def _scalar(engine: Engine, sql: str) -> Any:
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        row = cursor.fetchone()
        connection.rollback()
        return row[0] if row is not None else None
    finally:
        connection.close()


# --- per backend -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    rounds: int
    replays: int
    ceiling_events: int
    analyze: bool


def run_sqlite(workload: Workload, options: Options, figures: Figures) -> None:
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-event-store-")))
        full = stack.enter_context(_engine(f"sqlite:///{directory / 'ours.db'}"))
        normal_url = f"sqlite:///{directory / 'ours-normal.db'}"
        normal = stack.enter_context(_engine(normal_url, sqlite_synchronous="NORMAL"))
        es_path = directory / "eventsourcing.db"
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(es_path)}
        app = stack.enter_context(reference.application(env))
        ceiling = SqliteCeiling(directory / "raw.db", raw_rows(workload), options.ceiling_events)
        stack.callback(ceiling.close)
        contestants: list[Contestant] = [
            OurStore(full, workload, "sqlite_append_eps", "sqlite_replay_eps"),
            OurStore(normal, workload, "sqlite_append_normal_eps", None),
            reference.ReferenceStore(app, workload, "sqlite"),
            ceiling,
        ]
        figures.notes["sqlite_ours_durability"] = _sqlite_pragmas(full)
        figures.notes["sqlite_eventsourcing_durability"] = reference.sqlite_durability(app)
        figures.values.update(run_appends(contestants, workload.events, options.rounds, "sqlite"))
        figures.values.update(run_replays(contestants, workload.events, options.replays, "sqlite"))
        figures.values["sqlite_payload_bytes"] = float(_scalar(full, "SELECT AVG(LENGTH(data)) FROM events"))
        figures.values["sqlite_es_payload_bytes"] = _sqlite_average(
            es_path, f"SELECT AVG(LENGTH(state)) FROM {reference.events_table(app)}"
        )


def _sqlite_pragmas(engine: Engine) -> str:
    journal = _scalar(engine, "PRAGMA journal_mode")
    synchronous = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[int(_scalar(engine, "PRAGMA synchronous"))]
    return f"journal_mode={journal}, synchronous={synchronous} (dispatch.adapters.database.make_engine default)"


def _sqlite_average(path: Path, sql: str) -> float:
    connection = sqlite3.connect(path)
    try:
        return float(connection.execute(sql).fetchone()[0])
    finally:
        connection.close()


def run_postgres(workload: Workload, options: Options, figures: Figures, url: str) -> None:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with ExitStack() as stack:
        schema = stack.enter_context(_private_schema(dsn))
        engine = stack.enter_context(_engine(url, connect_args={"options": f"-c search_path={schema}"}))
        app = stack.enter_context(reference.application(_postgres_env(url, schema)))
        ceiling = PostgresCeiling(dsn, schema, raw_rows(workload), options.ceiling_events)
        stack.callback(ceiling.close)
        contestants: list[Contestant] = [
            OurStore(engine, workload, "postgres_append_eps", "postgres_replay_eps"),
            reference.ReferenceStore(app, workload, "postgres"),
            ceiling,
        ]
        synchronous_commit = _scalar(engine, "SHOW synchronous_commit")
        figures.notes["postgres_ours_durability"] = f"synchronous_commit={synchronous_commit}"
        figures.notes["postgres_eventsourcing_durability"] = reference.postgres_durability(app)
        figures.values.update(run_appends(contestants, workload.events, options.rounds, "postgres"))
        tables = ["events", reference.events_table(app), "raw_events"]
        figures.notes["postgres_statistics"] = _statistics(dsn, schema, tables, analyze=options.analyze)
        figures.values.update(run_replays(contestants, workload.events, options.replays, "postgres"))
        average = _scalar(engine, "SELECT AVG(OCTET_LENGTH(data)) FROM events")
        figures.values["postgres_payload_bytes"] = float(average)
        figures.values["postgres_es_payload_bytes"] = _postgres_average(
            dsn, f"SELECT AVG(OCTET_LENGTH(state)) FROM {schema}.{tables[1]}"
        )


def _statistics(dsn: str, schema: str, tables: list[str], *, analyze: bool) -> str:
    """ANALYZE the tables if asked; either way say whether the planner has statistics for the replays."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        if analyze:
            for table in tables:
                connection.execute(f"ANALYZE {schema}.{table}")
        row = connection.execute("SHOW autovacuum").fetchone()
    autovacuum = row[0] if row else "?"
    if analyze:
        return f"tables ANALYZEd before the replays (--analyze); server autovacuum={autovacuum}"
    return f"replays run on the tables as written, no ANALYZE; server autovacuum={autovacuum}"


@contextmanager
def _private_schema(dsn: str) -> Iterator[str]:
    """A schema of our own in the target database, dropped afterwards (as tests/servers.py does)."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            yield schema
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def _postgres_env(url: str, schema: str) -> dict[str, str]:
    parsed = make_url(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parsed.database or "",
        "POSTGRES_HOST": parsed.host or "127.0.0.1",
        "POSTGRES_PORT": str(parsed.port or 5432),
        "POSTGRES_USER": parsed.username or "postgres",
        "POSTGRES_PASSWORD": parsed.password or "",
        "POSTGRES_SCHEMA": schema,
    }


def _postgres_average(dsn: str, sql: str) -> float:
    with psycopg.connect(dsn) as connection:
        row = connection.execute(sql).fetchone()
    assert row is not None
    return float(row[0])


# --- report ----------------------------------------------------------------------------------------

# (operation, implementation, key suffix); a row is printed only if it was measured.
TABLE_ROWS: Final[list[tuple[str, str, str]]] = [
    ("append", "ours (synchronous=FULL)", "append_eps"),
    ("append", "ours (synchronous=NORMAL)", "append_normal_eps"),
    ("append", "eventsourcing", "es_append_eps"),
    ("append", "raw driver ceiling", "raw_append_eps"),
    ("replay", "ours", "replay_eps"),
    ("replay", "eventsourcing", "es_replay_eps"),
    ("replay", "raw driver ceiling", "raw_replay_eps"),
]


def add_ratios(figures: Figures, backends: list[str]) -> None:
    for backend in backends:
        for operation in ("append", "replay"):
            ours = f"{backend}_{operation}_eps"
            es, raw = f"{backend}_es_{operation}_eps", f"{backend}_raw_{operation}_eps"
            figures.ratio(f"{backend}_{operation}_vs_es", ours, es)
            figures.ratio(f"{backend}_{operation}_vs_raw", ours, raw)
            figures.ratio(f"{backend}_es_{operation}_vs_raw", es, raw)
        normal, full = f"{backend}_append_normal_eps", f"{backend}_append_eps"
        figures.ratio(f"{backend}_append_normal_vs_full", normal, full)


def targets(figures: Figures, backends: list[str]) -> dict[str, bool]:
    met = {}
    for backend in backends:
        for operation, target in (("append", APPEND_TARGET), ("replay", REPLAY_TARGET)):
            ratio = f"{backend}_{operation}_vs_es"
            met[f"{ratio}>={target}"] = figures.values[ratio] >= target
    return met


def print_report(
    figures: Figures, backends: list[str], workload: Workload, options: Options, met: dict[str, bool]
) -> None:
    values = figures.values
    print(
        f"event store benchmark: {workload.events} events over {workload.streams} streams, "
        f"one per transaction; appends interleaved in {options.rounds} rounds, "
        f"replay best of {options.replays}, raw ceiling appends timed on {options.ceiling_events} of them"
    )
    for backend in backends:
        print(
            f"  {backend} payload: ours {values[f'{backend}_payload_bytes']:.0f} B, "
            f"eventsourcing {values[f'{backend}_es_payload_bytes']:.0f} B (average stored JSON)"
        )
    for key, note in figures.notes.items():
        print(f"  {key}: {note}")
    print()
    header = (
        f"{'operation':<9} {'implementation':<26} {'backend':<9} {'events/s':>10} "
        f"{'vs eventsourcing':>17} {'vs raw':>8}"
    )
    print(header)
    print("-" * len(header))
    for backend in backends:
        for operation, implementation, suffix in TABLE_ROWS:
            if f"{backend}_{suffix}" in values:
                print(_table_line(values, backend, operation, implementation, suffix))
    print()
    for backend in backends:
        if f"{backend}_append_normal_vs_full" in values:
            full_vs_normal = 1 / values[f"{backend}_append_normal_vs_full"]
            print(
                f"durability cost ({backend}): synchronous=FULL appends at {full_vs_normal:.2f}× "
                f"the rate of NORMAL ({1 - full_vs_normal:.0%} fewer events/s)"
            )
    for name, ok in met.items():
        print(f"target {name}: {'MET' if ok else 'MISSED'} ({values[name.split('>=')[0]]:.2f}×)")


def _table_line(values: dict[str, float], backend: str, operation: str, implementation: str, suffix: str) -> str:
    eps = values[f"{backend}_{suffix}"]
    es = values.get(f"{backend}_es_{operation}_eps")
    raw = values.get(f"{backend}_raw_{operation}_eps")
    vs_es = f"{eps / es:.2f}×" if es else "-"
    vs_raw = f"{eps / raw:.2f}×" if raw else "-"
    return f"{operation:<9} {implementation:<26} {backend:<9} {eps:>10,.0f} {vs_es:>17} {vs_raw:>8}"


def summary(
    figures: Figures, workload: Workload, options: Options, met: dict[str, bool], seconds: float
) -> dict[str, Any]:
    return {
        "events": workload.events,
        "streams": workload.streams,
        "target_payload_bytes": workload.payload_bytes,
        "rounds": options.rounds,
        "replays": options.replays,
        "ceiling_events": options.ceiling_events,
        "analyzed": options.analyze,
        "eventsourcing_version": version("eventsourcing"),
        **{key: round(value, 3) for key, value in figures.values.items()},
        "targets_met": met,
        "all_targets_met": all(met.values()),
        "notes": figures.notes,
        "wall_seconds": round(seconds, 1),
    }


# --- command line ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.event_store", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--streams", type=int, default=5_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--payload-bytes", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=10, help="slices the appends are interleaved in")
    parser.add_argument("--replays", type=int, default=3, help="full replays per contestant; the best counts")
    parser.add_argument(
        "--ceiling-events", type=int, default=10_000, help="raw-ceiling appends timed one per transaction"
    )
    parser.add_argument("--analyze", action="store_true", help="ANALYZE PostgreSQL tables before replaying")
    parser.add_argument("--quick", action="store_true", help="5,000 events over 500 streams (smoke tests)")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.streams = 5_000, 500
    if args.events < args.streams or args.streams < 1:
        parser.error("--events must be at least --streams, and --streams at least 1")
    if args.rounds < 1 or args.replays < 1 or args.ceiling_events < 1:
        parser.error("--rounds, --replays and --ceiling-events must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    workload = Workload.build(args.events, args.streams, payload_bytes=args.payload_bytes)
    options = Options(args.rounds, args.replays, min(args.ceiling_events, args.events), args.analyze)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    figures = Figures()
    load_before = os.getloadavg()[0]
    for backend in backends:
        if backend == "sqlite":
            run_sqlite(workload, options, figures)
        else:
            run_postgres(workload, options, figures, args.postgres_url)
    # Other work on the machine moves absolute rates a lot; say how busy it was so readers can judge.
    load_after = os.getloadavg()[0]
    figures.notes["load_average"] = f"{load_before:.2f} at start, {load_after:.2f} at end ({os.cpu_count()} CPUs)"
    add_ratios(figures, backends)
    met = targets(figures, backends)
    print_report(figures, backends, workload, options, met)
    print(json.dumps(summary(figures, workload, options, met, time.perf_counter() - started)), flush=True)
    return 0


def version(package: str) -> str:
    return package_version(package)


if __name__ == "__main__":
    sys.exit(main())
