"""Small craft held by warnings in force: the one hook the ETA model and recommendations consult.

A longtail is not sent into a storm warning. Which boat types are held, and from which CAP severity up, is a
setting (`small_craft_holds`: boat subtype -> least severity); a boat is held while an alert from a feed is in
force, at or above its type's severity, over the zone the boat is in (by its position, else its home zone).
Pure: the caller brings the alerts in force (dispatch/projections/alerts.py reads them) and the settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from dispatch.domain.cap import SEVERITY_RANK, at_least
from dispatch.domain.catalogue import Position
from dispatch.domain.decisions.resource import Resource


@dataclass(frozen=True)
class AlertInForce:
    """What a hold needs of an alert: how severe it is and which zones it is over."""

    alert_key: str
    severity: str
    zones: frozenset[str]
    headline: str


def held_boats(
    fleet: Iterable[Resource],
    alerts: Iterable[AlertInForce],
    holds: Mapping[str, str],
    zone_of: Callable[[Position], str],
) -> dict[str, AlertInForce]:
    """Boats that must stay in, by id, each with the alert that holds it (the most severe)."""
    in_force = sorted(alerts, key=lambda alert: SEVERITY_RANK.get(alert.severity, 0), reverse=True)
    held: dict[str, AlertInForce] = {}
    for boat in fleet:
        floor = holds.get(boat.subtype) if boat.kind == "boat" else None
        if floor is None:
            continue
        zone = zone_of(boat.position) if boat.position is not None else boat.zone
        holding = next((alert for alert in in_force if zone in alert.zones and at_least(alert.severity, floor)),
                       None)
        if holding is not None:
            held[boat.id] = holding
    return held
