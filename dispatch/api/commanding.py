"""Running a command from a route: stamp it, handle it, say whether the answer is a replay."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import Request, Response

from dispatch.api.deps import command_id
from dispatch.bootstrap import Services
from dispatch.commands import Actor, Command
from dispatch.errors import InvalidTime
from dispatch.events.store import AppendResult
from dispatch.group_commit import GroupCommit


def stamp(actor: Actor, services: Services, key: str | None, request: Request) -> dict[str, Any]:
    """The fields every command from HTTP carries: who, server time, idempotency and correlation ids."""
    return {
        "actor": actor,
        "at": services.clock.now(),
        "command_id": command_id(actor, key),
        "correlation_id": request.headers.get("X-Request-ID"),
    }


async def run(command: Command, request: Request, response: Response) -> AppendResult:
    """Handle the command with the others arriving now (dispatch/group_commit.py)."""
    commands: GroupCommit = request.app.state.commands
    result = await commands.submit(command)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return result


def not_future(moment: datetime | None, services: Services, field: str) -> datetime | None:
    """A device time may run a little ahead of the server (clock drift), never beyond the tolerance."""
    if moment is None:
        return None
    now = services.clock.now()
    if moment > now + timedelta(seconds=services.settings.device_clock_skew_seconds):
        raise InvalidTime(f"{field} {moment.isoformat()} is in the future (server time {now.isoformat()})",
                          field=field)
    return min(moment, now)
