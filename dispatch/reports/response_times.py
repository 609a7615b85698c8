"""The response-time report: NEMSIS intervals per response, their aggregates, and the referral guarantee."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import chain
from typing import Any, Final

import numpy as np
from sqlalchemy import Engine

from dispatch.domain.vocabulary import TIME_ZONE_NAME, TRIAGES, ZONES
from dispatch.reports import queries
from dispatch.reports.queries import ReportFilter
from dispatch.reports.stats import INTERVAL_NAMES, Grouping, as_dicts, breakdowns, grouped_stats, percent, stats_of

# What a referral row tells an official about why it was late, beside its times.
WHY_COLUMNS: Final[tuple[str, ...]] = (
    "at_risk_at", "risk_reason", "predicted_arrival_at", "predicted_late_seconds", "advice", "breached_at",
    "response_seconds", "scene_seconds", "transport_seconds",
)
OPEN_STATUSES: Final[tuple[str, ...]] = ("on_track", "at_risk", "breached")


def response_time_report(engine: Engine, flt: ReportFilter, *, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Intervals per response (one page), their aggregates overall and by zone, triage and month, and the
    referral guarantee's compliance, for the incidents the filter selects."""
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
    """Per month, rows of (zone number, triage number, *interval seconds) as queries.interval_columns reads them
    -> the number of responses, and stats overall and by zone, triage and month."""
    width = 2 + len(INTERVAL_NAMES)
    count = sum(len(rows) for _month, rows in months)
    every_value = chain.from_iterable(chain.from_iterable(rows for _month, rows in months))
    table = np.fromiter(every_value, dtype=np.float64, count=count * width).reshape(count, width)
    dimensions = {
        "zone": Grouping(ZONES, table[:, 0].astype(np.int64)),
        "triage": Grouping(TRIAGES, table[:, 1].astype(np.int64)),
        "month": Grouping(tuple(month for month, _rows in months),
                          np.repeat(np.arange(len(months), dtype=np.int64), [len(rows) for _month, rows in months])),
    }
    overall, by = breakdowns(dimensions, {name: table[:, 2 + index] for index, name in enumerate(INTERVAL_NAMES)})
    return count, {
        "intervals": as_dicts(overall),
        "by_zone": as_dicts(by["zone"]),
        "by_triage": as_dicts(by["triage"]),
        "by_month": as_dicts(by["month"]),
    }


def referral_compliance(facts: Sequence[Sequence[Any]], details: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The guarantee's record: met, missed (with seconds late and why), still open; overall, by zone and month.

    `facts` are (month of the request, zone, status, has a guarantee, seconds late, elapsed seconds, hospital
    wall seconds) per referral; `details` the whole rows of the missed and open ones.
    """
    # Whole tuples unpacked, never with *rest: a list a referral made a year's compliance several times slower.
    guaranteed = [(zone, status, month, late) for month, zone, status, has, late, _e, _w in facts if has]
    by_zone: dict[str, list[str]] = defaultdict(list)
    by_month: dict[str, list[str]] = defaultdict(list)
    for zone, status, month, _late in guaranteed:
        by_zone[zone].append(status)
        by_month[month].append(status)
    arrived = [(zone, elapsed, wall) for _m, zone, _s, _h, _l, elapsed, wall in facts if elapsed is not None]
    elapsed = [seconds for _zone, seconds, _wall in arrived]
    return {
        "count": len(facts),
        **_tally([status for _zone, status, _month, _late in guaranteed]),
        "without_guarantee": len(facts) - len(guaranteed),
        "late_seconds": stats_of([late for _z, status, _m, late in guaranteed if status == "missed"]).as_dict(),
        "elapsed_seconds": stats_of(elapsed).as_dict(),
        "hospital_wall_seconds": stats_of([wall for _zone, _elapsed, wall in arrived]).as_dict(),
        "elapsed_by_zone": as_dicts(grouped_stats([zone for zone, _elapsed, _wall in arrived], elapsed)),
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
        "elapsed_seconds": row["elapsed_seconds"],
        "late_seconds": late, "minutes_late": round(late / 60, 1) if late is not None else None,
        "hospital_wall_seconds": row["hospital_wall_seconds"],
        **{name: row[name] for name in WHY_COLUMNS},
    }
