"""handle(command): read the streams a command touches, decide, append; the same path for HTTP and workers."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass

from dispatch.bootstrap import Services
from dispatch.commands import CloseIncident, Command, IncidentCommand, ResourceCommand
from dispatch.decisions import incident as incident_rules
from dispatch.decisions import resource as resource_rules
from dispatch.errors import ConcurrencyConflict, DispatchError
from dispatch.events.catalogue import Event, incident_stream, resource_stream
from dispatch.events.envelope import EventMeta
from dispatch.events.store import AppendResult, EventStore, StreamWrite

log = logging.getLogger("dispatch.commands")


@dataclass(frozen=True)
class _Read:
    """What a command's decision was based on: states, and each stream's version at the time."""

    versions: dict[str, int]
    events: list[Event]


def handle(command: Command, services: Services) -> AppendResult:
    """Apply a command; a repeated command_id returns the original result and appends nothing.

    On a concurrency conflict the command is read and decided once more, so two operators acting at
    once both succeed when both are still valid, and the second gets the rule it now breaks otherwise.
    """
    started = time.perf_counter()
    try:
        result = _handle(command, services.store)
    except DispatchError as exc:
        _log(command, started, outcome=exc.code)
        raise
    _log(command, started, outcome="replayed" if result.replayed else "ok", position=result.last_position)
    if services.scheduler is not None and result.events and not result.replayed:
        services.scheduler.after_append(result.events)
    return result


def _handle(command: Command, store: EventStore) -> AppendResult:
    fingerprint = command.fingerprint()
    if command.command_id is not None:
        earlier = store.find_command(command.command_id, fingerprint)
        if earlier is not None:
            return earlier
    try:
        return _decide_and_append(command, store, fingerprint)
    except ConcurrencyConflict:
        if command.expected_version is not None:
            raise  # the client said which version it saw; it must look again itself
        return _decide_and_append(command, store, fingerprint)


def _log(command: Command, started: float, *, outcome: str, position: int | None = None) -> None:
    """One line per command: who did what to which incident, where it landed in the log, how long it took."""
    log.info(
        "command",
        extra={
            "command": type(command).__name__,
            "actor": command.actor.id,
            "role": command.actor.role,
            "incident": getattr(command, "incident_id", None),
            "resource": getattr(command, "resource_id", None),
            "command_id": command.command_id,
            "outcome": outcome,
            "position": position,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )


def _decide_and_append(command: Command, store: EventStore, fingerprint: str) -> AppendResult:
    read = _decide(command, store)
    if not read.events:
        return AppendResult(events=[])
    by_stream: dict[str, list[Event]] = defaultdict(list)
    for event in read.events:
        by_stream[event.stream_id].append(event)
    writes = [StreamWrite(stream, events, read.versions.get(stream, 0)) for stream, events in by_stream.items()]
    return store.append_many(writes, command_id=command.command_id, meta=_meta(command), fingerprint=fingerprint)


def _decide(command: Command, store: EventStore) -> _Read:
    versions: dict[str, int] = {}
    if isinstance(command, IncidentCommand):
        incident = incident_rules.fold(_read(store, incident_stream(command.incident_id), versions))
        _check_expected(command, incident_stream(command.incident_id), versions)
        resources = {
            rid: resource_rules.fold(_read(store, resource_stream(rid), versions))
            for rid in _resources_touched(command, incident)
        }
        return _Read(versions, incident_rules.decide(command, incident, resources))
    if isinstance(command, ResourceCommand):
        resource = resource_rules.fold(_read(store, resource_stream(command.resource_id), versions))
        _check_expected(command, resource_stream(command.resource_id), versions)
        return _Read(versions, resource_rules.decide(command, resource))
    raise TypeError(f"no handler for {type(command).__name__}")


def _read(store: EventStore, stream_id: str, versions: dict[str, int]) -> list[Event]:
    stored = store.read_stream(stream_id)
    versions[stream_id] = stored[-1].version if stored else 0
    return [item.event for item in stored]


def _check_expected(command: Command, stream_id: str, versions: dict[str, int]) -> None:
    if command.expected_version is not None and command.expected_version != versions[stream_id]:
        raise ConcurrencyConflict(stream_id, command.expected_version, versions[stream_id])


def _resources_touched(command: IncidentCommand, incident: incident_rules.Incident | None) -> list[str]:
    """The resources whose state the decision needs: the one named, or all a close would release."""
    if isinstance(command, CloseIncident):
        return incident.active_resource_ids() if incident else []
    resource_id = getattr(command, "resource_id", None)
    return [resource_id] if resource_id else []


def _meta(command: Command) -> EventMeta:
    return EventMeta(
        actor_id=command.actor.id,
        role=command.actor.role,
        command_id=command.command_id,
        correlation_id=command.correlation_id,
        causation_id=command.causation_id,
        device_at=command.device_at,
    )
