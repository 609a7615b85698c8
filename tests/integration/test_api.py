"""The HTTP contract: every route, every error class, roles, idempotent retries (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dispatch.adapters.database import make_engine
from dispatch.adapters.eventlog.sql import open_event_store
from dispatch.app.services import Services
from dispatch.domain.text import IDEMPOTENCY_KEY_MAX_LENGTH
from dispatch.entrypoints.api.app import create_app
from dispatch.runtime.clock import FrozenClock
from tests.builders import KHAO_LAK, T0

PASSWORD = "correct horse battery"
ROLES = ("lifeguard", "operator", "official", "admin")
KHAO_LAK_JSON = {"lat": KHAO_LAK.lat, "lon": KHAO_LAK.lon}
REPORT: dict[str, Any] = {"source": "beach", "site_id": "beach_nang_thong", "triage": "red",
                          "category": "drowning", "patients": 1, "description": "swimmer pulled from rip current"}


class Api:
    """A test client that signs in as a role and keeps its token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    def as_(self, role: str) -> dict[str, str]:
        if role not in self.tokens:
            answer = self.client.post("/api/auth/login", json={"username": role, "password": PASSWORD})
            assert answer.status_code == 200, answer.text
            self.tokens[role] = answer.json()["token"]
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def post(self, path: str, role: str, body: dict[str, Any], key: str | None = None) -> Any:
        headers = self.as_(role) | ({"Idempotency-Key": key} if key else {})
        return self.client.post(path, json=body, headers=headers)

    def get(self, path: str, role: str) -> Any:
        return self.client.get(path, headers=self.as_(role))


@pytest.fixture
def api(services: Services) -> Iterator[Api]:
    for role in ROLES:
        services.accounts.add_user(role, role, PASSWORD, resource_id="KL-TEAM-1" if role == "lifeguard" else None)
    with TestClient(create_app(services)) as client:
        yield Api(client)


def report(api: Api, role: str = "lifeguard", **overrides: Any) -> str:
    answer = api.post("/api/incidents", role, REPORT | overrides)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def register(api: Api, resource_id: str = "KL-BOAT-1", kind: str = "boat", **extra: Any) -> None:
    body = {"id": resource_id, "kind": kind, "name": f"{resource_id} demo", "home_site_id": "pier_thap_lamu"}
    body |= {"speed_knots": 25} if kind == "boat" else {}
    answer = api.post("/api/resources", "operator", body | extra)
    assert answer.status_code == 201, answer.text


# --- reporting ---------------------------------------------------------------------------------------


def test_a_report_answers_201_with_its_id_and_log_position(api: Api) -> None:
    answer = api.post("/api/incidents", "lifeguard", REPORT)

    assert answer.status_code == 201
    body = answer.json()
    assert body["position"] == 1 and body["events"][0]["type"] == "IncidentReported" and not body["replayed"]


def test_the_incident_shows_its_state_and_a_timeline_with_server_and_device_time(
    api: Api, clock: FrozenClock
) -> None:
    device = (T0 - timedelta(seconds=40)).isoformat()
    incident_id = report(api, device_time=device)

    view = api.get(f"/api/incidents/{incident_id}", "official").json()

    assert view["zone"] == "khao_lak_coast" and view["triage"] == {"dispatch": "red", "scene": None}
    entry = view["timeline"][0]
    assert (entry["type"], entry["actor_id"], entry["role"]) == ("IncidentReported", "lifeguard", "lifeguard")
    assert entry["recorded_at"].startswith("2026-03-14T07:00:00") and entry["device_at"].startswith(
        "2026-03-14T06:59:20")


def test_the_same_idempotency_key_returns_the_first_answer_and_appends_nothing(api: Api) -> None:
    first = api.post("/api/incidents", "lifeguard", REPORT, key="phone-7f3a")
    again = api.post("/api/incidents", "lifeguard", REPORT, key="phone-7f3a")

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.json()["position"] == first.json()["position"]
    assert again.json()["replayed"] and again.headers["Idempotent-Replayed"] == "true"
    assert api.get("/api/events", "official").json()["head"] == 1


def test_a_key_reused_for_a_different_report_is_refused(api: Api) -> None:
    api.post("/api/incidents", "lifeguard", REPORT, key="phone-7f3a")

    answer = api.post("/api/incidents", "lifeguard", REPORT | {"patients": 3}, key="phone-7f3a")

    assert answer.status_code == 422 and answer.json()["code"] == "idempotency_key_reused"


def test_two_people_may_use_the_same_key_without_clashing(api: Api) -> None:
    mine = api.post("/api/incidents", "lifeguard", REPORT, key="k1").json()
    theirs = api.post("/api/incidents", "operator", REPORT, key="k1").json()

    assert mine["id"] != theirs["id"] and not theirs["replayed"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"position": {"lat": 91, "lon": 98.2}}, "position.lat"),
        ({"position": {"lat": 8.6, "lon": -181}}, "position.lon"),
        ({"patients": 0}, "patients"),
        ({"patients": 100000}, "patients"),
        ({"triage": "purple"}, "triage"),
        ({"description": "x" * 1001}, "description"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
        ({"site_id": "atlantis"}, "site_id"),
        ({"site_id": None}, "position"),
        ({"device_time": "2026-03-14T09:00:00+00:00"}, "device_time"),
    ],
    ids=["lat", "lon", "no-patients", "too-many", "colour", "long-text", "unknown-field", "unknown-site",
         "no-place", "future-device-time"],
)
def test_bad_reports_get_a_422_naming_the_field_and_append_nothing(
    api: Api, change: dict[str, Any], field: str
) -> None:
    answer = api.post("/api/incidents", "lifeguard", REPORT | change)

    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field and answer.json()["detail"]
    assert api.get("/api/events", "official").json()["head"] == 0


def test_an_oversized_body_is_refused_with_413_and_appends_nothing(api: Api, services: Services) -> None:
    huge = REPORT | {"description": "x" * (services.settings.max_body_bytes + 10)}
    answer = api.client.post("/api/incidents", json=huge, headers=api.as_("lifeguard"))
    assert answer.status_code == 413 and answer.json()["code"] == "payload_too_large"
    assert services.store.head() == 0


def test_broken_json_is_a_422_not_a_crash(api: Api) -> None:
    answer = api.client.post("/api/incidents", content=b"{not json", headers=api.as_("lifeguard") | {
        "Content-Type": "application/json"})
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_input"


# --- the incident's life -------------------------------------------------------------------------------


def test_operator_triages_dispatches_records_milestones_and_closes(api: Api, clock: FrozenClock) -> None:
    incident_id = report(api)
    register(api)
    base = f"/api/incidents/{incident_id}"

    assert api.post(f"{base}/triage", "operator", {"stage": "scene", "code": "yellow"}).status_code == 200
    assert api.post(f"{base}/dispatch", "operator", {"resource_id": "KL-BOAT-1"}).status_code == 200
    clock.advance(timedelta(minutes=4))
    assert api.post(f"{base}/milestones", "operator", {"resource_id": "KL-BOAT-1", "milestone": "en_route"}
                    ).status_code == 200
    assert api.post(f"{base}/notes", "operator", {"text": "CPR in progress"}).status_code == 200
    closed = api.post(f"{base}/close", "operator", {"outcome": "transferred"})

    assert closed.status_code == 200
    view = api.get(base, "operator").json()
    assert view["triage"] == {"dispatch": "red", "scene": "yellow"} and view["outcome"] == "transferred"
    assert view["assignments"][0]["milestones"]["en_route"].startswith("2026-03-14T07:04")
    assert api.get("/api/resources/KL-BOAT-1", "operator").json()["status"] == "available"


def test_dispatching_a_boat_already_on_another_incident_is_a_409_naming_the_rule(api: Api) -> None:
    first, second = report(api), report(api)
    register(api)
    api.post(f"/api/incidents/{first}/dispatch", "operator", {"resource_id": "KL-BOAT-1"})

    answer = api.post(f"/api/incidents/{second}/dispatch", "operator", {"resource_id": "KL-BOAT-1"})

    assert answer.status_code == 409
    assert answer.json()["code"] == "resource_unavailable" and answer.json()["field"] == "resource_id"
    assert first in answer.json()["detail"]


def test_a_stale_expected_version_is_a_409_with_the_current_version(api: Api) -> None:
    incident_id = report(api)
    api.post(f"/api/incidents/{incident_id}/notes", "operator", {"text": "first"})

    answer = api.post(f"/api/incidents/{incident_id}/triage", "operator",
                      {"stage": "dispatch", "code": "yellow", "expected_version": 1})

    assert answer.status_code == 409
    assert answer.json()["code"] == "concurrency_conflict" and answer.json()["current_version"] == 2


def test_commands_on_unknown_ids_are_404(api: Api) -> None:
    assert api.get("/api/incidents/nope", "operator").status_code == 404
    answer = api.post("/api/incidents/nope/notes", "operator", {"text": "x"})
    assert answer.status_code == 404 and answer.json()["code"] == "incident_not_found"
    assert api.get("/api/resources/nope", "operator").status_code == 404


def test_a_closed_incident_takes_no_more_commands(api: Api) -> None:
    incident_id = report(api)
    api.post(f"/api/incidents/{incident_id}/close", "operator", {"outcome": "false_alarm"})

    answer = api.post(f"/api/incidents/{incident_id}/notes", "operator", {"text": "late note"})

    assert answer.status_code == 409 and answer.json()["code"] == "incident_closed"


def test_a_koh_yao_referral_answers_with_its_80_minute_deadline(api: Api) -> None:
    incident_id = report(api, source="clinic", site_id="hu_phru_nai", category="trauma")

    answer = api.post(f"/api/incidents/{incident_id}/referral", "operator", {"facility_id": "hosp_vachira_phuket"})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["guarantee_minutes"] == 80
    assert body["deadline_at"].startswith("2026-03-14T08:20") and body["warning_at"].startswith("2026-03-14T08:00")


def test_a_referral_needs_a_real_facility(api: Api) -> None:
    incident_id = report(api)
    empty = api.post(f"/api/incidents/{incident_id}/referral", "operator", {"facility_id": ""})
    beach = api.post(f"/api/incidents/{incident_id}/referral", "operator", {"facility_id": "beach_nang_thong"})

    assert empty.status_code == 422 and empty.json()["code"] == "referral_needs_destination"
    assert beach.status_code == 422 and beach.json()["code"] == "facility_not_found"


def test_a_lifeguard_adds_notes_to_their_own_report_but_not_to_others(api: Api) -> None:
    mine = report(api, "lifeguard")
    theirs = report(api, "operator")

    assert api.post(f"/api/incidents/{mine}/notes", "lifeguard", {"text": "patient conscious"}).status_code == 200
    refused = api.post(f"/api/incidents/{theirs}/notes", "lifeguard", {"text": "hello"})
    assert refused.status_code == 403 and refused.json()["code"] == "not_on_incident"


def test_resources_register_change_status_and_position(api: Api) -> None:
    register(api, "KY-BOAT-1")

    moved = api.client.patch("/api/resources/KY-BOAT-1", headers=api.as_("operator"),
                             json={"status": "out_of_service", "position": KHAO_LAK_JSON, "reason": "engine"})

    assert moved.status_code == 200 and [e["type"] for e in moved.json()["events"]] == [
        "ResourcePositionReported", "ResourceStatusChanged"]
    state = api.get("/api/resources/KY-BOAT-1", "official").json()
    assert state["status"] == "out_of_service" and state["position"] == KHAO_LAK_JSON
    assert api.post("/api/resources", "operator", {"id": "X", "kind": "boat", "name": "no speed"}
                    ).json()["field"] == "speed_knots"


# --- reading ---------------------------------------------------------------------------------------


def test_the_raw_log_pages_after_a_position(api: Api) -> None:
    for _ in range(3):
        report(api)

    page = api.get("/api/events?after=1&limit=1", "official").json()

    assert [e["position"] for e in page["events"]] == [2] and page["next_after"] == 2 and page["head"] == 3
    assert page["events"][0]["meta"]["actor_id"] == "lifeguard" and len(page["events"][0]["hash"]) == 64


def test_places_list_sites_facilities_and_zones(api: Api) -> None:
    body = api.get("/api/places", "lifeguard").json()
    ids = {place["id"] for place in body["places"]}
    assert {"hosp_vachira_phuket", "hu_phru_nai", "pier_bang_rong"} <= ids
    assert {zone["zone"] for zone in body["zones"]} >= {"similan", "surin", "koh_yao", "khao_lak_coast"}


def test_the_pages_are_given_the_codes_and_limits_the_server_holds_requests_to(api: Api) -> None:
    vocabulary = api.get("/api/vocabulary", "lifeguard")
    assert vocabulary.headers["cache-control"] == "no-store"
    codes, limits = vocabulary.json()["codes"], vocabulary.json()["limits"]
    incident_id = report(api, "operator", patients=limits["patients"], description="x" * limits["description_length"])
    register(api, "KL-BOAT-9")
    dispatched = api.post(f"/api/incidents/{incident_id}/dispatch", "operator", {"resource_id": "KL-BOAT-9"})
    assert dispatched.status_code == 200
    for milestone in codes["recordable_milestone"]:
        answer = api.post(f"/api/incidents/{incident_id}/milestones", "operator",
                          {"resource_id": "KL-BOAT-9", "milestone": milestone})
        assert answer.status_code != 422, answer.text  # a step may be out of order (409), never unknown
    note = {"text": "x" * limits["note_length"]}
    assert api.post(f"/api/incidents/{incident_id}/notes", "operator", note).status_code == 200

    too_many = api.post("/api/incidents", "operator", REPORT | {"patients": limits["patients"] + 1})
    wordy = "x" * (limits["description_length"] + 1)
    too_wordy = api.post("/api/incidents", "operator", REPORT | {"description": wordy})
    too_long = api.post(f"/api/incidents/{incident_id}/notes", "operator", {"text": "x" * (limits["note_length"] + 1)})
    assert (too_many.status_code, too_many.json()["field"]) == (422, "patients")
    assert (too_wordy.status_code, too_wordy.json()["field"]) == (422, "description")
    assert (too_long.status_code, too_long.json()["field"]) == (422, "text")


# --- people ---------------------------------------------------------------------------------------


def test_no_credentials_is_401_and_a_bad_password_is_401(api: Api) -> None:
    assert api.client.post("/api/incidents", json=REPORT).status_code == 401
    wrong = api.client.post("/api/auth/login", json={"username": "operator", "password": "guess-guess-guess"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "authentication_failed"


def test_me_names_the_signed_in_person_and_logout_ends_the_session(api: Api) -> None:
    headers = api.as_("lifeguard")
    assert api.client.get("/api/me", headers=headers).json() == {
        "id": "lifeguard", "role": "lifeguard", "display_name": "lifeguard", "resource_id": "KL-TEAM-1"}

    assert api.client.post("/api/auth/logout", headers=headers).status_code == 204
    assert api.client.get("/api/me", headers=headers).status_code == 401


def test_a_session_expires_after_its_shift(api: Api, clock: FrozenClock, services: Services) -> None:
    headers = api.as_("operator")
    clock.advance(timedelta(hours=services.settings.session_hours, seconds=1))
    assert api.client.get("/api/me", headers=headers).status_code == 401


def test_admins_add_people_and_nobody_else_can(api: Api) -> None:
    person = {"username": "somchai", "role": "lifeguard", "password": "a long enough password"}
    assert api.post("/api/users", "operator", person).status_code == 403
    assert api.post("/api/users", "admin", person).status_code == 201
    assert api.client.post("/api/auth/login", json={"username": "somchai", "password": person["password"]}
                           ).status_code == 200


# Who may call what (DESIGN.md §6). A route a role may not use answers 403 before anything else.
# EVERY route of the OpenAPI spec is here (test_the_role_matrix_covers_every_route fails on a new one).
EVERYONE = {"lifeguard", "operator", "official", "admin"}
ROUTE_ROLES: list[tuple[str, str, set[str]]] = [
    ("POST", "/api/incidents", {"lifeguard", "operator"}),
    ("GET", "/api/incidents", EVERYONE),
    ("GET", "/api/incidents/{id}", EVERYONE),
    ("POST", "/api/incidents/{id}/triage", {"operator"}),
    ("POST", "/api/incidents/{id}/dispatch", {"operator"}),
    ("POST", "/api/incidents/{id}/milestones", {"lifeguard", "operator"}),
    ("POST", "/api/incidents/{id}/referral", {"operator"}),
    ("POST", "/api/incidents/{id}/notes", {"lifeguard", "operator"}),
    ("POST", "/api/incidents/{id}/close", {"operator"}),
    ("POST", "/api/incidents/{id}/stand-down", {"operator"}),
    ("POST", "/api/incidents/{id}/reassign", {"operator"}),
    ("POST", "/api/incidents/{id}/referral/carrier", {"operator"}),
    ("POST", "/api/incidents/{id}/referral/destination", {"operator"}),
    ("POST", "/api/resources", {"operator"}),
    ("GET", "/api/resources/{rid}", {"operator", "official", "admin"}),
    ("PATCH", "/api/resources/{rid}", {"operator"}),
    ("GET", "/api/places", EVERYONE),
    ("GET", "/api/vocabulary", EVERYONE),
    ("GET", "/api/languages", EVERYONE),
    ("GET", "/api/events", {"operator", "official"}),
    ("POST", "/api/users", {"admin"}),
    ("POST", "/api/users/{username}/deactivate", {"admin"}),
    ("GET", "/api/incidents/{id}/recommendations", {"operator", "official", "admin"}),
    ("GET", "/api/board", {"operator", "official", "admin"}),
    ("GET", "/api/resources", {"operator", "official", "admin"}),
    ("GET", "/api/referrals", EVERYONE),
    ("GET", "/api/reports/response-times", {"operator", "official"}),
    ("GET", "/api/reports/summary", {"operator", "official"}),
    ("GET", "/api/reports/incidents.geojson", {"operator", "official"}),
    ("GET", "/api/reports/nemsis.csv", {"operator", "official"}),
    ("GET", "/api/audit/incidents/{id}", {"operator", "official"}),
    ("GET", "/api/audit/verify", {"operator", "official"}),
    ("GET", "/api/audit/reads", {"official"}),
    ("GET", "/api/log/checkpoints/latest", {"official"}),
    ("GET", "/api/log/checkpoints", {"official"}),
    ("GET", "/api/log/checkpoints/public-key", {"official"}),
    ("GET", "/api/me", EVERYONE),
    ("POST", "/api/auth/password", EVERYONE),
    ("POST", "/api/auth/logout", EVERYONE),
    ("POST", "/api/resources/{rid}/position", {"lifeguard", "operator"}),
    ("GET", "/api/incidents/{id}/vessels", {"operator", "official", "admin"}),
    ("POST", "/api/incidents/{id}/beacon/confirm", {"operator"}),
    ("POST", "/api/incidents/{id}/beacon/dismiss", {"operator"}),
    # alerts and messages (docs/alerts.md)
    ("POST", "/api/incidents/{id}/messages", {"operator"}),
    ("GET", "/api/deliveries", {"operator", "official"}),
    ("GET", "/api/deliveries/{delivery_id}", {"operator", "official"}),
    ("GET", "/api/board/notices", {"operator", "official"}),
    ("GET", "/api/me/notices", EVERYONE),
    ("PUT", "/api/users/{username}/contact", {"admin"}),
    ("POST", "/api/alerts", {"operator", "official"}),
    ("POST", "/api/alerts/{alert_id}/update", {"operator", "official"}),
    ("POST", "/api/alerts/{alert_id}/all-clear", {"operator", "official"}),
    ("POST", "/api/alerts/{alert_id}/cancel", {"operator", "official"}),
    ("GET", "/api/alerts", {"operator", "official"}),
    ("GET", "/api/external-alerts", {"operator", "official"}),
]
# Open to anyone, signed in or not: signing in itself, and what operations' monitoring reads.
PUBLIC_ROUTES = [("POST", "/api/auth/login"), ("GET", "/healthz"), ("GET", "/livez"), ("GET", "/readyz"),
                 ("GET", "/metrics")]


@pytest.mark.parametrize(("method", "path", "allowed"), ROUTE_ROLES, ids=[f"{m} {p}" for m, p, _ in ROUTE_ROLES])
def test_each_role_on_each_route(api: Api, method: str, path: str, allowed: set[str]) -> None:
    incident_id = report(api, "operator")
    register(api, "KL-BOAT-9")
    url = path.format(id=incident_id, rid="KL-BOAT-9", username="nobody-here", delivery_id="1.0",
                      alert_id="0123456789ab")
    for role in ROLES:
        answer = api.client.request(method, url, headers=api.as_(role), json={})
        if role in allowed:
            assert answer.status_code != 403, f"{role} was refused {method} {url}"
        else:
            assert answer.status_code == 403, f"{role} got {answer.status_code} on {method} {url}"
            assert answer.json()["code"] == "not_permitted"
    api.client.cookies.clear()  # the sign-ins above left a session cookie in the client
    anonymous = api.client.request(method, url, json={})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "authentication_failed"


@pytest.mark.parametrize(("method", "path"), PUBLIC_ROUTES, ids=[f"{m} {p}" for m, p in PUBLIC_ROUTES])
def test_public_routes_need_no_sign_in(api: Api, method: str, path: str) -> None:
    answer = api.client.request(method, path, json={"username": "nobody", "password": "wrong password"})
    assert answer.status_code in (200, 401), answer.text  # 401: the wrong password, not a missing session
    assert path != "/api/auth/login" or answer.json()["field"] == "password"


def test_the_role_matrix_covers_every_route(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    in_matrix = {(m, p.replace("{id}", "{incident_id}").replace("{rid}", "{resource_id}")) for m, p, _ in ROUTE_ROLES}
    assert documented - in_matrix - set(PUBLIC_ROUTES) == set(), "add the new route to ROUTE_ROLES or PUBLIC_ROUTES"
    assert in_matrix | set(PUBLIC_ROUTES) <= documented, "the matrix names a route the API no longer has"


# --- operations ---------------------------------------------------------------------------------------


def test_healthz_reports_the_database_redis_and_the_committer(api: Api) -> None:
    body = api.client.get("/healthz").json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["redis"] == "not configured"
    assert body["committer"] == "ok"  # the test client commits in a thread, which the next command restarts


@contextmanager
def log_unreachable(services: Services) -> Iterator[None]:
    """The log on a database server that refuses connections (nothing listens on port 1) for a while."""
    engine = make_engine("postgresql://dispatch@127.0.0.1:1/dispatch", connect_args={"connect_timeout": 1})
    log, services.store = services.store, open_event_store(engine)
    try:
        yield
    finally:
        services.store = log
        engine.dispose()


def test_a_report_that_cannot_reach_the_database_answers_503_and_its_retry_lands_once(
        api: Api, services: Services) -> None:
    api.as_("lifeguard")  # signed in before the database goes away
    with log_unreachable(services):
        refused = api.post("/api/incidents", "lifeguard", REPORT, key="phone-1:report-1")

    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"  # to retry, not a 500 to give up on
    assert refused.json()["code"] == "database_unavailable" and "OperationalError" in refused.json()["detail"]
    retried = api.post("/api/incidents", "lifeguard", REPORT, key="phone-1:report-1")
    assert retried.status_code == 201 and services.store.head() == 1


def test_healthz_says_down_with_503_when_the_log_cannot_be_read(api: Api, services: Services) -> None:
    with log_unreachable(services):
        answer = api.client.get("/healthz")

    body = answer.json()  # a load balancer takes this API out of service; the other checks are still reported
    assert answer.status_code == 503 and body["status"] == "down" and body["database"] == "error: OperationalError"
    assert body["committer"] == "ok" and body["redis"] == "not configured" and "log_head" not in body


def test_metrics_count_requests_in_prometheus_format(api: Api) -> None:
    report(api)
    text = api.client.get("/metrics").text
    assert 'dispatch_http_requests_total{method="POST",route="/api/incidents",status="201"} 1.0' in text
    assert "dispatch_group_commit_commands_count 1.0" in text  # the report went through one group commit
    assert "dispatch_log_head_position 1.0" in text


def test_the_api_documents_itself(api: Api) -> None:
    assert api.client.get("/openapi.json").json()["paths"]
    assert api.client.get("/docs").status_code == 200


def test_every_command_route_documents_its_key_its_sign_in_and_its_answer(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    commands = {(method, path): operation for path, item in spec["paths"].items()
                for method, operation in item.items()
                if method in ("post", "patch") and path.startswith(("/api/incidents", "/api/resources"))}
    # report, triage, dispatch, milestones, referral, notes, message, close; the four corrections; beacon
    # confirm and dismiss; three on the fleet
    assert len(commands) == 17
    for (method, path), operation in commands.items():
        key = [p for p in operation.get("parameters", []) if p["name"] == "Idempotency-Key"]
        assert key and key[0]["in"] == "header" and key[0]["schema"]["maxLength"] == IDEMPOTENCY_KEY_MAX_LENGTH, (
            method, path)
        assert operation["security"] == [{"bearer": []}, {"sessionCookie": [], "csrfToken": []}], (method, path)
        answer = operation["responses"]["201" if path in ("/api/incidents", "/api/resources") else "200"]
        assert answer["content"]["application/json"]["schema"]["$ref"].endswith(("/AppendedOut", "/ReferralOut"))
    assert {"bearer", "sessionCookie", "csrfToken"} <= set(spec["components"]["securitySchemes"])


def test_a_malformed_idempotency_key_is_refused_naming_the_header(api: Api, services: Services) -> None:
    for key in ("a b", "", "k" * 121):
        answer = api.client.post("/api/incidents", json=REPORT,
                                 headers=api.as_("lifeguard") | {"Idempotency-Key": key})
        assert answer.status_code == 422 and answer.json()["field"] == "Idempotency-Key", key
    assert services.store.head() == 0


def test_recommendations_rank_available_boats_by_eta_and_facilities_by_arrival(
    api: Api, services: Services
) -> None:
    from dispatch.projections import all_projections
    from dispatch.projections.runner import Projector

    incident_id = report(api, source="clinic", site_id="hu_phru_nai", category="trauma")
    register(api, "KY-FAST", speed_knots=30, home_site_id="isl_ko_yao_noi")
    register(api, "KY-SLOW", speed_knots=9, home_site_id="isl_ko_yao_noi")
    register(api, "KY-BROKEN", speed_knots=40, home_site_id="isl_ko_yao_noi")
    api.client.patch("/api/resources/KY-BROKEN", headers=api.as_("operator"), json={"status": "out_of_service"})
    Projector(services.store, all_projections()).catch_up_all()

    answer = api.get(f"/api/incidents/{incident_id}/recommendations", "operator")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    boats = [boat["resource_id"] for boat in body["resources"]["boats"]]
    assert boats == ["KY-FAST", "KY-SLOW"], "fastest first; the out-of-service boat is never offered"
    etas = [facility["eta_minutes"] for facility in body["facilities"]]
    assert etas == sorted(etas) and "hu_phru_nai" not in [f["facility_id"] for f in body["facilities"]]


def test_a_lifeguard_lists_the_incidents_they_reported_or_are_assigned_to(api: Api, services: Services) -> None:
    from dispatch.projections import all_projections
    from dispatch.projections.runner import Projector

    mine = report(api, "lifeguard")
    assigned = report(api, "operator")
    others = report(api, "operator")
    register(api, "KL-TEAM-1", kind="team")  # the lifeguard's own team (see the api fixture)
    api.post(f"/api/incidents/{assigned}/dispatch", "operator", {"resource_id": "KL-TEAM-1"})
    Projector(services.store, all_projections()).catch_up_all()

    listed = {row["incident_id"] for row in api.get("/api/incidents", "lifeguard").json()["incidents"]}
    everything = {row["incident_id"] for row in api.get("/api/incidents", "operator").json()["incidents"]}

    assert listed == {mine, assigned}
    assert everything == {mine, assigned, others}
