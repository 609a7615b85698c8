"""The tamper-evident hash chain: hash = sha256(prev_hash + canonical event), over the global log."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Final

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
    """The outcome of walking the chain; `first_bad_position` names the first row that fails."""

    intact: bool
    checked: int
    head_position: int
    first_bad_position: int | None = None
    problem: str | None = None
