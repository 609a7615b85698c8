"""Start the production topology without Docker: the same `dispatch` commands docker-compose runs,
as real processes against the local PostgreSQL (or an SQLite file) and the local Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from dispatch.adapters.accounts import Accounts
from dispatch.adapters.database import make_engine
from dispatch.adapters.migrations.runner import upgrade
from dispatch.runtime.clock import SystemClock
from tests.servers import REDIS_URL

PASSWORD = "topology password"
ROLES = ("lifeguard", "operator", "official", "admin")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Topology:
    """Processes sharing one database and one Redis; each test gets its own channels and queue."""

    def __init__(self, directory: Path, database_url: str, **settings: str) -> None:
        run = uuid.uuid4().hex[:8]
        self.directory = directory
        self.database_url = database_url
        self.env = {
            **os.environ,
            "DISPATCH_DATA_DIR": str(directory),
            "DISPATCH_DATABASE_URL": database_url,
            "DISPATCH_REDIS_URL": REDIS_URL,
            "DISPATCH_LIVE_CHANNEL": f"test:{run}:changes",
            "DISPATCH_APPEND_CHANNEL": f"test:{run}:appended",
            "DISPATCH_QUEUE_NAME": f"test-{run}",
            "DISPATCH_PASSWORD_TIME_COST": "1",
            "DISPATCH_PASSWORD_MEMORY_KIB": "1024",
            "DISPATCH_LOG_LEVEL": "WARNING",
            **settings,
        }
        self.processes: list[subprocess.Popen[bytes]] = []
        self._logs: list[Any] = []

    def prepare(self) -> None:
        """Migrate and add one user per role, as an installer would with `dispatch migrate` and `users add`."""
        engine = make_engine(self.database_url)
        upgrade(engine)
        accounts = Accounts(engine, SystemClock(), __import__("datetime").timedelta(hours=1), time_cost=1,
                            memory_kib=1024)
        for role in ROLES:
            accounts.add_user(role, role, PASSWORD)
        engine.dispose()

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = (self.directory / f"{args[0]}-{len(self._logs)}.log").open("wb")
        self._logs.append(log)
        process = subprocess.Popen([sys.executable, "-m", "dispatch", *args], env=self.env, stdout=log,
                                   stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start_api(self, port: int | None = None) -> str:
        """`dispatch api` on `port` (default a free one; a restarted API takes its old port back)."""
        port = port or free_port()
        self.start("api", "--host", "127.0.0.1", "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        self.wait_healthy(url)
        return url

    def wait_healthy(self, url: str, timeout_seconds: float = 30) -> None:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if any(process.poll() is not None for process in self.processes):
                raise RuntimeError(f"a process died; logs in {self.directory}: {self.logs()}")
            time.sleep(0.1)
        raise TimeoutError(f"{url} never became healthy; logs: {self.logs()}")

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL, as a crash or the OOM killer would: no shutdown code runs. The process leaves the topology
        (its log stays), so a restarted one can be waited for."""
        process.kill()
        process.wait()
        self.processes.remove(process)

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}" for path in self.directory.glob("*.log"))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self._logs:
            log.close()


def sign_in(url: str, role: str) -> str:
    answer = httpx.post(f"{url}/api/auth/login", json={"username": role, "password": PASSWORD}, timeout=5)
    answer.raise_for_status()
    return str(answer.json()["token"])


def report(url: str, token: str, **overrides: Any) -> dict[str, Any]:
    body = {"source": "beach", "site_id": "beach_nang_thong", "triage": "red", "category": "drowning"} | overrides
    answer = httpx.post(f"{url}/api/incidents", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    answer.raise_for_status()
    return dict(answer.json())
