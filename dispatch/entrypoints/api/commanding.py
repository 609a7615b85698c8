"""Command routes: an endpoint builds the command; its router runs it and answers with where it landed.

A command route is one decorator and a function that returns the command (STYLE.md):

    @commands.post("/{incident_id}/dispatch", summary="Dispatch a boat, AED or team")
    async def dispatch_resource(incident_id: str, body: DispatchIn, context: OperatorCommand) -> Command:
        return DispatchResource(**context.stamp(), incident_id=incident_id, resource_id=body.resource_id)

CommandRouter documents every such route the same way (the AppendedOut answer, the Idempotency-Key and
sign-in, 404 and 409 unless the route says otherwise) and serves it with CommandRoute's lean handler. An
endpoint whose answer says more than AppendedOut (a referral's deadline) runs the command itself and
returns the Response.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
from fastapi import APIRouter, Response
from fastapi.datastructures import DefaultPlaceholder

from dispatch.adapters.eventlog.store import AppendResult
from dispatch.app.group_commit import GroupCommit
from dispatch.app.services import Services
from dispatch.domain.commands import Command
from dispatch.domain.errors import InvalidTime
from dispatch.entrypoints.api.command_route import CommandRoute
from dispatch.entrypoints.api.deps import COMMAND_OPENAPI, CommandContext
from dispatch.entrypoints.api.openapi import problems
from dispatch.entrypoints.api.schemas import AppendedOut


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


class CommandRouter(APIRouter):
    """An APIRouter of command routes (see the module doc)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(route_class=CommandRoute, **kwargs)

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if kwargs.get("responses") is None:
            kwargs["responses"] = problems(404, 409)
        if isinstance(kwargs.get("response_model"), DefaultPlaceholder) or "response_model" not in kwargs:
            kwargs["response_model"] = AppendedOut
        kwargs["openapi_extra"] = COMMAND_OPENAPI
        status_code = kwargs.get("status_code") or 200

        @functools.wraps(endpoint)
        async def run_command(**arguments: Any) -> Response:
            built = await endpoint(**arguments)
            if isinstance(built, Response):
                return built
            context = next(value for value in arguments.values() if isinstance(value, CommandContext))
            return answer(built.subject_id, await run(built, context), status_code=status_code)

        super().add_api_route(path, run_command, **kwargs)


def not_future(moment: datetime | None, services: Services, field: str) -> datetime | None:
    """A device time may run a little ahead of the server (clock drift), never beyond the tolerance."""
    if moment is None:
        return None
    now = services.clock.now()
    if moment > now + timedelta(seconds=services.settings.device_clock_skew_seconds):
        raise InvalidTime(f"{field} {moment.isoformat()} is in the future (server time {now.isoformat()})",
                          field=field)
    return min(moment, now)
