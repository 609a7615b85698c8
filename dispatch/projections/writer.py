"""Writing read-model rows through the driver's executemany, converting values as the column types would.

SQLAlchemy's per-value bind processing was most of a rebuild's write time (bench/live_board.py); the
conversions a read model needs are few: UTC times, JSON, and plain values.

Before that, every row is fitted to its table (`BulkInsert.fit`), the same way on both databases: any event the
log holds must project, and PostgreSQL refuses what SQLite takes (NUL in text, a name longer than its column, an
integer beyond 32 bits). The log keeps the exact values; a read model shows them fitted: NUL and lone surrogates
become U+FFFD, a text longer than its column is cut to it, a count is clamped to the column's range. Keys are
cleaned but never cut (two ids must never become one row); a key too long for its column stops the projector,
visibly (runner.py), rather than merge two incidents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from sqlalchemy import JSON, BigInteger, Connection, Integer, String, Table, Text

from dispatch.events.tables import UTCDateTime
from dispatch.projections.rows import Row

Converter = Callable[[Any], Any]
_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")  # NUL (PostgreSQL text) and lone surrogates (UTF-8)
REPLACEMENT: Final[str] = "\ufffd"
_INT32: Final[tuple[int, int]] = (-(2**31), 2**31 - 1)
_INT64: Final[tuple[int, int]] = (-(2**63), 2**63 - 1)


def clean_text(value: str) -> str:
    """`value` with NUL and lone surrogates replaced by U+FFFD: text both databases and JSON can hold."""
    if value.isascii() and "\x00" not in value:
        return value
    return _UNSTORABLE.sub(REPLACEMENT, value)


def clean_value(value: Any) -> Any:
    """`clean_text` over a JSON-like value: strings, and the keys and items of dicts and lists within."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(key) if isinstance(key, str) else key: clean_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean_value(item) for item in value]
    return value


def _text_fitter(length: int | None) -> Converter:
    def fit(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = clean_text(value)
        return value if length is None or len(value) <= length else value[:length]

    return fit


def _int_fitter(bounds: tuple[int, int]) -> Converter:
    low, high = bounds

    def fit(value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
            return min(max(value, low), high)
        return value

    return fit


def _fitter(column: Any) -> Converter | None:
    """How a value is fitted to `column`; None when any value the projections make fits as it is."""
    column_type = column.type
    if isinstance(column_type, JSON):
        return clean_value
    if isinstance(column_type, Text):
        return _text_fitter(None)
    if isinstance(column_type, String):
        return _text_fitter(None if column.primary_key else column_type.length)
    if isinstance(column_type, BigInteger):
        return _int_fitter(_INT64)
    if isinstance(column_type, Integer):
        return _int_fitter(_INT32)
    return None


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
        self.fitters: list[tuple[str, Converter]] = [
            (column.name, fitter) for column in table.columns if (fitter := _fitter(column)) is not None]

    def fit(self, row: Row) -> Row:
        """`row` as this table can store it on either database (see the module's docstring)."""
        fitted = dict(row)
        for name, fit in self.fitters:
            value = fitted.get(name)
            if value is not None:
                fitted[name] = fit(value)
        return fitted

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
