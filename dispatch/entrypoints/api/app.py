"""create_app(services): the FastAPI application, its error answers and its routes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch import __version__
from dispatch.adapters.database import DATABASE_UNAVAILABLE
from dispatch.adapters.lockout import TooManyAttempts
from dispatch.app.group_commit import Commits, GroupCommit
from dispatch.app.services import Services
from dispatch.domain.errors import ConcurrencyConflict, DatabaseUnavailable, DispatchError
from dispatch.entrypoints.api.limits import BodyLimit, CleanPathAndQuery, JsonBodiesOnly
from dispatch.entrypoints.api.live import LiveHub
from dispatch.entrypoints.api.metrics import Metrics
from dispatch.entrypoints.api.openapi import customise, operation_id
from dispatch.entrypoints.api.problems import problem, status_of
from dispatch.entrypoints.api.routes import (
    alerts,
    assets,
    audit,
    auth,
    board,
    docs,
    events,
    health,
    incidents,
    languages,
    live,
    log_checkpoints,
    notifications,
    places,
    problem_types,
    recommendations,
    reports,
    resources,
    sea,
    vocabulary,
)
from dispatch.entrypoints.api.security import SecurityHeaders

UI_DIR = assets.ui_dir()


def create_app(services: Services, *, redis_url: str | None = None,
               commits: Callable[[Metrics], Commits] | None = None) -> FastAPI:
    """The API over these services; with `redis_url` its LiveHub relays the projector's changes. `commits`
    makes how commands are committed (given the metrics); by default a thread of this process."""
    hub = LiveHub(services.store.engine, redis_url, channel=services.settings.live_channel,
                  queue_size=services.settings.ws_queue_size, sessions=services.accounts,
                  session_check_seconds=services.settings.ws_session_check_seconds)

    metrics = Metrics()
    commands = (commits(metrics) if commits is not None
                else GroupCommit(services, on_batch=metrics.commit_batch.observe))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await commands.start()
        await hub.start()
        yield
        await hub.stop()
        await commands.stop()  # answers what is still queued before the process goes

    app = FastAPI(
        lifespan=lifespan,
        title="Andaman maritime dispatch",
        version=__version__,
        description="Report, triage, dispatch and refer maritime emergencies on the Phang Nga coast. "
        "Every command takes an Idempotency-Key header: the same key again returns the first answer.",
        docs_url=None, redoc_url=None,  # served by routes/docs.py, with a policy that lets them load
        generate_unique_id_function=operation_id,
    )
    app.state.services = services
    app.state.hub = hub
    app.state.commands = commands
    app.state.metrics = metrics
    # The commands first: matching tries routes in order, and reports come in the most often.
    documented = (incidents.commands, resources.commands, auth.router, incidents.router, recommendations.router,
                  board.router, resources.router, places.router, vocabulary.router, events.router, reports.router,
                  audit.router, health.router, log_checkpoints.router, languages.router, sea.commands, sea.router,
                  alerts.commands, notifications.commands, alerts.router, notifications.router)
    for router in documented:
        app.include_router(router)
    app.include_router(live.router)
    app.include_router(assets.router)  # Leaflet and the offline coast, from installed packages
    app.include_router(docs.router)
    app.include_router(problem_types.router)
    app.add_exception_handler(DispatchError, _dispatch_error)  # type: ignore[arg-type]
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _database_unavailable)
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _crash)
    app.add_middleware(_Measure, metrics=app.state.metrics)
    app.add_middleware(CleanPathAndQuery)
    app.add_middleware(JsonBodiesOnly)
    app.add_middleware(BodyLimit, max_bytes=services.settings.max_body_bytes)
    # Outermost, so every answer carries the headers, the limits' 413 and 415 included.
    production = services.settings.environment == "production"
    app.add_middleware(SecurityHeaders, hsts_seconds=services.settings.hsts_seconds if production else None)
    customise(app, documented)
    if UI_DIR.is_dir():
        app.mount("/", StaticFiles(directory=UI_DIR, html=True), name="ui")
    return app


async def _dispatch_error(request: Request, exc: DispatchError) -> Response:
    status = status_of(type(exc))
    extensions = {"current_version": exc.current_version} if isinstance(exc, ConcurrencyConflict) else {}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    elif status == 503:
        headers["Retry-After"] = "1"  # a committer restarts in about a second; a dropped connection is replaced
    return problem(status, exc.code, exc.message, instance=request.url.path, field=exc.field, headers=headers,
                   **extensions)


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    # A command that met it was rolled back, or, if the connection dropped at COMMIT, may have landed: its
    # Idempotency-Key makes the retry safe either way. A read simply failed. The client hears a 503 it can act
    # on, not a 500.
    return await _dispatch_error(request, DatabaseUnavailable(
        f"the database could not be reached ({type(exc).__name__}); try again shortly"))


async def _http_error(request: Request, exc: HTTPException) -> Response:
    """The framework's own refusals as problems too; a body it cannot parse is invalid input (422)."""
    path = request.url.path
    if exc.status_code == 400:  # FastAPI: "There was an error parsing the body" (bytes that are not JSON text)
        return problem(422, "invalid_input", "the body is not valid JSON", instance=path)
    code, detail = {404: ("not_found", f"nothing is at {path}"),
                    405: ("method_not_allowed", f"{request.method} is not allowed on {path}")}.get(
        exc.status_code, ("http_error", str(exc.detail)))
    return problem(exc.status_code, code, detail, instance=path, headers=dict(exc.headers or {}))


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    """422 naming the first invalid field in `field` and `detail`, and every one in `errors`."""
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header")]
    field = ".".join(location) or None
    return problem(
        422, "invalid_input", f"{field}: {first.get('msg')}" if field else str(first.get("msg")),
        instance=request.url.path, field=field,
        errors=[{"field": ".".join(str(p) for p in e.get("loc", ())), "detail": str(e.get("msg"))} for e in errors],
    )


async def _crash(request: Request, exc: Exception) -> Response:
    # The server's error middleware logs the exception and the traceback after this answer; the client hears
    # only that it failed, as a problem like every other error.
    return problem(500, "internal_error", "the server failed to answer this request; the failure is logged",
                   instance=request.url.path)


class _Measure:
    """Count and time requests by route template. Plain ASGI: the decorator form (BaseHTTPMiddleware)
    cost about a seventh of even a trivial request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], path, str(status)).inc()
            self.metrics.latency.labels(scope["method"], path).observe(time.perf_counter() - started)
