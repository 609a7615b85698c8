"""The AIS feed benchmark runs end to end, shortened, against a real feed, projector and Redis, and ends with one
JSON line of its figures (no timing rules: speed is the benchmark's to report, not a test's to assert)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.redis
def test_a_short_ais_feed_benchmark_ends_with_json_of_its_figures() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "bench.ais_feed", "--seconds", "6", "--rate", "500", "--vessels", "100", "--fleet", "5"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )

    assert finished.returncode == 0, finished.stderr
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == "ais_feed" and figures["fleet"] == 5 and figures["vessels"] == 100
    assert figures["sentences_sent"] > 0 and figures["sentences_handled"] >= figures["sentences_sent"] * 0.99
    assert figures["rejected"] == 0, "every sentence the benchmark sends is one the feed can use"
    assert figures["feed_cpu_core"] > 0 and figures["reference_decode_cpu_core"] > 0 and figures["cpu_ratio"] > 0
    assert {"board_p50_ms", "board_p99_ms", "events_per_boat_per_30s", "cpu_met", "p99_met", "log_growth_met"} <= (
        figures.keys())
    assert "sentence -> board p99" in finished.stdout
