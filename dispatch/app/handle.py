"""handle(command): read the streams a command touches, decide, append; the same path for HTTP and workers."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from dispatch.adapters.eventlog.store import Append, AppendResult, EventStore, StreamWrite
from dispatch.app.services import Services
from dispatch.domain.catalogue import Event, ReferralPolicy, incident_stream, resource_stream
from dispatch.domain.commands import (
    CloseIncident,
    Command,
    IncidentCommand,
    PublishPublicAlert,
    RecordExternalAlert,
    RequestReferral,
    ResourceCommand,
    StreamCommand,
)
from dispatch.domain.decisions import alerts as alert_rules
from dispatch.domain.decisions import incident as incident_rules
from dispatch.domain.decisions import outbox as outbox_rules
from dispatch.domain.decisions import resource as resource_rules
from dispatch.domain.envelope import EventMeta, StoredEvent
from dispatch.domain.errors import ConcurrencyConflict, DispatchError
from dispatch.domain.vocabulary import Zone
from dispatch.runtime.settings import ZonePolicySetting

# Each zone's referral guarantee, as the settings give it.
ZonePolicies = Mapping[str, ZonePolicySetting]

log = logging.getLogger("dispatch.domain.commands")


@dataclass(frozen=True)
class _Read:
    """What a command's decision was based on: states, and each stream's version at the time."""

    versions: dict[str, int]
    events: list[Event]


Answer = AppendResult | Exception


@dataclass
class _Pending:
    """One command on its way through handle_many: decided into `writes`, or already answered."""

    command: Command
    fingerprint: str
    started: float
    writes: list[StreamWrite] = field(default_factory=list)
    answer: Answer | None = None


def handle(command: Command, services: Services) -> AppendResult:
    """Apply a command; a repeated command_id returns the original result and appends nothing.

    On a concurrency conflict the command is read and decided once more, so two operators acting at
    once both succeed when both are still valid, and the second gets the rule it now breaks otherwise.
    """
    answer = handle_many([command], services)[0]
    if isinstance(answer, Exception):
        raise answer
    return answer


def handle_many(commands: Sequence[Command], services: Services,
                started: Sequence[float] | None = None) -> list[Answer]:
    """Apply several commands, appending them in one transaction (group commit: one fsync for all); each
    gets its own answer, a result or the error it met, as if it had been handled alone. `started` (when
    each command arrived, perf_counter) times the log lines."""
    now = time.perf_counter()
    pending = [_Pending(command, command.fingerprint(), started[index] if started else now)
               for index, command in enumerate(commands)]
    policies = services.settings.zone_policies
    _prepare(pending, services.store, policies)
    _append([item for item in pending if item.answer is None], services.store, policies)
    new_events: list[StoredEvent] = []
    for item in pending:
        _log_answer(item)
        if isinstance(item.answer, AppendResult) and not item.answer.replayed:
            new_events += item.answer.events
    if services.scheduler is not None and new_events:
        services.scheduler.after_append(new_events)
    return [item.answer for item in pending]  # type: ignore[misc]


def _prepare(pending: Sequence[_Pending], store: EventStore, policies: ZonePolicies) -> None:
    """Answer repeated commands from the log; read and decide the others into writes (or their errors). The
    commands already seen and the streams the batch names are read together, not one query per command."""
    try:
        earlier, streams = store.read_batch(
            [(item.command.command_id, item.fingerprint) for item in pending if item.command.command_id is not None],
            [stream for item in pending for stream in item.command.streams()])
        reads = _Reads(store, streams)
    except Exception as exc:  # the database is unreachable: every command hears so
        for item in pending:
            item.answer = exc
        return
    for item in pending:
        if item.command.command_id in earlier:
            item.answer = earlier[item.command.command_id]
            continue
        try:
            item.writes = _decide_writes(item.command, reads, policies)
        except Exception as exc:  # one command's failure is its own answer, not its batch's
            item.answer = exc


class _Reads:
    """Streams as a batch's decisions read them: those named up front in one query, any other on demand."""

    def __init__(self, store: EventStore, streams: dict[str, list[StoredEvent]]) -> None:
        self._store = store
        self._streams = streams

    def __call__(self, stream_id: str) -> list[StoredEvent]:
        if stream_id not in self._streams:
            self._streams[stream_id] = self._store.read_stream(stream_id)
        return self._streams[stream_id]


def _append(items: Sequence[_Pending], store: EventStore, policies: ZonePolicies) -> None:
    if not items:
        return
    try:
        answers: list[Answer] = list(store.append_batch([_as_append(item) for item in items]))
    except Exception as exc:  # the shared commit failed: nothing of any of them was stored
        answers = [exc] * len(items)
    for item, answer in zip(items, answers, strict=True):
        if isinstance(answer, ConcurrencyConflict) and item.command.expected_version is None:
            answer = _retry(item, store, policies)  # the client did not say which version it saw: decide once more
        item.answer = answer


def _retry(item: _Pending, store: EventStore, policies: ZonePolicies) -> Answer:
    try:
        item.writes = _decide_writes(item.command, store.read_stream, policies)
        return store.append_many(item.writes, command_id=item.command.command_id, meta=_meta(item.command),
                                 fingerprint=item.fingerprint)
    except Exception as exc:  # as in _prepare
        return exc


def _as_append(item: _Pending) -> Append:
    return Append(item.writes, item.command.command_id, _meta(item.command), item.fingerprint)


def _log_answer(item: _Pending) -> None:
    answer = item.answer
    if isinstance(answer, AppendResult):
        _log(item.command, item.started, outcome="replayed" if answer.replayed else "ok",
             position=answer.last_position)
    elif isinstance(answer, DispatchError):
        _log(item.command, item.started, outcome=answer.code)
    else:
        _log(item.command, item.started, outcome="error")


def _log(command: Command, started: float, *, outcome: str, position: int | None = None) -> None:
    """One line per command: who did what to which incident, where it landed in the log, how long it took."""
    log.info(
        "command",
        extra={
            "command": type(command).__name__,
            "actor": command.actor.id,
            "role": command.actor.role,
            "incident": command.incident_id if isinstance(command, IncidentCommand) else None,
            "resource": command.resource_id if isinstance(command, ResourceCommand) else None,
            "command_id": command.command_id,
            "outcome": outcome,
            "position": position,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )


def _decide_writes(command: Command, read_stream: Callable[[str], list[StoredEvent]],
                   policies: ZonePolicies) -> list[StreamWrite]:
    read = _decide(command, read_stream, policies)
    by_stream: dict[str, list[Event]] = defaultdict(list)
    for event in read.events:
        by_stream[event.stream_id].append(event)
    return [StreamWrite(stream, events, read.versions.get(stream, 0)) for stream, events in by_stream.items()]


def _decide(command: Command, read_stream: Callable[[str], list[StoredEvent]], policies: ZonePolicies) -> _Read:
    versions: dict[str, int] = {}
    subject = command.streams()[0]
    if isinstance(command, IncidentCommand):
        incident = incident_rules.fold(_read(read_stream, subject, versions))
        _check_expected(command, subject, versions)
        if isinstance(command, RequestReferral) and command.policy is None and incident is not None:
            command = replace(command, policy=_referral_policy(incident.report.zone, policies))
        resources = {
            rid: resource_rules.fold(_read(read_stream, resource_stream(rid), versions))
            for rid in _resources_touched(command, incident)
        }
        others = {
            other: incident_rules.fold(_read(read_stream, incident_stream(other), versions))
            for other in command.other_incidents()
        }
        return _Read(versions, incident_rules.decide(command, incident, resources, others))
    if isinstance(command, ResourceCommand):
        resource = resource_rules.fold(_read(read_stream, subject, versions))
        _check_expected(command, subject, versions)
        return _Read(versions, resource_rules.decide(command, resource))
    if isinstance(command, StreamCommand):
        streams = {stream: _read(read_stream, stream, versions) for stream in command.streams()}
        _check_expected(command, subject, versions)
        rules = alert_rules if isinstance(command, PublishPublicAlert | RecordExternalAlert) else outbox_rules
        return _Read(versions, rules.decide(command, streams))
    raise TypeError(f"no handler for {type(command).__name__}")


def _read(read_stream: Callable[[str], list[StoredEvent]], stream_id: str, versions: dict[str, int]) -> list[Event]:
    stored = read_stream(stream_id)
    versions[stream_id] = stored[-1].version if stored else 0
    return [item.event for item in stored]


def _check_expected(command: Command, stream_id: str, versions: dict[str, int]) -> None:
    if command.expected_version is not None and command.expected_version != versions[stream_id]:
        raise ConcurrencyConflict(stream_id, command.expected_version, versions[stream_id])


def _resources_touched(command: IncidentCommand, incident: incident_rules.Incident | None) -> list[str]:
    """The resources whose state the decision needs: those the command names, or all a close would release."""
    if isinstance(command, CloseIncident):
        return incident.active_resource_ids() if incident else []
    return list(command.resources())


def _referral_policy(zone: Zone, policies: ZonePolicies) -> ReferralPolicy | None:
    """The zone's guarantee from the settings; None where the zone has none (no deadline, no warning)."""
    setting = policies.get(zone)
    if setting is None:
        return None
    return ReferralPolicy(zone=zone, guarantee_minutes=setting.guarantee_minutes,
                          warning_minutes=setting.warning_minutes)


def _meta(command: Command) -> EventMeta:
    return EventMeta(
        actor_id=command.actor.id,
        role=command.actor.role,
        command_id=command.command_id,
        correlation_id=command.correlation_id,
        causation_id=command.causation_id,
        device_at=command.device_at,
    )
