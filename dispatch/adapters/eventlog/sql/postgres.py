"""The event store on PostgreSQL (production): appends serialized by an advisory lock, round trips pipelined."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Final

import psycopg

from dispatch.adapters.eventlog.codec import COLUMNS
from dispatch.adapters.eventlog.sql.base import PYTHON_REFUSALS, SqlEventStore, Statements

# Arbitrary but fixed: every process appending to one PostgreSQL log must use the same key.
APPEND_LOCK_KEY: Final[int] = 1669_0080
# One index probe per stream. Planned as `stream_id = ANY(...)` on a log without statistics (a new database until
# autovacuum's first ANALYZE, or a restored one), PostgreSQL scans the whole table for every batch (4 ms at 22,000
# events, and growing); OFFSET 0 keeps it from flattening this back into that join.
READ_STREAMS: Final[str] = (
    "SELECT e.* FROM unnest(%s::text[]) AS wanted(stream_id) CROSS JOIN LATERAL "
    f"(SELECT {COLUMNS} FROM events WHERE events.stream_id = wanted.stream_id OFFSET 0) AS e "
    "ORDER BY e.stream_id, e.version")


class PostgresEventStore(SqlEventStore):
    """The log in a PostgreSQL schema (the connection's search_path), through psycopg 3."""

    refused_values = (psycopg.IntegrityError, psycopg.DataError, *PYTHON_REFUSALS)
    # Keys go as one text array.
    statements = Statements("%s", keys="= ANY(%s)", read_streams=READ_STREAMS)

    @contextlib.contextmanager
    def _append_transaction(self, connection: Any) -> Iterator[Any]:
        # Pipeline mode: the lock and the head read go in one round trip, the inserts and the commit in
        # another, instead of one round trip per statement.
        with connection.driver_connection.pipeline():
            cursor = connection.cursor()
            # Taken right before the insert, keyed by schema: logs in different schemas of one database never
            # wait for each other.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema()), %s)", (APPEND_LOCK_KEY,))
            yield cursor
            connection.commit()
            cursor.close()

    def _stored_time(self, moment: datetime) -> datetime:
        return moment

    def _select_keys(self, connection: Any, sql: str, keys: list[str]) -> Any:
        cursor = connection.cursor()
        # Never prepared: a generic plan made while the log had no statistics would keep scanning it whole.
        cursor.execute(sql, (keys,), prepare=False)
        return cursor

    @contextlib.contextmanager
    def _one_trip(self, connection: Any) -> Iterator[None]:
        # Autocommit: no BEGIN and no ROLLBACK around the reads, each one statement.
        driver = connection.driver_connection
        driver.autocommit = True
        try:
            with driver.pipeline():
                yield
        finally:
            driver.autocommit = False

    def _is_clash(self, error: BaseException) -> bool:
        return isinstance(error, psycopg.errors.UniqueViolation)
