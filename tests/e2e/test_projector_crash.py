"""A projector process killed with SIGKILL mid-way and started again counts every event exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from dispatch.adapters.read_models import BOARD
from dispatch.app.handle import handle
from dispatch.app.services import build_services
from dispatch.projections.board import TABLE, Board
from dispatch.projections.rows import replay_in_memory
from dispatch.projections.runner import Projector
from dispatch.runtime.settings import Settings
from tests.builders import add_note, report_incident

pytestmark = pytest.mark.slow
INCIDENTS, NOTES = 20, 60


def start_projector(data: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISPATCH_")}
    # Batches of one event: the kill lands between events, the case the checkpoint must survive.
    env |= {"DISPATCH_DATA_DIR": str(data), "DISPATCH_PROJECTOR_BATCH_SIZE": "1", "DISPATCH_LOG_LEVEL": "WARNING"}
    with log.open("ab") as sink:
        return subprocess.Popen([sys.executable, "-m", "dispatch", "projector"], env=env, stdout=sink,
                                stderr=subprocess.STDOUT)


def wait_for(condition: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_killed_projector_resumes_without_double_counting(tmp_path: Path) -> None:
    services = build_services(Settings(data_dir=tmp_path))
    for n in range(INCIDENTS):
        handle(report_incident(at=services.clock.now(), incident_id=f"i{n}"), services)
    for n in range(NOTES * INCIDENTS):
        handle(add_note(at=services.clock.now(), incident_id=f"i{n % INCIDENTS}", text=f"n{n}"), services)
    head = services.store.head()
    projector = Projector(services.store, [Board()])

    first = start_projector(tmp_path, tmp_path / "projector.log")
    wait_for(lambda: projector.position("board") > head // 4)
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = projector.position("board")
    second = start_projector(tmp_path, tmp_path / "projector.log")
    try:
        wait_for(lambda: projector.position("board") == head)
    finally:
        second.terminate()
        second.wait(timeout=30)

    assert 0 < killed_at < head, "the kill must land part-way"
    with services.store.engine.connect() as db:
        live = {row["incident_id"]: dict(row) for row in db.execute(select(BOARD)).mappings()}
    replayed = replay_in_memory(Board(), list(services.store.iter_all())).rows(TABLE)
    expected = {row["incident_id"]: row for row in replayed}
    assert {key: row["notes"] for key, row in live.items()} == {f"i{n}": NOTES for n in range(INCIDENTS)}
    assert live.keys() == expected.keys()
    assert all(live[key]["position"] == expected[key]["position"] for key in live)
