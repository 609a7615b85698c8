"""The OpenAPI document is one a client generator can use: valid (openapi-spec-validator), readable operationIds,
a named model for every JSON answer that real answers match field for field, only the errors each route can
give (as problems), both sign-in schemes, an example for every command that really runs, and a typed client
generated from it (openapi-python-client) that calls the API. In-process, SQLite."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import Engine

from dispatch.adapters.migrations.runner import upgrade
from dispatch.app.services import Services
from dispatch.entrypoints.api.app import create_app
from dispatch.entrypoints.api.openapi import EXAMPLES
from dispatch.entrypoints.api.problems import PROBLEM_JSON
from dispatch.projections import all_projections
from dispatch.projections.runner import Projector
from tests.integration.test_api import PASSWORD, ROLES
from tests.servers import sqlite_engine

PROBLEM = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemOut"}}}
# The commands in EXAMPLES' order, with who sends them and where (the story's incident is {id}).
STORY = [("registerResource", "operator", "/api/resources"), ("reportIncident", "lifeguard", "/api/incidents"),
         ("triageIncident", "operator", "/api/incidents/{id}/triage"),
         ("dispatchResource", "operator", "/api/incidents/{id}/dispatch"),
         ("recordMilestone", "lifeguard", "/api/incidents/{id}/milestones"),
         ("requestReferral", "operator", "/api/incidents/{id}/referral"),
         ("addNote", "lifeguard", "/api/incidents/{id}/notes")]
READS = [("operator", "/api/incidents"), ("operator", "/api/incidents/{id}"), ("operator", "/api/board"),
         ("operator", "/api/board?as_of=3"), ("operator", "/api/resources"), ("operator", "/api/resources/KY-BOAT-9"),
         ("operator", "/api/referrals"), ("operator", "/api/places"), ("lifeguard", "/api/vocabulary"),
         ("operator", "/api/referrals"), ("operator", "/api/places"), ("lifeguard", "/api/languages"),
         ("operator", "/api/incidents/{id}/recommendations"), ("official", "/api/audit/incidents/{id}"),
         ("official", "/api/audit/verify"), ("official", "/api/events"), ("official", "/api/reports/response-times"),
         ("official", "/api/reports/summary"), ("official", "/api/reports/incidents.geojson"),
         ("official", "/api/me"), ("operator", "/api/incidents/{id}/vessels"),

         ("operator", "/api/deliveries"), ("operator", "/api/board/notices"),
         ("operator", "/api/alerts"), ("operator", "/api/external-alerts"), ("lifeguard", "/api/me/notices")]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """SQLite only (this overrides the both-databases fixture): the document does not depend on the database."""
    built = sqlite_engine(tmp_path)
    upgrade(built)
    yield built
    built.dispose()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    for role in ROLES:
        services.accounts.add_user(role, role, PASSWORD, resource_id="KY-BOAT-9" if role == "lifeguard" else None)
    with TestClient(create_app(services)) as client:
        yield client


@pytest.fixture
def spec(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def signed_in(client: TestClient, role: str) -> dict[str, str]:
    answer = client.post("/api/auth/login", json={"username": role, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_the_document_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)


def test_operation_ids_are_camel_case_names_and_unique(spec: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _method, _path, operation in operations(spec)]
    assert len(ids) == len(set(ids))
    assert [name for name in ids if not re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", name)] == []
    assert {"reportIncident", "triageIncident", "getBoard", "getIncident"} <= set(ids)


def test_every_json_answer_has_a_named_model(spec: dict[str, Any]) -> None:
    untyped = [(method, path, status, media) for method, path, operation in operations(spec)
               for status, answer in operation["responses"].items() if status.startswith("2")
               for media, content in answer.get("content", {}).items()
               if "json" in media and "$ref" not in content.get("schema", {}) and path.startswith("/api/")]
    assert untyped == []


def test_every_error_is_documented_as_a_problem_where_it_can_occur(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        responses, where = operation["responses"], (method, path)
        errors = {int(status) for status in responses if status >= "400"}
        assert all(responses[str(status)]["content"] == PROBLEM for status in errors), where
        # Only where an id or a person is looked up, or a published file may not exist yet (the first checkpoint).
        looked_up = "_id}" in path or "{username}" in path or path.startswith("/api/log/checkpoints")
        assert (404 in errors) <= looked_up, where
        assert (409 in errors) <= (method in ("post", "patch")), where  # only commands
        assert (401 in errors) == ("security" in operation or path == "/api/auth/login"), where
        assert ({413, 415} <= errors) == ("requestBody" in operation), where
        assert (503 in errors) == path.startswith("/api/"), where
    board = spec["paths"]["/api/board"]["get"]["responses"]
    assert set(board) == {"200", "401", "403", "422", "503"}  # not 404, 409 or 413 where none can happen
    assert set(spec["paths"]["/api/me"]["get"]["responses"]) == {"200", "401", "503"}  # any role: no 403


def test_every_route_behind_a_sign_in_takes_the_bearer_token_or_the_session_cookie(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer"
    assert (schemes["sessionCookie"]["in"], schemes["sessionCookie"]["name"]) == ("cookie", "dispatch_session")
    for method, path, operation in operations(spec):
        if path.startswith("/api/") and path != "/api/auth/login":
            cookie = {"sessionCookie": []} | ({} if method == "get" else {"csrfToken": []})
            assert operation["security"] == [{"bearer": []}, cookie], (method, path)


def test_every_command_has_an_example_and_the_examples_run_as_a_story(client: TestClient, spec: dict[str, Any],
                                                                    services: Services) -> None:
    for _method, path, operation in operations(spec):
        if "requestBody" in operation:
            assert operation["requestBody"]["content"]["application/json"]["example"] == EXAMPLES[
                operation["operationId"]], path
    incident = ""
    for name, role, path in STORY:
        answer = client.post(path.format(id=incident), json=EXAMPLES[name], headers=signed_in(client, role))
        assert answer.status_code in (200, 201), (name, answer.text)
        incident = incident or (answer.json()["id"] if name == "reportIncident" else "")
    close = client.post(f"/api/incidents/{incident}/close", json=EXAMPLES["closeIncident"],
                        headers=signed_in(client, "operator"))
    assert close.status_code == 200, close.text


def test_real_answers_match_their_documented_models_field_for_field(
    client: TestClient, spec: dict[str, Any], services: Services
) -> None:
    incident = ""
    for name, role, path in STORY:
        answer = client.post(path.format(id=incident), json=EXAMPLES[name], headers=signed_in(client, role))
        incident = incident or (answer.json()["id"] if name == "reportIncident" else "")
    spare = EXAMPLES["registerResource"] | {"id": "KY-BOAT-10"}  # an available boat to recommend
    assert client.post("/api/resources", json=spare, headers=signed_in(client, "operator")).status_code == 201
    Projector(services.store, all_projections()).catch_up_all()
    registry: Registry[Any] = Registry().with_resource("urn:spec", Resource(contents=spec, specification=DRAFT202012))
    for role, url in READS:
        answer = client.get(url.format(id=incident), headers=signed_in(client, role))
        assert answer.status_code == 200, (url, answer.text)
        path = url.split("?")[0].replace("{id}", "{incident_id}").replace("KY-BOAT-9", "{resource_id}")
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]
        schema = content.get("application/json", content.get("application/geo+json"))["schema"]
        validator = Draft202012Validator({"$ref": "urn:spec" + schema["$ref"]}, registry=registry)
        errors = [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(answer.json())]
        assert errors == [], (url, errors[:5])


@pytest.mark.slow
def test_a_typed_client_generated_from_the_document_calls_the_api(
    client: TestClient, spec: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = tmp_path / "openapi.json"
    document.write_bytes(orjson.dumps(spec))
    tools = str(Path(sys.executable).parent)  # ruff, which the generator runs on what it writes
    generated = subprocess.run(
        [os.path.join(tools, "openapi-python-client"), "generate", "--path", str(document), "--output-path",
         str(tmp_path / "dispatch_client"), "--meta", "none", "--fail-on-warning"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PATH": f"{tools}:{os.environ['PATH']}"})
    assert generated.returncode == 0 and "Warning" not in generated.stdout, generated.stdout + generated.stderr
    monkeypatch.syspath_prepend(str(tmp_path))

    generated_client = importlib.import_module("dispatch_client")
    login = importlib.import_module("dispatch_client.api.people.login")
    get_board = importlib.import_module("dispatch_client.api.board.get_board")
    get_incident = importlib.import_module("dispatch_client.api.incidents.get_incident")
    models = importlib.import_module("dispatch_client.models")

    anonymous = generated_client.Client(base_url="http://testserver")
    anonymous.set_httpx_client(client)
    session = login.sync(client=anonymous, body=models.LoginIn(username="operator", password=PASSWORD))
    assert isinstance(session, models.SessionOut) and session.user.role == "operator"

    signed = generated_client.AuthenticatedClient(base_url="http://testserver", token=session.token)
    signed.set_httpx_client(TestClient(client.app, headers={"Authorization": f"Bearer {session.token}"}))
    board = get_board.sync(client=signed)
    assert isinstance(board, models.BoardOut) and board.incidents == []
    missing = get_incident.sync_detailed(incident_id="nope", client=signed)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.ProblemOut) and missing.parsed.code == "incident_not_found"
