"""The event store as the rest of the system uses it: append, read, follow and verify one log (DESIGN.md §2).

`EventStore` is the protocol. One class per database implements it (dispatch/adapters/eventlog/sql/: `open_event_store`
picks the class from the engine's dialect), sharing the codec (dispatch/adapters/eventlog/codec.py) and the hash chain
(dispatch/adapters/eventlog/chain.py). A test or a benchmark that changes one call wraps a store in `ForwardingStore`
rather than subclassing an implementation, so every call it does not change still reaches the database.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Engine

from dispatch.adapters.eventlog.chain import Anchor, ChainReport
from dispatch.adapters.eventlog.wakeup import Wakeup
from dispatch.domain.catalogue import Event
from dispatch.domain.envelope import EventMeta, StoredEvent
from dispatch.domain.errors import DispatchError, IdempotencyKeyReused
from dispatch.runtime.clock import Clock


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


# What a batch read finds of the commands asked about: each one already appended, with its original result, or
# IdempotencyKeyReused if its key came with another request.
EarlierCommands = dict[str, AppendResult | IdempotencyKeyReused]


class EventStore(Protocol):
    """Append, read, follow and verify the log. Thread-safe: each call takes its own pooled connection.

    Appends are serialized by the database, so positions commit in order and a follower reading
    `position > last` never skips one; concurrency between commands rests on UNIQUE(stream_id, version) alone.
    """

    # The wake-up appends notify and followers wait on: in-process by default, Redis across processes.
    wakeup: Wakeup

    @property
    def engine(self) -> Engine:
        """The database the log is in; the read models live beside it."""
        ...

    @property
    def clock(self) -> Clock:
        """The clock that stamps each event's recorded_at."""
        ...

    # --- appending -----------------------------------------------------------------------------------

    def append(self, stream_id: str, events: Sequence[Event], *, expected_version: int,
               command_id: str | None = None, meta: EventMeta | None = None, fingerprint: str = "") -> AppendResult:
        """Append events to one stream if it is still at `expected_version`; a repeated command_id appends nothing."""
        return self.append_many([StreamWrite(stream_id, events, expected_version)], command_id=command_id,
                                meta=meta, fingerprint=fingerprint)

    def append_many(self, writes: Sequence[StreamWrite], *, command_id: str | None = None,
                    meta: EventMeta | None = None, fingerprint: str = "") -> AppendResult:
        """Append to several streams in one transaction: all or nothing (a dispatch touches incident and boat).
        ConcurrencyConflict if a stream has moved on, IdempotencyKeyReused if the command id came with another
        request, InvalidText or ValueNotStored if a value cannot be stored."""
        ...

    def append_batch(self, appends: Sequence[Append]) -> list[AppendResult | DispatchError]:
        """Group commit: several commands' appends in one transaction with one fsync, each all or nothing.
        Each answer is its AppendResult, or the error that command alone met (as append_many raises it)."""
        ...

    # --- reading -------------------------------------------------------------------------------------

    def read_batch(self, commands: Sequence[tuple[str, str]], stream_ids: Sequence[str]
                   ) -> tuple[EarlierCommands, dict[str, list[StoredEvent]]]:
        """What a group commit reads before it decides, together: of the (command id, fingerprint) pairs, those
        already appended; and each stream named, whole, in version order ([] for a stream with no events)."""
        ...

    def find_command(self, command_id: str, fingerprint: str = "") -> AppendResult | None:
        """The original result of a command already appended, or None; IdempotencyKeyReused if its key came
        with another request."""
        earlier = self.read_batch([(command_id, fingerprint)], [])[0].get(command_id)
        if isinstance(earlier, IdempotencyKeyReused):
            raise earlier
        return earlier

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]:
        """One stream's events after `after_version`, in version order."""
        ...

    def read_all(self, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Events with position > after, in position order, at most `limit`."""
        ...

    def iter_all(self, after: int = 0, batch_size: int = 5000) -> Iterator[StoredEvent]:
        """Every event after `after`, in position order, fetched in batches of `batch_size`."""
        ...

    def head(self) -> int:
        """The last committed position (0 for an empty log)."""
        ...

    # --- following and verifying ---------------------------------------------------------------------

    def wait_for_events(self, after: int, timeout: float) -> bool:
        """Block until the log reaches past `after`; False on timeout."""
        ...

    def verify(self, batch_size: int = 5000, *, checkpoints: Sequence[Anchor] = (),
               since: Anchor | None = None) -> ChainReport:
        """Walk the hash chain from the first event (or from `since`, a checkpoint already trusted), and check
        the log against every checkpoint."""
        ...


class ForwardingStore(EventStore):
    """A store that passes every call on to `inner`: subclass it to change one call (a test that stages a race,
    a benchmark that keeps streams in memory); `append` and `find_command` come through the changed calls."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner

    @property
    def wakeup(self) -> Wakeup:
        return self.inner.wakeup

    @wakeup.setter
    def wakeup(self, wakeup: Wakeup) -> None:
        self.inner.wakeup = wakeup

    @property
    def engine(self) -> Engine:
        return self.inner.engine

    @property
    def clock(self) -> Clock:
        return self.inner.clock

    def append_many(self, writes: Sequence[StreamWrite], *, command_id: str | None = None,
                    meta: EventMeta | None = None, fingerprint: str = "") -> AppendResult:
        return self.inner.append_many(writes, command_id=command_id, meta=meta, fingerprint=fingerprint)

    def append_batch(self, appends: Sequence[Append]) -> list[AppendResult | DispatchError]:
        return self.inner.append_batch(appends)

    def read_batch(self, commands: Sequence[tuple[str, str]], stream_ids: Sequence[str]
                   ) -> tuple[EarlierCommands, dict[str, list[StoredEvent]]]:
        return self.inner.read_batch(commands, stream_ids)

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]:
        return self.inner.read_stream(stream_id, after_version)

    def read_all(self, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        return self.inner.read_all(after, limit)

    def iter_all(self, after: int = 0, batch_size: int = 5000) -> Iterator[StoredEvent]:
        return self.inner.iter_all(after, batch_size)

    def head(self) -> int:
        return self.inner.head()

    def wait_for_events(self, after: int, timeout: float) -> bool:
        return self.inner.wait_for_events(after, timeout)

    def verify(self, batch_size: int = 5000, *, checkpoints: Sequence[Anchor] = (),
               since: Anchor | None = None) -> ChainReport:
        return self.inner.verify(batch_size, checkpoints=checkpoints, since=since)
