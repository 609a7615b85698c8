"""Limits on requests, checked before any route reads them: the body's size (a report is a few hundred bytes)
and type (the API reads JSON only), the texts in the path and the query, and the bounds of numbers a route
takes (positions, counts) where a query parameter names them."""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch.domain.text import ID_MAX_LENGTH, is_clean, text_problem
from dispatch.entrypoints.api.problems import PROBLEM_JSON, problem_bytes

# A log position or a count in a query: within the 64 bits of the columns and of SQLite's integers.
POSITION_MAX: Final[int] = 2**63 - 1
# Rows to skip in a paged answer: far beyond any real log, far below what overflows a query.
OFFSET_MAX: Final[int] = 1_000_000_000


class BodyLimit:
    """Answer 413 to a body over `max_bytes`, whether it declares its length or streams it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        seen = 0
        refused = started = False

        # A streamed body that grows too big is answered 413 here and then ends as if the client had gone: an
        # exception raised to stop the route would be caught by FastAPI's body parsing and become its 400.
        async def limited_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    if not started:
                        await self._refuse(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is sent; whatever the route makes of the cut body is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, guarded_send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        await _answer(send, problem_bytes(413, "payload_too_large", f"request bodies are limited to {self.max_bytes} "
                                          "bytes", instance=scope["path"]), 413)


class CleanPathAndQuery:
    """Refuse a path or query value that breaks the clean-text rule (dispatch/domain/text.py), or an id in an API path
    longer than any id can be: 422 naming the parameter under /api/ and /ws/, 404 for a page or file (no file
    has such a name). Checked once here, before any route or static file meets it, so no path or query value
    reaches a query or the log unclean: PostgreSQL refuses NUL, and the file system refuses it too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            problem = _path_problem(scope) or _query_problem(scope)
            if problem is not None:
                await _refuse_text(scope, receive, send, *problem)
                return
        await self.app(scope, receive, send)


def _path_problem(scope: Scope) -> tuple[int, str, str] | None:
    path: str = scope["path"]
    api = path.startswith(("/api/", "/ws/"))
    if is_clean(path) and not (api and max(map(len, path.split("/"))) > ID_MAX_LENGTH):
        return None
    if not api:
        return 404, "path", "no such page or file"
    for name, value in _path_params(scope).items():
        if isinstance(value, str) and (problem := text_problem(value) or _too_long(value)):
            return 422, name, f"{name}: {problem}"
    return 404, "path", "no such route"


def _path_params(scope: Scope) -> dict[str, str]:
    """The path parameters of the documented route the path names (none if it names none). Matched against
    the OpenAPI paths, the public form of the routes: only a refused request gets here."""
    app = scope["app"]
    templates: list[re.Pattern[str]] | None = getattr(app.state, "path_templates", None)
    if templates is None:
        templates = [re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")
                     for path in app.openapi()["paths"]]
        app.state.path_templates = templates
    path: str = scope["path"]
    for template in templates:
        if found := template.match(path):
            return found.groupdict()
    return {}


def _too_long(value: str) -> str | None:
    return f"{len(value)} characters; an id has at most {ID_MAX_LENGTH}" if len(value) > ID_MAX_LENGTH else None


def _query_problem(scope: Scope) -> tuple[int, str, str] | None:
    query: bytes = scope.get("query_string", b"")
    if not query:
        return None
    # As Starlette reads it (percent-decoded, UTF-8, a bad byte as U+FFFD), so what is checked is what routes get.
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if (problem := text_problem(name) or text_problem(value)) is not None:
            field = name if is_clean(name) else "query"
            return 422, field, f"{field}: {problem}"
    return None


async def _refuse_text(scope: Scope, receive: Receive, send: Send, status: int, field: str, message: str) -> None:
    if scope["type"] == "websocket":
        await receive()  # websocket.connect; closing before accepting refuses the handshake
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    code = "invalid_text" if status == 422 else "not_found"
    await _answer(send, problem_bytes(status, code, message, instance=scope["path"], field=field), status)


class JsonBodiesOnly:
    """Answer 415 to a request under /api/ that sends a body in anything but JSON.

    Without this, a form post or text/plain body would reach the JSON parser and come back as a 422 that blames
    the body's fields; a 415 names the real mistake. It also means a cross-site HTML form (which can only send
    form and text types) never reaches a route.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/") and not _is_json(scope):
            await _answer(send, problem_bytes(
                415, "unsupported_media_type", "send the request body as JSON (Content-Type: application/json)",
                instance=scope["path"], field="Content-Type"), 415)
            return
        await self.app(scope, receive, send)


def _is_json(scope: Scope) -> bool:
    """True for a request without a body, or one whose Content-Type is JSON (application/json, */*+json)."""
    headers = dict(scope["headers"])
    length = headers.get(b"content-length")
    has_body = b"transfer-encoding" in headers or (length is not None and length.strip() not in (b"", b"0"))
    media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return not has_body or media_type == b"application/json" or (
        media_type.startswith(b"application/") and media_type.endswith(b"+json"))


async def _answer(send: Send, body: bytes, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# How dispatch/entrypoints/api/openapi.py documents the two refusals on every route that takes a body.
LIMIT_RESPONSES: dict[str, str] = {"413": "the body is larger than the API reads",
                                   "415": "the body is not JSON"}
