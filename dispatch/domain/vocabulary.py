"""The words of the domain (DESIGN.md §1), as closed sets of strings shared by events, commands, the API and
the pages (GET /api/vocabulary), with the limits of a report and the province's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Final, Literal, get_args

# Where a person reports from; a distress beacon heard on AIS (dispatch/ais/) is a source of its own, which no
# person may claim.
ReportedSource = Literal["beach", "boat", "island", "clinic"]
Source = Literal[ReportedSource, "ais_beacon"]
# Where a resource's recorded position came from: its AIS transponder, a crew member's phone, or an operator.
PositionSource = Literal["ais", "crew_phone", "operator"]
# AIS distress devices, told apart by their MMSI's first digits (ITU-R M.585): an AIS-SART (970), a man-overboard
# device (972) and an AIS EPIRB (974).
BeaconKind = Literal["sart", "mob", "epirb"]
Zone = Literal["similan", "surin", "khao_lak_coast", "koh_yao", "other"]
# Thai 1669 Criteria Based Dispatch colours, most severe first.
Triage = Literal["red", "yellow", "green", "white", "black"]
TriageStage = Literal["dispatch", "scene"]
Category = Literal["drowning", "cardiac_arrest", "dive_injury", "marine_sting", "trauma", "other"]
# A patient's language: an ISO 639-1 code, checked against the standard's list (dispatch/domain/languages.py).
Language = str
ResourceKind = Literal["boat", "aed", "team"]
ResourceStatus = Literal["available", "assigned", "out_of_service"]
# When a unit serves: all year, or only while the marine national parks are open (dispatch/domain/geo/seasons.json).
Season = Literal["all_year", "park_season"]
Outcome = Literal["treated_on_scene", "transferred", "deceased", "false_alarm", "duplicate", "cancelled"]
Role = Literal["lifeguard", "operator", "official", "admin"]
RiskReason = Literal["warning_point", "predicted_late"]
# A referral against its guarantee: on its way (on track, or at risk of being late), late (breached), or done.
ReferralStatus = Literal["on_track", "at_risk", "breached", "met", "missed"]

# NEMSIS v3 eTimes-aligned milestones, in the order they happen. `reported` is the incident's own report
# and `resource_notified` is the dispatch itself, so neither is recorded through RecordMilestone; the others a
# crew records after the dispatch (`cancelled` may come at any point before arrival).
RecordableMilestone = Literal[
    "en_route",
    "on_scene",
    "at_patient",
    "left_scene",
    "at_destination",
    "handed_over",
    "back_in_service",
    "cancelled",
]
Milestone = Literal["reported", "resource_notified", RecordableMilestone]
MILESTONES: Final[tuple[Milestone, ...]] = get_args(Milestone)
MILESTONE_ORDER: Final[dict[str, int]] = {name: index for index, name in enumerate(MILESTONES)}
NEMSIS_ETIMES: Final[dict[str, str]] = {
    "reported": "eTimes.01",
    "resource_notified": "eTimes.03",
    "en_route": "eTimes.05",
    "on_scene": "eTimes.06",
    "at_patient": "eTimes.07",
    "left_scene": "eTimes.09",
    "at_destination": "eTimes.11",
    "handed_over": "eTimes.12",
    "back_in_service": "eTimes.13",
    "cancelled": "eTimes.14",
}
RECORDABLE_MILESTONES: Final[tuple[RecordableMilestone, ...]] = get_args(RecordableMilestone)
# Milestones after which the resource is free again, for this incident at least.
RELEASING_MILESTONES: Final[frozenset[str]] = frozenset({"back_in_service", "cancelled"})

TRIAGES: Final[tuple[str, ...]] = get_args(Triage)
TRIAGE_ORDER: Final[dict[str, int]] = {code: rank for rank, code in enumerate(TRIAGES)}
SOURCES: Final[tuple[str, ...]] = get_args(Source)
REPORTED_SOURCES: Final[tuple[str, ...]] = get_args(ReportedSource)
POSITION_SOURCES: Final[tuple[str, ...]] = get_args(PositionSource)
ZONES: Final[tuple[str, ...]] = get_args(Zone)
CATEGORIES: Final[tuple[str, ...]] = get_args(Category)
OUTCOMES: Final[tuple[str, ...]] = get_args(Outcome)
ROLES: Final[tuple[str, ...]] = get_args(Role)
RESOURCE_KINDS: Final[tuple[str, ...]] = get_args(ResourceKind)

MAX_PATIENTS: Final[int] = 500  # in one report, and so the deaths its close may count
MAX_DESCRIPTION_LENGTH: Final[int] = 1000  # characters of a report's description
MAX_NOTE_LENGTH: Final[int] = 2000  # characters of a note, or of the summary a close adds
MAX_REASON_LENGTH: Final[int] = 500  # characters of the reason for a correction or a status change

# The province counts days, months and years in Bangkok time. Thailand has kept UTC+7 without daylight saving
# since 1920, so a fixed offset is exact for any date the log can hold and needs no tz database in the container.
TIME_ZONE_NAME: Final[str] = "Asia/Bangkok"
UTC_OFFSET_HOURS: Final[int] = 7
BANGKOK: Final[timezone] = timezone(timedelta(hours=UTC_OFFSET_HOURS), TIME_ZONE_NAME)


def local(moment: datetime) -> datetime:
    return moment.astimezone(BANGKOK)


def local_midnight(day: date) -> datetime:
    """The UTC instant a Bangkok day starts."""
    return datetime.combine(day, time(), BANGKOK).astimezone(UTC)

# The closed sets the pages offer or translate, by the name GET /api/vocabulary serves each under.
CODES: Final[dict[str, tuple[str, ...]]] = {
    "source": SOURCES,
    "zone": ZONES,
    "triage": TRIAGES,
    "category": CATEGORIES,
    "outcome": OUTCOMES,
    "milestone": MILESTONES,
    "recordable_milestone": RECORDABLE_MILESTONES,
    "resource_kind": RESOURCE_KINDS,
    "resource_status": get_args(ResourceStatus),
    "referral_status": get_args(ReferralStatus),
    "role": ROLES,
}
# The limits the pages hold their inputs to, by the name GET /api/vocabulary serves each under.
LIMITS: Final[dict[str, int]] = {
    "patients": MAX_PATIENTS,
    "description_length": MAX_DESCRIPTION_LENGTH,
    "note_length": MAX_NOTE_LENGTH,
}
SEASONS: Final[tuple[str, ...]] = get_args(Season)
