"""Events to rows and back: an append's content checked and encoded for the table, a row decoded to a StoredEvent.

A row is the ten columns of the `events` table in COLUMNS' order. The SQL stores of every dialect write and read
it; the committer process sends stored events to the API as their rows too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from dispatch.adapters.eventlog.chain import ChainRow
from dispatch.adapters.eventlog.store import Append
from dispatch.domain.catalogue import Event, decode_data, encode_data, type_name
from dispatch.domain.envelope import EventMeta, StoredEvent, encode_meta
from dispatch.domain.errors import InvalidText
from dispatch.domain.text import COMMAND_ID_MAX_LENGTH, META_TEXT_MAX_LENGTH, STREAM_ID_MAX_LENGTH, clean_text, is_clean

COLUMNS: Final[str] = "position, stream_id, version, type, schema_version, data, meta, recorded_at, prev_hash, hash"

# In JSON as msgspec writes it, a control character below U+0020 is an escape (\u0000, \r, \b, \f; \n and \t are
# free text's) after an even run of backslashes, and a lone surrogate would be \udXXX.
_FORBIDDEN_ESCAPE: Final = re.compile(r"(?<!\\)(?:\\\\)*\\(?:u00[01][0-9a-fA-F]|u[dD][89a-fA-F][0-9a-fA-F]{2}|[rbf])")


@dataclass(frozen=True)
class Encoded:
    """An append ready for the table: (stream, version, type, schema version, data JSON, event) per event."""

    events: list[tuple[str, int, str, int, str, Event]]
    meta_json: str
    command_id: str | None
    fingerprint: str


def encode(append: Append) -> Encoded | None:
    """The rows' content of an append, versions counted from each write's expected version; None if empty.
    InvalidText if a text in it breaks the clean-text rule or outgrows its column."""
    meta = append.meta or EventMeta()
    if append.command_id is not None and meta.command_id != append.command_id:
        meta = msgspec.structs.replace(meta, command_id=append.command_id)
    _refuse_unclean_meta(meta)
    events = []
    for write in append.writes:
        clean_text(write.stream_id, "stream_id", max_length=STREAM_ID_MAX_LENGTH)
        for offset, event in enumerate(write.events, start=1):
            events.append((write.stream_id, write.expected_version + offset, type_name(event),
                           type(event).SCHEMA_VERSION, _clean_data(event), event))
    if not events:
        return None
    return Encoded(events, encode_meta(meta), append.command_id, append.fingerprint)


def storable_key(key: str, max_length: int) -> bool:
    """Whether `key` (a stream or command id) could be in the log at all: a lookup of one that cannot finds
    nothing, without asking the database (PostgreSQL would refuse the query)."""
    return len(key) <= max_length and is_clean(key)


def decode_row(row: Sequence[Any]) -> StoredEvent:
    """The stored event a row holds, its event decoded (and upcast) from the data column."""
    position, stream_id, version, event_type, schema_version, data, meta, recorded_at, prev_hash, digest = row
    return StoredEvent(
        position, stream_id, version, event_type, schema_version,
        decode_data(event_type, schema_version, data), data, meta, _utc(recorded_at), prev_hash, digest,
    )


def row_of(stored: StoredEvent) -> tuple[Any, ...]:
    """The row a stored event came from (recorded_at as a UTC datetime)."""
    return (stored.position, stored.stream_id, stored.version, stored.type, stored.schema_version, stored.data,
            stored.meta_json, stored.recorded_at, stored.prev_hash, stored.hash)


def chain_row(row: Sequence[Any]) -> ChainRow:
    """A row as the hash chain checks it, its event left undecoded."""
    return ChainRow._make((*row[:7], _utc(row[7]), row[8], row[9]))


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        return datetime.fromisoformat(value + "+00:00")  # SQLite's text is UTC; parsing the zone is cheapest
    return value if value.tzinfo is UTC else value.astimezone(UTC)  # type: ignore[no-any-return]


# The store's own check of dispatch/domain/text.py's rule, whoever the writer: a text no reader of the log could store
# (a NUL stops a PostgreSQL projector) never enters it. The writers check first, naming their own fields and
# the line breaks each allows; here every text in an event's data may hold tab and newline.


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
