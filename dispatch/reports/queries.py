"""The SQL behind the reports: filtered reads of the read models. Response rows carry their incident's zone,
source and report triage; referrals are joined on the incident's facts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, Engine, Select, and_, case, func, select

from dispatch.adapters.read_models import BOARD, INCIDENT_FACTS, REFERRALS, RESPONSES
from dispatch.domain.vocabulary import MILESTONES, TRIAGES, UTC_OFFSET_HOURS, ZONES
from dispatch.reports.periods import months_between
from dispatch.reports.stats import INTERVAL_NAMES

FACTS, RESPONSE, REFERRAL, BOARD_ROW = INCIDENT_FACTS.c, RESPONSES.c, REFERRALS.c, BOARD.c
# The triage a report counts by (projections.intervals.report_triage), from the incident's two codes.
REPORT_TRIAGE: Final[ColumnElement[str]] = func.coalesce(FACTS.triage_scene, FACTS.triage_dispatch)
# Where a filter finds an incident's zone, report triage and source: its facts, or the copies on its responses.
Attributes = tuple[Any, Any, Any]
OF_FACTS: Final[Attributes] = (FACTS.zone, REPORT_TRIAGE, FACTS.source)
OF_RESPONSE: Final[Attributes] = (RESPONSE.zone, RESPONSE.triage, RESPONSE.source)
MILESTONE_TIMES: Final[tuple[str, ...]] = tuple(f"{name}_at" for name in MILESTONES)
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


def _conditions(flt: ReportFilter, moment: Any, attributes: Attributes = OF_FACTS) -> list[ColumnElement[bool]]:
    """WHERE terms: `moment` (the column the period applies to) in range, and the incident's attributes."""
    zone, triage, source = attributes
    terms: list[ColumnElement[bool]] = []
    if flt.from_at is not None:
        terms.append(moment >= flt.from_at)
    if flt.to_at is not None:
        terms.append(moment < flt.to_at)
    if flt.zones:
        terms.append(zone.in_(flt.zones))
    if flt.triages:
        terms.append(triage.in_(flt.triages))
    if flt.sources:
        terms.append(source.in_(flt.sources))
    return terms


def _responses(flt: ReportFilter, *columns: Any) -> Select[Any]:
    return select(*columns).select_from(RESPONSES).where(*_conditions(flt, RESPONSE.reported_at, OF_RESPONSE))


def interval_columns(engine: Engine, flt: ReportFilter) -> list[tuple[str, Sequence[Sequence[Any]]]]:
    """Per Bangkok month (YYYY-MM), per response: its zone's number in ZONES, its report triage's in TRIAGES,
    and the five interval seconds (None if incomplete), each month read from ix_response_intervals_report alone.

    Numbers, not names: the driver makes a Python object of every value it returns, except that numbers below
    257 are shared ones, and rows of numbers go into numpy in one pass (a year is ~96,000 rows).
    """
    columns = (_numbered(RESPONSE.zone, ZONES), _numbered(RESPONSE.triage, TRIAGES),
               *(RESPONSE[name] for name in INTERVAL_NAMES))
    with engine.connect() as db:
        first, last = db.execute(select(func.min(RESPONSE.reported_at), func.max(RESPONSE.reported_at))).one()
        if first is None:
            return []
        after_last = last + timedelta(microseconds=1)
        months = months_between(max(first, flt.from_at or first), min(after_last, flt.to_at or after_last))
        by_month: list[tuple[str, Sequence[Sequence[Any]]]] = []
        # One query a month: the month comes from the query, not from reading a time on every row.
        for label, low, high in months:
            if rows := _plain_rows(db, _responses(replace(flt, from_at=low, to_at=high), *columns)):
                by_month.append((label, rows))
    return by_month


def _numbered(column: Any, names: Sequence[str]) -> ColumnElement[int]:
    return case({name: number for number, name in enumerate(names)}, value=column)


def _plain_rows(db: Connection, query: Select[Any]) -> list[Sequence[Any]]:
    """The driver's own tuples, for columns of plain text and integers that need no result processing: a year
    of responses reads in half the time without a Row object each."""
    result = db.execute(query)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def _response_row_columns() -> list[Any]:
    return [
        RESPONSE.response_id, RESPONSE.incident_id, RESPONSE.resource_id, RESPONSE.kind, RESPONSE.zone,
        RESPONSE.source, RESPONSE.triage, FACTS.triage_dispatch, FACTS.triage_scene, FACTS.category,
        BOARD_ROW.description, *(RESPONSE[name] for name in MILESTONE_TIMES), RESPONSE.late_entries,
        *(RESPONSE[name] for name in INTERVAL_NAMES),
    ]


def _response_rows(flt: ReportFilter) -> Select[Any]:
    joined = (RESPONSES.join(INCIDENT_FACTS, FACTS.incident_id == RESPONSE.incident_id)
              .outerjoin(BOARD, BOARD_ROW.incident_id == RESPONSE.incident_id))
    return (select(*_response_row_columns()).select_from(joined)
            .where(*_conditions(flt, RESPONSE.reported_at, OF_RESPONSE))
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
                                                  RESPONSE.resource_id == REFERRAL.resource_id,
                                                  RESPONSE.response_no == _carrying_response_no()))
    return select(*columns).select_from(joined).where(*_conditions(flt, REFERRAL.requested_at))


def _carrying_response_no() -> Any:
    """The carrier's response that took the patient: its latest to the incident sent before the patient arrived (a
    unit sent there again afterwards has responses of its own, not the referral's)."""
    earlier = RESPONSES.alias("earlier")
    return (select(func.max(earlier.c.response_no))
            .where(earlier.c.incident_id == REFERRAL.incident_id, earlier.c.resource_id == REFERRAL.resource_id,
                   earlier.c.resource_notified_at <= func.coalesce(REFERRAL.arrived_at, earlier.c.resource_notified_at))
            .scalar_subquery())


def referral_facts(engine: Engine, flt: ReportFilter) -> list[Sequence[Any]]:
    """Per referral requested in the period: Bangkok month of the request (YYYY-MM), incident zone, status, has a
    guarantee, seconds late, elapsed seconds (requested to arrived) and hospital wall seconds (what compliance
    counts), all plain values: no time is read into Python."""
    guaranteed = case((REFERRAL.deadline_at.is_(None), 0), else_=1)
    with engine.connect() as db:
        # One query: month by month, PostgreSQL would hash-join every incident's facts once a month.
        month = _bangkok_month(REFERRAL.requested_at, db.dialect.name)
        return _plain_rows(db, _referrals(flt, month, FACTS.zone, REFERRAL.status, guaranteed, REFERRAL.late_seconds,
                                          REFERRAL.elapsed_seconds, REFERRAL.hospital_wall_seconds))


def _bangkok_month(moment: Any, dialect: str) -> ColumnElement[str]:
    """The Bangkok calendar month (YYYY-MM) of a stored UTC time, by the database (a fixed offset: periods.py)."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", moment) + timedelta(hours=UTC_OFFSET_HOURS), "YYYY-MM")
    return func.strftime("%Y-%m", moment, f"+{UTC_OFFSET_HOURS} hours")  # SQLite keeps UTC times as text


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
    """(zone, status, has a guarantee, referrals, seconds late) for referrals requested in [start, end); the
    zone is the one the referral set off from."""
    guaranteed = case((REFERRAL.deadline_at.is_(None), 0), else_=1)
    query = (select(REFERRAL.zone, REFERRAL.status, guaranteed, func.count(),
                    func.coalesce(func.sum(REFERRAL.late_seconds), 0))
             .where(REFERRAL.requested_at >= start, REFERRAL.requested_at < end)
             .group_by(REFERRAL.zone, REFERRAL.status, guaranteed))
    with engine.connect() as db:
        return list(db.execute(query).all())
