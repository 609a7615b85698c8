"""The event log's guarantees, on SQLite and on the PostgreSQL server (DESIGN.md §2)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from dispatch.adapters.eventlog.chain import GENESIS_HASH
from dispatch.adapters.eventlog.sql import open_event_store
from dispatch.adapters.eventlog.sql.postgres import READ_STREAMS
from dispatch.adapters.eventlog.store import EventStore, StreamWrite
from dispatch.domain import catalogue
from dispatch.domain.catalogue import IncidentReported, NoteAdded, ResourceStatusChanged
from dispatch.domain.envelope import EventMeta
from dispatch.domain.errors import ConcurrencyConflict, IdempotencyKeyReused
from dispatch.runtime.clock import FrozenClock
from tests.builders import T0, incident_reported, note_added


def reported(incident_id: str) -> IncidentReported:
    """The builders' report, of incident `incident_id`: the store tests name many incidents."""
    return incident_reported(incident_id=incident_id)


def note(incident_id: str, text: str = "patient breathing") -> NoteAdded:
    return note_added(incident_id=incident_id, text=text)


def test_appended_events_get_stream_versions_and_global_positions_in_order(store: EventStore) -> None:
    store.append("incident-a", [reported("a")], expected_version=0)
    store.append("incident-b", [reported("b")], expected_version=0)
    store.append("incident-a", [note("a"), note("a", "en route to pier")], expected_version=1)

    stream = store.read_stream("incident-a")
    assert [(e.version, e.position) for e in stream] == [(1, 1), (2, 3), (3, 4)]
    assert [e.position for e in store.read_all()] == [1, 2, 3, 4]
    assert store.head() == 4
    assert stream[2].event == note("a", "en route to pier")


def test_read_all_pages_after_a_position_with_a_limit(store: EventStore) -> None:
    for n in range(7):
        store.append(f"incident-{n}", [reported(str(n))], expected_version=0)

    assert [e.position for e in store.read_all(after=2, limit=3)] == [3, 4, 5]
    assert [e.position for e in store.read_all(after=7)] == []
    assert [e.position for e in store.iter_all(after=1, batch_size=2)] == [2, 3, 4, 5, 6, 7]


def test_append_at_a_stale_version_is_a_conflict_naming_the_current_version(store: EventStore) -> None:
    store.append("incident-a", [reported("a"), note("a")], expected_version=0)

    with pytest.raises(ConcurrencyConflict) as raised:
        store.append("incident-a", [note("a")], expected_version=1)

    assert raised.value.current_version == 2 and raised.value.expected_version == 1
    assert store.head() == 2


def test_repeated_command_id_returns_the_original_result_and_appends_nothing(store: EventStore) -> None:
    first = store.append("incident-a", [reported("a")], expected_version=0, command_id="cmd-1", fingerprint="f1")
    again = store.append("incident-a", [reported("a")], expected_version=0, command_id="cmd-1", fingerprint="f1")

    assert again.replayed and not first.replayed
    assert [e.position for e in again.events] == [e.position for e in first.events] == [1]
    assert store.head() == 1


def test_repeated_command_id_with_a_fresh_version_still_appends_nothing(store: EventStore) -> None:
    store.append("incident-a", [reported("a")], expected_version=0, command_id="cmd-1")
    store.append("incident-a", [note("a")], expected_version=1, command_id="cmd-1")

    assert store.head() == 1


def test_command_id_reused_for_a_different_request_is_refused(store: EventStore) -> None:
    store.append("incident-a", [reported("a")], expected_version=0, command_id="cmd-1", fingerprint="f1")

    with pytest.raises(IdempotencyKeyReused):
        store.find_command("cmd-1", fingerprint="f2")
    with pytest.raises(IdempotencyKeyReused):
        store.append("incident-b", [reported("b")], expected_version=0, command_id="cmd-1", fingerprint="f2")
    assert store.head() == 1


def test_append_to_several_streams_is_all_or_nothing(store: EventStore) -> None:
    store.append("resource-boat", [ResourceStatusChanged(at=T0, resource_id="boat", status="out_of_service")],
                 expected_version=0)

    with pytest.raises(ConcurrencyConflict) as raised:
        store.append_many([
            StreamWrite("incident-a", [reported("a")], 0),
            StreamWrite("resource-boat", [ResourceStatusChanged(at=T0, resource_id="boat", status="assigned")], 0),
        ])

    assert raised.value.stream_id == "resource-boat"
    assert store.read_stream("incident-a") == [] and store.head() == 1


def test_each_event_records_server_time_and_who_did_it(store: EventStore, clock: FrozenClock) -> None:
    clock.advance(timedelta(minutes=5))
    meta = EventMeta(actor_id="op-7", role="operator", correlation_id="corr", device_at=T0)

    stored = store.append("incident-a", [reported("a")], expected_version=0, command_id="c", meta=meta).events[0]

    read = store.read_stream("incident-a")[0]
    assert read.recorded_at == T0 + timedelta(minutes=5) == stored.recorded_at
    assert read.meta == EventMeta(actor_id="op-7", role="operator", command_id="c", correlation_id="corr",
                                  device_at=T0)


def test_hash_chain_links_every_event_to_the_one_before(store: EventStore) -> None:
    for n in range(3):
        store.append(f"incident-{n}", [reported(str(n))], expected_version=0)

    events = store.read_all()
    assert events[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    report = store.verify()
    assert report.intact and report.checked == 3 and report.first_bad_position is None


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE events SET data = replace(data, '\"red\"', '\"green\"') WHERE position = 3",
        "UPDATE events SET meta = '{\"actor_id\":\"someone-else\"}' WHERE position = 3",
        "UPDATE events SET stream_id = 'incident-x' WHERE position = 3",
    ],
    ids=["data", "meta", "stream"],
)
def test_verify_names_the_first_altered_position(store: EventStore, engine: Engine, tamper: str) -> None:
    for n in range(5):
        store.append(f"incident-{n}", [reported(str(n))], expected_version=0)

    with engine.begin() as connection:
        connection.execute(text(tamper))

    report = store.verify()
    assert not report.intact and report.first_bad_position == 3 and report.checked == 2


def test_verify_names_a_deleted_position(store: EventStore, engine: Engine) -> None:
    for n in range(4):
        store.append(f"incident-{n}", [reported(str(n))], expected_version=0)

    with engine.begin() as connection:
        connection.execute(text("DELETE FROM events WHERE position = 2"))

    report = store.verify()
    assert not report.intact and report.first_bad_position == 2


def test_recomputing_a_hash_after_an_edit_breaks_the_next_link(store: EventStore, engine: Engine) -> None:
    # A forger who rewrites row 2 and its hash cannot also fix row 3's prev_hash without rewriting all after.
    for n in range(3):
        store.append(f"incident-{n}", [reported(str(n))], expected_version=0)
    with engine.begin() as connection:
        connection.execute(text("UPDATE events SET hash = :h WHERE position = 2"), {"h": "f" * 64})

    report = store.verify()
    assert not report.intact and report.first_bad_position == 2


def test_old_schema_versions_are_upcast_when_read(store: EventStore, engine: Engine,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a row written by an older NoteAdded (v1 called the text "body") ...
    store.append("incident-a", [note("a", "old text")], expected_version=0)
    with engine.begin() as connection:
        connection.execute(text("UPDATE events SET data = replace(data, '\"text\"', '\"body\"') WHERE position = 1"))
    # ... and today's NoteAdded at v2 with an upcaster from v1:
    monkeypatch.setattr(NoteAdded, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(catalogue.UPCASTERS, ("NoteAdded", 1), lambda d: {**d, "text": d.pop("body")})

    event = store.read_stream("incident-a")[0]

    assert event.event == note("a", "old text") and event.schema_version == 1


def test_a_follower_is_woken_by_an_append(engine: Engine) -> None:
    store = open_event_store(engine, poll_seconds=30)  # far longer than the test allows: only the wake-up ends it
    result: list[bool] = []
    follower = threading.Thread(target=lambda: result.append(store.wait_for_events(after=0, timeout=20)))
    follower.start()
    store.append("incident-a", [reported("a")], expected_version=0)
    follower.join(timeout=25)

    assert result == [True]


def test_a_follower_in_another_process_finds_events_by_polling(store: EventStore, engine: Engine) -> None:
    # A second store has its own wake-up, as another process would: the first never hears of its append.
    other = open_event_store(engine, clock=store.clock)
    other.append("incident-a", [reported("a")], expected_version=0)

    assert store.wait_for_events(after=0, timeout=5)
    assert not store.wait_for_events(after=1, timeout=0.1)


def test_concurrent_writers_never_let_a_tailing_reader_skip_an_event(engine: Engine, clock: FrozenClock) -> None:
    writers, per_writer = 4, 1000
    store = open_event_store(engine, clock=clock, poll_seconds=0.01)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for n in range(per_writer):
                store.append(f"incident-w{writer}-{n}", [reported(f"w{writer}-{n}")], expected_version=0)
        except BaseException as exc:  # surfaced below; a thread's exception is otherwise lost
            errors.append(exc)

    seen: list[int] = []

    def tail() -> None:
        after = 0
        while len(seen) < writers * per_writer and not errors:
            batch = store.read_all(after=after, limit=500)
            seen.extend(event.position for event in batch)
            after = batch[-1].position if batch else after
            if not batch:
                store.wait_for_events(after, timeout=0.2)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    reader = threading.Thread(target=tail)
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reader.join(timeout=60)

    assert not errors
    assert seen == list(range(1, writers * per_writer + 1))
    assert store.verify().intact


def test_sqlite_log_runs_in_wal_with_full_sync_by_default(tmp_path: Any) -> None:
    from dispatch.adapters.database import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()


def test_migrations_create_exactly_the_tables_the_models_declare(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from dispatch.adapters.schema import metadata

    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_a_batch_read_finds_earlier_commands_and_whole_streams_together(store: EventStore) -> None:
    first = store.append("incident-a", [reported("a")], expected_version=0, command_id="cmd-1", fingerprint="f1")
    store.append("incident-a", [note("a")], expected_version=1, command_id="cmd-2", fingerprint="f2")
    store.append("incident-b", [reported("b")], expected_version=0, command_id="cmd-3", fingerprint="f3")

    earlier, streams = store.read_batch([("cmd-1", "f1"), ("cmd-3", "other"), ("cmd-new", "f4")],
                                        ["incident-a", "incident-none", "incident-a"])

    # a repeat gets its original result, a key reused for another request is refused, a new one is absent
    replay = earlier["cmd-1"]
    assert not isinstance(replay, IdempotencyKeyReused)
    assert replay.replayed and [e.position for e in replay.events] == [e.position for e in first.events]
    assert isinstance(earlier["cmd-3"], IdempotencyKeyReused) and "cmd-new" not in earlier
    # each stream named is read whole, in version order, once; an empty one reads as []
    assert {stream: [e.version for e in events] for stream, events in streams.items()} == {
        "incident-a": [1, 2], "incident-none": []}


@pytest.mark.parametrize("engine", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_batch_read_probes_the_stream_index_even_before_the_log_has_statistics(store: EventStore) -> None:
    # given a log of thousands of events that has never been analysed (a new or restored database)
    store.append_many([StreamWrite(f"incident-{n}", [reported(str(n))], 0) for n in range(5000)])
    connection = store.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'events'::regclass")
        assert cursor.fetchone()[0] == -1
        # then the committer's read of a batch's streams is planned as index probes, not a scan of the log
        cursor.execute(f"EXPLAIN {READ_STREAMS}", ([f"incident-{n}" for n in range(25)],))
        plan = "\n".join(row[0] for row in cursor.fetchall())
    finally:
        connection.close()
    assert "Seq Scan on events" not in plan and "uq_events_stream_version" in plan, plan
