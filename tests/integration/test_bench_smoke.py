"""The event store benchmark runs end to end and prints one JSON line of positive rates (no timing rules)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_sqlite_benchmark_ends_with_json_of_positive_rates() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "bench.event_store", "--quick", "--backend", "sqlite"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    rates = {key: value for key, value in figures.items() if key.endswith("_eps")}
    expected = {"sqlite_append_eps", "sqlite_es_append_eps", "sqlite_replay_eps", "sqlite_es_replay_eps"}
    assert expected <= rates.keys()
    assert all(value > 0 for value in rates.values()), rates
