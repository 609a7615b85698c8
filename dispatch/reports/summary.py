"""The provincial indicators for a year: reach of critical and urgent patients, deaths, referrals, savings."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Final

from sqlalchemy import Engine

from dispatch.domain.vocabulary import TIME_ZONE_NAME
from dispatch.reports import queries
from dispatch.reports.periods import year_bounds
from dispatch.reports.stats import percent

# "Triage level 1 / 2" in provincial reports: critical and urgent patients (DESIGN.md §1).
RED_YELLOW: Final[tuple[str, ...]] = ("red", "yellow")
# The province's commitment: deaths from maritime accidents fall by more than 10% a year.
DEATHS_TARGET_CHANGE_PERCENT: Final[float] = -10.0


def year_summary(engine: Engine, year: int, *, saving_thb: int, saving_zones: Collection[str]) -> dict[str, Any]:
    """The indicators for Bangkok calendar year `year`, from the read models; the cost saved counts the referrals
    of `saving_zones` only."""
    start, end = year_bounds(year)
    previous_start, _ = year_bounds(year - 1)
    incidents = queries.incident_tally(engine, previous_start, start, end)
    referrals = queries.referral_tally(engine, start, end)
    return {"year": year, "time_zone": TIME_ZONE_NAME, "from": start, "to": end,
            **summarise(year, incidents, referrals, saving_thb=saving_thb, saving_zones=saving_zones)}


def summarise(year: int, incidents: Sequence[Sequence[Any]], referrals: Sequence[Sequence[Any]], *,
              saving_thb: int, saving_zones: Collection[str]) -> dict[str, Any]:
    """The indicators from the tallies: incidents as (this year, triage, reached, count, deaths) and
    referrals as (zone, status, has a guarantee, count, seconds late)."""
    this_year = [(triage, bool(reached), int(count)) for later, triage, reached, count, _ in incidents if later]
    deaths = sum(int(dead) for later, *_rest, dead in incidents if later)
    deaths_before = sum(int(dead) for later, *_rest, dead in incidents if not later)
    by_triage: dict[str, int] = {}
    for triage, _was_reached, count in this_year:
        by_triage[triage] = by_triage.get(triage, 0) + count
    referral_count = sum(int(count) for *_rest, count, _late in referrals)
    # The saving is what the seamless referral spares a patient, so only the zones that refer that way count it.
    saving_count = sum(int(count) for zone, *_rest, count, _late in referrals if zone in saving_zones)
    return {
        "incidents": {"count": sum(by_triage.values()), "by_triage": dict(sorted(by_triage.items()))},
        "red_yellow_reached": _reached(this_year),
        "deaths": _deaths(year, deaths, deaths_before),
        "referrals": {"count": referral_count, **_guarantee([row[1:] for row in referrals])},
        "saving_per_referral_thb": saving_thb,
        "cost_saved_zones": sorted(saving_zones),
        "cost_saved_referrals": saving_count,
        "cost_saved_thb": saving_count * saving_thb,
    }


def _reached(incidents: Sequence[tuple[str, bool, int]]) -> dict[str, Any]:
    """Red and yellow incidents a resource reached (on scene or at the patient), together and each."""

    def share(codes: tuple[str, ...]) -> dict[str, Any]:
        total = sum(count for triage, _reached, count in incidents if triage in codes)
        reached = sum(count for triage, was_reached, count in incidents if triage in codes and was_reached)
        return {"reached": reached, "of": total, "percent": percent(reached, total)}

    return {**share(RED_YELLOW), "by_triage": {code: share((code,)) for code in RED_YELLOW}}


def _deaths(year: int, deaths: int, before: int) -> dict[str, Any]:
    change_percent = round(100.0 * (deaths - before) / before, 1) if before else None
    return {
        "count": deaths, "previous_year": {"year": year - 1, "count": before}, "change": deaths - before,
        "change_percent": change_percent, "target_change_percent": DEATHS_TARGET_CHANGE_PERCENT,
        "fell_more_than_target": None if change_percent is None else change_percent < DEATHS_TARGET_CHANGE_PERCENT,
    }


def _guarantee(referrals: Sequence[Sequence[Any]]) -> dict[str, Any]:
    guaranteed = [(status, int(count), int(late)) for status, has, count, late in referrals if has]
    met = sum(count for status, count, _late in guaranteed if status == "met")
    missed = sum(count for status, count, _late in guaranteed if status == "missed")
    with_guarantee = sum(count for _status, count, _late in guaranteed)
    late = sum(late for status, _count, late in guaranteed if status == "missed")
    return {"with_guarantee": with_guarantee, "met": met, "missed": missed, "open": with_guarantee - met - missed,
            "compliance_percent": percent(met, met + missed), "late_seconds_total": late}
