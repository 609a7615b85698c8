"""Read-model tables: what the board, the fleet list, the referral tracker and the reports show.

Each row remembers `position`, the log position of the last event that changed it, so a reconnecting
board can ask for exactly the rows that changed since what it last saw.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Float, Index, Integer, String, Table, Text
from sqlmodel import Field, SQLModel

from dispatch.adapters.eventlog.tables import UTCDateTime


def _time(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime, nullable=nullable))


class Checkpoint(SQLModel, table=True):
    """How far each projection has read the log; committed with its rows, so a crash replays, never skips."""

    __tablename__ = "projection_checkpoints"

    name: str = Field(sa_column=Column(String(60), primary_key=True))
    position: int = Field(sa_column=Column(BigInteger, nullable=False))


class BoardRow(SQLModel, table=True):
    __tablename__ = "board_incidents"

    incident_id: str = Field(sa_column=Column(String(80), primary_key=True))
    position: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    status: str = Field(sa_column=Column(String(10), nullable=False, index=True))  # open | closed
    source: str = Field(sa_column=Column(String(10), nullable=False))
    category: str = Field(sa_column=Column(String(20), nullable=False))
    triage_dispatch: str = Field(sa_column=Column(String(10), nullable=False))
    triage_scene: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))
    triage_rank: int = Field(sa_column=Column(Integer, nullable=False))
    site_id: str | None = Field(default=None, sa_column=Column(String(80), nullable=True))
    zone: str = Field(sa_column=Column(String(20), nullable=False))
    lat: float = Field(sa_column=Column(Float, nullable=False))
    lon: float = Field(sa_column=Column(Float, nullable=False))
    patients: int = Field(sa_column=Column(Integer, nullable=False))
    description: str = Field(sa_column=Column(Text, nullable=False))
    # The patient's language, ISO 639-1 (migration 0008 filled the rows written before it from the log).
    language: str = Field(default="th", sa_column=Column(String(8), nullable=False, server_default="th"))
    reporter: str = Field(sa_column=Column(String(80), nullable=False))
    reported_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    closed_at: datetime | None = _time()
    outcome: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    notes: int = Field(sa_column=Column(Integer, nullable=False))
    # [{resource_id, kind, milestone, milestone_at, released}] in dispatch order
    assignments: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    # the latest referral: {referral_id, facility_id, status, requested_at, warning_at, deadline_at, ...}
    referral: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # an AIS distress beacon that opened it: {mmsi, beacon, vessel_name, state: detected|confirmed|dismissed}
    beacon: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class ResourceRow(SQLModel, table=True):
    __tablename__ = "resources_view"

    resource_id: str = Field(sa_column=Column(String(80), primary_key=True))
    position: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    kind: str = Field(sa_column=Column(String(10), nullable=False))
    name: str = Field(sa_column=Column(String(120), nullable=False))
    subtype: str = Field(sa_column=Column(String(40), nullable=False))
    speed_knots: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    lat: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    lon: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    position_at: datetime | None = _time()
    home_site_id: str | None = Field(default=None, sa_column=Column(String(80), nullable=True))
    zone: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    status: str = Field(sa_column=Column(String(20), nullable=False, index=True))
    status_since: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    incident_id: str | None = Field(default=None, sa_column=Column(String(80), nullable=True))
    milestone: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    # all_year or a season of dispatch/domain/geo/seasons.json; whether it serves now is decided by the clock.
    season: str = Field(default="all_year", sa_column=Column(String(20), nullable=False, server_default="all_year"))
    # Its AIS transponder, and where its position came from (ais, crew_phone, operator) with the course and speed
    # over ground a tracker gave (migration 0008).
    mmsi: str | None = Field(default=None, sa_column=Column(String(9), nullable=True, index=True))
    position_source: str | None = Field(default=None, sa_column=Column(String(12), nullable=True))
    course_deg: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    sog_knots: float | None = Field(default=None, sa_column=Column(Float, nullable=True))


class ReferralRow(SQLModel, table=True):
    __tablename__ = "referrals_view"

    referral_id: str = Field(sa_column=Column(String(100), primary_key=True))
    position: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    incident_id: str = Field(sa_column=Column(String(80), nullable=False, index=True))
    zone: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    from_site_id: str | None = Field(default=None, sa_column=Column(String(80), nullable=True))
    facility_id: str = Field(sa_column=Column(String(80), nullable=False))
    resource_id: str | None = Field(default=None, sa_column=Column(String(80), nullable=True))
    guarantee_minutes: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    status: str = Field(sa_column=Column(String(10), nullable=False, index=True))
    requested_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    warning_at: datetime | None = _time()
    deadline_at: datetime | None = _time()
    at_risk_at: datetime | None = _time()
    risk_reason: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    predicted_arrival_at: datetime | None = _time()
    predicted_late_seconds: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    advice: str = Field(default="", sa_column=Column(Text, nullable=False))
    breached_at: datetime | None = _time()
    arrived_at: datetime | None = _time()
    handed_over_at: datetime | None = _time()
    late_seconds: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    # requested -> arrived (what the guarantee measures) and arrived -> handed over, in whole seconds, so a
    # report counts them without reading three times per referral (migration 0006).
    elapsed_seconds: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    hospital_wall_seconds: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))


class IncidentFactsRow(SQLModel, table=True):
    """Per incident, what reports filter and count by; joined to response_intervals."""

    __tablename__ = "incident_facts"

    incident_id: str = Field(sa_column=Column(String(80), primary_key=True))
    position: int = Field(sa_column=Column(BigInteger, nullable=False))
    zone: str = Field(sa_column=Column(String(20), nullable=False, index=True))
    source: str = Field(sa_column=Column(String(10), nullable=False))
    category: str = Field(sa_column=Column(String(20), nullable=False))
    triage_dispatch: str = Field(sa_column=Column(String(10), nullable=False))
    triage_scene: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))
    patients: int = Field(sa_column=Column(Integer, nullable=False))
    reported_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    # When the first resource reached the patient (on_scene or at_patient): "reached" in provincial reports.
    reached_at: datetime | None = _time()
    closed_at: datetime | None = _time()
    outcome: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    deceased: int = Field(default=0, sa_column=Column(Integer, nullable=False))


class IntervalRow(SQLModel, table=True):
    """One resource's response to one incident, with the NEMSIS times and intervals (DESIGN.md §1), and the
    incident's zone, source and report triage that reports filter and group it by."""

    __tablename__ = "response_intervals"
    # A period's figures in one range read of this index, without the table or the incident's facts: the
    # yearly report reads ~96,000 responses (migration 0006).
    __table_args__ = (Index("ix_response_intervals_report", "reported_at", "zone", "triage", "source",
                            "response_seconds", "scene_seconds", "transport_seconds", "hospital_wall_seconds",
                            "total_seconds"),)

    # "{incident_id}/{resource_id}", then "/2", "/3" for a unit sent again (intervals.response_key): one key column
    # keeps the projector's batch loading simple.
    response_id: str = Field(sa_column=Column(String(170), primary_key=True))
    incident_id: str = Field(sa_column=Column(String(80), nullable=False, index=True))
    resource_id: str = Field(sa_column=Column(String(80), nullable=False))
    # 1 for the unit's first response to the incident, 2 once it was released and sent again (migration 0008).
    response_no: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    position: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    kind: str = Field(sa_column=Column(String(10), nullable=False))
    # The incident's, copied: zone and source never change; triage follows the incident's report triage.
    zone: str = Field(sa_column=Column(String(20), nullable=False))
    source: str = Field(sa_column=Column(String(10), nullable=False))
    triage: str = Field(sa_column=Column(String(10), nullable=False))
    reported_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    resource_notified_at: datetime | None = _time()
    en_route_at: datetime | None = _time()
    on_scene_at: datetime | None = _time()
    at_patient_at: datetime | None = _time()
    left_scene_at: datetime | None = _time()
    at_destination_at: datetime | None = _time()
    handed_over_at: datetime | None = _time()
    back_in_service_at: datetime | None = _time()
    cancelled_at: datetime | None = _time()
    # How the response ended: back_in_service or cancelled (its milestones), stood_down or reassigned (an operator's
    # correction, also recorded as cancelled_at); None while it goes on, or when the incident's close released it.
    ended_by: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    late_entries: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    response_seconds: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    scene_seconds: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    transport_seconds: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    hospital_wall_seconds: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    total_seconds: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a SQLModel class (typed, which `Model.__table__` is not)."""
    return model.__table__  # type: ignore[attr-defined, no-any-return]


CHECKPOINTS = table_of(Checkpoint)
BOARD = table_of(BoardRow)
RESOURCES = table_of(ResourceRow)
REFERRALS = table_of(ReferralRow)
INCIDENT_FACTS = table_of(IncidentFactsRow)
RESPONSES = table_of(IntervalRow)
