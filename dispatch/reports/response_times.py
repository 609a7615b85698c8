"""The response-time report: NEMSIS intervals per response, their aggregates, and the referral guarantee."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import chain
from operator import itemgetter
from typing import Any, Final

from sqlalchemy import Engine

from dispatch.projections.intervals import seconds_between
from dispatch.reports import queries
from dispatch.reports.periods import TIME_ZONE_NAME, month_of
from dispatch.reports.queries import ReportFilter
from dispatch.reports.stats import (
    EMPTY,
    INTERVAL_NAMES,
    Stats,
    as_dicts,
    breakdowns,
    grouped_stats,
    percent,
    stats_of,
)

# What a referral row tells an official about why it was late, beside its times.
WHY_COLUMNS: Final[tuple[str, ...]] = (
    "at_risk_at", "risk_reason", "predicted_arrival_at", "predicted_late_seconds", "advice", "breached_at",
    "response_seconds", "scene_seconds", "transport_seconds",
)
OPEN_STATUSES: Final[tuple[str, ...]] = ("on_track", "at_risk", "breached")


def response_time_report(engine: Engine, flt: ReportFilter, *, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Intervals per response (one page), their aggregates overall and by zone, triage and month, and the
    referral guarantee's compliance, for the incidents the filter selects."""
    if engine.dialect.name == "postgresql":
        total, aggregates = aggregates_from_database(queries.interval_stats_in_database(engine, flt))
    else:
        total, aggregates = interval_aggregates(queries.interval_columns(engine, flt))
    return {
        "time_zone": TIME_ZONE_NAME,
        "filters": flt.as_dict(),
        "incidents": queries.incident_count(engine, flt),
        **aggregates,
        "referrals": referral_compliance(queries.referral_facts(engine, flt),
                                         queries.referral_details(engine, flt, ("missed", *OPEN_STATUSES))),
        "responses": {
            "total": total, "offset": offset, "limit": limit,
            "rows": queries.response_page(engine, flt, limit=limit, offset=offset) if limit else [],
        },
    }


def interval_aggregates(months: Sequence[tuple[str, Sequence[Sequence[Any]]]]) -> tuple[int, dict[str, Any]]:
    """Per month, rows of (zone, triage, *interval seconds) -> the number of responses, and stats overall and by
    zone, triage and month."""
    zones, triages, *values = _columns(list(chain.from_iterable(month_rows for _month, month_rows in months)))
    intervals = dict(zip(INTERVAL_NAMES, values, strict=True))
    overall, by = breakdowns({"zone": zones, "triage": triages}, intervals)
    return len(zones), {
        "intervals": as_dicts(overall),
        "by_zone": as_dicts(by["zone"]),
        "by_triage": as_dicts(by["triage"]),
        "by_month": {month: _month_stats(month_rows) for month, month_rows in months},
    }


def aggregates_from_database(rows: Sequence[Sequence[Any]]) -> tuple[int, dict[str, Any]]:
    """The same answer as interval_aggregates, from PostgreSQL's grouping-set rows (see
    queries.interval_stats_in_database)."""
    total = 0
    found: dict[str, dict[str, Any]] = {"intervals": {}, "by_zone": {}, "by_triage": {}, "by_month": {}}
    for no_zone, no_triage, no_month, zone, triage, month, count, *measures in rows:
        stats = {name: Stats(*measures[4 * index:4 * index + 4]).as_dict() for index, name in enumerate(INTERVAL_NAMES)}
        match (no_zone, no_triage, no_month):
            case (1, 1, 1):
                total, found["intervals"] = count, stats
            case (0, 1, 1):
                found["by_zone"][zone] = stats
            case (1, 0, 1):
                found["by_triage"][triage] = stats
            case _:
                found["by_month"][month] = stats
    if not total:
        found["intervals"] = {name: EMPTY.as_dict() for name in INTERVAL_NAMES}
    return total, {key: dict(sorted(value.items())) if key != "intervals" else value for key, value in found.items()}


def _month_stats(rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    _zones, _triages, *values = _columns(rows)
    return {name: stats_of(series).as_dict() for name, series in zip(INTERVAL_NAMES, values, strict=True)}


def _columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """(zone, triage, *intervals) rows as columns (itemgetter in C; zip(*rows) is several times slower)."""
    return [list(map(itemgetter(index), rows)) for index in range(2 + len(INTERVAL_NAMES))]


def referral_compliance(facts: Sequence[Sequence[Any]], details: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The guarantee's record: met, missed (with seconds late and why), still open; overall, by zone and month.

    `facts` are (zone, status, has a guarantee, seconds late, requested, arrived, handed over) per referral;
    `details` the whole rows of the missed and open ones.
    """
    guaranteed = [(zone, status, month_of(requested)) for zone, status, has, _late, requested, *_ in facts if has]
    by_zone: dict[str, list[str]] = defaultdict(list)
    by_month: dict[str, list[str]] = defaultdict(list)
    for zone, status, month in guaranteed:
        by_zone[zone].append(status)
        by_month[month].append(status)
    arrived = [(zone, requested, at, handed) for zone, _s, _h, _l, requested, at, handed in facts if at is not None]
    elapsed = [seconds_between(requested, at) for _zone, requested, at, _handed in arrived]
    return {
        "count": len(facts),
        **_tally([status for _zone, status, _month in guaranteed]),
        "without_guarantee": len(facts) - len(guaranteed),
        "late_seconds": stats_of([late for _z, status, has, late, *_ in facts if has and status == "missed"]).as_dict(),
        "elapsed_seconds": stats_of(elapsed).as_dict(),
        "hospital_wall_seconds": stats_of([seconds_between(at, handed) for *_, at, handed in arrived]).as_dict(),
        "elapsed_by_zone": as_dicts(grouped_stats([zone for zone, *_ in arrived], elapsed)),
        "by_zone": {zone: _tally(statuses) for zone, statuses in sorted(by_zone.items())},
        "by_month": {month: _tally(statuses) for month, statuses in sorted(by_month.items())},
        "missed_referrals": [_referral_line(row) for row in details if row["status"] == "missed"],
        "open_referrals": [_referral_line(row) for row in details if row["status"] in OPEN_STATUSES],
    }


def _tally(statuses: Sequence[str]) -> dict[str, Any]:
    met, missed = statuses.count("met"), statuses.count("missed")
    return {"with_guarantee": len(statuses), "met": met, "missed": missed, "open": len(statuses) - met - missed,
            "compliance_percent": percent(met, met + missed)}


def _referral_line(row: dict[str, Any]) -> dict[str, Any]:
    late = row["late_seconds"]
    return {
        "referral_id": row["referral_id"], "incident_id": row["incident_id"], "zone": row["incident_zone"],
        "triage": row["triage"], "source": row["source"], "facility_id": row["facility_id"],
        "resource_id": row["resource_id"], "status": row["status"], "guarantee_minutes": row["guarantee_minutes"],
        "requested_at": row["requested_at"], "deadline_at": row["deadline_at"], "arrived_at": row["arrived_at"],
        "handed_over_at": row["handed_over_at"],
        "elapsed_seconds": seconds_between(row["requested_at"], row["arrived_at"]),
        "late_seconds": late, "minutes_late": round(late / 60, 1) if late is not None else None,
        "hospital_wall_seconds": seconds_between(row["arrived_at"], row["handed_over_at"]),
        **{name: row[name] for name in WHY_COLUMNS},
    }
