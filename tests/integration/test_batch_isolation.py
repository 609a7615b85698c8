"""Batch isolation in group commit: a command that fails on the database fails alone; the others of its batch
are committed and answered as if they had come alone. Through the real committers (the API's thread and its
child process), on SQLite and PostgreSQL.

The database is made to refuse one value (a CHECK constraint on PostgreSQL, a trigger on SQLite), as it would
refuse one too long for its column: the API and the store refuse every such value they know of first, so
only a rule of the database itself can still send a command's value to be refused there."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Engine

from dispatch.adapters.eventlog.store import AppendResult
from dispatch.app.commit_process import CommitProcess
from dispatch.app.group_commit import GroupCommit
from dispatch.app.services import Services
from dispatch.domain.catalogue import incident_stream
from dispatch.domain.errors import InvalidText, ValueNotStored
from tests.builders import LIFEGUARD_ID, keyed_report
from tests.integration.test_commit_process import committer, services, settings
from tests.integration.test_group_commit import HeldStore, submit_while_held

__all__ = ["committer", "services", "settings"]  # the committer-process fixtures, on both databases

REFUSED = "refused-by-the-database"


def refuse_marked_values(engine: Engine) -> None:
    """From now on the database refuses any event whose data holds REFUSED."""
    with engine.begin() as db:
        if engine.dialect.name == "sqlite":
            db.exec_driver_sql(f"CREATE TRIGGER refuse_marked BEFORE INSERT ON events "
                               f"WHEN instr(NEW.data, '{REFUSED}') > 0 BEGIN SELECT RAISE(ABORT, 'refused'); END")
        else:
            db.exec_driver_sql(f"ALTER TABLE events ADD CONSTRAINT refuse_marked CHECK (strpos(data, '{REFUSED}') = 0)")


def batch(services: Services) -> list[Any]:
    """Eight reports, four of them bad: a value the database refuses (2), a NUL in the description (5), a
    command id longer than its column (6, a long username with a long key) and a NUL in the incident id (7)."""
    commands = [keyed_report(f"inc-{n}", description=REFUSED if n == 2 else "a\x00b" if n == 5 else "")
                for n in range(6)]
    return [*commands, keyed_report("inc-6", command_id="u" * 100 + ":" + "k" * 100),
            keyed_report("inc-\x00-7", command_id=f"{LIFEGUARD_ID}:inc-7")]


def assert_only_the_bad_failed(services: Services, answers: list[Any]) -> None:
    assert isinstance(answers[2], ValueNotStored), answers[2]
    assert [(type(answers[n]), answers[n].field) for n in (5, 6, 7)] == [
        (InvalidText, "description"), (InvalidText, "meta.command_id"), (InvalidText, "stream_id")], answers
    good = [answers[n] for n in (0, 1, 3, 4)]
    assert all(isinstance(answer, AppendResult) and len(answer.events) == 1 for answer in good), answers
    assert services.store.head() == 4
    assert all(services.store.read_stream(incident_stream(f"inc-{n}")) == [] for n in (2, 5, 6))


async def test_a_command_the_database_refuses_fails_alone_in_the_committing_thread(services: Services) -> None:
    refuse_marked_values(services.store.engine)
    held = HeldStore(services.store)
    services.store = held
    commands = batch(services)
    commit = GroupCommit(services)
    try:
        answers = await submit_while_held(commit, held, commands[0], commands[1:])
    finally:
        commit.close()

    assert held.batches == [1, 7], "all but the first went as one batch"
    assert_only_the_bad_failed(services, answers)


async def test_a_command_the_database_refuses_fails_alone_in_the_committer_process(
        services: Services, committer: tuple[CommitProcess, list[int]]) -> None:
    process, batches = committer
    refuse_marked_values(services.store.engine)

    answers = await asyncio.gather(*(process.submit(command) for command in batch(services)),
                                   return_exceptions=True)

    assert max(batches) >= 3, f"the bad ones shared a batch with good ones: {batches}"
    assert_only_the_bad_failed(services, list(answers))


async def test_a_retried_refused_command_is_refused_again_and_stores_nothing(
        services: Services, committer: tuple[CommitProcess, list[int]]) -> None:
    process, _batches = committer
    refuse_marked_values(services.store.engine)
    command = keyed_report("inc-1", description=REFUSED)

    answers = await asyncio.gather(process.submit(command), process.submit(command), return_exceptions=True)

    assert all(isinstance(answer, ValueNotStored) for answer in answers), answers
    assert services.store.head() == 0
