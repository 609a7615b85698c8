"""Group commit: commands from concurrent requests share one transaction, and each still gets its own answer.

The committing thread is held on its first batch (a real store that waits at the door of `append_batch`), so
the commands sent meanwhile are certain to queue up and be handled as one batch, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest
from sqlalchemy.exc import OperationalError

from dispatch.adapters.eventlog.store import Append, AppendResult, EventStore, ForwardingStore
from dispatch.app.group_commit import GroupCommit
from dispatch.app.services import Services
from dispatch.domain.commands import Command
from dispatch.domain.errors import DispatchError, IdempotencyKeyReused, IncidentNotFound
from tests.builders import keyed_report, triage_incident


class HeldStore(ForwardingStore):
    """A real store that records each batch's size and can hold the committing thread at its first batch."""

    def __init__(self, inner: EventStore) -> None:
        super().__init__(inner)
        self.batches: list[int] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        # (batch number, error): that batch's commit fails as a full disk or a lost connection would.
        self.failure: tuple[int, Exception] | None = None

    def append_batch(self, appends: Sequence[Append]) -> list[AppendResult | DispatchError]:
        self.batches.append(len(appends))
        self.entered.set()
        assert self.release.wait(10), "the test never released the committing thread"
        if self.failure is not None and self.failure[0] == len(self.batches):
            raise self.failure[1]
        return super().append_batch(appends)




async def submit_while_held(commit: GroupCommit, store: HeldStore, first: Command,
                            waiting: list[Command]) -> list[AppendResult | BaseException]:
    """Send `first`, wait until the committing thread holds it, send `waiting`, then let everything through."""
    first_task = asyncio.ensure_future(commit.submit(first))
    await asyncio.to_thread(store.entered.wait, 10)
    tasks = [asyncio.ensure_future(commit.submit(command)) for command in waiting]
    await asyncio.sleep(0)  # every submit has queued its command before the thread goes on
    store.release.set()
    return list(await asyncio.gather(first_task, *tasks, return_exceptions=True))


@pytest.fixture
def held(services: Services) -> HeldStore:
    services.store = HeldStore(services.store)
    return services.store


async def test_reports_sent_together_are_appended_in_one_transaction(services: Services, held: HeldStore) -> None:
    commit = GroupCommit(services)
    try:
        answers = await submit_while_held(commit, held, keyed_report("inc-0"),
                                          [keyed_report(f"inc-{n}") for n in range(1, 11)])
    finally:
        commit.close()

    assert held.batches == [1, 10]
    positions = [answer.events[0].position for answer in answers]  # type: ignore[union-attr]
    assert positions == list(range(1, 12))  # each its own place in the log, in the order they were sent
    assert all(services.store.read_stream(f"incident-inc-{n}")[0].type == "IncidentReported" for n in range(11))


async def test_each_command_of_a_batch_gets_its_own_answer(services: Services, held: HeldStore) -> None:
    commit = GroupCommit(services)
    try:
        answers = await submit_while_held(commit, held, keyed_report("inc-1"), [
            keyed_report("inc-2"),
            triage_incident(incident_id="nowhere", stage="dispatch", code="yellow"),
            keyed_report("inc-1"),  # the first report again, retried by the form: its first answer
            keyed_report("inc-2", triage="green"),  # the same key for a different report: refused
            keyed_report("inc-3"),
        ])
    finally:
        commit.close()

    first, second, unknown, retried, reused, third = answers
    assert isinstance(unknown, IncidentNotFound)
    assert isinstance(reused, IdempotencyKeyReused)
    assert isinstance(retried, AppendResult) and retried.replayed
    assert [e.position for e in retried.events] == [e.position for e in first.events]  # type: ignore[union-attr]
    assert isinstance(second, AppendResult) and isinstance(third, AppendResult)
    assert [e.type for e in services.store.read_stream("incident-inc-2")] == ["IncidentReported"]
    assert services.store.read_stream("incident-nowhere") == []
    assert services.store.head() == 3


async def test_a_failed_commit_fails_every_command_of_its_batch_and_stores_none(
        services: Services, held: HeldStore) -> None:
    held.failure = (2, OperationalError("COMMIT", {}, Exception("disk I/O error")))
    commit = GroupCommit(services)
    try:
        first, *failed = await submit_while_held(commit, held, keyed_report("inc-1"),
                                                 [keyed_report(f"inc-{n}") for n in (2, 3, 4)])
        after = await commit.submit(keyed_report("inc-5"))  # the thread lives on for the next batch
    finally:
        commit.close()

    assert held.batches[:2] == [1, 3]
    assert isinstance(first, AppendResult)
    assert len(failed) == 3 and all(isinstance(answer, OperationalError) for answer in failed)
    assert [e.stream_id for e in after.events] == ["incident-inc-5"]
    assert [services.store.read_stream(f"incident-inc-{n}") for n in (2, 3, 4)] == [[], [], []]
    assert services.store.head() == 2


async def test_closing_answers_every_command_already_submitted(services: Services) -> None:
    commit = GroupCommit(services)
    tasks = [asyncio.ensure_future(commit.submit(keyed_report(f"inc-{n}"))) for n in range(20)]
    await asyncio.sleep(0)
    await asyncio.to_thread(commit.close)

    answers = await asyncio.gather(*tasks)
    assert sorted(answer.events[0].position for answer in answers) == list(range(1, 21))
