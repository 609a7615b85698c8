"""Public alerts issued here (the Atom index, the board) and alerts from CAP feeds over the province's zones.

An alert from a feed is `active` until a later message of its sender references it: an Update replaces it
(`updated`), a Cancel ends it (`cancelled`). Its expiry is applied when read (`in_force`), since time passing
is no event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Engine, Table, select

from dispatch.adapters.outbox_tables import EXTERNAL_ALERTS, PUBLIC_ALERTS
from dispatch.domain.cap import SEVERITY_RANK, referenced_keys
from dispatch.domain.catalogue import ExternalAlertReceived, PublicAlertPublished
from dispatch.domain.envelope import StoredEvent
from dispatch.domain.holds import AlertInForce
from dispatch.projections.rows import Row, RowKey, RowSet

PUBLIC = "public_alerts"
EXTERNAL = "external_alerts"


class Alerts:
    name = "alerts"

    @property
    def tables(self) -> tuple[Table, ...]:
        return (PUBLIC_ALERTS, EXTERNAL_ALERTS)

    def keys(self, stored: StoredEvent) -> Iterable[RowKey]:
        event = stored.event
        if isinstance(event, PublicAlertPublished):
            return [(PUBLIC, event.alert_id)]
        if isinstance(event, ExternalAlertReceived):
            return [(EXTERNAL, key) for key in [event.alert_key, *referenced_keys(event.references)]]
        return []

    def apply(self, rows: RowSet, stored: StoredEvent) -> None:
        event = stored.event
        if isinstance(event, PublicAlertPublished):
            rows.put(PUBLIC, event.alert_id, _public(rows.get(PUBLIC, event.alert_id), event, stored.position),
                     stored.position)
        elif isinstance(event, ExternalAlertReceived):
            self._external(rows, event, stored.position)

    def _external(self, rows: RowSet, event: ExternalAlertReceived, position: int) -> None:
        replaced = "cancelled" if event.msg_type == "Cancel" else "updated"
        for key in referenced_keys(event.references):
            if (earlier := rows.get(EXTERNAL, key)) is not None:
                rows.put(EXTERNAL, key, {**earlier, "status": replaced, "position": position}, position)
        if event.msg_type == "Cancel" or not event.infos:
            # A cancellation ends what it references; an alert without an <info> (CAP allows none) says nothing
            # to show: neither is an alert of its own on the board.
            return
        english = next((info for info in event.infos if info.language.lower().startswith("en")), event.infos[0])
        thai = next((info for info in event.infos if info.language.lower().startswith("th")), None)
        worst = max(event.infos, key=lambda info: _rank(info.severity))
        expires = [info.expires_at for info in event.infos if info.expires_at is not None]
        onsets = [info.onset_at for info in event.infos if info.onset_at is not None]
        rows.put(EXTERNAL, event.alert_key, {
            "alert_key": event.alert_key, "position": position, "feed": event.feed, "sender": event.sender,
            "identifier": event.identifier, "sent_at": event.sent_at, "msg_type": event.msg_type,
            "event": english.event, "headline": english.headline or english.event,
            "headline_th": (thai.headline or thai.event) if thai else "", "severity": worst.severity,
            "urgency": worst.urgency, "certainty": worst.certainty, "onset_at": min(onsets, default=None),
            "expires_at": max(expires, default=None), "zones": list(event.zones),
            "area": msgspec.to_builtins(event.area), "status": "active", "received_at": event.at,
        }, position)


def _rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity, 0)


def _public(current: Row | None, event: PublicAlertPublished, position: int) -> Row:
    messages = [*(current["messages"] if current else []),
                {"message_id": event.message_id, "msg_type": event.msg_type, "at": event.at.isoformat()}]
    return {
        "alert_id": event.alert_id, "position": position, "message_id": event.message_id,
        "msg_type": event.msg_type, "kind": event.kind, "severity": event.severity, "urgency": event.urgency,
        "exercise": event.exercise, "headline_th": event.th.headline, "headline_en": event.en.headline,
        "issued_at": current["issued_at"] if current else event.at, "updated_at": event.at,
        "expires_at": event.expires_at, "ended": event.msg_type == "Cancel" or event.kind == "all_clear",
        "messages": messages,
    }


# --- queries -----------------------------------------------------------------------------------------------


def external_in_force(engine: Engine, now: datetime) -> list[dict[str, Any]]:
    """Feed alerts over the province still in force: active, begun (or no onset given) and not expired."""
    table = EXTERNAL_ALERTS
    with engine.connect() as db:
        found = db.execute(select(table).where(table.c.status == "active")
                           .order_by(table.c.sent_at.desc())).mappings().all()
    return [dict(row) for row in found if (row["expires_at"] is None or row["expires_at"] > now)]


def holding_alerts(engine: Engine, now: datetime) -> list[AlertInForce]:
    """The alerts in force as the small-craft hold reads them (dispatch/domain/holds.py)."""
    return [AlertInForce(alert_key=row["alert_key"], severity=row["severity"], zones=frozenset(row["zones"]),
                         headline=row["headline"] or row["event"])
            for row in external_in_force(engine, now)]


def public_alerts(engine: Engine, *, limit: int = 100) -> list[dict[str, Any]]:
    """Public alerts, most recently changed first."""
    table = PUBLIC_ALERTS
    with engine.connect() as db:
        found = db.execute(select(table).order_by(table.c.updated_at.desc()).limit(limit)).mappings().all()
    return [dict(row) for row in found]
