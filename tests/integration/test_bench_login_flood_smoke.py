"""The login flood benchmark runs end to end on SQLite and ends with one JSON line of its figures (no timing
rules: the figures are read, not judged)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.redis
def test_quick_login_flood_benchmark_ends_with_json_of_its_figures() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "bench.login_flood", "--quick", "--backend", "sqlite"],
        cwd=REPO, capture_output=True, text=True, timeout=400, check=False,
    )

    assert finished.returncode == 0, finished.stderr
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == "login_flood" and figures["flooders"] == 4 and figures["phones"] == 2
    assert figures["sqlite_reference_reports"] > 0 and figures["sqlite_reference_report_p99_ms"] > 0
    for scenario in ("one_address", "each_address"):
        assert figures[f"sqlite_{scenario}_sign_ins"] > 0 and figures[f"sqlite_{scenario}_report_errors"] == 0
        assert {f"sqlite_{scenario}_rss_growth_mib", f"sqlite_{scenario}_vs_reference_p99"} <= figures.keys()
    assert figures["sqlite_centre_sign_in_status"] == 200, "the flood never keeps the operator out"
    assert "targets_met" in figures
