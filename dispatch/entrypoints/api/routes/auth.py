"""Sign in and out, who am I, changing one's password, and (for admins) adding people."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from redis.exceptions import RedisError

from dispatch.adapters.accounts import AuthenticationFailed, token_hash
from dispatch.adapters.lockout import HashSlots, LoginThrottle
from dispatch.app.services import Services
from dispatch.entrypoints.api.deps import Admin, ServicesDep, session_token
from dispatch.entrypoints.api.live import LiveHub, SessionsEnded
from dispatch.entrypoints.api.openapi import problems
from dispatch.entrypoints.api.schemas import LoginIn, MeOut, PasswordIn, SessionOut, UserIn
from dispatch.entrypoints.api.security import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    clear_session_cookies,
    csrf_token,
    set_session_cookies,
)

log = logging.getLogger("dispatch.auth")
router = APIRouter(tags=["people"])
T = TypeVar("T")


def _client(request: Request) -> str:
    # The TCP peer, or what a trusted proxy says it is (uvicorn's proxy headers, `forwarded_allow_ips`).
    return request.client.host if request.client else "unknown"


def _hash_slots(request: Request, services: Services) -> HashSlots:
    """This process's bound on password hashes (one per app, made on first use on the app's event loop)."""
    slots: HashSlots | None = getattr(request.app.state, "hash_slots", None)
    if slots is None:
        settings = services.settings
        slots = request.app.state.hash_slots = HashSlots(settings.password_hash_concurrency,
                                                         settings.password_hash_wait_seconds)
    return slots


async def _password_checked(request: Request, services: Services, username: str, check: Callable[[], T]) -> T:
    """Run `check` (which hashes a password) as a counted try for this username from this address: refused
    while locked or slowed (a read), then given one of this process's few hash slots, then counted, then hashed.
    Refusals before the count write nothing, so a flood cannot crowd the reports out of the database."""
    throttle = LoginThrottle(services.accounts.engine, services.clock, services.settings)
    client = _client(request)
    await run_in_threadpool(throttle.check, username, client)
    slots = _hash_slots(request, services)
    async with slots.slot():
        attempt = await run_in_threadpool(throttle.attempt, username, client)
        try:
            result = await slots.run(check)
        except AuthenticationFailed:
            raise  # a wrong password: the try stays counted
        except BaseException:
            await run_in_threadpool(throttle.refund, attempt)  # no password was judged (a bad new one, an error)
            raise
    await run_in_threadpool(throttle.succeeded, attempt)
    return result


async def _end_sessions(request: Request, services: Services, ended: SessionsEnded) -> None:
    """Close these sessions' board sockets here at once, and on every other API process through Redis."""
    hub: LiveHub = request.app.state.hub
    hub.end_sessions(ended)
    if services.redis is None:
        return
    try:
        await run_in_threadpool(services.redis.publish, hub.session_channel, ended.encode())
    except (RedisError, OSError) as exc:
        # Each hub's periodic check of its sockets' sessions still ends them within ws_session_check_seconds.
        log.warning("could not announce ended sessions", extra={"error": type(exc).__name__})


@router.post("/api/auth/login", response_model=SessionOut, responses=problems(401, 429),
             summary="Sign in; the token lasts one shift")
async def login(body: LoginIn, services: ServicesDep, request: Request, response: Response) -> SessionOut:
    issued = await _password_checked(request, services, body.username,
                                     lambda: services.accounts.login(body.username, body.password))
    set_session_cookies(response, issued.token, services.settings)
    actor = issued.actor
    return SessionOut(token=issued.token, expires_at=issued.expires_at,
                      user=MeOut(id=actor.id, role=actor.role, display_name=issued.display_name,
                                 resource_id=actor.resource_id))


@router.post("/api/auth/logout", status_code=204, summary="End this session everywhere at once")
async def logout(services: ServicesDep, request: Request, token: Annotated[str, Depends(session_token)],
                 response: Response) -> None:
    # like every route but signing in: a live session, or 401
    actor, _name = await run_in_threadpool(services.accounts.authenticate, token)
    await run_in_threadpool(services.accounts.revoke, token)
    await _end_sessions(request, services, SessionsEnded(actor.id, token_hash=token_hash(token)))
    clear_session_cookies(response, services.settings)


@router.post("/api/auth/password", status_code=204, responses=problems(429),
             summary="Change your own password; your other sessions end")
async def change_password(body: PasswordIn, services: ServicesDep, request: Request,
                          token: Annotated[str, Depends(session_token)]) -> None:
    actor, _name = await run_in_threadpool(services.accounts.authenticate, token)
    # Guessing the current password from a stolen session counts against the same budget as signing in.
    await _password_checked(request, services, actor.id, lambda: services.accounts.change_password(
        token, body.current_password, body.new_password))
    await _end_sessions(request, services, SessionsEnded(actor.id, keep=token_hash(token)))


@router.get("/api/me", response_model=MeOut, summary="Who am I", operation_id="getMe")
def me(services: ServicesDep, request: Request, response: Response,
       token: Annotated[str, Depends(session_token)]) -> MeOut:
    actor, name = services.accounts.authenticate(token)
    if request.cookies.get(SESSION_COOKIE) == token and request.cookies.get(CSRF_COOKIE) != csrf_token(token):
        set_session_cookies(response, token, services.settings)  # a session from before CSRF proofs: add one
    return MeOut(id=actor.id, role=actor.role, display_name=name, resource_id=actor.resource_id)


@router.post("/api/users", status_code=201, response_model=MeOut, summary="Add a person (admins only)",
             responses=problems(409))
def add_user(body: UserIn, actor: Admin, services: ServicesDep) -> MeOut:
    services.accounts.add_user(body.username, body.role, body.password, display_name=body.display_name,
                               resource_id=body.resource_id)
    return MeOut(id=body.username, role=body.role, display_name=body.display_name or body.username,
                 resource_id=body.resource_id)


@router.post("/api/users/{username}/deactivate", status_code=204, responses=problems(404),
             operation_id="deactivateUser", summary="Stop a person signing in and end their sessions (admins only)")
async def deactivate_user(username: Annotated[str, Path(min_length=1, max_length=80)], actor: Admin,
                          services: ServicesDep, request: Request) -> None:
    await run_in_threadpool(services.accounts.deactivate, username)
    await _end_sessions(request, services, SessionsEnded(username))
