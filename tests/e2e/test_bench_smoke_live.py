"""The API and live-board benchmarks run end to end and end with one JSON line of positive rates and no
missed delta (no timing rules: the machine is shared)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.redis, pytest.mark.slow]


def run_quick(module: str, *args: str) -> dict[str, Any]:
    finished = subprocess.run(
        [sys.executable, "-m", module, "--quick", *args],
        cwd=REPO, capture_output=True, text=True, timeout=420, check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    figures: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    return figures


def test_quick_api_benchmark_reports_and_serves_the_trivial_endpoint_without_errors() -> None:
    figures = run_quick("bench.api_report", "--backend", "sqlite")

    rates = {key: value for key, value in figures.items() if key.endswith("_rps")}
    assert {"sqlite_trivial_rps", "sqlite_trivial_sync_rps", "sqlite_report_rps"} <= rates.keys()
    assert all(value > 0 for value in rates.values()), rates
    assert figures["sqlite_report_errors"] == 0 and figures["sqlite_trivial_errors"] == 0
    assert figures["sqlite_report_p99_ms"] >= figures["sqlite_report_p50_ms"] > 0


@pytest.mark.postgres
def test_quick_live_board_benchmark_delivers_every_delta_to_every_board() -> None:
    figures = run_quick("bench.live_board")

    assert figures["live_reports"] > 0 and figures["live_reports_failed"] == 0
    assert figures["live_missed_deltas"] == 0
    assert figures["live_deliveries"] == figures["live_reports"] * figures["live_clients"]
    assert figures["reference_missed"] == 0
    assert figures["sqlite_rebuild_eps"] > 0 and figures["postgres_rebuild_eps"] > 0
    assert figures["rebuild_events"] >= 5_000


@pytest.mark.postgres
def test_quick_mass_casualty_load_runs_without_an_error_and_samples_every_process() -> None:
    figures = run_quick("bench.load_mass_casualty")

    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["reports"] == figures["reports_planned"] > 0 and figures["referrals_open"] > 0
    assert figures["deliveries"] == figures["reports"] * figures["boards"]
    assert figures["report_p99_ms"] >= figures["report_p50_ms"] > 0
    assert {"api_1", "api_2", "projector", "worker"} <= {
        key[4:].rsplit("_start_mb", 1)[0] for key in figures if key.endswith("_start_mb")}
