"""The network benchmark runs end to end and ends with one JSON line of its figures (no timing rules)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_network_benchmark_ends_with_json_of_its_figures() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "bench.network", "--quick"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )

    assert finished.returncode == 0, finished.stderr
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == "network" and figures["calls"] == 100 and figures["facilities"] > 5
    assert figures["graph_nodes"] > 1000 and figures["graph_edges"] > figures["graph_nodes"]
    assert figures["fleet_calls"] > 0 and figures["fleet_calls"] % 100 == 0  # every demo boat, each patient
    assert all(figures[key] > 0 for key in ("load_p50_ms", "routes_p50_ms", "routes_p99_ms", "reference_p99_ms",
                                            "fleet_p50_ms", "fleet_p99_ms"))
    assert {"load_met", "routes_met", "fleet_met", "ratio_to_reference", "fleet_ratio_to_reference"} <= figures.keys()
    assert "routes_from, first sight, CPU p99" in finished.stdout
