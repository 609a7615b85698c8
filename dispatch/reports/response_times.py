"""The response-time report: NEMSIS intervals per response, their aggregates, and the referral guarantee."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Engine

from dispatch.projections.intervals import seconds_between
from dispatch.reports import queries
from dispatch.reports.periods import TIME_ZONE_NAME, month_of
from dispatch.reports.queries import ReportFilter
from dispatch.reports.stats import INTERVAL_NAMES, as_dicts, breakdowns, grouped_stats, percent, stats_of

# What a referral row tells an official about why it was late, beside its times.
WHY_COLUMNS: Final[tuple[str, ...]] = (
    "at_risk_at", "risk_reason", "predicted_arrival_at", "predicted_late_seconds", "advice", "breached_at",
    "response_seconds", "scene_seconds", "transport_seconds",
)
OPEN_STATUSES: Final[frozenset[str]] = frozenset({"on_track", "at_risk", "breached"})


def response_time_report(engine: Engine, flt: ReportFilter, *, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Intervals per response (one page), their aggregates overall and by zone, triage and month, and the
    referral guarantee's compliance, for the incidents the filter selects."""
    columns = queries.interval_columns(engine, flt)
    return {
        "time_zone": TIME_ZONE_NAME,
        "filters": flt.as_dict(),
        "incidents": queries.incident_count(engine, flt),
        **interval_aggregates(columns),
        "referrals": referral_compliance(queries.referral_rows(engine, flt)),
        "responses": {
            "total": len(columns), "offset": offset, "limit": limit,
            "rows": queries.response_page(engine, flt, limit=limit, offset=offset) if limit else [],
        },
    }


def interval_aggregates(columns: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """Rows of (zone, triage, month, *interval seconds) -> stats overall and by zone, triage and month."""
    zones, triages, months, *values = zip(*columns, strict=True) if columns else ((),) * (3 + len(INTERVAL_NAMES))
    intervals = dict(zip(INTERVAL_NAMES, values, strict=True))
    by = breakdowns({"zone": zones, "triage": triages, "month": months}, intervals)
    return {
        "intervals": {name: stats_of(series).as_dict() for name, series in intervals.items()},
        "by_zone": as_dicts(by["zone"]),
        "by_triage": as_dicts(by["triage"]),
        "by_month": as_dicts(by["month"]),
    }


def referral_compliance(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The guarantee's record: met, missed (with seconds late and why), still open, overall, by zone and month."""
    guaranteed = [row for row in rows if row["deadline_at"] is not None]
    missed = [row for row in guaranteed if row["status"] == "missed"]
    arrived = [row for row in rows if row["arrived_at"] is not None]
    elapsed = [seconds_between(row["requested_at"], row["arrived_at"]) for row in arrived]
    return {
        "count": len(rows),
        **_tally(guaranteed),
        "without_guarantee": len(rows) - len(guaranteed),
        "late_seconds": stats_of([row["late_seconds"] for row in missed]).as_dict(),
        "elapsed_seconds": stats_of(elapsed).as_dict(),
        "hospital_wall_seconds": stats_of(
            [seconds_between(row["arrived_at"], row["handed_over_at"]) for row in arrived]).as_dict(),
        "elapsed_by_zone": as_dicts(grouped_stats([row["incident_zone"] for row in arrived], elapsed)),
        "by_zone": {zone: _tally([r for r in guaranteed if r["incident_zone"] == zone])
                    for zone in sorted({row["incident_zone"] for row in guaranteed})},
        "by_month": {month: _tally([r for r in guaranteed if month_of(r["requested_at"]) == month])
                     for month in sorted({month_of(row["requested_at"]) for row in guaranteed})},
        "missed_referrals": [_referral_line(row) for row in missed],
        "open_referrals": [_referral_line(row) for row in guaranteed if row["status"] in OPEN_STATUSES],
    }


def _tally(guaranteed: Sequence[dict[str, Any]]) -> dict[str, Any]:
    met = sum(1 for row in guaranteed if row["status"] == "met")
    missed = sum(1 for row in guaranteed if row["status"] == "missed")
    return {"with_guarantee": len(guaranteed), "met": met, "missed": missed,
            "open": len(guaranteed) - met - missed, "compliance_percent": percent(met, met + missed)}


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
