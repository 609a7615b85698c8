"""The projector: reads the log after each projection's checkpoint, applies a batch in memory, and commits
the changed rows and the checkpoint in one transaction (DESIGN.md §3). A crash replays a batch, never
skips or double-counts one, because rows and checkpoint move together.

Only one projector writes at a time: on PostgreSQL it holds an advisory lock for its life, on SQLite an
exclusive file lock next to the database; a second projector waits for the first to go away.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from sqlalchemy import Connection, Engine, Table, delete, insert, select, text, update
from sqlalchemy.engine import make_url

from dispatch.events.envelope import StoredEvent
from dispatch.events.store import EventStore
from dispatch.projections.rows import Change, Projection, Row, RowGroup, RowSet
from dispatch.projections.tables import CHECKPOINTS
from dispatch.projections.writer import BulkInsert

log = logging.getLogger("dispatch.projector")
PROJECTOR_LOCK_KEY: Final[int] = 1669_0081
_PG_TRY_LOCK: Final[str] = "SELECT pg_try_advisory_lock(hashtext(current_schema()), :key)"
_PG_UNLOCK: Final[str] = "SELECT pg_advisory_unlock(hashtext(current_schema()), :key)"
_LOCK_RETRY_SECONDS: Final[float] = 0.5
_IN_CHUNK: Final[int] = 500
Publisher = Callable[[list[Change]], None]


@dataclass(frozen=True)
class Batch:
    read: int
    position: int
    changes: list[Change]


class Projector:
    def __init__(
        self,
        store: EventStore,
        projections: Sequence[Projection],
        *,
        batch_size: int = 2000,
        publish: Publisher | None = None,
    ) -> None:
        self.store = store
        self.engine: Engine = store.engine
        self.projections = {projection.name: projection for projection in projections}
        self.batch_size = batch_size
        self.publish = publish
        self._inserters: dict[str, BulkInsert] = {}

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
                rows = self._load(db, projection, events)
                for stored in events:
                    projection.apply(rows, stored)
                changes += self._write(db, projection, rows)
                self._set_checkpoint(db, projection.name, events[-1].position)
        changes.sort(key=lambda change: change.position)
        return Batch(read=len(events), position=events[-1].position, changes=changes)

    def catch_up_all(self) -> int:
        """Bring every projection to the head; returns how many changes were published.

        Projections normally move together, so each batch's changes are published once, in log order:
        a board that saw position P has seen every change up to P. A projection left behind (a rebuild
        of one) first catches up alone to the others, and then a resync tells boards to reload.
        """
        published = 0
        if self._align():
            published += self._publish([Change(view="*", key="resync", position=self._shared_position(), row=None)])
        group = list(self.projections.values())
        while (batch := self.catch_up(group)).read:
            published += self._publish(batch.changes)
        return published

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
        """Follow the log until `stop` is set: catch up, then sleep until a wake-up or the poll interval."""
        with self.leadership(stop) as leading:
            if not leading:
                return  # told to stop while another projector still led
            # The projector before this one may have committed a batch and died before publishing it: boards
            # reload once (a LiveHub resyncs on "*") rather than miss that batch for good.
            self._publish([Change(view="*", key="resync", position=self._shared_position(), row=None)])
            while not stop.is_set():
                self.catch_up_all()
                self.store.wait_for_events(after=self._shared_position(), timeout=wait_seconds)

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
                    self._inserter(table).run(db, [row for _key, row, _position in rows[projection.name].changed(
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
            ordered = sorted(values)
            for start in range(0, len(ordered), _IN_CHUNK):
                chunk = ordered[start:start + _IN_CHUNK]
                for found in db.execute(select(table).where(by.in_(chunk))).mappings():
                    loaded[(table_name, found[primary.name])] = dict(found)
        return RowSet(loaded)

    def _write(self, db: Connection, projection: Projection, rows: RowSet) -> list[Change]:
        changes: list[Change] = []
        for table in projection.tables:
            changed = rows.changed(table.name)
            if not changed:
                continue
            primary = _primary(table)
            keys = [key for key, _row, _position in changed]
            for start in range(0, len(keys), _IN_CHUNK):
                db.execute(delete(table).where(primary.in_(keys[start:start + _IN_CHUNK])))
            self._inserter(table).run(db, [row for _key, row, _position in changed])
            changes.extend(Change(view=table.name, key=key, position=position, row=row)
                           for key, row, position in changed)
        return changes


def replay_in_memory(projection: Projection, events: Sequence[StoredEvent]) -> RowSet:
    """The projection's rows as of the last of `events`, built without touching the database (time travel)."""
    rows = RowSet()
    for stored in events:
        projection.apply(rows, stored)
    return rows


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
