"""Sign-in under attack (SQLite and PostgreSQL): someone who knows an operator's username cannot keep the
centre from signing in, a flood of wrong passwords hashes only a few, and an unknown username costs the same
hash as a known one."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dispatch.adapters.accounts import AuthenticationFailed
from dispatch.adapters.lockout import HashSlots
from dispatch.app.services import Services
from dispatch.entrypoints.api.app import create_app
from dispatch.runtime.clock import FrozenClock
from tests.integration.test_api import PASSWORD

CENTRE = ("10.20.0.5", 50000)
ATTACKER = ("203.0.113.9", 50000)


def sign_in(client: TestClient, username: str = "operator", password: str = PASSWORD) -> Any:
    return client.post("/api/auth/login", json={"username": username, "password": password})


@pytest.fixture
def app(services: Services) -> FastAPI:
    services.accounts.add_user("operator", "operator", PASSWORD)
    return create_app(services)


@pytest.fixture
def centre(app: FastAPI) -> TestClient:
    return TestClient(app, client=CENTRE)  # one app runs its lifespan once: in the attacker's client


@pytest.fixture
def attacker(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, client=ATTACKER) as client:
        yield client


def test_an_attacker_who_knows_a_username_cannot_lock_its_operator_out(
    centre: TestClient, attacker: TestClient, services: Services
) -> None:
    answers = Counter(sign_in(attacker, password="a wrong guess").status_code for _ in range(40))
    locked = sign_in(attacker)  # even the right password, from the guesser's address

    assert answers == {401: services.settings.login_max_failures, 429: 40 - services.settings.login_max_failures}
    assert locked.status_code == 429 and locked.json()["code"] == "too_many_attempts"
    assert locked.json()["field"] == "username" and int(locked.headers["Retry-After"]) > 0
    assert sign_in(centre).status_code == 200, "the operator at the centre signs in"


def test_guessers_on_many_addresses_slow_a_username_down_but_never_lock_the_centre(
    app: FastAPI, services: Services, clock: FrozenClock
) -> None:
    settings = services.settings
    botnet = [TestClient(app, client=(f"198.51.100.{n}", 40000)) for n in range(settings.login_slowdown_after)]
    for client in botnet:
        assert sign_in(client, password="a wrong guess").status_code == 401

    again = sign_in(botnet[0], password="another guess")
    centre_answer = sign_in(TestClient(app, client=CENTRE))
    clock.advance(timedelta(seconds=settings.login_slowdown_seconds))
    later = sign_in(botnet[0], password="another guess")

    assert again.status_code == 429 and again.json()["field"] == "username"
    assert int(again.headers["Retry-After"]) == settings.login_slowdown_seconds
    assert centre_answer.status_code == 200, "an address that has not just failed is answered at once"
    assert later.status_code == 401, "slowed down, not locked"


def test_a_lockout_never_ends_or_refuses_a_session_that_exists(
    centre: TestClient, attacker: TestClient, services: Services
) -> None:
    token = sign_in(centre).json()["token"]
    for client in (attacker, centre):
        for _ in range(services.settings.login_max_failures + 1):
            sign_in(client, password="a wrong guess")

    me = centre.get("/api/me", headers={"Authorization": f"Bearer {token}"})

    assert sign_in(centre).status_code == 429, "the centre's own address did lock itself"
    assert me.status_code == 200, "the signed-in operator stays signed in"


def test_forty_wrong_sign_ins_at_once_hash_only_the_failure_budget(attacker: TestClient, services: Services) -> None:
    before = services.accounts.password_checks
    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(lambda _: sign_in(attacker, password="a wrong guess"), range(40)))
    hashed = services.accounts.password_checks - before

    statuses = Counter(answer.status_code for answer in answers)
    assert set(statuses) <= {401, 429} and sum(statuses.values()) == 40
    # Each try is counted before its hash, one after another: only the first login_max_failures get to hash.
    assert 1 <= hashed <= services.settings.login_max_failures
    assert statuses[401] == hashed


def test_an_unknown_or_deactivated_username_costs_the_same_hash_as_a_known_one(
    centre: TestClient, services: Services
) -> None:
    services.accounts.add_user("retired", "operator", PASSWORD)
    services.accounts.deactivate("retired")
    work = {}
    for name in ("operator", "nobody-by-this-name", "retired"):
        before = services.accounts.password_checks
        answer = sign_in(centre, name, password="a wrong guess" if name == "operator" else PASSWORD)
        work[name] = (answer.status_code, answer.json()["code"], answer.json()["field"],
                      services.accounts.password_checks - before)

    assert set(work.values()) == {(401, "authentication_failed", "password", 1)}, work
    with pytest.raises(AuthenticationFailed):
        services.accounts.login("nobody-by-this-name", PASSWORD)


def test_a_sign_in_that_finds_no_free_hash_slot_answers_429_and_is_not_counted(
    app: FastAPI, attacker: TestClient, services: Services
) -> None:
    app.state.hash_slots = HashSlots(0, 0.01)  # every slot taken by someone else
    before = services.accounts.password_checks
    busy = [sign_in(attacker, password="a wrong guess") for _ in range(services.settings.login_max_failures + 2)]
    app.state.hash_slots = HashSlots(1, 1)

    assert {(answer.status_code, answer.json()["code"]) for answer in busy} == {(429, "too_many_attempts")}
    assert all(int(answer.headers["Retry-After"]) >= 1 for answer in busy)
    assert services.accounts.password_checks == before, "no password was hashed"
    assert sign_in(attacker).status_code == 200, "the tries that never hashed did not count towards a lock"


def test_the_per_address_budget_spans_usernames(services: Services) -> None:
    strict = dataclasses.replace(services, settings=services.settings.model_copy(
        update={"login_max_failures_per_ip": 4}))
    strict.accounts.add_user("somchai", "operator", PASSWORD)
    app = create_app(strict)
    with TestClient(app, client=ATTACKER) as sprayer:
        for name in ("a", "b", "c", "d"):
            assert sign_in(sprayer, name, "guess guess").status_code == 401
        locked = sign_in(sprayer, "somchai")

        assert locked.status_code == 429 and locked.json()["field"] == "client"
        assert sign_in(TestClient(app, client=CENTRE), "somchai").status_code == 200
