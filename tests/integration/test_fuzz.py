"""Bad input from schemathesis: every operation of the OpenAPI spec, as every role, with valid and invalid
requests generated from the spec, their strings free to hold NUL and every other control character. No answer
is a 5xx, every answer is one the spec documents (its status, type and shape), and a refused request appends
nothing to the log. In-process over ASGI, on SQLite and on PostgreSQL (which, unlike SQLite, refuses a NUL in
any text: one that got through would answer 500 there)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dispatch.app.services import Services
from dispatch.entrypoints.api.app import create_app
from tests.integration.test_api import PASSWORD, REPORT, ROLES

pytestmark = pytest.mark.slow
# Examples per operation, role and mode: about 2,200 requests, under a minute in all.
EXAMPLES = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def app(services: Services) -> Iterator[FastAPI]:
    # The fuzzer's many wrong passwords must not lock the accounts it signs in with.
    relaxed = dataclasses.replace(services, settings=services.settings.model_copy(
        update={"login_max_failures": 100_000, "login_max_failures_per_ip": 100_000}))
    for role in ROLES:
        relaxed.accounts.add_user(role, role, PASSWORD, resource_id="KL-TEAM-1" if role == "lifeguard" else None)
    built = create_app(relaxed)
    with TestClient(built) as client:  # runs the lifespan; the fuzzer calls the app itself
        token = client.post("/api/auth/login", json={"username": "operator", "password": PASSWORD}).json()["token"]
        client.post("/api/incidents", json=REPORT, headers={"Authorization": f"Bearer {token}"})
        yield built


def operations(app: FastAPI) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # Said outright, though they are the defaults: strings may hold NUL (allow_x00) and any other character
    # UTF-8 can carry, control characters included.
    schema.config.generation.update(allow_x00=True, codec="utf-8")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("role", [*ROLES, None], ids=[*ROLES, "anonymous"])
def test_no_generated_request_gets_a_5xx_or_an_undocumented_answer(
    app: FastAPI, services: Services, role: str | None
) -> None:
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for operation in operations(app):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(operation, mode, services, role, app, statuses)
            except Unsatisfiable:
                pass  # no invalid request exists for an operation without parameters
            except (Exception, BaseExceptionGroup) as exc:  # collect them all: one run shows every misbehaving one
                failures.append(f"{operation.label} [{mode.value}]: {type(exc).__name__}: {exc}"[:2000])
    assert failures == [], "\n\n".join(failures)
    print(f"{role or 'anonymous'}: answers by status {sorted(statuses.items())}")
    assert {401, 422} <= set(statuses) and (role is None or statuses[200] + statuses[201] > 0)


def fuzz(operation: Any, mode: GenerationMode, services: Services, role: str | None, app: FastAPI,
         statuses: Counter[int]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode), seed=st.just(0))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case: Any, seed: int) -> None:
        # A fresh session each time: a generated sign-out or password change must not end the next example's.
        headers = {"Authorization": f"Bearer {sign_in(app, role)}"} if role else {}
        head = services.store.head()
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses[response.status_code] += 1
        if response.status_code >= 400:
            assert services.store.head() == head, f"{response.status_code} yet the log grew: {case.as_curl_command()}"

    run()


def sign_in(app: FastAPI, role: str) -> str:
    with TestClient(app) as client:
        return str(client.post("/api/auth/login", json={"username": role, "password": PASSWORD}).json()["token"])
