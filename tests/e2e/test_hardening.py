"""Security and bad input against real `dispatch api` processes: a huge WebSocket message closes only its own
socket, a lockout holds on every API process, X-Forwarded-For counts only from a trusted proxy, a sign-out
closes the board on another API process, and no password, token or cookie reaches the logs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.test_live_board import board_keys, receive
from tests.e2e.topology import PASSWORD, Topology, free_port, report, sign_in

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    # INFO: uvicorn's access lines and the board socket's "accepted" lines are logged, as in production.
    running = Topology(tmp_path, f"sqlite:///{tmp_path / 'dispatch.db'}", DISPATCH_LOG_LEVEL="INFO")
    running.prepare()
    running.start("projector")
    yield running
    running.stop()


def api_log(topology: Topology) -> str:
    return "\n".join(path.read_text() for path in sorted(topology.directory.glob("api-*.log")))


async def test_a_huge_websocket_message_closes_that_socket_and_nothing_else(topology: Topology) -> None:
    api = topology.start_api()
    token = sign_in(api, "operator")
    url = api.replace("http", "ws") + f"/ws/board?token={token}"
    async with connect(url) as watcher, connect(url) as sender:
        await receive(watcher, "snapshot")
        await receive(sender, "snapshot")
        with contextlib.suppress(ConnectionClosed):
            await sender.send(b"\0" * (4 * 1024 * 1024))  # 64 times what the server reads
        with pytest.raises(ConnectionClosed):
            await receive(sender, "never", timeout=10)
        assert sender.close_code == 1009, "message too big"

        await watcher.send(b"\x00\xff binary")  # what a board sends is read and ignored, text or bytes
        await watcher.send("hello")
        incident = await asyncio.to_thread(report, api, token)
        delta = await receive(watcher, "delta")

    assert incident["id"] in board_keys(delta), "the other board is still live"
    assert httpx.get(f"{api}/healthz", timeout=5).json()["status"] == "ok"
    assert "Traceback" not in api_log(topology)


def test_a_lockout_holds_on_every_api_process(topology: Topology) -> None:
    first, second = topology.start_api(), topology.start_api()
    for attempt in range(5):  # login_max_failures, alternating between the processes
        wrong = httpx.post(f"{(first, second)[attempt % 2]}/api/auth/login", timeout=5,
                           json={"username": "operator", "password": "a wrong guess"})
        assert wrong.status_code == 401

    for api in (first, second):
        right = httpx.post(f"{api}/api/auth/login", json={"username": "operator", "password": PASSWORD}, timeout=5)
        assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0


def login(api: str, username: str, password: str, forwarded_for: str) -> httpx.Response:
    return httpx.post(f"{api}/api/auth/login", json={"username": username, "password": password}, timeout=10,
                      headers={"X-Forwarded-For": forwarded_for})


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(topology: Topology) -> None:
    untrusting = topology.start_api()
    port = free_port()
    topology.start("api", "--host", "127.0.0.1", "--port", str(port), "--forwarded-allow-ips", "127.0.0.1")
    behind_proxy = f"http://127.0.0.1:{port}"
    topology.wait_healthy(behind_proxy)

    # By default no proxy is trusted: a local peer cannot spread its failures over addresses of its choosing.
    for n in range(5):
        assert login(untrusting, "operator", "a wrong guess", f"198.51.100.{n}").status_code == 401
    spoofed = login(untrusting, "operator", PASSWORD, "10.20.0.5")
    # Behind a trusted proxy, the client is the address the proxy names: the attacker's is locked, not the centre's.
    for _ in range(5):
        assert login(behind_proxy, "official", "a wrong guess", "203.0.113.9").status_code == 401
    attacker = login(behind_proxy, "official", PASSWORD, "203.0.113.9")
    centre = login(behind_proxy, "official", PASSWORD, "10.20.0.5")

    assert spoofed.status_code == 429 and spoofed.json()["field"] == "username"
    assert attacker.status_code == 429 and centre.status_code == 200


async def closed_with(socket: ClientConnection, timeout: float = 20) -> int | None:
    """The close code once the server closes the socket; the timeout only guards a hung test."""
    with contextlib.suppress(ConnectionClosed):
        async with asyncio.timeout(timeout):
            while True:
                await socket.recv()
    return socket.close_code


async def test_signing_out_on_one_api_process_closes_the_board_on_another(topology: Topology) -> None:
    first, second = topology.start_api(), topology.start_api()
    token = sign_in(first, "operator")
    async with connect(second.replace("http", "ws") + f"/ws/board?token={token}") as board:
        await receive(board, "snapshot")

        signed_out = await asyncio.to_thread(httpx.post, f"{first}/api/auth/logout", timeout=10,
                                             headers={"Authorization": f"Bearer {token}"})

        assert signed_out.status_code == 204
        assert await closed_with(board) == 4401


async def test_no_password_token_or_cookie_reaches_the_api_logs(topology: Topology) -> None:
    api = topology.start_api()
    answer = httpx.post(f"{api}/api/auth/login", json={"username": "operator", "password": PASSWORD}, timeout=5)
    token, proof = answer.json()["token"], answer.cookies["dispatch_csrf"]
    httpx.post(f"{api}/api/auth/login", json={"username": "official", "password": "my wrong password"}, timeout=5)
    httpx.get(f"{api}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    httpx.get(f"{api}/api/me?token={token}", cookies={"dispatch_session": token}, timeout=5)
    async with connect(api.replace("http", "ws") + f"/ws/board?token={token}&after=0") as board:
        await receive(board, "catchup")
    await asyncio.sleep(0.5)  # the access lines are written after the answers

    text = api_log(topology)
    assert '"logger":"uvicorn.access"' in text and "/api/me" in text, "the access log is on"
    assert "/ws/board?token=[redacted]&after=0" in text
    for secret in (PASSWORD, "my wrong password", token, proof):
        assert secret not in text
