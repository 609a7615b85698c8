"""CommandRoute: the command routes' request handling, without FastAPI's general machinery on the hot path.

A command route takes string path parameters, one JSON body model and one command context (deps.py), and
returns a ready Response. FastAPI's general handler (dependency solving, body parsing into a dict and then
validation, telemetry hooks) cost more per report than the whole decision does: about 110 µs of a served
report's 590 (bench/api_report.py). This handler does only what such a route needs: the body validated
straight from its bytes (pydantic's JSON mode), the context called directly, the endpoint awaited. FastAPI
still builds the route as usual, so the OpenAPI document, the matching and the error handlers are its own;
the answers are the same ones it gives (422 naming the body's field, 401/403 from the context).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

_COMMAND_CONTEXT = "__command_context__"


def marks_command_context(context: Callable[[Request], Awaitable[Any]]) -> Callable[[Request], Awaitable[Any]]:
    """Mark a dependency as a command context: a CommandRoute calls it with the request alone."""
    setattr(context, _COMMAND_CONTEXT, True)
    return context


class CommandRoute(APIRoute):
    """An APIRoute whose handler validates the body and calls the context itself (see the module doc)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        dependant = self.dependant
        if (len(dependant.body_params) != 1 or len(dependant.dependencies) != 1 or dependant.query_params
                or dependant.header_params or dependant.cookie_params
                or not getattr(dependant.dependencies[0].call, _COMMAND_CONTEXT, False)
                or any(param.field_info.annotation is not str for param in dependant.path_params)):
            raise TypeError(f"{self.path}: a CommandRoute takes str path parameters, one body model and one "
                            "command context, nothing else")
        body_param, context_param = dependant.body_params[0], dependant.dependencies[0]
        model: type[BaseModel] = body_param.field_info.annotation  # type: ignore[assignment]
        body_name, context_name = body_param.name, str(context_param.name)
        context: Callable[[Request], Awaitable[Any]] = context_param.call  # type: ignore[assignment]
        path_names = [param.name for param in dependant.path_params]
        endpoint: Callable[..., Awaitable[Response]] = self.endpoint

        async def handle(request: Request) -> Response:
            try:
                raw = await request.body()
            except ClientDisconnect:  # gone, or cut off by BodyLimit (which has answered 413): as FastAPI does
                raise HTTPException(400, "There was an error parsing the body") from None
            body, errors = _parsed(model, raw)
            # The same order as FastAPI's: a body that is no JSON at all, then who asks, then the fields.
            if errors and errors[0]["type"] == "json_invalid":
                raise RequestValidationError(errors)
            arguments: dict[str, Any] = {context_name: await context(request)}
            if errors:
                raise RequestValidationError(errors)
            arguments[body_name] = body
            for name in path_names:
                arguments[name] = request.path_params[name]
            return await endpoint(**arguments)

        return handle


def _parsed(model: type[BaseModel], raw: bytes) -> tuple[BaseModel | None, list[Any]]:
    """The body as `model`, or the errors FastAPI would report for it (located under "body")."""
    if not raw:
        return None, [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
    try:
        return model.model_validate_json(raw), []
    except ValidationError as exc:
        return None, [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
