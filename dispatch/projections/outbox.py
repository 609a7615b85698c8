"""The outbox: notifications the log calls for (notices.py), and each delivery's state, from their events.

A notice's row is written in the same transaction as the checkpoint of the event that calls for it (the runner
commits rows and checkpoint together), so an event is never applied without its notice nor noticed twice. A
worker then addresses it (NotificationAddressed: who, on which channels) and delivers (attempt events); this
projection turns those into what operators see: per delivery its status, attempts and last error, and per
notification how many of its people were reached, are still being tried, or could not be reached at all.

Statuses: a notification is `pending` until addressed, then `sending` while any person is still being tried,
`delivered` when every person was reached, `failed` when someone was not (or there was nobody to reach),
`posted` when no push channel is configured at all and the notice is in its people's app only, and
`expired` when it was found too late to be worth sending (the worker's max age: a replayed history).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, Table, select

from dispatch.adapters.outbox_tables import DELIVERIES, NOTIFICATIONS
from dispatch.domain.catalogue import (
    DeliveryAttempted,
    DeliveryAttemptFailed,
    DeliveryEvent,
    DeliverySucceeded,
    NotificationAddressed,
    PlannedDelivery,
)
from dispatch.domain.envelope import StoredEvent
from dispatch.domain.notices import notices_for, notification_key
from dispatch.projections.rows import Row, RowGroup, RowKey, RowSet

NOTIFICATION = "notifications"
DELIVERY = "deliveries"
# Delivery statuses after which nothing more will happen on that channel.
FINISHED = frozenset({"delivered", "posted", "failed", "failed_over", "skipped"})


class Outbox:
    name = "outbox"

    @property
    def tables(self) -> tuple[Table, ...]:
        return (NOTIFICATIONS, DELIVERIES)

    def keys(self, stored: StoredEvent) -> Iterable[RowKey]:
        event = stored.event
        if isinstance(event, NotificationAddressed):
            return [(NOTIFICATION, event.notification_key),
                    RowGroup(DELIVERY, "notification_key", event.notification_key)]
        if isinstance(event, DeliveryEvent):
            return [(NOTIFICATION, event.notification_key),
                    RowGroup(DELIVERY, "notification_key", event.notification_key)]
        return [(NOTIFICATION, notification_key(stored.position, index))
                for index, _ in enumerate(notices_for(event))]

    def apply(self, rows: RowSet, stored: StoredEvent) -> None:
        event = stored.event
        if isinstance(event, NotificationAddressed):
            self._addressed(rows, stored, event)
        elif isinstance(event, DeliveryEvent):
            self._attempt(rows, stored, event)
        else:
            for index, notice in enumerate(notices_for(event)):
                key = notification_key(stored.position, index)
                rows.put(NOTIFICATION, key, {
                    "notification_key": key, "position": stored.position, "kind": notice.kind,
                    "incident_id": notice.incident_id, "audience": notice.audience, "subject_id": notice.subject_id,
                    "detail": notice.detail, "created_at": event.at, "status": "pending", "people": 0,
                    "reached": 0, "failed": 0, "open": 0, "unreachable": [],
                }, stored.position)

    def _addressed(self, rows: RowSet, stored: StoredEvent, event: NotificationAddressed) -> None:
        for planned in event.deliveries:
            rows.put(DELIVERY, planned.delivery_key, _planned(planned, event, stored), stored.position)
        notification = rows.get(NOTIFICATION, event.notification_key)
        if notification is not None:
            _summarise(rows, {**notification, "unreachable": list(event.unreachable)}, stored.position,
                       expired=event.expired)

    def _attempt(self, rows: RowSet, stored: StoredEvent, event: DeliveryEvent) -> None:
        delivery = rows.get(DELIVERY, event.delivery_key)
        if delivery is None:
            return  # a delivery this projection never saw planned cannot be shown
        changes: dict[str, Any] = {"updated_at": event.at, "position": stored.position}
        fallbacks = [row for row in rows.group(DELIVERY, "notification_key", event.notification_key)
                     if row["fallback_for"] == event.delivery_key]
        match event:
            case DeliveryAttempted():
                changes |= {"status": "sending", "attempts": event.attempt, "retry_at": None}
            case DeliverySucceeded():
                changes |= {"status": "delivered", "delivered_at": event.at, "provider_ref": event.provider_ref[:100]}
                for fallback in fallbacks:
                    _set(rows, fallback, stored, status="skipped")
            case DeliveryAttemptFailed():
                changes |= {"last_error": event.error[:60], "last_status_code": event.status_code,
                            "retry_at": event.retry_at}
                if event.retry_at is not None:
                    changes["status"] = "retrying"
                else:
                    changes["status"] = "failed_over" if fallbacks else "failed"
                    for fallback in fallbacks:
                        _set(rows, fallback, stored, status="queued")
        _set(rows, delivery, stored, **changes)
        notification = rows.get(NOTIFICATION, event.notification_key)
        if notification is not None:
            _summarise(rows, notification, stored.position)


def notifications_with_deliveries(engine: Engine, *, incident_id: str | None = None, status: str | None = None,
                                  limit: int = 200) -> list[dict[str, Any]]:
    """Notifications, newest first, each with its deliveries (per person and channel: status, attempts, error)."""
    query = select(NOTIFICATIONS).order_by(NOTIFICATIONS.c.position.desc()).limit(limit)
    if incident_id is not None:
        query = query.where(NOTIFICATIONS.c.incident_id == incident_id)
    if status is not None:
        query = query.where(NOTIFICATIONS.c.status == status)
    with engine.connect() as db:
        notifications = [dict(row) for row in db.execute(query).mappings()]
        keys = [row["notification_key"] for row in notifications]
        deliveries = [dict(row) for row in db.execute(
            select(DELIVERIES).where(DELIVERIES.c.notification_key.in_(keys))
            .order_by(DELIVERIES.c.person_id, DELIVERIES.c.planned_at)).mappings()] if keys else []
    by_key: dict[str, list[dict[str, Any]]] = {}
    for delivery in deliveries:
        by_key.setdefault(delivery["notification_key"], []).append(delivery)
    return [row | {"deliveries": by_key.get(row["notification_key"], [])} for row in notifications]


def _planned(planned: PlannedDelivery, event: NotificationAddressed, stored: StoredEvent) -> Row:
    # The app shows a notice from the log itself: it is there as soon as it is addressed.
    status = "posted" if planned.channel == "app" else "standby" if planned.fallback_for else "queued"
    return {
        "delivery_key": planned.delivery_key, "notification_key": event.notification_key,
        "position": stored.position, "incident_id": event.incident_id, "kind": event.kind,
        "person_id": planned.person_id, "channel": planned.channel, "language": planned.language,
        "fallback_for": planned.fallback_for, "status": status, "attempts": 0, "last_error": None,
        "last_status_code": None, "retry_at": None, "planned_at": event.at, "updated_at": event.at,
        "delivered_at": event.at if status == "posted" else None, "provider_ref": "",
    }


def _set(rows: RowSet, row: Row, stored: StoredEvent, **changes: Any) -> None:
    rows.put(DELIVERY, row["delivery_key"], {**row, "position": stored.position, **changes}, stored.position)


def _summarise(rows: RowSet, notification: Row, position: int, *, expired: bool = False) -> None:
    """Count the notification's people by how their push channels stand; the app alone reaches no one in time."""
    by_person: dict[str, list[str]] = {}
    in_app = False
    for row in rows.group(DELIVERY, "notification_key", notification["notification_key"]):
        if row["channel"] == "app":
            in_app = True
        else:
            by_person.setdefault(row["person_id"], []).append(row["status"])
    reached = sum(1 for statuses in by_person.values() if "delivered" in statuses)
    failed = sum(1 for statuses in by_person.values()
                 if "delivered" not in statuses and all(status in FINISHED for status in statuses))
    unreachable = len(notification["unreachable"])
    people = len(by_person) + unreachable
    still_open = len(by_person) - reached - failed
    status = "sending" if still_open else "delivered" if people and reached == people else "failed"
    if not people and in_app:
        status = "posted"  # no push channel is configured: the app is the only one, and it has the notice
    if expired or notification["status"] == "expired":
        status = "expired"
    rows.put(NOTIFICATION, notification["notification_key"], {
        **notification, "position": position, "status": status, "people": people, "reached": reached,
        "failed": failed + unreachable, "open": still_open,
    }, position)
