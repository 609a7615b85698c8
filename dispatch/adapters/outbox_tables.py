"""Tables of the outbox and of alerting: read models derived from the log (notifications, deliveries, public
alerts, alerts from feeds) and the feed poller's own status record.

Every delivery's state is derived from its events, so a rebuild restores it exactly and never sends anything
again: only events make a worker send, and a rebuild appends none.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Column, Integer, String, Text
from sqlmodel import Field, SQLModel

from dispatch.adapters.eventlog.tables import UTCDateTime
from dispatch.adapters.read_models import table_of


def _time(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime, nullable=nullable))


def _text(length: int, *, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None if nullable else "", sa_column=Column(String(length), nullable=nullable, index=index))


class NotificationRow(SQLModel, table=True):
    """A notice some event calls for (a dispatch to a crew, a referral at risk to its carrier and hospital), and
    how its deliveries stand. `pending`: waiting for a worker to address it; `addressed`: deliveries planned."""

    __tablename__ = "notifications"

    notification_key: str = Field(sa_column=Column(String(40), primary_key=True))
    position: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    kind: str = _text(30)
    incident_id: str | None = _text(80, nullable=True, index=True)
    audience: str = _text(20)
    subject_id: str = _text(100)
    detail: str = _text(100)
    created_at: datetime = _time(nullable=False)
    status: str = _text(12, index=True)
    people: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    reached: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    failed: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    open: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    unreachable: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class DeliveryRow(SQLModel, table=True):
    """One person on one channel: standby (a fallback not needed yet), queued, sending, retrying, delivered,
    posted (in the app), failed_over (failed; the person's next channel takes over), failed (nobody else will
    try), skipped (an earlier channel reached them)."""

    __tablename__ = "deliveries"

    delivery_key: str = Field(sa_column=Column(String(60), primary_key=True))
    notification_key: str = Field(sa_column=Column(String(40), nullable=False, index=True))
    position: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    incident_id: str | None = _text(80, nullable=True, index=True)
    kind: str = _text(30)
    person_id: str = Field(sa_column=Column(String(80), nullable=False, index=True))
    channel: str = _text(10)
    language: str = _text(2)
    fallback_for: str | None = Field(default=None, sa_column=Column(String(60), nullable=True, index=True))
    status: str = Field(sa_column=Column(String(12), nullable=False, index=True))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    last_error: str | None = _text(60, nullable=True)
    last_status_code: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    retry_at: datetime | None = _time()
    planned_at: datetime = _time(nullable=False)
    updated_at: datetime = _time(nullable=False)
    delivered_at: datetime | None = _time()
    provider_ref: str = _text(100)


class PublicAlertRow(SQLModel, table=True):
    """A public alert as its latest CAP message states it, with every message's id (the Atom index)."""

    __tablename__ = "public_alerts"

    alert_id: str = Field(sa_column=Column(String(80), primary_key=True))
    position: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    message_id: str = _text(100)
    msg_type: str = _text(10)
    kind: str = _text(30)
    severity: str = _text(10)
    urgency: str = _text(10)
    exercise: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    headline_th: str = _text(200)
    headline_en: str = _text(200)
    issued_at: datetime = _time(nullable=False)
    updated_at: datetime = _time(nullable=False)
    expires_at: datetime = _time(nullable=False)
    ended: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    # [{message_id, msg_type, at}] oldest first
    messages: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class ExternalAlertRow(SQLModel, table=True):
    """An alert from a polled CAP feed over the province's zones; `status`: active, updated (a later message of
    its sender replaced it) or cancelled. Whether it is still in force also depends on its expiry."""

    __tablename__ = "external_alerts"

    alert_key: str = Field(sa_column=Column(String(40), primary_key=True))
    position: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    feed: str = _text(200)
    sender: str = _text(200)
    identifier: str = _text(200)
    sent_at: datetime = _time(nullable=False)
    msg_type: str = _text(10)
    event: str = _text(200)
    headline: str = _text(200)
    headline_th: str = _text(200)
    severity: str = _text(10)
    urgency: str = _text(10)
    certainty: str = _text(10)
    onset_at: datetime | None = _time()
    expires_at: datetime | None = _time()
    zones: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    area: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(sa_column=Column(String(10), nullable=False, index=True))
    received_at: datetime = _time(nullable=False)


class CapFeedRow(SQLModel, table=True):
    """The poller's record of each configured feed: when it last answered, and the error if it did not."""

    __tablename__ = "cap_feeds"

    url: str = Field(sa_column=Column(String(500), primary_key=True))
    polled_at: datetime | None = _time()
    ok_at: datetime | None = _time()
    error: str | None = _text(40, nullable=True)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    alerts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    over_zones: int = Field(default=0, sa_column=Column(Integer, nullable=False))


NOTIFICATIONS = table_of(NotificationRow)
DELIVERIES = table_of(DeliveryRow)
PUBLIC_ALERTS = table_of(PublicAlertRow)
EXTERNAL_ALERTS = table_of(ExternalAlertRow)
CAP_FEEDS = table_of(CapFeedRow)
