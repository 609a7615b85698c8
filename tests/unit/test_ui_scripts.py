"""The page scripts' own unit tests (ui/tests/*.test.js: the outbox, Thai and English coverage, Bangkok time),
run by Node's built-in test runner, so the one test command runs them too. The device is put in London to show
that no time on screen depends on the zone it is in. And every code the server serves the pages (GET
/api/vocabulary) has its Thai and English word in ui/js/i18n.js."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dispatch.domain.vocabulary import CODES

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


# Where the pages find the word for each set the server serves: most under the same name in i18n.js's VOCAB.
WORDS_OF = {"recordable_milestone": "milestone", "resource_kind": "kind"}


@pytest.mark.skipif(NODE is None, reason="node is not installed: reading ui/js/i18n.js needs Node 20 or newer")
def test_every_code_the_server_serves_has_a_word_on_the_pages() -> None:
    assert NODE is not None
    i18n = (UI_TESTS.parent / "js" / "i18n.js").as_uri()
    script = f"import {{ STRINGS, VOCAB }} from {json.dumps(i18n)}; console.log(JSON.stringify({{ STRINGS, VOCAB }}));"
    run = subprocess.run([NODE, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60,
                         check=False)
    assert run.returncode == 0, run.stderr
    pages = json.loads(run.stdout)

    def word(group: str, code: str) -> object:
        if group == "role":
            return pages["STRINGS"].get(f"role_{code}")
        return pages["VOCAB"].get(WORDS_OF.get(group, group), {}).get(code)

    assert [f"{group}.{code}" for group, codes in CODES.items() for code in codes if word(group, code) is None] == []
