"""What the SQL event stores share, whatever the database: the append (encode, chain, insert in one transaction,
answer each command alone when one clashes), the batched and paged reads, following and verifying.

A dialect's class supplies the rest: its driver's paramstyle and key lists, how an append's transaction is
serialized, begun and committed, how a batch's reads go to the server together, and which driver errors are a
clash or a value the database refuses.

The hot paths use the DB-API connection from SQLAlchemy's pool with fixed SQL: the ORM costs more per
event than the fsync of a commit does (see bench/event_store.py).
"""

from __future__ import annotations

import contextlib
import logging
import time
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar, Final

from sqlalchemy import Engine

from dispatch.adapters.eventlog.chain import GENESIS_HASH, Anchor, ChainReport, ChainWalk, event_hash
from dispatch.adapters.eventlog.codec import COLUMNS, Encoded, chain_row, decode_row, encode, storable_key
from dispatch.adapters.eventlog.store import Append, AppendResult, EarlierCommands, EventStore, StreamWrite
from dispatch.adapters.eventlog.wakeup import LocalWakeup, Wakeup
from dispatch.domain.envelope import EventMeta, StoredEvent
from dispatch.domain.errors import ConcurrencyConflict, DispatchError, IdempotencyKeyReused, InvalidText, ValueNotStored
from dispatch.domain.text import COMMAND_ID_MAX_LENGTH, STREAM_ID_MAX_LENGTH
from dispatch.runtime.clock import Clock, SystemClock

log = logging.getLogger("dispatch.adapters.eventlog.store")

# Rows per INSERT statement: 10 columns each stays far below SQLite's 32,766 and PostgreSQL's 65,535 bound values.
_ROWS_PER_INSERT: Final[int] = 500
# The largest position a 64-bit column holds (PostgreSQL BIGINT, SQLite INTEGER).
_MAX_POSITION: Final[int] = 2**63 - 1
# Values Python's side refuses for any driver: an integer past 64 bits, a text UTF-8 cannot carry.
PYTHON_REFUSALS: Final = (OverflowError, UnicodeEncodeError)


class Statements:
    """The statements the store runs, in the paramstyle of the driver (`placeholder`). A list of keys is matched
    by `keys` (find_commands) and by the dialect's `read_streams`, as the dialect's `_select_keys` binds them."""

    def __init__(self, placeholder: str, *, keys: str, read_streams: str) -> None:
        p = placeholder
        self.find_commands = (
            f"SELECT command_id, first_position, last_position, fingerprint FROM commands WHERE command_id {keys}")
        self.read_streams = read_streams
        self.head = "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1"
        self.max_position = "SELECT COALESCE(MAX(position), 0) FROM events"
        self.insert_event = f"INSERT INTO events ({COLUMNS}) VALUES ({', '.join([p] * 10)})"
        self.insert_command = (
            "INSERT INTO commands (command_id, first_position, last_position, fingerprint, recorded_at) "
            f"VALUES ({p}, {p}, {p}, {p}, {p})"
        )
        self.position_between = f"(position >= {p} AND position <= {p})"
        self.read_all = f"SELECT {COLUMNS} FROM events WHERE position > {p} ORDER BY position LIMIT {p}"
        # Positions are gap-free, so a range is the same page; it needs no sort and no table statistics
        # (without ANALYZE, PostgreSQL plans the LIMIT form as a full scan and sort per page).
        self.read_range_page = (
            f"SELECT {COLUMNS} FROM events WHERE position > {p} AND position <= {p} ORDER BY position"
        )
        self.read_stream = f"SELECT {COLUMNS} FROM events WHERE stream_id = {p} AND version > {p} ORDER BY version"
        self.stream_version = f"SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = {p}"
        self._insert_rows: dict[tuple[str, int], str] = {}

    def insert_rows(self, single: str, count: int) -> str:
        """`single` (INSERT ... VALUES (p, ...)) extended to insert `count` rows in one statement."""
        key = (single, count)
        if key not in self._insert_rows:
            values = single[single.index("VALUES ") + len("VALUES "):]
            self._insert_rows[key] = single + (", " + values) * (count - 1)
        return self._insert_rows[key]


class SqlEventStore(EventStore):
    """The event store over one SQL database, through its DB-API driver; a subclass per dialect."""

    # What one command's values can make the database or its driver refuse (too long for a column, out of range,
    # a character it cannot hold, and the clashes of a stale or repeated command). Each fails that command
    # alone; a lost connection or a full disk is not among them and fails the whole batch, which retrying
    # alone would only repeat.
    refused_values: ClassVar[tuple[type[BaseException], ...]]
    statements: ClassVar[Statements]

    def __init__(self, engine: Engine, *, clock: Clock | None = None, wakeup: Wakeup | None = None,
                 poll_seconds: float = 1.0) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()
        self.wakeup = wakeup or LocalWakeup()
        self.poll_seconds = poll_seconds
        self._sql = self.statements

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def clock(self) -> Clock:
        return self._clock

    # --- what each dialect supplies ------------------------------------------------------------------

    @abstractmethod
    def _append_transaction(self, connection: Any) -> contextlib.AbstractContextManager[Any]:
        """Begin an append's transaction, serialized with every other append, and give its cursor; commit
        when the block ends. An error leaves the rollback to the caller."""

    @abstractmethod
    def _stored_time(self, moment: datetime) -> Any:
        """`moment` as the driver writes it to a timestamp column."""

    @abstractmethod
    def _select_keys(self, connection: Any, sql: str, keys: list[str]) -> Any:
        """A cursor executing `sql` (find_commands or read_streams) for `keys`."""

    @abstractmethod
    def _one_trip(self, connection: Any) -> contextlib.AbstractContextManager[None]:
        """Reads executed inside go to the server together, outside a transaction where the dialect can."""

    @abstractmethod
    def _is_clash(self, error: BaseException) -> bool:
        """Whether a refused append met a unique key (a stale or repeated command), not a value's limit."""

    # --- appending -----------------------------------------------------------------------------------

    def append_many(self, writes: Sequence[StreamWrite], *, command_id: str | None = None,
                    meta: EventMeta | None = None, fingerprint: str = "") -> AppendResult:
        encoded = encode(Append(writes, command_id, meta, fingerprint))
        if encoded is None:
            return AppendResult(events=[])
        return self._append_alone(encoded, writes)

    def append_batch(self, appends: Sequence[Append]) -> list[AppendResult | DispatchError]:
        """If any append clashes or has a value the database refuses, the shared transaction is rolled back
        and every append is retried alone, so one stale or bad command never fails the others; such commands
        are rare, commits are not."""
        answers: list[AppendResult | DispatchError] = [AppendResult(events=[]) for _ in appends]
        todo: list[tuple[int, Encoded]] = []
        for index, append in enumerate(appends):
            try:
                found = encode(append)
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
                    answers[index] = _appended(events)
                return answers
        for index, found in todo:
            try:
                answers[index] = self._append_alone(found, appends[index].writes)
            except (ConcurrencyConflict, IdempotencyKeyReused, ValueNotStored) as exc:
                answers[index] = exc
        return answers

    def _append_together(self, appends: Sequence[Encoded]) -> list[list[StoredEvent]] | None:
        """The appends in one transaction; None (rolled back) if one of them clashes or has a refused value."""
        connection = self.engine.raw_connection()
        try:
            return self._insert(connection, appends)
        except self.refused_values:  # the clashes among them
            connection.rollback()
            return None
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()

    def _append_alone(self, encoded: Encoded, writes: Sequence[StreamWrite]) -> AppendResult:
        connection = self.engine.raw_connection()
        try:
            stored = self._insert(connection, [encoded])[0]
        except self.refused_values as exc:
            connection.rollback()
            if self._is_clash(exc):
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
        return _appended(stored)

    def _insert(self, connection: Any, appends: Sequence[Encoded]) -> list[list[StoredEvent]]:
        with self._append_transaction(connection) as cursor:
            cursor.execute(self._sql.head)
            head = cursor.fetchone()
            recorded_at = self.clock.now()
            rows, commands, stored = _chained(appends, head, recorded_at, self._stored_time(recorded_at))
            # One multi-row INSERT, not executemany: sqlite3 releases and retakes the GIL around every row it
            # steps, and each retake can wait out another thread's switch interval (the API's event loop).
            for sql, values in ((self._sql.insert_event, rows), (self._sql.insert_command, commands)):
                for start in range(0, len(values), _ROWS_PER_INSERT):
                    chunk = values[start:start + _ROWS_PER_INSERT]
                    cursor.execute(self._sql.insert_rows(sql, len(chunk)), _flat(chunk))
        return stored

    def _replay(self, connection: Any, command_id: str, fingerprint: str) -> AppendResult | None:
        """The original result of a command already appended, or None; IdempotencyKeyReused if its key came
        with another request."""
        found = self._select_keys(connection, self._sql.find_commands, [command_id]).fetchall()
        earlier = self._replays(connection, {command_id: fingerprint}, found).get(command_id)
        connection.rollback()
        if isinstance(earlier, IdempotencyKeyReused):
            raise earlier
        return earlier

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

    # --- reading -------------------------------------------------------------------------------------

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]:
        if not storable_key(stream_id, STREAM_ID_MAX_LENGTH):
            return []
        return [decode_row(row) for row in self._rows(self._sql.read_stream, (stream_id, after_version))]

    def read_batch(self, commands: Sequence[tuple[str, str]], stream_ids: Sequence[str]
                   ) -> tuple[EarlierCommands, dict[str, list[StoredEvent]]]:
        """Both reads on one connection; on PostgreSQL in one round trip, outside a transaction (each is one
        statement), so a batch waits for the server once here instead of six times (checkout ping, BEGIN,
        query, ROLLBACK, twice): the committer is otherwise idle while it waits (bench/api_report.py)."""
        fingerprints = {command_id: fingerprint for command_id, fingerprint in commands
                        if storable_key(command_id, COMMAND_ID_MAX_LENGTH)}
        streams: dict[str, list[StoredEvent]] = {stream_id: [] for stream_id in dict.fromkeys(stream_ids)}
        wanted = [stream_id for stream_id in streams if storable_key(stream_id, STREAM_ID_MAX_LENGTH)]
        connection = self.engine.raw_connection()
        try:
            with self._one_trip(connection):
                cursors = [self._select_keys(connection, sql, keys) for sql, keys in (
                    (self._sql.find_commands, list(fingerprints)),
                    (self._sql.read_streams, wanted)) if keys]
                results = [cursor.fetchall() for cursor in cursors]
            found = results.pop(0) if fingerprints else []
            for row in results[0] if wanted else []:
                event = decode_row(row)
                streams[event.stream_id].append(event)
            return self._replays(connection, fingerprints, found), streams
        finally:
            connection.close()

    def _replays(self, connection: Any, fingerprints: dict[str, str], found: list[Any]) -> EarlierCommands:
        """The original results of the commands found already appended (a retry; rare): one more query."""
        answers: EarlierCommands = {}
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
            cursor.execute(f"SELECT {COLUMNS} FROM events WHERE {where} ORDER BY position",
                           tuple(bound for _id, first, last in ranges for bound in (first, last)))
            by_position = {event.position: event for event in map(decode_row, cursor.fetchall())}
            connection.rollback()
            for command_id, first, last in ranges:
                replayed = [by_position[position] for position in range(first, last + 1) if position in by_position]
                answers[command_id] = _appended(replayed, replayed=True)
        return answers

    def read_all(self, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        return [decode_row(row) for row in self._page(after, limit)]

    def head(self) -> int:
        return int(self._scalar(self._sql.max_position, ()))

    def iter_all(self, after: int = 0, batch_size: int = 5000) -> Iterator[StoredEvent]:
        """Decoded one at a time as it is consumed (a whole decoded batch alive at once keeps the garbage
        collector busy: half the replay time)."""
        while rows := self._page(after, batch_size):
            for row in rows:
                yield decode_row(row)
            after = rows[-1][0]

    def _page(self, after: int, limit: int) -> list[Any]:
        if after >= _MAX_POSITION:
            return []  # no log gets there; PostgreSQL would refuse a bound past its 64 bits
        rows = self._rows(self._sql.read_range_page, (after, min(after + limit, _MAX_POSITION)))
        if rows:
            return rows
        # Nothing in the range: the end of the log, or a hole (a row deleted behind our back) to step over.
        return self._rows(self._sql.read_all, (after, limit))

    # --- following and verifying ---------------------------------------------------------------------

    def wait_for_events(self, after: int, timeout: float) -> bool:
        """Woken by the wake-up, else polling every poll_seconds."""
        deadline = time.monotonic() + timeout
        while True:
            token = self.wakeup.token()
            if self.head() > after:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.wakeup.wait(token, min(remaining, self.poll_seconds))

    def verify(self, batch_size: int = 5000, *, checkpoints: Sequence[Anchor] = (),
               since: Anchor | None = None) -> ChainReport:
        """Walk the chain (dispatch/adapters/eventlog/chain.py): positions gap-free, each prev_hash the previous
        hash, each hash recomputed, and the log at each checkpoint's position holding that checkpoint's hash."""
        walk = ChainWalk(checkpoints, since=since)
        after = since.position - 1 if since is not None else 0
        while rows := self._page(after, batch_size):
            if not all(walk.check(chain_row(row)) for row in rows):
                break
            after = rows[-1][0]
        return walk.report()

    # --- helpers -------------------------------------------------------------------------------------

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


def _chained(appends: Sequence[Encoded], head: Any, recorded_at: datetime, stored_time: Any
             ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[list[StoredEvent]]]:
    """The event rows and command rows of `appends`, each event chained to the one before from the log's `head`
    (its position and hash; None for an empty log), and the stored events each append becomes."""
    position, prev_hash = (head[0], head[1]) if head else (0, GENESIS_HASH)
    rows, commands, stored_all = [], [], []
    for append in appends:
        stored = []
        for stream_id, version, event_type, schema_version, data, event in append.events:
            position += 1
            digest = event_hash(prev_hash, position, stream_id, version, event_type, schema_version, recorded_at,
                                data, append.meta_json)
            rows.append((position, stream_id, version, event_type, schema_version, data, append.meta_json,
                         stored_time, prev_hash, digest))
            stored.append(StoredEvent(position, stream_id, version, event_type, schema_version, event, data,
                                      append.meta_json, recorded_at, prev_hash, digest))
            prev_hash = digest
        if append.command_id is not None:
            commands.append((append.command_id, stored[0].position, stored[-1].position, append.fingerprint,
                             stored_time))
        stored_all.append(stored)
    return rows, commands, stored_all


def _appended(events: list[StoredEvent], *, replayed: bool = False) -> AppendResult:
    return AppendResult(events=events, replayed=replayed,
                        last_versions={event.stream_id: event.version for event in events})


def _flat(rows: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    return tuple(value for row in rows for value in row)
