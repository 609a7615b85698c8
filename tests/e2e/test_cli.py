"""The administrator's commands: users add, migrate, rebuild and verify, as a person would run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from dispatch.bootstrap import build_services
from dispatch.commands import Actor, AddNote, ReportIncident
from dispatch.events.catalogue import Position
from dispatch.service import handle
from dispatch.settings import Settings

pytestmark = pytest.mark.slow


def dispatch_cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISPATCH_")}
    env |= {"DISPATCH_DATA_DIR": str(data), "DISPATCH_PASSWORD_TIME_COST": "1",
            "DISPATCH_PASSWORD_MEMORY_KIB": "1024", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "dispatch.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_users_add_sets_up_a_person_who_can_sign_in(tmp_path: Path) -> None:
    added = dispatch_cli(tmp_path, "users", "add", "somchai", "--role", "operator")
    assert added.returncode == 0, added.stderr
    password = added.stdout.strip().rsplit("password: ", 1)[1]

    services = build_services(Settings(data_dir=tmp_path, password_time_cost=1, password_memory_kib=1024))
    assert services.accounts.login("somchai", password).actor.role == "operator"
    refused = dispatch_cli(tmp_path, "users", "add", "x", "--role", "captain", "--password", "long enough pw")
    assert refused.returncode != 0 and "role" in (refused.stdout + refused.stderr)


def test_rebuild_replays_and_verify_names_a_tampered_position(tmp_path: Path) -> None:
    services = build_services(Settings(data_dir=tmp_path))
    actor = Actor(id="op", role="operator")
    for n in range(3):
        handle(ReportIncident(actor=actor, at=services.clock.now(), incident_id=f"i{n}", source="beach",
                              position=Position(lat=8.64, lon=98.25), zone="khao_lak_coast", triage="red",
                              category="drowning"), services)
        handle(AddNote(actor=actor, at=services.clock.now(), incident_id=f"i{n}", text="ok"), services)

    rebuilt = dispatch_cli(tmp_path, "rebuild")
    intact = dispatch_cli(tmp_path, "verify")
    with services.store.engine.begin() as db:
        db.execute(text("UPDATE events SET data = replace(data, 'ok', 'OK') WHERE position = 4"))
    broken = dispatch_cli(tmp_path, "verify")

    assert rebuilt.returncode == 0 and "from 6 events" in rebuilt.stdout, rebuilt.stdout + rebuilt.stderr
    assert intact.returncode == 0 and "intact" in intact.stdout and "6 events" in intact.stdout
    assert broken.returncode == 1 and "position 4" in broken.stdout
