"""Security in the HTTP contract: headers, sign-in lockout, cookies and CSRF, changing one's password,
the board socket's roles and origins, and no secret in a log line (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import logging
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from dispatch.app.handle import handle
from dispatch.app.services import Services
from dispatch.domain.commands import Actor
from dispatch.entrypoints.api.app import create_app
from dispatch.runtime.clock import FrozenClock
from dispatch.runtime.logs import JsonFormatter
from tests.builders import report_incident
from tests.integration import test_api
from tests.integration.test_api import PASSWORD, REPORT, ROLES, Api, report

api = test_api.api  # the fixture: one account per role, a TestClient over the app

UI = Path(__file__).resolve().parents[2] / "ui"


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/api/auth/login", json={"username": username, "password": password})


def set_cookies(answer: Any) -> dict[str, str]:
    """Each Set-Cookie of an answer by cookie name, with its attributes."""
    return {header.split("=", 1)[0]: header for header in answer.headers.get_list("set-cookie")}


# --- headers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/board.html", "/js/api.js", "/api/places", "/api/me", "/healthz",
                                  "/vendor/leaflet/leaflet.js", "/nope.html"])
def test_every_answer_carries_the_security_headers(api: Api, path: str) -> None:
    answer = api.client.get(path)

    policy = answer.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert directives["img-src"] == "'self' data: https://tile.openstreetmap.org"  # the board's map tiles
    assert directives["connect-src"] == "'self' ws://testserver wss://testserver"
    assert "unsafe" not in policy
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert "Strict-Transport-Security" not in answer.headers, "HSTS only in production"


def test_refusals_before_any_route_carry_them_too(api: Api, services: Services) -> None:
    too_big = api.client.post("/api/incidents", content=b"x" * (services.settings.max_body_bytes + 1),
                              headers=api.as_("lifeguard") | {"Content-Type": "application/json"})
    not_json = api.client.post("/api/incidents", content=b"source=beach", headers=api.as_("lifeguard") | {
        "Content-Type": "application/x-www-form-urlencoded"})
    assert (too_big.status_code, not_json.status_code) == (413, 415)
    assert all(answer.headers["X-Frame-Options"] == "DENY" for answer in (too_big, not_json))


def test_production_adds_hsts(services: Services) -> None:
    production = dataclasses.replace(services, settings=services.settings.model_copy(
        update={"environment": "production"}))
    with TestClient(create_app(production)) as client:
        assert client.get("/healthz").headers["Strict-Transport-Security"] == "max-age=31536000"


def test_a_forged_host_header_cannot_widen_the_policy(api: Api) -> None:
    answer = api.client.get("/", headers={"Host": "evil.example; script-src *"})
    assert "script-src 'self';" in answer.headers["Content-Security-Policy"]
    assert "evil" not in answer.headers["Content-Security-Policy"]


def test_the_api_docs_allow_only_their_own_inline_script(api: Api) -> None:
    answer = api.client.get("/docs")

    inline = re.search(rb"<script>(.*?)</script>", answer.content, re.S)
    assert answer.status_code == 200 and inline
    digest = base64.b64encode(hashlib.sha256(inline.group(1)).digest()).decode()
    script_src = re.search(r"script-src ([^;]*)", answer.headers["Content-Security-Policy"])
    assert script_src and script_src.group(1) == f"'self' 'sha256-{digest}'"
    assert "http" not in answer.headers["Content-Security-Policy"], "no other host: the viewers are served here"


@pytest.mark.parametrize("page", sorted(path.name for path in UI.glob("*.html")))
def test_pages_have_no_inline_script_style_or_handlers(page: str) -> None:
    html = (UI / page).read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", html, re.I), "inline style or event handler"


# --- sign-in lockout --------------------------------------------------------------------------------------


def test_failed_sign_ins_lock_the_username_even_for_the_right_password(api: Api, services: Services) -> None:
    limit = services.settings.login_max_failures
    for _ in range(limit):
        assert sign_in(api.client, "operator", "wrong password").status_code == 401

    locked = sign_in(api.client, "operator")

    assert locked.status_code == 429 and locked.json()["code"] == "too_many_attempts"
    assert locked.json()["field"] == "username"
    assert int(locked.headers["Retry-After"]) == services.settings.login_lockout_seconds
    assert sign_in(api.client, "official").status_code == 200, "other people are not locked"


def test_the_lock_lifts_after_the_lockout_period(api: Api, services: Services, clock: FrozenClock) -> None:
    for _ in range(services.settings.login_max_failures):
        sign_in(api.client, "Operator", "wrong password")  # usernames count case-insensitively
    clock.advance(timedelta(seconds=services.settings.login_lockout_seconds - 10))
    assert int(sign_in(api.client, "operator").headers["Retry-After"]) == 10

    clock.advance(timedelta(seconds=10))

    assert sign_in(api.client, "operator").status_code == 200


def test_a_successful_sign_in_resets_the_count_and_old_failures_expire(
    api: Api, services: Services, clock: FrozenClock
) -> None:
    almost = services.settings.login_max_failures - 1
    for _ in range(almost):
        sign_in(api.client, "operator", "wrong password")
    assert sign_in(api.client, "operator").status_code == 200
    for _ in range(almost):
        sign_in(api.client, "operator", "wrong password")
    clock.advance(timedelta(seconds=services.settings.login_window_seconds))

    assert sign_in(api.client, "operator", "wrong password").status_code == 401, "the window moved on"
    assert sign_in(api.client, "operator").status_code == 200


def test_one_address_failing_for_many_usernames_is_locked(services: Services) -> None:
    strict = dataclasses.replace(services, settings=services.settings.model_copy(
        update={"login_max_failures_per_ip": 4}))
    strict.accounts.add_user("somchai", "operator", PASSWORD)
    with TestClient(create_app(strict)) as client:
        for name in ("a", "b", "c", "d"):
            assert sign_in(client, name, "guess guess").status_code == 401

        locked = sign_in(client, "somchai")

    assert locked.status_code == 429 and locked.json()["field"] == "client"


def test_the_count_is_shared_by_every_api_process(services: Services) -> None:
    services.accounts.add_user("somchai", "operator", PASSWORD)
    # Two apps over one database stand for two API processes: only the database is shared.
    with TestClient(create_app(services)) as first, TestClient(create_app(services)) as second:
        for n in range(services.settings.login_max_failures):
            sign_in(first if n % 2 else second, "somchai", "guess guess")

        assert sign_in(first, "somchai").status_code == sign_in(second, "somchai").status_code == 429


def test_sign_ins_succeed_while_reports_are_being_appended(services: Services) -> None:
    services.accounts.add_user("somchai", "operator", PASSWORD)
    actor = Actor(id="somchai", role="operator")
    done = threading.Event()

    def report_continuously() -> None:
        for n in range(10_000):
            if done.is_set():
                return
            handle(report_incident(actor=actor, at=services.clock.now(), incident_id=f"busy-{n}"), services)

    writer = threading.Thread(target=report_continuously)
    writer.start()
    try:
        # On SQLite a sign-in read the user and then wrote its session in a deferred transaction, and failed
        # at once with "database is locked" whenever an append landed in between.
        sessions = [services.accounts.login("somchai", PASSWORD) for _ in range(40)]
    finally:
        done.set()
        writer.join(timeout=30)
    assert len(sessions) == 40 and services.store.head() > 0


# --- cookies and CSRF ------------------------------------------------------------------------------------


def test_sign_in_sets_an_httponly_strict_session_cookie_and_a_readable_csrf_cookie(api: Api) -> None:
    cookies = set_cookies(sign_in(api.client, "operator"))

    session, csrf = cookies["dispatch_session"], cookies["dispatch_csrf"]
    assert "HttpOnly" in session and "SameSite=strict" in session and "Secure" not in session
    assert "HttpOnly" not in csrf and "SameSite=strict" in csrf


@pytest.mark.parametrize("settings", [{"environment": "production"}, {"cookie_secure": True}])
def test_cookies_are_secure_in_production_or_when_asked(services: Services, settings: dict[str, Any]) -> None:
    secure = dataclasses.replace(services, settings=services.settings.model_copy(update=settings))
    secure.accounts.add_user("somchai", "operator", PASSWORD)
    with TestClient(create_app(secure)) as client:
        cookies = set_cookies(sign_in(client, "somchai"))
    assert all("Secure" in header for header in cookies.values())


def test_a_cookie_signed_write_needs_the_csrf_header(api: Api, services: Services) -> None:
    sign_in(api.client, "lifeguard")
    proof = api.client.cookies["dispatch_csrf"]

    missing = api.client.post("/api/incidents", json=REPORT)
    wrong = api.client.post("/api/incidents", json=REPORT, headers={"X-CSRF-Token": "0" * 64})
    assert missing.status_code == wrong.status_code == 403 and missing.json()["code"] == "csrf_failed"
    assert missing.json()["field"] == "X-CSRF-Token" and services.store.head() == 0

    assert api.client.get("/api/me").status_code == 200, "reads need no proof"
    assert api.client.post("/api/incidents", json=REPORT, headers={"X-CSRF-Token": proof}).status_code == 201
    assert api.client.post("/api/auth/logout").status_code == 403, "signing out is a change too"


def test_bearer_requests_need_no_csrf_proof(api: Api) -> None:
    api.client.cookies.clear()
    assert api.post("/api/incidents", "lifeguard", REPORT).status_code == 201


def test_one_sessions_proof_does_not_fit_another(api: Api) -> None:
    sign_in(api.client, "lifeguard")
    earlier = api.client.cookies["dispatch_csrf"]
    api.client.cookies.clear()
    sign_in(api.client, "lifeguard")

    answer = api.client.post("/api/incidents", json=REPORT, headers={"X-CSRF-Token": earlier})

    assert answer.status_code == 403


def test_me_gives_a_session_without_a_proof_its_proof(api: Api) -> None:
    sign_in(api.client, "operator")
    proof = api.client.cookies["dispatch_csrf"]
    del api.client.cookies["dispatch_csrf"]

    api.client.get("/api/me")

    assert api.client.cookies["dispatch_csrf"] == proof


def test_signing_out_clears_both_cookies(api: Api) -> None:
    sign_in(api.client, "operator")
    answer = api.client.post("/api/auth/logout", headers={"X-CSRF-Token": api.client.cookies["dispatch_csrf"]})

    assert answer.status_code == 204
    assert all("Max-Age=0" in header for header in set_cookies(answer).values())
    assert set(set_cookies(answer)) == {"dispatch_session", "dispatch_csrf"}


# --- changing one's password -----------------------------------------------------------------------------


def test_a_person_changes_their_password_and_their_other_sessions_end(api: Api, services: Services) -> None:
    services.accounts.add_user("demo-operator", "operator", PASSWORD, must_change_password=True)
    assert services.accounts.with_initial_passwords() == ["demo-operator"]
    other = {"Authorization": f"Bearer {sign_in(api.client, 'demo-operator').json()['token']}"}
    this = {"Authorization": f"Bearer {sign_in(api.client, 'demo-operator').json()['token']}"}

    changed = api.client.post("/api/auth/password", headers=this,
                              json={"current_password": PASSWORD, "new_password": "my own long password"})

    assert changed.status_code == 204, changed.text
    assert services.accounts.with_initial_passwords() == []
    assert api.client.get("/api/me", headers=this).status_code == 200
    assert api.client.get("/api/me", headers=other).status_code == 401
    assert sign_in(api.client, "demo-operator").status_code == 401
    assert sign_in(api.client, "demo-operator", "my own long password").status_code == 200


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"current_password": "not my password", "new_password": "my own long password"}, 401, "current_password"),
    ({"current_password": PASSWORD, "new_password": "short"}, 422, "new_password"),
    ({"current_password": PASSWORD, "new_password": PASSWORD}, 422, "new_password"),
])
def test_a_password_change_needs_the_current_password_and_a_good_new_one(
    api: Api, body: dict[str, str], status: int, field: str
) -> None:
    answer = api.client.post("/api/auth/password", headers=api.as_("operator"), json=body)
    assert answer.status_code == status and answer.json()["field"] == field
    assert sign_in(api.client, "operator").status_code == 200, "the password is unchanged"


def test_guessing_the_current_password_from_a_session_is_throttled(api: Api, services: Services) -> None:
    headers = api.as_("operator")
    for _ in range(services.settings.login_max_failures):
        api.client.post("/api/auth/password", headers=headers,
                        json={"current_password": "a guess", "new_password": "my own long password"})

    answer = api.client.post("/api/auth/password", headers=headers,
                             json={"current_password": PASSWORD, "new_password": "my own long password"})

    assert answer.status_code == 429 and "Retry-After" in answer.headers


# --- the board socket ------------------------------------------------------------------------------------


def socket_close_code(client: TestClient, url: str, headers: dict[str, str] | None = None) -> int | None:
    """None if the board opened with a snapshot, else the code the server closed it with."""
    with client.websocket_connect(url, headers=headers or {}) as socket:
        try:
            assert socket.receive_json()["type"] == "snapshot"
            return None
        except WebSocketDisconnect as closed:
            return closed.code


@pytest.mark.parametrize("role", ROLES)
def test_the_board_socket_opens_for_board_roles_only(api: Api, role: str) -> None:
    token = api.as_(role)["Authorization"].removeprefix("Bearer ")
    api.client.cookies.clear()
    by_token = socket_close_code(api.client, f"/ws/board?token={token}")
    sign_in(api.client, role)
    by_cookie = socket_close_code(api.client, "/ws/board")

    expected = None if role in {"operator", "official", "admin"} else 4403
    assert by_token == by_cookie == expected


def test_the_board_socket_refuses_no_forged_or_ended_sessions(api: Api) -> None:
    token = api.as_("operator")["Authorization"].removeprefix("Bearer ")
    api.client.post("/api/auth/logout", headers=api.as_("operator"))
    api.client.cookies.clear()

    assert socket_close_code(api.client, "/ws/board") == 4401
    assert socket_close_code(api.client, "/ws/board?token=forged") == 4401
    assert socket_close_code(api.client, f"/ws/board?token={token}") == 4401


def test_the_board_socket_refuses_a_page_of_another_site(api: Api) -> None:
    sign_in(api.client, "operator")
    assert socket_close_code(api.client, "/ws/board", {"Origin": "https://evil.example"}) == 4403
    assert socket_close_code(api.client, "/ws/board", {"Origin": "http://testserver"}) is None
    behind_a_proxy = {"Origin": "https://dispatch.example", "X-Forwarded-Host": "dispatch.example"}
    assert socket_close_code(api.client, "/ws/board", behind_a_proxy) is None


# --- no secrets in logs ----------------------------------------------------------------------------------


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Everything logged while the test runs, as the JSON lines production writes."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield sink
    root.removeHandler(handler)
    root.setLevel(previous)


def test_no_password_token_or_cookie_reaches_the_log(api: Api, json_log: io.StringIO) -> None:
    signed = sign_in(api.client, "lifeguard")
    sign_in(api.client, "lifeguard", "a wrong password")
    token, proof = signed.json()["token"], api.client.cookies["dispatch_csrf"]
    report(api, "lifeguard")
    api.client.post("/api/incidents", json=REPORT, headers={"X-CSRF-Token": proof})
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET",
                                              f"/ws/board?token={token}&after=3", "1.1", 101)
    logging.getLogger("dispatch").info("request", extra={"authorization": f"Bearer {token}"})

    text = json_log.getvalue()
    assert '"command":"ReportIncident"' in text, "the log did capture the requests"
    for secret in (PASSWORD, "a wrong password", token, proof):
        assert secret not in text
    assert "token=[redacted]&after=3" in text
