"""Incident rules (DESIGN.md §1, §3, §6): given events, when a command, then the events or the error."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dispatch.domain.catalogue import (
    Event,
    IncidentClosed,
    IncidentReported,
    IncidentTriaged,
    MilestoneRecorded,
    NoteAdded,
    PatientArrivedAtFacility,
    PatientHandedOver,
    ReferralAtRisk,
    ReferralBreached,
    ReferralRequested,
    ResourceDispatched,
    ResourceStatusChanged,
)
from dispatch.domain.commands import IncidentCommand
from dispatch.domain.decisions.incident import decide
from dispatch.domain.errors import (
    IncidentAlreadyClosed,
    IncidentAlreadyExists,
    IncidentNotFound,
    InvalidInput,
    InvalidTime,
    MilestoneAlreadyRecorded,
    MilestoneOutOfOrder,
    NotPermitted,
    ReferralAlreadyOpen,
    ReferralNeedsDestination,
    ResourceAlreadyOnIncident,
    ResourceNotAssigned,
    ResourceNotFound,
    ResourceUnavailable,
)
from dispatch.domain.vocabulary import MAX_NOTE_LENGTH, MAX_PATIENTS, Milestone
from tests.builders import (
    BOAT,
    DISPATCHED_AT,
    FACILITY,
    HEALTH_UNIT,
    INCIDENT,
    KOH_YAO_POLICY,
    LIFEGUARD_ID,
    NOW,
    OTHER_BOAT,
    OTHER_INCIDENT,
    PIER,
    SITE,
    T0,
    TEAM,
    add_note,
    assigned_resource,
    available_resource,
    by_id,
    check_referral,
    close_incident,
    dispatch_resource,
    incident_closed,
    incident_from,
    incident_reported,
    incident_triaged,
    lifeguard,
    milestone_recorded,
    minutes,
    operator,
    out_of_service_resource,
    patient_arrived_at_facility,
    patient_handed_over,
    record_milestone,
    referral_at_risk,
    referral_breached,
    referral_requested,
    report_incident,
    request_referral,
    resource_dispatched,
    triage_incident,
)

REFERRAL = f"{INCIDENT}-r1"

# --- report ----------------------------------------------------------------------------------------


def test_reporting_a_new_incident_records_it_with_the_actor_as_reporter() -> None:
    command = report_incident(actor=lifeguard(id="lg-ploy"), at=T0, patients=2, language="en")

    events = decide(command, None, {})

    assert events == [
        IncidentReported(
            at=T0, incident_id=INCIDENT, source="island", position=PIER, site_id=SITE, zone="koh_yao",
            triage="red", category="drowning", patients=2, description=command.description,
            reporter="lg-ploy", language="en",
        )
    ]


def test_reporting_an_existing_incident_id_is_refused() -> None:
    incident = incident_from(incident_reported())

    with pytest.raises(IncidentAlreadyExists) as error:
        decide(report_incident(at=NOW), incident, {})

    assert error.value.field == "incident_id"


@pytest.mark.parametrize("patients", [0, -1, MAX_PATIENTS + 1])
def test_reporting_needs_between_one_and_the_maximum_patients(patients: int) -> None:
    with pytest.raises(InvalidInput) as error:
        decide(report_incident(patients=patients), None, {})

    assert error.value.field == "patients"


@pytest.mark.parametrize("patients", [1, MAX_PATIENTS])
def test_reporting_accepts_patient_counts_at_the_bounds(patients: int) -> None:
    events = decide(report_incident(patients=patients), None, {})

    assert events == [incident_reported(patients=patients)]


def test_a_command_on_an_incident_never_reported_is_refused_as_not_found() -> None:
    with pytest.raises(IncidentNotFound) as error:
        decide(add_note(), None, {})

    assert error.value.field == "incident_id"


# --- triage ----------------------------------------------------------------------------------------


def test_a_scene_code_is_kept_alongside_the_dispatch_code() -> None:
    incident = incident_from(incident_reported(triage="red"))

    events = decide(triage_incident(stage="scene", code="yellow", at=NOW), incident, {})

    assert events == [IncidentTriaged(at=NOW, incident_id=INCIDENT, stage="scene", code="yellow")]
    after = incident_from(incident_reported(triage="red"), *events)
    assert (after.dispatch_triage, after.scene_triage) == ("red", "yellow")


def test_a_revised_dispatch_code_leaves_the_scene_code_as_it_was() -> None:
    incident = incident_from(incident_reported(triage="yellow"), incident_triaged(stage="scene", code="red"))

    events = decide(triage_incident(stage="dispatch", code="red", at=NOW), incident, {})

    assert events == [IncidentTriaged(at=NOW, incident_id=INCIDENT, stage="dispatch", code="red")]
    after = incident_from(
        incident_reported(triage="yellow"), incident_triaged(stage="scene", code="red"), *events
    )
    assert (after.dispatch_triage, after.scene_triage) == ("red", "red")


def test_a_first_scene_code_equal_to_the_dispatch_code_is_still_recorded() -> None:
    incident = incident_from(incident_reported(triage="red"))

    events = decide(triage_incident(stage="scene", code="red", at=NOW), incident, {})

    assert events == [IncidentTriaged(at=NOW, incident_id=INCIDENT, stage="scene", code="red")]


def test_setting_the_dispatch_code_it_already_has_changes_nothing() -> None:
    incident = incident_from(incident_reported(triage="red"))

    assert decide(triage_incident(stage="dispatch", code="red"), incident, {}) == []


def test_setting_the_scene_code_it_already_has_changes_nothing() -> None:
    incident = incident_from(incident_reported(), incident_triaged(stage="scene", code="green"))

    assert decide(triage_incident(stage="scene", code="green"), incident, {}) == []


# --- dispatch --------------------------------------------------------------------------------------


def test_dispatching_an_available_resource_assigns_it_to_the_incident() -> None:
    incident = incident_from(incident_reported())
    boat = available_resource(resource_id=BOAT, kind="boat")

    events = decide(dispatch_resource(resource_id=BOAT, at=DISPATCHED_AT), incident, by_id(boat))

    assert events == [
        ResourceDispatched(at=DISPATCHED_AT, incident_id=INCIDENT, resource_id=BOAT, kind="boat"),
        ResourceStatusChanged(
            at=DISPATCHED_AT, resource_id=BOAT, status="assigned", incident_id=INCIDENT, reason="dispatched"
        ),
    ]


def test_a_dispatch_records_the_kind_of_resource_sent() -> None:
    incident = incident_from(incident_reported())
    team = available_resource(resource_id=TEAM, kind="team", name="Koh Yao Yai volunteers", speed_knots=None)

    events = decide(dispatch_resource(resource_id=TEAM), incident, by_id(team))

    assert [type(event) for event in events] == [ResourceDispatched, ResourceStatusChanged]
    assert isinstance(events[0], ResourceDispatched) and events[0].kind == "team"


def test_a_resource_assigned_to_another_incident_cannot_be_dispatched() -> None:
    incident = incident_from(incident_reported())
    boat = assigned_resource(OTHER_INCIDENT, resource_id=BOAT)

    with pytest.raises(ResourceUnavailable) as error:
        decide(dispatch_resource(resource_id=BOAT), incident, by_id(boat))

    assert error.value.field == "resource_id"
    assert OTHER_INCIDENT in error.value.message


def test_an_out_of_service_resource_cannot_be_dispatched() -> None:
    incident = incident_from(incident_reported())
    boat = out_of_service_resource(resource_id=BOAT)

    with pytest.raises(ResourceUnavailable) as error:
        decide(dispatch_resource(resource_id=BOAT), incident, by_id(boat))

    assert error.value.field == "resource_id"
    assert "out of service" in error.value.message
    assert INCIDENT in error.value.message


@pytest.mark.parametrize("resources", [{}, {BOAT: None}], ids=["not read", "no stream"])
def test_dispatching_an_unregistered_resource_is_refused_as_not_found(resources: dict[str, None]) -> None:
    incident = incident_from(incident_reported())

    with pytest.raises(ResourceNotFound) as error:
        decide(dispatch_resource(resource_id=BOAT), incident, resources)

    assert error.value.field == "resource_id"


def test_dispatching_a_resource_already_on_the_incident_is_refused() -> None:
    incident = incident_from(incident_reported(), resource_dispatched(resource_id=BOAT))
    boat = assigned_resource(INCIDENT, resource_id=BOAT)

    with pytest.raises(ResourceAlreadyOnIncident) as error:
        decide(dispatch_resource(resource_id=BOAT, at=NOW), incident, by_id(boat))

    assert error.value.field == "resource_id"


def test_a_resource_back_in_service_can_be_dispatched_to_the_incident_again() -> None:
    history = [
        incident_reported(),
        resource_dispatched(resource_id=BOAT),
        milestone_recorded(resource_id=BOAT, milestone="back_in_service", at=T0 + minutes(30)),
    ]
    boat = available_resource(resource_id=BOAT)
    again = T0 + minutes(40)

    events = decide(dispatch_resource(resource_id=BOAT, at=again), incident_from(*history), by_id(boat))

    assert events[0] == ResourceDispatched(at=again, incident_id=INCIDENT, resource_id=BOAT, kind="boat")
    assignment = incident_from(*history, *events).assignments[BOAT]
    assert (assignment.dispatched_at, assignment.released) == (again, False)


# --- a closed incident ------------------------------------------------------------------------------

COMMANDS_ON_A_CLOSED_INCIDENT: list[IncidentCommand] = [
    triage_incident(at=NOW),
    dispatch_resource(resource_id=OTHER_BOAT, at=NOW),
    record_milestone(resource_id=BOAT, milestone="back_in_service", at=NOW),
    request_referral(at=NOW),
    add_note(at=NOW),
    close_incident(at=NOW, outcome="cancelled"),
]


@pytest.mark.parametrize("command", COMMANDS_ON_A_CLOSED_INCIDENT, ids=lambda command: type(command).__name__)
def test_a_closed_incident_takes_no_more_commands(command: IncidentCommand) -> None:
    incident = incident_from(
        incident_reported(), resource_dispatched(resource_id=BOAT), incident_closed(at=T0 + minutes(15))
    )
    resources = by_id(available_resource(resource_id=BOAT), available_resource(resource_id=OTHER_BOAT))

    with pytest.raises(IncidentAlreadyClosed) as error:
        decide(command, incident, resources)

    assert error.value.field == "incident_id"


def test_reporting_a_closed_incident_again_is_refused_as_existing() -> None:
    incident = incident_from(incident_reported(), incident_closed(at=T0 + minutes(15)))

    with pytest.raises(IncidentAlreadyExists) as error:
        decide(report_incident(at=NOW), incident, {})

    assert error.value.field == "incident_id"


@pytest.mark.parametrize("check", ["warning", "breach", "predicted"])
def test_referral_checks_on_a_closed_incident_change_nothing(check: str) -> None:
    incident = incident_from(
        incident_reported(), referral_requested(at=T0), incident_closed(at=T0 + minutes(30))
    )
    late = T0 + minutes(120)

    command = check_referral(check=check, at=late, predicted_arrival_at=late + minutes(10))
    events = decide(command, incident, {})

    assert events == []


# --- milestones ------------------------------------------------------------------------------------


def test_milestones_recorded_in_order_are_accepted() -> None:
    history: list[Event] = [incident_reported(), resource_dispatched(resource_id=BOAT, at=DISPATCHED_AT)]
    in_order: list[Milestone] = ["en_route", "on_scene", "at_patient", "left_scene"]
    for step, milestone in enumerate(in_order, start=1):
        at = DISPATCHED_AT + minutes(5 * step)

        events = decide(record_milestone(milestone=milestone, at=at), incident_from(*history), {})

        assert events == [
            MilestoneRecorded(at=at, incident_id=INCIDENT, resource_id=BOAT, milestone=milestone)
        ]
        history.extend(events)


def test_a_milestone_may_skip_the_ones_before_it() -> None:
    incident = incident_from(incident_reported(), resource_dispatched(resource_id=BOAT))

    events = decide(record_milestone(milestone="on_scene", at=NOW), incident, {})

    assert events == [MilestoneRecorded(at=NOW, incident_id=INCIDENT, resource_id=BOAT, milestone="on_scene")]


def test_recording_the_same_milestone_twice_is_refused() -> None:
    incident = incident_from(
        incident_reported(),
        resource_dispatched(),
        milestone_recorded(milestone="en_route", at=T0 + minutes(5)),
    )

    with pytest.raises(MilestoneAlreadyRecorded) as error:
        decide(record_milestone(milestone="en_route", at=NOW), incident, {})

    assert error.value.field == "milestone"


def test_a_milestone_earlier_than_one_recorded_needs_the_time_it_happened() -> None:
    incident = incident_from(
        incident_reported(),
        resource_dispatched(),
        milestone_recorded(milestone="on_scene", at=T0 + minutes(15)),
    )

    with pytest.raises(MilestoneOutOfOrder) as error:
        decide(record_milestone(milestone="en_route", at=NOW), incident, {})

    assert error.value.field == "happened_at"


def test_a_late_entry_with_a_time_between_its_neighbours_is_recorded_as_late() -> None:
    incident = incident_from(
        incident_reported(),
        resource_dispatched(at=DISPATCHED_AT),
        milestone_recorded(milestone="on_scene", at=T0 + minutes(15)),
    )
    happened_at = T0 + minutes(5)

    events = decide(record_milestone(milestone="en_route", happened_at=happened_at, at=NOW), incident, {})

    assert events == [
        MilestoneRecorded(
            at=happened_at, incident_id=INCIDENT, resource_id=BOAT, milestone="en_route", late=True
        )
    ]


def test_a_crew_may_state_an_earlier_time_for_its_latest_milestone() -> None:
    incident = incident_from(
        incident_reported(),
        resource_dispatched(),
        milestone_recorded(milestone="en_route", at=T0 + minutes(5)),
    )
    happened_at = T0 + minutes(12)

    events = decide(record_milestone(milestone="on_scene", happened_at=happened_at, at=NOW), incident, {})

    assert events == [
        MilestoneRecorded(
            at=happened_at, incident_id=INCIDENT, resource_id=BOAT, milestone="on_scene", late=True
        )
    ]


def test_a_late_entry_before_the_milestone_that_precedes_it_is_refused() -> None:
    incident = incident_from(
        incident_reported(),
        resource_dispatched(at=DISPATCHED_AT),
        milestone_recorded(milestone="en_route", at=T0 + minutes(5)),
        milestone_recorded(milestone="at_patient", at=T0 + minutes(15)),
    )

    with pytest.raises(InvalidTime) as error:
        decide(record_milestone(milestone="on_scene", happened_at=T0 + minutes(4), at=NOW), incident, {})

    assert error.value.field == "happened_at"


def test_a_late_entry_after_the_milestone_that_follows_it_is_refused() -> None:
    incident = incident_from(
        incident_reported(),
        resource_dispatched(at=DISPATCHED_AT),
        milestone_recorded(milestone="on_scene", at=T0 + minutes(15)),
    )

    with pytest.raises(InvalidTime) as error:
        decide(record_milestone(milestone="en_route", happened_at=T0 + minutes(16), at=NOW), incident, {})

    assert error.value.field == "happened_at"


def test_a_milestone_time_in_the_future_is_refused() -> None:
    incident = incident_from(incident_reported(), resource_dispatched())

    with pytest.raises(InvalidTime) as error:
        decide(record_milestone(milestone="on_scene", happened_at=NOW + timedelta(seconds=1), at=NOW),
               incident, {})

    assert error.value.field == "happened_at"


def test_a_milestone_before_the_dispatch_is_refused() -> None:
    incident = incident_from(incident_reported(), resource_dispatched(at=DISPATCHED_AT))

    with pytest.raises(InvalidTime) as error:
        decide(record_milestone(milestone="en_route", happened_at=DISPATCHED_AT - minutes(1), at=NOW),
               incident, {})

    assert error.value.field == "happened_at"


def test_a_milestone_for_a_resource_not_dispatched_to_the_incident_is_refused() -> None:
    incident = incident_from(incident_reported(), resource_dispatched(resource_id=BOAT))

    with pytest.raises(ResourceNotAssigned) as error:
        decide(record_milestone(resource_id=OTHER_BOAT, milestone="en_route"), incident, {})

    assert error.value.field == "resource_id"


@pytest.mark.parametrize("milestone", ["reported", "resource_notified"])
def test_the_report_and_the_dispatch_are_not_recorded_as_milestones(milestone: str) -> None:
    incident = incident_from(incident_reported(), resource_dispatched())

    with pytest.raises(InvalidInput) as error:
        decide(record_milestone(milestone=milestone), incident, {})

    assert error.value.field == "milestone"


@pytest.mark.parametrize("milestone", ["back_in_service", "cancelled"])
def test_a_releasing_milestone_makes_the_resource_available_again(milestone: Milestone) -> None:
    incident = incident_from(incident_reported(), resource_dispatched(resource_id=BOAT))
    boat = assigned_resource(INCIDENT, resource_id=BOAT)

    events = decide(record_milestone(milestone=milestone, at=NOW), incident, by_id(boat))

    assert events == [
        MilestoneRecorded(at=NOW, incident_id=INCIDENT, resource_id=BOAT, milestone=milestone),
        ResourceStatusChanged(at=NOW, resource_id=BOAT, status="available", reason=milestone),
    ]


@pytest.mark.parametrize("milestone", ["back_in_service", "cancelled"])
def test_a_releasing_milestone_leaves_a_resource_since_sent_elsewhere_assigned(milestone: Milestone) -> None:
    incident = incident_from(incident_reported(), resource_dispatched(resource_id=BOAT))
    boat = assigned_resource(OTHER_INCIDENT, resource_id=BOAT)

    events = decide(record_milestone(milestone=milestone, at=NOW), incident, by_id(boat))

    assert events == [MilestoneRecorded(at=NOW, incident_id=INCIDENT, resource_id=BOAT, milestone=milestone)]


def test_no_milestones_are_recorded_for_a_resource_released_from_the_incident() -> None:
    incident = incident_from(
        incident_reported(),
        resource_dispatched(resource_id=BOAT),
        milestone_recorded(resource_id=BOAT, milestone="cancelled", at=T0 + minutes(4)),
    )

    with pytest.raises(ResourceNotAssigned) as error:
        decide(record_milestone(resource_id=BOAT, milestone="on_scene", at=NOW), incident, {})

    assert error.value.field == "resource_id"


def test_arrival_at_the_destination_with_an_open_referral_stops_the_referral_clock() -> None:
    incident = incident_from(
        incident_reported(), resource_dispatched(resource_id=BOAT), referral_requested(facility_id=FACILITY)
    )
    arrived_at = T0 + minutes(70)

    command = record_milestone(resource_id=BOAT, milestone="at_destination", at=arrived_at)
    events = decide(command, incident, {})

    assert events == [
        MilestoneRecorded(at=arrived_at, incident_id=INCIDENT, resource_id=BOAT, milestone="at_destination"),
        PatientArrivedAtFacility(
            at=arrived_at, incident_id=INCIDENT, referral_id=REFERRAL, facility_id=FACILITY, resource_id=BOAT
        ),
    ]


def test_a_late_arrival_entry_stops_the_referral_clock_at_the_stated_time() -> None:
    history = [
        incident_reported(), resource_dispatched(resource_id=BOAT), referral_requested(at=T0),
        milestone_recorded(resource_id=BOAT, milestone="left_scene", at=T0 + minutes(30)),
    ]
    arrived_at = T0 + minutes(78)

    events = decide(
        record_milestone(milestone="at_destination", happened_at=arrived_at, at=T0 + minutes(85)),
        incident_from(*history),
        {},
    )

    assert events == [
        MilestoneRecorded(
            at=arrived_at, incident_id=INCIDENT, resource_id=BOAT, milestone="at_destination", late=True
        ),
        PatientArrivedAtFacility(
            at=arrived_at, incident_id=INCIDENT, referral_id=REFERRAL, facility_id=FACILITY, resource_id=BOAT
        ),
    ]
    assert incident_from(*history, *events).referrals[0].status == "met"


def test_arrival_of_a_resource_other_than_the_referral_transport_does_not_stop_the_clock() -> None:
    incident = incident_from(
        incident_reported(),
        resource_dispatched(resource_id=BOAT),
        resource_dispatched(resource_id=TEAM, kind="team"),
        referral_requested(resource_id=BOAT),
    )

    events = decide(record_milestone(resource_id=TEAM, milestone="at_destination", at=NOW), incident, {})

    assert events == [
        MilestoneRecorded(at=NOW, incident_id=INCIDENT, resource_id=TEAM, milestone="at_destination")
    ]


def test_arrival_at_the_destination_without_a_referral_is_only_a_milestone() -> None:
    incident = incident_from(incident_reported(), resource_dispatched(resource_id=BOAT))

    events = decide(record_milestone(milestone="at_destination", at=NOW), incident, {})

    assert events == [
        MilestoneRecorded(at=NOW, incident_id=INCIDENT, resource_id=BOAT, milestone="at_destination")
    ]


def test_handover_after_arrival_is_recorded_for_the_referral() -> None:
    incident = incident_from(
        incident_reported(),
        resource_dispatched(resource_id=BOAT),
        referral_requested(facility_id=FACILITY),
        milestone_recorded(resource_id=BOAT, milestone="at_destination", at=T0 + minutes(70)),
        patient_arrived_at_facility(at=T0 + minutes(70), facility_id=FACILITY),
    )
    handed_over_at = T0 + minutes(95)

    events = decide(record_milestone(milestone="handed_over", at=handed_over_at), incident, {})

    assert events == [
        MilestoneRecorded(at=handed_over_at, incident_id=INCIDENT, resource_id=BOAT, milestone="handed_over"),
        PatientHandedOver(
            at=handed_over_at, incident_id=INCIDENT, referral_id=REFERRAL, facility_id=FACILITY,
            resource_id=BOAT,
        ),
    ]


# --- referral --------------------------------------------------------------------------------------


@pytest.mark.parametrize("facility_id", ["", "   "])
def test_a_referral_needs_a_destination_facility(facility_id: str) -> None:
    incident = incident_from(incident_reported())

    with pytest.raises(ReferralNeedsDestination) as error:
        decide(request_referral(facility_id=facility_id), incident, {})

    assert error.value.field == "facility_id"


def test_a_second_referral_while_one_is_open_is_refused() -> None:
    incident = incident_from(incident_reported(), referral_requested(at=T0))

    with pytest.raises(ReferralAlreadyOpen) as error:
        decide(request_referral(at=NOW), incident, {})

    assert error.value.field == "facility_id"


def test_a_new_referral_may_follow_one_whose_patient_arrived() -> None:
    incident = incident_from(incident_reported(), referral_requested(at=T0), patient_arrived_at_facility())

    events = decide(request_referral(at=NOW), incident, {})

    assert len(events) == 1 and isinstance(events[0], ReferralRequested)
    assert events[0].referral_id != REFERRAL


def test_a_koh_yao_referral_records_its_policy_warning_point_and_deadline() -> None:
    incident = incident_from(incident_reported(position=PIER, site_id=SITE))
    requested_at = T0 + minutes(20)

    command = request_referral(at=requested_at, facility_id=FACILITY, policy=KOH_YAO_POLICY)
    events = decide(command, incident, {})

    assert events == [
        ReferralRequested(
            at=requested_at, incident_id=INCIDENT, referral_id=REFERRAL, from_site_id=SITE,
            from_position=PIER, facility_id=FACILITY, policy=KOH_YAO_POLICY,
            warning_at=requested_at + minutes(60), deadline_at=requested_at + minutes(80),
        )
    ]


def test_a_referral_without_a_policy_has_no_deadline() -> None:
    incident = incident_from(incident_reported(zone="other"))

    events = decide(request_referral(policy=None), incident, {})

    assert len(events) == 1 and isinstance(events[0], ReferralRequested)
    assert (events[0].policy, events[0].warning_at, events[0].deadline_at) == (None, None, None)


def test_a_referral_starts_where_the_request_says_rather_than_the_incident_site() -> None:
    incident = incident_from(incident_reported(position=PIER, site_id=SITE))

    events = decide(
        request_referral(from_site_id="koh-yao-yai-health-unit", from_position=HEALTH_UNIT), incident, {}
    )

    assert len(events) == 1 and isinstance(events[0], ReferralRequested)
    assert (events[0].from_site_id, events[0].from_position) == ("koh-yao-yai-health-unit", HEALTH_UNIT)


def test_a_referral_may_name_a_transport_on_the_incident() -> None:
    incident = incident_from(incident_reported(), resource_dispatched(resource_id=BOAT))

    events = decide(request_referral(resource_id=BOAT), incident, {})

    assert len(events) == 1 and isinstance(events[0], ReferralRequested)
    assert events[0].resource_id == BOAT


@pytest.mark.parametrize("released", [False, True], ids=["never dispatched", "released"])
def test_a_referral_transport_must_be_on_the_incident(released: bool) -> None:
    history: list[Event] = [incident_reported()]
    if released:
        history += [
            resource_dispatched(resource_id=BOAT),
            milestone_recorded(resource_id=BOAT, milestone="back_in_service", at=T0 + minutes(10)),
        ]

    with pytest.raises(ResourceNotAssigned) as error:
        decide(request_referral(resource_id=BOAT), incident_from(*history), {})

    assert error.value.field == "resource_id"


# --- referral checks -------------------------------------------------------------------------------

KOH_YAO_REFERRAL = [incident_reported(), referral_requested(at=T0, policy=KOH_YAO_POLICY)]
WARNING_AT = T0 + minutes(KOH_YAO_POLICY.warning_minutes)
DEADLINE_AT = T0 + minutes(KOH_YAO_POLICY.guarantee_minutes)


def test_a_warning_check_before_the_warning_point_changes_nothing() -> None:
    incident = incident_from(*KOH_YAO_REFERRAL)

    assert decide(check_referral(check="warning", at=WARNING_AT - timedelta(seconds=1)), incident, {}) == []


@pytest.mark.parametrize("after", [timedelta(0), minutes(10)], ids=["at", "after"])
def test_a_warning_check_from_the_warning_point_puts_the_referral_at_risk(after: timedelta) -> None:
    incident = incident_from(*KOH_YAO_REFERRAL)
    now = WARNING_AT + after

    events = decide(check_referral(check="warning", at=now, advice="call the navy boat"), incident, {})

    assert events == [
        ReferralAtRisk(
            at=now, incident_id=INCIDENT, referral_id=REFERRAL, reason="warning_point",
            advice="call the navy boat",
        )
    ]


def test_the_warning_is_raised_only_once() -> None:
    history = [*KOH_YAO_REFERRAL, referral_at_risk(at=WARNING_AT, reason="warning_point")]

    command = check_referral(check="warning", at=WARNING_AT + minutes(1))

    assert decide(command, incident_from(*history), {}) == []


def test_a_breach_check_before_the_deadline_changes_nothing() -> None:
    incident = incident_from(*KOH_YAO_REFERRAL)

    assert decide(check_referral(check="breach", at=DEADLINE_AT - timedelta(seconds=1)), incident, {}) == []


def test_a_breach_check_at_the_deadline_records_the_breach() -> None:
    incident = incident_from(*KOH_YAO_REFERRAL)

    events = decide(check_referral(check="breach", at=DEADLINE_AT), incident, {})

    assert events == [
        ReferralBreached(at=DEADLINE_AT, incident_id=INCIDENT, referral_id=REFERRAL, deadline_at=DEADLINE_AT)
    ]


def test_the_breach_is_recorded_only_once() -> None:
    history = [*KOH_YAO_REFERRAL, referral_breached(at=DEADLINE_AT, deadline_at=DEADLINE_AT)]

    command = check_referral(check="breach", at=DEADLINE_AT + minutes(5))

    assert decide(command, incident_from(*history), {}) == []


@pytest.mark.parametrize("check", ["warning", "breach", "predicted"])
def test_no_check_fires_after_the_patient_arrived(check: str) -> None:
    history = [*KOH_YAO_REFERRAL, patient_arrived_at_facility(at=T0 + minutes(50))]
    late = DEADLINE_AT + minutes(10)

    command = check_referral(check=check, at=late, predicted_arrival_at=late)
    events = decide(command, incident_from(*history), {})

    assert events == []


def test_a_predicted_arrival_after_the_deadline_puts_the_referral_at_risk_early() -> None:
    incident = incident_from(*KOH_YAO_REFERRAL)
    now, predicted = T0 + minutes(20), DEADLINE_AT + minutes(12) + timedelta(seconds=30)

    events = decide(check_referral(check="predicted", at=now, predicted_arrival_at=predicted), incident, {})

    assert events == [
        ReferralAtRisk(
            at=now, incident_id=INCIDENT, referral_id=REFERRAL, reason="predicted_late",
            predicted_arrival_at=predicted,
            predicted_late_seconds=int((predicted - DEADLINE_AT).total_seconds()),
        )
    ]


@pytest.mark.parametrize("margin", [timedelta(0), minutes(5)], ids=["at the deadline", "before it"])
def test_a_predicted_arrival_by_the_deadline_changes_nothing(margin: timedelta) -> None:
    incident = incident_from(*KOH_YAO_REFERRAL)

    command = check_referral(check="predicted", predicted_arrival_at=DEADLINE_AT - margin)
    events = decide(command, incident, {})

    assert events == []


@pytest.mark.parametrize("check", ["warning", "breach", "predicted"])
def test_checks_of_a_referral_without_a_deadline_change_nothing(check: str) -> None:
    incident = incident_from(incident_reported(zone="other"), referral_requested(at=T0, policy=None))
    late = T0 + minutes(600)

    assert decide(check_referral(check=check, at=late, predicted_arrival_at=late), incident, {}) == []


def test_a_check_of_an_unknown_referral_changes_nothing() -> None:
    incident = incident_from(*KOH_YAO_REFERRAL)

    command = check_referral(referral_id="inc-unknown-r9", check="breach", at=DEADLINE_AT)

    assert decide(command, incident, {}) == []


# --- referral status -------------------------------------------------------------------------------


def test_a_new_referral_is_on_track() -> None:
    assert incident_from(*KOH_YAO_REFERRAL).referrals[0].status == "on_track"


def test_a_referral_past_its_warning_point_is_at_risk() -> None:
    incident = incident_from(*KOH_YAO_REFERRAL, referral_at_risk(at=WARNING_AT))

    assert incident.referrals[0].status == "at_risk"


def test_a_referral_whose_patient_is_still_travelling_past_the_deadline_is_breached() -> None:
    incident = incident_from(
        *KOH_YAO_REFERRAL, referral_at_risk(at=WARNING_AT), referral_breached(at=DEADLINE_AT)
    )

    assert incident.referrals[0].status == "breached"


@pytest.mark.parametrize("arrived_at", [DEADLINE_AT - minutes(10), DEADLINE_AT], ids=["before", "at"])
def test_a_referral_whose_patient_arrived_by_the_deadline_is_met(arrived_at: datetime) -> None:
    incident = incident_from(
        *KOH_YAO_REFERRAL, referral_at_risk(at=WARNING_AT), patient_arrived_at_facility(at=arrived_at)
    )

    assert incident.referrals[0].status == "met"


def test_a_referral_whose_patient_arrived_after_the_deadline_is_missed() -> None:
    incident = incident_from(
        *KOH_YAO_REFERRAL,
        referral_breached(at=DEADLINE_AT),
        patient_arrived_at_facility(at=DEADLINE_AT + minutes(1)),
    )

    assert incident.referrals[0].status == "missed"


def test_a_handover_after_the_deadline_does_not_miss_a_referral_that_arrived_in_time() -> None:
    incident = incident_from(
        *KOH_YAO_REFERRAL,
        patient_arrived_at_facility(at=DEADLINE_AT - minutes(5)),
        patient_handed_over(at=DEADLINE_AT + minutes(30)),
    )

    assert incident.referrals[0].status == "met"


# --- notes -----------------------------------------------------------------------------------------


def test_a_note_is_added_to_the_incident() -> None:
    incident = incident_from(incident_reported())

    events = decide(add_note(text="patient breathing on his own", resource_id=BOAT, at=NOW), incident, {})

    assert events == [
        NoteAdded(at=NOW, incident_id=INCIDENT, text="patient breathing on his own", resource_id=BOAT)
    ]


@pytest.mark.parametrize("text", ["", "   \n\t"], ids=["empty", "blank"])
def test_a_note_needs_some_text(text: str) -> None:
    incident = incident_from(incident_reported())

    with pytest.raises(InvalidInput) as error:
        decide(add_note(text=text), incident, {})

    assert error.value.field == "text"


def test_a_note_longer_than_the_maximum_is_refused() -> None:
    incident = incident_from(incident_reported())

    with pytest.raises(InvalidInput) as error:
        decide(add_note(text="x" * (MAX_NOTE_LENGTH + 1)), incident, {})

    assert error.value.field == "text"


def test_a_note_of_the_maximum_length_is_accepted() -> None:
    incident = incident_from(incident_reported())

    events = decide(add_note(text="x" * MAX_NOTE_LENGTH, at=NOW), incident, {})

    assert events == [NoteAdded(at=NOW, incident_id=INCIDENT, text="x" * MAX_NOTE_LENGTH)]


# --- close -----------------------------------------------------------------------------------------


def test_closing_releases_every_resource_still_assigned_to_the_incident() -> None:
    incident = incident_from(
        incident_reported(),
        resource_dispatched(resource_id=BOAT),
        resource_dispatched(resource_id=TEAM, kind="team"),
        resource_dispatched(resource_id=OTHER_BOAT),
        milestone_recorded(resource_id=OTHER_BOAT, milestone="cancelled", at=T0 + minutes(4)),
    )
    resources = by_id(
        assigned_resource(INCIDENT, resource_id=BOAT),
        assigned_resource(INCIDENT, resource_id=TEAM, kind="team", speed_knots=None),
        available_resource(resource_id=OTHER_BOAT),
    )

    command = close_incident(outcome="transferred", summary="referred to Phang Nga", at=NOW)
    events = decide(command, incident, resources)

    assert events == [
        IncidentClosed(
            at=NOW, incident_id=INCIDENT, outcome="transferred", summary="referred to Phang Nga",
            released_resource_ids=(BOAT, TEAM),
        ),
        ResourceStatusChanged(at=NOW, resource_id=BOAT, status="available", reason="incident closed"),
        ResourceStatusChanged(at=NOW, resource_id=TEAM, status="available", reason="incident closed"),
    ]


def test_closing_leaves_a_resource_since_sent_elsewhere_assigned() -> None:
    incident = incident_from(incident_reported(), resource_dispatched(resource_id=BOAT))

    command = close_incident(at=NOW)
    events = decide(command, incident, by_id(assigned_resource(OTHER_INCIDENT, resource_id=BOAT)))

    assert events == [IncidentClosed(at=NOW, incident_id=INCIDENT, outcome="transferred")]


def test_closing_an_incident_without_resources_releases_nothing() -> None:
    incident = incident_from(incident_reported())

    events = decide(close_incident(outcome="false_alarm", at=NOW), incident, {})

    assert events == [IncidentClosed(at=NOW, incident_id=INCIDENT, outcome="false_alarm")]


@pytest.mark.parametrize("deceased", [-1, 3], ids=["negative", "more than reported"])
def test_the_deceased_count_is_between_zero_and_the_patients_reported(deceased: int) -> None:
    incident = incident_from(incident_reported(patients=2))

    with pytest.raises(InvalidInput) as error:
        decide(close_incident(outcome="deceased", deceased=deceased), incident, {})

    assert error.value.field == "deceased"


def test_every_patient_reported_may_be_recorded_deceased() -> None:
    incident = incident_from(incident_reported(patients=2))

    events = decide(close_incident(outcome="deceased", deceased=2, at=NOW), incident, {})

    assert events == [IncidentClosed(at=NOW, incident_id=INCIDENT, outcome="deceased", deceased=2)]


def test_outcome_deceased_needs_the_number_of_deaths() -> None:
    incident = incident_from(incident_reported())

    with pytest.raises(InvalidInput) as error:
        decide(close_incident(outcome="deceased", deceased=0), incident, {})

    assert error.value.field == "deceased"


# --- permissions -----------------------------------------------------------------------------------


def test_a_lifeguard_may_add_a_note_to_an_incident_they_reported() -> None:
    incident = incident_from(incident_reported(reporter=LIFEGUARD_ID))

    events = decide(add_note(actor=lifeguard(id=LIFEGUARD_ID), text="family informed", at=NOW), incident, {})

    assert events == [NoteAdded(at=NOW, incident_id=INCIDENT, text="family informed")]


def test_a_lifeguard_may_record_a_milestone_for_the_unit_they_crew_on_an_incident_they_reported() -> None:
    incident = incident_from(incident_reported(reporter=LIFEGUARD_ID), resource_dispatched(resource_id=BOAT))

    command = record_milestone(actor=lifeguard(id=LIFEGUARD_ID, resource_id=BOAT), milestone="on_scene", at=NOW)
    events = decide(command, incident, {})

    assert events == [MilestoneRecorded(at=NOW, incident_id=INCIDENT, resource_id=BOAT, milestone="on_scene")]


def test_a_lifeguard_whose_team_is_assigned_may_add_notes_and_milestones() -> None:
    incident = incident_from(
        incident_reported(reporter="lg-ploy"), resource_dispatched(resource_id=TEAM, kind="team")
    )
    crew = lifeguard(id=LIFEGUARD_ID, resource_id=TEAM)

    note = decide(add_note(actor=crew, text="CPR started", at=NOW), incident, {})
    command = record_milestone(actor=crew, resource_id=TEAM, milestone="at_patient", at=NOW)
    milestone = decide(command, incident, {})

    assert note == [NoteAdded(at=NOW, incident_id=INCIDENT, text="CPR started")]
    assert milestone == [
        MilestoneRecorded(at=NOW, incident_id=INCIDENT, resource_id=TEAM, milestone="at_patient")
    ]


@pytest.mark.parametrize(
    "command",
    [add_note(actor=lifeguard(id=LIFEGUARD_ID, resource_id=TEAM)),
     record_milestone(actor=lifeguard(id=LIFEGUARD_ID, resource_id=TEAM), resource_id=BOAT)],
    ids=["note", "milestone"],
)
def test_a_lifeguard_neither_reporter_nor_assigned_may_not_touch_the_incident(
    command: IncidentCommand,
) -> None:
    incident = incident_from(incident_reported(reporter="lg-ploy"), resource_dispatched(resource_id=BOAT))

    with pytest.raises(NotPermitted) as error:
        decide(command, incident, {})

    assert error.value.field == "incident_id"


@pytest.mark.parametrize(
    "command",
    [
        triage_incident(actor=lifeguard(id=LIFEGUARD_ID, resource_id=BOAT)),
        dispatch_resource(actor=lifeguard(id=LIFEGUARD_ID, resource_id=BOAT), resource_id=OTHER_BOAT),
        request_referral(actor=lifeguard(id=LIFEGUARD_ID, resource_id=BOAT)),
        close_incident(actor=lifeguard(id=LIFEGUARD_ID, resource_id=BOAT)),
    ],
    ids=lambda command: type(command).__name__,
)
def test_a_lifeguard_may_not_triage_dispatch_refer_or_close_even_on_their_own_incident(
    command: IncidentCommand,
) -> None:
    incident = incident_from(incident_reported(reporter=LIFEGUARD_ID), resource_dispatched(resource_id=BOAT))
    resources = by_id(
        available_resource(resource_id=OTHER_BOAT), assigned_resource(INCIDENT, resource_id=BOAT)
    )

    with pytest.raises(NotPermitted):
        decide(command, incident, resources)


def test_an_operator_may_act_on_any_incident() -> None:
    incident = incident_from(incident_reported(reporter=LIFEGUARD_ID))

    events = decide(triage_incident(actor=operator(), stage="scene", code="green", at=NOW), incident, {})

    assert events == [IncidentTriaged(at=NOW, incident_id=INCIDENT, stage="scene", code="green")]


# --- command fingerprints --------------------------------------------------------------------------


def test_a_retry_of_the_same_request_has_the_same_fingerprint() -> None:
    first = dispatch_resource(resource_id=BOAT, at=NOW, command_id="c-1", correlation_id="corr-1")
    retry = dispatch_resource(
        resource_id=BOAT, at=NOW + minutes(1), command_id="c-2", correlation_id="corr-2",
        device_at=NOW - minutes(1),
    )

    assert retry.fingerprint() == first.fingerprint()


@pytest.mark.parametrize(
    "other",
    [
        dispatch_resource(resource_id=OTHER_BOAT, command_id="c-1"),
        dispatch_resource(incident_id=OTHER_INCIDENT, command_id="c-1"),
        dispatch_resource(actor=operator(id="op-malee"), command_id="c-1"),
        record_milestone(resource_id=BOAT, milestone="on_scene", command_id="c-1"),
    ],
    ids=["resource", "incident", "actor", "another command"],
)
def test_a_different_request_has_a_different_fingerprint(other: IncidentCommand) -> None:
    assert other.fingerprint() != dispatch_resource(resource_id=BOAT, command_id="c-1").fingerprint()


def test_a_fingerprint_covers_positions_policies_and_stated_times() -> None:
    referral = request_referral(from_position=HEALTH_UNIT, policy=KOH_YAO_POLICY)
    milestone = record_milestone(happened_at=NOW - minutes(3))

    assert referral.fingerprint() != request_referral(from_position=PIER, policy=KOH_YAO_POLICY).fingerprint()
    assert referral.fingerprint() != request_referral(from_position=HEALTH_UNIT, policy=None).fingerprint()
    assert milestone.fingerprint() != record_milestone(happened_at=NOW - minutes(4)).fingerprint()


def test_an_arrival_stated_before_the_referral_was_requested_is_refused() -> None:
    incident = incident_from(
        incident_reported(), resource_dispatched(at=DISPATCHED_AT),
        referral_requested(at=T0 + minutes(30), resource_id=BOAT),
    )
    with pytest.raises(InvalidTime) as raised:
        decide(record_milestone(milestone="at_destination", at=T0 + minutes(40), happened_at=T0 + minutes(25)),
               incident, by_id(assigned_resource()))
    assert raised.value.field == "happened_at"


def test_a_response_cannot_be_cancelled_after_the_patient_arrived() -> None:
    incident = incident_from(
        incident_reported(), resource_dispatched(at=DISPATCHED_AT),
        milestone_recorded(milestone="at_destination", at=T0 + minutes(30)),
    )
    with pytest.raises(MilestoneOutOfOrder):
        decide(record_milestone(milestone="cancelled", at=T0 + minutes(31)), incident, by_id(assigned_resource()))
