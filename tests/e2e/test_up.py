"""`dispatch up`: the whole embedded system from one command, and nothing left running after it stops."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.topology import free_port

pytestmark = pytest.mark.slow


def _redis_servers_for(directory: Path) -> list[str]:
    found = subprocess.run(["pgrep", "-af", "redis-server"], capture_output=True, text=True).stdout
    return [line for line in found.splitlines() if str(directory) in line]


def _wait_for_accounts(output: Path, timeout: float = 60) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = output.read_text()
        accounts = dict(re.findall(r"^\s+\w+\s+(demo-\w+)\s+(\S+)\s*$", text, flags=re.M))
        if len(accounts) == 4 and "is up" in text:
            return accounts
        time.sleep(0.1)
    raise TimeoutError(f"dispatch up did not come up:\n{output.read_text()}")


def _fleet_once_projected(base: str, headers: dict[str, str], timeout: float = 30) -> dict[str, list[object]]:
    """The fleet list, once the projector has caught up with the first start's registrations."""
    deadline = time.monotonic() + timeout
    while True:
        fleet: dict[str, list[object]] = httpx.get(f"{base}/api/resources", headers=headers, timeout=5).json()
        if fleet["resources"] or time.monotonic() > deadline:
            return fleet
        time.sleep(0.1)


def test_up_runs_everything_and_stops_cleanly(tmp_path: Path) -> None:
    port, data = free_port(), tmp_path / "data"
    output = tmp_path / "up.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISPATCH_")}
    env |= {"DISPATCH_PASSWORD_TIME_COST": "1", "DISPATCH_PASSWORD_MEMORY_KIB": "1024", "COLUMNS": "200"}
    with output.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "dispatch", "up", "--port", str(port),
                                    "--data-dir", str(data)], stdout=sink, stderr=subprocess.STDOUT, env=env)
        try:
            accounts = _wait_for_accounts(output)
            base = f"http://127.0.0.1:{port}"
            started = output.read_text()
            health = httpx.get(f"{base}/healthz", timeout=5).json()
            assert health == {"status": "ok", "log_head": health["log_head"], "database": "ok", "redis": "ok",
                              "committer": "ok", "projector": health["projector"]}
            token = httpx.post(f"{base}/api/auth/login", timeout=5, json={
                "username": "demo-operator", "password": accounts["demo-operator"]}).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            fleet = _fleet_once_projected(base, headers)
            assert _redis_servers_for(data), "the embedded Redis runs while the system is up"
        finally:
            process.send_signal(signal.SIGTERM)
            returncode = process.wait(timeout=60)

    assert returncode == 0, output.read_text()
    assert len(fleet["resources"]) >= 10, "the demo fleet is loaded on first start"
    kept = data / "first-start-passwords.txt"
    assert f"{base}/" in started and str(kept) in started, "the start-up block says where to go and what is kept"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert set(accounts.items()) <= {tuple(line.split(" ")) for line in kept.read_text().splitlines()}
    assert _redis_servers_for(data) == [], "no Redis is left running"
    assert (data / "dispatch.db").exists()
