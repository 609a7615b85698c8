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
from datetime import datetime
from typing import Any, Final

import orjson
from sqlalchemy import JSON, BigInteger, Connection, Integer, String, Table

from dispatch.adapters.eventlog.tables import UTCDateTime, sqlite_time
from dispatch.projections.rows import Row

Converter = Callable[[Any], Any]
_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")  # NUL (PostgreSQL text) and lone surrogates (UTF-8)
REPLACEMENT: Final[str] = "\ufffd"
_INT32: Final[tuple[int, int]] = (-(2**31), 2**31 - 1)
_INT64: Final[tuple[int, int]] = (-(2**63), 2**63 - 1)


def clean_text(value: str) -> str:
    """`value` with NUL and lone surrogates replaced by U+FFFD: text both databases and JSON can hold."""
    if value.isascii():
        return value if "\x00" not in value else value.replace("\x00", REPLACEMENT)
    return value if _UNSTORABLE.search(value) is None else _UNSTORABLE.sub(REPLACEMENT, value)


def clean_value(value: Any) -> Any:
    """`clean_text` over a JSON-like value: strings, and the keys and items of dicts and lists within. The value
    itself when nothing in it needed cleaning (the usual case: no copy)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        cleaned = {clean_text(key) if isinstance(key, str) else key: clean_value(item) for key, item in value.items()}
        same = all(k1 is k2 and v1 is v2 for (k1, v1), (k2, v2) in zip(cleaned.items(), value.items(), strict=True))
        return value if same else cleaned
    if isinstance(value, list | tuple):
        items = [clean_value(item) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def _fit_text(value: str, length: int) -> str:
    value = clean_text(value)
    return value if len(value) <= length else value[:length]


def _json_needs_cleaning(value: Any) -> bool:
    try:
        return b"\\u0000" in orjson.dumps(value)  # one pass in C; NUL is the only escape PostgreSQL refuses
    except TypeError:
        return True  # a lone surrogate, which JSON cannot carry


_UNBOUNDED: Final[int] = 2**62
def _sqlite_time(value: datetime | None) -> str | None:
    return None if value is None else sqlite_time(value)


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
        # What `fit` checks, by kind: text (with its column's length; keys are never cut), integers (with their
        # column's range) and JSON.
        self.texts: list[tuple[str, int]] = []
        self.integers: list[tuple[str, int, int]] = []
        self.documents: list[str] = []
        for column in table.columns:
            kind = column.type
            if isinstance(kind, JSON):
                self.documents.append(column.name)
            elif isinstance(kind, String):  # Text is a String without a length
                length = kind.length if kind.length is not None and not column.primary_key else _UNBOUNDED
                self.texts.append((column.name, length))
            elif isinstance(kind, Integer):  # BigInteger is an Integer
                self.integers.append((column.name, *(_INT64 if isinstance(kind, BigInteger) else _INT32)))

    def fit(self, row: Row) -> Row:
        """`row` as this table can store it on either database (see the module's docstring): `row` itself when it
        fits already (checked inline: this runs for every row a rebuild writes), a fitted copy otherwise."""
        changed: dict[str, Any] = {}
        for name, length in self.texts:
            value = row.get(name)
            if value is None or (value.isascii() and "\x00" not in value and len(value) <= length):
                continue
            if (fitted := _fit_text(value, length)) != value:
                changed[name] = fitted
        for name, low, high in self.integers:
            value = row.get(name)
            if value is not None and not low <= value <= high:
                changed[name] = min(max(value, low), high)
        for name in self.documents:
            value = row.get(name)
            if value is not None and _json_needs_cleaning(value):
                changed[name] = clean_value(value)
        return row | changed if changed else row

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
