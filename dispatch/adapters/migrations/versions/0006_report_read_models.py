"""Reports read one table per figure: each response row carries its incident's zone, source and report
triage, under an index that covers a period's intervals; each referral row carries its elapsed and hospital wall
seconds. Existing rows are filled in here, so reports stay right without a rebuild.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

from dispatch.adapters.eventlog.tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_INCIDENT_COLUMNS = {"zone": sa.String(20), "source": sa.String(10), "triage": sa.String(10)}
_REPORT_INDEX_COLUMNS = ["reported_at", "zone", "triage", "source", "response_seconds", "scene_seconds",
                         "transport_seconds", "hospital_wall_seconds", "total_seconds"]
# The report triage: the scene code where a crew recorded one, else the dispatch code (reports/queries.py).
_FROM_FACTS = {"zone": "facts.zone", "source": "facts.source",
               "triage": "COALESCE(facts.triage_scene, facts.triage_dispatch)"}
_REFERRALS = sa.table("referrals_view", sa.column("referral_id", sa.String), sa.column("requested_at", UTCDateTime),
                      sa.column("arrived_at", UTCDateTime), sa.column("handed_over_at", UTCDateTime),
                      sa.column("elapsed_seconds", sa.Integer), sa.column("hospital_wall_seconds", sa.Integer))


def upgrade() -> None:
    with op.batch_alter_table("response_intervals") as responses:
        for name, kind in _INCIDENT_COLUMNS.items():
            responses.add_column(sa.Column(name, kind, nullable=True))
    for name, expression in _FROM_FACTS.items():
        op.execute(f"UPDATE response_intervals SET {name} = (SELECT {expression} FROM incident_facts AS facts "
                   "WHERE facts.incident_id = response_intervals.incident_id)")
    with op.batch_alter_table("response_intervals") as responses:
        for name, kind in _INCIDENT_COLUMNS.items():
            responses.alter_column(name, existing_type=kind, nullable=False)
        responses.drop_index("ix_response_intervals_reported_at")
        responses.create_index("ix_response_intervals_report", _REPORT_INDEX_COLUMNS)
    with op.batch_alter_table("referrals_view") as referrals:
        referrals.add_column(sa.Column("elapsed_seconds", sa.Integer, nullable=True))
        referrals.add_column(sa.Column("hospital_wall_seconds", sa.Integer, nullable=True))
    _fill_referral_seconds()


def _fill_referral_seconds() -> None:
    """The seconds as the projection computes them (whole seconds, truncated), in Python: SQLite stores times as
    text, and only the same arithmetic on both databases gives the same figures."""
    db = op.get_bind()
    found = db.execute(sa.select(_REFERRALS.c.referral_id, _REFERRALS.c.requested_at, _REFERRALS.c.arrived_at,
                                 _REFERRALS.c.handed_over_at).where(_REFERRALS.c.arrived_at.is_not(None))).all()
    if not found:
        return
    update = (sa.update(_REFERRALS).where(_REFERRALS.c.referral_id == sa.bindparam("key"))
              .values(elapsed_seconds=sa.bindparam("elapsed"), hospital_wall_seconds=sa.bindparam("wall")))
    db.execute(update, [{"key": key, "elapsed": _seconds(requested, arrived), "wall": _seconds(arrived, handed)}
                        for key, requested, arrived, handed in found])


def _seconds(start: datetime, end: datetime | None) -> int | None:
    # A copy of projections.intervals.seconds_between as it stood: a migration must not change with later code.
    return int((end - start).total_seconds()) if end is not None else None


def downgrade() -> None:
    with op.batch_alter_table("referrals_view") as referrals:
        referrals.drop_column("hospital_wall_seconds")
        referrals.drop_column("elapsed_seconds")
    with op.batch_alter_table("response_intervals") as responses:
        responses.drop_index("ix_response_intervals_report")
        responses.create_index("ix_response_intervals_reported_at", ["reported_at"])
        for name in reversed(_INCIDENT_COLUMNS):
            responses.drop_column(name)
