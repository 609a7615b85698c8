"""A pytest plugin (`-p tests.without_drivers`) that makes the database, Redis, queue, migration and browser
libraries unimportable, as on a machine where only the unit tier's needs are installed.

Loaded before any test module or conftest.py, so an import of one of them, however indirect, fails the
collection with the name of the library.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

from tests.drivers import DRIVERS


class NoDrivers:
    """A meta path finder consulted before all others: it refuses the drivers and leaves the rest alone."""

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if name.partition(".")[0] in DRIVERS:
            raise ModuleNotFoundError(f"the unit tier imported {name}, which only other tiers may use", name=name)
        return None


sys.meta_path.insert(0, NoDrivers())
