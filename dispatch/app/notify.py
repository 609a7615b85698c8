"""The outbox's workers: address each notice, then deliver each message, as RQ jobs through the same `handle`.

The log decides, RQ executes (DESIGN.md §4). A notice row appears in the projector's transaction; the projector
then tells NotifyQueue (after_commit), which enqueues `address_notification`. That job turns the notice's audience
into people and their channels (NotificationAddressed, with the texts in each language), and the projector's next
batch makes each first-choice delivery `queued`, which enqueues `deliver`. A delivery job claims its attempt in the
log, sends, and records the answer; a failure with a retry time comes back through the projector as `retrying`,
which enqueues the next attempt at that time. Job ids are deterministic (key and attempt), so the sweep that
re-derives lost jobs from the read models, and the projector telling twice, are harmless; and a job that runs
twice finds its attempt claimed or the delivery done, and sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import Engine, select

from dispatch.adapters.accounts import Contact
from dispatch.adapters.channels import NO_ADDRESS, NOT_CONFIGURED, MessageChannel, Sent
from dispatch.adapters.channels.line import LineChannel
from dispatch.adapters.channels.sms import SmsGateway
from dispatch.adapters.outbox_tables import DELIVERIES, NOTIFICATIONS
from dispatch.app.deadline_queue import FINAL_STATUSES, STALLED_AFTER_SECONDS, job_id_in, not_before
from dispatch.app.deadlines import worker_services
from dispatch.app.handle import handle
from dispatch.app.services import Services
from dispatch.domain.catalogue import (
    Channel,
    CrewMessaged,
    DeliveryAttempted,
    NoticeText,
    NotificationAddressed,
    PlannedDelivery,
    delivery_stream,
    incident_stream,
    notification_stream,
    resource_stream,
)
from dispatch.domain.commands import SYSTEM, AddressNotification, RecordDeliveryOutcome, StartDelivery
from dispatch.domain.decisions import incident as incident_rules
from dispatch.domain.decisions import resource as resource_rules
from dispatch.domain.decisions.incident import Incident
from dispatch.domain.decisions.outbox import fold_delivery, next_try_at
from dispatch.domain.notices import BOARD_WINDOW, Facts, audience_units, channels_for, delivery_key, render
from dispatch.domain.vocabulary import Language
from dispatch.projections.rows import Change
from dispatch.runtime.clock import Clock, SystemClock, real_time
from dispatch.runtime.settings import Settings

log = logging.getLogger("dispatch.notify")

ADDRESS_JOB: Final[str] = "dispatch.app.notify.address_notification"
DELIVER_JOB: Final[str] = "dispatch.app.notify.deliver"
# A job is one HTTP call and a few appends; one that hangs past this is killed by RQ and the sweep re-derives it.
JOB_TIMEOUT_SECONDS: Final[int] = 120
# Delivery statuses whose next step is a job: sent now (queued), at the retry time (retrying), or after the
# lease of an attempt whose worker may have died (sending).
WAITING: Final[frozenset[str]] = frozenset({"queued", "retrying", "sending"})

_channels: dict[str, MessageChannel] | None = None


def channels_from(settings: Settings) -> dict[str, MessageChannel]:
    """The push channels these settings configure (LINE with a token, SMS with a gateway)."""
    found: dict[str, MessageChannel] = {}
    timeout = settings.notify_http_timeout_seconds
    if settings.line_channel_access_token is not None:
        found["line"] = LineChannel(settings.line_channel_access_token.get_secret_value(),
                                    str(settings.line_api_base_url), timeout_seconds=timeout)
    if settings.sms_gateway_url is not None and settings.sms_api_key and settings.sms_api_secret is not None:
        found["sms"] = SmsGateway(str(settings.sms_gateway_url), settings.sms_api_key,
                                  settings.sms_api_secret.get_secret_value(), settings.sms_sender,
                                  credit_type=settings.sms_credit_type, timeout_seconds=timeout)
    return found


def worker_channels() -> dict[str, MessageChannel]:
    global _channels
    if _channels is None:
        _channels = channels_from(worker_services().settings)
    return _channels


def use_channels(channels: dict[str, MessageChannel] | None) -> None:
    """Make `channels` the ones jobs in this process send through (None: build them from the settings again)."""
    global _channels
    _channels = channels


# --- the jobs ----------------------------------------------------------------------------------------------


def address_notification(notification_key: str) -> int:
    """Decide who a notice reaches, on which channels and in which words, and make each person's first attempt at
    once, side by side (a crew of four hears together); returns how many were delivered."""
    services, channels = worker_services(), worker_channels()
    address(services, channels, notification_key)
    return send_first(services, channels, notification_key)


def send_first(services: Services, channels: Mapping[str, MessageChannel], notification_key: str) -> int:
    """The first attempt of every first-choice push of an addressed notice, up to notify_parallel_sends at once.
    The projector leaves these to this job (NotifyQueue.after_commit); should it die here, the sweep finds them."""
    stored = services.store.read_stream(notification_stream(notification_key))
    addressed = next((e.event for e in stored if isinstance(e.event, NotificationAddressed)), None)
    if addressed is None:
        return 0
    first = [d.delivery_key for d in addressed.deliveries if d.channel != "app" and d.fallback_for is None]
    if len(first) <= 1:
        return sum(deliver_once(services, channels, key) == "delivered" for key in first)
    with ThreadPoolExecutor(max_workers=min(len(first), services.settings.notify_parallel_sends)) as pool:
        outcomes = list(pool.map(lambda key: deliver_once(services, channels, key), first))
    return outcomes.count("delivered")


def deliver(delivery_key: str) -> str:
    """Make the delivery's next attempt, if it is due and nobody else holds it; returns what happened."""
    return deliver_once(worker_services(), worker_channels(), delivery_key)


def address(services: Services, channels: Mapping[str, MessageChannel], notification_key: str) -> int:
    with services.store.engine.connect() as db:
        row = db.execute(select(NOTIFICATIONS).where(NOTIFICATIONS.c.notification_key == notification_key)
                         ).mappings().first()
    if row is None or services.store.read_stream(notification_stream(notification_key)):
        return 0  # not projected yet (the sweep comes back), or addressed already
    now = services.clock.now()
    incident = _incident(services, row["incident_id"])
    expired = now - row["created_at"] > timedelta(minutes=services.settings.notify_max_age_minutes)
    units = audience_units(row["audience"], row["subject_id"], incident)
    people = [] if expired else services.accounts.contacts_of(
        resource_ids=units.resource_ids, facility_ids=units.facility_ids, roles=units.roles)
    order = [channel for channel in services.settings.notify_channels if channel in channels]
    deliveries: list[PlannedDelivery] = []
    unreachable: list[str] = []
    for person in people:
        planned = _chain(notification_key, person, order)
        deliveries += planned
        if len(planned) == 1 and order:  # the app alone, though LINE or SMS is on: this person cannot be pushed
            unreachable.append(person.person_id)
    languages = sorted({planned.language for planned in deliveries}) or ["th"]
    facts = _facts(services, dict(row), incident)
    texts = tuple(NoticeText(language=lang, text=render(row["kind"], lang, facts)) for lang in languages)
    result = handle(AddressNotification(
        actor=SYSTEM, at=now, causation_id=f"position:{row['position']}", notification_key=notification_key,
        kind=row["kind"], incident_id=row["incident_id"], deliveries=tuple(deliveries),
        unreachable=tuple(unreachable), texts=texts, expired=expired), services)
    return len(deliveries) if result.events else 0


def _chain(notification_key: str, person: Contact, order: Sequence[Channel]) -> list[PlannedDelivery]:
    """The app, then the person's push channels in order, each after the first standing by for the one before."""
    language: Language = "en" if person.language == "en" else "th"
    planned = [PlannedDelivery(delivery_key=delivery_key(notification_key, person.person_id, "app"),
                               person_id=person.person_id, channel="app", language=language)]
    previous: str | None = None
    for channel in channels_for(person.line_user_id, person.phone, order):
        key = delivery_key(notification_key, person.person_id, channel)
        planned.append(PlannedDelivery(delivery_key=key, person_id=person.person_id, channel=channel,
                                       language=language, fallback_for=previous))
        previous = key
    return planned


def deliver_once(services: Services, channels: Mapping[str, MessageChannel], key: str) -> str:
    addressed, planned = _plan(services, key)
    if addressed is None or planned is None or planned.channel == "app":
        return "unknown"
    if planned.fallback_for is not None and not fold_delivery(
            e.event for e in services.store.read_stream(delivery_stream(planned.fallback_for))).given_up:
        return "standby"  # the person's earlier channel has not failed for good: not this one's turn
    channel = channels.get(planned.channel)
    settings = services.settings
    claimed = handle(StartDelivery(
        actor=SYSTEM, at=services.clock.now(), delivery_key=key, notification_key=addressed.notification_key,
        channel=planned.channel, lease=timedelta(seconds=settings.notify_lease_seconds),
        repeatable=channel.repeatable if channel is not None else False), services)
    attempt = next((e.event.attempt for e in claimed.events if isinstance(e.event, DeliveryAttempted)), None)
    if attempt is None:
        return "not_due" if not claimed.events else "abandoned"
    sent = _send(services, channel, planned, addressed, key)
    retry_at = next_try_at(attempt, services.clock.now(), settings.notify_retry_seconds, retryable=sent.retryable,
                           retry_after_seconds=sent.retry_after_seconds)
    handle(RecordDeliveryOutcome(
        actor=SYSTEM, at=services.clock.now(), delivery_key=key, notification_key=addressed.notification_key,
        attempt=attempt, delivered=sent.delivered, provider_ref=sent.provider_ref, error=sent.error,
        status_code=sent.status_code, retry_at=retry_at), services)
    if not sent.delivered:
        log.warning("delivery attempt failed", extra={
            "delivery": key, "channel": planned.channel, "attempt": attempt, "error": sent.error,
            "status_code": sent.status_code, "retry_at": retry_at.isoformat() if retry_at else None})
    return "delivered" if sent.delivered else "retrying" if retry_at else "failed"


def _send(services: Services, channel: MessageChannel | None, planned: PlannedDelivery,
          addressed: NotificationAddressed, key: str) -> Sent:
    if channel is None:
        return Sent(False, error=NOT_CONFIGURED)
    contact = services.accounts.contact(planned.person_id)
    address = None if contact is None else contact.line_user_id if planned.channel == "line" else contact.phone
    if not address:
        return Sent(False, error=NO_ADDRESS)
    text = next((t.text for t in addressed.texts if t.language == planned.language),
                addressed.texts[0].text if addressed.texts else "")
    return channel.send(address, text, key)


def _plan(services: Services, key: str) -> tuple[NotificationAddressed | None, PlannedDelivery | None]:
    notification = key.rsplit(".", 1)[0]
    stored = services.store.read_stream(notification_stream(notification))
    addressed = next((e.event for e in stored if isinstance(e.event, NotificationAddressed)), None)
    if addressed is None:
        return None, None
    return addressed, next((d for d in addressed.deliveries if d.delivery_key == key), None)


def _incident(services: Services, incident_id: str | None) -> Incident | None:
    if incident_id is None:
        return None
    return incident_rules.fold(e.event for e in services.store.read_stream(incident_stream(incident_id)))


def _facts(services: Services, row: Mapping[str, Any], incident: Incident | None) -> Facts:
    incident_id = row["incident_id"] or ""
    link = f"{str(services.settings.public_base_url).rstrip('/')}/?incident={incident_id}"
    if incident is None:
        return Facts(incident_id=incident_id, link=link)
    report = incident.report
    site = services.places.find(report.site_id) if report.site_id else None
    referral = next((r for r in incident.referrals if r.referral_id == row["subject_id"]), None)
    facility = services.places.find(referral.facility_id) if referral else None
    unit_id = row["subject_id"] if row["audience"] == "crew" else (referral.resource_id if referral else None)
    unit = resource_rules.fold(e.event for e in services.store.read_stream(resource_stream(unit_id))) if unit_id \
        else None
    message = next((e.event.text for e in services.store.read_stream(incident_stream(incident_id))
                    if isinstance(e.event, CrewMessaged) and e.event.message_id == row["detail"]), "")
    return Facts(
        incident_id=incident_id, link=link, triage=incident.dispatch_triage, category=report.category,
        place_th=(site.name_th or site.name_en) if site else report.zone.replace("_", " "),
        place_en=site.name_en if site else report.zone.replace("_", " "),
        unit=unit.name if unit else (unit_id or ""), facility_th=(facility.name_th or facility.name_en) if facility
        else "", facility_en=facility.name_en if facility else "",
        deadline_at=referral.deadline_at if referral else None, message=message,
    )


# --- the queue -----------------------------------------------------------------------------------------------


def _sent_by_address(row: Mapping[str, Any]) -> bool:
    """A first choice not yet attempted: the job that addressed it is sending it now (send_first)."""
    return row["status"] == "queued" and row["fallback_for"] is None and row["attempts"] == 0


@dataclass
class SweepReport:
    notifications: int = 0
    deliveries: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


class NotifyQueue:
    """Enqueues the outbox's jobs on their own RQ queue: as the projector commits, and in the sweep."""

    def __init__(self, redis: Redis, queue_name: str, *, clock: Clock | None = None,
                 lease_seconds: float = 60) -> None:
        self.queue = Queue(queue_name, connection=redis)
        self.clock: Clock = clock or SystemClock()
        self.lease_seconds = lease_seconds

    def after_commit(self, changes: list[Change]) -> None:
        """Enqueue what the projector's batch calls for; a Redis failure is logged, and the sweep catches up."""
        try:
            for change in changes:
                row = change.row
                if row is None:
                    continue
                if change.view == NOTIFICATIONS.name and row["status"] == "pending":
                    self.address(row["notification_key"])
                elif change.view == DELIVERIES.name and row["status"] in WAITING and not _sent_by_address(row):
                    self.deliver(row, keep_finished=True)
        except RedisError as exc:
            log.warning("could not enqueue deliveries; the sweep will", extra={"error": repr(exc)})

    def address(self, notification_key: str, *, keep_finished: bool = True) -> str:
        job = self.queue.create_job(ADDRESS_JOB, args=(notification_key,), job_id=self.job_id(
            f"address-{notification_key}"), timeout=JOB_TIMEOUT_SECONDS, description=f"address {notification_key}")
        return self._enqueue(job, None, keep_finished=keep_finished)

    def deliver(self, row: Mapping[str, Any], *, keep_finished: bool) -> str:
        """Enqueue the job for the delivery's next attempt: now, at its retry time, or when its lease runs out."""
        key, attempt = row["delivery_key"], row["attempts"]
        due: datetime | None = None
        if row["status"] == "retrying" and row["retry_at"] is not None:
            due = row["retry_at"]
        elif row["status"] == "sending":
            due = row["updated_at"] + timedelta(seconds=self.lease_seconds)
        job = self.queue.create_job(DELIVER_JOB, args=(key,), job_id=self.job_id(f"deliver-{key}-{attempt + 1}"),
                                    timeout=JOB_TIMEOUT_SECONDS, description=f"deliver {key}")
        return self._enqueue(job, due, keep_finished=keep_finished)

    def _enqueue(self, job: Job, due: datetime | None, *, keep_finished: bool) -> str:
        real = real_time(self.clock, due) if due is not None else None
        for _ in range(2):
            try:
                if real is None or real <= datetime.now(UTC):
                    self.queue.enqueue_job(job, unique=True)
                else:
                    self.queue.schedule_job(job, not_before(real), unique=True)
                return "scheduled"
            except DuplicateJobError:
                existing = self.queue.fetch_job(job.id)
                if existing is None:
                    continue  # gone between the two calls: try once more
                status = existing.get_status()
                if status == JobStatus.SCHEDULED:
                    return self._bring_forward(existing, real)
                if keep_finished or status not in FINAL_STATUSES:
                    return "kept"
                existing.delete()  # it ran (too early, or its worker died) and the read model still waits: again
        return "kept"

    def _bring_forward(self, job: Job, real: datetime | None) -> str:
        """A job already waiting for its time: run it sooner when it is now wanted sooner (a retry due before the
        lease that scheduled it), or now when its time is long past (no scheduler moves it: one was killed and
        RQ keeps its lock for a minute)."""
        registry = self.queue.scheduled_job_registry
        try:
            scheduled = registry.get_scheduled_time(job)
        except NoSuchJobError:
            return "kept"  # a scheduler moved it meanwhile
        now = datetime.now(UTC)
        stalled = (now - scheduled).total_seconds() > STALLED_AFTER_SECONDS
        if stalled or (real is not None and real <= now) or real is None:
            if registry.remove(job.id):
                self.queue.enqueue_job(job)
                return "released"
            return "kept"
        if real < scheduled:
            registry.schedule(job, not_before(real))
            return "moved"
        return "kept"

    def job_id(self, name: str) -> str:
        return job_id_in(self.queue.name, name)

    def sweep(self, engine: Engine) -> SweepReport:
        """Re-derive every job the outbox still needs from the read models (after Redis lost them, or a worker
        died mid-job); safe at any time, since job ids are deterministic and jobs re-check the log."""
        report = SweepReport()
        since = self.clock.now() - BOARD_WINDOW  # older ones were never meant for this outbox: see BOARD_WINDOW
        with engine.connect() as db:
            pending = db.execute(select(NOTIFICATIONS.c.notification_key).where(
                NOTIFICATIONS.c.status == "pending", NOTIFICATIONS.c.created_at >= since)).scalars().all()
            waiting = db.execute(select(DELIVERIES).where(DELIVERIES.c.status.in_(WAITING))).mappings().all()
        for key in pending:
            report.notifications += 1
            report.count(self.address(key, keep_finished=False))
        for row in waiting:
            report.deliveries += 1
            report.count(self.deliver(dict(row), keep_finished=False))
        return report
