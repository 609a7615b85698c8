"""Request dependencies: the services, the signed-in actor, role checks, and a command's context (its actor
and Idempotency-Key)."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dispatch.adapters.accounts import AuthenticationFailed
from dispatch.app.services import Services
from dispatch.domain.commands import Actor
from dispatch.domain.errors import InvalidInput, NotPermitted
from dispatch.domain.text import IDEMPOTENCY_KEY_MAX_LENGTH, META_TEXT_MAX_LENGTH, clean_text
from dispatch.entrypoints.api.command_route import marks_command_context
from dispatch.entrypoints.api.security import CSRF_HEADER, SESSION_COOKIE, check_csrf

_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes
# Set on a dependency that checks roles, to the roles it lets through: the OpenAPI document says 403 there.
ROLES_ATTRIBUTE: Final[str] = "permitted_roles"
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


async def _token_of(request: Request) -> str:
    """session_token without the dependency machinery: the same Bearer parsing, by calling HTTPBearer itself."""
    return await session_token(request, await _bearer(request))


async def _actor_for(services: Services, token: str) -> Actor:
    found = services.accounts.recently_checked(token)
    if found is None:
        found = await run_in_threadpool(services.accounts.authenticate, token)
    return found[0]


async def current_actor(services: ServicesDep, token: Annotated[str, Depends(session_token)]) -> Actor:
    return await _actor_for(services, token)


ActorDep = Annotated[Actor, Depends(current_actor)]


def _permitted(actor: Actor, roles: tuple[str, ...]) -> Actor:
    if actor.role not in roles:
        raise NotPermitted(f"{actor.role} {actor.id} may not do this; it needs {' or '.join(roles)}")
    return actor


def require(*roles: str) -> Callable[[Actor], Awaitable[Actor]]:
    """A dependency that lets only these roles through (DESIGN.md §6)."""

    async def check(actor: ActorDep) -> Actor:
        return _permitted(actor, roles)

    setattr(check, ROLES_ATTRIBUTE, roles)
    return check


Reader = Annotated[Actor, Depends(require("lifeguard", "operator", "official", "admin"))]
Auditor = Annotated[Actor, Depends(require("operator", "official"))]
FleetReader = Annotated[Actor, Depends(require("operator", "official", "admin"))]
Admin = Annotated[Actor, Depends(require("admin"))]


IDEMPOTENCY_KEY: Final[str] = "Idempotency-Key"
REQUEST_ID: Final[str] = "X-Request-ID"
# Bounded so that "<username>:<key>" always fits the log's command_id column.
_KEY_PATTERN: Final[re.Pattern[str]] = re.compile(rf"[A-Za-z0-9_.:-]{{1,{IDEMPOTENCY_KEY_MAX_LENGTH}}}")
# How command routes document what command_context reads by hand (dispatch/entrypoints/api/commanding.py).
COMMAND_OPENAPI: Final[dict[str, Any]] = {
    "parameters": [{
        "name": IDEMPOTENCY_KEY, "in": "header", "required": False,
        "description": "made by the client before the first try; the same key again returns the first answer",
        "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH,
                   "pattern": f"^{_KEY_PATTERN.pattern}$"},
    }, {
        "name": REQUEST_ID, "in": "header", "required": False,
        "description": "the client's id for this request, kept with the events it appends",
        "schema": {"type": "string", "maxLength": META_TEXT_MAX_LENGTH},
    }],
    "security": [{"HTTPBearer": []}],
}


def idempotency_key_of(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is not None and not _KEY_PATTERN.fullmatch(key):
        raise InvalidInput(f"{IDEMPOTENCY_KEY}: 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} letters, digits or _ . : - (the "
                           "client makes it once, before the first try)", field=IDEMPOTENCY_KEY)
    return key


def request_id_of(request: Request) -> str | None:
    """X-Request-ID, kept in the meta of the events a command appends: clean and bounded, or a 422."""
    value = request.headers.get(REQUEST_ID)
    return None if value is None else clean_text(value, REQUEST_ID, max_length=META_TEXT_MAX_LENGTH)


@dataclass(frozen=True)
class CommandContext:
    """Who sends a command, with which Idempotency-Key, to which services; from one request."""

    actor: Actor
    key: str | None
    services: Services
    request: Request

    def stamp(self) -> dict[str, Any]:
        """The fields every command from HTTP carries: who, server time, idempotency and correlation ids."""
        return {
            "actor": self.actor,
            "at": self.services.clock.now(),
            "command_id": command_id(self.actor, self.key),
            "correlation_id": request_id_of(self.request),
        }


def command_context(*roles: str) -> Callable[[Request], Awaitable[CommandContext]]:
    """One dependency for a command route: the signed-in actor in one of `roles`, and the Idempotency-Key.

    Read by hand from the request rather than as five chained dependencies: on FastAPI 0.165 each dependency
    costs about 50 µs a request, more than a report's decision does (bench/api_report.py). The same checks and
    answers (401, 403, CSRF, 422 naming the header) as require() and a Header parameter; the routes
    document them with COMMAND_OPENAPI.
    """

    async def context(request: Request) -> CommandContext:
        services: Services = request.app.state.services
        actor = _permitted(await _actor_for(services, await _token_of(request)), roles)
        return CommandContext(actor, idempotency_key_of(request), services, request)

    setattr(context, ROLES_ATTRIBUTE, roles)
    return marks_command_context(context)


LifeguardCommand = Annotated[CommandContext, Depends(command_context("lifeguard", "operator"))]
OperatorCommand = Annotated[CommandContext, Depends(command_context("operator"))]


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

