"""The production topology without Docker: the commands docker-compose runs (two API processes, the
projector, an RQ worker with its scheduler) against the local PostgreSQL and Redis, and one Koh Yao
incident driven through them from report to closure."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.topology import Topology, report, sign_in
from tests.servers import POSTGRES_URL

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def production(tmp_path: Path, postgres_schema: str) -> Iterator[Topology]:
    running = Topology(tmp_path, f"{POSTGRES_URL}?options=-csearch_path%3D{postgres_schema}")
    running.prepare()
    running.start("projector")
    running.start("worker")
    yield running
    running.stop()


def eventually(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 20) -> Any:
    """Read until `done` holds; the timeout only guards a hung test."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_a_koh_yao_referral_through_two_apis_projector_and_worker(production: Topology) -> None:
    api_a, api_b = production.start_api(), production.start_api()
    operator = {"Authorization": f"Bearer {sign_in(api_b, 'operator')}"}
    official = {"Authorization": f"Bearer {sign_in(api_a, 'official')}"}

    def post(api: str, path: str, body: dict[str, Any], method: str = "POST") -> dict[str, Any]:
        answer = httpx.request(method, f"{api}{path}", json=body, headers=operator, timeout=10)
        assert answer.status_code in (200, 201), answer.text
        return dict(answer.json())

    # A health unit on Koh Yao Yai reports (through API A); the only boat is a longtail far away at Khao Lak.
    incident = report(api_a, sign_in(api_a, "lifeguard"), source="clinic", site_id="hu_phru_nai",
                      category="trauma", triage="red")["id"]
    post(api_b, "/api/resources", {"id": "LT-1", "kind": "boat", "name": "Longtail", "speed_knots": 9,
                                    "home_site_id": "beach_nang_thong"})
    post(api_b, f"/api/incidents/{incident}/dispatch", {"resource_id": "LT-1"})
    referral = post(api_b, f"/api/incidents/{incident}/referral",
                    {"facility_id": "hosp_vachira_phuket", "resource_id": "LT-1"})
    assert referral["guarantee_minutes"] == 80
    post(api_b, "/api/resources/LT-1", {"position": {"lat": 8.64, "lon": 98.24}}, method="PATCH")

    # The worker predicts the slow boat cannot make minute 80 and says so at once.
    at_risk = eventually(lambda: httpx.get(f"{api_a}/api/referrals", headers=official, timeout=5).json(),
                         lambda page: page["referrals"] and page["referrals"][0]["status"] == "at_risk")
    assert at_risk["referrals"][0]["risk_reason"] == "predicted_late", production.logs()
    assert at_risk["referrals"][0]["predicted_late_seconds"] > 0 and at_risk["referrals"][0]["advice"]

    for milestone in ("en_route", "on_scene", "left_scene", "at_destination", "handed_over"):
        post(api_a if milestone == "on_scene" else api_b, f"/api/incidents/{incident}/milestones",
             {"resource_id": "LT-1", "milestone": milestone})
    post(api_b, f"/api/incidents/{incident}/close", {"outcome": "transferred"})

    board = eventually(lambda: httpx.get(f"{api_a}/api/board", headers=official, timeout=5).json(),
                       lambda page: page["incidents"] == [])
    assert board["incidents"] == []
    done = httpx.get(f"{api_a}/api/referrals", headers=official, timeout=5).json()["referrals"][0]
    assert done["status"] == "met" and done["arrived_at"] and done["handed_over_at"]
    verify = subprocess.run([sys.executable, "-m", "dispatch", "verify"], env=production.env,
                            capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0 and "intact" in verify.stdout, verify.stdout + verify.stderr
