"""`dispatch up` with a receiver configured starts the AIS feed beside everything else, and stops it with them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_topology import eventually
from tests.e2e.test_up import _wait_for_accounts
from tests.e2e.topology import free_port

pytestmark = pytest.mark.slow

BEACONS = Path(__file__).resolve().parents[1] / "data" / "ais" / "beacons.nmea"


def udp_port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_up_runs_the_ais_feed_when_a_receiver_is_configured(tmp_path: Path) -> None:
    port, udp, data, output = free_port(), free_port(), tmp_path / "data", tmp_path / "up.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISPATCH_")}
    env |= {"DISPATCH_PASSWORD_TIME_COST": "1", "DISPATCH_PASSWORD_MEMORY_KIB": "1024", "COLUMNS": "200",
            "DISPATCH_AIS_UDP_PORT": str(udp)}
    with output.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "dispatch.entrypoints.cli", "up", "--port", str(port),
                                    "--data-dir", str(data)], stdout=sink, stderr=subprocess.STDOUT, env=env)
        try:
            accounts = _wait_for_accounts(output)
            base = f"http://127.0.0.1:{port}"
            token = httpx.post(f"{base}/api/auth/login", timeout=5, json={
                "username": "demo-operator", "password": accounts["demo-operator"]}).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            assert eventually(lambda: not udp_port_free(udp), bool, timeout=30), "the feed listens on its port"
            sentences = [line for line in BEACONS.read_bytes().splitlines() if line.startswith(b"!")]

            def beacons() -> list[dict[str, object]]:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                    for line in sentences:
                        sender.sendto(line, ("127.0.0.1", udp))
                board = httpx.get(f"{base}/api/board", headers=headers, timeout=5).json()["incidents"]
                return [row for row in board if row["source"] == "ais_beacon"]

            opened = eventually(beacons, lambda rows: len(rows) == 3, timeout=60)
        finally:
            process.send_signal(signal.SIGTERM)
            returncode = process.wait(timeout=60)

    assert returncode == 0, output.read_text()
    assert sorted(row["beacon"]["mmsi"] for row in opened) == ["970012345", "972011111", "974022222"]
    assert udp_port_free(udp), "the feed stopped with the rest"
