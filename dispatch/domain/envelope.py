"""What the log wraps around each event: who and why (EventMeta), and where and when it was stored (StoredEvent)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from dispatch.domain.catalogue import Event


class EventMeta(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Who did it and why. `device_at` is the client's own clock, kept for the audit, never trusted for order."""

    actor_id: str | None = None
    role: str | None = None
    command_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    device_at: datetime | None = None


_meta_decoder = msgspec.json.Decoder(EventMeta)
_meta_encoder = msgspec.json.Encoder()


def encode_meta(meta: EventMeta) -> str:
    return _meta_encoder.encode(meta).decode()


class StoredEvent:
    """An event as the log holds it: global position, stream version, server time and its place in the chain."""

    __slots__ = (
        "data",
        "event",
        "hash",
        "meta_json",
        "position",
        "prev_hash",
        "recorded_at",
        "schema_version",
        "stream_id",
        "type",
        "version",
    )

    def __init__(
        self,
        position: int,
        stream_id: str,
        version: int,
        type: str,
        schema_version: int,
        event: Event,
        data: str,
        meta_json: str,
        recorded_at: datetime,
        prev_hash: str,
        hash: str,
    ) -> None:
        self.position = position
        self.stream_id = stream_id
        self.version = version
        self.type = type
        self.schema_version = schema_version
        self.event = event
        self.data = data
        self.meta_json = meta_json
        self.recorded_at = recorded_at
        self.prev_hash = prev_hash
        self.hash = hash

    @property
    def meta(self) -> EventMeta:
        return _meta_decoder.decode(self.meta_json)

    def __repr__(self) -> str:
        return f"StoredEvent(position={self.position}, stream_id={self.stream_id!r}, v{self.version}, {self.type})"
