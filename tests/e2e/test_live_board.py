"""The live board across processes: report through API A, see it on a WebSocket held by API B."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.e2e.topology import Topology, report, sign_in
from tests.servers import POSTGRES_URL

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def topology(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Topology]:
    if request.param == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'dispatch.db'}"
    else:
        schema = request.getfixturevalue("postgres_schema")
        database_url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    running = Topology(tmp_path, database_url)
    running.prepare()
    running.start("projector")
    yield running
    running.stop()


async def receive(socket: ClientConnection, wanted: str, timeout: float = 10) -> dict[str, Any]:
    """The next message of a type, skipping heartbeats; the timeout only guards a hung test."""
    async with asyncio.timeout(timeout):
        while True:
            message: dict[str, Any] = orjson.loads(await socket.recv())
            if message["type"] == wanted:
                return message


def board_keys(message: dict[str, Any]) -> set[str]:
    rows = message.get("board_incidents") or [c["row"] for c in message.get("changes", [])
                                              if c["view"] == "board_incidents"]
    return {row["incident_id"] for row in rows}


async def test_a_report_through_one_api_reaches_a_board_on_another(topology: Topology) -> None:
    api_a, api_b = topology.start_api(), topology.start_api()
    token = sign_in(api_a, "operator")
    ws_url = api_b.replace("http", "ws") + f"/ws/board?token={sign_in(api_b, 'operator')}"
    async with connect(ws_url) as board:
        snapshot = await receive(board, "snapshot")
        incident = await asyncio.to_thread(report, api_a, token)

        delta = await receive(board, "delta")

    assert incident["id"] in board_keys(delta) and delta["position"] > snapshot["position"]


async def test_a_reconnecting_board_gets_what_it_missed_without_gap_or_duplicate(topology: Topology) -> None:
    api = topology.start_api()
    token = sign_in(api, "operator")
    ws_url = api.replace("http", "ws") + f"/ws/board?token={token}"
    async with connect(ws_url) as board:
        await receive(board, "snapshot")
        first = await asyncio.to_thread(report, api, token)
        seen = await receive(board, "delta")
    assert board_keys(seen) == {first["id"]}

    missed = [await asyncio.to_thread(report, api, token) for _ in range(3)]
    async with connect(f"{ws_url}&after={seen['position']}") as board:
        catchup = await receive(board, "catchup")
        later = await asyncio.to_thread(report, api, token)
        # The projector may not have reached every missed report when the board reconnected: those come
        # as deltas after the catch-up. Together they hold each report once, in order.
        messages = [catchup]
        while later["id"] not in board_keys(messages[-1]):
            messages.append(await receive(board, "delta"))

    received = [key for message in messages for key in sorted(board_keys(message))]
    assert sorted(received) == sorted([m["id"] for m in missed] + [later["id"]]), "no gap, no duplicate"
    assert first["id"] not in received
    positions = [message["position"] for message in messages]
    assert positions == sorted(set(positions)) and positions[0] > seen["position"]


async def test_the_board_socket_needs_a_board_role(topology: Topology) -> None:
    api = topology.start_api()
    ws_base = api.replace("http", "ws") + "/ws/board"
    for role in ("operator", "official", "admin"):
        async with connect(f"{ws_base}?token={sign_in(api, role)}") as socket:
            assert (await receive(socket, "snapshot", timeout=5))["position"] >= 0, role
    for query, code in ((f"?token={sign_in(api, 'lifeguard')}", 4403), ("?token=forged", 4401), ("", 4401)):
        async with connect(ws_base + query) as socket:
            with pytest.raises(Exception) as closed:
                await receive(socket, "snapshot", timeout=5)
            assert socket.close_code == code, closed.value
