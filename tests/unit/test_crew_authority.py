"""Crew authority and need to know as pure rules: a lifeguard speaks only for the unit they crew, on incidents
they are on, and reads only those incidents; operators act and read everywhere."""

from __future__ import annotations

import pytest

from dispatch.domain.catalogue import MilestoneRecorded, PatientArrivedAtFacility, ResourceStatusChanged
from dispatch.domain.commands import Actor
from dispatch.domain.decisions import access
from dispatch.domain.decisions.incident import decide
from dispatch.domain.errors import IncidentNotFound, NotCrewOfResource, NotOnIncident
from tests.builders import (
    BOAT,
    FACILITY,
    INCIDENT,
    LIFEGUARD_ID,
    NOW,
    OTHER_BOAT,
    T0,
    add_note,
    assigned_resource,
    by_id,
    incident_closed,
    incident_from,
    incident_reported,
    lifeguard,
    milestone_recorded,
    minutes,
    official,
    operator,
    record_milestone,
    referral_requested,
    resource_dispatched,
)

# Nok reported the incident; the operator sent BOAT (crewed by Lek) and OTHER_BOAT (crewed by Dao), and
# referred the patient at T0 + 10 min with BOAT carrying them.
LEK = lifeguard(id="lg-lek", resource_id=BOAT)
DAO = lifeguard(id="lg-dao", resource_id=OTHER_BOAT)
TWO_BOATS = incident_from(
    incident_reported(reporter=LIFEGUARD_ID),
    resource_dispatched(resource_id=BOAT),
    resource_dispatched(resource_id=OTHER_BOAT),
    milestone_recorded(resource_id=BOAT, milestone="left_scene", at=T0 + minutes(12)),
    referral_requested(at=T0 + minutes(10), resource_id=BOAT),
)
RESOURCES = by_id(assigned_resource(resource_id=BOAT), assigned_resource(resource_id=OTHER_BOAT))


def test_a_lifeguard_who_reported_the_incident_may_not_record_for_a_unit_they_do_not_crew() -> None:
    with pytest.raises(NotCrewOfResource) as error:
        decide(record_milestone(actor=lifeguard(id=LIFEGUARD_ID), resource_id=BOAT), TWO_BOATS, RESOURCES)

    assert (error.value.code, error.value.field) == ("not_crew_of_resource", "resource_id")


def test_a_crew_may_not_end_another_units_referral_clock() -> None:
    command = record_milestone(actor=DAO, resource_id=BOAT, milestone="at_destination")

    with pytest.raises(NotCrewOfResource):
        decide(command, TWO_BOATS, RESOURCES)


def test_a_crew_may_not_free_another_crews_boat() -> None:
    for milestone in ("back_in_service", "cancelled"):
        with pytest.raises(NotCrewOfResource):
            decide(record_milestone(actor=LEK, resource_id=OTHER_BOAT, milestone=milestone), TWO_BOATS, RESOURCES)


def test_the_crew_carrying_the_patient_ends_the_referral_clock() -> None:
    events = decide(record_milestone(actor=LEK, milestone="at_destination", at=NOW), TWO_BOATS, RESOURCES)

    assert [type(event) for event in events] == [MilestoneRecorded, PatientArrivedAtFacility]
    assert isinstance(events[1], PatientArrivedAtFacility) and events[1].facility_id == FACILITY


def test_a_crew_frees_its_own_boat() -> None:
    events = decide(record_milestone(actor=DAO, resource_id=OTHER_BOAT, milestone="cancelled", at=NOW),
                    TWO_BOATS, RESOURCES)

    assert [(type(e), e.resource_id) for e in events] == [(MilestoneRecorded, OTHER_BOAT),
                                                          (ResourceStatusChanged, OTHER_BOAT)]


def test_an_operator_records_for_any_unit() -> None:
    events = decide(record_milestone(actor=operator(), resource_id=OTHER_BOAT, milestone="back_in_service", at=NOW),
                    TWO_BOATS, RESOURCES)

    assert [type(event) for event in events] == [MilestoneRecorded, ResourceStatusChanged]


def test_a_lifeguards_note_may_name_only_the_unit_they_crew() -> None:
    with pytest.raises(NotCrewOfResource):
        decide(add_note(actor=LEK, resource_id=OTHER_BOAT), TWO_BOATS, {})

    assert decide(add_note(actor=LEK, resource_id=BOAT, text="on board"), TWO_BOATS, {})


def test_a_lifeguard_learns_nothing_of_an_incident_they_are_not_on_not_even_that_it_exists() -> None:
    stranger = lifeguard(id="lg-ploy", resource_id="KL-TEAM-9")
    closed = incident_from(incident_reported(), incident_closed())

    with pytest.raises(NotOnIncident) as unknown:
        decide(add_note(actor=stranger), None, {})
    with pytest.raises(NotOnIncident) as finished:
        decide(add_note(actor=stranger), closed, {})

    assert unknown.value.code == finished.value.code == "not_on_incident"
    assert unknown.value.message.replace(INCIDENT, "") == finished.value.message.replace(INCIDENT, "")
    with pytest.raises(IncidentNotFound):  # an operator is told plainly
        decide(add_note(actor=operator()), None, {})


@pytest.mark.parametrize(("actor", "may_read"), [
    (lifeguard(id=LIFEGUARD_ID), True),           # reported it
    (lifeguard(id="lg-lek", resource_id=BOAT), True),   # crews a unit sent to it
    (lifeguard(id="lg-ploy", resource_id="KL-TEAM-9"), False),
    (lifeguard(id="lg-ploy"), False),             # crews no unit at all
    (operator(), True), (official(), True), (Actor(id="admin", role="admin"), True),
], ids=["reporter", "crew", "stranger", "no-unit", "operator", "official", "admin"])
def test_only_those_on_an_incident_read_its_patient_details_among_lifeguards(actor: Actor, may_read: bool) -> None:
    assert access.may_read_incident(actor, LIFEGUARD_ID, [BOAT]) is may_read
