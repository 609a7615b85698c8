"""The unit tier runs on a machine without servers or drivers: with psycopg, Redis, RQ, alembic and Playwright
unimportable (tests/without_drivers.py), tests/unit still collects and passes.

Each check runs pytest in a child process, so the drivers this process has loaded cannot hide an import.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.drivers import DRIVERS

ROOT = Path(__file__).resolve().parents[1]
GUARD_SECONDS = 300  # a hang guard only; collecting takes seconds, the whole tier well under a minute


def pytest_without_drivers(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.without_drivers", "-p", "no:cacheprovider",
                           "tests/unit", "-q", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=GUARD_SECONDS, check=False)


@pytest.mark.parametrize("driver", sorted(DRIVERS))
def test_the_plugin_makes_each_driver_unimportable(driver: str) -> None:
    tried = subprocess.run([sys.executable, "-c", f"import tests.without_drivers, {driver}"],
                           cwd=ROOT, capture_output=True, text=True, timeout=GUARD_SECONDS, check=False)

    assert tried.returncode != 0 and f"imported {driver}," in tried.stderr, tried.stderr


def test_the_unit_tier_collects_without_any_driver() -> None:
    collected = pytest_without_drivers("--collect-only")

    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    assert "tests collected" in collected.stdout


@pytest.mark.slow
def test_the_unit_tier_passes_without_any_driver() -> None:
    ran = pytest_without_drivers()

    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
