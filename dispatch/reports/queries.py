"""The SQL behind the reports: filtered reads of the read models, joined on the incident's facts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, Engine, Select, and_, case, func, select, text, tuple_

from dispatch.projections.tables import BOARD, INCIDENT_FACTS, REFERRALS, RESPONSES
from dispatch.reports.periods import UTC_OFFSET_HOURS, months_between
from dispatch.reports.stats import INTERVAL_NAMES

FACTS, RESPONSE, REFERRAL, BOARD_ROW = INCIDENT_FACTS.c, RESPONSES.c, REFERRALS.c, BOARD.c
# The triage a report counts by: the scene code (RC) where the crew recorded one, else the dispatch code
# (IDC). The crew saw the patient; the dispatcher heard a caller. Provincial "triage level 1 / 2" means
# how ill the patient was, and an incident no crew reached still counts by the code it was sent with.
REPORT_TRIAGE: Final[ColumnElement[str]] = func.coalesce(FACTS.triage_scene, FACTS.triage_dispatch)
MILESTONE_TIMES: Final[tuple[str, ...]] = (
    "reported_at", "resource_notified_at", "en_route_at", "on_scene_at", "at_patient_at", "left_scene_at",
    "at_destination_at", "handed_over_at", "back_in_service_at", "cancelled_at",
)
_CHUNK_ROWS: Final[int] = 5000


@dataclass(frozen=True)
class ReportFilter:
    """Which incidents a report covers: reported (or referred) in [from_at, to_at), in these zones, triage
    codes and sources; an empty tuple means all."""

    from_at: datetime | None = None
    to_at: datetime | None = None
    zones: tuple[str, ...] = ()
    triages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.from_at, "to": self.to_at, "zone": list(self.zones), "triage": list(self.triages),
                "source": list(self.sources)}


def _conditions(flt: ReportFilter, moment: Any) -> list[ColumnElement[bool]]:
    """WHERE terms: `moment` (the column the period applies to) in range, and the incident's attributes."""
    terms: list[ColumnElement[bool]] = []
    if flt.from_at is not None:
        terms.append(moment >= flt.from_at)
    if flt.to_at is not None:
        terms.append(moment < flt.to_at)
    if flt.zones:
        terms.append(FACTS.zone.in_(flt.zones))
    if flt.triages:
        terms.append(REPORT_TRIAGE.in_(flt.triages))
    if flt.sources:
        terms.append(FACTS.source.in_(flt.sources))
    return terms


def _responses(flt: ReportFilter, *columns: Any) -> Select[Any]:
    joined = RESPONSES.join(INCIDENT_FACTS, FACTS.incident_id == RESPONSE.incident_id)
    return select(*columns).select_from(joined).where(*_conditions(flt, RESPONSE.reported_at))


def interval_columns(engine: Engine, flt: ReportFilter) -> list[tuple[str, Sequence[Sequence[Any]]]]:
    """Per Bangkok month (YYYY-MM), per response: zone, report triage and the five interval seconds (None if
    incomplete). One indexed query a month: the month comes from the query, not from each row."""
    columns = (FACTS.zone, REPORT_TRIAGE, *(RESPONSE[name] for name in INTERVAL_NAMES))
    with engine.connect() as db:
        first, last = db.execute(select(func.min(RESPONSE.reported_at), func.max(RESPONSE.reported_at))).one()
        if first is None:
            return []
        after_last = last + timedelta(microseconds=1)
        months = months_between(max(first, flt.from_at or first), min(after_last, flt.to_at or after_last))
        by_month: list[tuple[str, Sequence[Sequence[Any]]]] = []
        for label, low, high in months:
            if rows := _plain_rows(db, _responses(replace(flt, from_at=low, to_at=high), *columns)):
                by_month.append((label, rows))
    return by_month


def _plain_rows(db: Connection, query: Select[Any]) -> list[Sequence[Any]]:
    """The driver's own tuples, for columns of plain text and integers that need no result processing: a year
    of responses reads in half the time without a Row object each."""
    result = db.execute(query)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def interval_stats_in_database(engine: Engine, flt: ReportFilter) -> list[Sequence[Any]]:
    """PostgreSQL: the aggregates in one pass, as GROUPING SETS of (), zone, triage and Bangkok month. Each row:
    which grouping (zone, triage, month flags), its key, the responses, then per interval count, median, p90
    and max; percentile_disc is nearest-rank, as dispatch.reports.stats computes it on SQLite."""
    bangkok = func.timezone("UTC", RESPONSE.reported_at) + timedelta(hours=UTC_OFFSET_HOURS)
    base = _responses(flt, FACTS.zone.label("zone"), REPORT_TRIAGE.label("triage"),
                      func.to_char(bangkok, "YYYY-MM").label("month"),
                      *(RESPONSE[name] for name in INTERVAL_NAMES)).subquery()
    keys = (base.c.zone, base.c.triage, base.c.month)
    measures = [measure for name in INTERVAL_NAMES for measure in (
        func.count(base.c[name]), func.percentile_disc(0.5).within_group(base.c[name]),
        func.percentile_disc(0.9).within_group(base.c[name]), func.max(base.c[name]))]
    query = (select(*(func.grouping(key) for key in keys), *keys, func.count(), *measures)
             .group_by(func.grouping_sets(text("()"), *(tuple_(key) for key in keys))))
    with engine.connect() as db:
        return list(db.execute(query).all())


def _response_row_columns() -> list[Any]:
    return [
        RESPONSE.response_id, RESPONSE.incident_id, RESPONSE.resource_id, RESPONSE.kind, FACTS.zone, FACTS.source,
        REPORT_TRIAGE.label("triage"), FACTS.triage_dispatch, FACTS.triage_scene, FACTS.category,
        BOARD_ROW.description, *(RESPONSE[name] for name in MILESTONE_TIMES), RESPONSE.late_entries,
        *(RESPONSE[name] for name in INTERVAL_NAMES),
    ]


def _response_rows(flt: ReportFilter) -> Select[Any]:
    joined = (RESPONSES.join(INCIDENT_FACTS, FACTS.incident_id == RESPONSE.incident_id)
              .outerjoin(BOARD, BOARD_ROW.incident_id == RESPONSE.incident_id))
    return (select(*_response_row_columns()).select_from(joined)
            .where(*_conditions(flt, RESPONSE.reported_at))
            .order_by(RESPONSE.reported_at, RESPONSE.incident_id, RESPONSE.resource_notified_at,
                      RESPONSE.response_id))


def response_page(engine: Engine, flt: ReportFilter, *, limit: int, offset: int) -> list[dict[str, Any]]:
    """One page of per-response rows (times, intervals, the incident's zone, triage and description)."""
    with engine.connect() as db:
        return [dict(row) for row in db.execute(_response_rows(flt).limit(limit).offset(offset)).mappings()]


def iter_responses(engine: Engine, flt: ReportFilter) -> Iterator[dict[str, Any]]:
    """Every per-response row of the filter, fetched in chunks (for the CSV exports)."""
    with engine.connect() as db:
        result = db.execution_options(yield_per=_CHUNK_ROWS).execute(_response_rows(flt)).mappings()
        for row in result:
            yield dict(row)


def _referrals(flt: ReportFilter, *columns: Any, carrying_response: bool = False) -> Select[Any]:
    joined = REFERRALS.join(INCIDENT_FACTS, FACTS.incident_id == REFERRAL.incident_id)
    if carrying_response:
        joined = joined.outerjoin(RESPONSES, and_(RESPONSE.incident_id == REFERRAL.incident_id,
                                                  RESPONSE.resource_id == REFERRAL.resource_id))
    return select(*columns).select_from(joined).where(*_conditions(flt, REFERRAL.requested_at))


def referral_facts(engine: Engine, flt: ReportFilter) -> list[Sequence[Any]]:
    """Per referral requested in the period: incident zone, status, has a guarantee, seconds late, requested,
    arrived and handed-over times (what compliance counts)."""
    guaranteed = case((REFERRAL.deadline_at.is_(None), 0), else_=1)
    query = _referrals(flt, FACTS.zone, REFERRAL.status, guaranteed, REFERRAL.late_seconds, REFERRAL.requested_at,
                       REFERRAL.arrived_at, REFERRAL.handed_over_at)
    with engine.connect() as db:
        return list(db.execute(query).all())


def referral_details(engine: Engine, flt: ReportFilter, statuses: Sequence[str]) -> list[dict[str, Any]]:
    """Referrals under a guarantee in these statuses, whole, with the incident's triage and the carrying
    response's intervals: what an official reads to see why one was late."""
    query = (_referrals(flt, REFERRALS, FACTS.zone.label("incident_zone"), FACTS.source,
                        REPORT_TRIAGE.label("triage"), RESPONSE.response_seconds, RESPONSE.scene_seconds,
                        RESPONSE.transport_seconds, carrying_response=True)
             .where(REFERRAL.deadline_at.is_not(None), REFERRAL.status.in_(statuses))
             .order_by(REFERRAL.requested_at, REFERRAL.referral_id))
    with engine.connect() as db:
        return [dict(row) for row in db.execute(query).mappings()]


def incident_count(engine: Engine, flt: ReportFilter) -> int:
    query = select(func.count()).select_from(INCIDENT_FACTS).where(*_conditions(flt, FACTS.reported_at))
    with engine.connect() as db:
        return int(db.execute(query).scalar_one())


def incident_features(engine: Engine, flt: ReportFilter) -> list[dict[str, Any]]:
    """Incidents with their place, for GIS: board row (position, description) and facts (triage, reach)."""
    joined = INCIDENT_FACTS.join(BOARD, BOARD_ROW.incident_id == FACTS.incident_id)
    query = (select(FACTS.incident_id, FACTS.zone, FACTS.source, FACTS.category, REPORT_TRIAGE.label("triage"),
                    FACTS.triage_dispatch, FACTS.triage_scene, FACTS.patients, FACTS.reported_at, FACTS.reached_at,
                    FACTS.closed_at, FACTS.outcome, FACTS.deceased, BOARD_ROW.lat, BOARD_ROW.lon, BOARD_ROW.site_id,
                    BOARD_ROW.description, BOARD_ROW.referral)
             .select_from(joined).where(*_conditions(flt, FACTS.reported_at))
             .order_by(FACTS.reported_at, FACTS.incident_id))
    with engine.connect() as db:
        return [dict(row) for row in db.execute(query).mappings()]


# --- the yearly summary -------------------------------------------------------------------------------


def incident_tally(engine: Engine, start: datetime, split: datetime, end: datetime) -> list[Sequence[Any]]:
    """(in the later part, report triage, reached, incidents, deaths) for incidents reported in [start, end),
    "later" meaning at or after `split`: one pass gives a year and the year before it."""
    later = case((FACTS.reported_at >= split, 1), else_=0)
    reached = case((FACTS.reached_at.is_(None), 0), else_=1)
    query = (select(later, REPORT_TRIAGE, reached, func.count(), func.coalesce(func.sum(FACTS.deceased), 0))
             .where(FACTS.reported_at >= start, FACTS.reported_at < end)
             .group_by(later, REPORT_TRIAGE, reached))
    with engine.connect() as db:
        return list(db.execute(query).all())


def referral_tally(engine: Engine, start: datetime, end: datetime) -> list[Sequence[Any]]:
    """(status, has a guarantee, referrals, seconds late) for referrals requested in [start, end)."""
    guaranteed = case((REFERRAL.deadline_at.is_(None), 0), else_=1)
    query = (select(REFERRAL.status, guaranteed, func.count(), func.coalesce(func.sum(REFERRAL.late_seconds), 0))
             .where(REFERRAL.requested_at >= start, REFERRAL.requested_at < end)
             .group_by(REFERRAL.status, guaranteed))
    with engine.connect() as db:
        return list(db.execute(query).all())
