"""The worker measures how late each job started against its due time and counts how jobs ended; `dispatch health
worker` is unwell with no worker on this host or with a referral check waiting past its time."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue

from dispatch.adapters.embedded_redis import EmbeddedRedis
from dispatch.app.health import OVERDUE_SECONDS, worker_health
from dispatch.entrypoints.api.metrics import WorkerMetrics
from dispatch.entrypoints.worker import MeasuredWorker
from dispatch.runtime.settings import Settings

LATE_SECONDS = 3.0


def succeeds() -> str:
    return "done"


def fails() -> None:
    raise RuntimeError("the check met a database away")


@pytest.fixture
def settings(tmp_path: Path, private_redis: EmbeddedRedis) -> Settings:
    return Settings(data_dir=tmp_path, redis_url=private_redis.url, queue_name=f"test-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def redis(settings: Settings) -> Iterator[Redis]:
    connection = Redis.from_url(settings.redis_url or "")
    yield connection
    connection.close()


def test_the_worker_measures_lateness_from_the_due_time_and_counts_failures(settings: Settings, redis: Redis) -> None:
    queue = Queue(settings.queue_name, connection=redis)
    due = time.time() - LATE_SECONDS  # a deadline check its scheduler moved to the queue late
    queue.enqueue(succeeds, meta={"due_at": due})
    queue.enqueue(fails)
    metrics = WorkerMetrics()

    MeasuredWorker([queue], connection=redis, metrics=metrics).work(burst=True)

    sample = metrics.registry.get_sample_value
    assert (sample("dispatch_job_lateness_seconds_count", {"function": "succeeds"}) or 0) == 1
    assert (sample("dispatch_job_lateness_seconds_sum", {"function": "succeeds"}) or 0) >= LATE_SECONDS
    assert sample("dispatch_jobs_total", {"function": "succeeds", "outcome": "finished"}) == 1
    assert sample("dispatch_jobs_total", {"function": "fails", "outcome": "failed"}) == 1
    assert sample("dispatch_job_failures_total", {"function": "fails"}) == 1
    assert sample("process_resident_memory_bytes") is not None


def test_worker_health_needs_a_worker_on_this_host_and_no_check_overdue(settings: Settings, redis: Redis) -> None:
    queue = Queue(settings.queue_name, connection=redis)
    assert worker_health(settings)[0] is False, "no worker registered"

    worker = MeasuredWorker([queue], connection=redis)
    worker.register_birth()  # type: ignore[no-untyped-call]
    healthy, found = worker_health(settings)
    assert healthy and found["workers_on_this_host"] == 1

    redis.zadd(queue.scheduled_job_registry.key, {"stuck-check": time.time() - OVERDUE_SECONDS - 5})
    healthy, found = worker_health(settings)
    assert not healthy and found["oldest_check_overdue_seconds"] > OVERDUE_SECONDS
    worker.register_death()  # type: ignore[no-untyped-call]
