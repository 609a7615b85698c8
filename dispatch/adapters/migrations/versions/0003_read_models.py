"""Read models: board, resources, referrals, response intervals and incident facts, with checkpoints.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dispatch.adapters.eventlog.tables import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('board_incidents',
    sa.Column('incident_id', sa.String(length=80), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('triage_dispatch', sa.String(length=10), nullable=False),
    sa.Column('triage_scene', sa.String(length=10), nullable=True),
    sa.Column('triage_rank', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.String(length=80), nullable=True),
    sa.Column('zone', sa.String(length=20), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('patients', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('reporter', sa.String(length=80), nullable=False),
    sa.Column('reported_at', UTCDateTime(), nullable=False),
    sa.Column('closed_at', UTCDateTime(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('notes', sa.Integer(), nullable=False),
    sa.Column('assignments', sa.JSON(), nullable=False),
    sa.Column('referral', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('incident_id')
    )
    with op.batch_alter_table('board_incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_board_incidents_position'), ['position'], unique=False)
        batch_op.create_index(batch_op.f('ix_board_incidents_status'), ['status'], unique=False)

    op.create_table('incident_facts',
    sa.Column('incident_id', sa.String(length=80), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('zone', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('triage_dispatch', sa.String(length=10), nullable=False),
    sa.Column('triage_scene', sa.String(length=10), nullable=True),
    sa.Column('patients', sa.Integer(), nullable=False),
    sa.Column('reported_at', UTCDateTime(), nullable=False),
    sa.Column('reached_at', UTCDateTime(), nullable=True),
    sa.Column('closed_at', UTCDateTime(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('deceased', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('incident_id')
    )
    with op.batch_alter_table('incident_facts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_facts_reported_at'), ['reported_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_facts_zone'), ['zone'], unique=False)

    op.create_table('projection_checkpoints',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('referrals_view',
    sa.Column('referral_id', sa.String(length=100), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('incident_id', sa.String(length=80), nullable=False),
    sa.Column('zone', sa.String(length=20), nullable=True),
    sa.Column('from_site_id', sa.String(length=80), nullable=True),
    sa.Column('facility_id', sa.String(length=80), nullable=False),
    sa.Column('resource_id', sa.String(length=80), nullable=True),
    sa.Column('guarantee_minutes', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_at', UTCDateTime(), nullable=False),
    sa.Column('warning_at', UTCDateTime(), nullable=True),
    sa.Column('deadline_at', UTCDateTime(), nullable=True),
    sa.Column('at_risk_at', UTCDateTime(), nullable=True),
    sa.Column('risk_reason', sa.String(length=20), nullable=True),
    sa.Column('predicted_arrival_at', UTCDateTime(), nullable=True),
    sa.Column('predicted_late_seconds', sa.Integer(), nullable=True),
    sa.Column('advice', sa.Text(), nullable=False),
    sa.Column('breached_at', UTCDateTime(), nullable=True),
    sa.Column('arrived_at', UTCDateTime(), nullable=True),
    sa.Column('handed_over_at', UTCDateTime(), nullable=True),
    sa.Column('late_seconds', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('referral_id')
    )
    with op.batch_alter_table('referrals_view', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_view_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_view_position'), ['position'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_view_requested_at'), ['requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_view_status'), ['status'], unique=False)

    op.create_table('resources_view',
    sa.Column('resource_id', sa.String(length=80), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('subtype', sa.String(length=40), nullable=False),
    sa.Column('speed_knots', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('position_at', UTCDateTime(), nullable=True),
    sa.Column('home_site_id', sa.String(length=80), nullable=True),
    sa.Column('zone', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_since', UTCDateTime(), nullable=False),
    sa.Column('incident_id', sa.String(length=80), nullable=True),
    sa.Column('milestone', sa.String(length=20), nullable=True),
    sa.PrimaryKeyConstraint('resource_id')
    )
    with op.batch_alter_table('resources_view', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resources_view_position'), ['position'], unique=False)
        batch_op.create_index(batch_op.f('ix_resources_view_status'), ['status'], unique=False)

    op.create_table('response_intervals',
    sa.Column('response_id', sa.String(length=170), nullable=False),
    sa.Column('incident_id', sa.String(length=80), nullable=False),
    sa.Column('resource_id', sa.String(length=80), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('reported_at', UTCDateTime(), nullable=False),
    sa.Column('resource_notified_at', UTCDateTime(), nullable=True),
    sa.Column('en_route_at', UTCDateTime(), nullable=True),
    sa.Column('on_scene_at', UTCDateTime(), nullable=True),
    sa.Column('at_patient_at', UTCDateTime(), nullable=True),
    sa.Column('left_scene_at', UTCDateTime(), nullable=True),
    sa.Column('at_destination_at', UTCDateTime(), nullable=True),
    sa.Column('handed_over_at', UTCDateTime(), nullable=True),
    sa.Column('back_in_service_at', UTCDateTime(), nullable=True),
    sa.Column('cancelled_at', UTCDateTime(), nullable=True),
    sa.Column('late_entries', sa.Integer(), nullable=False),
    sa.Column('response_seconds', sa.Integer(), nullable=True),
    sa.Column('scene_seconds', sa.Integer(), nullable=True),
    sa.Column('transport_seconds', sa.Integer(), nullable=True),
    sa.Column('hospital_wall_seconds', sa.Integer(), nullable=True),
    sa.Column('total_seconds', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('response_id')
    )
    with op.batch_alter_table('response_intervals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_intervals_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_response_intervals_position'), ['position'], unique=False)
        batch_op.create_index(batch_op.f('ix_response_intervals_reported_at'), ['reported_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('response_intervals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_intervals_reported_at'))
        batch_op.drop_index(batch_op.f('ix_response_intervals_position'))
        batch_op.drop_index(batch_op.f('ix_response_intervals_incident_id'))

    op.drop_table('response_intervals')
    with op.batch_alter_table('resources_view', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resources_view_status'))
        batch_op.drop_index(batch_op.f('ix_resources_view_position'))

    op.drop_table('resources_view')
    with op.batch_alter_table('referrals_view', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_view_status'))
        batch_op.drop_index(batch_op.f('ix_referrals_view_requested_at'))
        batch_op.drop_index(batch_op.f('ix_referrals_view_position'))
        batch_op.drop_index(batch_op.f('ix_referrals_view_incident_id'))

    op.drop_table('referrals_view')
    op.drop_table('projection_checkpoints')
    with op.batch_alter_table('incident_facts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_facts_zone'))
        batch_op.drop_index(batch_op.f('ix_incident_facts_reported_at'))

    op.drop_table('incident_facts')
    with op.batch_alter_table('board_incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_board_incidents_status'))
        batch_op.drop_index(batch_op.f('ix_board_incidents_position'))

    op.drop_table('board_incidents')
