"""Liveness with its dependencies, and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis import Redis
from redis.exceptions import RedisError

from dispatch.api.deps import ServicesDep
from dispatch.api.metrics import Metrics
from dispatch.database import DATABASE_ERRORS
from dispatch.group_commit import Commits

router = APIRouter(tags=["operations"])
# Well under the 1 s a load balancer or the topology's probe gives /healthz: a frozen Redis must not hold it for
# the 3 s socket timeout that the scheduler's client needs.
REDIS_CHECK_SECONDS = 0.3


@router.get("/healthz", summary="Liveness: the database answers; Redis and the committer are reported, not required")
def healthz(request: Request, services: ServicesDep) -> JSONResponse:
    parts: dict[str, Any] = {}
    try:
        parts["log_head"] = services.store.head()
        parts["database"] = "ok"
    except DATABASE_ERRORS as exc:
        parts["database"] = f"error: {type(exc).__name__}"
    # Without a committer (restarting, about a second) commands meet a 503 with Retry-After; reads still answer.
    commands: Commits = request.app.state.commands
    parts["committer"] = commands.health()
    if services.redis is None:
        parts["redis"] = "not configured"
    else:
        try:
            _ping(services.settings.redis_url, services.redis)
            parts["redis"] = "ok"
        except RedisError as exc:
            # Reports still land without Redis (the log is the truth); live push and deadlines degrade.
            parts["redis"] = f"error: {type(exc).__name__}"
    status = _status(parts)
    return JSONResponse({"status": status} | parts, status_code=503 if status == "down" else 200)


def _status(parts: dict[str, Any]) -> str:
    """Down without the log; degraded while Redis or the committer is away; otherwise ok."""
    if parts["database"] != "ok":
        return "down"
    return "ok" if parts["committer"] == "ok" and parts["redis"] in ("ok", "not configured") else "degraded"


def _ping(url: str | None, shared: Redis) -> None:
    """PING Redis on a short-lived connection of its own (raises RedisError when it does not answer): the check
    waits at most one connect and one read of REDIS_CHECK_SECONDS, and the shared client stays as it is."""
    if url is None:  # a client handed in without a URL (tests): nothing to open a second connection to
        shared.ping()
        return
    with Redis.from_url(url, socket_timeout=REDIS_CHECK_SECONDS, socket_connect_timeout=REDIS_CHECK_SECONDS,
                        retry=None) as quick:
        quick.ping()


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request, services: ServicesDep) -> Response:
    registry: Metrics = request.app.state.metrics
    registry.log_head.set(services.store.head())
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
