"""The rows a projection works on while applying a batch: loaded once, changed in memory, written once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Table

from dispatch.events.envelope import StoredEvent

Row = dict[str, Any]


@dataclass(frozen=True)
class Change:
    """A read-model row as it stands after `position`; `row` None means the row was removed."""

    view: str
    key: str
    position: int
    row: Row | None


class RowSet:
    """Rows by (table name, key) for one batch, with the ones changed since loading marked dirty."""

    def __init__(self, loaded: dict[tuple[str, str], Row] | None = None) -> None:
        self._rows: dict[tuple[str, str], Row] = dict(loaded or {})
        self.dirty: dict[tuple[str, str], int] = {}

    def get(self, table: str, key: str) -> Row | None:
        return self._rows.get((table, key))

    def put(self, table: str, key: str, row: Row, position: int) -> None:
        self._rows[(table, key)] = row
        self.dirty[(table, key)] = position

    def rows(self, table: str) -> list[Row]:
        return [row for (name, _key), row in self._rows.items() if name == table]

    def changed(self, table: str) -> list[tuple[str, Row, int]]:
        return [(key, self._rows[(name, key)], position) for (name, key), position in self.dirty.items()
                if name == table]


class Projection(Protocol):
    """A named read model: the tables it owns and how each event changes their rows."""

    name: str

    @property
    def tables(self) -> tuple[Table, ...]: ...

    def keys(self, stored: StoredEvent) -> Iterable[tuple[str, str]]:
        """The (table, key) rows `apply` will read for this event, so a batch can load them in one query."""
        ...

    def apply(self, rows: RowSet, stored: StoredEvent) -> None:
        """Change the rows for this event. Pure over `rows`: no I/O, no clock."""
        ...
