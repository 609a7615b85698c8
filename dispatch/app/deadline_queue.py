"""Referral checks as RQ jobs: scheduled after every append (RqScheduler) and by the reconcile sweep.

RQ executes; the log decides (DESIGN.md §4). Job ids are deterministic, and scheduling uses RQ's
`unique=True`, which refuses a job id whose job still exists in Redis (DuplicateJobError) instead of
overwriting it. Without it, RQ 3.0's `enqueue_at` overwrites the stored job and re-adds the id to the
scheduled registry: harmless while the job waits (one registry entry, the last write wins), but a job
already moved to the queue would then run twice (rq/rq#1701 reports the same for `enqueue`; checked
against rq 3.0.0's Queue.schedule_job and the UNIQUE_SCHEDULE_SCRIPT it runs). A job that exists but has
finished or failed while the log still wants its check (a run too early on a skewed clock, retries used
up during a database outage) is deleted and scheduled afresh, so the sweep heals those too.

The job ids carry the queue name, since RQ keeps every job under one Redis key space: two deployments, or
two tests, can share a Redis server as long as their queue names differ.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus

from dispatch.adapters.eventlog.store import EventStore
from dispatch.app.referral_index import OpenReferrals
from dispatch.domain.catalogue import incident_stream
from dispatch.domain.decisions import incident as incident_rules
from dispatch.domain.envelope import StoredEvent
from dispatch.domain.policies import Check, follow_up, reconcile_checks
from dispatch.runtime.clock import Clock, SystemClock, real_time

log = logging.getLogger("dispatch.workers")

# By dotted path, as RQ stores them anyway: the jobs need the services, and the services schedule through
# this module, so importing the job functions here would close an import cycle.
CHECK_DEADLINE_JOB: Final[str] = "dispatch.app.deadlines.check_referral_deadline"
CHECK_PREDICTION_JOB: Final[str] = "dispatch.app.deadlines.check_referral_prediction"
# Finished or failed jobs linger in Redis (results, failure records); their id no longer means "pending".
FINAL_STATUSES: Final[frozenset[JobStatus]] = frozenset(
    {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}
)
# Settings' defaults (check_retry_seconds, reconcile_seconds), for callers without settings at hand.
DEFAULT_RETRY_SECONDS: Final[tuple[int, ...]] = (5, 30, 120)
DEFAULT_PAUSE_SECONDS: Final[float] = 30.0
# Checks whose jobs' states one sweep asks Redis for in one pipeline.
SWEEP_BATCH: Final[int] = 1000
# A deadline check still waiting in RQ's scheduled registry this long after its time has no scheduler moving
# it: a worker killed with its scheduler leaves RQ's lock on the queue for a minute (interval + 60 s), and no
# other scheduler may move anything until it expires (tests/e2e/test_faults.py). The sweep then enqueues the
# check itself. A scheduler moves a check within ~1.2 s of its time (whole seconds, rounded up, plus a poll).
STALLED_AFTER_SECONDS: Final[float] = 2.0
_UNSAFE_IN_JOB_ID = re.compile(r"[^A-Za-z0-9_-]+")

Outcome = Literal["scheduled", "kept", "rescheduled", "released"]


class RqScheduler:
    """Schedules referral checks on an RQ queue: deadlines with `enqueue_at`, predictions at once.

    `clock` is the one the checks' times come from. RQ releases scheduled jobs by the system clock, so a
    check due at a moment of a ScaledClock is scheduled at the real moment that clock reaches it.
    """

    def __init__(
        self,
        redis: Redis,
        queue_name: str,
        *,
        clock: Clock | None = None,
        retry_seconds: Sequence[int] = DEFAULT_RETRY_SECONDS,
        pause_after_failure_seconds: float = DEFAULT_PAUSE_SECONDS,
    ) -> None:
        self.queue = Queue(queue_name, connection=redis)
        self.clock: Clock = clock or SystemClock()
        self.retry = Retry(max=len(retry_seconds), interval=list(retry_seconds))
        self.pause_after_failure_seconds = pause_after_failure_seconds
        self._paused_until = 0.0

    def after_append(self, events: Sequence[StoredEvent]) -> None:
        """Schedule the checks new events call for. A Redis failure is logged, never raised: the append has
        happened, and the reconcile sweep will schedule from the log what was missed here."""
        checks = follow_up(events)
        if not checks:
            return
        jobs = [check.job_id for check in checks]
        # A Redis that is down costs each try its client's retries (seconds with redis-py's defaults): after
        # one failure, commands stop waiting on it for a while and leave their checks to the sweep.
        if time.monotonic() < self._paused_until:
            log.warning("Redis failed moments ago; leaving referral checks to the reconcile sweep",
                        extra={"jobs": jobs})
            return
        try:
            for check in checks:
                self.schedule(check)
        except RedisError as exc:
            self._paused_until = time.monotonic() + self.pause_after_failure_seconds
            log.warning("could not schedule referral checks; the reconcile sweep will",
                        extra={"jobs": jobs, "error": repr(exc)})

    def schedule(self, check: Check) -> Outcome:
        """Schedule a check unless its job is already waiting or running; raises RedisError."""
        job_id = self.job_id(check)
        try:
            self._enqueue(check, job_id)
            return "scheduled"
        except DuplicateJobError:
            pass
        existing = self.queue.fetch_job(job_id)
        still_pending = existing is not None and existing.get_status() not in FINAL_STATUSES
        # A prediction that has run is done with: the next event brings its own.
        if check.kind == "predicted" or still_pending:
            return "kept"
        if existing is not None:
            existing.delete()
        try:
            self._enqueue(check, job_id)
        except DuplicateJobError:
            return "kept"  # someone scheduled it between our delete and our enqueue
        return "rescheduled"

    def schedule_all(self, checks: Sequence[Check]) -> list[Outcome]:
        """`schedule` for many checks, asking Redis for all their jobs' states in one round trip first: a
        sweep that finds everything in place costs one pipeline, not three round trips a check."""
        job_ids = [self.job_id(check) for check in checks]
        with self.queue.connection.pipeline(transaction=False) as pipeline:
            for job_id in job_ids:
                pipeline.hget(Job.key_for(job_id), "status")
            statuses: list[bytes | None] = pipeline.execute()
        return [
            self.schedule(check) if not _in_place(check, status)
            else self.release(check) if status == b"scheduled" and self._stalled(check)
            else "kept"
            for check, status in zip(checks, statuses, strict=True)
        ]

    def release(self, check: Check) -> Outcome:
        """Move a stalled check from the scheduled registry to the queue, as the scheduler would have. Should
        that scheduler come back and move it too, the check runs twice and the second run appends nothing."""
        job_id = self.job_id(check)
        if not self.queue.scheduled_job_registry.remove(job_id):
            return "kept"  # a scheduler moved it meanwhile
        job = self.queue.fetch_job(job_id)
        if job is None:
            return self.schedule(check)
        self.queue.enqueue_job(job)
        return "released"

    def _stalled(self, check: Check) -> bool:
        if check.run_at is None:
            return False
        overdue = datetime.now(UTC) - real_time(self.clock, check.run_at)
        return overdue.total_seconds() > STALLED_AFTER_SECONDS

    def job_id(self, check: Check) -> str:
        """The RQ job id of a check: its deterministic id within this queue, in the characters RQ accepts."""
        return job_id_in(self.queue.name, check.job_id)

    def _enqueue(self, check: Check, job_id: str) -> Job:
        if check.kind == "predicted":
            job = self.queue.create_job(
                CHECK_PREDICTION_JOB, args=(check.incident_id, check.resource_id), job_id=job_id,
                retry=self.retry, description=f"predicted arrival ({check.job_id})",
            )
            return self.queue.enqueue_job(job, unique=True)
        assert check.run_at is not None, "a deadline check has a time"
        due = real_time(self.clock, check.run_at)
        job = self.queue.create_job(
            CHECK_DEADLINE_JOB, args=(check.incident_id, check.referral_id, check.kind), job_id=job_id,
            retry=self.retry, description=f"{check.kind} check of referral {check.referral_id}",
            meta={"due_at": due.timestamp()},  # the worker measures how late the check started (metrics)
        )
        if due <= datetime.now(UTC):
            # Overdue (found by the sweep after a Redis loss): now, rather than on the scheduler's next tick.
            return self.queue.enqueue_job(job, unique=True)
        return self.queue.schedule_job(job, not_before(due), unique=True)


def _in_place(check: Check, status: bytes | None) -> bool:
    # What `schedule` would keep: a job waiting or running, or a prediction that has run.
    if status is None:
        return False
    return check.kind == "predicted" or status.decode() not in FINAL_STATUSES


def job_id_in(queue_name: str, check_id: str) -> str:
    """`{queue}-{check id}` with any character RQ refuses replaced (incident ids may hold '.' and ':'),
    plus a digest of the original when something had to be replaced, so two ids never collide."""
    raw = f"{queue_name}-{check_id}"
    safe = _UNSAFE_IN_JOB_ID.sub("_", raw)
    if safe == raw:
        return raw
    return f"{safe}-{_digest(raw)}"


def not_before(moment: datetime) -> datetime:
    """`moment` rounded up to a whole second. RQ scores scheduled jobs in whole seconds, truncating, so a
    check due at 12:00:00.7 would otherwise be released at 12:00:00.0 and find its deadline not yet passed."""
    return datetime.fromtimestamp(math.ceil(moment.timestamp()), UTC)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


# --- reconcile -------------------------------------------------------------------------------------


@dataclass
class ReconcileReport:
    """What a sweep found and did: open referrals looked at, and the fate of each check it derived."""

    open_referrals: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: Outcome) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def reconcile(store: EventStore, scheduler: RqScheduler, index: OpenReferrals | None = None) -> ReconcileReport:
    """Re-derive every open referral's pending checks from the log and schedule the missing ones.

    Safe at any time and any number of times (deterministic job ids). How it scales: `index` follows the
    log, so a long-lived worker passes the same one each time and a sweep reads only the events appended
    since the last, plus the streams of the referrals still open (tens in practice, bounded by the fleet).
    Without one, the sweep reads the whole log once.
    """
    index = index or OpenReferrals()
    index.catch_up(store)
    report = ReconcileReport()
    checks: list[Check] = []
    for incident_id in index.incident_ids():
        stored = store.read_stream(incident_stream(incident_id))
        incident = incident_rules.fold(item.event for item in stored)
        if incident is None or incident.open_referral is None:
            continue
        report.open_referrals += 1
        reports = [index.last_position_report(rid) for rid in incident.active_resource_ids()]
        checks += reconcile_checks(incident, max([stored[-1].position, *reports]))
    for start in range(0, len(checks), SWEEP_BATCH):
        for outcome in scheduler.schedule_all(checks[start:start + SWEEP_BATCH]):
            report.count(outcome)
    return report
