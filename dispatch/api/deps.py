"""Request dependencies: the services, the signed-in actor, role checks and the Idempotency-Key."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dispatch.accounts import AuthenticationFailed
from dispatch.api.security import CSRF_HEADER, SESSION_COOKIE, check_csrf
from dispatch.bootstrap import Services
from dispatch.commands import Actor
from dispatch.errors import NotPermitted

_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes
_bearer = HTTPBearer(auto_error=False, description="the token from POST /api/auth/login")


# Dependencies without I/O are `async def`: FastAPI runs a plain `def` dependency on the thread pool, and
# six such hops per request were a large part of a report's cost (bench/api_report.py).
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def session_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str:
    if credentials is not None:
        return credentials.credentials  # a Bearer header: no other site can make a browser send it
    if cookie := request.cookies.get(SESSION_COOKIE):
        check_csrf(cookie, request.method, request.headers.get(CSRF_HEADER))  # a browser sends cookies anywhere
        return cookie
    raise AuthenticationFailed("sign in first: no bearer token or session cookie", field="Authorization")


async def current_actor(services: ServicesDep, token: Annotated[str, Depends(session_token)]) -> Actor:
    found = services.accounts.recently_checked(token)
    if found is None:
        found = await run_in_threadpool(services.accounts.authenticate, token)
    return found[0]


ActorDep = Annotated[Actor, Depends(current_actor)]


def require(*roles: str) -> Callable[[Actor], Awaitable[Actor]]:
    """A dependency that lets only these roles through (DESIGN.md §6)."""

    async def check(actor: ActorDep) -> Actor:
        if actor.role not in roles:
            raise NotPermitted(f"{actor.role} {actor.id} may not do this; it needs {' or '.join(roles)}")
        return actor

    return check


Lifeguard = Annotated[Actor, Depends(require("lifeguard", "operator"))]
Operator = Annotated[Actor, Depends(require("operator"))]
Reader = Annotated[Actor, Depends(require("lifeguard", "operator", "official", "admin"))]
Auditor = Annotated[Actor, Depends(require("operator", "official"))]
FleetReader = Annotated[Actor, Depends(require("operator", "official", "admin"))]
Admin = Annotated[Actor, Depends(require("admin"))]


async def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key", min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_.:-]+$",
            description="made by the client before the first try; the same key again returns the first answer",
        ),
    ] = None,
) -> str | None:
    return key


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]


def command_id(actor: Actor, key: str | None) -> str | None:
    """Keys are per person, so one user's key can neither clash with nor reveal another's command."""
    return f"{actor.id}:{key}" if key else None


def new_id(actor: Actor, key: str | None) -> str:
    """An id for a new incident: derived from the key, so a retried report names the same incident."""
    if key:
        # The first 12 hex digits of uuid5(NAMESPACE_URL, name), which the version bits do not touch, without
        # building the UUID object: that was a sixth of the report route's own time.
        return hashlib.sha1(_URL_NAMESPACE + f"dispatch:{actor.id}:{key}".encode()).hexdigest()[:12]
    return uuid.uuid4().hex[:12]

