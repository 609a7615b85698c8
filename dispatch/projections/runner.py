"""The projector: reads the log after each projection's checkpoint, applies a batch in memory, and commits
the changed rows and the checkpoint in one transaction (DESIGN.md §3). A crash replays a batch, never
skips or double-counts one, because rows and checkpoint move together.

Only one projector writes at a time: on PostgreSQL it holds an advisory lock for its life, on SQLite an
exclusive file lock next to the database; a second projector waits for the first to go away.

No event stops it for good, and none stops it silently. A batch that fails is applied again one event per
transaction, so every event before the failing one lands and the failure names its position; the projector then
stalls there, logs the position, the event's type and the error's class and code (never its message, which may
quote patient text), says so in its status record (status.py) and tries again with backoff, resuming by itself
once the cause is gone (a database back, a projection fixed and deployed, a row repaired).

The projections stall together. They are independent tables, but they share one position: the live push
publishes every view's changes in log order under it, and a board that saw position P has seen every change up
to P. Letting the fleet run ahead of a stalled board would show a boat assigned to an incident the board does not
have. A dispatcher is better served by one consistent picture with a banner saying how stale it is.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final, Protocol

from sqlalchemy import Connection, Engine, Table, delete, insert, select, text, update
from sqlalchemy.engine import make_url

from dispatch.adapters.eventlog.store import EventStore
from dispatch.adapters.read_models import CHECKPOINTS
from dispatch.domain.envelope import StoredEvent
from dispatch.projections.rows import Change, Projection, Row, RowGroup, RowSet
from dispatch.projections.status import Lag, ProjectorStatus, StatusRecord, error_code, failure_site, projector_lag
from dispatch.projections.writer import BulkInsert, clean_text

log = logging.getLogger("dispatch.projector")
PROJECTOR_LOCK_KEY: Final[int] = 1669_0081
_PG_TRY_LOCK: Final[str] = "SELECT pg_try_advisory_lock(hashtext(current_schema()), :key)"
_PG_UNLOCK: Final[str] = "SELECT pg_advisory_unlock(hashtext(current_schema()), :key)"
_LOCK_RETRY_SECONDS: Final[float] = 0.5
_IN_CHUNK: Final[int] = 500
# How often a running projector refreshes its status record and its lag gauges.
REPORT_SECONDS: Final[float] = 2.0
Publisher = Callable[[list[Change]], None]


@dataclass(frozen=True)
class Batch:
    read: int
    position: int
    changes: list[Change]


class ProjectionFailed(Exception):
    """Applying or writing `projection` failed on a batch; the cause is chained."""

    def __init__(self, projection: str) -> None:
        super().__init__(f"projection {projection} failed")
        self.projection = projection


class Observer(Protocol):
    """Told of each batch and of the projector's status (the process's metrics, when it exports them)."""

    def batch(self, read: int, seconds: float) -> None: ...

    def status(self, status: ProjectorStatus, lag: Lag | None) -> None: ...


@dataclass
class Stall:
    """Where and why the projector stopped, and how often it has tried since."""

    position: int | None
    error: str
    since: float  # time.monotonic()
    at: datetime
    attempts: int = 1


class Projector:
    def __init__(
        self,
        store: EventStore,
        projections: Sequence[Projection],
        *,
        batch_size: int = 2000,
        publish: Publisher | None = None,
        status: StatusRecord | None = None,
        observer: Observer | None = None,
        retry_seconds: tuple[float, float] = (1.0, 30.0),
    ) -> None:
        self.store = store
        self.engine: Engine = store.engine
        self.projections = {projection.name: projection for projection in projections}
        self.batch_size = batch_size
        self.publish = publish
        self.status_record = status
        self.observer = observer
        self.retry_seconds = retry_seconds  # (first, longest) wait before trying a failed event again
        self.stall: Stall | None = None
        self._inserters: dict[str, BulkInsert] = {}
        self._careful = False  # the last batch failed: go one event per transaction to find the failing one
        self._careful_until: int | None = None
        self._resync_due = True  # boards may have missed a batch: committed, then not published
        self._reported_at = -float("inf")

    # --- catching up -------------------------------------------------------------------------------

    def catch_up(self, projections: Sequence[Projection], *, until: int | None = None) -> Batch:
        """Apply one batch of events after the projections' shared checkpoint (up to `until`), committing
        every changed row and every checkpoint in one transaction; an empty batch at the head."""
        with self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as db, db.begin():
            checkpoints = {self._checkpoint(db, projection.name, lock=True) for projection in projections}
            if len(checkpoints) != 1:
                raise ValueError(f"projections {[p.name for p in projections]} are at different positions")
            (checkpoint,) = checkpoints
            limit = self.batch_size if until is None else min(self.batch_size, until - checkpoint)
            events = self.store.read_all(after=checkpoint, limit=limit) if limit > 0 else []
            if not events:
                return Batch(read=0, position=checkpoint, changes=[])
            changes: list[Change] = []
            for projection in projections:
                try:
                    rows = self._load(db, projection, events)
                    for stored in events:
                        projection.apply(rows, stored)
                    changes += self._write(db, projection, rows)
                except Exception as exc:
                    raise ProjectionFailed(projection.name) from exc
                self._set_checkpoint(db, projection.name, events[-1].position)
        changes.sort(key=lambda change: change.position)
        return Batch(read=len(events), position=events[-1].position, changes=changes)

    def catch_up_all(self, *, until: int | None = None) -> int:
        """Bring every projection to the head; returns how many changes were published.

        Projections normally move together, so each batch's changes are published once, in log order:
        a board that saw position P has seen every change up to P. A projection left behind (a rebuild
        of one) first catches up alone to the others, and then a resync tells boards to reload.
        """
        published = 0
        if self._align():
            published += self._publish([Change(view="*", key="resync", position=self._shared_position(), row=None)])
        group = list(self.projections.values())
        while True:
            started = time.perf_counter()
            batch = self.catch_up(group, until=until)
            if not batch.read:
                return published
            if self.observer is not None:
                self.observer.batch(batch.read, time.perf_counter() - started)
            published += self._publish(batch.changes)

    def _align(self) -> bool:
        """Catch lagging projections up to the furthest one; True if any had to."""
        positions = {name: self.position(name) for name in self.projections}
        target = max(positions.values())
        laggards = [self.projections[name] for name, at in positions.items() if at < target]
        for projection in laggards:
            while self.catch_up([projection], until=target).read:
                pass
        return bool(laggards)

    def _shared_position(self) -> int:
        return min(self.position(name) for name in self.projections)

    def _publish(self, changes: list[Change]) -> int:
        if self.publish is not None and changes:
            self.publish(changes)
        return len(changes)

    def position(self, name: str) -> int:
        with self.engine.connect() as db:
            return self._checkpoint(db, name, lock=False)

    def run(self, stop: threading.Event, *, wait_seconds: float = 1.0) -> None:
        """Follow the log until `stop` is set: catch up, then sleep until a wake-up or the poll interval; after a
        failure, wait out the backoff and try again."""
        with self.leadership(stop) as leading:
            if not leading:
                return  # told to stop while another projector still led
            while not stop.is_set():
                retry_in = self.step(wait_seconds=wait_seconds, stop=stop)
                if retry_in is not None:
                    stop.wait(retry_in)

    # --- stalling and resuming ---------------------------------------------------------------------

    def step(self, *, wait_seconds: float = 0.0, stop: threading.Event | None = None) -> float | None:
        """Catch up once, then wait up to `wait_seconds` for more; None when that went well, else how many seconds
        to wait before trying again (the projector is stalled, or about to look for the event that failed)."""
        try:
            if self._resync_due:
                # The projector before this one (or this one, before a failure) may have committed a batch and not
                # published it: boards reload once (a LiveHub resyncs on "*") rather than miss it for good.
                self._publish([Change(view="*", key="resync", position=self._shared_position(), row=None)])
                self._resync_due = False
                if stop is not None and stop.is_set():
                    return None
            if self._careful:
                self._catch_up_carefully()
            self.catch_up_all()
            self._resumed()
            self.report()
            if wait_seconds:
                self.store.wait_for_events(after=self._shared_position(), timeout=wait_seconds)
        except Exception as exc:  # whatever fails, the projector stalls visibly and lives on
            return self._failed(exc)
        return None

    def _catch_up_carefully(self) -> None:
        """Apply one event per transaction up to the end of the batch that failed."""
        if self._careful_until is None:
            self._careful_until = self._shared_position() + self.batch_size
        batch_size, self.batch_size = self.batch_size, 1
        try:
            self.catch_up_all(until=self._careful_until)
        finally:
            self.batch_size = batch_size
        self._careful, self._careful_until = False, None

    def _failed(self, exc: Exception) -> float:
        self._resync_due = True
        cause = exc.__cause__ if isinstance(exc, ProjectionFailed) and exc.__cause__ is not None else exc
        if not self._careful:
            self._careful = True  # find the failing event now, one at a time
            if self.stall is None:
                log.warning("projector batch failed; applying its events one at a time",
                            extra={"error": error_code(cause), "where": failure_site(cause)})
            return 0.0
        code, position = error_code(cause), self._failing_position()
        if self.stall is None or (self.stall.position, self.stall.error) != (position, code):
            log.error("projector stalled: cannot apply an event; retrying with backoff", extra={
                "position": position, "event_type": self._event_type(position), "error": code,
                "projection": getattr(exc, "projection", None), "where": failure_site(cause)})
            self.stall = Stall(position=position, error=code, since=time.monotonic(), at=self.store.clock.now())
        else:
            self.stall.attempts += 1
        self.report(force=True)
        first, longest = self.retry_seconds
        return float(min(longest, first * 2 ** min(self.stall.attempts - 1, 16)))

    def _resumed(self) -> None:
        if self.stall is None:
            return
        log.warning("projector resumed", extra={
            "position": self.stall.position, "error": self.stall.error, "attempts": self.stall.attempts,
            "stalled_seconds": round(time.monotonic() - self.stall.since, 1)})
        self.stall = None
        self.report(force=True)

    def _failing_position(self) -> int | None:
        """The first event after the shared position: the one that failed, as events go one at a time now."""
        try:
            with self.engine.connect() as db:
                return db.execute(text("SELECT MIN(position) FROM events WHERE position > :after"),
                                  {"after": self._shared_position()}).scalar()
        except Exception:  # the database itself may be what failed
            return None

    def _event_type(self, position: int | None) -> str | None:
        if position is None:
            return None
        try:
            with self.engine.connect() as db:
                found = db.execute(text("SELECT type FROM events WHERE position = :at"), {"at": position}).scalar()
            return None if found is None else str(found)[:80]
        except Exception:  # best effort, for the log line
            return None

    def report(self, *, force: bool = False) -> None:
        """Write the status record and tell the observer, at most every REPORT_SECONDS unless `force`d."""
        if self.status_record is None and self.observer is None:
            return
        now = time.monotonic()
        if not force and now - self._reported_at < REPORT_SECONDS:
            return
        self._reported_at = now
        status = self.current_status()
        if self.status_record is not None:
            self.status_record.write(status)
        if self.observer is not None:
            try:
                lag: Lag | None = projector_lag(self.engine, list(self.projections), self.store.clock.now())
            except Exception:  # a database away: the status still goes out
                lag = None
            self.observer.status(status, lag)

    def current_status(self) -> ProjectorStatus:
        try:
            position = self._shared_position()
        except Exception:  # a database away
            position = -1
        stall, now = self.stall, self.store.clock.now()
        if stall is None:
            return ProjectorStatus(state="running", position=position, updated_at=now)
        return ProjectorStatus(state="stalled", position=position, updated_at=now, stalled_at=stall.position,
                               error=stall.error, since=stall.at, attempts=stall.attempts)

    # --- rebuilding --------------------------------------------------------------------------------

    def rebuild(self, names: Sequence[str] | None = None, progress: Callable[[int], None] | None = None) -> int:
        """Drop and replay projections from the log; returns the position replayed to.

        The replay runs in memory (the tables start empty, so nothing needs loading) and every row is written
        once, with the drop and the checkpoints, in one transaction: readers see the old rows until the new
        ones are complete, and a crash mid-rebuild leaves the old ones in place.
        """
        chosen = [self.projections[name] for name in (names or list(self.projections))]
        rows = {projection.name: RowSet() for projection in chosen}
        replayed, since_progress = 0, 0
        for stored in self.store.iter_all():
            for projection in chosen:
                projection.apply(rows[projection.name], stored)
            replayed, since_progress = stored.position, since_progress + 1
            if progress is not None and since_progress == self.batch_size:
                progress(since_progress)
                since_progress = 0
        with self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as db, db.begin():
            for projection in chosen:
                self._checkpoint(db, projection.name, lock=True)
                for table in projection.tables:
                    db.execute(delete(table))
                    inserter = self._inserter(table)
                    inserter.run(db, [inserter.fit(row) for _key, row, _position in rows[projection.name].changed(
                        table.name)])
                self._set_checkpoint(db, projection.name, replayed)
        if progress is not None and since_progress:
            progress(since_progress)
        return replayed

    def _inserter(self, table: Table) -> BulkInsert:
        inserter = self._inserters.get(table.name)
        if inserter is None:
            inserter = self._inserters[table.name] = BulkInsert(table, self.engine.dialect.name)
        return inserter

    # --- one writer --------------------------------------------------------------------------------

    @contextmanager
    def leadership(self, stop: threading.Event | None = None) -> Iterator[bool]:
        """Hold the projector lock, yielding True; a second projector waits here until the first stops, and
        yields False if `stop` is set first (waiting by polling, so a signal can always end the wait).

        On PostgreSQL the lock is keyed by the schema, so logs in different schemas of one database (tests,
        several deployments) never wait for each other's projectors.
        """
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as holder:
                key = {"key": PROJECTOR_LOCK_KEY}
                while not holder.execute(text(_PG_TRY_LOCK), key).scalar():
                    holder.commit()
                    if stop is not None and stop.wait(_LOCK_RETRY_SECONDS):
                        yield False
                        return
                    if stop is None:
                        time.sleep(_LOCK_RETRY_SECONDS)
                holder.commit()
                try:
                    yield True
                finally:
                    holder.execute(text(_PG_UNLOCK), key)
                    holder.commit()
            return
        with _file_lock(_lock_path(self.engine), stop) as held:
            yield held

    # --- helpers -----------------------------------------------------------------------------------

    def _checkpoint(self, db: Connection, name: str, *, lock: bool) -> int:
        table = CHECKPOINTS
        query = select(table.c.position).where(table.c.name == name)
        if lock and db.dialect.name == "postgresql":
            query = query.with_for_update()
        found = db.execute(query).scalar()
        if found is None and lock:  # a writer creates the checkpoint; a reader only reads
            db.execute(insert(table).values(name=name, position=0))
        return int(found or 0)

    def _set_checkpoint(self, db: Connection, name: str, position: int) -> None:
        table = CHECKPOINTS
        db.execute(update(table).where(table.c.name == name).values(position=position))

    def _load(self, db: Connection, projection: Projection, events: list[StoredEvent]) -> RowSet:
        """The rows the projection names for these events, each table and column read in chunks of keys."""
        wanted: dict[tuple[str, str | None], set[str]] = {}
        for stored in events:
            for named in projection.keys(stored):
                if isinstance(named, RowGroup):
                    wanted.setdefault((named.table, named.column), set()).add(named.value)
                else:
                    table_name, key = named
                    wanted.setdefault((table_name, None), set()).add(key)  # None: by primary key
        loaded: dict[tuple[str, str], Row] = {}
        tables = {table.name: table for table in projection.tables}
        for (table_name, column), values in wanted.items():
            table = tables[table_name]
            primary = _primary(table)
            by = primary if column is None else table.c[column]
            # Rows were stored under cleaned keys (writer.py); the projection asks for them by the event's own.
            asked = {clean_text(value): value for value in values} if column is None else {}
            ordered = sorted({clean_text(value) for value in values})
            for start in range(0, len(ordered), _IN_CHUNK):
                chunk = ordered[start:start + _IN_CHUNK]
                for found in db.execute(select(table).where(by.in_(chunk))).mappings():
                    key = found[primary.name]
                    loaded[(table_name, asked.get(key, key))] = dict(found)
        return RowSet(loaded)

    def _write(self, db: Connection, projection: Projection, rows: RowSet) -> list[Change]:
        changes: list[Change] = []
        for table in projection.tables:
            changed = rows.changed(table.name)
            if not changed:
                continue
            primary = _primary(table)
            keys = [clean_text(key) for key, _row, _position in changed]
            for start in range(0, len(keys), _IN_CHUNK):
                db.execute(delete(table).where(primary.in_(keys[start:start + _IN_CHUNK])))
            inserter = self._inserter(table)
            fitted = [inserter.fit(row) for _key, row, _position in changed]
            inserter.run(db, fitted)
            # Boards get the rows as stored: what a reload would show them.
            changes.extend(Change(view=table.name, key=key, position=position, row=row)
                           for key, row, (_key, _row, position) in zip(keys, fitted, changed, strict=True))
        return changes


def _primary(table: Any) -> Any:
    (column,) = table.primary_key.columns
    return column


def _lock_path(engine: Engine) -> Path:
    database = make_url(str(engine.url)).database or "dispatch.db"
    return Path(f"{database}.projector.lock")


@contextmanager
def _file_lock(path: Path, stop: threading.Event | None) -> Iterator[bool]:
    handle: IO[str] = path.open("a")
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if stop is not None and stop.wait(_LOCK_RETRY_SECONDS):
                    yield False
                    return
                if stop is None:
                    time.sleep(_LOCK_RETRY_SECONDS)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()
