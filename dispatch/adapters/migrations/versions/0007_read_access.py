"""Who read which incident's patient details: a table of its own, outside the event log
(dispatch/adapters/read_access.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dispatch.adapters.eventlog.tables import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "read_access",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("read_at", UTCDateTime, nullable=False),
        sa.Column("actor_id", sa.String(80), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("incident_id", sa.String(80), nullable=False),
        sa.Column("view", sa.String(20), nullable=False),
    )
    op.create_index("ix_read_access_read_at", "read_access", ["read_at"])
    op.create_index("ix_read_access_incident_id_read_at", "read_access", ["incident_id", "read_at"])
    op.create_index("ix_read_access_actor_id_read_at", "read_access", ["actor_id", "read_at"])


def downgrade() -> None:
    for index in ("ix_read_access_actor_id_read_at", "ix_read_access_incident_id_read_at", "ix_read_access_read_at"):
        op.drop_index(index, "read_access")
    op.drop_table("read_access")
