"""The worker process: reconcile, keep reconciling, and work the referral queue with RQ's scheduler.

`run_worker` does what `rq worker --with-scheduler <queue>` does, plus the reconcile sweep of DESIGN.md §4:
once at start and then every `reconcile_seconds`, so a Redis that lost its jobs (a restart without
persistence, a FLUSHALL) costs at most one interval, never a missed warning. Its RQ scheduler polls every
`scheduler_interval_seconds` (RQ's is fixed at 1 s): RQ keeps scheduled times in whole seconds, rounded up
here so no check runs early, and a 1 s poll on top would let a breach land up to 2 s after its deadline
(bench/referral_deadlines.py measures it).

The periodic sweep is a thread of this process, not an RQ job. RQ 3.0 offers two ways to repeat a job and
neither survives the loss it exists for: a job that re-enqueues itself lives in Redis and goes with it, and
`rq cron` is another process to run. The thread only reads the log and calls enqueue, and it stops with
the worker.

The worker is RQ's SimpleWorker: a job runs in this process instead of a forked child. Checks are a few
milliseconds of reads and one append, less than a fork costs, and running here keeps the Services built
once (pooled connections, the fleet view that follows the log). The jobs work under a plain forking
`rq worker` too (see deadlines.py), only slower.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.executions import Execution
from rq.job import Job
from rq.scheduler import RQScheduler
from rq.worker import SimpleWorker

from dispatch.adapters.database import DATABASE_ERRORS
from dispatch.app.deadline_queue import RqScheduler, reconcile
from dispatch.app.deadlines import use_services
from dispatch.app.referral_index import OpenReferrals
from dispatch.app.services import Services, attach_scheduler, build_services
from dispatch.entrypoints.api.metrics import WorkerMetrics, serve_metrics
from dispatch.runtime.settings import Settings, get_settings

log = logging.getLogger("dispatch.workers")
# The longest the worker waits between tries to reach Redis again while it is away.
REDIS_RETRY_CAP_SECONDS = 2.0
# What a sweep may meet that the next sweep may not: Redis or the database away for a while.
PASSING_FAILURES = (RedisError, OSError, *DATABASE_ERRORS)


def run_worker(settings: Settings, *, redis: Redis | None = None, burst: bool = False) -> bool:
    """Work the referral queue until stopped (SIGTERM/SIGINT), or until it is empty with `burst`.

    `redis`: the connection to use; by default one to `settings.redis_url` (`dispatch up` passes the
    embedded Redis it started). Migrates the database first: a worker may be the first process up.
    Returns whether any job was run.
    """
    connection = redis if redis is not None else _connect(settings)
    services = attach_scheduler(build_services(settings), connection)
    scheduler = services.scheduler
    assert isinstance(scheduler, RqScheduler)
    use_services(services)
    index = OpenReferrals()
    report = reconcile(services.store, scheduler, index)
    log.info("reconciled at start", extra={"referrals": report.open_referrals, "checks": report.outcomes})
    sweeps = ReconcileLoop(services, scheduler, index, settings.reconcile_seconds)
    worker = _worker(scheduler.queue, settings)
    serve_metrics(worker.metrics.registry, settings.host, settings.worker_metrics_port)
    _start_rq_scheduler(worker, settings, burst=burst)
    if not burst:
        sweeps.start()
    try:
        return worker.work(burst=burst, logging_level=settings.log_level)
    finally:
        sweeps.stop()


class MeasuredWorker(SimpleWorker):
    """RQ's SimpleWorker, measuring each job: how late it started against the time it was due (a deadline check's
    scheduled time, kept in its meta as `due_at`; otherwise when it was queued), and how it ended."""

    def __init__(self, *args: Any, metrics: WorkerMetrics | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metrics = metrics or WorkerMetrics()

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        name = (job.func_name or "unknown").rsplit(".", 1)[-1]
        due = job.meta.get("due_at")
        due_at = datetime.fromtimestamp(float(due), UTC) if due is not None else job.enqueued_at
        if due_at is not None:
            aware = due_at if due_at.tzinfo is not None else due_at.replace(tzinfo=UTC)
            self.metrics.lateness.labels(name).observe(max(0.0, (datetime.now(UTC) - aware).total_seconds()))
        finished: bool = super().perform_job(job, queue, execution)
        self.metrics.jobs.labels(name, "finished" if finished else "failed").inc()
        if not finished:
            self.metrics.failures.labels(name).inc()
        return finished


def _worker(queue: Queue, settings: Settings) -> MeasuredWorker:
    # RQ looks after its scheduler (restarts it, takes over the lock of a dead worker's) in its maintenance
    # tasks, which an idle worker runs only between waits for a job: every 10 minutes and 405 seconds by
    # default. One sweep interval for both keeps a lost scheduler from delaying checks by minutes.
    interval = max(1, round(settings.reconcile_seconds))
    worker = MeasuredWorker([queue], connection=queue.connection, maintenance_interval=interval,
                            worker_ttl=interval + 15)
    # RQ doubles its wait between tries while Redis is away, up to a minute: after a long outage, due checks
    # would wait up to that long once Redis is back. A try costs one refused connection.
    worker.max_connection_wait_time = REDIS_RETRY_CAP_SECONDS
    return worker


def _start_rq_scheduler(worker: SimpleWorker, settings: Settings, *, burst: bool) -> None:
    """What `work(with_scheduler=True)` does, with a scheduler that moves due checks every
    scheduler_interval_seconds. The worker supervises the scheduler it holds as its own (restarts it)."""
    scheduler = PromptScheduler(worker.queues, connection=worker.connection, logging_level=settings.log_level,
                                poll_seconds=settings.scheduler_interval_seconds)
    worker.scheduler = scheduler
    # RQ's scheduler methods carry no annotations; mypy --strict would refuse each call.
    scheduler.acquire_locks()  # type: ignore[no-untyped-call]
    if not scheduler.acquired_locks:
        return  # another worker's scheduler has the queue; this one takes over if that one dies
    if burst:  # move what is due now, then let the worker drain the queue
        scheduler.enqueue_scheduled_jobs()  # type: ignore[no-untyped-call]
        scheduler.release_locks()  # type: ignore[no-untyped-call]
    else:
        scheduler.start()  # type: ignore[no-untyped-call]


class PromptScheduler(RQScheduler):
    """RQ's scheduler, moving due jobs to the queue every `poll_seconds` rather than every second.

    RQ 3.0 sleeps its `interval` between polls and also sets its lock's expiry from it, with Redis commands
    that take whole seconds only; so `interval` stays RQ's 1 and this loop, RQ 3.0's RQScheduler.work with
    another sleep, polls in between. A poll is two small Redis round trips.
    """

    def __init__(self, *args: Any, poll_seconds: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.poll_seconds = poll_seconds

    def work(self) -> None:
        self._install_signal_handlers()  # type: ignore[no-untyped-call]
        self.register_birth()
        redis_lost = False
        while not self._stop_requested:
            try:
                if self.should_reacquire_locks:
                    self.acquire_locks()  # type: ignore[no-untyped-call]
                self.heartbeat()  # type: ignore[no-untyped-call]
                self.enqueue_scheduled_jobs()  # type: ignore[no-untyped-call]
                redis_lost = False
            except RedisError as exc:
                # RQ's loop dies with Redis, and the worker starts another only at its next maintenance, a sweep
                # interval later: due checks would wait that long after Redis is back. This one polls on (its
                # heartbeat takes the lock again once Redis answers), and says so once per outage.
                if not redis_lost:
                    log.warning("scheduler lost Redis; polling until it is back", extra={"error": repr(exc)})
                redis_lost = True
            time.sleep(self.poll_seconds)
        self.stop()  # type: ignore[no-untyped-call]


class ReconcileLoop(threading.Thread):
    """Runs the reconcile sweep every `interval_seconds` until stopped; a failed sweep waits for the next."""

    def __init__(
        self, services: Services, scheduler: RqScheduler, index: OpenReferrals, interval_seconds: float
    ) -> None:
        super().__init__(name="reconcile", daemon=True)
        self.services, self.scheduler, self.index = services, scheduler, index
        self.interval_seconds = interval_seconds
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self.interval_seconds):
            try:
                if not self._my_turn():
                    continue
                report = reconcile(self.services.store, self.scheduler, self.index)
            except PASSING_FAILURES as exc:
                log.warning("reconcile sweep failed; trying again next interval", extra={"error": repr(exc)})
                continue
            if report.outcomes.keys() & {"scheduled", "rescheduled", "released"}:
                log.warning("reconcile restored lost or stalled referral checks", extra={"checks": report.outcomes})

    def _my_turn(self) -> bool:
        """One sweep an interval is enough, however many workers there are: the first to ask takes the turn.
        The mark expires within the interval, so a worker that dies holding it costs nothing."""
        key = f"dispatch:{self.scheduler.queue.name}:reconcile-sweep"
        expires_ms = max(1, int(self.interval_seconds * 1000 * 0.8))
        return bool(self.scheduler.queue.connection.set(key, "taken", nx=True, px=expires_ms))

    def stop(self) -> None:
        self._stopped.set()


def _connect(settings: Settings) -> Redis:
    if settings.redis_url is None:
        raise ValueError("no redis_url: pass the Redis connection (dispatch up starts an embedded one)")
    return Redis.from_url(settings.redis_url)


def main() -> None:
    """`python -m dispatch.entrypoints.worker [--burst]`, with settings from the environment."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--burst", action="store_true", help="quit when the queue is empty")
    run_worker(get_settings(), burst=parser.parse_args().burst)


if __name__ == "__main__":
    main()
