"""Need to know: who may read an incident and speak for a unit. Pure, like the decisions that call it.

Operators, officials and admins see every incident (DESIGN.md §6). A lifeguard sees and adds to only the
incidents they are on: those they reported, and those a unit they crew was sent to (it stays theirs after the
unit is released, so the crew can still write up what they did). A lifeguard crews the unit their account
names (`Actor.resource_id`, set when an admin adds the person), and records milestones for that unit alone:
a milestone moves a referral's clock and frees a boat, so only the crew on board may say it happened.
"""

from __future__ import annotations

from collections.abc import Iterable

from dispatch.domain.commands import Actor

# Roles whose view of incidents is limited to their own; every other role reads them all.
NEED_TO_KNOW_ROLES = frozenset({"lifeguard"})


def sees_every_incident(actor: Actor) -> bool:
    return actor.role not in NEED_TO_KNOW_ROLES


def is_on_incident(actor: Actor, reporter: str, resource_ids: Iterable[str]) -> bool:
    """The actor reported the incident, or a unit they crew was dispatched to it."""
    return reporter == actor.id or (actor.resource_id is not None and actor.resource_id in resource_ids)


def may_read_incident(actor: Actor, reporter: str, resource_ids: Iterable[str]) -> bool:
    """Whether the actor may read the incident's patient details (description, timeline, notes, referral)."""
    return sees_every_incident(actor) or is_on_incident(actor, reporter, resource_ids)


def crews(actor: Actor, resource_id: str) -> bool:
    """Whether the actor is on the crew of this unit."""
    return actor.resource_id is not None and actor.resource_id == resource_id
