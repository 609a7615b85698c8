"""The event store on SQLite (the embedded default): one writer at a time, `BEGIN IMMEDIATE` per append."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine

from dispatch.adapters.eventlog.codec import COLUMNS
from dispatch.adapters.eventlog.sql.base import PYTHON_REFUSALS, SqlEventStore, Statements
from dispatch.adapters.eventlog.tables import sqlite_time
from dispatch.adapters.eventlog.wakeup import Wakeup
from dispatch.runtime.clock import Clock

# SQLite's codes for a clash on UNIQUE(stream_id, version) or on a key (a command id, a position).
_CLASHES: Final = frozenset({sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY})


class SqliteEventStore(SqlEventStore):
    """The log in an SQLite file, in WAL mode (dispatch/adapters/database.py)."""

    refused_values = (sqlite3.IntegrityError, sqlite3.DataError, sqlite3.InterfaceError, *PYTHON_REFUSALS)
    # {keys} becomes `IN (?, ?, ...)`, a mark for each key asked for at once.
    statements = Statements("?", keys="{keys}", read_streams=(
        f"SELECT {COLUMNS} FROM events WHERE stream_id {{keys}} ORDER BY stream_id, version"))

    def __init__(self, engine: Engine, *, clock: Clock | None = None, wakeup: Wakeup | None = None,
                 poll_seconds: float = 1.0) -> None:
        super().__init__(engine, clock=clock, wakeup=wakeup, poll_seconds=poll_seconds)
        # SQLite admits one writer; threads of this process take turns here, blocked, instead of polling the
        # database lock with the busy handler's growing sleeps (unfair: a report could wait a second behind
        # luckier ones). Not a concurrency control: UNIQUE(stream_id, version) still decides conflicts.
        self._writer_turn = threading.Lock()

    @contextlib.contextmanager
    def _append_transaction(self, connection: Any) -> Iterator[Any]:
        with self._writer_turn:
            cursor = connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            yield cursor
            cursor.execute("COMMIT")
            cursor.close()

    def _stored_time(self, moment: datetime) -> str:
        return sqlite_time(moment)

    def _select_keys(self, connection: Any, sql: str, keys: list[str]) -> Any:
        cursor = connection.cursor()
        cursor.execute(sql.format(keys=f"IN ({', '.join(['?'] * len(keys))})"), tuple(keys))
        return cursor

    @contextlib.contextmanager
    def _one_trip(self, connection: Any) -> Iterator[None]:
        # In process, there is no trip to save: the reads only end their implicit transaction.
        try:
            yield
        finally:
            connection.rollback()

    def _is_clash(self, error: BaseException) -> bool:
        return isinstance(error, sqlite3.IntegrityError) and getattr(error, "sqlite_errorcode", None) in _CLASHES
