"""Every error answer is an RFC 9457 problem (application/problem+json) with the rule's code and the field at fault,
whoever refuses: a rule, validation, sign-in and roles, the framework, the body limits or a crash (SQLite and
PostgreSQL). The pages can say each code in Thai and English."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from dispatch.app.services import Services
from dispatch.domain.errors import (
    ConcurrencyConflict,
    DispatchError,
    FacilityNotFound,
    IncidentNotFound,
    InvalidTime,
    ResourceAlreadyOnIncident,
)
from dispatch.entrypoints.api import problems as problem_table
from dispatch.entrypoints.api.app import create_app
from dispatch.entrypoints.api.problems import PROBLEM_JSON, every_code, status_of, title_of
from dispatch.entrypoints.api.schemas import ProblemOut
from dispatch.projections import queries
from tests.integration import test_api
from tests.integration.test_api import REPORT, Api, report

api = test_api.api  # the fixture: one account per role, a TestClient over the app
I18N = Path(__file__).resolve().parents[2] / "ui" / "js" / "i18n.js"
Case = Callable[[Api], httpx.Response]


def closed_incident_dispatch(api: Api) -> httpx.Response:
    incident = report(api)
    api.post(f"/api/incidents/{incident}/close", "operator", {"outcome": "false_alarm"})
    return api.post(f"/api/incidents/{incident}/dispatch", "operator", {"resource_id": "KL-BOAT-1"})


def stale_triage(api: Api) -> httpx.Response:
    incident = report(api)
    return api.post(f"/api/incidents/{incident}/triage", "operator",
                    {"stage": "dispatch", "code": "yellow", "expected_version": 0})


CASES: dict[str, tuple[Case, int, str, str | None]] = {
    "no sign-in": (lambda api: api.client.get("/api/board"), 401, "authentication_failed", "Authorization"),
    "role": (lambda api: api.get("/api/board", "lifeguard"), 403, "not_permitted", None),
    "unknown id": (lambda api: api.get("/api/incidents/nope", "operator"), 404, "incident_not_found", "incident_id"),
    "unknown path": (lambda api: api.client.get("/api/nothing-here"), 404, "not_found", None),
    "wrong method": (lambda api: api.client.delete("/api/incidents"), 405, "method_not_allowed", None),
    "rule": (closed_incident_dispatch, 409, "incident_closed", "incident_id"),
    "conflict": (stale_triage, 409, "concurrency_conflict", "expected_version"),
    "invalid field": (lambda api: api.post("/api/incidents", "lifeguard", REPORT | {"patients": 0}), 422,
                      "invalid_input", "patients"),
    "broken json": (lambda api: api.client.post("/api/incidents", content=b"{not json", headers=api.as_(
        "lifeguard") | {"Content-Type": "application/json"}), 422, "invalid_input", None),
    "too large": (lambda api: api.post("/api/incidents", "lifeguard", REPORT | {"description": "x" * 100_000}),
                  413, "payload_too_large", None),
    "not json": (lambda api: api.client.post("/api/incidents", content=b"source=beach", headers=api.as_(
        "lifeguard") | {"Content-Type": "application/x-www-form-urlencoded"}), 415, "unsupported_media_type",
                 "Content-Type"),
}


def assert_problem(answer: httpx.Response, status: int, code: str, field: str | None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = answer.json()
    ProblemOut.model_validate(body)
    assert (body["type"], body["title"], body["status"], body["code"], body["field"]) == (
        f"/problems/{code}", title_of(code), status, code, field)
    assert body["instance"] == answer.request.url.path and body["detail"]
    return body


@pytest.mark.parametrize("case", CASES)
def test_every_kind_of_refusal_answers_a_problem_with_its_code_and_field(api: Api, case: str) -> None:
    make, status, code, field = CASES[case]
    assert_problem(make(api), status, code, field)


def test_invalid_input_names_every_invalid_field_in_errors(api: Api) -> None:
    answer = api.post("/api/incidents", "lifeguard", REPORT | {"patients": 0, "triage": "purple"})

    body = assert_problem(answer, 422, "invalid_input", "triage")
    assert {error["field"] for error in body["errors"]} == {"body.patients", "body.triage"}
    assert all(error["detail"] for error in body["errors"])


def test_a_conflict_names_the_current_version_and_a_sign_in_failure_the_scheme(api: Api) -> None:
    assert stale_triage(api).json()["current_version"] == 1
    api.client.cookies.clear()  # signing in set the session cookie
    assert api.client.get("/api/board").headers["WWW-Authenticate"] == "Bearer"


def test_a_crash_answers_a_500_problem_that_tells_nothing_of_the_failure(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> dict[str, Any]:
        raise RuntimeError("patient Somchai, 34, unconscious")  # must not reach the client

    monkeypatch.setattr(queries, "current_board", broken)
    services.accounts.add_user("operator", "operator", test_api.PASSWORD)
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        token = client.post("/api/auth/login", json={"username": "operator", "password": test_api.PASSWORD})
        answer = client.get("/api/board", headers={"Authorization": f"Bearer {token.json()['token']}"})

    assert_problem(answer, 500, "internal_error", None)
    assert "Somchai" not in answer.text and "RuntimeError" not in answer.text


def test_each_rule_gets_its_status_at_the_api_edge_and_not_from_the_rule_itself() -> None:
    assert [status_of(rule) for rule in (IncidentNotFound, FacilityNotFound, InvalidTime, ResourceAlreadyOnIncident,
                                         ConcurrencyConflict, DispatchError)] == [404, 422, 422, 409, 409, 409]
    rules: list[type[DispatchError]] = [DispatchError]
    for rule in rules:
        rules.extend(rule.__subclasses__())
        assert "status" not in vars(rule), f"{rule.__name__} sets a status: map it in {problem_table.__name__}.STATUS"
    assert set(every_code().values()) <= set(range(400, 600))


def test_the_pages_can_say_every_error_code_in_thai_and_english() -> None:
    source = I18N.read_text(encoding="utf-8")
    block = source[source.index("const PROBLEMS = {"):]
    block = block[:block.index("\n};")]
    entries = dict(re.findall(r'^  (\w+): \{ th: "([^"]+)", en: "[^"]+" \},$', block, flags=re.M))
    lines = [line for line in block.splitlines()[1:] if line.strip()]
    assert len(entries) == len(lines), "every line of PROBLEMS is `code: { th: ..., en: ... },`"
    assert set(every_code()) | {"http_error", "network"} <= set(entries)


def test_a_problem_type_can_be_followed_to_what_it_means(api: Api) -> None:
    body = assert_problem(api.get("/api/incidents/nope", "operator"), 404, "incident_not_found", "incident_id")

    page = api.client.get(body["type"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    assert page.text.startswith("Incident not found") and "404" in page.text
    assert_problem(api.client.get("/problems/no_such_code"), 404, "not_found", "code")
