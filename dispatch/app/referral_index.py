"""What a worker keeps in memory from the log, caught up by reading only the events it has not seen.

Workers keep their own views rather than query the projector's read models, so a deadline check never waits
on (or trusts) a projector that may lag or have stalled. The first catch-up in a process reads the whole log
once; every later one reads only what was appended since, so a worker that lives for days pays for the log
once, not once per check.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from dispatch.adapters.eventlog.store import EventStore
from dispatch.domain.catalogue import (
    Event,
    IncidentClosed,
    PatientArrivedAtFacility,
    ReferralBreached,
    ReferralRequested,
    ResourceEvent,
    ResourcePositionReported,
)
from dispatch.domain.decisions import resource as resource_rules
from dispatch.domain.decisions.resource import Resource

CATCH_UP_BATCH = 5000


class LogView:
    """Folds the log into some state, remembering the last position it saw. Thread-safe."""

    def __init__(self) -> None:
        self.position = 0
        self._lock = threading.Lock()

    def catch_up(self, store: EventStore) -> None:
        """Apply every event appended since the last catch-up."""
        with self._lock:
            for stored in store.iter_all(after=self.position, batch_size=CATCH_UP_BATCH):
                self.apply(stored.position, stored.event)
                self.position = stored.position

    def apply(self, position: int, event: Event) -> None:
        raise NotImplementedError


class FleetView(LogView):
    """Every resource's current state: what the predictions and their advice rank."""

    def __init__(self) -> None:
        super().__init__()
        self._resources: dict[str, Resource] = {}

    def apply(self, position: int, event: Event) -> None:
        if isinstance(event, ResourceEvent):
            state = resource_rules.evolve(self._resources.get(event.resource_id), event)
            if state is not None:
                self._resources[event.resource_id] = state

    def resources(self, store: EventStore) -> Mapping[str, Resource]:
        """The fleet as of now (caught up first); a copy, safe to read while others catch up."""
        self.catch_up(store)
        with self._lock:
            return dict(self._resources)


class OpenReferrals(LogView):
    """Incidents whose referral still has checks to come, and where each resource last reported its position.

    A candidate list only: reconcile reads each incident's stream and lets `pending_checks` say what is
    really due. An incident leaves when its referral ends (arrival, breach) or it closes.
    """

    def __init__(self) -> None:
        super().__init__()
        self._incidents: set[str] = set()
        self._last_position_report: dict[str, int] = {}

    def apply(self, position: int, event: Event) -> None:
        match event:
            case ReferralRequested(deadline_at=deadline_at) if deadline_at is not None:
                self._incidents.add(event.incident_id)
            case PatientArrivedAtFacility() | ReferralBreached() | IncidentClosed():
                self._incidents.discard(event.incident_id)
            case ResourcePositionReported():
                self._last_position_report[event.resource_id] = position

    def incident_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._incidents)

    def last_position_report(self, resource_id: str) -> int:
        """The log position of the resource's latest position report (0: none)."""
        with self._lock:
            return self._last_position_report.get(resource_id, 0)
