"""The log's head anchored outside the database: signed checkpoints catch what the chain alone cannot (a log
cut short, a rewrite with every hash after it recomputed), on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from dispatch.adapters.eventlog.chain import event_hash
from dispatch.adapters.eventlog.checkpoints import (
    CheckpointError,
    CheckpointPublisher,
    ForgedCheckpoint,
    SignedCheckpoint,
    check_signature,
    checkpoints_path,
    kept_checkpoints,
    load_public_key,
    public_key_path,
    publish_public_key,
    read_checkpoints,
    sign,
    signing_key,
    start_publisher,
    whole_lines,
)
from dispatch.adapters.eventlog.store import EventStore
from dispatch.app.services import Services
from dispatch.entrypoints.api.app import create_app
from dispatch.runtime.clock import FrozenClock
from tests.integration.test_event_store import reported

PASSWORD = "correct horse battery"


def fill(store: EventStore, count: int, first: int = 0) -> None:
    for n in range(first, first + count):
        store.append(f"incident-{n}", [reported(str(n))], expected_version=0)


def head_checkpoint(store: EventStore, key: Ed25519PrivateKey, clock: FrozenClock) -> SignedCheckpoint:
    head = store.read_all(after=store.head() - 1, limit=1)[0]
    return sign(key, head.position, head.hash, clock.now())


def delete_after(engine: Engine, position: int) -> None:
    with engine.begin() as db:
        db.execute(text("DELETE FROM commands WHERE last_position > :p"), {"p": position})
        db.execute(text("DELETE FROM events WHERE position > :p"), {"p": position})


def rewrite_from(store: EventStore, engine: Engine, position: int) -> None:
    """What a forger with the database would do: change one row's data, then recompute its hash and every
    prev_hash and hash after it, so the chain is consistent again."""
    rows = store.read_all(after=position - 1, limit=10_000)
    prev_hash = rows[0].prev_hash
    with engine.begin() as db:
        for row in rows:
            data = row.data.replace('"red"', '"green"') if row.position == position else row.data
            digest = event_hash(prev_hash, row.position, row.stream_id, row.version, row.type, row.schema_version,
                                row.recorded_at, data, row.meta_json)
            db.execute(text("UPDATE events SET data = :d, prev_hash = :p, hash = :h WHERE position = :n"),
                       {"d": data, "p": prev_hash, "h": digest, "n": row.position})
            prev_hash = digest


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


# --- verify against a kept checkpoint ----------------------------------------------------------------------


def test_an_honest_log_verifies_against_its_checkpoints(store: EventStore, key: Ed25519PrivateKey,
                                                         clock: FrozenClock) -> None:
    fill(store, 3)
    early = head_checkpoint(store, key, clock)
    fill(store, 4, first=3)
    newest = head_checkpoint(store, key, clock)
    fill(store, 2, first=7)

    report = store.verify(checkpoints=[newest, early])

    assert report.intact and report.checked == 9 and report.anchored_position == 7


def test_deleting_the_last_rows_fails_verify_against_a_checkpoint_naming_the_first_removed_position(
        store: EventStore, engine: Engine, key: Ed25519PrivateKey, clock: FrozenClock) -> None:
    fill(store, 6)
    kept = head_checkpoint(store, key, clock)
    delete_after(engine, 4)

    alone, anchored = store.verify(), store.verify(checkpoints=[kept])

    assert alone.intact, "the chain alone cannot see its end cut off"
    assert not anchored.intact and anchored.first_bad_position == 5 and anchored.head_position == 4
    assert "position 6" in (anchored.problem or "")


def test_cutting_the_end_and_appending_anew_fails_at_the_checkpoint_position(
        store: EventStore, engine: Engine, key: Ed25519PrivateKey, clock: FrozenClock) -> None:
    fill(store, 5)
    kept = head_checkpoint(store, key, clock)
    delete_after(engine, 3)
    fill(store, 4, first=10)  # the log grows past the checkpoint again, with other events

    report = store.verify(checkpoints=[kept])

    assert store.verify().intact
    assert not report.intact and report.first_bad_position == 5


def test_rewriting_a_row_and_every_hash_after_it_fails_verify_naming_the_checkpoint_position(
        store: EventStore, engine: Engine, key: Ed25519PrivateKey, clock: FrozenClock) -> None:
    fill(store, 3)
    early = head_checkpoint(store, key, clock)
    fill(store, 5, first=3)
    newest = head_checkpoint(store, key, clock)
    rewrite_from(store, engine, 5)

    alone, anchored = store.verify(), store.verify(checkpoints=[early, newest])

    assert alone.intact, "a recomputed chain is consistent with itself"
    assert not anchored.intact and anchored.first_bad_position == 8 and anchored.anchored_position == 3
    assert "between positions 4 and 8" in (anchored.problem or "")


def test_a_checkpoint_with_a_bad_signature_is_refused(store: EventStore, key: Ed25519PrivateKey,
                                                      clock: FrozenClock, tmp_path: Path) -> None:
    fill(store, 2)
    honest = head_checkpoint(store, key, clock)
    forged_hash = SignedCheckpoint(position=honest.position, hash="a" * 64, at=honest.at, key_id=honest.key_id,
                                   signature=honest.signature)
    other_key = head_checkpoint(store, Ed25519PrivateKey.generate(), clock)
    kept = tmp_path / "kept.jsonl"
    kept.write_bytes(honest.line() + forged_hash.line())

    check_signature(honest, key.public_key())
    for forged in (forged_hash, other_key):
        with pytest.raises(ForgedCheckpoint, match=f"position {forged.position}"):
            check_signature(forged, key.public_key())
    with pytest.raises(ForgedCheckpoint):
        kept_checkpoints([kept], key.public_key())


def test_a_downloaded_checkpoint_and_a_published_file_read_alike(key: Ed25519PrivateKey, clock: FrozenClock,
                                                                 tmp_path: Path) -> None:
    one = sign(key, 12, "b" * 64, clock.now())
    (tmp_path / "latest.json").write_bytes(one.line().strip())
    (tmp_path / "pretty.json").write_text('{\n  "format": "dispatch-checkpoint/1", "position": 12,\n'
                                          f'  "hash": "{one.hash}", "at": "{one.at}",\n'
                                          f'  "key_id": "{one.key_id}", "signature": "{one.signature}"\n}}\n')
    (tmp_path / "bad.jsonl").write_bytes(one.line() + b'{"position": "twelve"}\n')

    assert read_checkpoints(tmp_path / "latest.json") == [one] == read_checkpoints(tmp_path / "pretty.json")
    with pytest.raises(CheckpointError, match="line 2"):
        read_checkpoints(tmp_path / "bad.jsonl")


# --- publishing ----------------------------------------------------------------------------------------------


def publisher(store: EventStore, key: Ed25519PrivateKey, clock: FrozenClock, path: Path) -> CheckpointPublisher:
    return CheckpointPublisher(store, key, path, clock=clock, every_events=5, every_window=timedelta(minutes=2))


def test_a_checkpoint_is_published_every_n_events_or_m_minutes_whichever_comes_first(
        store: EventStore, key: Ed25519PrivateKey, clock: FrozenClock, tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.jsonl"
    publishing = publisher(store, key, clock, path)
    assert publishing.publish_due() is None, "an empty log has no head to sign"
    fill(store, 1)
    first = publishing.publish_due()
    fill(store, 4, first=1)
    assert publishing.publish_due() is None, "4 events and no time passed: not yet"
    fill(store, 1, first=5)
    by_count = publishing.publish_due()
    fill(store, 1, first=6)
    clock.advance(timedelta(minutes=1, seconds=59))
    assert publishing.publish_due() is None, "1 event, 1:59 passed: not yet"
    clock.advance(timedelta(seconds=1))
    by_time = publishing.publish_due()
    clock.advance(timedelta(hours=1))
    assert publishing.publish_due() is None, "nothing new to anchor"

    assert first is not None and first.position == 1
    assert by_count is not None and by_count.position == 6
    assert by_time is not None and by_time.position == 7 and by_time.at.startswith("2026-03-14T07:02:00")
    assert read_checkpoints(path) == [first, by_count, by_time]
    assert store.verify(checkpoints=kept_checkpoints([path], key.public_key())).intact


def test_the_publisher_refuses_to_sign_a_log_cut_short_or_rewritten_behind_its_last_checkpoint(
        store: EventStore, engine: Engine, key: Ed25519PrivateKey, clock: FrozenClock, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "checkpoints.jsonl"
    publishing = publisher(store, key, clock, path)
    fill(store, 6)
    assert publishing.publish_due() is not None
    delete_after(engine, 4)
    assert publishing.publish_due() is None
    fill(store, 8, first=20)
    assert publishing.publish_due() is None

    assert len(read_checkpoints(path)) == 1
    refusals = [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]
    assert len(refusals) == 2 and "position 5" in refusals[0] and "position 6" in refusals[1]


def test_the_publisher_carries_on_from_the_last_checkpoint_another_publisher_wrote(
        store: EventStore, key: Ed25519PrivateKey, clock: FrozenClock, tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.jsonl"
    fill(store, 6)
    before_restart = publisher(store, key, clock, path).publish_due()
    fill(store, 5, first=6)

    after_restart = publisher(store, key, clock, path).publish_due()

    assert before_restart is not None and after_restart is not None and after_restart.position == 11


def test_the_embedded_system_makes_its_key_once_readable_by_its_owner_only(services: Services,
                                                                         tmp_path: Path) -> None:
    settings = services.settings.model_copy(update={"data_dir": tmp_path})
    made = signing_key(settings, embedded=True)
    again = signing_key(settings, embedded=True)

    assert made.private_bytes_raw() == again.private_bytes_raw()
    assert os.stat(tmp_path / "checkpoint-key.pem").st_mode & 0o777 == 0o600
    production = settings.model_copy(update={"environment": "production", "data_dir": tmp_path / "other"})
    with pytest.raises(CheckpointError, match="DISPATCH_CHECKPOINT_KEY_FILE"):
        signing_key(production, embedded=False)
    assert signing_key(production, embedded=True) is not None, "dispatch up makes one in any environment"


# --- the route -----------------------------------------------------------------------------------------------


@pytest.fixture
def published(services: Services) -> Iterator[TestClient]:
    for role in ("lifeguard", "operator", "official", "admin"):
        services.accounts.add_user(role, role, PASSWORD)
    with TestClient(create_app(services)) as client:
        yield client


def sign_in(client: TestClient, role: str) -> dict[str, str]:
    answer = client.post("/api/auth/login", json={"username": role, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_officials_download_the_latest_checkpoint_and_the_public_key_and_it_verifies(
        published: TestClient, services: Services) -> None:
    official = sign_in(published, "official")
    before = published.get("/api/log/checkpoints/latest", headers=official)
    fill(services.store, 3)
    stop = threading.Event()
    stop.set()  # the publisher's last round, as the projector stops, publishes at once
    start_publisher(services.settings, services.store, services.clock, stop, embedded=True).join(timeout=30)

    latest = published.get("/api/log/checkpoints/latest", headers=official)
    pem = published.get("/api/log/checkpoints/public-key", headers=official)
    every = published.get("/api/log/checkpoints", headers=official)

    assert before.status_code == 404 and before.json()["code"] == "no_checkpoint"
    path = services.settings.data_dir / "kept.json"
    path.write_bytes(latest.content)
    (services.settings.data_dir / "kept.pem").write_bytes(pem.content)
    kept = kept_checkpoints([path], load_public_key(services.settings.data_dir / "kept.pem"))
    assert kept[0].position == 3 and services.store.verify(checkpoints=kept).intact
    assert every.headers["content-type"].startswith("application/octet-stream") and every.content.count(b"\n") == 1
    assert latest.headers["cache-control"] == "no-store"
    assert checkpoints_path(services.settings).exists() and public_key_path(services.settings).exists()


@pytest.mark.parametrize("role", ["lifeguard", "operator", "admin"])
def test_only_officials_may_download_checkpoints(published: TestClient, role: str) -> None:
    headers = sign_in(published, role)
    for path in ("/api/log/checkpoints/latest", "/api/log/checkpoints", "/api/log/checkpoints/public-key"):
        answer = published.get(path, headers=headers)
        assert answer.status_code == 403 and answer.json()["code"] == "not_permitted", path
    published.cookies.clear()
    assert published.get("/api/log/checkpoints/latest").status_code == 401


def test_the_audit_page_verification_catches_a_cut_against_the_newest_published_checkpoint(
        published: TestClient, services: Services, engine: Engine) -> None:
    official = sign_in(published, "official")
    fill(services.store, 4)
    key = signing_key(services.settings, embedded=True)
    publish_public_key(key, public_key_path(services.settings))
    CheckpointPublisher(services.store, key, checkpoints_path(services.settings), clock=services.clock,
                        every_events=1, every_window=timedelta(minutes=1)).publish_due()

    before = published.get("/api/audit/verify", headers=official).json()
    delete_after(engine, 2)
    after = published.get("/api/audit/verify", headers=official).json()

    assert before["intact"] is True and before["anchored_position"] == 4
    assert after["intact"] is False and after["first_bad_position"] == 3 and after["head_position"] == 2


def test_a_kept_file_without_a_checkpoint_is_refused_rather_than_verifying_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"\n")

    with pytest.raises(CheckpointError, match="holds no checkpoint"):
        read_checkpoints(tmp_path / "empty.jsonl")


def test_the_published_file_is_served_in_whole_lines_while_one_is_being_appended(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.jsonl"
    lines = [f'{{"n": {n}, "pad": "{"x" * 300}"}}\n'.encode() for n in range(100)]
    path.write_bytes(b"".join(lines) + b'{"n": 100, "pa')

    served = b"".join(whole_lines(path, chunk_bytes=1000))

    assert served == b"".join(lines)
    with pytest.raises(FileNotFoundError):
        whole_lines(tmp_path / "missing.jsonl")


def test_a_line_torn_by_a_crash_mid_append_is_dropped_before_the_next_checkpoint(
        store: EventStore, key: Ed25519PrivateKey, clock: FrozenClock, tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.jsonl"
    publishing = publisher(store, key, clock, path)
    fill(store, 2)
    first = publishing.publish_due()
    with path.open("ab") as torn:
        torn.write(b'{"format":"dispatch-checkpoint/1","posi')
    fill(store, 5, first=2)

    second = publishing.publish_due()

    assert read_checkpoints(path) == [first, second] and second is not None and second.position == 7
