"""Serving the API as `dispatch up`, `dispatch api` and the benchmarks do: the app a server builds, and uvicorn."""

from __future__ import annotations

import gc
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Final

import uvicorn
from fastapi import FastAPI

from dispatch.api.app import create_app
from dispatch.api.metrics import MULTIPROC_ENV, Metrics
from dispatch.bootstrap import Services
from dispatch.commit_process import CommitProcess
from dispatch.group_commit import Commits
from dispatch.settings import Settings


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
    adds up every process's values (dispatch/api/metrics.py). Emptied at each start: files a previous run left
    would count its requests again. Only the metric files (*.db) are removed from a folder given in settings."""
    folder = settings.metrics_dir or settings.data_dir / "metrics"
    folder.mkdir(parents=True, exist_ok=True)
    for left in folder.glob("*.db"):
        left.unlink()
    os.environ[MULTIPROC_ENV] = str(folder.resolve())
    return folder


# Young collections start when this many more container objects have been made than freed (CPython's default
# is 700). Fifty requests in flight hold thousands between them, so at 700 the collector ran every few
# requests and walked live objects it could not free: about 40 µs of a served report's ~450 (bench/api_report.py,
# timed with gc.callbacks); at 10,000 it runs a few times a minute. Cyclic garbage still triggers it as it grows.
YOUNG_COLLECTION_THRESHOLD: Final[int] = 10_000


def freeze_startup_objects() -> None:
    """Move everything built so far (modules, the app, its schemas, the places) out of the collector's sight,
    and collect the young generation less often.

    The startup objects live as long as the process, yet every full collection walked all of them again: they
    were a fifth of a served report's CPU (perf, bench/api_report.py). gc.freeze is meant for exactly this.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, older, oldest)


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
