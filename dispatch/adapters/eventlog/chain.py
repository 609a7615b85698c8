"""The tamper-evident hash chain: hash = sha256(prev_hash + canonical event), over the global log.

A chain alone proves only that it is consistent with itself: whoever can write the database can cut its
last rows off, or rewrite a row and recompute every hash after it. Anchors (signed checkpoints kept outside
the database, dispatch/adapters/eventlog/checkpoints.py) pin the hash the log had at a position, so `ChainWalk`
catches both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final, NamedTuple, Protocol

import msgspec

GENESIS_HASH: Final[str] = "0" * 64
_encode = msgspec.json.Encoder().encode


def canonical_time(moment: datetime) -> str:
    """The one text form of a time that enters the hash, whatever the database returned it as."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    prev_hash: str,
    position: int,
    stream_id: str,
    version: int,
    event_type: str,
    schema_version: int,
    recorded_at: datetime,
    data: str,
    meta: str,
) -> str:
    # A JSON array is unambiguous where a joined string is not ("a|b" + "c" vs "a" + "b|c").
    canonical = _encode(
        [position, stream_id, version, event_type, schema_version, canonical_time(recorded_at), data, meta]
    )
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


class ChainReport(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of walking the chain; `first_bad_position` names the first row that fails.

    `anchored_position` is the newest anchor (signed checkpoint) the log was found to agree with."""

    intact: bool
    checked: int
    head_position: int
    head_hash: str = GENESIS_HASH
    first_bad_position: int | None = None
    problem: str | None = None
    anchored_position: int | None = None


class Anchor(Protocol):
    """A point of the chain vouched for outside the database: the hash the log had at a position, and when."""

    @property
    def position(self) -> int: ...

    @property
    def hash(self) -> str: ...

    @property
    def at(self) -> str: ...


def cut_short(head: int, newest: Anchor) -> str:
    """What a log that ends at `head`, before the newest checkpoint's position, has lost."""
    return f"the log ends at position {head}, but the checkpoint signed at {newest.at} records position " \
           f"{newest.position}: positions {head + 1} to {newest.position} were removed"


class ChainRow(NamedTuple):
    """The stored columns the hash covers, as the walk checks them."""

    position: int
    stream_id: str
    version: int
    event_type: str
    schema_version: int
    data: str
    meta: str
    recorded_at: datetime
    prev_hash: str
    hash: str


class ChainWalk:
    """Checks rows fed in position order: positions gap-free, each prev_hash the hash before it, each hash
    recomputed, and the hash at every anchor's position the anchor's; `report` also refuses a log that ends
    before its newest anchor (its last rows deleted).

    `since`, an anchor already trusted, starts the walk at its position instead of at the first event: the
    row there must carry the anchor's hash, and what lies before it is not read again."""

    def __init__(self, anchors: Sequence[Anchor] = (), *, since: Anchor | None = None) -> None:
        start = since.position if since is not None else 0
        everything = sorted([*anchors, *([since] if since else [])], key=lambda anchor: anchor.position)
        self._anchors = [anchor for anchor in everything if anchor.position >= start]
        self._next_anchor = 0  # the anchors before it have been matched
        self._expected = max(start, 1)
        # None: the first row's own link is vouched for by `since` (its hash is checked against it).
        self._prev: str | None = None if since is not None else GENESIS_HASH
        self._head = (start - 1, GENESIS_HASH) if since is not None else (0, GENESIS_HASH)
        self._matched: Anchor | None = None
        self._from_genesis = since is None
        self._checked = 0
        self._broken: tuple[int, str] | None = None

    def check(self, row: ChainRow) -> bool:
        """Check the next row; False (and no more rows needed) once one fails."""
        found = self._link_problem(row) or self._anchor_problem(row)
        if found is not None:
            self._broken = found
            return False
        self._prev, self._expected, self._checked = row.hash, row.position + 1, self._checked + 1
        self._head = (row.position, row.hash)
        return True

    def report(self) -> ChainReport:
        position, digest = self._head
        anchored = self._matched.position if self._matched is not None else None
        if self._broken is None and self._next_anchor < len(self._anchors):
            self._broken = self._cut_short(position)
        if self._broken is not None:
            return ChainReport(intact=False, checked=self._checked, head_position=position, head_hash=digest,
                               first_bad_position=self._broken[0], problem=self._broken[1],
                               anchored_position=anchored)
        return ChainReport(intact=True, checked=self._checked, head_position=position, head_hash=digest,
                           anchored_position=anchored)

    def _cut_short(self, head: int) -> tuple[int, str]:
        newest = self._anchors[-1]
        if self._checked == 0 and not self._from_genesis:  # started at `since` and found not even its row
            return self._expected, f"the log ends before position {self._expected}, but the checkpoint signed " \
                                   f"at {newest.at} records position {newest.position}: its end was removed"
        return head + 1, cut_short(head, newest)

    def _link_problem(self, row: ChainRow) -> tuple[int, str] | None:
        position = row.position
        if position != self._expected:
            return self._expected, f"position {self._expected} is missing (next stored is {position})"
        prev_hash = row.prev_hash if self._prev is None else self._prev
        if row.prev_hash != prev_hash:
            return position, f"position {position}: prev_hash does not match the hash of position {position - 1}"
        computed = event_hash(prev_hash, position, row.stream_id, row.version, row.event_type, row.schema_version,
                              row.recorded_at, row.data, row.meta)
        if computed != row.hash:
            return position, f"position {position}: stored content does not match its hash (altered after it " \
                              "was written)"
        return None

    def _anchor_problem(self, row: ChainRow) -> tuple[int, str] | None:
        while self._next_anchor < len(self._anchors) and self._anchors[self._next_anchor].position == row.position:
            anchor = self._anchors[self._next_anchor]
            self._next_anchor += 1
            if anchor.hash != row.hash:
                return row.position, (
                    f"position {row.position}: its hash differs from the checkpoint signed at {anchor.at}: "
                    f"the log was rewritten {self._rewritten(row.position)}")
            self._matched = anchor
        return None

    def _rewritten(self, position: int) -> str:
        if self._matched is not None:
            return f"between positions {self._matched.position + 1} and {position}"
        return f"between positions 1 and {position}" if self._from_genesis else f"at or before position {position}"
