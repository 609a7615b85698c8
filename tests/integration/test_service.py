"""handle(command): read -> decide -> append, over a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from dispatch.adapters.eventlog.store import Append, AppendResult, EventStore, ForwardingStore, StreamWrite
from dispatch.app.handle import handle
from dispatch.app.services import Services
from dispatch.domain.catalogue import Position, ResourcePositionReported, ResourceStatusChanged
from dispatch.domain.commands import (
    Actor,
    CloseIncident,
    DispatchResource,
    RecordMilestone,
    RegisterResource,
    ReportIncident,
    ReportResourcePosition,
)
from dispatch.domain.errors import ConcurrencyConflict, DispatchError, ResourceUnavailable
from dispatch.runtime.clock import FrozenClock

OPERATOR = Actor(id="op-1", role="operator")
LIFEGUARD = Actor(id="lg-1", role="lifeguard")
KHAO_LAK = Position(lat=8.6436, lon=98.2478)


def report(services: Services, incident_id: str = "inc-1", **overrides: Any) -> AppendResult:
    fields: dict[str, Any] = dict(
        actor=LIFEGUARD, at=services.clock.now(), incident_id=incident_id, source="beach", position=KHAO_LAK,
        zone="khao_lak_coast", triage="red", category="drowning",
    )
    return handle(ReportIncident(**(fields | overrides)), services)


def register_boat(services: Services, resource_id: str = "KL-BOAT-1") -> None:
    handle(RegisterResource(actor=OPERATOR, at=services.clock.now(), resource_id=resource_id, kind="boat",
                            name="Khao Lak rescue boat", speed_knots=25.0), services)


def dispatch(services: Services, incident_id: str = "inc-1", resource_id: str = "KL-BOAT-1",
             command_id: str | None = None) -> AppendResult:
    return handle(DispatchResource(actor=OPERATOR, at=services.clock.now(), incident_id=incident_id,
                                   resource_id=resource_id, command_id=command_id), services)


def test_every_event_records_the_actor_and_command(services: Services) -> None:
    result = report(services, command_id="form-123")

    meta = services.store.read_stream("incident-inc-1")[0].meta
    assert result.events[0].type == "IncidentReported"
    assert (meta.actor_id, meta.role, meta.command_id) == ("lg-1", "lifeguard", "form-123")


def test_dispatch_appends_to_incident_and_boat_in_one_transaction(services: Services) -> None:
    report(services)
    register_boat(services)

    result = dispatch(services)

    assert [(e.stream_id, e.type) for e in result.events] == [
        ("incident-inc-1", "ResourceDispatched"), ("resource-KL-BOAT-1", "ResourceStatusChanged")
    ]
    assert result.events[0].position + 1 == result.events[1].position


def test_a_retried_command_returns_the_first_answer_even_when_it_would_now_be_refused(services: Services) -> None:
    report(services)
    register_boat(services)
    first = dispatch(services, command_id="op-click-1")
    head = services.store.head()

    # Sent again (the answer was lost): the boat is now assigned, so deciding afresh would refuse it.
    again = dispatch(services, command_id="op-click-1")

    assert again.replayed and [e.position for e in again.events] == [e.position for e in first.events]
    assert services.store.head() == head
    with pytest.raises(ResourceUnavailable):
        dispatch(services, command_id="op-click-2")


class SneakyStore(ForwardingStore):
    """A real store that lets another writer append just before our first append: a real race, made certain."""

    def __init__(self, inner: EventStore, sneak: StreamWrite) -> None:
        super().__init__(inner)
        self.sneak: StreamWrite | None = sneak

    def append_batch(self, appends: Sequence[Append]) -> list[AppendResult | DispatchError]:
        if self.sneak is not None:
            sneak, self.sneak = self.sneak, None
            self.inner.append_many([sneak])
        return super().append_batch(appends)


def test_a_conflict_is_retried_once_when_the_command_is_still_valid(services: Services) -> None:
    report(services)
    register_boat(services)
    position = ResourcePositionReported(at=services.clock.now(), resource_id="KL-BOAT-1", position=KHAO_LAK)
    services.store = SneakyStore(services.store, StreamWrite("resource-KL-BOAT-1", [position], 1))

    result = dispatch(services)

    assert [e.type for e in result.events] == ["ResourceDispatched", "ResourceStatusChanged"]
    assert result.events[1].version == 3  # after the position report that slipped in


def test_a_conflict_that_makes_the_command_invalid_gives_the_rule_it_breaks(services: Services) -> None:
    report(services)
    register_boat(services)
    broke_down = ResourceStatusChanged(at=services.clock.now(), resource_id="KL-BOAT-1", status="out_of_service")
    services.store = SneakyStore(services.store, StreamWrite("resource-KL-BOAT-1", [broke_down], 1))

    with pytest.raises(ResourceUnavailable):
        dispatch(services)
    assert services.store.read_stream("incident-inc-1")[-1].type == "IncidentReported"


def test_a_client_stated_version_that_is_stale_is_a_conflict_not_a_retry(services: Services) -> None:
    register_boat(services)
    handle(ReportResourcePosition(actor=OPERATOR, at=services.clock.now(), resource_id="KL-BOAT-1",
                                  position=KHAO_LAK), services)

    with pytest.raises(ConcurrencyConflict) as raised:
        handle(ReportResourcePosition(actor=OPERATOR, at=services.clock.now(), resource_id="KL-BOAT-1",
                                      position=KHAO_LAK, expected_version=1), services)
    assert raised.value.current_version == 2


def test_closing_releases_the_boat_for_the_next_incident(services: Services, clock: FrozenClock) -> None:
    report(services, "inc-1")
    report(services, "inc-2")
    register_boat(services)
    dispatch(services, "inc-1")
    clock.advance(timedelta(minutes=9))
    handle(RecordMilestone(actor=OPERATOR, at=clock.now(), incident_id="inc-1", resource_id="KL-BOAT-1",
                           milestone="on_scene"), services)

    handle(CloseIncident(actor=OPERATOR, at=clock.now(), incident_id="inc-1", outcome="treated_on_scene"),
           services)
    result = dispatch(services, "inc-2")

    assert result.events[1].event == ResourceStatusChanged(
        at=clock.now(), resource_id="KL-BOAT-1", status="assigned", incident_id="inc-2", reason="dispatched"
    )
