"""Probes and Prometheus metrics.

- `/livez`: the process answers (no dependency is asked): restart it if this fails.
- `/readyz`: whether this API can serve: 503 when the database does not answer or the committer has stopped;
  200 "degraded" while Redis or the committer is away for a moment, or while the read models lag the log by more
  than projector_max_lag_seconds (or the projector is stalled). A lagging projector or an absent Redis is the same
  for every API process: taking them all out of service would stop reports from landing, which is worse than a
  board that says it is stale.
- `/healthz`: what it always was (503 only without the database), with the same parts as /readyz.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis import Redis
from redis.exceptions import RedisError

from dispatch.adapters.database import DATABASE_ERRORS
from dispatch.app.group_commit import Commits
from dispatch.app.services import Services
from dispatch.entrypoints.api.deps import ServicesDep
from dispatch.entrypoints.api.metrics import Metrics
from dispatch.projections import all_projections
from dispatch.projections.status import StatusRecord, assess, projector_lag, status_key

router = APIRouter(tags=["operations"])
# Well under the 1 s a load balancer or the topology's probe gives /healthz: a frozen Redis must not hold it for
# the 3 s socket timeout that the scheduler's client needs.
REDIS_CHECK_SECONDS = 0.3
PROJECTIONS = tuple(projection.name for projection in all_projections())


@router.get("/livez", summary="Liveness: the process answers; no dependency is checked")
def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database and committer required; Redis and projector lag reported")
def readyz(request: Request, services: ServicesDep) -> JSONResponse:
    parts = _parts(request, services)
    ready = parts["database"] == "ok" and parts["committer"] != "stopped"
    return JSONResponse({"status": _status(parts) if ready else "down"} | parts, status_code=200 if ready else 503)


@router.get("/healthz", summary="The database answers (else 503); Redis, committer and projector reported")
def healthz(request: Request, services: ServicesDep) -> JSONResponse:
    parts = _parts(request, services)
    status = _status(parts)
    return JSONResponse({"status": status} | parts, status_code=503 if status == "down" else 200)


def _parts(request: Request, services: Services) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    try:
        parts["log_head"] = services.store.head()
        parts["database"] = "ok"
    except DATABASE_ERRORS as exc:
        parts["database"] = f"error: {type(exc).__name__}"
    # Without a committer (restarting, about a second) commands meet a 503 with Retry-After; reads still answer.
    commands: Commits = request.app.state.commands
    parts["committer"] = commands.health()
    record: dict[str, Any] | None = None
    if services.redis is None:
        parts["redis"] = "not configured"
    else:
        try:
            with _quick_redis(services.settings.redis_url, services.redis) as quick:
                quick.ping()
                parts["redis"] = "ok"
                record = StatusRecord(quick, status_key(services.settings.live_channel)).read()
        except RedisError as exc:
            # Reports still land without Redis (the log is the truth); live push and deadlines degrade.
            parts["redis"] = f"error: {type(exc).__name__}"
    if parts["database"] == "ok":
        parts["projector"] = projector_health(services, record)
    return parts


def projector_health(services: Services, record: dict[str, Any] | None) -> dict[str, Any]:
    """The read models' lag (from the database) and the projector's own word (its status record, if fresh)."""
    lag = projector_lag(services.store.engine, PROJECTIONS, services.clock.now())
    return assess(lag, record, services.settings.projector_max_lag_seconds)


def _status(parts: dict[str, Any]) -> str:
    """Down without the log; degraded while Redis or the committer is away or the read models are behind."""
    if parts["database"] != "ok":
        return "down"
    fine = (parts["committer"] == "ok" and parts["redis"] in ("ok", "not configured")
            and parts["projector"]["status"] == "ok")
    return "ok" if fine else "degraded"


@contextmanager
def _quick_redis(url: str | None, shared: Redis) -> Iterator[Redis]:
    """A short-lived connection of its own (each command raises RedisError when it does not answer): a check waits
    at most one connect and one read of REDIS_CHECK_SECONDS, and the shared client stays as it is."""
    if url is None:  # a client handed in without a URL (tests): nothing to open a second connection to
        yield shared
        return
    with Redis.from_url(url, socket_timeout=REDIS_CHECK_SECONDS, socket_connect_timeout=REDIS_CHECK_SECONDS,
                        retry=None) as quick:
        yield quick


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request, services: ServicesDep) -> Response:
    registry: Metrics = request.app.state.metrics
    try:
        lag = projector_lag(services.store.engine, PROJECTIONS, services.clock.now())
        registry.log_head.set(lag.head)
        registry.projector_lag_events.set(lag.events)
        registry.projector_lag_seconds.set(lag.seconds)
    except DATABASE_ERRORS:
        pass  # the rest still tells what happened; the gauges keep their last values
    return Response(generate_latest(registry.scrape_registry()), media_type=CONTENT_TYPE_LATEST)
