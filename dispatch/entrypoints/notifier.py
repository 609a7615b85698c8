"""The notifier process: works the outbox's queue (addressing notices, delivering messages) with RQ's scheduler for
retries, sweeps lost jobs back from the read models, and polls the CAP feeds.

A process of its own, apart from the referral worker: a delivery waits on a provider (up to its HTTP timeout),
and a referral's breach check must never wait behind one. Several notifiers share the queue; the sweep and the
feed poll run on whichever takes the turn (a Redis mark that expires), so their number does not multiply them.
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Callable

from redis import Redis

from dispatch.adapters.eventlog.wakeup import RedisWakeup
from dispatch.app.cap_feeds import poll_feeds
from dispatch.app.deadlines import use_services
from dispatch.app.notify import NotifyQueue, use_channels
from dispatch.app.services import Services, build_services
from dispatch.entrypoints.api.metrics import serve_metrics
from dispatch.entrypoints.worker import PASSING_FAILURES, _start_rq_scheduler, _worker
from dispatch.runtime.settings import Settings, get_settings

log = logging.getLogger("dispatch.notify")


def run_notifier(settings: Settings, *, redis: Redis | None = None, burst: bool = False) -> bool:
    """Work the outbox queue until stopped (SIGTERM/SIGINT), or until it is empty with `burst`; returns whether
    any job ran. Migrates the database first, like the referral worker."""
    connection = redis if redis is not None else Redis.from_url(settings.redis_url or "")
    services = build_services(settings)
    services.redis = connection
    # What a delivery appends wakes the projector at once, so the board and the next step follow promptly.
    services.store.wakeup = RedisWakeup(connection, settings.append_channel)
    use_services(services)
    use_channels(None)
    queue = NotifyQueue(connection, settings.notify_queue_name, clock=services.clock,
                        lease_seconds=settings.notify_lease_seconds)
    report = queue.sweep(services.store.engine)
    log.info("outbox swept at start", extra={"jobs": report.outcomes})
    loops = [Every("outbox-sweep", settings.notify_sweep_seconds, lambda: _sweep(queue, services), connection,
                   settings.notify_queue_name)]
    if settings.cap_feeds:
        loops.append(Every("cap-feeds", settings.cap_poll_seconds, lambda: poll_feeds(services), connection,
                           settings.notify_queue_name, first_now=True))
    worker = _worker(queue.queue, settings)
    serve_metrics(worker.metrics.registry, settings.host, 0)
    _start_rq_scheduler(worker, settings, burst=burst)
    if not burst:
        for loop in loops:
            loop.start()
    try:
        return worker.work(burst=burst, logging_level=settings.log_level)
    finally:
        for loop in loops:
            loop.stop()


def _sweep(queue: NotifyQueue, services: Services) -> None:
    report = queue.sweep(services.store.engine)
    if report.outcomes.get("scheduled"):
        log.warning("the outbox sweep restored lost jobs", extra={"jobs": report.outcomes})


class Every(threading.Thread):
    """Runs `task` every `interval_seconds` on whichever notifier takes the turn first; a failure waits for the next."""

    def __init__(self, name: str, interval_seconds: float, task: Callable[[], object], redis: Redis, queue_name: str,
                 *, first_now: bool = False) -> None:
        super().__init__(name=name, daemon=True)
        self.interval_seconds, self.task, self.redis = interval_seconds, task, redis
        self.turn_key = f"dispatch:{queue_name}:{name}"
        self.first_now = first_now
        self._stopped = threading.Event()

    def run(self) -> None:
        wait = 0.0 if self.first_now else self.interval_seconds
        while not self._stopped.wait(wait):
            wait = self.interval_seconds
            try:
                expires_ms = max(1, int(self.interval_seconds * 1000 * 0.8))
                if self.redis.set(self.turn_key, "taken", nx=True, px=expires_ms):
                    self.task()
            except PASSING_FAILURES as exc:
                log.warning("periodic task failed; trying again next interval",
                            extra={"task": self.name, "error": repr(exc)})

    def stop(self) -> None:
        self._stopped.set()


def main() -> None:
    """`python -m dispatch.entrypoints.notifier [--burst]`, with settings from the environment."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--burst", action="store_true", help="quit when the queue is empty")
    run_notifier(get_settings(), burst=parser.parse_args().burst)


if __name__ == "__main__":
    main()
