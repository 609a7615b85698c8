"""`dispatch api --workers 2`: /metrics adds up both processes' counts, whichever process answers the scrape, and
shows each process's memory and CPU (prometheus_client's multiprocess mode, set up by `dispatch api`)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.topology import Topology, free_port

pytestmark = [pytest.mark.redis, pytest.mark.slow]
REQUESTS, SCRAPES = 40, 8
WAIT_SECONDS = 60  # guards a hung test


def livez_count(text: str) -> float | None:
    found = re.search(r'^dispatch_http_requests_total\{method="GET",route="/livez",status="200"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else None


def test_two_api_processes_count_every_request_once_whichever_answers_the_scrape(tmp_path: Path) -> None:
    topology = Topology(tmp_path, f"sqlite:///{tmp_path / 'log.db'}", DISPATCH_METRICS_DIR=str(tmp_path / "metrics"))
    topology.prepare()
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_99999.db").write_bytes(b"left by an earlier run")
    port = free_port()
    topology.start("api", "--host", "127.0.0.1", "--port", str(port), "--workers", "2")
    api = f"http://127.0.0.1:{port}"
    try:
        topology.wait_healthy(api, timeout_seconds=120)
        for _ in range(REQUESTS):
            assert httpx.get(f"{api}/livez", timeout=5).status_code == 200  # a new connection each

        deadline = time.monotonic() + WAIT_SECONDS
        while livez_count(httpx.get(f"{api}/metrics", timeout=5).text) != REQUESTS:
            assert time.monotonic() < deadline, "the count never reached the requests made"
            time.sleep(0.1)
        scrapes = [httpx.get(f"{api}/metrics", timeout=5).text for _ in range(SCRAPES)]
    finally:
        topology.stop()

    assert [livez_count(text) for text in scrapes] == [REQUESTS] * SCRAPES
    pids = set(re.findall(r'^process_resident_memory_bytes\{pid="(\d+)"\}', scrapes[-1], re.M))
    assert len(pids) == 2, "each API process's memory, by pid"
    assert not (tmp_path / "metrics" / "counter_99999.db").exists(), "an earlier run's files are cleared at start"
