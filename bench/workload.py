"""The benchmark's workload: which stream each append goes to, and payloads sized to a target in bytes.

Both our store and the eventsourcing reference get the same shape: `events` appends spread round-robin
over `streams` streams, the first append of each stream a report and the rest notes, every stored payload
about `payload_bytes` of JSON. Sizes are calibrated on each side's own encoding, so neither pays for
bytes the other does not write.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from dispatch.domain.catalogue import IncidentReported, NoteAdded, Position, encode_data

_FILLER: Final[str] = (
    "Swimmer pulled from a rip current off the north beach of Koh Similan, conscious and breathing, "
    "cold and shaken; lifeguard on scene asks for the boat to take her to the island clinic. "
)


@dataclass(frozen=True)
class Workload:
    """What to append: one event per append, stream `index % streams`, each with its own command id."""

    events: int
    streams: int
    payload_bytes: int
    batch_size: int
    incident_ids: list[str]
    command_ids: list[str]

    @classmethod
    def build(cls, events: int, streams: int, payload_bytes: int = 300, batch_size: int = 5000) -> Workload:
        # Random ids, like real incident ids and idempotency keys, so index inserts are not append-only.
        return cls(
            events=events,
            streams=streams,
            payload_bytes=payload_bytes,
            batch_size=batch_size,
            incident_ids=[uuid.uuid4().hex for _ in range(streams)],
            command_ids=[uuid.uuid4().hex for _ in range(events)],
        )

    def stream_of(self, index: int) -> int:
        return index % self.streams


def filler(length: int) -> str:
    """ASCII text of exactly `length` characters (so characters and UTF-8 bytes agree)."""
    return (_FILLER * (length // len(_FILLER) + 1))[:length]


@dataclass(frozen=True)
class OurPayloads:
    """Free text for our two event types, sized so encode_data() comes to the workload's payload size."""

    description: str
    note: str

    @classmethod
    def sized(cls, workload: Workload) -> OurPayloads:
        probe_id = workload.incident_ids[0]
        now = datetime.now(UTC)
        report = len(encode_data(incident_reported(probe_id, now, "")))
        note = len(encode_data(note_added(probe_id, now, "")))
        return cls(filler(workload.payload_bytes - report), filler(workload.payload_bytes - note))


def incident_reported(incident_id: str, at: datetime, description: str) -> IncidentReported:
    return IncidentReported(
        incident_id=incident_id,
        at=at,
        source="beach",
        position=Position(lat=8.6512, lon=97.6418),
        zone="similan",
        triage="red",
        category="drowning",
        patients=1,
        description=description,
        reporter="lifeguard-07",
        language="en",
    )


def note_added(incident_id: str, at: datetime, text: str) -> NoteAdded:
    return NoteAdded(incident_id=incident_id, at=at, text=text)
