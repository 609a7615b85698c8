"""Bad input on the HTTP contract (issue 8): each gets a clear 4xx that names the field, and appends nothing
(SQLite and PostgreSQL). The fuzzer (test_fuzz.py) tries the rest of the spec; huge WebSocket messages go to a
real server process (tests/e2e/test_hardening.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest

from dispatch.bootstrap import Services
from tests.conftest import T0
from tests.integration import test_api
from tests.integration.test_api import REPORT, Api, register, report

api = test_api.api  # the fixture: one account per role, a TestClient over the app
JSON = {"Content-Type": "application/json"}


def appended_nothing(services: Services, before: int = 0) -> bool:
    return services.store.head() == before


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/incidents"), ("POST", "/api/auth/login"),
                                               ("PATCH", "/api/resources/KL-BOAT-1")])
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/xml", None])
def test_a_body_that_is_not_json_is_a_415_naming_the_header(
    api: Api, services: Services, method: str, path: str, content_type: str | None
) -> None:
    headers = api.as_("operator") | ({"Content-Type": content_type} if content_type else {})
    before = services.store.head()

    answer = api.client.request(method, path, content=b'{"source": "beach"}', headers=headers)

    assert answer.status_code == 415, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == {"type": "/problems/unsupported_media_type", "title": "Unsupported media type",
                             "status": 415, "code": "unsupported_media_type", "field": "Content-Type",
                             "detail": "send the request body as JSON (Content-Type: application/json)",
                             "instance": path}
    assert appended_nothing(services, before)


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "APPLICATION/JSON",
                                          "application/merge-patch+json"])
def test_json_by_any_of_its_names_is_read(api: Api, content_type: str) -> None:
    answer = api.client.post("/api/incidents", content=orjson.dumps(REPORT),
                             headers=api.as_("lifeguard") | {"Content-Type": content_type})
    assert answer.status_code == 201, answer.text


def test_json_in_a_bodiless_request_is_no_reason_to_refuse(api: Api) -> None:
    assert api.client.get("/api/me", headers=api.as_("official") | {"Content-Type": "text/plain"}).status_code == 200


@pytest.mark.parametrize("body", [b"{not json", b'{"source": "beach",', b"\xff\xfe\x00garbage", b"[]", b"null",
                                  b'"a string"', b""])
@pytest.mark.parametrize("path", ["/api/incidents", "/api/auth/login"])
def test_broken_json_is_a_422_in_the_usual_shape(api: Api, services: Services, body: bytes, path: str) -> None:
    answer = api.client.post(path, content=body, headers=api.as_("lifeguard") | JSON)

    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "invalid_input" and answer.json()["detail"]
    assert appended_nothing(services)


def streamed(size: int) -> Iterator[bytes]:
    sent = 0
    while sent < size:
        yield b" " * 4096
        sent += 4096


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/incidents"), ("PATCH", "/api/resources/KL-BOAT-1"),
                                               ("POST", "/api/auth/login")])
def test_an_oversized_body_is_a_413_whether_declared_or_streamed(
    api: Api, services: Services, method: str, path: str
) -> None:
    limit = services.settings.max_body_bytes
    headers = api.as_("operator") | JSON
    declared = api.client.request(method, path, content=b" " * (limit + 1), headers=headers)
    chunked = api.client.request(method, path, content=streamed(limit + 1), headers=headers)

    for answer in (declared, chunked):
        assert answer.status_code == 413 and answer.json()["code"] == "payload_too_large"
    assert "content-length" not in {name.lower() for name in chunked.request.headers}, "really streamed"
    assert appended_nothing(services)


@pytest.mark.parametrize("position", [{"lat": 90.0001, "lon": 98.2}, {"lat": -91, "lon": 98.2},
                                      {"lat": 8.6, "lon": 180.5}, {"lat": 8.6, "lon": -1e308},
                                      {"lat": "8.6N", "lon": 98.2}, {"lat": True, "lon": 98.2}, {"lat": 8.6}],
                         ids=["north", "south", "east", "huge", "text", "bool", "no-lon"])
@pytest.mark.parametrize("where", ["report", "new-resource", "moved-resource"])
def test_coordinates_out_of_range_are_a_422_naming_the_field(
    api: Api, services: Services, position: dict[str, Any], where: str
) -> None:
    register(api, "KL-BOAT-1")
    before = services.store.head()
    if where == "report":
        answer = api.post("/api/incidents", "lifeguard", REPORT | {"position": position})
    elif where == "new-resource":
        answer = api.post("/api/resources", "operator", {"id": "KL-BOAT-2", "kind": "boat", "name": "b",
                                                         "speed_knots": 20, "position": position})
    else:
        answer = api.client.patch("/api/resources/KL-BOAT-1", json={"position": position},
                                  headers=api.as_("operator"))

    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] in {"position.lat", "position.lon"}
    assert appended_nothing(services, before)


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_not_a_number_is_no_coordinate(api: Api, services: Services, literal: bytes) -> None:
    body = orjson.dumps(REPORT).replace(b'"patients":1', b'"position":{"lat":%s,"lon":98.2},"patients":1' % literal)
    answer = api.client.post("/api/incidents", content=body, headers=api.as_("lifeguard") | JSON)

    assert answer.status_code == 422 and answer.json()["field"] == "position.lat", answer.text
    assert appended_nothing(services)


def test_device_times_in_the_future_are_a_422_naming_the_field(api: Api, services: Services) -> None:
    incident_id = report(api, "operator")
    register(api, "KL-BOAT-1")
    api.post(f"/api/incidents/{incident_id}/dispatch", "operator", {"resource_id": "KL-BOAT-1"})
    before = services.store.head()
    ahead = T0 + timedelta(seconds=services.settings.device_clock_skew_seconds + 60)

    reported = api.post("/api/incidents", "lifeguard", REPORT | {"device_time": ahead.isoformat()})
    milestone = api.post(f"/api/incidents/{incident_id}/milestones", "operator",
                         {"resource_id": "KL-BOAT-1", "milestone": "en_route", "happened_at": ahead.isoformat()})
    naive = api.post("/api/incidents", "lifeguard", REPORT | {"device_time": "2026-03-14T06:00:00"})

    assert (reported.status_code, reported.json()["field"]) == (422, "device_time")
    assert (milestone.status_code, milestone.json()["field"]) == (422, "happened_at")
    assert (naive.status_code, naive.json()["field"]) == (422, "device_time"), "a time needs its zone"
    assert appended_nothing(services, before)


def test_a_device_time_within_the_allowed_skew_is_taken(api: Api) -> None:
    slightly_ahead = T0 + timedelta(seconds=30)
    assert api.post("/api/incidents", "lifeguard", REPORT | {"device_time": slightly_ahead.isoformat()}
                    ).status_code == 201
