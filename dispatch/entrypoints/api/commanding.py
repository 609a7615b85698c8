"""Running a command from a route: stamp it, handle it, say whether the answer is a replay."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from fastapi import Response

from dispatch.adapters.eventlog.store import AppendResult
from dispatch.app.group_commit import GroupCommit
from dispatch.app.services import Services
from dispatch.domain.commands import Command
from dispatch.domain.errors import InvalidTime
from dispatch.entrypoints.api.deps import CommandContext, command_id, request_id_of


def stamp(context: CommandContext) -> dict[str, Any]:
    """The fields every command from HTTP carries: who, server time, idempotency and correlation ids."""
    return {
        "actor": context.actor,
        "at": context.services.clock.now(),
        "command_id": command_id(context.actor, context.key),
        "correlation_id": request_id_of(context.request),
    }


async def run(command: Command, context: CommandContext) -> AppendResult:
    """Handle the command with the others arriving now (dispatch/app/group_commit.py)."""
    commands: GroupCommit = context.request.app.state.commands
    return await commands.submit(command)


def answer(subject_id: str, result: AppendResult, *, status_code: int = 200, **extra: Any) -> Response:
    """The AppendedOut answer (plus `extra` fields), encoded once: the route returns it as is, so FastAPI does
    not build, validate and serialize a response model again. Says when it is a replay of the first answer."""
    body = {
        "id": subject_id,
        "position": result.last_position,
        "events": [{"position": e.position, "stream_id": e.stream_id, "version": e.version, "type": e.type}
                   for e in result.events],
        "replayed": result.replayed,
        **extra,
    }
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return Response(orjson.dumps(body), status_code=status_code, headers=headers, media_type="application/json")


def not_future(moment: datetime | None, services: Services, field: str) -> datetime | None:
    """A device time may run a little ahead of the server (clock drift), never beyond the tolerance."""
    if moment is None:
        return None
    now = services.clock.now()
    if moment > now + timedelta(seconds=services.settings.device_clock_skew_seconds):
        raise InvalidTime(f"{field} {moment.isoformat()} is in the future (server time {now.isoformat()})",
                          field=field)
    return min(moment, now)
