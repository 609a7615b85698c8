"""The referral tracker: every referral with its clock, warning, prediction, breach and arrival."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

from sqlalchemy import Table

from dispatch.adapters.read_models import REFERRALS
from dispatch.domain.catalogue import (
    PatientArrivedAtFacility,
    PatientHandedOver,
    ReferralAtRisk,
    ReferralBreached,
    ReferralCarrierChanged,
    ReferralDestinationChanged,
    ReferralRequested,
)
from dispatch.domain.decisions.incident import referral_status
from dispatch.domain.envelope import StoredEvent
from dispatch.domain.geo.places import zone_of
from dispatch.projections.intervals import seconds_between
from dispatch.projections.rows import Row, RowSet

TABLE = "referrals_view"
_REFERRAL_EVENTS = (ReferralRequested, ReferralAtRisk, ReferralBreached, PatientArrivedAtFacility, PatientHandedOver,
                    ReferralCarrierChanged, ReferralDestinationChanged)
_Change: TypeAlias = (ReferralAtRisk | ReferralBreached | PatientArrivedAtFacility | PatientHandedOver
                      | ReferralCarrierChanged | ReferralDestinationChanged)


class Referrals:
    name = "referrals"

    @property
    def tables(self) -> tuple[Table, ...]:
        return (REFERRALS,)

    def keys(self, stored: StoredEvent) -> Iterable[tuple[str, str]]:
        event = stored.event
        referral_id = getattr(event, "referral_id", None) if isinstance(event, _REFERRAL_EVENTS) else None
        return [(TABLE, referral_id)] if referral_id else []

    def apply(self, rows: RowSet, stored: StoredEvent) -> None:
        event = stored.event
        if not isinstance(event, _REFERRAL_EVENTS) or event.referral_id is None:
            return
        current = rows.get(TABLE, event.referral_id)
        if isinstance(event, ReferralRequested):
            updated = _requested(event)
        elif current is None:
            return
        else:
            updated = _change(current, event)
        updated["status"] = referral_status(
            arrived_at=updated["arrived_at"], deadline_at=updated["deadline_at"],
            breached=updated["breached_at"] is not None, at_risk=updated["at_risk_at"] is not None,
        )
        # Kept in seconds for the reports, from whichever times are known, whatever order they came in.
        updated["elapsed_seconds"] = seconds_between(updated["requested_at"], updated["arrived_at"])
        updated["hospital_wall_seconds"] = seconds_between(updated["arrived_at"], updated["handed_over_at"])
        rows.put(TABLE, event.referral_id, {**updated, "position": stored.position}, stored.position)


def _requested(event: ReferralRequested) -> Row:
    policy = event.policy
    return {
        "referral_id": event.referral_id, "incident_id": event.incident_id,
        "zone": policy.zone if policy else zone_of(event.from_position),
        "from_site_id": event.from_site_id, "facility_id": event.facility_id, "resource_id": event.resource_id,
        "guarantee_minutes": policy.guarantee_minutes if policy else None, "status": "on_track",
        "requested_at": event.at, "warning_at": event.warning_at, "deadline_at": event.deadline_at,
        "at_risk_at": None, "risk_reason": None, "predicted_arrival_at": None, "predicted_late_seconds": None,
        "advice": "", "breached_at": None, "arrived_at": None, "handed_over_at": None, "late_seconds": None,
    }


def _change(row: Row, event: _Change) -> Row:
    match event:
        case ReferralAtRisk():
            return {**row, "at_risk_at": row["at_risk_at"] or event.at, "risk_reason": event.reason,
                    "predicted_arrival_at": event.predicted_arrival_at,
                    "predicted_late_seconds": event.predicted_late_seconds, "advice": event.advice}
        case ReferralBreached():
            return {**row, "breached_at": event.at}
        case PatientArrivedAtFacility():
            deadline = row["deadline_at"]
            late = int((event.at - deadline).total_seconds()) if deadline and event.at > deadline else None
            return {**row, "arrived_at": event.at, "late_seconds": late}
        case PatientHandedOver():
            return {**row, "handed_over_at": event.at}
        case ReferralCarrierChanged():
            return {**row, **_rerouted(event.risk_lifted), "resource_id": event.resource_id}
        case ReferralDestinationChanged():
            return {**row, **_rerouted(event.risk_lifted), "facility_id": event.facility_id}
    return row


def _rerouted(risk_lifted: bool) -> Row:
    """As board.rerouted: the old route's prediction and advice go; a risk only they raised is lifted."""
    lifted = {"at_risk_at": None, "risk_reason": None} if risk_lifted else {}
    return {"predicted_arrival_at": None, "predicted_late_seconds": None, "advice": "", **lifted}
