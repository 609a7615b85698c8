"""The rows a projection works on while applying a batch: loaded once, changed in memory, written once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

from sqlalchemy import Table

from dispatch.domain.envelope import StoredEvent

Row = dict[str, Any]


@dataclass(frozen=True)
class Change:
    """A read-model row as it stands after `position`; `row` None means the row was removed."""

    view: str
    key: str
    position: int
    row: Row | None


@dataclass(frozen=True)
class RowGroup:
    """Every row of `table` whose `column` holds `value`: how an event names rows it changes all together
    without knowing their keys (a triage changes each of the incident's responses)."""

    table: str
    column: str
    value: str


# What a projection asks the runner to load for an event: one row by (table name, key), or a group of rows.
RowKey: TypeAlias = tuple[str, str] | RowGroup


class RowSet:
    """Rows by (table name, key) for one batch, with the ones changed since loading marked dirty."""

    def __init__(self, loaded: dict[tuple[str, str], Row] | None = None) -> None:
        self._rows: dict[tuple[str, str], Row] = dict(loaded or {})
        self.dirty: dict[tuple[str, str], int] = {}
        # (table, column) -> column value -> keys, in the order first put; kept from the first group() on, so a
        # rebuild holding every row in memory finds a group without scanning its table at each event.
        self._groups: dict[tuple[str, str], dict[Any, dict[str, None]]] = {}
        self._grouped_by: dict[str, list[str]] = {}

    def get(self, table: str, key: str) -> Row | None:
        return self._rows.get((table, key))

    def put(self, table: str, key: str, row: Row, position: int) -> None:
        for column in self._grouped_by.get(table, ()):
            self._regroup(table, column, key, row)
        self._rows[(table, key)] = row
        self.dirty[(table, key)] = position

    def group(self, table: str, column: str, value: Any) -> list[Row]:
        """The rows of `table` whose `column` is `value` (of those loaded or put: see RowGroup)."""
        groups = self._groups.get((table, column))
        if groups is None:
            groups = self._groups[(table, column)] = {}
            self._grouped_by.setdefault(table, []).append(column)
            for (name, key), row in self._rows.items():
                if name == table:
                    groups.setdefault(row[column], {})[key] = None
        return [self._rows[(table, key)] for key in groups.get(value, {})]

    def _regroup(self, table: str, column: str, key: str, row: Row) -> None:
        groups = self._groups[(table, column)]
        before = self._rows.get((table, key))
        if before is not None:
            if before[column] == row[column]:
                return  # most puts change other columns of a row already in its group
            groups[before[column]].pop(key, None)
        groups.setdefault(row[column], {})[key] = None

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

    def keys(self, stored: StoredEvent) -> Iterable[RowKey]:
        """The rows `apply` will read for this event, so a batch can load them in one query."""
        ...

    def apply(self, rows: RowSet, stored: StoredEvent) -> None:
        """Change the rows for this event. Pure over `rows`: no I/O, no clock."""
        ...


def replay_in_memory(projection: Projection, events: Sequence[StoredEvent]) -> RowSet:
    """The projection's rows as of the last of `events`, built without touching the database (time travel)."""
    rows = RowSet()
    for stored in events:
        projection.apply(rows, stored)
    return rows
