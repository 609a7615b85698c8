"""The event store: one append-only table with a global gap-free position, per-stream versions,
idempotent commands and a sha256 hash chain (DESIGN.md §2).

Appends are serialized by the database (SQLite `BEGIN IMMEDIATE`, PostgreSQL `pg_advisory_xact_lock`
taken right before the insert), so positions commit in order and a follower reading `position > last`
never skips one. Concurrency between commands rests on UNIQUE(stream_id, version) alone.

The hot paths use the DB-API connection from SQLAlchemy's pool with fixed SQL: the ORM costs more per
event than the fsync of a commit does (see bench/event_store.py).
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
import psycopg
from sqlalchemy import Engine

from dispatch.adapters.eventlog.chain import GENESIS_HASH, Anchor, ChainReport, ChainRow, ChainWalk, event_hash
from dispatch.adapters.eventlog.wakeup import LocalWakeup, Wakeup
from dispatch.domain.catalogue import Event, decode_data, encode_data, type_name
from dispatch.domain.envelope import EventMeta, StoredEvent, encode_meta
from dispatch.domain.errors import ConcurrencyConflict, DispatchError, IdempotencyKeyReused, InvalidText, ValueNotStored
from dispatch.domain.text import (
    COMMAND_ID_MAX_LENGTH,
    META_TEXT_MAX_LENGTH,
    STREAM_ID_MAX_LENGTH,
    clean_text,
    is_clean,
)
from dispatch.runtime.clock import Clock, SystemClock

log = logging.getLogger("dispatch.adapters.eventlog.store")

# Arbitrary but fixed: every process appending to one PostgreSQL log must use the same key.
APPEND_LOCK_KEY: Final[int] = 1669_0080
# Rows per INSERT statement: 10 columns each stays far below SQLite's 32,766 and PostgreSQL's 65,535 bound values.
_ROWS_PER_INSERT: Final[int] = 500
_COLUMNS: Final[str] = "position, stream_id, version, type, schema_version, data, meta, recorded_at, prev_hash, hash"
# The largest position a 64-bit column holds (PostgreSQL BIGINT, SQLite INTEGER).
_MAX_POSITION: Final[int] = 2**63 - 1
# SQLite's codes for a clash on UNIQUE(stream_id, version) or on a key (a command id, a position).
_SQLITE_CLASHES: Final = frozenset({sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY})
# What one command's values can make the database or its driver refuse (too long for a column, out of range,
# a character it cannot hold). Each fails that command alone; a lost connection or a full disk is not among
# them and fails the whole batch, which retrying alone would only repeat.
_REFUSED_VALUES: Final = (sqlite3.IntegrityError, sqlite3.DataError, sqlite3.InterfaceError, psycopg.IntegrityError,
                          psycopg.DataError, OverflowError, UnicodeEncodeError)


@dataclass(frozen=True)
class StreamWrite:
    """Events for one stream, to be appended only if the stream is still at `expected_version`."""

    stream_id: str
    events: Sequence[Event]
    expected_version: int


@dataclass(frozen=True)
class AppendResult:
    """What an append stored; `replayed` when the command had been appended before and nothing new was."""

    events: list[StoredEvent]
    replayed: bool = False
    last_versions: dict[str, int] = field(default_factory=dict)

    @property
    def last_position(self) -> int | None:
        return self.events[-1].position if self.events else None


@dataclass(frozen=True)
class Append:
    """One command's writes, as append_many takes them, for append_batch."""

    writes: Sequence[StreamWrite]
    command_id: str | None = None
    meta: EventMeta | None = None
    fingerprint: str = ""


@dataclass(frozen=True)
class _Encoded:
    """An append ready for the table: (stream, version, type, schema version, data JSON, event) per event."""

    events: list[tuple[str, int, str, int, str, Event]]
    meta_json: str
    command_id: str | None
    fingerprint: str


class _Sql:
    """The few statements the store runs, in the paramstyle of the driver."""

    def __init__(self, placeholder: str) -> None:
        p = placeholder
        self.head = "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1"
        self.max_position = "SELECT COALESCE(MAX(position), 0) FROM events"
        self.insert_event = f"INSERT INTO events ({_COLUMNS}) VALUES ({', '.join([p] * 10)})"
        self.insert_command = (
            "INSERT INTO commands (command_id, first_position, last_position, fingerprint, recorded_at) "
            f"VALUES ({p}, {p}, {p}, {p}, {p})"
        )
        self._insert_rows: dict[tuple[str, int], str] = {}
        self.find_command = f"SELECT first_position, last_position, fingerprint FROM commands WHERE command_id = {p}"
        self.placeholder = p
        # {keys} is completed for as many keys as are asked for at once (EventStore._start).
        self.find_commands = (
            "SELECT command_id, first_position, last_position, fingerprint FROM commands WHERE command_id {keys}")
        if p == "?":
            self.read_streams = f"SELECT {_COLUMNS} FROM events WHERE stream_id {{keys}} ORDER BY stream_id, version"
        else:
            # One index probe per stream. Planned as `stream_id = ANY(...)` on a log without statistics (a new
            # database until autovacuum's first ANALYZE, or a restored one), PostgreSQL scans the whole table
            # for every batch (4 ms at 22,000 events, and growing); OFFSET 0 keeps it from flattening this
            # back into that join.
            self.read_streams = (
                "SELECT e.* FROM unnest(%s::text[]) AS wanted(stream_id) CROSS JOIN LATERAL "
                f"(SELECT {_COLUMNS} FROM events WHERE events.stream_id = wanted.stream_id OFFSET 0) AS e "
                "ORDER BY e.stream_id, e.version")
        self.position_between = f"(position >= {p} AND position <= {p})"
        self.read_all = f"SELECT {_COLUMNS} FROM events WHERE position > {p} ORDER BY position LIMIT {p}"
        # Positions are gap-free, so a range is the same page; it needs no sort and no table statistics
        # (without ANALYZE, PostgreSQL plans the LIMIT form as a full scan and sort per page).
        self.read_range_page = (
            f"SELECT {_COLUMNS} FROM events WHERE position > {p} AND position <= {p} ORDER BY position"
        )
        self.read_range = f"SELECT {_COLUMNS} FROM events WHERE position >= {p} AND position <= {p} ORDER BY position"
        self.read_stream = (
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = {p} AND version > {p} ORDER BY version"
        )
        self.stream_version = f"SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = {p}"


    def insert_rows(self, single: str, count: int) -> str:
        """`single` (INSERT ... VALUES (p, ...)) extended to insert `count` rows in one statement."""
        key = (single, count)
        if key not in self._insert_rows:
            values = single[single.index("VALUES ") + len("VALUES "):]
            self._insert_rows[key] = single + (", " + values) * (count - 1)
        return self._insert_rows[key]


class EventStore:
    """Append, read, follow and verify the log. Thread-safe: each call takes its own pooled connection."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock | None = None,
        wakeup: Wakeup | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()
        self.wakeup = wakeup or LocalWakeup()
        self.poll_seconds = poll_seconds
        self._sqlite = engine.dialect.name == "sqlite"
        # SQLite admits one writer; threads of this process take turns here, blocked, instead of polling the
        # database lock with the busy handler's growing sleeps (unfair: a report could wait a second behind
        # luckier ones). Not a concurrency control: UNIQUE(stream_id, version) still decides conflicts.
        self._writer_turn: threading.Lock | contextlib.nullcontext[None] = (
            threading.Lock() if self._sqlite else contextlib.nullcontext())
        self._sql = _Sql("?" if self._sqlite else "%s")

    # --- appending ---------------------------------------------------------------------------------

    def append(
        self,
        stream_id: str,
        events: Sequence[Event],
        *,
        expected_version: int,
        command_id: str | None = None,
        meta: EventMeta | None = None,
        fingerprint: str = "",
    ) -> AppendResult:
        """Append events to one stream if it is still at `expected_version`; a repeated command_id appends nothing."""
        return self.append_many(
            [StreamWrite(stream_id, events, expected_version)],
            command_id=command_id,
            meta=meta,
            fingerprint=fingerprint,
        )

    def append_many(
        self,
        writes: Sequence[StreamWrite],
        *,
        command_id: str | None = None,
        meta: EventMeta | None = None,
        fingerprint: str = "",
    ) -> AppendResult:
        """Append to several streams in one transaction: all or nothing (a dispatch touches incident and boat)."""
        encoded = _encode(Append(writes, command_id, meta, fingerprint))
        if encoded is None:
            return AppendResult(events=[])
        return self._append_alone(encoded, writes)

    def append_batch(self, appends: Sequence[Append]) -> list[AppendResult | DispatchError]:
        """Group commit: several commands' appends in one transaction with one fsync, each all or nothing.

        Each answer is its AppendResult, or the error that command alone met: ConcurrencyConflict,
        IdempotencyKeyReused, InvalidText or ValueNotStored. If any append clashes or has a value the database
        refuses, the shared transaction is rolled back and every append is retried alone, so one stale or bad
        command never fails the others; such commands are rare, commits are not.
        """
        answers: list[AppendResult | DispatchError] = [AppendResult(events=[]) for _ in appends]
        todo: list[tuple[int, _Encoded]] = []
        for index, append in enumerate(appends):
            try:
                found = _encode(append)
            except InvalidText as exc:
                answers[index] = exc
                continue
            if found is not None:
                todo.append((index, found))
        if len(todo) > 1:
            stored = self._append_together([found for _index, found in todo])
            if stored is not None:
                self.wakeup.notify(stored[-1][-1].position)
                for (index, _found), events in zip(todo, stored, strict=True):
                    answers[index] = AppendResult(events=events, last_versions=_last_versions(events))
                return answers
        for index, found in todo:
            try:
                answers[index] = self._append_alone(found, appends[index].writes)
            except (ConcurrencyConflict, IdempotencyKeyReused, ValueNotStored) as exc:
                answers[index] = exc
        return answers

    def _append_together(self, appends: Sequence[_Encoded]) -> list[list[StoredEvent]] | None:
        """The appends in one transaction; None (rolled back) if one of them clashes or has a refused value."""
        connection = self.engine.raw_connection()
        try:
            with self._writer_turn:
                return self._insert(connection, appends)
        except _REFUSED_VALUES:  # the clashes among them
            connection.rollback()
            return None
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()

    def _append_alone(self, encoded: _Encoded, writes: Sequence[StreamWrite]) -> AppendResult:
        connection = self.engine.raw_connection()
        try:
            with self._writer_turn:
                stored = self._insert(connection, [encoded])[0]
        except _REFUSED_VALUES as exc:
            connection.rollback()
            if _is_clash(exc):
                # A repeated command clashes on its stream version or on the command id; either way the
                # original result is the answer.
                if encoded.command_id is not None:
                    replay = self._replay(connection, encoded.command_id, encoded.fingerprint)
                    if replay is not None:
                        return replay
                raise self._conflict(connection, writes) from exc
            # The class of error, never the value: it may be a patient's details.
            log.error("the database refused a value", extra={"error": type(exc).__name__,
                                                              "command_id": encoded.command_id})
            raise ValueNotStored(f"the database refused a value of this command ({type(exc).__name__}); "
                                 "it was not stored") from exc
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()
        self.wakeup.notify(stored[-1].position)
        return AppendResult(events=stored, last_versions=_last_versions(stored))

    def _insert(self, connection: Any, appends: Sequence[_Encoded]) -> list[list[StoredEvent]]:
        if self._sqlite:
            return self._insert_rows(connection, appends)
        # Pipeline mode: the lock and the head read go in one round trip, the inserts and the commit in
        # another, instead of one round trip per statement.
        with connection.driver_connection.pipeline():
            return self._insert_rows(connection, appends)

    def _insert_rows(self, connection: Any, appends: Sequence[_Encoded]) -> list[list[StoredEvent]]:
        cursor = connection.cursor()
        if self._sqlite:
            cursor.execute("BEGIN IMMEDIATE")
        else:
            # Keyed by schema: logs in different schemas of one database never wait for each other.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema()), %s)", (APPEND_LOCK_KEY,))
        cursor.execute(self._sql.head)
        head = cursor.fetchone()
        position, prev_hash = (head[0], head[1]) if head else (0, GENESIS_HASH)
        recorded_at = self.clock.now()
        db_time: Any = _sqlite_time(recorded_at) if self._sqlite else recorded_at
        rows, commands, stored_all = [], [], []
        for append in appends:
            stored = []
            for stream_id, version, event_type, schema_version, data, event in append.events:
                position += 1
                digest = event_hash(prev_hash, position, stream_id, version, event_type, schema_version, recorded_at,
                                    data, append.meta_json)
                rows.append((position, stream_id, version, event_type, schema_version, data, append.meta_json,
                             db_time, prev_hash, digest))
                stored.append(StoredEvent(position, stream_id, version, event_type, schema_version, event, data,
                                          append.meta_json, recorded_at, prev_hash, digest))
                prev_hash = digest
            if append.command_id is not None:
                commands.append((append.command_id, stored[0].position, stored[-1].position, append.fingerprint,
                                 db_time))
            stored_all.append(stored)
        # One multi-row INSERT, not executemany: sqlite3 releases and retakes the GIL around every row it
        # steps, and each retake can wait out another thread's switch interval (the API's event loop).
        for sql, values in ((self._sql.insert_event, rows), (self._sql.insert_command, commands)):
            for start in range(0, len(values), _ROWS_PER_INSERT):
                chunk = values[start:start + _ROWS_PER_INSERT]
                cursor.execute(self._sql.insert_rows(sql, len(chunk)), _flat(chunk))
        if self._sqlite:
            cursor.execute("COMMIT")
        else:
            connection.commit()
        cursor.close()
        return stored_all

    def _replay(self, connection: Any, command_id: str, fingerprint: str) -> AppendResult | None:
        cursor = connection.cursor()
        cursor.execute(self._sql.find_command, (command_id,))
        found = cursor.fetchone()
        if found is None:
            connection.rollback()
            return None
        first, last, stored_fingerprint = found
        if fingerprint and stored_fingerprint and fingerprint != stored_fingerprint:
            connection.rollback()
            raise IdempotencyKeyReused(
                f"command id {command_id} was already used for a different request", field="Idempotency-Key"
            )
        cursor.execute(self._sql.read_range, (first, last))
        events = [_decode_row(row) for row in cursor.fetchall()]
        connection.rollback()
        return AppendResult(events=events, replayed=True, last_versions=_last_versions(events))

    def _conflict(self, connection: Any, writes: Sequence[StreamWrite]) -> ConcurrencyConflict:
        cursor = connection.cursor()
        try:
            for write in writes:
                cursor.execute(self._sql.stream_version, (write.stream_id,))
                current = int(cursor.fetchone()[0])
                if current != write.expected_version:
                    return ConcurrencyConflict(write.stream_id, write.expected_version, current)
            # Every stream matched by the time we looked: the clash was with an append that has since
            # committed; report the first stream so the caller re-reads and retries.
            first = writes[0]
            return ConcurrencyConflict(first.stream_id, first.expected_version, first.expected_version)
        finally:
            connection.rollback()

    # --- reading -----------------------------------------------------------------------------------

    def find_command(self, command_id: str, fingerprint: str = "") -> AppendResult | None:
        """The original result of a command already appended, or None."""
        if not _storable_key(command_id, COMMAND_ID_MAX_LENGTH):
            return None
        connection = self.engine.raw_connection()
        try:
            return self._replay(connection, command_id, fingerprint)
        finally:
            connection.close()

    def find_commands(self, commands: Sequence[tuple[str, str]]) -> dict[str, AppendResult | IdempotencyKeyReused]:
        """find_command for several (command id, fingerprint) pairs: the commands already appended, each with
        its original result, or IdempotencyKeyReused if its key came with another request."""
        return self.read_batch(commands, [])[0]

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]:
        if not _storable_key(stream_id, STREAM_ID_MAX_LENGTH):
            return []
        return self._query(self._sql.read_stream, (stream_id, after_version))

    def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[StoredEvent]]:
        """Several whole streams in one query; a stream with no events maps to []."""
        return self.read_batch([], stream_ids)[1]

    def read_batch(self, commands: Sequence[tuple[str, str]], stream_ids: Sequence[str]
                   ) -> tuple[dict[str, AppendResult | IdempotencyKeyReused], dict[str, list[StoredEvent]]]:
        """What a group commit reads before it decides: find_commands and read_streams together, on one
        connection. On PostgreSQL both queries go in one round trip, outside a transaction (each is one
        statement), so a batch waits for the server once here instead of six times (checkout ping, BEGIN,
        query, ROLLBACK, twice): the committer is otherwise idle while it waits (bench/api_report.py)."""
        fingerprints = {command_id: fingerprint for command_id, fingerprint in commands
                        if _storable_key(command_id, COMMAND_ID_MAX_LENGTH)}
        streams: dict[str, list[StoredEvent]] = {stream_id: [] for stream_id in dict.fromkeys(stream_ids)}
        wanted = [stream_id for stream_id in streams if _storable_key(stream_id, STREAM_ID_MAX_LENGTH)]
        connection = self.engine.raw_connection()
        try:
            with self._one_trip(connection):
                cursors = [self._start(connection, sql, keys) for sql, keys in (
                    (self._sql.find_commands, list(fingerprints)),
                    (self._sql.read_streams, wanted)) if keys]
                results = [cursor.fetchall() for cursor in cursors]
            found = results.pop(0) if fingerprints else []
            for row in results[0] if wanted else []:
                event = _decode_row(row)
                streams[event.stream_id].append(event)
            return self._replays(connection, fingerprints, found), streams
        finally:
            connection.close()

    def _start(self, connection: Any, sql: str, keys: list[str]) -> Any:
        """Execute `sql` for `keys`: IN a list of marks on SQLite, one array parameter on PostgreSQL."""
        cursor = connection.cursor()
        if self._sqlite:
            cursor.execute(sql.format(keys=f"IN ({', '.join(['?'] * len(keys))})"), tuple(keys))
        else:
            # Never prepared: a generic plan made while the log had no statistics would keep scanning it whole.
            cursor.execute(sql.format(keys="= ANY(%s)"), (keys,), prepare=False)
        return cursor

    @contextlib.contextmanager
    def _one_trip(self, connection: Any) -> Iterator[None]:
        """Statements executed inside go to PostgreSQL together, in autocommit (no BEGIN, no ROLLBACK)."""
        if self._sqlite:
            try:
                yield
            finally:
                connection.rollback()
            return
        driver = connection.driver_connection
        driver.autocommit = True
        try:
            with driver.pipeline():
                yield
        finally:
            driver.autocommit = False

    def _replays(self, connection: Any, fingerprints: dict[str, str], found: list[Any]
                 ) -> dict[str, AppendResult | IdempotencyKeyReused]:
        """The original results of the commands found already appended (a retry; rare): one more query."""
        answers: dict[str, AppendResult | IdempotencyKeyReused] = {}
        ranges = []
        for command_id, first, last, stored_fingerprint in found:
            wanted = fingerprints[command_id]
            if wanted and stored_fingerprint and wanted != stored_fingerprint:
                answers[command_id] = IdempotencyKeyReused(
                    f"command id {command_id} was already used for a different request", field="Idempotency-Key")
            else:
                ranges.append((command_id, first, last))
        if ranges:
            where = " OR ".join([self._sql.position_between] * len(ranges))
            cursor = connection.cursor()
            cursor.execute(f"SELECT {_COLUMNS} FROM events WHERE {where} ORDER BY position",
                           tuple(bound for _id, first, last in ranges for bound in (first, last)))
            by_position = {event.position: event for event in map(_decode_row, cursor.fetchall())}
            connection.rollback()
            for command_id, first, last in ranges:
                replayed = [by_position[position] for position in range(first, last + 1) if position in by_position]
                answers[command_id] = AppendResult(events=replayed, replayed=True,
                                                   last_versions=_last_versions(replayed))
        return answers

    def stream_version(self, stream_id: str) -> int:
        return int(self._scalar(self._sql.stream_version, (stream_id,)))

    def read_all(self, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Events with position > after, in position order, at most `limit`."""
        return [_decode_row(row) for row in self._page(after, limit)]

    def head(self) -> int:
        """The last committed position (0 for an empty log)."""
        return int(self._scalar(self._sql.max_position, ()))

    def iter_all(self, after: int = 0, batch_size: int = 5000) -> Iterator[StoredEvent]:
        """Every event after `after`, fetched in batches and decoded one at a time as it is consumed
        (a whole decoded batch alive at once keeps the garbage collector busy: half the replay time)."""
        while rows := self._page(after, batch_size):
            for row in rows:
                yield _decode_row(row)
            after = rows[-1][0]

    def _page(self, after: int, limit: int) -> list[Any]:
        if after >= _MAX_POSITION:
            return []  # no log gets there; PostgreSQL would refuse a bound past its 64 bits
        rows = self._rows(self._sql.read_range_page, (after, min(after + limit, _MAX_POSITION)))
        if rows:
            return rows
        # Nothing in the range: the end of the log, or a hole (a row deleted behind our back) to step over.
        return self._rows(self._sql.read_all, (after, limit))

    # --- following ---------------------------------------------------------------------------------

    def wait_for_events(self, after: int, timeout: float) -> bool:
        """Block until the log reaches past `after` (wake-up, else a poll every poll_seconds); False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            token = self.wakeup.token()
            if self.head() > after:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.wakeup.wait(token, min(remaining, self.poll_seconds))

    # --- verifying ---------------------------------------------------------------------------------

    def verify(self, batch_size: int = 5000, *, checkpoints: Sequence[Anchor] = (),
               since: Anchor | None = None) -> ChainReport:
        """Walk the chain (dispatch/adapters/eventlog/chain.py): positions gap-free, each prev_hash the previous
        hash, each hash recomputed, and the log at each checkpoint's position holding that checkpoint's hash. From the
        first event, or from `since`, a checkpoint already trusted."""
        walk = ChainWalk(checkpoints, since=since)
        after = since.position - 1 if since is not None else 0
        while rows := self._page(after, batch_size):
            if not all(walk.check(_chain_row(row)) for row in rows):
                break
            after = rows[-1][0]
        return walk.report()

    # --- helpers -----------------------------------------------------------------------------------

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[StoredEvent]:
        return [_decode_row(row) for row in self._rows(sql, params)]

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, params)
            rows: list[Any] = list(cursor.fetchall())
            connection.rollback()
        finally:
            connection.close()
        return rows

    def _scalar(self, sql: str, params: tuple[Any, ...]) -> Any:
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, params)
            row = cursor.fetchone()
            connection.rollback()
            return row[0] if row else None
        finally:
            connection.close()


def _encode(append: Append) -> _Encoded | None:
    """The rows' content of an append, versions counted from each write's expected version; None if empty.
    InvalidText if a text in it breaks the clean-text rule or outgrows its column."""
    meta = append.meta or EventMeta()
    if append.command_id is not None and meta.command_id != append.command_id:
        meta = EventMeta(**{**_meta_fields(meta), "command_id": append.command_id})
    _refuse_unclean_meta(meta)
    events = []
    for write in append.writes:
        clean_text(write.stream_id, "stream_id", max_length=STREAM_ID_MAX_LENGTH)
        for offset, event in enumerate(write.events, start=1):
            events.append((write.stream_id, write.expected_version + offset, type_name(event),
                           type(event).SCHEMA_VERSION, _clean_data(event), event))
    if not events:
        return None
    return _Encoded(events, encode_meta(meta), append.command_id, append.fingerprint)


# The store's own check of dispatch/domain/text.py's rule, whoever the writer: a text no reader of the log could store
# (a NUL stops a PostgreSQL projector) never enters it. The writers check first, naming their own fields and
# the line breaks each allows; here every text in an event's data may hold tab and newline.

# In JSON as msgspec writes it, a control character below U+0020 is an escape (\u0000, \r, \b, \f; \n and \t are
# free text's) after an even run of backslashes, and a lone surrogate would be \udXXX.
_FORBIDDEN_ESCAPE: Final = re.compile(r"(?<!\\)(?:\\\\)*\\(?:u00[01][0-9a-fA-F]|u[dD][89a-fA-F][0-9a-fA-F]{2}|[rbf])")


def _clean_data(event: Event) -> str:
    """The event's data as JSON, if every text in it is clean; else InvalidText naming the field.

    Checked on the JSON the row will hold, not field by field: one search instead of a walk over every field,
    which cost more than the rest of the append's encoding. The walk runs only to name what was refused."""
    try:
        data: str | None = encode_data(event).decode()
    except UnicodeEncodeError:  # a lone surrogate: UTF-8 cannot carry it
        data = None
    if data is not None and not ("\\" in data and _FORBIDDEN_ESCAPE.search(data)) and is_clean(data, free_text=True):
        return data
    _refuse_unclean_data(event, "")
    raise InvalidText(f"{type_name(event)} holds a text that breaks the clean-text rule", field="data")


def _refuse_unclean_meta(meta: EventMeta) -> None:
    for name in meta.__struct_fields__:
        value = getattr(meta, name)
        if isinstance(value, str):
            clean_text(value, f"meta.{name}",
                       max_length=COMMAND_ID_MAX_LENGTH if name == "command_id" else META_TEXT_MAX_LENGTH)


def _refuse_unclean_data(value: Any, field: str) -> None:
    if isinstance(value, str):
        clean_text(value, field or "data", free_text=True)
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            _refuse_unclean_data(getattr(value, name), f"{field}.{name}" if field else name)
    elif isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            _refuse_unclean_data(item, f"{field}.{index}")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_unclean_data(key, field)
            _refuse_unclean_data(item, f"{field}.{key}")


def _is_clash(error: BaseException) -> bool:
    """A stale or repeated command (a unique key met), rather than a value the database refuses."""
    if isinstance(error, sqlite3.IntegrityError):
        return getattr(error, "sqlite_errorcode", None) in _SQLITE_CLASHES
    return isinstance(error, psycopg.errors.UniqueViolation)


def _storable_key(key: str, max_length: int) -> bool:
    """Whether `key` (a stream or command id) could be in the log at all: a lookup of one that cannot finds
    nothing, without asking the database (PostgreSQL would refuse the query)."""
    return len(key) <= max_length and is_clean(key)


def _flat(rows: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    return tuple(value for row in rows for value in row)


def _meta_fields(meta: EventMeta) -> dict[str, Any]:
    return {name: getattr(meta, name) for name in meta.__struct_fields__}


def _sqlite_time(moment: datetime) -> str:
    # The text form SQLAlchemy's DateTime uses on SQLite, so ORM reads of the table agree with ours.
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _db_time(value: Any) -> datetime:
    if isinstance(value, str):
        return datetime.fromisoformat(value + "+00:00")  # SQLite's text is UTC; parsing the zone is cheapest
    return value if value.tzinfo is UTC else value.astimezone(UTC)  # type: ignore[no-any-return]


def _decode_row(row: Any) -> StoredEvent:
    position, stream_id, version, event_type, schema_version, data, meta, recorded_at, prev_hash, digest = row
    return StoredEvent(
        position, stream_id, version, event_type, schema_version,
        decode_data(event_type, schema_version, data), data, meta, _db_time(recorded_at), prev_hash, digest,
    )


def _chain_row(row: Any) -> ChainRow:
    return ChainRow._make((*row[:7], _db_time(row[7]), row[8], row[9]))


def _last_versions(events: list[StoredEvent]) -> dict[str, int]:
    return {event.stream_id: event.version for event in events}
