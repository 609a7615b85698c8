"""What `dispatch up` sets up on an empty system, and where it keeps the passwords it made.

- Development: demo accounts, one per role, with random passwords that must be changed at first sign-in.
  The passwords go to a file in the data directory that only its owner may read, so they are not lost with
  the terminal; it is removed once every demo account has a password of its person's choosing.
- The invented demo fleet, only where the settings want it (development, or `--demo`): a real command
  centre's board starts with its real places and no invented boats.
- Production: neither; people are added with `dispatch users add`, boats with POST /api/resources.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from dispatch.app.handle import handle
from dispatch.app.services import Services
from dispatch.domain.commands import SYSTEM, RegisterResource
from dispatch.domain.geo.fleet import load_demo_fleet
from dispatch.domain.vocabulary import ROLES

PASSWORDS_FILE: Final[str] = "first-start-passwords.txt"


@dataclass(frozen=True)
class FirstStart:
    """What this start set up: the demo accounts' passwords (account -> password) and the demo fleet's size."""

    passwords: dict[str, str]
    fleet: int


def passwords_file(services: Services) -> Path:
    return services.settings.data_dir.resolve() / PASSWORDS_FILE


# The unit each demo account crews (only a unit's crew logs its milestones, decisions/access.py): the lifeguard
# is on the Phru Nai longtail, the boat nearest a report from the Koh Yao Yai health unit.
DEMO_CREW = {"lifeguard": "KY-BOAT-2"}


def first_start(services: Services) -> FirstStart:
    """Demo accounts on a development system without accounts, the demo fleet on an empty log if wanted."""
    settings = services.settings
    passwords: dict[str, str] = {}
    if settings.environment == "development" and not services.accounts.has_users():
        passwords = add_demo_accounts(services)
    fleet = register_demo_fleet(services) if settings.loads_demo and services.store.head() == 0 else 0
    forget_changed_passwords(services)
    return FirstStart(passwords=passwords, fleet=fleet)


def add_demo_accounts(services: Services) -> dict[str, str]:
    """One account per role, its random password written to the passwords file before the account exists."""
    passwords = {f"demo-{role}": secrets.token_urlsafe(12) for role in ROLES}
    write_passwords(passwords_file(services), passwords)
    for role, (account, password) in zip(ROLES, passwords.items(), strict=True):
        # Flagged, so production refuses to start until each has a password of its person's choosing.
        services.accounts.add_user(account, role, password, display_name=f"Demo {role}",
                                   resource_id=DEMO_CREW.get(role), must_change_password=True)
    return passwords


def write_passwords(path: Path, passwords: dict[str, str]) -> None:
    """The passwords, in a file created readable and writable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # left from an earlier system in this folder: its accounts are gone
    lines = ["# First-start passwords of the demo accounts. Each must be changed at first sign-in;",
             "# `dispatch up` removes this file once all are.", *(f"{a} {p}" for a, p in passwords.items())]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write("\n".join(lines) + "\n")


def forget_changed_passwords(services: Services) -> None:
    """Remove the passwords file once no account still has the password written in it."""
    if not services.accounts.with_initial_passwords():
        passwords_file(services).unlink(missing_ok=True)


def register_demo_fleet(services: Services) -> int:
    """Register the demo resources at their home sites (once: the command ids make a second time a no-op)."""
    fleet = load_demo_fleet()
    for resource in fleet:
        handle(RegisterResource(
            actor=SYSTEM, at=services.clock.now(), command_id=f"demo-fleet:{resource.id}",
            resource_id=resource.id, kind=resource.kind, name=resource.name, subtype=resource.subtype,
            speed_knots=resource.speed_knots, position=resource.position, home_site_id=resource.home_site_id,
            zone=services.places.zone_of(resource.position), season=resource.season,
        ), services)
    return len(fleet)
