"""Writing read-model rows through the driver's executemany, converting values as the column types would.

SQLAlchemy's per-value bind processing was most of a rebuild's write time (bench/live_board.py); the
conversions a read model needs are few: UTC times, JSON, and plain values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, Table

from dispatch.events.tables import UTCDateTime
from dispatch.projections.rows import Row

Converter = Callable[[Any], Any]


def _sqlite_time(value: datetime | None) -> str | None:
    # The text SQLAlchemy's DateTime stores on SQLite, so ORM and Core reads agree with these rows.
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _same(value: Any) -> Any:
    return value


class BulkInsert:
    """INSERT many rows of one table in one driver call."""

    def __init__(self, table: Table, dialect_name: str) -> None:
        quote = '"{}"'.format
        self.columns = [column.name for column in table.columns]
        placeholder = "?" if dialect_name == "sqlite" else "%s"
        self.sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in self.columns)}) "
                    f"VALUES ({', '.join([placeholder] * len(self.columns))})")
        # PostgreSQL takes many rows fastest through COPY; SQLite has no COPY and executemany is its fast path.
        self.copy = (f"COPY {quote(table.name)} ({', '.join(quote(c) for c in self.columns)}) FROM STDIN"
                     if dialect_name == "postgresql" else None)
        self.converters: list[Converter] = [self._converter(column.type, dialect_name) for column in table.columns]

    @staticmethod
    def _converter(column_type: Any, dialect_name: str) -> Converter:
        if isinstance(column_type, UTCDateTime):
            return _sqlite_time if dialect_name == "sqlite" else _same
        if isinstance(column_type, JSON):
            return _json
        return _same

    def run(self, db: Connection, rows: Sequence[Row]) -> None:
        if not rows:
            return
        pairs = list(zip(self.columns, self.converters, strict=True))
        values = [tuple(convert(row.get(name)) for name, convert in pairs) for row in rows]
        cursor = db.connection.cursor()  # the DB-API connection of this SQLAlchemy transaction
        try:
            if self.copy is not None and len(values) > 1:
                with cursor.copy(self.copy) as copy:
                    for value in values:
                        copy.write_row(value)
            else:
                cursor.executemany(self.sql, values)
        finally:
            cursor.close()
