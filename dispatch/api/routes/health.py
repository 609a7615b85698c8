"""Liveness with its dependencies, and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from dispatch.api.deps import ServicesDep
from dispatch.api.metrics import Metrics
from dispatch.group_commit import Commits

router = APIRouter(tags=["operations"])
# Well under the 1 s a load balancer or the topology's probe gives /healthz: a frozen Redis must not hold it for
# the 3 s socket timeout that the scheduler's client needs.
REDIS_CHECK_SECONDS = 0.3


@router.get("/healthz", summary="Liveness: the database answers; Redis and the committer are reported, not required")
def healthz(request: Request, services: ServicesDep) -> JSONResponse:
    body: dict[str, Any] = {"status": "ok"}
    try:
        body["log_head"] = services.store.head()
        body["database"] = "ok"
    except SQLAlchemyError as exc:
        body.update(status="down", database=f"error: {type(exc).__name__}")
    commands: Commits = request.app.state.commands
    body["committer"] = commands.health()
    if body["committer"] != "ok" and body["status"] == "ok":
        # Reads still answer; commands meet a 503 with Retry-After until the new committer is up (about a second).
        body["status"] = "degraded"
    if services.redis is None:
        body["redis"] = "not configured"
    else:
        try:
            _ping(services.settings.redis_url, services.redis)
            body["redis"] = "ok"
        except RedisError as exc:
            # Reports still land without Redis (the log is the truth); live push and deadlines degrade.
            body["redis"] = f"error: {type(exc).__name__}"
            body["status"] = "degraded" if body["status"] == "ok" else body["status"]
    return JSONResponse(body, status_code=503 if body["status"] == "down" else 200)


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
