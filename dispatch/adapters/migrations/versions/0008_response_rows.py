"""Each response of a unit to an incident is a row of its own: `response_no` numbers a unit's responses to one
incident (1, then 2 once it was released and sent again), `ended_by` says how each ended.

Rows already projected are each a unit's only response, or hold what was left of a unit sent twice: the second
response had overwritten the first. Both new columns are filled here as the projection computes them, so an
upgraded database needs no rebuild; unless the log holds a unit sent to the same incident twice, whose first
response only the log still knows. Then the response rows are emptied and their projection set back to the
start, and the projector replays the log into them (a projection behind the others catches up alone first:
projections/runner.py) before it moves on.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-14
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The projection that owns response_intervals and incident_facts (projections/intervals.py), by the name its
# checkpoint is kept under; copied, as a migration must not change with later code.
_PROJECTION = "intervals"
_EVENTS = sa.table("events", sa.column("stream_id", sa.String), sa.column("type", sa.String),
                   sa.column("data", sa.Text))
_READ_ROWS = 5000


def upgrade() -> None:
    with op.batch_alter_table("response_intervals") as responses:
        responses.add_column(sa.Column("response_no", sa.Integer, nullable=True))
        responses.add_column(sa.Column("ended_by", sa.String(20), nullable=True))
    op.execute("UPDATE response_intervals SET response_no = 1")
    # A response ends by at most one of these milestones: decide records nothing for a unit once released.
    for milestone in ("back_in_service", "cancelled"):
        op.execute(f"UPDATE response_intervals SET ended_by = '{milestone}' WHERE {milestone}_at IS NOT NULL")
    with op.batch_alter_table("response_intervals") as responses:
        responses.alter_column("response_no", existing_type=sa.Integer, nullable=False)
    if _a_unit_was_sent_twice():
        _replay_responses()


def _a_unit_was_sent_twice() -> bool:
    """Whether the log dispatched some unit to the same incident more than once."""
    # The option on the statement, not the connection: alembic goes on using that connection, and PostgreSQL takes
    # no UPDATE through the server-side cursor yield_per opens.
    query = (sa.select(_EVENTS.c.stream_id, _EVENTS.c.data).where(_EVENTS.c.type == "ResourceDispatched")
             .execution_options(yield_per=_READ_ROWS))
    seen: set[tuple[str, str]] = set()
    with op.get_bind().execute(query) as found:  # closed even when left early
        for stream_id, data in found:
            sent = (stream_id, json.loads(data)["resource_id"])
            if sent in seen:
                return True
            seen.add(sent)
    return False


def _replay_responses() -> None:
    op.execute("DELETE FROM response_intervals")
    op.execute("DELETE FROM incident_facts")
    op.execute(f"UPDATE projection_checkpoints SET position = 0 WHERE name = '{_PROJECTION}'")


def downgrade() -> None:
    # The code before this revision keys a unit's response by incident and unit alone: later responses would be
    # rows it never finds again. It replays them its own way instead.
    later = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM response_intervals WHERE response_no > 1")).scalar()
    if later:
        _replay_responses()
    with op.batch_alter_table("response_intervals") as responses:
        responses.drop_column("ended_by")
        responses.drop_column("response_no")
