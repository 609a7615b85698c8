"""Sign-in safety: failed sign-ins and lockouts shared by every API process, and a flag on the
accounts whose password first start generated (production refuses to start while one is still in use).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dispatch.adapters.eventlog.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("failed_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_login_failures_key_failed_at", "login_failures", ["key", "failed_at"])
    op.create_index("ix_login_failures_failed_at", "login_failures", ["failed_at"])
    op.create_table(
        "login_lockouts",
        sa.Column("key", sa.String(120), primary_key=True),
        sa.Column("locked_until", UTCDateTime, nullable=False),
    )
    with op.batch_alter_table("users") as users:
        users.add_column(sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.drop_column("must_change_password")
    op.drop_table("login_lockouts")
    op.drop_index("ix_login_failures_failed_at", "login_failures")
    op.drop_index("ix_login_failures_key_failed_at", "login_failures")
    op.drop_table("login_failures")
