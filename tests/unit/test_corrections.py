"""An operator's corrections (decisions/incident.py): stand a unit down, move it to another incident, give a
referral another carrier or destination. Given events, when a command, then the events or the rule it breaks."""

from __future__ import annotations

import pytest

from dispatch.domain.catalogue import (
    Event,
    MilestoneRecorded,
    PatientArrivedAtFacility,
    ReferralAtRisk,
    ReferralCarrierChanged,
    ReferralDestinationChanged,
    ResourceDispatched,
    ResourceReassigned,
    ResourceStatusChanged,
    ResourceStoodDown,
)
from dispatch.domain.commands import IncidentCommand
from dispatch.domain.decisions.incident import Incident, decide, evolve
from dispatch.domain.decisions.resource import Resource
from dispatch.domain.errors import (
    IncidentAlreadyClosed,
    InvalidInput,
    NoOpenReferral,
    NotPermitted,
    ReferralNeedsDestination,
    ReferralUnchanged,
    ResourceCarriesReferral,
    ResourceNotAssigned,
    ResourceNotOnIncident,
    ResponseCompleted,
)
from dispatch.domain.policies import follow_up
from dispatch.projections.board import TABLE as BOARD
from dispatch.projections.board import Board
from dispatch.projections.intervals import RESPONSES, Intervals, response_key
from dispatch.projections.referrals import TABLE as REFERRALS
from dispatch.projections.referrals import Referrals
from tests.builders import (
    AED,
    BOAT,
    FACILITY,
    INCIDENT,
    NOW,
    OTHER_BOAT,
    OTHER_FACILITY,
    OTHER_INCIDENT,
    T0,
    TEAM,
    assigned_resource,
    available_resource,
    by_id,
    change_referral_carrier,
    change_referral_destination,
    check_referral,
    dispatch_resource,
    incident_closed,
    incident_from,
    incident_reported,
    lifeguard,
    milestone_recorded,
    minutes,
    reassign_resource,
    record_milestone,
    referral_at_risk,
    referral_carrier_changed,
    referral_destination_changed,
    referral_requested,
    resource_dispatched,
    resource_reassigned,
    resource_stood_down,
    stand_down_resource,
)
from tests.unit.test_projections import replay, stored

BOAT_ON_INCIDENT = assigned_resource()
OTHER = incident_from(incident_reported(incident_id=OTHER_INCIDENT))


def decided(command: IncidentCommand, *events: Event, resource: Resource | None = BOAT_ON_INCIDENT,
            others: dict[str, Incident | None] | None = None) -> list[Event]:
    resources = by_id(resource) if resource is not None else {}
    return decide(command, incident_from(incident_reported(), *events), resources, others)


def with_two_boats(*more: Event) -> list[Event]:
    """BOAT and OTHER_BOAT both dispatched, then `more`."""
    return [resource_dispatched(), resource_dispatched(resource_id=OTHER_BOAT, at=T0 + minutes(3)), *more]


# --- stand down ------------------------------------------------------------------------------------


def test_a_unit_stood_down_ends_its_response_and_is_available_again() -> None:
    events = decided(stand_down_resource(), resource_dispatched())

    assert events == [
        ResourceStoodDown(at=NOW, incident_id=INCIDENT, resource_id=BOAT, reason="sent by mistake"),
        ResourceStatusChanged(at=NOW, resource_id=BOAT, status="available", reason="stood down"),
    ]


def test_a_unit_stood_down_is_released_by_the_operators_correction_and_may_be_sent_again() -> None:
    incident = incident_from(incident_reported(), resource_dispatched(), resource_stood_down())

    assert incident.assignments[BOAT].released and incident.assignments[BOAT].ended_by == "stood_down"
    again = decide(dispatch_resource(at=NOW), incident, by_id(available_resource()))
    assert [event.__class__.__name__ for event in again] == ["ResourceDispatched", "ResourceStatusChanged"]


def test_a_unit_on_scene_without_the_patient_may_still_be_stood_down() -> None:
    events = decided(stand_down_resource(), resource_dispatched(), milestone_recorded(milestone="on_scene"))

    assert isinstance(events[0], ResourceStoodDown)


def test_a_unit_never_sent_to_the_incident_cannot_be_stood_down() -> None:
    with pytest.raises(ResourceNotOnIncident) as refused:
        decided(stand_down_resource(resource_id=TEAM), resource_dispatched())
    assert refused.value.field == "resource_id"


def test_a_unit_already_released_cannot_be_stood_down_again() -> None:
    with pytest.raises(ResourceNotAssigned) as refused:
        decided(stand_down_resource(), resource_dispatched(), resource_stood_down())
    assert refused.value.field == "resource_id"


def test_a_unit_that_delivered_the_patient_ends_its_response_in_service_not_stood_down() -> None:
    delivered = [resource_dispatched(), milestone_recorded(milestone="at_destination", at=T0 + minutes(15))]

    with pytest.raises(ResponseCompleted) as refused:
        decided(stand_down_resource(), *delivered)
    assert refused.value.field == "resource_id"


def test_the_named_carrier_of_an_open_referral_is_not_stood_down_until_another_is_named() -> None:
    carrying = [resource_dispatched(), referral_requested(at=T0 + minutes(4), resource_id=BOAT)]

    with pytest.raises(ResourceCarriesReferral):
        decided(stand_down_resource(), *carrying)
    changed = with_two_boats(referral_requested(at=T0 + minutes(4), resource_id=BOAT),
                             ReferralCarrierChanged(at=T0 + minutes(5), incident_id=INCIDENT,
                                                    referral_id=f"{INCIDENT}-r1", resource_id=OTHER_BOAT,
                                                    previous_resource_id=BOAT))
    assert isinstance(decided(stand_down_resource(), *changed)[0], ResourceStoodDown)


def test_standing_down_leaves_a_unit_its_own_record_has_on_another_incident_alone() -> None:
    elsewhere = assigned_resource(incident_id=OTHER_INCIDENT)

    events = decided(stand_down_resource(), resource_dispatched(), resource=elsewhere)

    assert [type(event) for event in events] == [ResourceStoodDown]


def test_a_lifeguard_cannot_stand_a_unit_down() -> None:
    with pytest.raises(NotPermitted):
        decided(stand_down_resource(actor=lifeguard()), resource_dispatched())


def test_a_closed_incident_takes_no_stand_down() -> None:
    with pytest.raises(IncidentAlreadyClosed):
        decided(stand_down_resource(), resource_dispatched(), incident_closed(at=T0 + minutes(10)))


def test_a_stand_down_reason_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        decided(stand_down_resource(reason="x" * 501), resource_dispatched())
    assert refused.value.field == "reason"


# --- reassign --------------------------------------------------------------------------------------


def test_a_reassigned_unit_leaves_this_incident_and_is_dispatched_to_the_other_in_one_decision() -> None:
    events = decided(reassign_resource(), resource_dispatched(), others={OTHER_INCIDENT: OTHER})

    assert events == [
        ResourceReassigned(at=NOW, incident_id=INCIDENT, resource_id=BOAT, to_incident_id=OTHER_INCIDENT),
        ResourceDispatched(at=NOW, incident_id=OTHER_INCIDENT, resource_id=BOAT, kind="boat",
                           from_incident_id=INCIDENT),
        ResourceStatusChanged(at=NOW, resource_id=BOAT, status="assigned", incident_id=OTHER_INCIDENT,
                              reason="reassigned"),
    ]


def test_a_unit_cannot_be_reassigned_to_the_incident_it_is_on() -> None:
    with pytest.raises(InvalidInput) as refused:
        decided(reassign_resource(to_incident_id=INCIDENT), resource_dispatched(), others={INCIDENT: None})
    assert refused.value.field == "to_incident_id"


def test_a_unit_cannot_be_reassigned_to_an_incident_that_does_not_exist() -> None:
    with pytest.raises(InvalidInput) as refused:
        decided(reassign_resource(), resource_dispatched(), others={OTHER_INCIDENT: None})
    assert refused.value.field == "to_incident_id"


def test_a_unit_cannot_be_reassigned_to_a_closed_incident() -> None:
    closed = incident_from(incident_reported(incident_id=OTHER_INCIDENT),
                           incident_closed(incident_id=OTHER_INCIDENT, at=T0 + minutes(5)))

    with pytest.raises(IncidentAlreadyClosed) as refused:
        decided(reassign_resource(), resource_dispatched(), others={OTHER_INCIDENT: closed})
    assert refused.value.field == "to_incident_id"


def test_the_named_carrier_of_an_open_referral_is_not_reassigned() -> None:
    with pytest.raises(ResourceCarriesReferral):
        decided(reassign_resource(), resource_dispatched(), referral_requested(at=T0 + minutes(4), resource_id=BOAT),
                others={OTHER_INCIDENT: OTHER})


def test_a_unit_its_own_record_has_elsewhere_is_not_moved_from_here() -> None:
    with pytest.raises(ResourceNotAssigned):
        decided(reassign_resource(), resource_dispatched(), resource=assigned_resource(incident_id="inc-third"),
                others={OTHER_INCIDENT: OTHER})


def test_a_unit_never_sent_to_the_incident_cannot_be_reassigned_from_it() -> None:
    with pytest.raises(ResourceNotOnIncident):
        decided(reassign_resource(), others={OTHER_INCIDENT: OTHER})


def test_a_lifeguard_cannot_reassign_a_unit() -> None:
    with pytest.raises(NotPermitted):
        decided(reassign_resource(actor=lifeguard()), resource_dispatched(), others={OTHER_INCIDENT: OTHER})


def test_a_reassigned_unit_is_released_here_and_active_on_the_target() -> None:
    source = incident_from(incident_reported(), resource_dispatched(), resource_reassigned())
    target = evolve(OTHER, ResourceDispatched(at=T0 + minutes(6), incident_id=OTHER_INCIDENT, resource_id=BOAT,
                                              kind="boat", from_incident_id=INCIDENT))

    assert source.assignments[BOAT].ended_by == "reassigned" and source.active_resource_ids() == []
    assert target is not None and target.active_resource_ids() == [BOAT]


# --- change a referral's carrier -------------------------------------------------------------------


def test_another_unit_on_the_incident_may_carry_the_referral_and_its_clock_keeps_running() -> None:
    requested = referral_requested(at=T0 + minutes(4), resource_id=BOAT)
    events = decided(change_referral_carrier(), *with_two_boats(requested))

    assert events == [ReferralCarrierChanged(at=NOW, incident_id=INCIDENT, referral_id=f"{INCIDENT}-r1",
                                             resource_id=OTHER_BOAT, previous_resource_id=BOAT)]
    referral = incident_from(incident_reported(), *with_two_boats(requested), *events).referrals[0]
    assert referral.resource_id == OTHER_BOAT
    assert (referral.requested_at, referral.deadline_at) == (requested.at, requested.deadline_at)


def test_the_carrier_cannot_be_changed_to_the_one_it_is() -> None:
    with pytest.raises(ReferralUnchanged) as refused:
        decided(change_referral_carrier(resource_id=BOAT), *with_two_boats(referral_requested(resource_id=BOAT)))
    assert refused.value.field == "resource_id"


def test_the_carrier_must_be_a_unit_sent_to_the_incident() -> None:
    with pytest.raises(ResourceNotOnIncident) as refused:
        decided(change_referral_carrier(), resource_dispatched(), referral_requested())
    assert refused.value.field == "resource_id"


def test_a_released_unit_cannot_carry_the_referral() -> None:
    released = with_two_boats(resource_stood_down(resource_id=OTHER_BOAT), referral_requested())

    with pytest.raises(ResourceNotAssigned):
        decided(change_referral_carrier(), *released)


def test_an_aed_carries_no_patient() -> None:
    with pytest.raises(InvalidInput) as refused:
        decided(change_referral_carrier(resource_id=AED), resource_dispatched(resource_id=AED, kind="aed"),
                referral_requested())
    assert refused.value.field == "resource_id"


def test_without_an_open_referral_there_is_no_carrier_to_change() -> None:
    with pytest.raises(NoOpenReferral):
        decided(change_referral_carrier(), *with_two_boats())
    arrived = with_two_boats(referral_requested(), PatientArrivedAtFacility(
        at=T0 + minutes(50), incident_id=INCIDENT, referral_id=f"{INCIDENT}-r1", facility_id=FACILITY))
    with pytest.raises(NoOpenReferral):
        decided(change_referral_carrier(), *arrived)


def test_a_change_naming_a_referral_that_is_no_longer_the_open_one_is_refused() -> None:
    with pytest.raises(NoOpenReferral) as refused:
        decided(change_referral_carrier(referral_id=f"{INCIDENT}-r9"), *with_two_boats(referral_requested()))
    assert refused.value.field == "referral_id"


def test_a_risk_raised_only_by_the_old_carriers_prediction_is_lifted_before_the_warning_point() -> None:
    predicted_late = referral_at_risk(at=T0 + minutes(5), reason="predicted_late")
    history = with_two_boats(referral_requested(resource_id=BOAT), predicted_late)

    [changed] = decided(change_referral_carrier(at=T0 + minutes(12)), *history)

    assert isinstance(changed, ReferralCarrierChanged) and changed.risk_lifted
    referral = incident_from(incident_reported(), *history, changed).referrals[0]
    assert not referral.at_risk and referral.status == "on_track"
    # and the new carrier's prediction decides again: late too, it is at risk again
    late_again = decide(check_referral(check="predicted", at=T0 + minutes(13), predicted_arrival_at=T0 + minutes(95)),
                        incident_from(incident_reported(), *history, changed), {})
    assert [type(event) for event in late_again] == [ReferralAtRisk]


def test_past_the_warning_point_a_referral_stays_at_risk_whatever_the_carrier() -> None:
    for risk in (referral_at_risk(), referral_at_risk(at=T0 + minutes(5), reason="predicted_late")):
        [changed] = decided(change_referral_carrier(at=T0 + minutes(61)),
                            *with_two_boats(referral_requested(resource_id=BOAT), risk))
        assert isinstance(changed, ReferralCarrierChanged) and not changed.risk_lifted


def test_a_lifeguard_cannot_change_the_carrier() -> None:
    with pytest.raises(NotPermitted):
        decided(change_referral_carrier(actor=lifeguard()), *with_two_boats(referral_requested()))


# --- change a referral's destination ---------------------------------------------------------------


def test_the_patient_may_be_sent_to_another_facility_and_arrives_there() -> None:
    history = [resource_dispatched(), referral_requested(resource_id=BOAT)]

    events = decided(change_referral_destination(), *history)

    assert events == [ReferralDestinationChanged(at=NOW, incident_id=INCIDENT, referral_id=f"{INCIDENT}-r1",
                                                 facility_id=OTHER_FACILITY, previous_facility_id=FACILITY)]
    arrival = decided(record_milestone(milestone="at_destination", at=NOW + minutes(30)), *history, *events)
    assert isinstance(arrival[0], MilestoneRecorded) and isinstance(arrival[1], PatientArrivedAtFacility)
    assert arrival[1].facility_id == OTHER_FACILITY


def test_the_destination_cannot_be_changed_to_the_one_it_is() -> None:
    with pytest.raises(ReferralUnchanged) as refused:
        decided(change_referral_destination(facility_id=FACILITY), resource_dispatched(), referral_requested())
    assert refused.value.field == "facility_id"


def test_the_destination_cannot_be_changed_to_none() -> None:
    with pytest.raises(ReferralNeedsDestination):
        decided(change_referral_destination(facility_id=" "), resource_dispatched(), referral_requested())


# --- what follows: predictions ---------------------------------------------------------------------


def test_every_correction_asks_for_a_new_prediction_of_the_incidents_it_touches() -> None:
    moved = ResourceDispatched(at=NOW, incident_id=OTHER_INCIDENT, resource_id=BOAT, kind="boat",
                               from_incident_id=INCIDENT)
    corrections = stored(referral_carrier_changed(), referral_destination_changed(),
                         resource_stood_down(), resource_reassigned(), moved)

    checks = follow_up(corrections)

    assert [(check.kind, check.incident_id) for check in checks] == [("predicted", INCIDENT)] * 4 + [
        ("predicted", OTHER_INCIDENT)]
    assert len({check.job_id for check in checks}) == 5


def test_an_ordinary_dispatch_asks_for_no_prediction() -> None:
    assert follow_up(stored(resource_dispatched())) == []


# --- the read models -------------------------------------------------------------------------------


def test_a_unit_sent_again_opens_a_second_response_row_and_leaves_the_first_as_it_ended() -> None:
    rows = replay(Intervals(), incident_reported(), resource_dispatched(),
                  milestone_recorded(milestone="on_scene", at=T0 + minutes(5)), resource_stood_down(),
                  resource_dispatched(at=T0 + minutes(12)),
                  milestone_recorded(milestone="on_scene", at=T0 + minutes(20)))

    first = rows.get(RESPONSES, response_key(INCIDENT, BOAT))
    second = rows.get(RESPONSES, response_key(INCIDENT, BOAT, 2))
    assert first is not None and second is not None
    assert (first["response_no"], first["response_seconds"], first["cancelled_at"], first["ended_by"]) == (
        1, 3 * 60, T0 + minutes(6), "stood_down")
    assert (second["response_no"], second["response_seconds"], second["ended_by"]) == (2, 8 * 60, None)


def test_a_reassigned_unit_ends_its_response_here_and_starts_one_there() -> None:
    rows = replay(Intervals(), incident_reported(), incident_reported(incident_id=OTHER_INCIDENT),
                  resource_dispatched(), resource_reassigned(),
                  ResourceDispatched(at=T0 + minutes(6), incident_id=OTHER_INCIDENT, resource_id=BOAT, kind="boat",
                                     from_incident_id=INCIDENT))

    here = rows.get(RESPONSES, response_key(INCIDENT, BOAT))
    there = rows.get(RESPONSES, response_key(OTHER_INCIDENT, BOAT))
    assert here is not None and (here["ended_by"], here["cancelled_at"]) == ("reassigned", T0 + minutes(6))
    assert there is not None and (there["response_no"], there["resource_notified_at"]) == (1, T0 + minutes(6))


def test_the_board_shows_a_stood_down_unit_released_and_a_moved_one_with_where_it_came_from() -> None:
    moved = ResourceDispatched(at=T0 + minutes(6), incident_id=OTHER_INCIDENT, resource_id=BOAT, kind="boat",
                               from_incident_id=INCIDENT)
    rows = replay(Board(), incident_reported(), incident_reported(incident_id=OTHER_INCIDENT), resource_dispatched(),
                  resource_dispatched(resource_id=TEAM, kind="team"), resource_stood_down(resource_id=TEAM),
                  resource_reassigned(), moved)

    here, there = rows.get(BOARD, INCIDENT), rows.get(BOARD, OTHER_INCIDENT)
    assert here is not None and there is not None
    assert [(a["resource_id"], a["released"], a.get("ended_by")) for a in here["assignments"]] == [
        (BOAT, True, "reassigned"), (TEAM, True, "stood_down")]
    assert [(a["resource_id"], a["released"], a.get("from_incident_id")) for a in there["assignments"]] == [
        (BOAT, False, INCIDENT)]


def test_another_carrier_drops_the_old_prediction_and_lifts_the_risk_it_alone_raised_on_board_and_tracker() -> None:
    history = (incident_reported(), resource_dispatched(), referral_requested(resource_id=BOAT),
               referral_at_risk(at=T0 + minutes(5), reason="predicted_late", predicted_arrival_at=T0 + minutes(95),
                                predicted_late_seconds=900, advice="send a faster boat"),
               referral_carrier_changed(resource_id=OTHER_BOAT, previous_resource_id=BOAT, risk_lifted=True))

    board = replay(Board(), *history).get(BOARD, INCIDENT)
    tracked = replay(Referrals(), *history).get(REFERRALS, f"{INCIDENT}-r1")

    assert board is not None and tracked is not None
    referral = board["referral"]
    assert (referral["status"], referral["resource_id"], referral["predicted_arrival_at"], referral["advice"]) == (
        "on_track", OTHER_BOAT, None, "")
    assert (tracked["status"], tracked["resource_id"], tracked["at_risk_at"], tracked["risk_reason"]) == (
        "on_track", OTHER_BOAT, None, None)
    assert tracked["deadline_at"] == T0 + minutes(80)


def test_another_destination_past_the_warning_point_keeps_the_referral_at_risk_on_the_tracker() -> None:
    history = (incident_reported(), referral_requested(), referral_at_risk(),
               referral_destination_changed(at=T0 + minutes(65)))

    tracked = replay(Referrals(), *history).get(REFERRALS, f"{INCIDENT}-r1")

    assert tracked is not None
    assert (tracked["status"], tracked["facility_id"], tracked["risk_reason"]) == (
        "at_risk", OTHER_FACILITY, "warning_point")
