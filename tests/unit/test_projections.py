"""Projection rules (DESIGN.md §1, §3): given stored events, when replayed in memory, then the rows.

No database: `replay_in_memory` applies each projection to events wrapped as the log would hold them.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.domain.catalogue import Event, Position, encode_data, type_name
from dispatch.domain.envelope import StoredEvent
from dispatch.domain.vocabulary import TRIAGE_ORDER, Triage
from dispatch.projections.board import TABLE as BOARD
from dispatch.projections.board import Board, board_rows
from dispatch.projections.intervals import FACTS, RESPONSES, Intervals, response_key
from dispatch.projections.referrals import TABLE as REFERRALS
from dispatch.projections.referrals import Referrals
from dispatch.projections.resources import TABLE as RESOURCES
from dispatch.projections.resources import Resources
from dispatch.projections.rows import Projection, Row, RowSet, replay_in_memory
from tests.builders import (
    AED,
    BOAT,
    DISPATCHED_AT,
    FACILITY,
    HEALTH_UNIT,
    INCIDENT,
    KOH_YAO_POLICY,
    LIFEGUARD_ID,
    OTHER_BOAT,
    OTHER_INCIDENT,
    PIER,
    SITE,
    T0,
    TEAM,
    incident_closed,
    incident_reported,
    incident_triaged,
    milestone_recorded,
    minutes,
    note_added,
    patient_arrived_at_facility,
    patient_handed_over,
    referral_at_risk,
    referral_breached,
    referral_requested,
    resource_dispatched,
    resource_position_reported,
    resource_registered,
    resource_status_changed,
)

REFERRAL = f"{INCIDENT}-r1"
DEADLINE = T0 + minutes(KOH_YAO_POLICY.guarantee_minutes)
WARNING = T0 + minutes(KOH_YAO_POLICY.warning_minutes)
SIMILAN_DIVE_SITE = Position(lat=8.65, lon=97.64)
"""Off the Similan islands: inside the similan zone, far from Koh Yao."""


# --- helpers ---------------------------------------------------------------------------------------


def stored(*events: Event) -> list[StoredEvent]:
    """The events as the log holds them: global positions 1, 2, 3, ... and versions counted per stream."""
    versions: Counter[str] = Counter()
    wrapped = []
    for position, event in enumerate(events, start=1):
        versions[event.stream_id] += 1
        wrapped.append(
            StoredEvent(
                position=position, stream_id=event.stream_id, version=versions[event.stream_id],
                type=type_name(event), schema_version=event.SCHEMA_VERSION, event=event,
                data=encode_data(event).decode(), meta_json="{}", recorded_at=event.at, prev_hash="", hash="",
            )
        )
    return wrapped


def replay(projection: Projection, *events: Event) -> RowSet:
    return replay_in_memory(projection, stored(*events))


def board_after(*events: Event) -> dict[str, Row]:
    """The board rows by incident id after `events`."""
    return {row["incident_id"]: row for row in replay(Board(), *events).rows(BOARD)}


def board_row(*events: Event, incident_id: str = INCIDENT) -> Row:
    return board_after(*events)[incident_id]


def resource_row(*events: Event, resource_id: str = BOAT) -> Row:
    row = replay(Resources(), *events).get(RESOURCES, resource_id)
    assert row is not None, f"no resources row for {resource_id}"
    return row


def referral_row(*events: Event, referral_id: str = REFERRAL) -> Row:
    row = replay(Referrals(), *events).get(REFERRALS, referral_id)
    assert row is not None, f"no referrals row for {referral_id}"
    return row


def facts_row(*events: Event, incident_id: str = INCIDENT) -> Row:
    row = replay(Intervals(), *events).get(FACTS, incident_id)
    assert row is not None, f"no incident_facts row for {incident_id}"
    return row


def response_row(*events: Event, incident_id: str = INCIDENT, resource_id: str = BOAT) -> Row:
    row = replay(Intervals(), *events).get(RESPONSES, response_key(incident_id, resource_id))
    assert row is not None, f"no response_intervals row for {incident_id}/{resource_id}"
    return row


def iso(moment: datetime) -> str:
    """How the board keeps times inside its JSON columns."""
    return moment.isoformat()


def seconds(duration: timedelta) -> int:
    return int(duration.total_seconds())


def dispatched_boat() -> list[Event]:
    """The default incident with BOAT dispatched at DISPATCHED_AT."""
    return [incident_reported(), resource_dispatched()]


def assigned_boat(incident_id: str = INCIDENT) -> list[Event]:
    """BOAT registered, then dispatched to `incident_id` as the service appends it (incident side first)."""
    return [
        resource_registered(),
        resource_dispatched(incident_id=incident_id),
        resource_status_changed(status="assigned", incident_id=incident_id),
    ]


# --- board: report and triage ----------------------------------------------------------------------


@pytest.mark.parametrize("colour", ["red", "yellow", "green", "white", "black"])
def test_board_report_opens_a_row_ranked_by_its_dispatch_colour(colour: Triage) -> None:
    row = board_row(incident_reported(triage=colour))

    assert row["status"] == "open"
    assert row["triage_dispatch"] == colour
    assert row["triage_scene"] is None
    assert row["triage_rank"] == TRIAGE_ORDER[colour]


def test_board_report_row_shows_the_report_with_nothing_yet_done() -> None:
    row = board_row(incident_reported(patients=2, description="two divers surfaced too fast", language="ru"))

    assert row == {
        "incident_id": INCIDENT, "status": "open", "source": "island", "category": "drowning",
        "triage_dispatch": "red", "triage_scene": None, "triage_rank": TRIAGE_ORDER["red"], "site_id": SITE,
        "zone": "koh_yao", "lat": PIER.lat, "lon": PIER.lon, "patients": 2,
        "description": "two divers surfaced too fast", "language": "ru", "reporter": LIFEGUARD_ID, "reported_at": T0,
        "closed_at": None, "outcome": None, "notes": 0, "assignments": [], "referral": None, "beacon": None,
        "position": 1,
    }


def test_board_scene_triage_reranks_the_row_and_keeps_the_dispatch_code() -> None:
    row = board_row(incident_reported(triage="red"), incident_triaged(stage="scene", code="green"))

    assert (row["triage_dispatch"], row["triage_scene"]) == ("red", "green")
    assert row["triage_rank"] == TRIAGE_ORDER["green"]


def test_board_dispatch_retriage_without_a_scene_code_reranks_the_row() -> None:
    row = board_row(incident_reported(triage="yellow"), incident_triaged(stage="dispatch", code="red"))

    assert row["triage_dispatch"] == "red"
    assert row["triage_rank"] == TRIAGE_ORDER["red"]


def test_board_scene_code_wins_over_a_later_dispatch_code_and_both_are_kept() -> None:
    row = board_row(
        incident_reported(triage="red"),
        incident_triaged(stage="scene", code="yellow", at=T0 + minutes(10)),
        incident_triaged(stage="dispatch", code="green", at=T0 + minutes(12)),
    )

    assert (row["triage_dispatch"], row["triage_scene"]) == ("green", "yellow")
    assert row["triage_rank"] == TRIAGE_ORDER["yellow"]


# --- board: assignments and milestones -------------------------------------------------------------


def test_board_dispatch_adds_an_assignment_at_resource_notified() -> None:
    row = board_row(*dispatched_boat())

    assert row["assignments"] == [
        {"resource_id": BOAT, "kind": "boat", "milestone": "resource_notified",
         "milestone_at": iso(DISPATCHED_AT), "dispatched_at": iso(DISPATCHED_AT), "released": False}
    ]


def test_board_assignments_are_listed_in_dispatch_order() -> None:
    row = board_row(
        *dispatched_boat(),
        resource_dispatched(resource_id=TEAM, kind="team", at=DISPATCHED_AT + minutes(1)),
    )

    assert [(a["resource_id"], a["kind"]) for a in row["assignments"]] == [(BOAT, "boat"), (TEAM, "team")]


def test_board_milestone_advances_the_assignments_latest_milestone() -> None:
    on_scene_at = T0 + minutes(14)
    row = board_row(
        *dispatched_boat(),
        milestone_recorded(milestone="en_route", at=T0 + minutes(3)),
        milestone_recorded(milestone="on_scene", at=on_scene_at),
    )

    (assignment,) = row["assignments"]
    assert (assignment["milestone"], assignment["milestone_at"]) == ("on_scene", iso(on_scene_at))
    assert assignment["dispatched_at"] == iso(DISPATCHED_AT)


def test_board_milestone_changes_only_the_resource_it_names() -> None:
    row = board_row(
        *dispatched_boat(),
        resource_dispatched(resource_id=TEAM, kind="team"),
        milestone_recorded(resource_id=TEAM, milestone="on_scene", at=T0 + minutes(6)),
    )

    milestones = {a["resource_id"]: a["milestone"] for a in row["assignments"]}
    assert milestones == {BOAT: "resource_notified", TEAM: "on_scene"}


def test_board_late_entry_of_an_earlier_milestone_does_not_move_the_latest_back() -> None:
    left_scene_at = T0 + minutes(30)
    row = board_row(
        *dispatched_boat(),
        milestone_recorded(milestone="left_scene", at=left_scene_at),
        milestone_recorded(milestone="on_scene", at=T0 + minutes(14), late=True),
    )

    (assignment,) = row["assignments"]
    assert (assignment["milestone"], assignment["milestone_at"]) == ("left_scene", iso(left_scene_at))


@pytest.mark.parametrize("releasing", ["back_in_service", "cancelled"])
def test_board_assignment_is_released_by_back_in_service_or_cancelled(releasing: str) -> None:
    row = board_row(*dispatched_boat(), milestone_recorded(milestone=releasing, at=T0 + minutes(40)))

    (assignment,) = row["assignments"]
    assert assignment["released"] is True
    assert assignment["milestone"] == releasing


def test_board_assignment_is_not_released_by_an_ordinary_milestone() -> None:
    row = board_row(*dispatched_boat(), milestone_recorded(milestone="handed_over", at=T0 + minutes(75)))

    (assignment,) = row["assignments"]
    assert assignment["released"] is False


# --- board: referral countdown ---------------------------------------------------------------------


def test_board_referral_shows_its_deadline_and_starts_on_track() -> None:
    row = board_row(incident_reported(), referral_requested(at=T0))

    referral = row["referral"]
    assert referral["referral_id"] == REFERRAL
    assert referral["facility_id"] == FACILITY
    assert referral["requested_at"] == iso(T0)
    assert referral["warning_at"] == iso(WARNING)
    assert referral["deadline_at"] == iso(DEADLINE)
    assert referral["guarantee_minutes"] == KOH_YAO_POLICY.guarantee_minutes
    assert referral["status"] == "on_track"


def test_board_referral_at_risk_shows_predicted_arrival_lateness_and_advice() -> None:
    predicted = DEADLINE + minutes(7)
    row = board_row(
        incident_reported(), referral_requested(at=T0),
        referral_at_risk(at=T0 + minutes(30), reason="predicted_late", predicted_arrival_at=predicted,
                         predicted_late_seconds=seconds(minutes(7)), advice="send the speedboat KY-02"),
    )

    referral = row["referral"]
    assert referral["status"] == "at_risk"
    assert referral["predicted_arrival_at"] == iso(predicted)
    assert referral["predicted_late_seconds"] == seconds(minutes(7))
    assert referral["advice"] == "send the speedboat KY-02"


def test_board_referral_breach_turns_it_breached() -> None:
    row = board_row(incident_reported(), referral_requested(at=T0), referral_at_risk(), referral_breached())

    assert row["referral"]["status"] == "breached"


def test_board_referral_arrival_by_the_deadline_is_met() -> None:
    arrived_at = DEADLINE - minutes(10)
    row = board_row(
        incident_reported(), referral_requested(at=T0), referral_at_risk(),
        patient_arrived_at_facility(at=arrived_at),
    )

    assert row["referral"]["status"] == "met"
    assert row["referral"]["arrived_at"] == iso(arrived_at)


def test_board_referral_arrival_exactly_at_the_deadline_is_met() -> None:
    row = board_row(incident_reported(), referral_requested(at=T0), patient_arrived_at_facility(at=DEADLINE))

    assert row["referral"]["status"] == "met"


def test_board_referral_arrival_after_a_breach_is_missed() -> None:
    row = board_row(
        incident_reported(), referral_requested(at=T0), referral_at_risk(), referral_breached(),
        patient_arrived_at_facility(at=DEADLINE + minutes(5)),
    )

    assert row["referral"]["status"] == "missed"


def test_board_referral_records_the_handover() -> None:
    handed_over_at = T0 + minutes(75)
    row = board_row(
        incident_reported(), referral_requested(at=T0), patient_arrived_at_facility(at=T0 + minutes(70)),
        patient_handed_over(at=handed_over_at),
    )

    assert row["referral"]["handed_over_at"] == iso(handed_over_at)
    assert row["referral"]["status"] == "met"


def test_board_referral_ignores_events_of_another_referral() -> None:
    row = board_row(
        incident_reported(), referral_requested(at=T0),
        referral_breached(referral_id=f"{INCIDENT}-r9"),
        patient_arrived_at_facility(referral_id=None),
    )

    assert row["referral"]["status"] == "on_track"
    assert row["referral"]["arrived_at"] is None
    assert row["position"] == 2


# --- board: notes, close, positions, unknown incidents ---------------------------------------------


def test_board_counts_notes() -> None:
    row = board_row(incident_reported(), note_added(), note_added(text="second"), note_added(text="third"))

    assert row["notes"] == 3


def test_board_close_sets_status_outcome_and_releases_every_assignment() -> None:
    closed_at = T0 + minutes(90)
    row = board_row(
        *dispatched_boat(),
        resource_dispatched(resource_id=TEAM, kind="team"),
        incident_closed(at=closed_at, outcome="treated_on_scene"),
    )

    assert (row["status"], row["closed_at"], row["outcome"]) == ("closed", closed_at, "treated_on_scene")
    assert [a["released"] for a in row["assignments"]] == [True, True]


def test_board_row_position_is_the_last_event_that_changed_it() -> None:
    rows = board_after(
        incident_reported(),                                        # 1
        incident_reported(incident_id=OTHER_INCIDENT),              # 2
        resource_dispatched(),                                      # 3
        note_added(incident_id=OTHER_INCIDENT),                     # 4
        resource_registered(resource_id=OTHER_BOAT),                # 5: a resource event, not the board's
    )

    assert rows[INCIDENT]["position"] == 3
    assert rows[OTHER_INCIDENT]["position"] == 4


def test_board_ignores_events_of_an_incident_whose_report_it_never_saw() -> None:
    rows = board_after(
        incident_reported(),
        resource_dispatched(incident_id=OTHER_INCIDENT),
        note_added(incident_id=OTHER_INCIDENT),
        incident_closed(incident_id=OTHER_INCIDENT),
    )

    assert list(rows) == [INCIDENT]


def test_board_ignores_resource_events() -> None:
    rows = board_after(resource_registered(), resource_status_changed(), resource_position_reported())

    assert rows == {}


# --- board_rows: what the screen shows -------------------------------------------------------------


def test_board_lists_red_before_yellow_before_green_then_oldest_first() -> None:
    rows = list(board_after(
        incident_reported(incident_id="green-old", triage="green", at=T0),
        incident_reported(incident_id="yellow-new", triage="yellow", at=T0 + minutes(20)),
        incident_reported(incident_id="red-new", triage="red", at=T0 + minutes(30)),
        incident_reported(incident_id="yellow-old", triage="yellow", at=T0 + minutes(5)),
        incident_reported(incident_id="red-old", triage="red", at=T0 + minutes(10)),
    ).values())

    shown = board_rows(rows, T0 + minutes(40))

    assert [row["incident_id"] for row in shown] == [
        "red-old", "red-new", "yellow-old", "yellow-new", "green-old",
    ]


def test_board_lists_a_row_by_its_scene_code() -> None:
    rows = list(board_after(
        incident_reported(incident_id="downgraded", triage="red", at=T0),
        incident_reported(incident_id="still-red", triage="red", at=T0 + minutes(5)),
        incident_triaged(incident_id="downgraded", stage="scene", code="green"),
    ).values())

    shown = board_rows(rows, T0 + minutes(40))

    assert [row["incident_id"] for row in shown] == ["still-red", "downgraded"]


def test_board_hides_closed_incidents() -> None:
    rows = list(board_after(
        incident_reported(),
        incident_reported(incident_id=OTHER_INCIDENT),
        incident_closed(incident_id=OTHER_INCIDENT),
    ).values())

    shown = board_rows(rows, T0 + minutes(100))

    assert [row["incident_id"] for row in shown] == [INCIDENT]


def test_board_age_is_seconds_since_the_report() -> None:
    rows = list(board_after(incident_reported(at=T0)).values())

    (shown,) = board_rows(rows, T0 + minutes(12.5))

    assert shown["age_seconds"] == seconds(minutes(12.5))


@pytest.mark.parametrize("now_minutes", [25, 80, 95])
def test_board_referral_time_left_counts_to_the_deadline(now_minutes: int) -> None:
    now = T0 + minutes(now_minutes)
    rows = list(board_after(incident_reported(), referral_requested(at=T0)).values())

    (shown,) = board_rows(rows, now)

    assert shown["referral"]["seconds_left"] == seconds(DEADLINE - now)


def test_board_referral_has_no_time_left_once_the_patient_arrived() -> None:
    rows = list(board_after(
        incident_reported(), referral_requested(at=T0), patient_arrived_at_facility(at=T0 + minutes(70))
    ).values())

    (shown,) = board_rows(rows, T0 + minutes(72))

    assert "seconds_left" not in shown["referral"]


def test_board_referral_without_a_guarantee_has_no_time_left() -> None:
    rows = list(board_after(incident_reported(), referral_requested(at=T0, policy=None)).values())

    (shown,) = board_rows(rows, T0 + minutes(10))

    assert "seconds_left" not in shown["referral"]


_incident_specs = st.lists(
    st.tuples(st.sampled_from(list(TRIAGE_ORDER)), st.integers(0, 600), st.booleans()),
    max_size=12,
)


@given(_incident_specs)
def test_board_lists_every_open_incident_once_most_severe_then_oldest_first(
    specs: list[tuple[Triage, int, bool]],
) -> None:
    events: list[Event] = []
    for number, (colour, offset, closed) in enumerate(specs):
        incident_id = f"inc-{number}"
        events.append(incident_reported(incident_id=incident_id, triage=colour, at=T0 + minutes(offset)))
        if closed:
            events.append(incident_closed(incident_id=incident_id, at=T0 + minutes(700)))
    rows = list(board_after(*events).values())

    shown = board_rows(rows, T0 + minutes(800))

    expected_open = {f"inc-{n}" for n, (_colour, _offset, closed) in enumerate(specs) if not closed}
    assert sorted(row["incident_id"] for row in shown) == sorted(expected_open)
    keys = [(TRIAGE_ORDER[row["triage_dispatch"]], row["reported_at"]) for row in shown]
    assert keys == sorted(keys)


# --- resources -------------------------------------------------------------------------------------


def test_resource_registration_makes_it_available_at_its_position() -> None:
    registered_at = T0 - timedelta(days=1)
    row = resource_row(resource_registered(at=registered_at, position=PIER))

    assert row["status"] == "available"
    assert row["status_since"] == registered_at
    assert (row["lat"], row["lon"], row["position_at"]) == (PIER.lat, PIER.lon, registered_at)
    assert (row["kind"], row["speed_knots"], row["zone"]) == ("boat", 25.0, "koh_yao")
    assert (row["incident_id"], row["milestone"]) == (None, None)
    assert row["position"] == 1


def test_resource_registered_without_a_position_has_none() -> None:
    row = resource_row(resource_registered(resource_id=AED, kind="aed", position=None, speed_knots=None),
                       resource_id=AED)

    assert (row["lat"], row["lon"], row["position_at"]) == (None, None, None)



def test_resource_assigned_keeps_the_incident_it_was_assigned_to() -> None:
    row = resource_row(
        resource_registered(),
        resource_status_changed(status="assigned", incident_id=INCIDENT, at=DISPATCHED_AT),
    )

    assert (row["status"], row["incident_id"], row["status_since"]) == ("assigned", INCIDENT, DISPATCHED_AT)


@pytest.mark.parametrize("status", ["available", "out_of_service"])
def test_resource_no_longer_assigned_has_no_incident_or_milestone(status: str) -> None:
    released_at = T0 + minutes(100)
    row = resource_row(
        *assigned_boat(),
        milestone_recorded(milestone="on_scene", at=T0 + minutes(14)),
        resource_status_changed(status=status, incident_id=INCIDENT, reason="released", at=released_at),
    )

    assert (row["status"], row["status_since"]) == (status, released_at)
    assert (row["incident_id"], row["milestone"]) == (None, None)


def test_resource_position_report_moves_it() -> None:
    reported_at = T0 + minutes(10)
    row = resource_row(
        resource_registered(), resource_position_reported(position=HEALTH_UNIT, at=reported_at)
    )

    assert (row["lat"], row["lon"], row["position_at"]) == (HEALTH_UNIT.lat, HEALTH_UNIT.lon, reported_at)
    assert row["status"] == "available"


def test_resource_dispatch_sets_milestone_resource_notified() -> None:
    row = resource_row(*assigned_boat())

    assert (row["status"], row["incident_id"]) == ("assigned", INCIDENT)
    assert row["milestone"] == "resource_notified"


def test_resource_milestone_on_its_incident_advances_its_milestone() -> None:
    row = resource_row(*assigned_boat(), milestone_recorded(milestone="on_scene", at=T0 + minutes(14)))

    assert row["milestone"] == "on_scene"


def test_resource_milestone_of_another_incident_does_not_change_its_milestone() -> None:
    row = resource_row(
        *assigned_boat(),
        milestone_recorded(milestone="en_route", at=T0 + minutes(3)),
        milestone_recorded(incident_id=OTHER_INCIDENT, milestone="handed_over", at=T0 + minutes(4)),
    )

    assert (row["incident_id"], row["milestone"]) == (INCIDENT, "en_route")
    assert row["position"] == 4


def test_resource_late_entry_of_an_earlier_milestone_does_not_move_its_milestone_back() -> None:
    row = resource_row(
        *assigned_boat(),
        milestone_recorded(milestone="left_scene", at=T0 + minutes(30)),
        milestone_recorded(milestone="on_scene", at=T0 + minutes(14), late=True),
    )

    assert row["milestone"] == "left_scene"


def test_resource_events_for_an_unregistered_resource_are_ignored() -> None:
    rows = replay(
        Resources(),
        resource_status_changed(resource_id=OTHER_BOAT),
        resource_position_reported(resource_id=OTHER_BOAT),
        resource_dispatched(resource_id=OTHER_BOAT),
    )

    assert rows.rows(RESOURCES) == []


def test_resource_row_position_is_the_last_event_that_changed_it() -> None:
    rows = replay(
        Resources(),
        resource_registered(),                                   # 1
        resource_registered(resource_id=OTHER_BOAT),             # 2
        resource_position_reported(),                            # 3
        resource_position_reported(resource_id=OTHER_BOAT),      # 4
        incident_reported(),                                     # 5: no resource in it
    )

    positions = {row["resource_id"]: row["position"] for row in rows.rows(RESOURCES)}
    assert positions == {BOAT: 3, OTHER_BOAT: 4}


# --- referrals -------------------------------------------------------------------------------------


def test_referral_request_starts_an_on_track_row_with_the_policy_zone_and_clock() -> None:
    row = referral_row(referral_requested(at=T0, resource_id=BOAT))

    assert row == {
        "referral_id": REFERRAL, "incident_id": INCIDENT, "zone": KOH_YAO_POLICY.zone, "from_site_id": SITE,
        "facility_id": FACILITY, "resource_id": BOAT, "guarantee_minutes": KOH_YAO_POLICY.guarantee_minutes,
        "status": "on_track", "requested_at": T0, "warning_at": WARNING, "deadline_at": DEADLINE,
        "at_risk_at": None, "risk_reason": None, "predicted_arrival_at": None, "predicted_late_seconds": None,
        "advice": "", "breached_at": None, "arrived_at": None, "handed_over_at": None, "late_seconds": None,
        "elapsed_seconds": None, "hospital_wall_seconds": None, "position": 1,
    }


def test_referral_zone_comes_from_the_policy_over_the_position() -> None:
    row = referral_row(referral_requested(from_position=SIMILAN_DIVE_SITE, policy=KOH_YAO_POLICY))

    assert row["zone"] == "koh_yao"


def test_referral_without_a_policy_takes_its_zone_from_the_position_and_has_no_clock() -> None:
    row = referral_row(referral_requested(from_site_id=None, from_position=SIMILAN_DIVE_SITE, policy=None))

    assert row["zone"] == "similan"
    assert (row["guarantee_minutes"], row["warning_at"], row["deadline_at"]) == (None, None, None)
    assert row["status"] == "on_track"


def test_referral_at_risk_records_when_why_the_prediction_and_advice() -> None:
    at_risk_at = T0 + minutes(30)
    predicted = DEADLINE + minutes(4)
    row = referral_row(
        referral_requested(at=T0),
        referral_at_risk(at=at_risk_at, reason="predicted_late", predicted_arrival_at=predicted,
                         predicted_late_seconds=seconds(predicted - DEADLINE),
                         advice="transfer at Bang Rong"),
    )

    assert row["status"] == "at_risk"
    assert (row["at_risk_at"], row["risk_reason"]) == (at_risk_at, "predicted_late")
    assert (row["predicted_arrival_at"], row["predicted_late_seconds"]) == (predicted, seconds(minutes(4)))
    assert row["advice"] == "transfer at Bang Rong"


def test_referral_at_risk_keeps_when_it_first_became_at_risk() -> None:
    row = referral_row(
        referral_requested(at=T0),
        referral_at_risk(at=T0 + minutes(30), reason="predicted_late"),
        referral_at_risk(at=WARNING, reason="warning_point"),
    )

    assert row["at_risk_at"] == T0 + minutes(30)


def test_referral_breach_records_when() -> None:
    row = referral_row(referral_requested(at=T0), referral_at_risk(), referral_breached(at=DEADLINE))

    assert (row["status"], row["breached_at"]) == ("breached", DEADLINE)


@pytest.mark.parametrize("before_deadline", [minutes(0), minutes(1), minutes(45)])
def test_referral_arrival_by_the_deadline_is_met_and_not_late(before_deadline: timedelta) -> None:
    arrived_at = DEADLINE - before_deadline
    row = referral_row(referral_requested(at=T0), patient_arrived_at_facility(at=arrived_at))

    assert (row["status"], row["arrived_at"], row["late_seconds"]) == ("met", arrived_at, None)


@pytest.mark.parametrize("lateness", [timedelta(seconds=1), minutes(12), minutes(12) + timedelta(seconds=30)])
def test_referral_arrival_after_the_deadline_is_missed_by_its_lateness(lateness: timedelta) -> None:
    row = referral_row(
        referral_requested(at=T0), referral_at_risk(), referral_breached(),
        patient_arrived_at_facility(at=DEADLINE + lateness),
    )

    assert (row["status"], row["late_seconds"]) == ("missed", seconds(lateness))


def test_referral_without_a_deadline_is_met_on_arrival() -> None:
    row = referral_row(
        referral_requested(at=T0, policy=None), patient_arrived_at_facility(at=T0 + minutes(300))
    )

    assert (row["status"], row["late_seconds"]) == ("met", None)


def test_referral_records_the_handover_time() -> None:
    handed_over_at = T0 + minutes(75)
    row = referral_row(
        referral_requested(at=T0), patient_arrived_at_facility(at=T0 + minutes(70)),
        patient_handed_over(at=handed_over_at),
    )

    assert (row["handed_over_at"], row["status"]) == (handed_over_at, "met")
    assert row["position"] == 3


def test_referral_keeps_its_elapsed_and_hospital_wall_time_in_whole_seconds() -> None:
    arrived_at = T0 + minutes(70) + timedelta(seconds=29, microseconds=900_000)
    row = referral_row(
        referral_requested(at=T0), patient_arrived_at_facility(at=arrived_at),
        patient_handed_over(at=arrived_at + minutes(10)),
    )

    assert (row["elapsed_seconds"], row["hospital_wall_seconds"]) == (seconds(minutes(70)) + 29, seconds(minutes(10)))


def test_referral_has_no_elapsed_time_before_the_arrival() -> None:
    row = referral_row(referral_requested(at=T0), patient_handed_over(at=T0 + minutes(75)))

    assert (row["elapsed_seconds"], row["hospital_wall_seconds"]) == (None, None)


def test_referral_events_without_a_requested_referral_are_ignored() -> None:
    rows = replay(
        Referrals(),
        referral_at_risk(),
        referral_breached(),
        patient_arrived_at_facility(referral_id=None),
        patient_handed_over(),
    )

    assert rows.rows(REFERRALS) == []


# --- intervals: incident facts ---------------------------------------------------------------------


def test_facts_keep_zone_source_triage_and_report_time() -> None:
    row = facts_row(incident_reported(zone="similan", source="boat", triage="yellow", category="dive_injury",
                                      patients=2, at=T0))

    assert row == {
        "incident_id": INCIDENT, "zone": "similan", "source": "boat", "category": "dive_injury",
        "triage_dispatch": "yellow", "triage_scene": None, "patients": 2, "reported_at": T0,
        "reached_at": None, "closed_at": None, "outcome": None, "deceased": 0, "position": 1,
    }


def test_facts_keep_both_the_dispatch_and_the_scene_code() -> None:
    row = facts_row(
        incident_reported(triage="yellow"),
        incident_triaged(stage="dispatch", code="red"),
        incident_triaged(stage="scene", code="green"),
    )

    assert (row["triage_dispatch"], row["triage_scene"]) == ("red", "green")


@pytest.mark.parametrize("milestone", ["on_scene", "at_patient"])
def test_facts_reached_at_is_the_first_arrival_on_scene_or_at_patient(milestone: str) -> None:
    reached = T0 + minutes(14)
    row = facts_row(
        *dispatched_boat(),
        resource_dispatched(resource_id=TEAM, kind="team"),
        milestone_recorded(milestone="en_route", at=T0 + minutes(3)),
        milestone_recorded(milestone=milestone, at=reached),
        milestone_recorded(resource_id=TEAM, milestone="on_scene", at=T0 + minutes(18)),
    )

    assert row["reached_at"] == reached


def test_facts_reached_at_takes_a_late_entry_of_an_earlier_arrival() -> None:
    team_reached = T0 + minutes(8)
    row = facts_row(
        *dispatched_boat(),
        resource_dispatched(resource_id=TEAM, kind="team", at=DISPATCHED_AT),
        milestone_recorded(milestone="on_scene", at=T0 + minutes(20)),
        milestone_recorded(resource_id=TEAM, milestone="on_scene", at=team_reached, late=True),
    )

    assert row["reached_at"] == team_reached


def test_facts_close_records_time_outcome_and_deceased() -> None:
    closed_at = T0 + minutes(90)
    row = facts_row(
        incident_reported(patients=3),
        incident_closed(at=closed_at, outcome="deceased", deceased=1),
    )

    assert (row["closed_at"], row["outcome"], row["deceased"]) == (closed_at, "deceased", 1)


def test_facts_ignore_an_incident_whose_report_was_never_seen() -> None:
    rows = replay(
        Intervals(),
        incident_triaged(),
        resource_dispatched(),
        milestone_recorded(),
        incident_closed(),
    )

    assert (rows.rows(FACTS), rows.rows(RESPONSES)) == ([], [])


# --- intervals: per response -----------------------------------------------------------------------

EN_ROUTE_AT = T0 + minutes(3)
ON_SCENE_AT = T0 + minutes(14.5)
AT_PATIENT_AT = T0 + minutes(16)
LEFT_SCENE_AT = T0 + minutes(30)
AT_DESTINATION_AT = T0 + minutes(65)
HANDED_OVER_AT = T0 + minutes(75)
BACK_IN_SERVICE_AT = T0 + minutes(110)


def full_response() -> list[Event]:
    """BOAT's whole response to the default incident, reported at T0 and dispatched at T0 + 2 min."""
    return [
        incident_reported(at=T0),
        resource_dispatched(at=DISPATCHED_AT),
        milestone_recorded(milestone="en_route", at=EN_ROUTE_AT),
        milestone_recorded(milestone="on_scene", at=ON_SCENE_AT),
        milestone_recorded(milestone="at_patient", at=AT_PATIENT_AT),
        milestone_recorded(milestone="left_scene", at=LEFT_SCENE_AT),
        milestone_recorded(milestone="at_destination", at=AT_DESTINATION_AT),
        milestone_recorded(milestone="handed_over", at=HANDED_OVER_AT),
        milestone_recorded(milestone="back_in_service", at=BACK_IN_SERVICE_AT),
    ]


def test_response_starts_at_the_dispatch_with_no_milestones_or_intervals() -> None:
    row = response_row(*dispatched_boat())

    assert (row["incident_id"], row["resource_id"], row["kind"]) == (INCIDENT, BOAT, "boat")
    assert (row["reported_at"], row["resource_notified_at"]) == (T0, DISPATCHED_AT)
    assert row["late_entries"] == 0
    assert all(row[f"{name}_at"] is None for name in ("en_route", "on_scene", "at_destination", "cancelled"))
    assert all(row[name] is None for name in ("response_seconds", "scene_seconds", "transport_seconds",
                                              "hospital_wall_seconds", "total_seconds"))


def test_response_keeps_each_milestone_time() -> None:
    row = response_row(*full_response())

    times = {name: row[f"{name}_at"] for name in (
        "en_route", "on_scene", "at_patient", "left_scene", "at_destination", "handed_over",
        "back_in_service", "cancelled",
    )}
    assert times == {
        "en_route": EN_ROUTE_AT, "on_scene": ON_SCENE_AT, "at_patient": AT_PATIENT_AT,
        "left_scene": LEFT_SCENE_AT, "at_destination": AT_DESTINATION_AT, "handed_over": HANDED_OVER_AT,
        "back_in_service": BACK_IN_SERVICE_AT, "cancelled": None,
    }


def test_response_interval_is_on_scene_minus_resource_notified() -> None:
    row = response_row(*full_response())

    assert row["response_seconds"] == seconds(minutes(14.5) - minutes(2))


def test_scene_interval_is_left_scene_minus_on_scene() -> None:
    row = response_row(*full_response())

    assert row["scene_seconds"] == seconds(minutes(30) - minutes(14.5))


def test_transport_interval_is_at_destination_minus_left_scene() -> None:
    row = response_row(*full_response())

    assert row["transport_seconds"] == seconds(minutes(35))


def test_hospital_wall_time_is_handed_over_minus_at_destination() -> None:
    row = response_row(*full_response())

    assert row["hospital_wall_seconds"] == seconds(minutes(10))


def test_total_interval_is_at_destination_minus_reported() -> None:
    row = response_row(*full_response())

    assert row["total_seconds"] == seconds(minutes(65))


def test_intervals_count_whole_seconds() -> None:
    on_scene_at = DISPATCHED_AT + minutes(12) + timedelta(seconds=7, microseconds=900_000)
    row = response_row(*dispatched_boat(), milestone_recorded(milestone="on_scene", at=on_scene_at))

    assert row["response_seconds"] == seconds(minutes(12)) + 7


def test_an_interval_stays_empty_until_both_ends_are_recorded() -> None:
    row = response_row(*dispatched_boat(), milestone_recorded(milestone="on_scene", at=ON_SCENE_AT))

    assert row["response_seconds"] == seconds(ON_SCENE_AT - DISPATCHED_AT)
    assert (row["scene_seconds"], row["transport_seconds"], row["total_seconds"]) == (None, None, None)


def test_each_resource_has_its_own_response() -> None:
    team_on_scene = T0 + minutes(6)
    rows = replay(
        Intervals(),
        *dispatched_boat(),
        resource_dispatched(resource_id=TEAM, kind="team", at=T0 + minutes(1)),
        milestone_recorded(resource_id=TEAM, milestone="on_scene", at=team_on_scene),
        milestone_recorded(milestone="on_scene", at=ON_SCENE_AT),
    )

    by_resource = {row["resource_id"]: row["response_seconds"] for row in rows.rows(RESPONSES)}
    assert by_resource == {TEAM: seconds(minutes(5)), BOAT: seconds(ON_SCENE_AT - DISPATCHED_AT)}


def test_response_counts_late_entries() -> None:
    row = response_row(
        *dispatched_boat(),
        milestone_recorded(milestone="left_scene", at=LEFT_SCENE_AT),
        milestone_recorded(milestone="en_route", at=EN_ROUTE_AT, late=True),
        milestone_recorded(milestone="on_scene", at=ON_SCENE_AT, late=True),
    )

    assert row["late_entries"] == 2


def test_a_late_entry_uses_its_stated_earlier_time_in_the_intervals() -> None:
    stated_on_scene = T0 + minutes(11)
    row = response_row(
        *dispatched_boat(),
        milestone_recorded(milestone="left_scene", at=LEFT_SCENE_AT),
        milestone_recorded(milestone="on_scene", at=stated_on_scene, late=True),
    )

    assert row["on_scene_at"] == stated_on_scene
    assert row["response_seconds"] == seconds(minutes(11) - minutes(2))
    assert row["scene_seconds"] == seconds(minutes(30) - minutes(11))


def test_response_milestone_for_a_resource_never_dispatched_is_ignored() -> None:
    rows = replay(
        Intervals(), incident_reported(), milestone_recorded(resource_id=OTHER_BOAT, milestone="on_scene")
    )

    assert rows.rows(RESPONSES) == []


def test_response_row_position_is_the_last_event_that_changed_it() -> None:
    row = response_row(
        *dispatched_boat(),                                                   # 1, 2
        milestone_recorded(milestone="en_route", at=EN_ROUTE_AT),             # 3
        incident_triaged(stage="scene", code="yellow"),                       # 4: counted yellow from now on
        note_added(),                                                         # 5
        incident_triaged(stage="dispatch", code="green"),                     # 6: the scene code still counts
    )

    assert row["position"] == 4


# --- rows of a batch: groups -----------------------------------------------------------------------


def test_a_row_group_keeps_up_with_rows_put_after_it_was_first_read_and_rows_that_move() -> None:
    rows = RowSet({("responses", "a"): {"key": "a", "incident": "x"}})
    assert rows.group("responses", "incident", "x") == [{"key": "a", "incident": "x"}]

    rows.put("responses", "b", {"key": "b", "incident": "x"}, 2)
    rows.put("responses", "a", {"key": "a", "incident": "y"}, 3)

    assert rows.group("responses", "incident", "x") == [{"key": "b", "incident": "x"}]
    assert rows.group("responses", "incident", "y") == [{"key": "a", "incident": "y"}]


# --- intervals: what a response is reported by -----------------------------------------------------


def test_response_carries_its_incidents_zone_source_and_dispatch_code() -> None:
    row = response_row(incident_reported(zone="similan", source="boat", triage="yellow"), resource_dispatched())

    assert (row["zone"], row["source"], row["triage"]) == ("similan", "boat", "yellow")


def test_response_is_reported_by_the_scene_code_once_a_crew_records_one() -> None:
    rows = replay(
        Intervals(),
        *dispatched_boat(),
        resource_dispatched(resource_id=TEAM, kind="team"),
        incident_triaged(stage="dispatch", code="yellow"),
        incident_triaged(stage="scene", code="green"),
        incident_triaged(stage="dispatch", code="white"),
    )

    assert {row["resource_id"]: row["triage"] for row in rows.rows(RESPONSES)} == {BOAT: "green", TEAM: "green"}


def test_a_dispatch_retriage_before_any_scene_code_moves_every_response() -> None:
    rows = replay(Intervals(), *dispatched_boat(), resource_dispatched(resource_id=TEAM, kind="team"),
                  incident_triaged(stage="dispatch", code="black"))

    assert {row["resource_id"]: row["triage"] for row in rows.rows(RESPONSES)} == {BOAT: "black", TEAM: "black"}


def test_a_retriage_changes_only_the_responses_of_its_incident() -> None:
    rows = replay(
        Intervals(),
        *dispatched_boat(),
        incident_reported(incident_id=OTHER_INCIDENT, triage="red"),
        resource_dispatched(incident_id=OTHER_INCIDENT, resource_id=TEAM, kind="team"),
        incident_triaged(stage="scene", code="green"),
    )

    assert {row["incident_id"]: row["triage"] for row in rows.rows(RESPONSES)} == {
        INCIDENT: "green", OTHER_INCIDENT: "red"}
