"""Resource rules (DESIGN.md §1, §6): given events, when a command, then the events or the error."""

from __future__ import annotations

import pytest

from dispatch.domain.catalogue import ResourcePositionReported, ResourceRegistered, ResourceStatusChanged
from dispatch.domain.commands import ResourceCommand
from dispatch.domain.decisions.resource import decide
from dispatch.domain.errors import InvalidInput, ResourceAlreadyExists, ResourceNotFound
from tests.builders import (
    AED,
    BOAT,
    HEALTH_UNIT,
    INCIDENT,
    NOW,
    PIER,
    SITE,
    T0,
    TEAM,
    assigned_resource,
    available_resource,
    change_resource_status,
    minutes,
    out_of_service_resource,
    register_resource,
    report_resource_position,
    resource_from,
    resource_position_reported,
    resource_registered,
    resource_status_changed,
)

# --- register --------------------------------------------------------------------------------------


def test_registering_a_boat_records_it_with_its_speed() -> None:
    command = register_resource(resource_id=BOAT, kind="boat", speed_knots=25.0, position=PIER, at=T0)

    events = decide(command, None)

    assert events == [
        ResourceRegistered(
            at=T0, resource_id=BOAT, kind="boat", name=command.name, subtype=command.subtype,
            speed_knots=25.0, position=PIER, home_site_id=SITE, zone="koh_yao",
        )
    ]


def test_a_registered_resource_is_available() -> None:
    resource = resource_from(*decide(register_resource(at=T0), None))

    assert (resource.status, resource.status_since, resource.incident_id) == ("available", T0, None)


@pytest.mark.parametrize("kind, resource_id", [("aed", AED), ("team", TEAM)])
def test_an_aed_or_a_team_is_registered_without_a_speed(kind: str, resource_id: str) -> None:
    events = decide(register_resource(resource_id=resource_id, kind=kind, speed_knots=None, subtype=""), None)

    assert len(events) == 1 and isinstance(events[0], ResourceRegistered)
    assert (events[0].kind, events[0].speed_knots) == (kind, None)


def test_registering_a_resource_twice_is_refused() -> None:
    resource = available_resource(resource_id=BOAT)

    with pytest.raises(ResourceAlreadyExists) as error:
        decide(register_resource(resource_id=BOAT, at=NOW), resource)

    assert error.value.field == "id"  # the API's ResourceIn names it `id`


@pytest.mark.parametrize("speed_knots", [None, 0.0, -5.0])
def test_a_boat_needs_a_speed_above_zero(speed_knots: float | None) -> None:
    with pytest.raises(InvalidInput) as error:
        decide(register_resource(kind="boat", speed_knots=speed_knots), None)

    assert error.value.field == "speed_knots"


@pytest.mark.parametrize("kind, resource_id", [("aed", AED), ("team", TEAM)])
def test_only_boats_have_a_speed(kind: str, resource_id: str) -> None:
    with pytest.raises(InvalidInput) as error:
        decide(register_resource(resource_id=resource_id, kind=kind, speed_knots=6.0), None)

    assert error.value.field == "speed_knots"


# --- status ----------------------------------------------------------------------------------------


def test_taking_a_resource_out_of_service_records_the_change() -> None:
    resource = available_resource(resource_id=BOAT)

    command = change_resource_status(status="out_of_service", reason="engine failure", at=NOW)
    events = decide(command, resource)

    assert events == [
        ResourceStatusChanged(at=NOW, resource_id=BOAT, status="out_of_service", reason="engine failure")
    ]
    after = resource_from(resource_registered(resource_id=BOAT), *events)
    assert (after.status, after.status_since) == ("out_of_service", NOW)


def test_a_resource_back_from_repair_is_available_again() -> None:
    resource = out_of_service_resource(resource_id=BOAT)

    events = decide(change_resource_status(status="available", reason="engine repaired", at=NOW), resource)

    assert events == [
        ResourceStatusChanged(at=NOW, resource_id=BOAT, status="available", reason="engine repaired")
    ]


@pytest.mark.parametrize("status", ["available", "out_of_service"])
def test_changing_a_resource_to_the_status_it_has_changes_nothing(status: str) -> None:
    resource = available_resource() if status == "available" else out_of_service_resource()

    assert decide(change_resource_status(status=status), resource) == []


def test_a_resource_taken_out_of_service_during_a_mission_leaves_its_incident() -> None:
    resource = assigned_resource(INCIDENT, resource_id=BOAT)

    events = decide(change_resource_status(status="out_of_service", at=NOW), resource)

    after = resource_from(
        resource_registered(resource_id=BOAT),
        resource_status_changed(resource_id=BOAT, status="assigned", incident_id=INCIDENT),
        *events,
    )
    assert (after.status, after.incident_id) == ("out_of_service", None)


# --- position --------------------------------------------------------------------------------------


def test_a_position_report_moves_the_resource() -> None:
    resource = available_resource(resource_id=BOAT, position=PIER)

    events = decide(report_resource_position(position=HEALTH_UNIT, at=NOW), resource)

    assert events == [ResourcePositionReported(at=NOW, resource_id=BOAT, position=HEALTH_UNIT)]
    after = resource_from(resource_registered(resource_id=BOAT, position=PIER), *events)
    assert (after.position, after.position_at) == (HEALTH_UNIT, NOW)


def test_a_position_report_leaves_the_status_as_it_was() -> None:
    resource = resource_from(
        resource_registered(resource_id=BOAT),
        resource_status_changed(resource_id=BOAT, status="assigned", incident_id=INCIDENT),
        resource_position_reported(resource_id=BOAT, at=T0 + minutes(10)),
    )

    assert (resource.status, resource.incident_id) == ("assigned", INCIDENT)


# --- unknown resources -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [change_resource_status(), report_resource_position()],
    ids=lambda command: type(command).__name__,
)
def test_a_command_on_an_unregistered_resource_is_refused_as_not_found(command: ResourceCommand) -> None:
    with pytest.raises(ResourceNotFound) as error:
        decide(command, None)

    assert error.value.field == "resource_id"
