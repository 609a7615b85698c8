"""A board socket lives only as long as its session (SQLite and PostgreSQL): signing out, changing one's password,
being deactivated and the session expiring each close that person's sockets, on every API process."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from dispatch.adapters.embedded_redis import EmbeddedRedis
from dispatch.app.services import Services
from dispatch.entrypoints.api.app import create_app
from dispatch.runtime.clock import FrozenClock
from tests.integration.test_api import PASSWORD

# Heartbeats often, so a socket that stays open still answers within a bounded number of messages; sessions
# are re-read rarely unless a test says otherwise, so what closes a socket is the announcement.
QUICK = {"ws_heartbeat_seconds": 0.1, "ws_session_check_seconds": 300.0}


def services_with(services: Services, **settings: Any) -> Services:
    return dataclasses.replace(services, settings=services.settings.model_copy(update=QUICK | settings))


def people(services: Services) -> None:
    for role in ("operator", "official", "admin"):
        services.accounts.add_user(role, role, PASSWORD)


def token_of(client: TestClient, username: str) -> str:
    answer = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def close_code(socket: WebSocketTestSession, heartbeats: int = 100) -> int | None:
    """The code the server closes the socket with, or None if it sent `heartbeats` heartbeats first."""
    for _ in range(heartbeats):
        try:
            socket.receive_json()
        except WebSocketDisconnect as closed:
            return closed.code
    return None


def still_open(socket: WebSocketTestSession) -> bool:
    return close_code(socket, heartbeats=3) is None


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    people(services)
    with TestClient(create_app(services_with(services))) as running:
        yield running


def board(client: TestClient, token: str) -> Any:
    return client.websocket_connect(f"/ws/board?token={token}")


def test_signing_out_closes_that_sessions_board_and_no_other(client: TestClient) -> None:
    mine, other = token_of(client, "operator"), token_of(client, "operator")
    with board(client, mine) as leaving, board(client, other) as staying:
        assert leaving.receive_json()["type"] == staying.receive_json()["type"] == "snapshot"

        assert client.post("/api/auth/logout", headers=bearer(mine)).status_code == 204

        assert close_code(leaving) == 4401
        assert still_open(staying), "the person's other session goes on"


def test_changing_ones_password_closes_ones_other_boards(client: TestClient) -> None:
    elsewhere, here = token_of(client, "operator"), token_of(client, "operator")
    with board(client, elsewhere) as old, board(client, here) as current:
        assert old.receive_json()["type"] == current.receive_json()["type"] == "snapshot"

        changed = client.post("/api/auth/password", headers=bearer(here),
                              json={"current_password": PASSWORD, "new_password": "a brand new password"})

        assert changed.status_code == 204
        assert close_code(old) == 4401
        assert still_open(current), "the session that changed the password goes on"


def test_deactivating_a_person_closes_their_boards(client: TestClient) -> None:
    operator, official = token_of(client, "operator"), token_of(client, "official")
    with board(client, operator) as theirs, board(client, official) as someone_elses:
        assert theirs.receive_json()["type"] == someone_elses.receive_json()["type"] == "snapshot"

        answer = client.post("/api/users/operator/deactivate", headers=bearer(token_of(client, "admin")))

        assert answer.status_code == 204
        assert close_code(theirs) == 4401
        assert still_open(someone_elses)
    assert client.get("/api/me", headers=bearer(operator)).status_code == 401


def test_deactivating_needs_an_admin_and_a_known_person(client: TestClient) -> None:
    by_operator = client.post("/api/users/official/deactivate", headers=bearer(token_of(client, "operator")))
    unknown = client.post("/api/users/nobody/deactivate", headers=bearer(token_of(client, "admin")))

    assert by_operator.status_code == 403 and by_operator.json()["code"] == "not_permitted"
    assert unknown.status_code == 404 and unknown.json()["field"] == "username"


def test_an_expired_session_closes_its_board(services: Services, clock: FrozenClock) -> None:
    people(services)
    client = TestClient(create_app(services_with(services, ws_session_check_seconds=0.05)))
    with client, board(client, token_of(client, "operator")) as socket:
        assert socket.receive_json()["type"] == "snapshot"
        assert still_open(socket)

        clock.advance(timedelta(hours=services.settings.session_hours))

        assert close_code(socket) == 4401


def wait_for_subscribers(redis: Redis, channel: str, count: int) -> None:
    """Until `count` hubs listen on `channel` (a bounded wait for the hubs' start-up, not a sleep)."""
    deadline = time.monotonic() + 10
    while dict(redis.pubsub_numsub(channel)).get(channel.encode(), 0) < count:
        assert time.monotonic() < deadline, f"the hubs never subscribed to {channel}"
        time.sleep(0.02)


@pytest.mark.redis
def test_signing_out_on_one_api_process_closes_the_board_on_another(
    services: Services, private_redis: EmbeddedRedis
) -> None:
    people(services)
    redis = Redis.from_url(private_redis.url)
    shared = dataclasses.replace(services_with(services), redis=redis)
    # Two apps over one database and one Redis stand for two API processes; sessions are re-read only every
    # five minutes, so only the announcement through Redis can close the socket in time.
    first, second = create_app(shared, redis_url=private_redis.url), create_app(shared, redis_url=private_redis.url)
    with TestClient(first) as signing_out, TestClient(second) as watching:
        wait_for_subscribers(redis, f"{shared.settings.live_channel}:sessions", 2)
        token = token_of(signing_out, "operator")
        with board(watching, token) as socket:
            assert socket.receive_json()["type"] == "snapshot"

            assert signing_out.post("/api/auth/logout", headers=bearer(token)).status_code == 204

            assert close_code(socket) == 4401
    redis.close()
