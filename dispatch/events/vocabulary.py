"""The words of the domain (DESIGN.md §1), as closed sets of strings shared by events, commands and the API."""

from __future__ import annotations

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
Language = Literal["th", "en"]
ResourceKind = Literal["boat", "aed", "team"]
ResourceStatus = Literal["available", "assigned", "out_of_service"]
Outcome = Literal["treated_on_scene", "transferred", "deceased", "false_alarm", "duplicate", "cancelled"]
Role = Literal["lifeguard", "operator", "official", "admin"]
RiskReason = Literal["warning_point", "predicted_late"]

# NEMSIS v3 eTimes-aligned milestones, in the order they happen. `reported` is the incident's own report
# and `resource_notified` is the dispatch itself, so neither is recorded through RecordMilestone.
Milestone = Literal[
    "reported",
    "resource_notified",
    "en_route",
    "on_scene",
    "at_patient",
    "left_scene",
    "at_destination",
    "handed_over",
    "back_in_service",
    "cancelled",
]
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
# Milestones a crew records after the dispatch; `cancelled` may come at any point before arrival.
RECORDABLE_MILESTONES: Final[tuple[Milestone, ...]] = MILESTONES[2:]

TRIAGE_ORDER: Final[dict[str, int]] = {code: rank for rank, code in enumerate(get_args(Triage))}
TRIAGE_LABELS: Final[dict[str, dict[str, str]]] = {
    "red": {"th": "ผู้ป่วยฉุกเฉินวิกฤต", "en": "Critical emergency"},
    "yellow": {"th": "ผู้ป่วยฉุกเฉินเร่งด่วน", "en": "Urgent emergency"},
    "green": {"th": "ผู้ป่วยฉุกเฉินไม่รุนแรง", "en": "Non-severe emergency"},
    "white": {"th": "ผู้ป่วยทั่วไป", "en": "General, not an emergency"},
    "black": {"th": "บริการสาธารณสุขอื่น", "en": "Other public-health service, not an emergency"},
}

SOURCES: Final[tuple[str, ...]] = get_args(Source)
REPORTED_SOURCES: Final[tuple[str, ...]] = get_args(ReportedSource)
POSITION_SOURCES: Final[tuple[str, ...]] = get_args(PositionSource)
ZONES: Final[tuple[str, ...]] = get_args(Zone)
CATEGORIES: Final[tuple[str, ...]] = get_args(Category)
OUTCOMES: Final[tuple[str, ...]] = get_args(Outcome)
ROLES: Final[tuple[str, ...]] = get_args(Role)
RESOURCE_KINDS: Final[tuple[str, ...]] = get_args(ResourceKind)
