"""RQ job functions: a referral's warning, breach and predictive checks, through the same `handle` as HTTP.

Each job reads the log, lets `decide` say whether anything is still needed, and appends only then, so a
job that runs twice (a retry, a duplicate delivery, the reconcile sweep) appends nothing the second time.
The time is the worker's clock (`Services.clock`: the system clock, or the scaled one of a drill or test).

`worker_services()` builds Services once per process. Under `run_worker` (one SimpleWorker process) that
is once per worker; under a plain forking `rq worker`, each job runs in a fresh child, which builds its
own (an engine, no migration) and reads the fleet from the whole log: correct, slower.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import msgspec

from dispatch.app.handle import handle
from dispatch.app.referral_index import FleetView
from dispatch.app.services import Services, build_services
from dispatch.domain.catalogue import ReferralRequested, incident_stream
from dispatch.domain.commands import SYSTEM, CheckReferral
from dispatch.domain.decisions import incident as incident_rules
from dispatch.domain.decisions.incident import Incident, Referral
from dispatch.domain.decisions.resource import Resource
from dispatch.domain.geo.motion import all_reckoned
from dispatch.domain.recommend import Prediction, advise, predict_arrival
from dispatch.runtime.settings import get_settings

_services: Services | None = None
_fleet = FleetView()


def worker_services() -> Services:
    """This process's Services, built from the environment's settings on first use."""
    if _services is None:
        # Jobs never migrate: the API or `dispatch up` owns the schema; run_worker migrates before working.
        # No scheduler either: what a check appends (at risk, breached) calls for no further check.
        use_services(build_services(get_settings(), migrate=False))
    assert _services is not None
    return _services


def use_services(services: Services) -> None:
    """Make `services` the ones jobs in this process use (run_worker builds them before it works)."""
    global _services, _fleet
    # A fresh fleet view too: the one filled from another log (a test's previous database) would be wrong.
    _services, _fleet = services, FleetView()


def check_referral_deadline(incident_id: str, referral_id: str, check: Literal["warning", "breach"]) -> int:
    """Append a warning or a breach if the referral is open and past that point; returns how many events."""
    services = worker_services()
    now = services.clock.now()
    advice = ""
    if check == "warning" and (found := _predict(services, incident_id, now)) is not None:
        advice = found.advice(services)  # what would help; a breach is past helping
    command = CheckReferral(actor=SYSTEM, at=now, incident_id=incident_id, referral_id=referral_id,
                            check=check, advice=advice)
    return len(handle(command, services).events)


def check_referral_prediction(incident_id: str | None, resource_id: str | None = None) -> int:
    """Append ReferralAtRisk if the incident's open referral is predicted to arrive after its deadline.

    Called with the incident (a referral, a milestone) or with a boat that reported its position; then the
    incident is the one the boat is assigned to, and the boat must be the one carrying its referral.
    """
    services = worker_services()
    now = services.clock.now()
    if incident_id is None and resource_id is not None:
        boat = _fleet.resources(services.store).get(resource_id)
        incident_id = boat.incident_id if boat is not None and boat.status == "assigned" else None
    found = _predict(services, incident_id, now, carried_by=resource_id) if incident_id else None
    if incident_id is None or found is None or found.referral.at_risk:
        return 0
    referral, arrival_at = found.referral, found.prediction.arrival_at
    late = referral.deadline_at is not None and arrival_at > referral.deadline_at
    command = CheckReferral(
        actor=SYSTEM, at=now, incident_id=incident_id, referral_id=referral.referral_id, check="predicted",
        predicted_arrival_at=arrival_at, advice=found.advice(services) if late else "",
    )
    return len(handle(command, services).events)


@dataclass(frozen=True)
class _Found:
    """An open referral, its predicted arrival and the fleet the prediction saw."""

    referral: Referral
    prediction: Prediction
    fleet: Mapping[str, Resource]

    def advice(self, services: Services) -> str:
        return advise(self.prediction, self.fleet.values(), services.places, services.settings)


def _predict(
    services: Services, incident_id: str, now: datetime, *, carried_by: str | None = None
) -> _Found | None:
    """The incident's open referral under a guarantee and its predicted arrival; None: nothing to predict."""
    events = [stored.event for stored in services.store.read_stream(incident_stream(incident_id))]
    incident = incident_rules.fold(events)
    referral = incident.open_referral if incident is not None else None
    if incident is None or referral is None or referral.breached or referral.deadline_at is None:
        return None
    if carried_by is not None and not _carries(incident, referral, carried_by):
        return None
    requested = _as_it_stands(next(
        e for e in events if isinstance(e, ReferralRequested) and e.referral_id == referral.referral_id
    ), referral)
    # Boats carried forward along their course since their last fix, as the recommendations rank them.
    window = timedelta(minutes=services.settings.dead_reckoning_max_minutes)
    fleet = {resource.id: resource for resource in all_reckoned(_fleet.resources(services.store).values(), now, window)}
    prediction = predict_arrival(requested, incident, fleet, now, services.places, services.settings)
    return _Found(referral, prediction, fleet) if prediction is not None else None


def _as_it_stands(requested: ReferralRequested, referral: Referral) -> ReferralRequested:
    """The request with the carrier and destination the referral has now (an operator may have changed either):
    the prediction is of the route the patient takes, from where and since when the request said."""
    return msgspec.structs.replace(requested, facility_id=referral.facility_id, resource_id=referral.resource_id)


def _carries(incident: Incident, referral: Referral, resource_id: str) -> bool:
    # A boat's position matters to the referral it carries, or to one naming no boat while the boat is on it.
    if referral.resource_id is not None:
        return referral.resource_id == resource_id
    return resource_id in incident.active_resource_ids()


def _forget_connections() -> None:
    """In a forked child, drop the pooled database connections inherited from the parent: never share one."""
    if _services is not None:
        _services.store.engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_connections)
