"""Messages to crews, and the outbox's notifications and deliveries: their states and rules.

A delivery is a stream of attempts. Each attempt is claimed in the log (DeliveryAttempted) before the message
leaves, and closed by what the channel answered; the claim is a stream version, so two workers can never both
hold one attempt. An attempt that stays open past its lease belonged to a worker that died mid-send: whether
the message left is unknown. A channel that drops repeats of an accepted message (LINE's retry key) is simply
tried again under the same key; any other (an SMS gateway) gives the delivery up as failed, so a person is
never sent the same message twice and the failure is on the board for a person to follow up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatch.domain.catalogue import (
    CrewMessaged,
    DeliveryAttempted,
    DeliveryAttemptFailed,
    DeliverySucceeded,
    Event,
    NotificationAddressed,
    incident_stream,
    resource_stream,
)
from dispatch.domain.commands import (
    AddressNotification,
    MessageCrew,
    RecordDeliveryOutcome,
    StartDelivery,
    StreamCommand,
)
from dispatch.domain.decisions import incident as incident_rules
from dispatch.domain.decisions import resource as resource_rules
from dispatch.domain.errors import IncidentAlreadyClosed, IncidentNotFound, InvalidInput, ResourceNotAssigned
from dispatch.domain.text import clean_text
from dispatch.domain.vocabulary import MAX_NOTE_LENGTH

# The error an abandoned attempt on a channel without repeat protection is given up with.
OUTCOME_UNKNOWN = "outcome_unknown"


@dataclass(frozen=True)
class Attempt:
    number: int
    started_at: datetime
    delivered: bool = False
    failed: bool = False
    retry_at: datetime | None = None

    @property
    def open(self) -> bool:
        return not (self.delivered or self.failed)


@dataclass(frozen=True)
class Delivery:
    """A delivery's attempts, oldest first."""

    attempts: tuple[Attempt, ...] = ()

    @property
    def last(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def delivered(self) -> bool:
        return any(attempt.delivered for attempt in self.attempts)

    @property
    def given_up(self) -> bool:
        last = self.last
        return last is not None and last.failed and last.retry_at is None

    @property
    def done(self) -> bool:
        return self.delivered or self.given_up


def evolve_delivery(delivery: Delivery, event: Event) -> Delivery:
    match event:
        case DeliveryAttempted():
            return Delivery((*delivery.attempts, Attempt(event.attempt, event.at)))
        case DeliverySucceeded():
            return _close(delivery, event.attempt, delivered=True)
        case DeliveryAttemptFailed():
            return _close(delivery, event.attempt, failed=True, retry_at=event.retry_at)
    return delivery


def _close(delivery: Delivery, number: int, **outcome: object) -> Delivery:
    attempts = tuple(Attempt(a.number, a.started_at, **outcome) if a.number == number and a.open  # type: ignore[arg-type]
                     else a for a in delivery.attempts)
    return Delivery(attempts)


def fold_delivery(events: Iterable[Event]) -> Delivery:
    delivery = Delivery()
    for event in events:
        delivery = evolve_delivery(delivery, event)
    return delivery


def decide(command: StreamCommand, streams: Mapping[str, Sequence[Event]]) -> list[Event]:
    """The events a message, notification or delivery command produces; [] means nothing to do."""
    match command:
        case MessageCrew():
            return _message(command, streams[incident_stream(command.incident_id)],
                            streams[resource_stream(command.resource_id)])
        case AddressNotification():
            return _address(command, streams[command.streams()[0]])
        case StartDelivery():
            return _start(command, fold_delivery(streams[command.streams()[0]]))
        case RecordDeliveryOutcome():
            return _outcome(command, fold_delivery(streams[command.streams()[0]]))
    raise InvalidInput(f"{type(command).__name__} is not a message or delivery command")


def _message(command: MessageCrew, incident_events: Sequence[Event], resource_events: Sequence[Event]) -> list[Event]:
    incident = incident_rules.fold(incident_events)
    if incident is None:
        raise IncidentNotFound(f"incident {command.incident_id} does not exist", field="incident_id")
    if incident.closed:
        raise IncidentAlreadyClosed(f"incident {incident.id} is closed; its crews get no more messages",
                                    field="incident_id")
    resource = resource_rules.fold(resource_events)
    if resource is None or command.resource_id not in incident.active_resource_ids():
        raise ResourceNotAssigned(f"{command.resource_id} is not on incident {incident.id}; message the crews "
                                  "of units sent to it", field="resource_id")
    text = clean_text(command.text.strip(), "text", max_length=MAX_NOTE_LENGTH, free_text=True)
    if not text:
        raise InvalidInput("a message needs some text", field="text")
    return [CrewMessaged(at=command.at, incident_id=command.incident_id, message_id=command.message_id,
                         resource_id=command.resource_id, text=text)]


def _address(command: AddressNotification, events: Sequence[Event]) -> list[Event]:
    if any(isinstance(event, NotificationAddressed) for event in events):
        return []  # addressed already: a second worker, or the sweep, found it done
    return [NotificationAddressed(
        at=command.at, notification_key=command.notification_key, kind=command.kind,
        incident_id=command.incident_id, deliveries=command.deliveries, unreachable=command.unreachable,
        texts=command.texts, expired=command.expired,
    )]


def _start(command: StartDelivery, delivery: Delivery) -> list[Event]:
    last = delivery.last
    if delivery.done:
        return []
    if last is not None and last.open:
        if command.at < last.started_at + command.lease:
            return []  # another worker is on it
        if not command.repeatable:
            return [DeliveryAttemptFailed(at=command.at, delivery_key=command.delivery_key,
                                          notification_key=command.notification_key, attempt=last.number,
                                          error=OUTCOME_UNKNOWN)]
    elif last is not None and last.retry_at is not None and command.at < last.retry_at:
        return []  # backing off: not yet
    return [DeliveryAttempted(at=command.at, delivery_key=command.delivery_key,
                              notification_key=command.notification_key,
                              attempt=(last.number if last else 0) + 1, channel=command.channel)]


def _outcome(command: RecordDeliveryOutcome, delivery: Delivery) -> list[Event]:
    last = delivery.last
    if last is None or last.number != command.attempt or not last.open:
        return []  # not the open attempt (given up meanwhile as abandoned): the answer came too late to count
    common = {"at": command.at, "delivery_key": command.delivery_key,
              "notification_key": command.notification_key, "attempt": command.attempt}
    if command.delivered:
        return [DeliverySucceeded(**common, provider_ref=command.provider_ref)]  # type: ignore[arg-type]
    return [DeliveryAttemptFailed(**common, error=command.error, status_code=command.status_code,  # type: ignore[arg-type]
                                  retry_at=command.retry_at)]


def next_try_at(attempt: int, now: datetime, backoff_seconds: Sequence[float], *, retryable: bool,
                retry_after_seconds: float | None) -> datetime | None:
    """When to try a failed delivery again, or None: give it up (the person's next channel takes over).

    Attempt n waits backoff_seconds[n-1], or longer if the channel asked to be left alone that long (Retry-After);
    after len(backoff_seconds) retries, or when the channel asks for a wait longer than the longest backoff (a crew
    must hear within minutes, and another channel may reach them sooner), it is given up.
    """
    if not retryable or attempt > len(backoff_seconds):
        return None
    wait = backoff_seconds[attempt - 1]
    if retry_after_seconds is not None:
        if retry_after_seconds > max(backoff_seconds):
            return None
        wait = max(wait, retry_after_seconds)
    return now + timedelta(seconds=wait)
