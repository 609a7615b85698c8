"""What the package declares is what it uses: every package dispatch/ imports (or reads files from) is a
dependency in pyproject.toml, the version is written once, and the licence file is the one pyproject names."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import packages_distributions, version
from pathlib import Path
from typing import Any

import dispatch

REPO = Path(__file__).resolve().parents[2]
PYPROJECT: dict[str, Any] = tomllib.loads((REPO / "pyproject.toml").read_text())


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_packages() -> Iterator[tuple[str, Path]]:
    """Top-level names dispatch/ imports, or reads package files from with importlib.resources.files("...")."""
    for path in sorted((REPO / "dispatch").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "files"
                  and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                names = [node.args[0].value]
            else:
                continue
            for name in names:
                yield name.partition(".")[0], path.relative_to(REPO)


def test_every_package_the_code_uses_is_a_declared_dependency() -> None:
    declared = {normalized(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0])
                for requirement in PYPROJECT["project"]["dependencies"]}
    providers = packages_distributions()
    undeclared = {
        f"{name} ({where})" for name, where in imported_packages()
        if name not in sys.stdlib_module_names and name != "dispatch"
        and not declared & {normalized(distribution) for distribution in providers.get(name, [name])}
    }

    assert undeclared == set()


def test_the_frameworks_the_code_reaches_into_are_bounded_above() -> None:
    bounded = {normalized(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0])
               for requirement in PYPROJECT["project"]["dependencies"] if "<" in requirement}

    assert {"fastapi", "starlette", "pydantic", "typer"} <= bounded


def test_the_version_is_written_once_in_the_package() -> None:
    assert "version" in PYPROJECT["project"]["dynamic"] and "version" not in PYPROJECT["project"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "dispatch.__version__"}
    assert version("andaman-dispatch") == dispatch.__version__


def test_the_licence_is_the_apache_licence_pyproject_names() -> None:
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in text
