"""Writing rows straight into the log with SQL, as no writer of the system would: how a test puts an event there
that the store's own checks refuse (a poison event), and repairs it afterwards."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text

from dispatch.adapters.eventlog.chain import GENESIS_HASH, event_hash


def append_raw(engine: Engine, stream_id: str, event_type: str, data: str, recorded_at: datetime) -> int:
    """Append one row with a valid chain link after the head; returns its position."""
    with engine.begin() as db:
        head = db.execute(text("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")).first()
        position, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
        version = int(db.execute(text("SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = :s"),
                                 {"s": stream_id}).scalar_one()) + 1
        digest = event_hash(prev_hash, position, stream_id, version, event_type, 1, recorded_at, data, "{}")
        stored = (recorded_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                  if engine.dialect.name == "sqlite" else recorded_at)
        db.execute(text("INSERT INTO events (position, stream_id, version, type, schema_version, data, meta, "
                        "recorded_at, prev_hash, hash) VALUES (:p, :s, :v, :t, 1, :d, '{}', :r, :ph, :h)"),
                   {"p": position, "s": stream_id, "v": version, "t": event_type, "d": data, "r": stored,
                    "ph": prev_hash, "h": digest})
    return position


def repair_raw(engine: Engine, position: int, event_type: str, data: str) -> None:
    """Replace a row's type and data (the chain breaks there: `verify` will say so, as it should)."""
    with engine.begin() as db:
        db.execute(text("UPDATE events SET type = :t, data = :d WHERE position = :p"),
                   {"t": event_type, "d": data, "p": position})
