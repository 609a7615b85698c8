"""Running the real system for a benchmark: databases, processes, sign-ins, CPU readings and percentiles.

Processes start as tests/e2e/topology.py starts them (the same `dispatch` commands docker-compose runs,
against the local Redis with this run's own channels and queue), with the production log level.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import psycopg

from tests.e2e.topology import Topology, free_port, sign_in

REPO: Final[Path] = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES_URL: Final[str] = os.environ.get(
    "DISPATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CLOCK_TICKS: Final[int] = os.sysconf("SC_CLK_TCK")
# A lifeguard's report from a known beach, as the report form sends it.
REPORT_BODY: Final[dict[str, object]] = {
    "source": "beach", "site_id": "beach_nang_thong", "triage": "red", "category": "drowning", "patients": 1,
    "description": "Swimmer pulled from a rip current north of the pier, conscious, breathing, very cold",
    "language": "en",
}


@contextmanager
def database(backend: str, directory: Path, postgres_url: str = DEFAULT_POSTGRES_URL) -> Iterator[str]:
    """A fresh database URL: an SQLite file in `directory`, or a private PostgreSQL schema dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'dispatch.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            yield f"{postgres_url}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


class BenchTopology(Topology):
    """A Topology at the production log level that can also serve the API with the benchmark's reference routes."""

    def __init__(self, directory: Path, database_url: str, **settings: str) -> None:
        pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        super().__init__(directory, database_url, DISPATCH_LOG_LEVEL="INFO", PYTHONPATH=pythonpath, **settings)

    def start_served(self) -> tuple[str, subprocess.Popen[bytes]]:
        """`python -m bench.served` on a free port: `dispatch api` plus the trivial reference routes."""
        port = free_port()
        log = (self.directory / f"served-{len(self.processes)}.log").open("wb")
        self._logs.append(log)
        command = [sys.executable, "-m", "bench.served", "--host", "127.0.0.1", "--port", str(port)]
        process = subprocess.Popen(command, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        url = f"http://127.0.0.1:{port}"
        self.wait_healthy(url)
        return url, process

    def sign_in_many(self, url: str, role: str, count: int) -> list[str]:
        """One session per simulated device, as `count` phones or screens signed in as `role` would have."""
        return [sign_in(url, role) for _ in range(count)]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process and its running children (the API's committer) have used so far
    (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return own + sum(cpu_seconds(child) for child in _children(pid))


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = min(max(1, math.ceil(fraction * len(sorted_values))), len(sorted_values))
    return float(sorted_values[rank - 1])


def print_json_line(settings: dict[str, Any], figures: dict[str, Any], met: dict[str, bool], started: float) -> None:
    """The run's last line: its settings, every figure (floats rounded), the targets and the wall time."""
    rounded = {key: round(value, 3) if isinstance(value, float) else value for key, value in figures.items()}
    print(json.dumps({**settings, **rounded, "targets_met": met, "all_targets_met": all(met.values()),
                      "wall_seconds": round(time.perf_counter() - started, 1)}), flush=True)


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}×" if reference else "-"
