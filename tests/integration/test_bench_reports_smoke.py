"""The reports benchmark runs end to end on SQLite and ends with one JSON line of its figures (no timing rules)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_reports_benchmark_ends_with_json_of_its_figures() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "bench.reports", "--quick", "--backend", "sqlite"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )

    assert finished.returncode == 0, finished.stderr
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == "reports" and figures["backend"] == "sqlite" and figures["incidents"] == 2000
    assert figures["events"] > 10_000 and figures["responses"] > 1000 and figures["referrals"] > 0
    assert all(figures[key] > 0 for key in ("load_eps", "rebuild_intervals_eps", "report_p50_ms", "summary_p50_ms"))
    assert {"report_ratio", "summary_ratio", "report_met", "summary_met"} <= figures.keys()
    assert "response-time report, whole year (p50)" in finished.stdout
