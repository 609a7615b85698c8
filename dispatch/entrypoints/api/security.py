"""What the browser is told to enforce, and the proof a cookie-signed write must carry.

- Security headers on every HTTP answer: a Content-Security-Policy with no inline script or style (the pages
  load only their own files, Leaflet from /vendor, and map tiles from OpenStreetMap), no MIME sniffing, no
  framing, no referrer (the map's tile images alone send their origin, as OpenStreetMap's tile policy asks:
  ui/js/map.js sets that on each tile, so a page's address never leaves it), HSTS in production, and
  `Cache-Control: no-store` on every API answer. A route that needs another policy (the API docs) sets its own.
- CSRF: a write signed in by the session cookie must echo the `dispatch_csrf` cookie in `X-CSRF-Token`. The
  token is derived from the session token, so a cookie planted by another site cannot match it and the server
  stores nothing; Bearer requests are exempt (a page on another site cannot set that header).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import urlsplit

from fastapi import Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch.domain.errors import DispatchError
from dispatch.runtime.settings import Settings

SESSION_COOKIE = "dispatch_session"
CSRF_COOKIE = "dispatch_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_PREFIX = "/api/"
# The board's map tiles (ui/js/map.js TILES); without them it draws the offline coast.
MAP_TILES = "https://tile.openstreetmap.org"
# A Host header as browsers send it: a name or address and a port, nothing that could end the CSP directive.
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


class CsrfRejected(DispatchError):
    code = "csrf_failed"


def content_security_policy(host: str | None) -> str:
    """The pages' policy; the live board's WebSocket is allowed on the same host by name, as older browsers'
    'self' does not cover ws: and wss:."""
    sockets = f" ws://{host} wss://{host}" if host and _HOST.match(host) else ""
    return "; ".join([
        "default-src 'self'", "script-src 'self'", "style-src 'self'", f"img-src 'self' data: {MAP_TILES}",
        f"connect-src 'self'{sockets}", "font-src 'self'", "object-src 'none'", "base-uri 'self'",
        "form-action 'self'", "frame-ancestors 'none'",
    ])


class SecurityHeaders:
    """Add the security headers to every HTTP answer, errors and 413s included, unless a route set its own."""

    def __init__(self, app: ASGIApp, *, hsts_seconds: int | None) -> None:
        self.app = app
        self.hsts = f"max-age={hsts_seconds}" if hsts_seconds else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
                headers.setdefault("Content-Security-Policy", content_security_policy(host))
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                if scope["path"].startswith(API_PREFIX):
                    # Answers are per person and may carry patient details: no browser, phone or proxy keeps one.
                    headers.setdefault("Cache-Control", "no-store")
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", self.hsts)
            await send(message)

        await self.app(scope, receive, with_headers)


def csrf_token(session_token: str) -> str:
    """The CSRF proof for a session: a one-way function of its token, distinct from the stored token hash."""
    return hashlib.sha256(b"dispatch-csrf\0" + session_token.encode()).hexdigest()


def check_csrf(session_token: str, method: str, sent: str | None) -> None:
    """Refuse a state-changing request signed in by cookie whose X-CSRF-Token does not match its session."""
    if method in SAFE_METHODS:
        return
    if not sent or not hmac.compare_digest(sent.encode(), csrf_token(session_token).encode()):
        raise CsrfRejected(f"a change signed in by the session cookie needs the {CSRF_COOKIE} cookie's value in "
                           f"the {CSRF_HEADER} header; sign in again if it is missing", field=CSRF_HEADER)


def set_session_cookies(response: Response, token: str, settings: Settings) -> None:
    """The session (HttpOnly) and its CSRF proof (readable by the pages' script), both SameSite=Strict."""
    common = {"samesite": "strict", "secure": settings.cookies_secure, "max_age": int(settings.session_hours * 3600)}
    response.set_cookie(SESSION_COOKIE, token, httponly=True, **common)  # type: ignore[arg-type]
    response.set_cookie(CSRF_COOKIE, csrf_token(token), httponly=False, **common)  # type: ignore[arg-type]


def clear_session_cookies(response: Response, settings: Settings) -> None:
    for name, httponly in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(name, httponly=httponly, samesite="strict", secure=settings.cookies_secure)


def same_origin(origin: str | None, *hosts: str | None) -> bool:
    """Whether a browser's Origin header names one of these hosts (absent: not a browser, nothing to check).

    The hosts are the Host header and a proxy's X-Forwarded-Host: a page on another site can set neither on
    its WebSocket handshake, so trusting the forwarded one costs nothing and keeps a proxy that rewrites Host
    from shutting the board out."""
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() in {host.lower() for host in hosts if host}
