"""Which referral checks follow an append, which are still pending, and when a scaled clock schedules them.

Pure: no Redis, no database. The stored events are built by hand, the position being what the log gave.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dispatch.domain.catalogue import Event, type_name
from dispatch.domain.envelope import StoredEvent
from dispatch.domain.policies import Check, follow_up, pending_checks, reconcile_checks
from dispatch.runtime.clock import FrozenClock, ScaledClock, SystemClock, real_time
from dispatch.runtime.settings import Settings
from tests.builders import (
    BOAT,
    INCIDENT,
    T0,
    incident_closed,
    incident_from,
    incident_reported,
    milestone_recorded,
    minutes,
    patient_arrived_at_facility,
    referral_at_risk,
    referral_breached,
    referral_requested,
    resource_dispatched,
    resource_position_reported,
    resource_registered,
)

REFERRAL = f"{INCIDENT}-r1"


def stored(event: Event, position: int) -> StoredEvent:
    """`event` as the log would hand it back at `position`."""
    return StoredEvent(position, event.stream_id, position, type_name(event), 1, event, "{}", "{}", T0, "",
                       "")


def log(*events: Event) -> list[StoredEvent]:
    return [stored(event, position) for position, event in enumerate(events, start=1)]


# --- follow_up ------------------------------------------------------------------------------------------


def test_a_referral_under_a_guarantee_schedules_its_warning_breach_and_a_prediction_now() -> None:
    # given a Koh Yao referral requested at T0 (warning at 60 min, guarantee 80), stored at position 7
    requested = stored(referral_requested(), 7)
    # when its follow-ups are derived
    checks = follow_up([requested])
    # then the warning and the breach are due at their times, under ids naming the referral
    assert checks == [
        Check(kind="warning", job_id=f"referral-warning-{REFERRAL}", run_at=T0 + minutes(60),
              incident_id=INCIDENT, referral_id=REFERRAL),
        Check(kind="breach", job_id=f"referral-breach-{REFERRAL}", run_at=T0 + minutes(80),
              incident_id=INCIDENT, referral_id=REFERRAL),
        # and a prediction runs at once, keyed by the request's position in the log
        Check(kind="predicted", job_id="referral-predict-at-7", incident_id=INCIDENT),
    ]


def test_follow_up_gives_the_same_job_ids_however_often_it_is_asked() -> None:
    events = log(referral_requested(), milestone_recorded(), resource_position_reported())
    assert follow_up(events) == follow_up(events)


def test_a_referral_without_a_guarantee_needs_no_check() -> None:
    assert follow_up(log(referral_requested(policy=None))) == []


def test_a_milestone_asks_for_a_prediction_of_its_incident() -> None:
    checks = follow_up([stored(milestone_recorded(milestone="left_scene"), 12)])
    assert checks == [Check(kind="predicted", job_id="referral-predict-at-12", incident_id=INCIDENT)]


def test_a_boat_position_asks_for_a_prediction_naming_only_the_boat() -> None:
    # follow_up cannot know which referral the boat carries: the job looks that up
    checks = follow_up([stored(resource_position_reported(), 5)])
    assert checks == [Check(kind="predicted", job_id="referral-predict-at-5", resource_id=BOAT)]


def test_an_arrival_in_the_same_append_needs_no_prediction() -> None:
    arrived = log(milestone_recorded(milestone="at_destination"), patient_arrived_at_facility())
    assert follow_up(arrived) == []


@pytest.mark.parametrize(
    "event",
    [incident_reported(), resource_dispatched(), referral_at_risk(), referral_breached(), incident_closed(),
     resource_registered(), patient_arrived_at_facility()],
    ids=type_name,
)
def test_other_events_and_the_checks_own_results_call_for_nothing(event: Event) -> None:
    # a worker's ReferralAtRisk or ReferralBreached must not schedule more work: no loops
    assert follow_up([stored(event, 3)]) == []


# --- pending checks (what the reconcile sweep re-derives) -------------------------------------------


def test_an_open_referral_has_its_warning_and_breach_pending() -> None:
    incident = incident_from(incident_reported(), referral_requested())
    assert [(c.kind, c.run_at) for c in pending_checks(incident)] == [
        ("warning", T0 + minutes(60)), ("breach", T0 + minutes(80)),
    ]


def test_a_referral_at_risk_has_only_its_breach_pending() -> None:
    incident = incident_from(incident_reported(), referral_requested(), referral_at_risk())
    assert [c.kind for c in pending_checks(incident)] == ["breach"]


@pytest.mark.parametrize(
    "ending",
    [referral_breached(), patient_arrived_at_facility(), incident_closed()],
    ids=type_name,
)
def test_a_breached_arrived_or_closed_referral_has_nothing_pending(ending: Event) -> None:
    incident = incident_from(incident_reported(), referral_requested(), ending)
    assert pending_checks(incident) == []


def test_pending_checks_keep_the_ids_follow_up_gave() -> None:
    requested = referral_requested()
    incident = incident_from(incident_reported(), requested)
    given = {c.job_id for c in follow_up([stored(requested, 2)]) if c.kind != "predicted"}
    assert {c.job_id for c in pending_checks(incident)} == given


def test_reconcile_adds_a_prediction_keyed_by_the_latest_trigger_unless_already_at_risk() -> None:
    open_incident = incident_from(incident_reported(), referral_requested())
    at_risk = incident_from(incident_reported(), referral_requested(), referral_at_risk())
    assert reconcile_checks(open_incident, 42)[-1] == Check(
        kind="predicted", job_id="referral-predict-at-42", incident_id=INCIDENT
    )
    assert [c.kind for c in reconcile_checks(at_risk, 42)] == ["breach"]


def test_reconcile_of_an_ended_referral_predicts_nothing() -> None:
    arrived = incident_from(incident_reported(), referral_requested(), patient_arrived_at_facility())
    assert reconcile_checks(arrived, 9) == []


# --- the scaled clock of drills and tests -------------------------------------------------------------


def test_a_scaled_clock_runs_80_minutes_in_8_seconds_from_its_anchor() -> None:
    anchor = datetime(2026, 3, 14, 7, 0, tzinfo=UTC)
    clock = ScaledClock(anchor, speed=600)
    assert clock.at_real(anchor + timedelta(seconds=8)) == anchor + minutes(80)


def test_a_check_due_on_a_scaled_clock_is_scheduled_at_the_real_moment_the_clock_reaches_it() -> None:
    anchor = datetime(2026, 3, 14, 7, 0, tzinfo=UTC)
    clock = ScaledClock(anchor, speed=600, offset=timedelta(hours=1))
    deadline = anchor + timedelta(hours=1) + minutes(80)
    assert real_time(clock, deadline) == anchor + timedelta(seconds=8)
    assert clock.at_real(real_time(clock, deadline)) == deadline


@pytest.mark.parametrize("clock", [SystemClock(), FrozenClock(T0)], ids=type)
def test_other_clocks_schedule_at_the_moment_itself(clock: Any) -> None:
    assert real_time(clock, T0) == T0


def test_a_faster_clock_needs_an_anchor_every_process_shares() -> None:
    with pytest.raises(ValueError, match="clock_anchor_at"):
        Settings(clock_speed=600)
    assert Settings(clock_speed=600, clock_anchor_at=T0).clock_speed == 600
