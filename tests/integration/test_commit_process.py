"""The committer process: a served API's commands are committed by a child process, in batches, and a child
that dies costs only the batch it held (answered 503), never an acknowledged event.

Each test starts a real child (spawned, as `dispatch api` does) over a real log, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dispatch.adapters.eventlog.store import AppendResult
from dispatch.app.commit_process import CommitProcess, decode_answers, encode_answers
from dispatch.app.handle import Answer, handle
from dispatch.app.services import Services, build_services
from dispatch.domain.catalogue import IncidentReported, incident_stream
from dispatch.domain.envelope import StoredEvent
from dispatch.domain.errors import (
    CommitterUnavailable,
    ConcurrencyConflict,
    IdempotencyKeyReused,
    IncidentNotFound,
    InvalidTime,
)
from dispatch.runtime.settings import Settings
from tests.builders import keyed_report, triage_incident
from tests.servers import POSTGRES_URL

WAIT_SECONDS = 30.0  # guards a hung test; a passing one waits for one child to start


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield Settings(data_dir=tmp_path, redis_url=None)
        return
    schema = request.getfixturevalue("postgres_schema")
    yield Settings(data_dir=tmp_path, redis_url=None,
                   database_url=f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """The API process's own view of the log (migrated, as the API migrates before its child starts)."""
    built = build_services(settings)
    yield built
    built.store.engine.dispose()


@pytest.fixture
async def committer(settings: Settings, services: Services) -> AsyncIterator[tuple[CommitProcess, list[int]]]:
    batches: list[int] = []
    process = CommitProcess(settings, on_batch=batches.append)
    await process.start()
    try:
        yield process, batches
    finally:
        await process.stop()




async def test_reports_sent_together_are_committed_by_the_child_in_one_batch(
        services: Services, committer: tuple[CommitProcess, list[int]]) -> None:
    process, batches = committer
    results = await asyncio.gather(*(process.submit(keyed_report(f"inc-{n}")) for n in range(20)))

    assert batches == [20]  # all queued before the pump's first turn: one batch, one transaction
    assert process.pid != os.getpid() and process.alive()
    positions = [result.last_position for result in results]
    assert len(set(positions)) == 20
    for n, result in enumerate(results):  # each request hears about its own incident
        (stored,) = result.events
        assert stored.stream_id == incident_stream(f"inc-{n}")
        assert isinstance(stored.event, IncidentReported) and stored.event.incident_id == f"inc-{n}"
    log = services.store.read_all()
    assert sorted(event.position for event in log) == sorted(positions)


async def test_each_command_hears_its_own_error_with_its_code_and_field(
        services: Services, committer: tuple[CommitProcess, list[int]]) -> None:
    process, _ = committer
    await process.submit(keyed_report("inc-1"))
    outcomes = await asyncio.gather(
        process.submit(keyed_report("inc-1", triage="yellow")),  # same key, another request
        process.submit(triage_incident(incident_id="inc-404", stage="dispatch", code="red")),
        process.submit(triage_incident(incident_id="inc-1", stage="dispatch", code="yellow", expected_version=7)),
        process.submit(keyed_report("inc-2")),
        return_exceptions=True,
    )

    reused, missing, conflict, fine = outcomes
    assert isinstance(reused, IdempotencyKeyReused) and reused.field == "Idempotency-Key"
    assert isinstance(missing, IncidentNotFound) and missing.field == "incident_id"
    assert isinstance(conflict, ConcurrencyConflict)
    assert (conflict.field, conflict.current_version, conflict.expected_version) == ("expected_version", 1, 7)
    assert isinstance(fine, AppendResult) and not fine.replayed


async def test_a_retry_is_answered_from_the_log_without_a_second_append(
        services: Services, committer: tuple[CommitProcess, list[int]]) -> None:
    process, _ = committer
    first = await process.submit(keyed_report("inc-1"))
    again = await process.submit(keyed_report("inc-1"))

    assert again.replayed and again.last_position == first.last_position
    assert len(services.store.read_all()) == 1


async def test_a_child_killed_while_holding_a_batch_costs_that_batch_a_503_and_a_new_child_takes_over(
        services: Services, settings: Settings) -> None:
    kill_on_batch: list[int] = []  # the child to kill as the next batch goes out to it

    def on_batch(_size: int) -> None:
        while kill_on_batch:
            os.kill(kill_on_batch.pop(), signal.SIGKILL)

    process = CommitProcess(settings, on_batch=on_batch)
    await process.start()
    try:
        acknowledged = await process.submit(keyed_report("inc-1"))
        first_child = process.pid
        assert first_child is not None
        kill_on_batch.append(first_child)

        with pytest.raises(CommitterUnavailable) as lost:
            await process.submit(keyed_report("inc-2"))
        assert lost.value.code == "committer_unavailable"
        retried = await process.submit(keyed_report("inc-2"))  # the client's retry, with the same key

        assert process.pid not in (None, first_child) and process.alive()
        assert not retried.replayed  # the dead child never committed it
        log = services.store.read_all()
        assert [event.position for event in log] == [acknowledged.last_position, retried.last_position]
    finally:
        await process.stop()


async def test_a_child_that_dies_between_batches_is_replaced_before_any_command_meets_it(
        services: Services, committer: tuple[CommitProcess, list[int]]) -> None:
    process, _ = committer
    await process.submit(keyed_report("inc-1"))
    first_child = process.pid
    assert first_child is not None and process.health() == "ok"

    os.kill(first_child, signal.SIGKILL)  # idle: no command is in flight
    await _until(lambda: process.pid != first_child and process.health() == "ok")

    # the next report goes to the new child at once: no 503, nothing for the lifeguard's phone to retry
    result = await process.submit(keyed_report("inc-2"))
    assert not result.replayed and [e.position for e in services.store.read_all()][-1] == result.last_position


def test_healthz_says_degraded_while_the_committer_restarts_and_ok_once_it_is_back(
        services: Services, settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from dispatch.entrypoints.api.app import create_app

    app = create_app(services, commits=lambda _metrics: CommitProcess(settings))
    with TestClient(app) as client:
        process: CommitProcess = app.state.commands
        first = client.get("/healthz").json()
        assert first | {"log_head": 0, "projector": None} == {
            "status": "ok", "database": "ok", "redis": "not configured", "committer": "ok", "log_head": 0,
            "projector": None}
        child = process.pid
        assert child is not None
        os.kill(child, signal.SIGKILL)
        # until the API has noticed (the kernel delivers the kill in its own time), then until it is back
        noticed = _healthz_until(client, lambda body: body["committer"] != "ok")
        seen = noticed[-1:] + _healthz_until(client, lambda body: body["committer"] == "ok")
        assert process.pid not in (None, child)

    # while no child could commit, the API said so without calling itself down: reads still answer
    restarting = seen[:-1]
    assert restarting and {(body["status"], body["committer"]) for body in restarting} == {("degraded", "restarting")}
    assert seen[-1]["status"] == "ok"


async def _until(condition: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
    """Wait on the event loop until `condition` holds (the new child takes a second or two to start)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come about"
        await asyncio.sleep(0.01)


def _healthz_until(client: Any, done: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    deadline, seen = time.monotonic() + WAIT_SECONDS, []
    while not seen or not done(seen[-1]):
        assert time.monotonic() < deadline, f"healthz never settled: {seen[-3:]}"
        seen.append(client.get("/healthz").json())
    return seen


async def test_stop_ends_the_child_and_later_commands_are_refused(services: Services, settings: Settings) -> None:
    process = CommitProcess(settings)
    await process.start()
    await process.submit(keyed_report("inc-1"))
    child = process.pid

    await process.stop()

    assert not process.alive()
    assert child is not None and not _running(child)
    with pytest.raises(CommitterUnavailable):
        await process.submit(keyed_report("inc-2"))


def test_errors_and_stored_events_cross_the_process_boundary_whole(services: Services) -> None:
    conflict = ConcurrencyConflict("incident-inc-1", 3, 5)
    result = handle(keyed_report("inc-1"), services)
    answers: list[Answer] = [conflict, InvalidTime("device_time is in the future", field="device_time"), result]

    copy, late, crossed = decode_answers(encode_answers(answers))

    assert isinstance(copy, ConcurrencyConflict) and (copy.message, copy.field, copy.current_version) == (
        conflict.message, "expected_version", 5)
    assert isinstance(late, InvalidTime)
    assert (late.field, late.code, str(late)) == ("device_time", "invalid_time", "device_time is in the future")
    assert isinstance(crossed, AppendResult) and crossed.last_versions == result.last_versions
    slots = StoredEvent.__slots__
    assert [[getattr(event, name) for name in slots] for event in crossed.events] == [
        [getattr(event, name) for name in slots] for event in result.events]



def test_an_error_that_does_not_pickle_crosses_as_what_it_said() -> None:
    class Unpicklable(Exception):  # a local class: pickle cannot name it
        pass

    (crossed,) = decode_answers(encode_answers([Unpicklable("the driver said no")]))

    assert isinstance(crossed, RuntimeError) and str(crossed) == "Unpicklable: the driver said no"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
