"""The administrator's commands: users add, migrate, rebuild and verify, as a person would run them."""

from __future__ import annotations

import os
import signal
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
from tests.e2e.topology import Topology, free_port

pytestmark = pytest.mark.slow


def cli_env(data: Path, **settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISPATCH_")}
    return env | {"DISPATCH_DATA_DIR": str(data), "DISPATCH_PASSWORD_TIME_COST": "1",
                  "DISPATCH_PASSWORD_MEMORY_KIB": "1024", "COLUMNS": "200", **settings}


def dispatch_cli(data: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dispatch.cli", *args], env=cli_env(data, **settings),
                          capture_output=True, text=True, timeout=120)


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


# --- production refuses the first start's passwords (issue 8) ---------------------------------------------


def test_production_refuses_to_start_while_a_demo_password_is_unchanged(tmp_path: Path) -> None:
    services = build_services(Settings(data_dir=tmp_path, password_time_cost=1, password_memory_kib=1024))
    services.accounts.add_user("demo-admin", "admin", "printed at first start", must_change_password=True)
    port = str(free_port())

    refused_api = dispatch_cli(tmp_path, "api", "--port", port, DISPATCH_ENVIRONMENT="production")
    refused_up = dispatch_cli(tmp_path, "up", "--port", port, DISPATCH_ENVIRONMENT="production")

    for refused in (refused_api, refused_up):
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "Refusing to start in production" in refused.stdout and "demo-admin" in refused.stdout
    assert dispatch_cli(tmp_path, "users", "add", "x", "--role", "admin").returncode == 0, "the CLI still works"
    token = services.accounts.login("demo-admin", "printed at first start").token
    services.accounts.change_password(token, "printed at first start", "chosen by the admin")
    started = subprocess.Popen([sys.executable, "-m", "dispatch.cli", "api", "--port", port],
                               env=cli_env(tmp_path, DISPATCH_ENVIRONMENT="production"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        Topology(tmp_path, "unused").wait_healthy(f"http://127.0.0.1:{port}")
    finally:
        started.terminate()
        started.wait(timeout=30)


def test_up_in_production_creates_no_demo_accounts(tmp_path: Path) -> None:
    port, output = free_port(), tmp_path / "up.log"
    with output.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "dispatch.cli", "up", "--port", str(port)],
                                   env=cli_env(tmp_path / "data", DISPATCH_ENVIRONMENT="production"),
                                   stdout=sink, stderr=subprocess.STDOUT)
        try:
            Topology(tmp_path, "unused").wait_healthy(f"http://127.0.0.1:{port}", timeout_seconds=60)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)

    text = output.read_text()
    assert "demo accounts" not in text and "dispatch users add NAME --role admin" in text, text
    accounts = build_services(Settings(data_dir=tmp_path / "data")).accounts
    assert not accounts.has_users()
