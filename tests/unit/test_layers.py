"""The package's shape is a rule: layers import downwards only, and no module imports itself round a circle.

The layers and the domain's purity are import-linter contracts in pyproject.toml; the circles are checked
here, counting imports inside functions and under TYPE_CHECKING, which hide a cycle without breaking it.
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import grimp
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_the_layer_contracts_hold(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_no_module_imports_itself_round_a_circle() -> None:
    graph = grimp.build_graph("dispatch", exclude_type_checking_imports=False)
    imports = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    try:
        TopologicalSorter(imports).prepare()
    except CycleError as cycle:
        raise AssertionError(f"import cycle: {' -> '.join(cycle.args[1])}") from None
