"""A lean HTTP/1.1 keep-alive client over asyncio streams, for load that leaves the CPU to the server.

On a 2-core machine the load generator shares the cores with the server it measures. httpx spends several
times more CPU per request than uvicorn does on a trivial route, which would cap every figure at the
client's speed; this client writes prebuilt request bytes and reads a Content-Length framed answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Self


class ProtocolError(RuntimeError):
    """The server answered in a way this small client does not read (no Content-Length, a closed socket)."""


class HttpConnection:
    """One persistent connection; one request at a time, as one client device would send them."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Self:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send one request; return the status and the body."""
        self.writer.write(request)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise ProtocolError("the server closed the connection") from exc
        body = await self.reader.readexactly(_content_length(head))
        return int(head[9:12]), body

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def _content_length(head: bytes) -> int:
    marker = head.lower().find(b"\r\ncontent-length:")
    if marker < 0:
        raise ProtocolError(f"no Content-Length in {head[:200]!r}")
    start = marker + len(b"\r\ncontent-length:")
    return int(head[start:head.index(b"\r\n", start)])


def request_bytes(method: str, path: str, host: str, headers: dict[str, str] | None = None,
                  body: bytes = b"") -> bytes:
    """A complete HTTP/1.1 request, ready to write."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method != "GET":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
