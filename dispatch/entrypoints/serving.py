"""Serving the API as `dispatch up`, `dispatch api` and the benchmarks do: the app a server builds, and uvicorn."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Final

import uvicorn
from fastapi import FastAPI

from dispatch.app.commit_process import CommitProcess
from dispatch.app.group_commit import Commits
from dispatch.app.services import Services, build_services, connect_redis
from dispatch.entrypoints.api.app import create_app
from dispatch.entrypoints.api.metrics import MULTIPROC_ENV, Metrics
from dispatch.runtime.memory import freeze_startup_objects
from dispatch.runtime.settings import Settings, get_settings


def server_app(services: Services, redis_url: str | None) -> FastAPI:
    """The app over these services, committing in a child process unless the settings say otherwise."""
    settings = services.settings

    def commit_process(metrics: Metrics) -> Commits:
        return CommitProcess(settings, on_batch=metrics.commit_batch.observe)

    return create_app(services, redis_url=redis_url, commits=commit_process if settings.commit_process else None)


# How long uvicorn's supervisor waits for an API process to finish starting (and, later, to answer its ping)
# before it kills it and starts another. Its default, 5 s, is shorter than a start on a busy two-core machine (the
# app, its services, the committer's child process): every process was killed before it could serve.
WORKER_STARTUP_SECONDS: Final[int] = 60


def prepare_multiprocess_metrics(settings: Settings) -> Path:
    """Point prometheus_client's multiprocess mode at an empty folder before the API processes start, so /metrics
    adds up every process's values (dispatch/entrypoints/api/metrics.py). Emptied at each start: files a
    previous run left would count its requests again. Only the metric files (*.db) are removed from a folder
    given in settings."""
    folder = settings.metrics_dir or settings.data_dir / "metrics"
    folder.mkdir(parents=True, exist_ok=True)
    for left in folder.glob("*.db"):
        left.unlink()
    os.environ[MULTIPROC_ENV] = str(folder.resolve())
    return folder


def trusted_proxies(settings: Settings) -> str | None:
    """The proxies whose X-Forwarded-For uvicorn may believe, or None: believe no proxy header at all.

    uvicorn's own default believes any process on this host (127.0.0.1), so a local peer could choose the
    address its sign-in failures count against; with none named, the client is the TCP peer."""
    return settings.forwarded_allow_ips.strip() or None


class _Server(uvicorn.Server):
    """uvicorn's server, saying when it actually listens (so "is up" is never printed too early)."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None) -> None:
        super().__init__(config)
        self.on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.on_ready is not None and self.started:
            self.on_ready()


def serve(app: FastAPI, host: str, port: int, on_ready: Callable[[], None] | None = None) -> None:
    """Serve `app` until SIGINT or SIGTERM."""
    settings = app.state.services.settings
    # No per-message deflate: board deltas are small, and compressing each one again for each of 200
    # sockets cost a fifth of the relay's time (bench/live_board.py).
    config = uvicorn.Config(app, host=host, port=port, log_config=None,
                            ws_max_size=settings.ws_max_message_bytes, ws_per_message_deflate=False,
                            proxy_headers=trusted_proxies(settings) is not None,
                            forwarded_allow_ips=trusted_proxies(settings))
    freeze_startup_objects()
    _Server(config, on_ready).run()


def app_from_environment() -> FastAPI:
    """The app as each production API process builds it: settings from DISPATCH_* variables."""
    settings = get_settings()
    app = server_app(connect_redis(build_services(settings)), settings.redis_url)
    freeze_startup_objects()
    return app
