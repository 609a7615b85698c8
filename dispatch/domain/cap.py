"""The words of public alerting (OASIS CAP 1.2) this system speaks: what each kind of public alert means in CAP,
and how severe is more severe. Pure; the XML itself is written and read in dispatch/adapters/cap_xml.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, get_args

from dispatch.domain.catalogue import AlertKind, Certainty, Severity, Urgency

# CAP 1.2 §3.2.2 <severity>, most severe first; "Unknown" ranks below every known one.
SEVERITIES: Final[tuple[Severity, ...]] = get_args(Severity)
SEVERITY_RANK: Final[dict[str, int]] = {name: rank for rank, name in enumerate(reversed(SEVERITIES[:-1]), start=1)}
URGENCIES: Final[tuple[Urgency, ...]] = get_args(Urgency)
CERTAINTIES: Final[tuple[Certainty, ...]] = get_args(Certainty)
ALERT_KINDS: Final[tuple[AlertKind, ...]] = get_args(AlertKind)


def at_least(severity: str, floor: str) -> bool:
    """Whether `severity` is `floor` or worse (Unknown is never at least a known floor)."""
    return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK.get(floor, len(SEVERITY_RANK) + 1)


@dataclass(frozen=True)
class KindInCap:
    """How one kind of public alert is said in CAP: its category, event name and the defaults an operator
    starts from (each may be changed when issuing)."""

    category: str  # CAP 1.2 §3.2.2 <category>
    event_en: str
    event_th: str
    response: str  # CAP 1.2 §3.2.2 <responseType>
    severity: Severity
    urgency: Urgency
    certainty: Certainty


KINDS: Final[dict[AlertKind, KindInCap]] = {
    "beach_closed": KindInCap("Safety", "Beach closed", "ปิดชายหาด", "Avoid", "Moderate", "Immediate", "Observed"),
    "missing_swimmer": KindInCap("Rescue", "Missing swimmer", "นักว่ายน้ำสูญหาย", "Monitor", "Severe", "Immediate",
                                 "Observed"),
    "maritime_incident": KindInCap("Transport", "Maritime incident", "อุบัติเหตุทางทะเล", "Avoid", "Severe",
                                   "Immediate", "Observed"),
    # The end of whatever the alert was about: CAP's AllClear response, urgency Past (§3.2.2).
    "all_clear": KindInCap("Safety", "All clear", "ยกเลิกการเตือนภัย", "AllClear", "Minor", "Past", "Observed"),
}


def external_alert_key(sender: str, identifier: str) -> str:
    """One key per CAP message (CAP 1.2 §3.2.1: sender and identifier together name it), short enough to key."""
    return hashlib.sha256(f"{sender}\n{identifier}".encode()).hexdigest()[:32]


def referenced_keys(references: Iterable[str]) -> list[str]:
    """The keys of the messages CAP <references> names ("sender,identifier,sent" each)."""
    keys = []
    for reference in references:
        parts = reference.split(",")
        if len(parts) >= 2:
            keys.append(external_alert_key(parts[0].strip(), parts[1].strip()))
    return keys
