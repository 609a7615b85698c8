"""Raw ceilings: the driver alone writing and reading rows as wide as ours, with nothing on top.

One row per transaction into a table with only a primary key (no unique index, no command table, no
hash chain), at the same durability as the stores; then one ordered SELECT with `orjson.loads` of each
payload. No store can beat these; the ratio to them says how much of the time is the store's own.

Only `timed_events` of the appends are timed one per transaction, spread evenly over the rounds; the rest
of each round goes in untimed as one transaction, so the table still grows to the full size and the
replay reads every row. The ceiling is a per-commit rate, and this keeps the run a minute shorter.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import orjson
import psycopg

from bench.workload import OurPayloads, Workload, incident_reported, note_added
from dispatch.adapters.eventlog.tables import sqlite_time
from dispatch.domain.catalogue import encode_data, type_name
from dispatch.domain.envelope import EventMeta, encode_meta

Row = tuple[int, str, int, str, int, str, str, str, str, str]

_COLUMNS: Final[str] = "position, stream_id, version, type, schema_version, data, meta, recorded_at, prev_hash, hash"
_SQLITE_TABLE: Final[str] = (
    "CREATE TABLE raw_events (position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, "
    "version INTEGER NOT NULL, type TEXT NOT NULL, schema_version INTEGER NOT NULL, "
    "data TEXT NOT NULL, meta TEXT NOT NULL, "
    "recorded_at TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)"
)
# recorded_at stays text on PostgreSQL too: 18 bytes wider than timestamptz, which only lowers the ceiling.
_POSTGRES_TABLE: Final[str] = _SQLITE_TABLE.replace("INTEGER PRIMARY KEY", "BIGINT PRIMARY KEY")
_SELECT: Final[str] = f"SELECT {_COLUMNS} FROM raw_events ORDER BY position"


def raw_rows(workload: Workload) -> list[Row]:
    """Rows with our store's columns and widths: the same event JSON, meta, time text and 64-hex hashes."""
    payloads = OurPayloads.sized(workload)
    start = datetime.now(UTC)
    rows: list[Row] = []
    for index in range(workload.events):
        incident_id = workload.incident_ids[workload.stream_of(index)]
        version = index // workload.streams + 1
        at = start + timedelta(milliseconds=index)
        event = (
            incident_reported(incident_id, at, payloads.description)
            if version == 1
            else note_added(incident_id, at, payloads.note)
        )
        meta = encode_meta(EventMeta(command_id=workload.command_ids[index]))
        digest = hashlib.sha256(str(index).encode()).hexdigest()
        rows.append(
            (
                index + 1,
                event.stream_id,
                version,
                type_name(event),
                1,
                encode_data(event).decode(),
                meta,
                sqlite_time(at),
                rows[-1][9] if rows else "0" * 64,
                digest,
            )
        )
    return rows


class _Ceiling:
    """Shared bookkeeping: which rows of a round are timed one per transaction."""

    def __init__(self, rows: Sequence[Row], timed_events: int, backend: str) -> None:
        self.rows = rows
        self.share = min(1.0, timed_events / len(rows))
        self.append_key = f"{backend}_raw_append_eps"
        self.replay_key: str | None = f"{backend}_raw_replay_eps"

    def split(self, start: int, stop: int) -> tuple[Sequence[Row], Sequence[Row]]:
        timed = round((stop - start) * self.share)
        return self.rows[start : start + timed], self.rows[start + timed : stop]


class SqliteCeiling(_Ceiling):
    """Plain sqlite3, WAL + synchronous=FULL, BEGIN IMMEDIATE/INSERT/COMMIT per row."""

    def __init__(self, path: Path, rows: Sequence[Row], timed_events: int) -> None:
        super().__init__(rows, timed_events, "sqlite")
        self.path = path
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=FULL")
        self.connection.execute(_SQLITE_TABLE)
        self.insert = f"INSERT INTO raw_events ({_COLUMNS}) VALUES ({', '.join('?' * 10)})"

    def append_range(self, start: int, stop: int) -> tuple[int, float]:
        timed, untimed = self.split(start, stop)
        began = time.perf_counter()
        for row in timed:
            self.connection.execute("BEGIN IMMEDIATE")
            self.connection.execute(self.insert, row)
            self.connection.execute("COMMIT")
        seconds = time.perf_counter() - began
        if untimed:
            self.connection.execute("BEGIN IMMEDIATE")
            self.connection.executemany(self.insert, untimed)
            self.connection.execute("COMMIT")
        return len(timed), seconds

    def replay(self) -> tuple[int, float]:
        began = time.perf_counter()
        count = _parse_all(self.connection.execute(_SELECT))
        return count, time.perf_counter() - began

    def close(self) -> None:
        self.connection.close()


class PostgresCeiling(_Ceiling):
    """Plain psycopg, INSERT + COMMIT per row, synchronous_commit as the server has it."""

    def __init__(self, dsn: str, schema: str, rows: Sequence[Row], timed_events: int) -> None:
        super().__init__(rows, timed_events, "postgres")
        self.connection = psycopg.connect(dsn, options=f"-c search_path={schema}")
        self.connection.execute(_POSTGRES_TABLE)
        self.connection.commit()
        self.insert = f"INSERT INTO raw_events ({_COLUMNS}) VALUES ({', '.join(['%s'] * 10)})"

    def append_range(self, start: int, stop: int) -> tuple[int, float]:
        timed, untimed = self.split(start, stop)
        with self.connection.cursor() as cursor:
            began = time.perf_counter()
            for row in timed:
                cursor.execute(self.insert, row)
                self.connection.commit()
            seconds = time.perf_counter() - began
            if untimed:
                cursor.executemany(self.insert, untimed)
                self.connection.commit()
        return len(timed), seconds

    def replay(self) -> tuple[int, float]:
        began = time.perf_counter()
        with self.connection.cursor() as cursor:
            cursor.execute(_SELECT)
            count = _parse_all(cursor)
        self.connection.rollback()
        return count, time.perf_counter() - began

    def close(self) -> None:
        self.connection.close()


def _parse_all(rows: Any) -> int:
    count = 0
    for row in rows:
        orjson.loads(row[5])
        count += 1
    return count
