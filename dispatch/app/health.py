"""`dispatch health projector|worker|ais`: what a compose healthcheck runs inside the projector's, a worker's or
the AIS feed's container. Each check opens connections of its own with short timeouts and migrates nothing."""

from __future__ import annotations

import json
import socket
import time
from typing import Any, Final

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker

from dispatch.adapters.database import DATABASE_ERRORS, make_engine
from dispatch.app.services import clock_for
from dispatch.projections import all_projections
from dispatch.projections.status import StatusRecord, assess, projector_lag, status_key
from dispatch.runtime.settings import Settings

CHECK_SECONDS: Final[float] = 2.0
# A referral check still waiting this long after it was due means no scheduler is moving checks to the queue.
OVERDUE_SECONDS: Final[float] = 30.0


def _redis(settings: Settings) -> Redis | None:
    if not settings.redis_url:
        return None
    return Redis.from_url(settings.redis_url, socket_timeout=CHECK_SECONDS, socket_connect_timeout=CHECK_SECONDS,
                          retry=None)


def projector_health(settings: Settings) -> tuple[bool, dict[str, Any]]:
    """Healthy when the read models are within projector_max_lag_seconds of the log and the projector has not said
    it is stalled; with Redis reachable, a projector must also have reported within the record's expiry."""
    engine = make_engine(settings.resolved_database_url, pool_size=1)
    record: dict[str, Any] | None = None
    found: dict[str, Any] = {"process": "projector"}
    redis = _redis(settings)
    try:
        if redis is not None:
            try:
                record = StatusRecord(redis, status_key(settings.live_channel)).read()
                found["redis"] = "ok"
            except RedisError as exc:
                found["redis"] = f"error: {type(exc).__name__}"
        names = [projection.name for projection in all_projections()]
        found |= assess(projector_lag(engine, names, clock_for(settings).now()), record,
                        settings.projector_max_lag_seconds)
    except DATABASE_ERRORS as exc:
        return False, found | {"status": "down", "database": f"error: {type(exc).__name__}"}
    finally:
        engine.dispose()
        if redis is not None:
            redis.close()
    silent = found.get("redis") == "ok" and record is None
    if silent:
        found["status"] = "silent"  # no projector has said anything within the record's expiry
    return found["status"] == "ok", found


def worker_health(settings: Settings) -> tuple[bool, dict[str, Any]]:
    """Healthy when Redis answers, a worker on this host is registered on the queue with a fresh heartbeat, and no
    referral check has waited in the scheduled registry for more than OVERDUE_SECONDS past its time."""
    redis = _redis(settings)
    if redis is None:
        return False, {"process": "worker", "status": "down", "redis": "not configured"}
    found: dict[str, Any] = {"process": "worker"}
    try:
        queue = Queue(settings.queue_name, connection=redis)
        here = socket.gethostname()
        workers = [worker for worker in Worker.all(queue=queue) if worker.hostname == here]
        found["workers_on_this_host"] = len(workers)
        oldest = redis.zrange(queue.scheduled_job_registry.key, 0, 0, withscores=True)
        overdue = max(0.0, time.time() - float(oldest[0][1])) if oldest else 0.0
        found["oldest_check_overdue_seconds"] = round(overdue, 1)
    except RedisError as exc:
        return False, found | {"status": "down", "redis": f"error: {type(exc).__name__}"}
    finally:
        redis.close()
    healthy = bool(workers) and overdue <= OVERDUE_SECONDS
    return healthy, found | {"status": "ok" if healthy else "unwell", "redis": "ok"}


def ais_health(settings: Settings) -> tuple[bool, dict[str, Any]]:
    """Healthy when Redis answers and a feed renewed its status record within the record's expiry (a feed whose
    decoding thread has stopped stops renewing it)."""
    from dispatch.app.ais_feed import status_key

    redis = _redis(settings)
    if redis is None:
        return False, {"process": "ais", "status": "down", "redis": "not configured"}
    try:
        record = redis.get(status_key(settings.ais_redis_prefix))
    except RedisError as exc:
        return False, {"process": "ais", "status": "down", "redis": f"error: {type(exc).__name__}"}
    finally:
        redis.close()
    if record is None:
        return False, {"process": "ais", "status": "silent", "redis": "ok"}
    return True, {"process": "ais", "status": "ok", "redis": "ok", **json.loads(record)}
def notifier_health(settings: Settings) -> tuple[bool, dict[str, Any]]:
    """As worker_health, for the outbox's queue: a notifier on this host, and no delivery retry left waiting."""
    healthy, found = worker_health(settings.model_copy(update={"queue_name": settings.notify_queue_name}))
    return healthy, found | {"process": "notifier"}
