"""A real `dispatch projector` process fed a log holding a poison event (written with SQL, past every check):
it stays up and stalls at that event; the API's /readyz says degraded with the lag, the projector's metrics and
`dispatch health projector` say stalled, the board in Chromium shows a banner saying how stale it is; once the
row is repaired the projector resumes by itself. A NUL in a description, written the same way, projects."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from dispatch.adapters.database import make_engine
from dispatch.domain.catalogue import encode_data
from dispatch.runtime.clock import SystemClock
from tests.builders import incident_reported
from tests.e2e.topology import PASSWORD, Topology, free_port, report, sign_in
from tests.raw_log import append_raw, repair_raw
from tests.servers import POSTGRES_URL

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.browser, pytest.mark.slow]
CHROMIUM = "/usr/bin/chromium"
WAIT_SECONDS = 60  # guards a hung test; a passing one waits a second or two


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


def eventually(read: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while not done(value := read()):
        assert time.monotonic() < deadline, f"never came about; last: {value}"
        time.sleep(0.1)
    return value


def health(topology: Topology) -> tuple[int, dict[str, Any]]:
    done = subprocess.run([sys.executable, "-m", "dispatch", "health", "projector"], env=topology.env,
                          capture_output=True, text=True, timeout=60)
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def test_a_poison_event_stalls_a_real_projector_visibly_and_it_resumes_once_repaired(
    tmp_path: Path, postgres_schema: str, browser: Browser,
) -> None:
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{postgres_schema}"
    metrics_port = free_port()
    topology = Topology(tmp_path, url, DISPATCH_PROJECTOR_METRICS_PORT=str(metrics_port),
                        DISPATCH_PROJECTOR_RETRY_SECONDS="[0.2, 1.0]")
    topology.prepare()
    engine = make_engine(url)
    try:
        projector = topology.start("projector")
        port = free_port()
        topology.start("api", "--host", "127.0.0.1", "--port", str(port))
        api = f"http://127.0.0.1:{port}"
        topology.wait_healthy(api, timeout_seconds=120)  # two cores shared by many test runs start slowly
        operator = {"Authorization": f"Bearer {sign_in(api, 'operator')}"}
        first = report(api, sign_in(api, "lifeguard"))["id"]

        def ready() -> dict[str, Any]:
            return dict(httpx.get(f"{api}/readyz", timeout=5).json())

        def board() -> set[str]:
            page = httpx.get(f"{api}/api/board", headers=operator, timeout=5).json()
            return {row["incident_id"] for row in page["incidents"]}

        eventually(board, lambda ids: first in ids)
        # given a NUL in a description (the original finding), a poison row after it, and a report after that
        now = SystemClock().now()
        nul = incident_reported(incident_id="with-nul", description="a\x00b", at=now)
        append_raw(engine, nul.stream_id, "IncidentReported", encode_data(nul).decode(), now)
        bad = append_raw(engine, "incident-poison", "IncidentTeleported", "{}", now)
        later = report(api, sign_in(api, "lifeguard"))["id"]

        # then the projector stalls at the poison, alive, and every probe says so
        stalled = eventually(ready, lambda body: body["projector"]["status"] == "stalled")
        assert stalled["status"] == "degraded" and projector.poll() is None
        assert stalled["projector"]["stalled_at"] == bad and stalled["projector"]["lag_events"] == 2
        assert stalled["projector"]["error"] == "UnknownEventType"
        assert board() == {first, "with-nul"}, "everything before the poison projected, the NUL one too"
        exported = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        assert "dispatch_projector_stalled 1.0" in exported and "dispatch_projector_lag_events 2.0" in exported
        assert "process_resident_memory_bytes" in exported
        assert "dispatch_projector_lag_events 2.0" in httpx.get(f"{api}/metrics", timeout=5).text
        code, said = health(topology)
        assert code == 1 and said["status"] == "stalled"
        banner_says_stale(browser, api, lag_events=2)

        # when the row is repaired, then the projector resumes by itself and everything is on the board
        repair_raw(engine, bad, "IncidentReported",
                   encode_data(incident_reported(incident_id="poison", at=now)).decode())
        resumed = eventually(ready, lambda body: body["projector"]["status"] == "ok")
        assert resumed["status"] == "ok" and resumed["projector"]["lag_events"] == 0
        assert board() == {first, "with-nul", "poison", later}
        assert health(topology)[0] == 0
        lines = [json.loads(line) for path in tmp_path.glob("projector-*.log")
                 for line in path.read_text().splitlines() if line.startswith("{")]
        said_stalled = [line for line in lines if line["msg"].startswith("projector stalled")]
        assert [(line["position"], line["event_type"], line["error"]) for line in said_stalled] == [
            (bad, "IncidentTeleported", "UnknownEventType")], "logged once, with where and why"
        assert any(line["msg"] == "projector resumed" for line in lines)
    finally:
        topology.stop()
        engine.dispose()


def banner_says_stale(browser: Browser, api: str, *, lag_events: int) -> None:
    page = browser.new_context(locale="en-US").new_page()
    page.goto(f"{api}/")
    page.fill("#username", "operator")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    banner = page.locator("#stale-banner")
    expect(banner).to_be_visible()
    expect(banner).to_have_attribute("data-status", "stalled")
    # by how much, in either language: the lag as a duration and the number of changes not shown
    expect(banner).to_have_text(re.compile(rf"\d+:\d\d.*\({lag_events} "))
    page.context.close()
