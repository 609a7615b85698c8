"""WS /ws/board: the live board, authenticated like the API (session cookie or ?token=)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from dispatch.adapters.accounts import AuthenticationFailed, token_hash
from dispatch.app.services import Services
from dispatch.entrypoints.api.limits import POSITION_MAX
from dispatch.entrypoints.api.live import Client, LiveHub, SessionEnded
from dispatch.entrypoints.api.security import SESSION_COOKIE, same_origin

router = APIRouter()
BOARD_ROLES = frozenset({"operator", "official", "admin"})


@router.websocket("/ws/board")
async def board_socket(
    websocket: WebSocket,
    after: Annotated[int | None, Query(ge=0, le=POSITION_MAX)] = None,
    token: Annotated[str | None, Query(max_length=200)] = None,
) -> None:
    services: Services = websocket.app.state.services
    hub: LiveHub = websocket.app.state.hub
    await websocket.accept()
    # A page on another site may open this socket, and the browser would attach our cookie: refuse it.
    headers = websocket.headers
    if not same_origin(headers.get("origin"), headers.get("host"), headers.get("x-forwarded-host")):
        await websocket.close(code=4403, reason="the board opens only from this site's pages")
        return
    credential = token or websocket.cookies.get(SESSION_COOKIE)
    try:
        if not credential:
            raise AuthenticationFailed("sign in first")
        actor, _name = await asyncio.to_thread(services.accounts.authenticate, credential)
    except AuthenticationFailed as exc:
        await websocket.close(code=4401, reason=exc.message[:120])
        return
    if actor.role not in BOARD_ROLES:
        await websocket.close(code=4403, reason=f"{actor.role} may not watch the board")
        return
    client = hub.connect(token_hash=token_hash(credential), user_id=actor.id)
    listener = asyncio.create_task(_drain_incoming(websocket))
    try:
        await _send(websocket, await hub.opening(client, after))
        await _relay(websocket, hub, client, services.settings.ws_heartbeat_seconds, listener)
    except SessionEnded:
        await websocket.close(code=4401, reason="the session has ended; sign in again")
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away; nothing to tell it
    finally:
        hub.disconnect(client)
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await listener


async def _relay(websocket: WebSocket, hub: LiveHub, client: Client, heartbeat: float,
                 listener: asyncio.Task[None]) -> None:
    while not listener.done():
        # Wait for the next message or for the client to leave, whichever comes first: a handler that only
        # noticed at its next heartbeat held every shutdown up by that long.
        getter = asyncio.ensure_future(hub.next_message(client, timeout=heartbeat))
        await asyncio.wait({getter, listener}, return_when=asyncio.FIRST_COMPLETED)
        if not getter.done():
            getter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await getter
            return
        # A heartbeat lets the browser notice a dead link even when the board is quiet.
        await _send(websocket, getter.result() or {"type": "heartbeat", "position": client.position})


async def _drain_incoming(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, text or bytes, so a close is noticed at once."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def _send(websocket: WebSocket, message: dict[str, object] | str) -> None:
    # Deltas come encoded once for every board (LiveHub.broadcast); snapshots are per client.
    await websocket.send_text(message if isinstance(message, str) else orjson.dumps(message).decode())
