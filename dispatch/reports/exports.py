"""Exports: CSV that opens in Excel with Thai intact, NEMSIS-style eTimes CSV, and GeoJSON for GIS."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Final

from dispatch.domain.vocabulary import NEMSIS_ETIMES, local
from dispatch.projections.intervals import seconds_between
from dispatch.reports.queries import MILESTONE_TIMES
from dispatch.reports.stats import INTERVAL_NAMES

# Excel reads a CSV as the machine's code page unless it starts with a UTF-8 byte order mark; with it, Thai
# descriptions open intact.
BOM: Final[str] = "\ufeff"
# A cell starting with one of these is a formula to a spreadsheet: text typed on a phone must stay text.
_FORMULA_STARTS: Final[tuple[str, ...]] = ("=", "+", "-", "@", "\t", "\r")
_CHUNK_ROWS: Final[int] = 2000

RESPONSE_COLUMNS: Final[tuple[str, ...]] = (
    "response_id", "incident_id", "resource_id", "kind", "zone", "source", "triage", "triage_dispatch",
    "triage_scene", "category", "description", *MILESTONE_TIMES, "late_entries", *INTERVAL_NAMES,
)
# NEMSIS v3 eTimes element per milestone column, in the standard's order.
NEMSIS_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("incident_id", "incident_id"), ("resource_id", "resource_id"), ("kind", "kind"), ("zone", "zone"),
    ("triage", "triage"),
    *((NEMSIS_ETIMES[column.removesuffix("_at")], column) for column in MILESTONE_TIMES),
)


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: times in Bangkok local ISO 8601 with their offset, text never a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return local(value).isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """UTF-8 CSV with a BOM, quoted where needed (commas, quotes, line breaks), streamed in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # the "excel" dialect: minimal quoting, doubled quotes, CRLF
    buffer.write(BOM)
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(value) for value in row])
        if count % _CHUNK_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def response_csv(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    return csv_chunks(RESPONSE_COLUMNS, ([row[name] for name in RESPONSE_COLUMNS] for row in rows))


def nemsis_csv(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """One line per resource response with its eTimes.01 ... eTimes.14 (empty where not reached)."""
    header = [name for name, _column in NEMSIS_COLUMNS]
    return csv_chunks(header, ([row[column] for _name, column in NEMSIS_COLUMNS] for row in rows))


def geojson(features: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (RFC 7946: WGS84, [lon, lat]) of incidents with their report facts."""
    return {"type": "FeatureCollection", "features": [_feature(row) for row in features]}


def _feature(row: dict[str, Any]) -> dict[str, Any]:
    referral = row["referral"] or {}
    properties = {
        "incident_id": row["incident_id"], "zone": row["zone"], "source": row["source"],
        "category": row["category"], "triage": row["triage"], "triage_dispatch": row["triage_dispatch"],
        "triage_scene": row["triage_scene"], "patients": row["patients"], "site_id": row["site_id"],
        "description": row["description"], "reported_at": _iso(row["reported_at"]),
        "reported_local": local(row["reported_at"]).isoformat(), "reached_at": _iso(row["reached_at"]),
        "reach_seconds": seconds_between(row["reported_at"], row["reached_at"]),
        "closed_at": _iso(row["closed_at"]), "outcome": row["outcome"], "deceased": row["deceased"],
        "referral_status": referral.get("status"),
    }
    return {"type": "Feature", "id": row["incident_id"],
            "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]}, "properties": properties}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
