"""What happens after an append: which referral checks to schedule (pure), and who schedules them.

A referral under a guarantee gets three kinds of check (DESIGN.md §1, §4):
- `warning` at its warning point and `breach` at its deadline, scheduled when it is requested;
- `predicted`, run at once whenever something changes the arrival estimate: the request itself, a
  milestone on its incident, a position report from a boat, an operator's correction (another carrier
  or destination; a unit stood down or moved, which may change the boat a referral without a named
  carrier takes). follow_up sees only the new events, not which referral a boat carries, so it asks for a
  prediction on every such event and the job finds out (a lookup that ends in "no open referral" costs
  one read).

Job ids are deterministic, so scheduling a check twice (after_append and then the reconcile sweep) is
harmless: the scheduler keeps one job per id. Running one twice is harmless too: `decide` appends a
warning or a breach only once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from dispatch.domain.catalogue import (
    IncidentClosed,
    MilestoneRecorded,
    PatientArrivedAtFacility,
    ReferralCarrierChanged,
    ReferralDestinationChanged,
    ReferralRequested,
    ResourceDispatched,
    ResourcePositionReported,
    ResourceReassigned,
    ResourceStoodDown,
)
from dispatch.domain.decisions.incident import Incident, Referral
from dispatch.domain.envelope import StoredEvent

CheckKind = Literal["warning", "breach", "predicted"]


@dataclass(frozen=True, kw_only=True)
class Check:
    """A referral check to run at `run_at` (None: now), under a job id that is the same however it is derived.

    Deadline checks name their referral; a prediction names the incident, or only the boat whose position
    changed (the job then looks up which incident the boat is on).
    """

    kind: CheckKind
    job_id: str
    run_at: datetime | None = None
    incident_id: str | None = None
    referral_id: str | None = None
    resource_id: str | None = None


class Scheduler(Protocol):
    def after_append(self, events: Sequence[StoredEvent]) -> None:
        """Schedule whatever checks these newly stored events call for; never raise for a scheduling failure
        (the reconcile sweep re-derives every pending check from the log)."""
        ...


def follow_up(events: Sequence[StoredEvent]) -> list[Check]:
    """The checks that newly stored events call for, in the order of the events."""
    # An arrival or a close in the same append ends the referral: a prediction would only find nothing.
    ended = {
        stored.event.incident_id
        for stored in events
        if isinstance(stored.event, PatientArrivedAtFacility | IncidentClosed)
    }
    checks: list[Check] = []
    for stored in events:
        match stored.event:
            case ReferralRequested(deadline_at=datetime(), incident_id=incident_id) as requested:
                checks += [*deadline_checks(requested), prediction(stored.position, incident_id=incident_id)]
            case MilestoneRecorded(incident_id=incident_id) if incident_id not in ended:
                checks.append(prediction(stored.position, incident_id=incident_id))
            case ReferralCarrierChanged(incident_id=incident_id) | ReferralDestinationChanged(
                incident_id=incident_id
            ) | ResourceStoodDown(incident_id=incident_id) | ResourceReassigned(incident_id=incident_id):
                checks.append(prediction(stored.position, incident_id=incident_id))
            case ResourceDispatched(incident_id=incident_id, from_incident_id=str()):
                checks.append(prediction(stored.position, incident_id=incident_id))  # moved here: a boat arrives
            case ResourcePositionReported(resource_id=resource_id):
                checks.append(prediction(stored.position, resource_id=resource_id))
    return checks


def deadline_checks(requested: ReferralRequested) -> list[Check]:
    """The warning and breach checks a newly requested referral needs (none without a guarantee)."""
    return _deadline_checks(requested.incident_id, requested.referral_id, warning_at=requested.warning_at,
                            deadline_at=requested.deadline_at)


def pending_checks(incident: Incident) -> list[Check]:
    """The deadline checks still to come for the incident's referrals, as the log has them now.

    Mirrors what `decide` would still append: nothing for a closed incident, an arrived or a breached
    referral; a warning only while the referral is not yet at risk.
    """
    if incident.closed:
        return []
    return [check for referral in incident.referrals for check in _pending(incident.id, referral)]


def reconcile_checks(incident: Incident, trigger_position: int) -> list[Check]:
    """Everything an incident's open referral still needs, as the log has it: its pending deadline checks,
    and a prediction keyed by `trigger_position` (the latest event that could change it) unless it is
    already at risk. Scheduling these again is harmless: the ids are the ones follow_up gave.
    """
    checks = pending_checks(incident)
    referral = incident.open_referral
    if checks and referral is not None and not referral.at_risk:
        checks.append(prediction(trigger_position, incident_id=incident.id))
    return checks


def _pending(incident_id: str, referral: Referral) -> list[Check]:
    if not referral.open or referral.breached or referral.deadline_at is None:
        return []
    warning_at = None if referral.at_risk else referral.warning_at
    return _deadline_checks(incident_id, referral.referral_id, warning_at=warning_at,
                            deadline_at=referral.deadline_at)


def _deadline_checks(
    incident_id: str, referral_id: str, *, warning_at: datetime | None, deadline_at: datetime | None
) -> list[Check]:
    due: list[tuple[CheckKind, str, datetime | None]] = [
        ("warning", warning_job_id(referral_id), warning_at),
        ("breach", breach_job_id(referral_id), deadline_at),
    ]
    return [
        Check(kind=kind, job_id=job_id, run_at=run_at, incident_id=incident_id, referral_id=referral_id)
        for kind, job_id, run_at in due
        if run_at is not None
    ]


def prediction(position: int, *, incident_id: str | None = None, resource_id: str | None = None) -> Check:
    """A predictive check now, keyed by the log position of the event that prompted it."""
    return Check(kind="predicted", job_id=prediction_job_id(position), incident_id=incident_id,
                 resource_id=resource_id)


def warning_job_id(referral_id: str) -> str:
    return f"referral-warning-{referral_id}"


def breach_job_id(referral_id: str) -> str:
    return f"referral-breach-{referral_id}"


def prediction_job_id(position: int) -> str:
    # One prediction per event: the same event never needs predicting twice, a newer one always may.
    return f"referral-predict-at-{position}"
