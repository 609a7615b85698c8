"""The notification benchmark runs end to end (a real Redis and notifier processes) and ends with one JSON line of
its figures (no timing rules: the figures are the benchmark's to report, not a test's to judge)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.redis
def test_quick_notification_benchmark_delivers_everything_and_ends_with_json() -> None:
    finished = subprocess.run([sys.executable, "-m", "bench.notifications", "--quick"], cwd=REPO,
                              capture_output=True, text=True, timeout=300, check=False)
    assert finished.returncode == 0, finished.stderr
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == "notifications" and figures["deliveries"] == 40
    assert figures["delivered"] == figures["accepted_by_server"] == 40  # every push once, retries included
    assert figures["seconds"] > 0 and figures["reference_seconds"] > 0 and "ratio" in figures and "met" in figures
