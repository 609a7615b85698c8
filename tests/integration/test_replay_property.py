"""Property: whatever valid commands arrive, the state folded from what `decide` produced equals the state
replayed from the stored log, and a refused command leaves the log untouched."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.adapters.migrations.runner import upgrade
from dispatch.app.handle import handle
from dispatch.app.services import services_on
from dispatch.domain.catalogue import Event, Position
from dispatch.domain.commands import (
    AddNote,
    ChangeResourceStatus,
    CheckReferral,
    CloseIncident,
    Command,
    DispatchResource,
    RecordMilestone,
    RegisterResource,
    ReportIncident,
    ReportResourcePosition,
    RequestReferral,
    TriageIncident,
)
from dispatch.domain.decisions import incident as incident_rules
from dispatch.domain.decisions import resource as resource_rules
from dispatch.domain.errors import DispatchError
from dispatch.runtime.clock import FrozenClock
from dispatch.runtime.settings import Settings
from tests.builders import KOH_YAO_POLICY, T0, operator
from tests.servers import sqlite_engine

INCIDENTS = ["a", "b"]
RESOURCES = ["boat-1", "boat-2", "aed-1"]

incident_ids = st.sampled_from(INCIDENTS)
resource_ids = st.sampled_from(RESOURCES)
positions = st.builds(Position, lat=st.floats(7.5, 9.6), lon=st.floats(97.5, 99.0))
milestones = st.sampled_from(["en_route", "on_scene", "at_patient", "left_scene", "at_destination",
                              "handed_over", "back_in_service", "cancelled"])

# Each strategy gives a function of the current time, so commands carry the clock's `at`.
command_makers = st.one_of(
    st.builds(lambda i, p, t: lambda at: ReportIncident(actor=operator(), at=at, incident_id=i, source="beach",
                                                        position=p, zone="koh_yao", triage=t, category="trauma"),
              incident_ids, positions, st.sampled_from(["red", "yellow", "green"])),
    st.builds(lambda r: lambda at: RegisterResource(actor=operator(), at=at, resource_id=r,
                                                    kind="aed" if r.startswith("aed") else "boat",
                                                    name=r, speed_knots=None if r.startswith("aed") else 25.0),
              resource_ids),
    st.builds(lambda i, s, c: lambda at: TriageIncident(actor=operator(), at=at, incident_id=i, stage=s, code=c),
              incident_ids, st.sampled_from(["dispatch", "scene"]), st.sampled_from(["red", "yellow", "white"])),
    st.builds(lambda i, r: lambda at: DispatchResource(actor=operator(), at=at, incident_id=i, resource_id=r),
              incident_ids, resource_ids),
    st.builds(lambda i, r, m, back: lambda at: RecordMilestone(
        actor=operator(), at=at, incident_id=i, resource_id=r, milestone=m,
        happened_at=at - timedelta(minutes=back) if back is not None else None),
        incident_ids, resource_ids, milestones, st.none() | st.integers(0, 30)),
    st.builds(lambda i, f: lambda at: RequestReferral(actor=operator(), at=at, incident_id=i, facility_id=f,
                                                      policy=KOH_YAO_POLICY),
              incident_ids, st.sampled_from(["hosp_vachira_phuket", ""])),
    st.builds(lambda i, n, c: lambda at: CheckReferral(actor=operator(), at=at, incident_id=i, referral_id=f"{i}-r{n}",
                                                       check=c, predicted_arrival_at=at + timedelta(minutes=90)),
              incident_ids, st.integers(1, 2), st.sampled_from(["warning", "breach", "predicted"])),
    st.builds(lambda i, t: lambda at: AddNote(actor=operator(), at=at, incident_id=i, text=t),
              incident_ids, st.text(max_size=30)),
    st.builds(lambda i, o: lambda at: CloseIncident(actor=operator(), at=at, incident_id=i, outcome=o),
              incident_ids, st.sampled_from(["treated_on_scene", "transferred", "false_alarm"])),
    st.builds(lambda r, s: lambda at: ChangeResourceStatus(actor=operator(), at=at, resource_id=r, status=s),
              resource_ids, st.sampled_from(["available", "out_of_service"])),
    st.builds(lambda r, p: lambda at: ReportResourcePosition(actor=operator(), at=at, resource_id=r, position=p),
              resource_ids, positions),
)
steps = st.lists(st.tuples(command_makers, st.integers(0, 45)), max_size=30)


def _fold_per_stream(events: list[Event]) -> dict[str, Any]:
    streams: dict[str, list[Event]] = {}
    for event in events:
        streams.setdefault(event.stream_id, []).append(event)
    return {
        stream: (incident_rules.fold(items) if stream.startswith("incident-") else resource_rules.fold(items))
        for stream, items in streams.items()
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_state_from_decisions_equals_state_replayed_from_the_log(plan: list[tuple[Any, int]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        engine = sqlite_engine(Path(directory))
        upgrade(engine)
        clock = FrozenClock(T0)
        services = services_on(engine, Settings(), clock)
        decided: list[Event] = []
        for make, minutes in plan:
            clock.advance(timedelta(minutes=minutes))
            command: Command = make(clock.now())
            head = services.store.head()
            try:
                decided.extend(stored.event for stored in handle(command, services).events)
            except DispatchError:
                assert services.store.head() == head, "a refused command must leave nothing in the log"

        replayed = [stored.event for stored in services.store.read_all(limit=10_000)]
        assert replayed == decided
        assert _fold_per_stream(replayed) == _fold_per_stream(decided)
        assert services.store.verify().intact
        _assert_domain_invariants(_fold_per_stream(replayed), replayed)
        engine.dispose()


def _assert_domain_invariants(states: dict[str, Any], events: list[Event]) -> None:
    """Rules no sequence of commands may break, whatever the order they came in."""
    closed: set[str] = set()
    for event in events:
        assert event.stream_id not in closed, f"{type(event).__name__} appended to closed {event.stream_id}"
        if type(event).__name__ == "IncidentClosed":
            closed.add(event.stream_id)
    for stream, state in states.items():
        if isinstance(state, resource_rules.Resource) and state.status == "assigned":
            # An assigned resource is on exactly the incident it says, and that incident is still open.
            incident = states[f"incident-{state.incident_id}"]
            assert not incident.closed, f"{stream} still assigned to closed incident {state.incident_id}"
            assert not incident.assignments[state.id].released
