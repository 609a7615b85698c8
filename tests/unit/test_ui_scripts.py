"""The page scripts' own unit tests (ui/tests/*.test.js: the outbox, Thai and English coverage, Bangkok time),
run by Node's built-in test runner, so the one test command runs them too. The device is put in London to show
that no time on screen depends on the zone it is in."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

UI_TESTS = Path(__file__).resolve().parents[2] / "ui" / "tests"
NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed: ui/tests needs Node 20 or newer (node --test)")
def test_the_page_scripts_pass_their_node_tests() -> None:
    assert NODE is not None
    files = sorted(str(path) for path in UI_TESTS.glob("*.test.js"))
    assert files, f"no tests in {UI_TESTS}"
    run = subprocess.run([NODE, "--test", "--test-reporter=spec", *files], capture_output=True, text=True,
                         timeout=120, env=os.environ | {"TZ": "Europe/London"}, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
