"""What should reach people, and in which words: the outbox's rules.

`NOTICES` maps an event type to the notices it calls for. Each notice names an audience that a worker turns
into people when it runs (the crew of a unit, the people of a receiving facility), since who crews a boat is
the accounts' to say, not the log's. Adding a kind of notice is one entry here and its two texts below; an
event type this table does not name calls for nothing.

Pure: the projection (dispatch/projections/outbox.py) asks `notices_for` as it applies each event, and the
texts are rendered from facts the worker gathers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from dispatch.domain.catalogue import (
    Channel,
    CrewMessaged,
    Event,
    ReferralAtRisk,
    ResourceDispatched,
)
from dispatch.domain.decisions.incident import Incident
from dispatch.domain.vocabulary import BANGKOK

NoticeKind = Literal["dispatched", "referral_at_risk", "crew_message"]
# Who a notice is for: the crew of a unit (subject: the resource), the crew carrying a referral or the people
# of its receiving facility (subject: the referral), or everyone holding a role (subject: the role).
Audience = Literal["crew", "carrier", "facility", "role"]
# A LINE user id (what the Messaging API pushes to) and a mobile number for SMS, as the accounts keep them.
LINE_USER_ID_PATTERN: Final[str] = r"^U[0-9a-f]{32}$"
PHONE_PATTERN: Final[str] = r"^\+?[0-9]{9,15}$"
# How long a notice that did not reach its people stays on the board; notices older than this that were never
# addressed (the history of a log that had no outbox yet, projected when it was added) are left alone.
BOARD_WINDOW: Final[timedelta] = timedelta(hours=12)
# The channels a person is tried on, in order: the next is a fallback, used only if the one before fails for good.
PUSH_CHANNELS: Final[tuple[Channel, ...]] = ("line", "sms")


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind
    audience: Audience
    subject_id: str
    incident_id: str | None
    # What the text needs beyond the incident (the message's id of a crew message).
    detail: str = ""


NOTICES: Final[dict[type[Event], Callable[[Event], list[Notice]]]] = {
    ResourceDispatched: lambda e: [Notice("dispatched", "crew", e.resource_id, e.incident_id)],  # type: ignore[attr-defined]
    ReferralAtRisk: lambda e: [
        Notice("referral_at_risk", "carrier", e.referral_id, e.incident_id),  # type: ignore[attr-defined]
        Notice("referral_at_risk", "facility", e.referral_id, e.incident_id),  # type: ignore[attr-defined]
    ],
    CrewMessaged: lambda e: [Notice("crew_message", "crew", e.resource_id, e.incident_id,  # type: ignore[attr-defined]
                                    detail=e.message_id)],  # type: ignore[attr-defined]
}


def notices_for(event: Event) -> list[Notice]:
    rule = NOTICES.get(type(event))
    return rule(event) if rule is not None else []


def notification_key(position: int, index: int) -> str:
    """The key of the `index`-th notice of the event at `position`: the same however often the log is replayed."""
    return f"{position}.{index}"


def delivery_key(notification: str, person_id: str, channel: str) -> str:
    """A short, stable key per notification, person and channel: the idempotency key of every attempt."""
    digest = hashlib.sha256(f"{notification}|{person_id}|{channel}".encode()).hexdigest()[:16]
    return f"{notification}.{digest}"


@dataclass(frozen=True)
class Units:
    """The units and facilities whose people an audience means."""

    resource_ids: tuple[str, ...] = ()
    facility_ids: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()


def audience_units(audience: str, subject_id: str, incident: Incident | None) -> Units:
    """Whom a notice's audience means, given the incident as it stands when the worker addresses it."""
    if audience == "crew":
        return Units(resource_ids=(subject_id,))
    if audience == "role":
        return Units(roles=(subject_id,))
    referral = next((r for r in incident.referrals if r.referral_id == subject_id), None) if incident else None
    if referral is None or incident is None:
        return Units()
    if audience == "facility":
        return Units(facility_ids=(referral.facility_id,))
    # The carrier: the boat named on the referral, else every unit still on the incident.
    carriers = (referral.resource_id,) if referral.resource_id else tuple(incident.active_resource_ids())
    return Units(resource_ids=carriers)


# --- texts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What a notice's text says, gathered by the worker from the log and the places."""

    incident_id: str
    link: str
    triage: str = ""
    category: str = ""
    place_th: str = ""
    place_en: str = ""
    unit: str = ""
    facility_th: str = ""
    facility_en: str = ""
    deadline_at: datetime | None = None
    message: str = ""


_TRIAGE_TH: Final[Mapping[str, str]] = {"red": "แดง", "yellow": "เหลือง", "green": "เขียว", "white": "ขาว",
                                        "black": "ดำ"}
TEXTS: Final[dict[tuple[NoticeKind, str], str]] = {
    ("dispatched", "en"): "[1669] {unit} dispatched to incident {incident_id} ({triage}, {category}) at {place_en}. "
                          "Details: {link}",
    ("dispatched", "th"): "[1669] สั่งการ {unit} ออกเหตุ {incident_id} (ระดับ{triage_th}) ที่ {place_th} "
                          "รายละเอียด: {link}",
    ("referral_at_risk", "en"): "[1669] Referral of incident {incident_id} to {facility_en} may miss its deadline "
                                "{deadline}. Details: {link}",
    ("referral_at_risk", "th"): "[1669] การส่งต่อผู้ป่วยเหตุ {incident_id} ไป {facility_th} อาจเกินเวลา {deadline} "
                                "รายละเอียด: {link}",
    ("crew_message", "en"): "[1669] Command centre to {unit} (incident {incident_id}): {message} {link}",
    ("crew_message", "th"): "[1669] ศูนย์สั่งการถึง {unit} (เหตุ {incident_id}): {message} {link}",
}


def render(kind: NoticeKind, language: str, facts: Facts) -> str:
    """The message in the person's language (Thai unless they chose English)."""
    template = TEXTS.get((kind, language)) or TEXTS[(kind, "th")]
    deadline = f"{facts.deadline_at.astimezone(BANGKOK):%H:%M}" if facts.deadline_at else "-"
    return template.format(
        incident_id=facts.incident_id, link=facts.link, triage=facts.triage,
        triage_th=_TRIAGE_TH.get(facts.triage, facts.triage), category=facts.category.replace("_", " "),
        place_th=facts.place_th or facts.place_en, place_en=facts.place_en or facts.place_th, unit=facts.unit,
        facility_th=facts.facility_th or facts.facility_en, facility_en=facts.facility_en or facts.facility_th,
        deadline=deadline, message=facts.message,
    )


def channels_for(line_user_id: str | None, phone: str | None, order: Sequence[Channel] = PUSH_CHANNELS
                 ) -> list[Channel]:
    """The push channels a person can be reached on, in the order they are tried."""
    have = {"line": bool(line_user_id), "sms": bool(phone)}
    return [channel for channel in order if have.get(channel)]
