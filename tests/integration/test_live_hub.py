"""LiveHub's Redis listener: it notices a dead or silent connection, closes it, reconnects, and resyncs its boards.

The silent Redis is a real TCP server speaking just enough RESP for a subscriber; the others are real Redis
servers. Every wait is on an event the hub causes, under an overall guard against a hung test.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy import Engine, create_engine

from dispatch.adapters.embedded_redis import EmbeddedRedis
from dispatch.entrypoints.api.live import Client, LiveHub, SessionEnded, SessionsEnded
from tests.servers import REDIS_URL

WAIT_SECONDS = 30  # guards a hung test; a passing one waits a few health intervals and retries at most
HEALTH_SECONDS = 0.1  # short, so a silent connection is given up on quickly


# --- a Redis that accepts and then says nothing --------------------------------------------------------


@dataclass(eq=False)
class Connection:
    pings: int = 0
    closed: bool = False  # the hub closed it (we read EOF)
    protocol: int = 2  # RESP2 until the client sends HELLO 3


@dataclass
class SilentRedis:
    """Accepts connections and reads every command. It answers the handshake and SUBSCRIBE only when
    `answers`, and PING only when `answers_pings`; otherwise it stays silent, like a host gone without a reset."""

    answers: bool
    answers_pings: bool
    connections: list[Connection] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    def drop_all(self) -> None:
        """Close every connection from this end: the listening server cannot wind down while one is open."""
        for writer in self.writers:
            writer.transport.abort()

    async def until(self, found: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT_SECONDS), self.changed:
            await self.changed.wait_for(found)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = Connection()
        self.writers.append(writer)
        await self._note(lambda: self.connections.append(connection))
        try:
            while (command := await read_command(reader)) is not None:
                if command[0].upper() == b"PING":
                    await self._note(lambda: setattr(connection, "pings", connection.pings + 1))
                if command[0].upper() == b"HELLO":
                    connection.protocol = int(command[1])
                if reply := self._reply(command, connection.protocol):
                    writer.write(reply)
                    await writer.drain()
        except ConnectionError:
            pass  # the hub reset it: as closed as EOF
        finally:
            writer.close()
            await self._note(lambda: setattr(connection, "closed", True))

    def _reply(self, command: list[bytes], protocol: int) -> bytes:
        """What Redis 7 answers, in RESP2 or (after HELLO 3, as redis-py 8 sends) RESP3."""
        name = command[0].upper()
        if not self.answers or (name == b"PING" and not self.answers_pings):
            return b""
        if name == b"HELLO":
            return b"%1\r\n$5\r\nproto\r\n:3\r\n"
        if name == b"SUBSCRIBE":
            channel = command[1]
            kind = b">" if protocol == 3 else b"*"  # RESP3 sends it as a push
            return kind + b"3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(channel), channel)
        if name == b"PING":
            # RESP2 allows only a pong array in subscribed mode; RESP3 answers as usual
            return b"+PONG\r\n" if protocol == 3 else b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
        return b"+OK\r\n"  # the handshake's CLIENT SETINFO

    async def _note(self, change: Callable[[], object]) -> None:
        async with self.changed:
            change()
            self.changed.notify_all()


async def read_command(reader: asyncio.StreamReader) -> list[bytes] | None:
    """One RESP array of bulk strings, as clients send commands; None at EOF."""
    try:
        header = await reader.readline()
        if not header:
            return None
        parts = []
        for _ in range(int(header[1:])):
            size = int((await reader.readline())[1:])
            parts.append((await reader.readexactly(size + 2))[:-2])
        return parts
    except asyncio.IncompleteReadError:
        return None


@pytest.fixture
def unused_engine() -> Iterator[Engine]:
    """The hub's engine, never opened: these tests have no boards asking for snapshots."""
    engine = create_engine("sqlite://")
    yield engine
    engine.dispose()


@contextlib.asynccontextmanager
async def hub_on(server: SilentRedis, engine: Engine) -> AsyncIterator[LiveHub]:
    listening = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    hub = LiveHub(engine, f"redis://127.0.0.1:{port}/0", channel="board", health_interval_seconds=HEALTH_SECONDS)
    await hub.start()
    try:
        yield hub
    finally:
        await hub.stop()
        listening.close()
        try:
            # and stopping closes the connection it was on
            await server.until(lambda: all(c.closed for c in server.connections))
        finally:
            server.drop_all()
            await listening.wait_closed()


@pytest.fixture
async def mute(unused_engine: Engine) -> AsyncIterator[SilentRedis]:
    server = SilentRedis(answers=False, answers_pings=False)
    async with hub_on(server, unused_engine):
        yield server


@pytest.fixture
async def silent_after_subscribing(unused_engine: Engine) -> AsyncIterator[SilentRedis]:
    server = SilentRedis(answers=True, answers_pings=False)
    async with hub_on(server, unused_engine):
        yield server


@pytest.fixture
async def quiet_but_alive(unused_engine: Engine) -> AsyncIterator[SilentRedis]:
    server = SilentRedis(answers=True, answers_pings=True)
    async with hub_on(server, unused_engine):
        yield server


async def test_a_redis_that_never_answers_is_given_up_closed_and_connected_to_again(mute: SilentRedis) -> None:
    # given a Redis that accepts the hub's connection but never answers its handshake
    # when the hub has waited a health interval
    await mute.until(lambda: len(mute.connections) >= 2)
    # then it connected again, and closed the connection it gave up on
    await mute.until(lambda: mute.connections[0].closed)


async def test_a_redis_silent_after_subscribing_is_pinged_once_then_given_up_and_closed(
    silent_after_subscribing: SilentRedis,
) -> None:
    server = silent_after_subscribing
    # given a Redis that confirmed the subscription, then answers nothing, not even a PING
    # when the hub has heard nothing for two health intervals
    await server.until(lambda: len(server.connections) >= 2)
    # then it connected again, after one unanswered PING, and closed the connection it gave up on
    await server.until(lambda: server.connections[0].closed)
    assert server.connections[0].pings == 1


async def test_a_quiet_redis_that_answers_pings_keeps_its_connection(quiet_but_alive: SilentRedis) -> None:
    server = quiet_but_alive
    # given a subscribed channel on which nothing is published, on a Redis that answers PINGs
    # when the hub has pinged it through several silent intervals
    await server.until(lambda: bool(server.connections) and server.connections[0].pings >= 3)
    # then it is still on its first connection
    assert len(server.connections) == 1 and not server.connections[0].closed


# --- real Redis servers ---------------------------------------------------------------------------------


@pytest.fixture
def channel() -> str:
    return f"test-live-{uuid.uuid4().hex[:10]}"  # the shared Redis may carry other tests' boards


@pytest.fixture
async def running_hub(engine: Engine, channel: str, request: pytest.FixtureRequest) -> AsyncIterator[
        tuple[LiveHub, Client, str]]:
    """A hub on `redis_url` (the shared Redis unless a test parametrizes it) and a board connected before it
    subscribes, so the board's first message is the resync the subscription's confirmation triggers."""
    url = request.getfixturevalue("private_redis").url if getattr(request, "param", "") == "private" \
        else REDIS_URL
    hub = LiveHub(engine, url, channel=channel, health_interval_seconds=HEALTH_SECONDS)
    board = hub.connect()
    await hub.start()
    try:
        yield hub, board, url
    finally:
        await hub.stop()


async def next_message(hub: LiveHub, board: Client) -> dict[str, Any]:
    message = await hub.next_message(board, timeout=WAIT_SECONDS)
    assert message is not None, "the board heard nothing"
    return orjson.loads(message) if isinstance(message, str) else message


async def publish(url: str, channel: str, incident_id: str) -> None:
    """A batch as the projector publishes it: position and changed rows."""
    batch = {"position": 1, "changes": [{"view": "board_incidents", "row": {"incident_id": incident_id,
                                                                           "position": 1}}]}
    async with AsyncRedis.from_url(url) as redis:
        await redis.publish(channel, orjson.dumps(batch))


@pytest.mark.redis
async def test_a_batch_published_on_the_channel_reaches_a_connected_board(
    running_hub: tuple[LiveHub, Client, str], channel: str,
) -> None:
    hub, board, url = running_hub
    # given a board resynced once the hub's subscription was confirmed
    assert (await next_message(hub, board))["type"] == "snapshot"
    # when the projector publishes a batch
    await publish(url, channel, "incident-1")
    # then the board gets it as a delta
    delta = await next_message(hub, board)
    assert delta["type"] == "delta" and delta["changes"][0]["row"]["incident_id"] == "incident-1"


@pytest.mark.parametrize("running_hub", ["private"], indirect=True)
async def test_after_redis_restarts_the_hub_resyncs_its_boards_and_relays_again(
    running_hub: tuple[LiveHub, Client, str], channel: str, private_redis: EmbeddedRedis,
) -> None:
    hub, board, url = running_hub
    assert (await next_message(hub, board))["type"] == "snapshot"
    # given Redis killed (the board may miss batches meanwhile) and started again
    assert private_redis.process is not None
    private_redis.process.kill()
    private_redis.process.wait()
    await asyncio.to_thread(private_redis.start)
    # then the hub resubscribes and resyncs the board
    assert (await next_message(hub, board))["type"] == "snapshot"
    # and a batch published after that reaches it
    await publish(url, channel, "incident-2")
    assert (await next_message(hub, board))["changes"][0]["row"]["incident_id"] == "incident-2"


@pytest.mark.redis
async def test_an_ended_session_announced_on_redis_ends_only_its_own_boards(
    running_hub: tuple[LiveHub, Client, str],
) -> None:
    hub, first, url = running_hub
    assert (await next_message(hub, first))["type"] == "snapshot"
    mine, my_other, someone_elses = (hub.connect(token_hash=token, user_id=user) for token, user in (
        ("hash-a", "somchai"), ("hash-b", "somchai"), ("hash-c", "malee")))
    async with AsyncRedis.from_url(url) as redis:
        # given garbage on the sessions channel, which the hub must shrug off
        await redis.publish(hub.session_channel, b"not json")
        # when somchai changes their password in session hash-b (their other sessions end)
        await redis.publish(hub.session_channel, SessionsEnded("somchai", keep="hash-b").encode())
    # then only somchai's other board ends, and the hub still relays
    with pytest.raises(SessionEnded):
        await hub.next_message(mine, timeout=WAIT_SECONDS)
    await publish(url, hub.channel, "incident-3")
    for board in (my_other, someone_elses):
        assert (await next_message(hub, board))["changes"][0]["row"]["incident_id"] == "incident-3"
