"""Sign in and out, who am I, and (for admins) adding people."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from dispatch.api.deps import SESSION_COOKIE, Admin, ServicesDep, session_token
from dispatch.api.schemas import LoginIn, MeOut, SessionOut, UserIn

router = APIRouter(tags=["people"])


@router.post("/api/auth/login", response_model=SessionOut, summary="Sign in; the token lasts one shift")
def login(body: LoginIn, services: ServicesDep, response: Response) -> SessionOut:
    issued = services.accounts.login(body.username, body.password)
    response.set_cookie(
        SESSION_COOKIE, issued.token, httponly=True, samesite="strict",
        secure=services.settings.environment == "production",
        max_age=int(services.settings.session_hours * 3600),
    )
    actor = issued.actor
    return SessionOut(token=issued.token, expires_at=issued.expires_at,
                      user=MeOut(id=actor.id, role=actor.role, display_name=issued.display_name,
                                 resource_id=actor.resource_id))


@router.post("/api/auth/logout", status_code=204, summary="End this session everywhere at once")
def logout(services: ServicesDep, token: Annotated[str, Depends(session_token)], response: Response) -> None:
    services.accounts.revoke(token)
    response.delete_cookie(SESSION_COOKIE)


@router.get("/api/me", response_model=MeOut, summary="Who am I")
def me(services: ServicesDep, token: Annotated[str, Depends(session_token)]) -> MeOut:
    actor, name = services.accounts.authenticate(token)
    return MeOut(id=actor.id, role=actor.role, display_name=name, resource_id=actor.resource_id)


@router.post("/api/users", status_code=201, response_model=MeOut, summary="Add a person (admins only)")
def add_user(body: UserIn, actor: Admin, services: ServicesDep) -> MeOut:
    services.accounts.add_user(body.username, body.role, body.password, display_name=body.display_name,
                               resource_id=body.resource_id)
    return MeOut(id=body.username, role=body.role, display_name=body.display_name or body.username,
                 resource_id=body.resource_id)

