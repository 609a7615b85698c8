"""A command says which streams its decision reads, so handle reads and version-checks each of them."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

from dispatch.domain.commands import (
    Actor,
    AddNote,
    Command,
    DispatchResource,
    IncidentCommand,
    ReassignResource,
    RecordMilestone,
    RequestReferral,
    ResourceCommand,
    StreamCommand,
    UpdateResource,
)

OPERATOR = Actor(id="op-1", role="operator")
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _all_commands(kind: type[Command] = Command) -> list[type[Command]]:
    return [sub for direct in kind.__subclasses__() for sub in (direct, *_all_commands(direct))]


def test_every_command_is_about_an_incident_a_resource_or_streams_it_names() -> None:
    for kind in _all_commands():
        assert issubclass(kind, IncidentCommand | ResourceCommand | StreamCommand), kind.__name__
        if issubclass(kind, StreamCommand) and kind is not StreamCommand:
            assert kind.streams is not StreamCommand.streams, f"{kind.__name__} names no streams"


def test_a_command_that_names_a_resource_reads_its_stream_after_its_subject() -> None:
    stamp = {"actor": OPERATOR, "at": T0}
    assert DispatchResource(**stamp, incident_id="i1", resource_id="KY-01").streams() == (
        "incident-i1", "resource-KY-01")
    assert RecordMilestone(**stamp, incident_id="i1", resource_id="KY-01", milestone="arrived_scene").streams() == (
        "incident-i1", "resource-KY-01")
    assert RequestReferral(**stamp, incident_id="i1", facility_id="h", resource_id="KY-01").streams()[1:] == (
        "resource-KY-01",)


def test_an_optional_resource_left_out_adds_no_stream() -> None:
    assert AddNote(actor=OPERATOR, at=T0, incident_id="i1", text="calm sea").streams() == ("incident-i1",)
    assert RequestReferral(actor=OPERATOR, at=T0, incident_id="i1", facility_id="h").streams() == ("incident-i1",)


def test_a_resource_command_is_about_its_resource() -> None:
    update = UpdateResource(actor=OPERATOR, at=T0, resource_id="KY-01", status="available")
    assert update.streams() == ("resource-KY-01",) and update.subject_id == "KY-01"


def test_every_incident_command_that_names_a_unit_reads_that_unit() -> None:
    for kind in _all_commands(IncidentCommand):
        if "resource_id" in {f.name for f in fields(kind)}:
            assert kind.resources is not IncidentCommand.resources, kind.__name__


def test_a_reassignment_reads_both_incidents_and_the_unit() -> None:
    reassign = ReassignResource(actor=OPERATOR, at=T0, incident_id="i1", resource_id="KY-01", to_incident_id="i2")
    assert reassign.streams() == ("incident-i1", "incident-i2", "resource-KY-01")
