"""The fleet view keeps each unit's season; the board keeps each incident's patient language. Rows written
before are filled here (every unit then served all year; each incident's language is read from its report in
the log), so neither needs a rebuild.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-14
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The default of IncidentReported.language when the report named none, as it stood: a migration must not change
# with later code.
_REPORT_DEFAULT_LANGUAGE = "th"
_EVENTS = sa.table("events", sa.column("stream_id", sa.String), sa.column("type", sa.String),
                   sa.column("data", sa.Text))
_BOARD = sa.table("board_incidents", sa.column("incident_id", sa.String), sa.column("language", sa.String))
_INCIDENT_PREFIX = "incident-"


def upgrade() -> None:
    with op.batch_alter_table("resources_view") as resources:
        resources.add_column(sa.Column("season", sa.String(20), nullable=False, server_default="all_year"))
    with op.batch_alter_table("board_incidents") as board:
        board.add_column(sa.Column("language", sa.String(8), nullable=False,
                                   server_default=_REPORT_DEFAULT_LANGUAGE))
    _fill_languages()


def _fill_languages() -> None:
    """Each board row's language from its incident's report, where that named one other than the default."""
    db = op.get_bind()
    reports = db.execute(sa.select(_EVENTS.c.stream_id, _EVENTS.c.data)
                         .where(_EVENTS.c.type == "IncidentReported")).all()
    languages = [(stream_id.removeprefix(_INCIDENT_PREFIX), json.loads(data).get("language"))
                 for stream_id, data in reports]
    changed = [{"key": incident_id, "language": language} for incident_id, language in languages
               if language and language != _REPORT_DEFAULT_LANGUAGE]
    if changed:
        db.execute(sa.update(_BOARD).where(_BOARD.c.incident_id == sa.bindparam("key"))
                   .values(language=sa.bindparam("language")), changed)


def downgrade() -> None:
    with op.batch_alter_table("board_incidents") as board:
        board.drop_column("language")
    with op.batch_alter_table("resources_view") as resources:
        resources.drop_column("season")
