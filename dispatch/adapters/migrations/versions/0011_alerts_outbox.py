"""The notification outbox and alerting: people's LINE ids, phone numbers and language; notifications and their
deliveries, public alerts and alerts from CAP feeds (read models), and the feed poller's status record.

Revision ID: 0011
Revises: 0010
Create Date: 2027-01-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dispatch.adapters.eventlog.tables import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_INDEXED = {
    "notifications": ("position", "incident_id", "status"),
    "deliveries": ("notification_key", "position", "incident_id", "person_id", "fallback_for", "status"),
    "public_alerts": ("position",),
    "external_alerts": ("position", "status"),
}


def upgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.add_column(sa.Column("line_user_id", sa.String(64), nullable=True))
        users.add_column(sa.Column("phone", sa.String(20), nullable=True))
        users.add_column(sa.Column("language", sa.String(2), nullable=False, server_default="th"))
        users.add_column(sa.Column("facility_id", sa.String(80), nullable=True))
    op.create_table(
        "notifications",
        sa.Column("notification_key", sa.String(40), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("incident_id", sa.String(80), nullable=True),
        sa.Column("audience", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.String(100), nullable=False),
        sa.Column("detail", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("people", sa.Integer, nullable=False),
        sa.Column("reached", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("open", sa.Integer, nullable=False),
        sa.Column("unreachable", sa.JSON, nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("delivery_key", sa.String(60), primary_key=True),
        sa.Column("notification_key", sa.String(40), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("incident_id", sa.String(80), nullable=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("person_id", sa.String(80), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("fallback_for", sa.String(60), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(60), nullable=True),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("retry_at", UTCDateTime, nullable=True),
        sa.Column("planned_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("delivered_at", UTCDateTime, nullable=True),
        sa.Column("provider_ref", sa.String(100), nullable=False),
    )
    op.create_table(
        "public_alerts",
        sa.Column("alert_id", sa.String(80), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.String(100), nullable=False),
        sa.Column("msg_type", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("urgency", sa.String(10), nullable=False),
        sa.Column("exercise", sa.Boolean, nullable=False),
        sa.Column("headline_th", sa.String(200), nullable=False),
        sa.Column("headline_en", sa.String(200), nullable=False),
        sa.Column("issued_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("ended", sa.Boolean, nullable=False),
        sa.Column("messages", sa.JSON, nullable=False),
    )
    op.create_table(
        "external_alerts",
        sa.Column("alert_key", sa.String(40), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("feed", sa.String(200), nullable=False),
        sa.Column("sender", sa.String(200), nullable=False),
        sa.Column("identifier", sa.String(200), nullable=False),
        sa.Column("sent_at", UTCDateTime, nullable=False),
        sa.Column("msg_type", sa.String(10), nullable=False),
        sa.Column("event", sa.String(200), nullable=False),
        sa.Column("headline", sa.String(200), nullable=False),
        sa.Column("headline_th", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("urgency", sa.String(10), nullable=False),
        sa.Column("certainty", sa.String(10), nullable=False),
        sa.Column("onset_at", UTCDateTime, nullable=True),
        sa.Column("expires_at", UTCDateTime, nullable=True),
        sa.Column("zones", sa.JSON, nullable=False),
        sa.Column("area", sa.JSON, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "cap_feeds",
        sa.Column("url", sa.String(500), primary_key=True),
        sa.Column("polled_at", UTCDateTime, nullable=True),
        sa.Column("ok_at", UTCDateTime, nullable=True),
        sa.Column("error", sa.String(40), nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("alerts", sa.Integer, nullable=False),
        sa.Column("over_zones", sa.Integer, nullable=False),
    )
    for table, columns in _INDEXED.items():
        for column in columns:
            op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade() -> None:
    for table, columns in _INDEXED.items():
        for column in columns:
            op.drop_index(f"ix_{table}_{column}", table)
    for table in ("cap_feeds", "external_alerts", "public_alerts", "deliveries", "notifications"):
        op.drop_table(table)
    with op.batch_alter_table("users") as users:
        for column in ("facility_id", "language", "phone", "line_user_id"):
            users.drop_column(column)
