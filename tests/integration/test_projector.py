"""The projector: rows and checkpoint move together, a rebuild reproduces the live rows, time travel works."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from dispatch.adapters.schema import metadata
from dispatch.app.handle import handle
from dispatch.app.services import Services
from dispatch.domain.catalogue import Position
from dispatch.domain.commands import Command
from dispatch.domain.envelope import StoredEvent
from dispatch.projections import all_projections
from dispatch.projections.board import Board
from dispatch.projections.queries import board_as_of, current_board
from dispatch.projections.rows import Change, RowSet
from dispatch.projections.runner import Projector
from dispatch.runtime.clock import FrozenClock
from tests.builders import (
    add_note,
    close_incident,
    dispatch_resource,
    operator,
    record_milestone,
    register_resource,
    report_incident,
    request_referral,
    triage_incident,
)

VIEWS = ("board_incidents", "resources_view", "referrals_view", "incident_facts", "response_intervals",
         "projection_checkpoints")


def busy_morning(services: Services, clock: FrozenClock, incidents: int = 6) -> None:
    """A few incidents with dispatches, milestones, notes, a Koh Yao referral and closures."""
    def run(command: Command) -> None:
        handle(command, services)

    for n in range(3):
        run(register_resource(at=clock.now(), resource_id=f"boat-{n}", name=f"Boat {n}"))
    for n in range(incidents):
        incident, boat = f"inc-{n}", f"boat-{n}"
        clock.advance(timedelta(minutes=3))
        run(report_incident(actor=operator(), at=clock.now(), incident_id=incident, source="beach",
                            position=Position(lat=8.0 + n / 100, lon=98.59), triage=("red", "yellow", "green")[n % 3]))
        run(add_note(at=clock.now(), incident_id=incident, text=f"note {n}"))
        if n < 3:
            run(dispatch_resource(at=clock.now(), incident_id=incident, resource_id=boat))
            clock.advance(timedelta(minutes=7))
            run(record_milestone(at=clock.now(), incident_id=incident, resource_id=boat, milestone="on_scene"))
            run(triage_incident(at=clock.now(), incident_id=incident, stage="scene", code="yellow"))
    run(request_referral(at=clock.now(), incident_id="inc-0", facility_id="hosp_vachira_phuket", resource_id="boat-0"))
    run(close_incident(at=clock.now(), incident_id="inc-1", outcome="treated_on_scene"))


def snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    with engine.connect() as db:
        return {name: sorted((dict(row) for row in db.execute(select(metadata.tables[name])).mappings()),
                             key=repr) for name in VIEWS}


def test_a_rebuild_gives_exactly_the_rows_the_live_projector_built(
    services: Services, clock: FrozenClock, engine: Engine
) -> None:
    projector = Projector(services.store, all_projections(), batch_size=3)
    busy_morning(services, clock)
    projector.catch_up_all()  # live: small batches as events came
    live = snapshot(engine)

    replayed = projector.rebuild()

    assert replayed == services.store.head()
    assert snapshot(engine) == live
    assert len(live["board_incidents"]) == 6 and len(live["response_intervals"]) == 3


def test_a_triage_after_the_responses_were_projected_moves_every_one_of_them(
    services: Services, clock: FrozenClock, engine: Engine
) -> None:
    projector = Projector(services.store, all_projections())
    busy_morning(services, clock, incidents=2)  # inc-0: red, boat-0 on scene, then the scene code yellow
    handle(dispatch_resource(at=clock.now(), incident_id="inc-0", resource_id="boat-2"), services)
    projector.catch_up_all()

    handle(triage_incident(at=clock.now(), incident_id="inc-0", stage="scene", code="red"), services)
    projector.catch_up_all()  # a batch of the triage alone: the responses come from the database

    live = snapshot(engine)
    assert {row["response_id"]: row["triage"] for row in live["response_intervals"]} == {
        "inc-0/boat-0": "red", "inc-0/boat-2": "red", "inc-1/boat-1": "yellow"}
    projector.rebuild()
    assert snapshot(engine) == live


class CrashingBoard(Board):
    """The board, except that the process 'dies' when it reaches a given position."""

    def __init__(self, crash_at: int) -> None:
        self.crash_at = crash_at

    def apply(self, rows: RowSet, stored: StoredEvent) -> None:
        if stored.position == self.crash_at:
            raise SystemExit("projector killed")
        super().apply(rows, stored)


def test_a_crash_between_events_neither_loses_nor_double_counts(
    services: Services, clock: FrozenClock, engine: Engine
) -> None:
    busy_morning(services, clock)
    head = services.store.head()
    board = Board()
    while Projector(services.store, [board], batch_size=4).catch_up([board], until=head // 2).read:
        pass
    before = snapshot(engine)

    with pytest.raises(SystemExit):
        Projector(services.store, [CrashingBoard(crash_at=head // 2 + 3)], batch_size=8).catch_up_all()

    assert snapshot(engine) == before, "a crashed batch must leave rows and checkpoint as they were"
    Projector(services.store, [Board()], batch_size=8).catch_up_all()
    notes = {row["incident_id"]: row["notes"] for row in snapshot(engine)["board_incidents"]}
    assert notes == {f"inc-{n}": 1 for n in range(6)}


def test_changes_are_published_in_log_order_across_views(services: Services, clock: FrozenClock) -> None:
    published: list[Change] = []
    busy_morning(services, clock, incidents=3)

    Projector(services.store, all_projections(), batch_size=5, publish=published.extend).catch_up_all()

    positions = [change.position for change in published]
    assert positions == sorted(positions) and positions[-1] == services.store.head()


def test_a_starting_projector_first_tells_boards_to_reload(services: Services, clock: FrozenClock) -> None:
    # given a log the previous projector may have committed without publishing (it was killed in between)
    busy_morning(services, clock, incidents=2)
    published: list[Change] = []
    stop = threading.Event()

    def publish(changes: list[Change]) -> None:
        published.extend(changes)
        stop.set()

    # when a projector starts, then its first message is a resync, before any batch
    Projector(services.store, all_projections(), publish=publish).run(stop, wait_seconds=0.01)
    assert [(change.view, change.key) for change in published] == [("*", "resync")]


def test_the_board_as_of_a_position_is_the_board_the_operator_saw_then(
    services: Services, clock: FrozenClock, engine: Engine
) -> None:
    projector = Projector(services.store, all_projections())
    busy_morning(services, clock, incidents=3)
    projector.catch_up_all()
    seen_then = current_board(engine, clock.now())
    handle(close_incident(at=clock.now(), incident_id="inc-0", outcome="transferred"), services)
    handle(triage_incident(at=clock.now(), incident_id="inc-2", stage="dispatch", code="red"), services)
    projector.catch_up_all()

    then = board_as_of(services.store, seen_then["position"], clock.now())

    assert then["incidents"] == seen_then["incidents"]
    assert [row["incident_id"] for row in current_board(engine, clock.now())["incidents"]] == ["inc-2"]


def test_a_second_projector_waits_for_the_first(services: Services) -> None:
    first = Projector(services.store, all_projections())
    second = Projector(services.store, all_projections())
    entered = threading.Event()

    def try_second() -> None:
        with second.leadership():
            entered.set()

    with first.leadership():
        waiter = threading.Thread(target=try_second)
        waiter.start()
        assert not entered.wait(timeout=0.5), "the second projector must not run beside the first"
    assert entered.wait(timeout=10)
    waiter.join()


def test_a_waiting_projector_told_to_stop_gives_up_without_leading(services: Services) -> None:
    first = Projector(services.store, all_projections())
    second = Projector(services.store, all_projections())
    stop = threading.Event()
    outcome: list[bool] = []

    def wait_then_stop() -> None:
        with second.leadership(stop) as leading:
            outcome.append(leading)

    with first.leadership():
        waiter = threading.Thread(target=wait_then_stop)
        waiter.start()
        stop.set()
        waiter.join(timeout=10)

    assert outcome == [False], "a stopped projector must not lead, and must not hang waiting"
