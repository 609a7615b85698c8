"""Limits on request bodies, checked before any route reads them: their size (a report is a few hundred
bytes) and their type (the API reads JSON only)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch.api.problems import PROBLEM_JSON, problem_bytes


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


# How dispatch/api/openapi.py documents the two refusals on every route that takes a body.
LIMIT_RESPONSES: dict[str, str] = {"413": "the body is larger than the API reads",
                                   "415": "the body is not JSON"}
