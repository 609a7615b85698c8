"""The administrator's commands: users add, migrate, rebuild and verify, as a person would run them."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pytest
from sqlalchemy import text

from dispatch.adapters.accounts import Accounts
from dispatch.app.handle import handle
from dispatch.app.services import build_services
from dispatch.runtime.settings import Settings
from tests.builders import add_note, report_incident
from tests.e2e.topology import Topology, free_port

pytestmark = pytest.mark.slow


def cli_env(data: Path, **settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISPATCH_")}
    return env | {"DISPATCH_DATA_DIR": str(data), "DISPATCH_PASSWORD_TIME_COST": "1",
                  "DISPATCH_PASSWORD_MEMORY_KIB": "1024", "COLUMNS": "200", **settings}


def dispatch_cli(data: Path, *args: str, stdin: str = "", **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dispatch", *args], env=cli_env(data, **settings),
                          input=stdin, capture_output=True, text=True, timeout=120)


def accounts_in(data: Path) -> Accounts:
    return build_services(Settings(data_dir=data, password_time_cost=1, password_memory_kib=1024)).accounts


def test_users_add_sets_up_a_person_who_can_sign_in(tmp_path: Path) -> None:
    added = dispatch_cli(tmp_path, "users", "add", "somchai", "--role", "operator")
    assert added.returncode == 0, added.stderr
    password = added.stdout.strip().rsplit("password: ", 1)[1]

    services = build_services(Settings(data_dir=tmp_path, password_time_cost=1, password_memory_kib=1024))
    assert services.accounts.login("somchai", password).actor.role == "operator"


def test_rebuild_replays_and_verify_names_a_tampered_position(tmp_path: Path) -> None:
    services = build_services(Settings(data_dir=tmp_path))
    for n in range(3):
        handle(report_incident(at=services.clock.now(), incident_id=f"i{n}"), services)
        handle(add_note(at=services.clock.now(), incident_id=f"i{n}", text="ok"), services)

    rebuilt = dispatch_cli(tmp_path, "rebuild")
    intact = dispatch_cli(tmp_path, "verify")
    with services.store.engine.begin() as db:
        db.execute(text("UPDATE events SET data = replace(data, 'ok', 'OK') WHERE position = 4"))
    broken = dispatch_cli(tmp_path, "verify")

    assert rebuilt.returncode == 0 and "from 6 events" in rebuilt.stdout, rebuilt.stdout + rebuilt.stderr
    assert intact.returncode == 0 and "intact" in intact.stdout and "6 events" in intact.stdout
    assert broken.returncode == 1 and "position 4" in broken.stdout


# --- production refuses the first start's passwords ---------------------------------------------


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
    started = subprocess.Popen([sys.executable, "-m", "dispatch", "api", "--port", port],
                               env=cli_env(tmp_path, DISPATCH_ENVIRONMENT="production"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        Topology(tmp_path, "unused").wait_healthy(f"http://127.0.0.1:{port}", timeout_seconds=120)
    finally:
        started.terminate()
        started.wait(timeout=30)


def test_up_in_production_creates_no_demo_accounts(tmp_path: Path) -> None:
    port, output = free_port(), tmp_path / "up.log"
    with output.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "dispatch", "up", "--port", str(port)],
                                   env=cli_env(tmp_path / "data", DISPATCH_ENVIRONMENT="production"),
                                   stdout=sink, stderr=subprocess.STDOUT)
        try:
            Topology(tmp_path, "unused").wait_healthy(f"http://127.0.0.1:{port}", timeout_seconds=120)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)

    text = output.read_text()
    assert "demo accounts" not in text and "dispatch users add NAME --role admin" in text, text
    services = build_services(Settings(data_dir=tmp_path / "data"))
    assert not services.accounts.has_users()
    assert services.store.head() == 0, "no demo fleet: production starts with its real places and no resources"


# --- command-line conventions ----------------------------------------------------------------------------


def test_a_choice_or_setting_out_of_its_range_is_refused_in_one_line_with_exit_2(tmp_path: Path) -> None:
    bad_role = dispatch_cli(tmp_path, "users", "add", "x", "--role", "captain")
    bad_setting = dispatch_cli(tmp_path, "migrate", DISPATCH_PORT="70000")

    for refused, named in ((bad_role, "'--role'"), (bad_setting, "DISPATCH_PORT")):
        assert refused.returncode == 2, refused.stderr
        [error] = [line for line in refused.stderr.splitlines() if line.startswith("Error")]
        assert named in error and "Traceback" not in refused.stdout + refused.stderr
    assert not accounts_in(tmp_path).has_users()


def test_a_password_is_never_taken_from_the_command_line(tmp_path: Path) -> None:
    refused = dispatch_cli(tmp_path, "users", "add", "somchai", "--role", "operator", "--password", "long enough pw")

    assert refused.returncode == 2 and "--password-stdin" in refused.stderr
    assert not accounts_in(tmp_path).has_users()


def test_a_password_is_read_from_stdin_or_a_named_variable_and_never_printed(tmp_path: Path) -> None:
    from_stdin = dispatch_cli(tmp_path, "users", "add", "somchai", "--role", "operator", "--password-stdin",
                              stdin="typed into a pipe\n")
    from_variable = dispatch_cli(tmp_path, "users", "add", "noi", "--role", "lifeguard", "--password-env",
                                 "NEW_PASSWORD", NEW_PASSWORD="kept in a variable")
    too_short = dispatch_cli(tmp_path, "users", "add", "short", "--role", "admin", "--password-stdin", stdin="x\n")

    assert (from_stdin.returncode, from_variable.returncode) == (0, 0), from_stdin.stderr + from_variable.stderr
    assert "typed into a pipe" not in from_stdin.stdout and "kept in a variable" not in from_variable.stdout
    accounts = accounts_in(tmp_path)
    assert accounts.login("somchai", "typed into a pipe").actor.role == "operator"
    assert accounts.login("noi", "kept in a variable").actor.role == "lifeguard"
    assert too_short.returncode == 2 and "Traceback" not in too_short.stderr


def test_a_password_asked_for_is_not_shown_as_it_is_typed(tmp_path: Path) -> None:
    terminal, child_side = os.openpty()
    process = subprocess.Popen([sys.executable, "-m", "dispatch", "users", "add", "malee", "--role", "official",
                                "--ask-password"], env=cli_env(tmp_path), stdin=child_side, stdout=child_side,
                               stderr=child_side, start_new_session=True)
    os.close(child_side)
    try:
        shown = converse(terminal, {b"Password: ": b"typed at the terminal\n",
                                    b"Repeat for confirmation: ": b"typed at the terminal\n"})
    finally:
        os.close(terminal)
    assert process.wait(timeout=60) == 0, shown
    assert b"typed at the terminal" not in shown and b"added malee" in shown
    assert accounts_in(tmp_path).login("malee", "typed at the terminal").actor.role == "official"


def converse(terminal: int, answers: dict[bytes, bytes], timeout_seconds: float = 60) -> bytes:
    """Everything the program shows on its terminal until it closes it, answering each prompt once."""
    shown, deadline = b"", time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if not select.select([terminal], [], [], 0.2)[0]:
            continue
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # the program has exited and its side of the terminal is closed
            return shown
        shown += chunk
        for prompt in [prompt for prompt in answers if shown.endswith(prompt)]:
            os.write(terminal, answers.pop(prompt))
    raise TimeoutError(f"the program did not finish; it showed {shown!r}")


def test_version_is_the_installed_package_version(tmp_path: Path) -> None:
    shown = dispatch_cli(tmp_path, "--version")

    assert shown.returncode == 0 and shown.stdout.strip() == f"dispatch {version('andaman-dispatch')}"


def test_up_refuses_a_taken_port_before_it_creates_anything(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        refused = dispatch_cli(tmp_path / "data", "up", "--port", port, "--data-dir", str(tmp_path / "data"))

    assert refused.returncode == 1 and port in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "data").exists(), "no data folder, log or Redis was made"
