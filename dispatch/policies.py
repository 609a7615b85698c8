"""What happens after an append: which referral checks to schedule (pure), and who schedules them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dispatch.events.envelope import StoredEvent


class Scheduler(Protocol):
    def after_append(self, events: Sequence[StoredEvent]) -> None:
        """Schedule whatever checks these newly stored events call for; never raise for a scheduling failure
        (the reconcile sweep re-derives every pending check from the log)."""
        ...
