"""Liveness with its dependencies, and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from dispatch.api.deps import ServicesDep
from dispatch.api.metrics import Metrics

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the database answers; Redis is reported, not required")
def healthz(services: ServicesDep) -> JSONResponse:
    body: dict[str, Any] = {"status": "ok"}
    try:
        body["log_head"] = services.store.head()
        body["database"] = "ok"
    except SQLAlchemyError as exc:
        body.update(status="down", database=f"error: {type(exc).__name__}")
    if services.redis is None:
        body["redis"] = "not configured"
    else:
        try:
            services.redis.ping()
            body["redis"] = "ok"
        except RedisError as exc:
            # Reports still land without Redis (the log is the truth); live push and deadlines degrade.
            body["redis"] = f"error: {type(exc).__name__}"
            body["status"] = "degraded" if body["status"] == "ok" else body["status"]
    return JSONResponse(body, status_code=503 if body["status"] == "down" else 200)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request, services: ServicesDep) -> Response:
    registry: Metrics = request.app.state.metrics
    registry.log_head.set(services.store.head())
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
