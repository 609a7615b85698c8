"""The live sea picture in the read models: a resource's AIS transponder and where its position came from
(with a tracker's course and speed), and the beacon that opened an incident.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resources_view") as table:
        table.add_column(sa.Column("mmsi", sa.String(9), nullable=True))
        table.add_column(sa.Column("position_source", sa.String(12), nullable=True))
        table.add_column(sa.Column("course_deg", sa.Float, nullable=True))
        table.add_column(sa.Column("sog_knots", sa.Float, nullable=True))
        table.create_index("ix_resources_view_mmsi", ["mmsi"])
    with op.batch_alter_table("board_incidents") as table:
        table.add_column(sa.Column("beacon", sa.JSON, nullable=True))
    # Rows written before knew no source: registrations and PATCHes, an operator's.
    op.execute("UPDATE resources_view SET position_source = 'operator' WHERE lat IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("board_incidents") as table:
        table.drop_column("beacon")
    with op.batch_alter_table("resources_view") as table:
        table.drop_index("ix_resources_view_mmsi")
        for column in ("sog_knots", "course_deg", "position_source", "mmsi"):
            table.drop_column(column)
