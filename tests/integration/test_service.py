"""handle(command): read -> decide -> append, over a real store (SQLite and PostgreSQL).

The story is tests/builders.py's: lifeguard Nok reports INCIDENT, the operator dispatches BOAT. The services'
clock is frozen at T0, so a command sent "now" is one at T0 unless a test moves the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from dispatch.adapters.eventlog.store import Append, AppendResult, EventStore, ForwardingStore, StreamWrite
from dispatch.app.handle import handle
from dispatch.app.services import Services
from dispatch.domain.catalogue import ResourcePositionReported, ResourceStatusChanged, incident_stream, resource_stream
from dispatch.domain.errors import ConcurrencyConflict, DispatchError, ResourceUnavailable
from dispatch.runtime.clock import FrozenClock
from tests.builders import (
    BOAT,
    INCIDENT,
    KHAO_LAK,
    LIFEGUARD_ID,
    OTHER_INCIDENT,
    close_incident,
    dispatch_resource,
    record_milestone,
    register_resource,
    report_incident,
    report_resource_position,
)


def reported_and_registered(services: Services, *incident_ids: str) -> None:
    """Each incident reported and BOAT registered, all at the clock's now."""
    for incident_id in incident_ids or (INCIDENT,):
        handle(report_incident(at=services.clock.now(), incident_id=incident_id), services)
    handle(register_resource(at=services.clock.now()), services)


def dispatch(services: Services, incident_id: str = INCIDENT, command_id: str | None = None) -> AppendResult:
    """The operator dispatches BOAT to `incident_id` at the clock's now."""
    return handle(dispatch_resource(at=services.clock.now(), incident_id=incident_id, command_id=command_id),
                  services)


def test_every_event_records_the_actor_and_command(services: Services) -> None:
    result = handle(report_incident(at=services.clock.now(), command_id="form-123"), services)

    meta = services.store.read_stream(incident_stream(INCIDENT))[0].meta
    assert result.events[0].type == "IncidentReported"
    assert (meta.actor_id, meta.role, meta.command_id) == (LIFEGUARD_ID, "lifeguard", "form-123")


def test_dispatch_appends_to_incident_and_boat_in_one_transaction(services: Services) -> None:
    reported_and_registered(services)

    result = dispatch(services)

    assert [(e.stream_id, e.type) for e in result.events] == [
        (incident_stream(INCIDENT), "ResourceDispatched"), (resource_stream(BOAT), "ResourceStatusChanged")
    ]
    assert result.events[0].position + 1 == result.events[1].position


def test_a_retried_command_returns_the_first_answer_even_when_it_would_now_be_refused(services: Services) -> None:
    reported_and_registered(services)
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
    reported_and_registered(services)
    position = ResourcePositionReported(at=services.clock.now(), resource_id=BOAT, position=KHAO_LAK)
    services.store = SneakyStore(services.store, StreamWrite(resource_stream(BOAT), [position], 1))

    result = dispatch(services)

    assert [e.type for e in result.events] == ["ResourceDispatched", "ResourceStatusChanged"]
    assert result.events[1].version == 3  # after the position report that slipped in


def test_a_conflict_that_makes_the_command_invalid_gives_the_rule_it_breaks(services: Services) -> None:
    reported_and_registered(services)
    broke_down = ResourceStatusChanged(at=services.clock.now(), resource_id=BOAT, status="out_of_service")
    services.store = SneakyStore(services.store, StreamWrite(resource_stream(BOAT), [broke_down], 1))

    with pytest.raises(ResourceUnavailable):
        dispatch(services)
    assert services.store.read_stream(incident_stream(INCIDENT))[-1].type == "IncidentReported"


def test_a_client_stated_version_that_is_stale_is_a_conflict_not_a_retry(services: Services) -> None:
    handle(register_resource(at=services.clock.now()), services)
    handle(report_resource_position(at=services.clock.now(), position=KHAO_LAK), services)

    with pytest.raises(ConcurrencyConflict) as raised:
        handle(report_resource_position(at=services.clock.now(), position=KHAO_LAK, expected_version=1), services)
    assert raised.value.current_version == 2


def test_closing_releases_the_boat_for_the_next_incident(services: Services, clock: FrozenClock) -> None:
    reported_and_registered(services, INCIDENT, OTHER_INCIDENT)
    dispatch(services, INCIDENT)
    clock.advance(timedelta(minutes=9))
    handle(record_milestone(at=clock.now(), milestone="on_scene"), services)

    handle(close_incident(at=clock.now(), outcome="treated_on_scene"), services)
    result = dispatch(services, OTHER_INCIDENT)

    assert result.events[1].event == ResourceStatusChanged(
        at=clock.now(), resource_id=BOAT, status="assigned", incident_id=OTHER_INCIDENT, reason="dispatched"
    )
