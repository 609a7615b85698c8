"""LiveHub: relays projector changes from Redis to this process's WebSocket clients.

A client gets a snapshot with its position first (or, reconnecting with ?after=P, the rows changed
since P), then every later batch with its position: no gap, no duplicate. Each client has a bounded
queue; one that falls too far behind is sent a fresh snapshot instead of a backlog, so a slow tablet
never slows the others.

A socket lives only as long as its session: a sign-out, password change or deactivation is published on the
sessions channel (`<live channel>:sessions`) and every process's hub ends the matching sockets at once; every
`session_check_seconds` the hub also reads which of its sockets' sessions are still live, in one query, which
ends expired sessions and covers a message lost while Redis was away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from sqlalchemy import Engine, select

from dispatch.adapters.database import DATABASE_ERRORS
from dispatch.adapters.read_models import BOARD, CHECKPOINTS, REFERRALS, RESOURCES

log = logging.getLogger("dispatch.live")
VIEW_TABLES = {"board_incidents": BOARD, "resources_view": RESOURCES,
               "referrals_view": REFERRALS}
# A reconnect attempt is cheap and operators watch the board during emergencies: once Redis is back, the
# board must be live again within a couple of seconds, not after a long backoff.
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 2.0


@dataclass(frozen=True)
class Delta:
    """A batch of changes, encoded once and sent as the same text to every board."""

    position: int
    text: str


@dataclass(frozen=True)
class SessionsEnded:
    """Sessions that have ended: one (`token_hash`), or all of a person's but `keep` (a password change keeps
    the session that made it)."""

    user_id: str
    token_hash: str | None = None
    keep: str | None = None

    def ends(self, client: Client) -> bool:
        if self.token_hash is not None:
            return client.token_hash == self.token_hash
        return client.user_id == self.user_id and client.token_hash != self.keep

    def encode(self) -> bytes:
        return orjson.dumps({"user_id": self.user_id, "token_hash": self.token_hash, "keep": self.keep})

    @classmethod
    def decode(cls, data: bytes | str) -> SessionsEnded:
        found = orjson.loads(data)
        return cls(str(found["user_id"]), found.get("token_hash"), found.get("keep"))


class Sessions(Protocol):
    """What the hub needs of the accounts (dispatch.adapters.accounts.Accounts)."""

    def live_sessions(self, token_hashes: Collection[str]) -> set[str]: ...

    def forget_sessions(self, *, token_hash: str | None = None, user_id: str | None = None,
                        keep: str | None = None) -> None: ...


class SessionEnded(Exception):
    """The socket's session ended (signed out, password changed, person deactivated, expired)."""


@dataclass(eq=False)
class Client:
    queue: asyncio.Queue[Delta]
    position: int = 0
    needs_snapshot: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    # Whose session the socket was opened with; "" for none (tests and benchmarks of the relay alone).
    token_hash: str = ""
    user_id: str = ""
    ended: bool = False


def read_views(engine: Engine, after: int | None) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    """Rows of the live views (all, or those changed after `after`) and the position they reflect, read in
    one snapshot so the position and the rows agree."""
    isolation = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**isolation) as db, db.begin():
        position = _position(db)
        views: dict[str, list[dict[str, Any]]] = {}
        for view, table in VIEW_TABLES.items():
            query = select(table)
            if after is not None:
                query = query.where(table.c.position > after)
            elif view == "board_incidents":
                query = query.where(table.c.status == "open")
            views[view] = [dict(row) for row in db.execute(query).mappings() if row["position"] <= position]
    return position, views


def _position(db: Any) -> int:
    table = CHECKPOINTS
    found = db.execute(select(table.c.position).where(table.c.name.in_(["board", "resources", "referrals"]))).all()
    return min((row[0] for row in found), default=0) if len(found) == 3 else 0


class LiveHub:
    def __init__(self, engine: Engine, redis_url: str | None, *, channel: str, queue_size: int = 200,
                 health_interval_seconds: float = 10.0, sessions: Sessions | None = None,
                 session_check_seconds: float = 5.0) -> None:
        self.engine = engine
        self.redis_url = redis_url
        self.channel = channel
        self.session_channel = f"{channel}:sessions"
        self.sessions = sessions
        self.session_check_seconds = session_check_seconds
        self._check_now = asyncio.Event()
        self._checker: asyncio.Task[None] | None = None
        self.queue_size = queue_size
        # Silence this long draws a PING; as long again without a word and the connection counts as dead.
        self.health_interval_seconds = health_interval_seconds
        self.clients: set[Client] = set()
        self._task: asyncio.Task[None] | None = None
        self._retry_seconds = RETRY_FIRST_SECONDS

    # --- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        self._check_now = asyncio.Event()  # of this loop (a test may serve one app from several in turn)
        if self.redis_url is not None:
            self._task = asyncio.create_task(self._listen(), name="live-hub")
        if self.sessions is not None:
            self._checker = asyncio.create_task(self._check_sessions(), name="live-hub-sessions")

    async def stop(self) -> None:
        for task in (self._task, self._checker):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _listen(self) -> None:
        """Follow the channel on a fresh client per attempt, closing each one it gives up on; every confirmed
        subscription resyncs all clients (they may have missed a batch while the hub was away)."""
        while True:
            redis = self._redis()
            pubsub = redis.pubsub()
            try:
                await self._relay(pubsub)
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("live hub lost redis; retrying",
                            extra={"error": str(exc) or type(exc).__name__, "retry_s": self._retry_seconds})
            finally:
                await self._close(redis, pubsub)
            await asyncio.sleep(self._retry_seconds)
            self._retry_seconds = min(self._retry_seconds * 2, RETRY_MAX_SECONDS)

    def _redis(self) -> AsyncRedis:
        assert self.redis_url is not None
        # No client retries: redis-py would reconnect and resubscribe behind the hub's back, and the boards
        # would never be resynced for what was published meanwhile. No socket timeout (redis-py's default is
        # 5 s): with one, redis-py sends through asyncio.wait_for, which on Python 3.11 can swallow the
        # cancellation that stops the hub (cpython#86296); _relay bounds each step with asyncio.timeout instead.
        return AsyncRedis.from_url(self.redis_url, retry=Retry(NoBackoff(), 0), socket_timeout=None,
                                   socket_connect_timeout=self.health_interval_seconds)

    async def _relay(self, pubsub: PubSub) -> None:
        """Relay the channel's messages until the connection fails or falls silent; raises either way."""
        async with asyncio.timeout(self.health_interval_seconds):
            # connect, handshake and SUBSCRIBE: a Redis that accepts but never answers must not hold the hub
            await pubsub.subscribe(self.channel, self.session_channel)
        pinged = False
        while True:
            message = await pubsub.get_message(timeout=self.health_interval_seconds)
            if message is not None:
                pinged = False
                self._receive(message)
            elif not pinged:
                # A host gone without a TCP reset looks just like a quiet channel until a PING goes unanswered
                # (and even sending one can block, once such a link's send buffer is full).
                async with asyncio.timeout(self.health_interval_seconds):
                    await pubsub.ping()
                pinged = True
            else:
                raise RedisConnectionError(f"redis answered nothing on channel {self.channel!r} for "
                                           f"{2 * self.health_interval_seconds:g} s, not even a PING")

    def _receive(self, message: dict[str, Any]) -> None:
        channel = message.get("channel")
        sessions = (channel.decode() if isinstance(channel, bytes) else channel) == self.session_channel
        match message.get("type"):
            case "subscribe" if sessions:
                self._check_now.set()  # sign-outs published while the hub was away were missed
            case "subscribe":
                # Resync only once Redis confirms: a snapshot read before that could miss a batch published
                # between the snapshot and the subscription.
                self._retry_seconds = RETRY_FIRST_SECONDS
                self.resync_all()
            case "message" if sessions:
                try:
                    ended = SessionsEnded.decode(message["data"])
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    # Not ours to crash on: the periodic check still ends whatever it was about.
                    log.warning("live hub ignored a malformed sessions message")
                    return
                self.end_sessions(ended)
            case "message":
                self.broadcast(orjson.loads(message["data"]))

    async def _close(self, redis: AsyncRedis, pubsub: PubSub) -> None:
        """Close the pubsub's connection, then the client; never raises a Redis error or hangs."""
        try:
            async with asyncio.timeout(self.health_interval_seconds):
                # The pubsub first: it drops its connection without waiting for the peer (redis-py #3941), so
                # the client's own close finds nothing left that a dead Redis could stall.
                await pubsub.aclose()
                await redis.aclose()
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("live hub could not close its redis client cleanly", extra={"error": repr(exc)})

    # --- sessions ----------------------------------------------------------------------------------

    def end_sessions(self, ended: SessionsEnded) -> None:
        """End the sockets of these sessions on this process (the caller publishes for the others)."""
        if self.sessions is not None:
            self.sessions.forget_sessions(token_hash=ended.token_hash,
                                          user_id=None if ended.token_hash else ended.user_id, keep=ended.keep)
        self._end([client for client in self.clients if ended.ends(client)])

    async def check_sessions_now(self) -> None:
        """Read which sockets' sessions are still live, and end the others."""
        assert self.sessions is not None
        watched = [client for client in self.clients if client.token_hash]
        if not watched:
            return
        live = await asyncio.to_thread(self.sessions.live_sessions, {client.token_hash for client in watched})
        self._end([client for client in watched if client.token_hash not in live])

    async def _check_sessions(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.session_check_seconds):
                    await self._check_now.wait()
            self._check_now.clear()
            try:
                await self.check_sessions_now()
            except DATABASE_ERRORS as exc:
                # The database is away: the boards stay (they are stale anyway) until it answers again.
                log.warning("live hub could not check its sockets' sessions", extra={"error": type(exc).__name__})

    def _end(self, clients: list[Client]) -> None:
        for client in clients:
            client.ended = True
            client.wake.set()

    # --- clients -----------------------------------------------------------------------------------

    def connect(self, *, token_hash: str = "", user_id: str = "") -> Client:
        client = Client(queue=asyncio.Queue(maxsize=self.queue_size), token_hash=token_hash, user_id=user_id)
        self.clients.add(client)
        return client

    def disconnect(self, client: Client) -> None:
        self.clients.discard(client)

    def broadcast(self, message: dict[str, Any]) -> None:
        """Queue a batch for every client; a client whose queue is full gets a snapshot instead."""
        if any(change["view"] == "*" for change in message["changes"]):
            self.resync_all()
            return
        position = message["position"]
        delta = Delta(position, orjson.dumps({"type": "delta", "position": position,
                                              "changes": message["changes"]}).decode())
        for client in self.clients:
            if client.needs_snapshot:
                continue
            try:
                client.queue.put_nowait(delta)
            except asyncio.QueueFull:
                client.needs_snapshot = True
            client.wake.set()

    def resync_all(self) -> None:
        for client in self.clients:
            client.needs_snapshot = True
            client.wake.set()

    async def opening(self, client: Client, after: int | None) -> dict[str, Any]:
        """The first message: a snapshot, or the rows changed since `after` (a reconnect)."""
        position, views = await asyncio.to_thread(read_views, self.engine, after)
        if after is not None and after > position:
            after = None  # the client is ahead of this database (it was rebuilt): start over
            position, views = await asyncio.to_thread(read_views, self.engine, None)
        client.position = position
        kind = "snapshot" if after is None else "catchup"
        return {"type": kind, "position": position, "after": after, **views}

    async def next_message(self, client: Client, timeout: float) -> dict[str, Any] | str | None:
        """The next message for this client (a snapshot dict or an encoded delta), skipping what its
        snapshot already covered; None on timeout. Raises SessionEnded once the client's session has ended."""
        while True:
            if client.ended:
                raise SessionEnded
            if client.needs_snapshot:
                client.needs_snapshot = False
                _drain(client.queue)
                return await self.opening(client, None)
            if not client.queue.empty():
                delta = client.queue.get_nowait()
                if delta.position <= client.position:
                    continue  # already in the snapshot it was sent
                client.position = delta.position
                return delta.text
            client.wake.clear()
            try:
                # asyncio.timeout, unlike wait_for, makes no task per wait: 200 boards wait at once.
                async with asyncio.timeout(timeout):
                    await client.wake.wait()
            except TimeoutError:
                return None


def _drain(queue: asyncio.Queue[Delta]) -> None:
    while not queue.empty():
        queue.get_nowait()

