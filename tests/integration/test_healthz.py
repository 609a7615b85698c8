"""/healthz checks Redis on a connection of its own, with short timeouts: a frozen Redis makes it answer
"degraded" at once instead of waiting out the shared client's socket timeout."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from dispatch.app.services import Services
from dispatch.entrypoints.api.app import create_app
from tests.servers import REDIS_URL

WAIT_SECONDS = 30  # guards a hung test; a passing one waits a fraction of a second


@pytest.fixture
def frozen_redis() -> Iterator[socket.socket]:
    """A port that listens and never accepts: the kernel completes the connection and takes what is sent,
    and nothing ever answers, as with a Redis stopped by SIGSTOP."""
    with socket.create_server(("127.0.0.1", 0)) as listening:
        yield listening


def url_of(listening: socket.socket) -> str:
    return f"redis://127.0.0.1:{listening.getsockname()[1]}/0"


def healthz_with(services: Services, url: str, shared: Redis, *, then: Callable[[], None]) -> dict[str, Any]:
    """GET /healthz with `url` in the settings and `shared` as the services' client; `then` runs once the answer
    came or the guard ran out, before the app stops (a check still hanging would hold up its shutdown)."""
    services.settings = services.settings.model_copy(update={"redis_url": url})
    services.redis = shared
    pool = ThreadPoolExecutor(1)
    try:
        with TestClient(create_app(services)) as client:
            try:
                answer = pool.submit(client.get, "/healthz").result(timeout=WAIT_SECONDS)
            finally:
                then()
    finally:
        pool.shutdown(wait=False)
        shared.close()
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_healthz_reports_a_frozen_redis_as_degraded_without_waiting_on_the_shared_clients_timeout(
    services: Services, frozen_redis: socket.socket,
) -> None:
    # given the scheduler's Redis client, whose own reads would wait on a frozen Redis for as long as it stays so
    url = url_of(frozen_redis)
    shared = Redis.from_url(url, socket_timeout=None, socket_connect_timeout=None, retry=None)
    # when /healthz checks that Redis
    body = healthz_with(services, url, shared, then=frozen_redis.close)  # closing resets what still waits
    # then it answers without waiting on that client: Redis timed out, the service is degraded, not down
    assert body["redis"] == "error: TimeoutError" and body["status"] == "degraded" and body["database"] == "ok"


@pytest.mark.redis
def test_healthz_reports_a_redis_that_answers_as_ok(services: Services) -> None:
    body = healthz_with(services, REDIS_URL, Redis.from_url(REDIS_URL), then=lambda: None)
    assert body["redis"] == "ok" and body["status"] == "ok"
