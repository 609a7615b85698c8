"""Read models derived from the log: the board, the fleet, the referrals and the response intervals."""

from __future__ import annotations

from dispatch.projections.alerts import Alerts
from dispatch.projections.board import Board
from dispatch.projections.intervals import Intervals
from dispatch.projections.outbox import Outbox
from dispatch.projections.referrals import Referrals
from dispatch.projections.resources import Resources
from dispatch.projections.rows import Projection


def all_projections() -> list[Projection]:
    return [Board(), Resources(), Referrals(), Intervals(), Outbox(), Alerts()]
