"""Sign in and out, who am I, changing one's password, and (for admins) adding people."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from dispatch.accounts import AuthenticationFailed
from dispatch.api.deps import Admin, ServicesDep, session_token
from dispatch.api.openapi import problems
from dispatch.api.schemas import LoginIn, MeOut, PasswordIn, SessionOut, UserIn
from dispatch.api.security import CSRF_COOKIE, SESSION_COOKIE, clear_session_cookies, csrf_token, set_session_cookies
from dispatch.lockout import LoginThrottle

router = APIRouter(tags=["people"])


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/api/auth/login", response_model=SessionOut, responses=problems(401, 429),
             summary="Sign in; the token lasts one shift")
def login(body: LoginIn, services: ServicesDep, request: Request, response: Response) -> SessionOut:
    throttle = LoginThrottle(services.accounts.engine, services.clock, services.settings)
    # A locked username or address is refused before its password is looked at, right or wrong.
    throttle.check(body.username, _client(request))
    try:
        issued = services.accounts.login(body.username, body.password)
    except AuthenticationFailed:
        throttle.failed(body.username, _client(request))
        raise
    throttle.succeeded(body.username)
    set_session_cookies(response, issued.token, services.settings)
    actor = issued.actor
    return SessionOut(token=issued.token, expires_at=issued.expires_at,
                      user=MeOut(id=actor.id, role=actor.role, display_name=issued.display_name,
                                 resource_id=actor.resource_id))


@router.post("/api/auth/logout", status_code=204, summary="End this session everywhere at once")
def logout(services: ServicesDep, token: Annotated[str, Depends(session_token)], response: Response) -> None:
    services.accounts.authenticate(token)  # like every route but signing in: a live session, or 401
    services.accounts.revoke(token)
    clear_session_cookies(response, services.settings)


@router.post("/api/auth/password", status_code=204, responses=problems(429),
             summary="Change your own password; your other sessions end")
def change_password(body: PasswordIn, services: ServicesDep, request: Request,
                    token: Annotated[str, Depends(session_token)]) -> None:
    actor, _name = services.accounts.authenticate(token)
    # Guessing the current password from a stolen session counts against the same budget as signing in.
    throttle = LoginThrottle(services.accounts.engine, services.clock, services.settings)
    throttle.check(actor.id, _client(request))
    try:
        services.accounts.change_password(token, body.current_password, body.new_password)
    except AuthenticationFailed:
        throttle.failed(actor.id, _client(request))
        raise


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
