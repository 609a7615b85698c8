"""Bad input on the HTTP contract: each gets a clear 4xx that names the field, and appends nothing
(SQLite and PostgreSQL). The fuzzer (test_fuzz.py) tries the rest of the spec; huge WebSocket messages go to a
real server process (tests/e2e/test_hardening.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest

from dispatch.app.services import Services
from dispatch.projections import all_projections
from dispatch.projections.runner import Projector
from dispatch.runtime.clock import FrozenClock
from tests.builders import T0
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


# --- crafted query values: 422 naming the parameter, never a 500 --------------------------------------


@pytest.mark.parametrize(("path", "field"), [
    ("/api/events?after=9223372036854775808", "after"), ("/api/events?after=99999999999999999999", "after"),
    ("/api/events?after=-1", "after"), ("/api/board?as_of=%C2%B2", "as_of"), ("/api/board?as_of=%EF%BC%91", "as_of"),
    ("/api/board?as_of=99999999999999999999", "as_of"), ("/api/board?as_of=0001-01-01T00:00:00%2B00:00", "as_of"),
    ("/api/board?as_of=9999-12-31T23:59:59-12:00", "as_of"), ("/api/board?as_of=%20", "as_of"),
    ("/api/reports/response-times?from=0001-01-01", "from"), ("/api/reports/response-times?to=9999-12-31", "to"),
    ("/api/reports/response-times?from=0001-01-01T00:00:00%2B14:00", "from"),
    ("/api/reports/response-times?offset=99999999999999999999", "offset"),
    ("/api/reports/response-times?offset=1000000001", "offset"), ("/api/reports/nemsis.csv?from=1999-12-31", "from"),
    ("/api/reports/summary?year=99999999999999999999", "year"),
    ("/api/referrals?recent_hours=99999999999999", "recent_hours"),
])
def test_a_crafted_query_value_is_a_422_naming_the_parameter(api: Api, path: str, field: str) -> None:
    answer = api.get(path, "official")

    assert (answer.status_code, answer.json()["field"]) == (422, field), answer.text


@pytest.mark.parametrize("path", ["/api/events?after=9223372036854775807", "/api/events?after=9223372036854775000",
                                  "/api/board?as_of=9223372036854775807", "/api/board?as_of=2100-12-31",
                                  "/api/reports/response-times?from=2000-01-01&to=2100-12-31&offset=1000000000"])
def test_the_largest_values_in_range_answer_200(api: Api, path: str) -> None:
    report(api)
    answer = api.get(path, "official")

    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("after", ["99999999999999999999", "9223372036854775808", "-1", "%C2%B2"])
def test_a_board_socket_with_a_crafted_position_is_refused_not_a_500(api: Api, after: str) -> None:
    from starlette.websockets import WebSocketDisconnect

    token = api.as_("operator")["Authorization"].removeprefix("Bearer ")
    with pytest.raises(WebSocketDisconnect) as closed, \
            api.client.websocket_connect(f"/ws/board?after={after}&token={token}") as socket:
        socket.receive_json()

    assert closed.value.code == 1008  # policy violation: the handshake is refused


def test_a_board_socket_ahead_of_the_log_gets_a_snapshot(api: Api) -> None:
    token = api.as_("operator")["Authorization"].removeprefix("Bearer ")
    with api.client.websocket_connect(f"/ws/board?after=9223372036854775807&token={token}") as socket:
        assert socket.receive_json()["type"] == "snapshot"


# --- speeds: bounded where a boat is registered, harmless wherever the log already holds one -------------


@pytest.mark.parametrize("speed", [0, 0.5, 60.5, 1e-300, 1e300])
def test_a_boat_speed_outside_1_to_60_knots_is_a_422(api: Api, services: Services, speed: float) -> None:
    answer = api.post("/api/resources", "operator",
                      {"id": "KY-09", "kind": "boat", "name": "Boat", "speed_knots": speed})

    assert (answer.status_code, answer.json()["field"]) == (422, "speed_knots"), answer.text
    assert appended_nothing(services)


@pytest.mark.parametrize("speed", [1e-300, 1e300, 0.5, 1000.0])
def test_a_boat_with_an_insane_stored_speed_breaks_no_recommendation_or_warning(
    api: Api, services: Services, clock: FrozenClock, speed: float
) -> None:
    from dispatch.app import deadlines
    from dispatch.domain.catalogue import ResourceRegistered

    places = services.places
    pier = places.get("hu_phru_nai")
    # As an import or an older version could have stored it: straight into the log, past the API's bound.
    services.store.append("resource-KY-09", [ResourceRegistered(
        at=clock.now(), resource_id="KY-09", kind="boat", name="Slow boat", speed_knots=speed, position=pier.position,
        home_site_id=pier.id, zone=pier.zone)], expected_version=0)
    incident_id = report(api, "operator", source="clinic", site_id=pier.id, category="other")
    assert api.post(f"/api/incidents/{incident_id}/dispatch", "operator", {"resource_id": "KY-09"}).status_code == 200
    referral = api.post(f"/api/incidents/{incident_id}/referral", "operator",
                        {"facility_id": "hosp_vachira_phuket", "resource_id": "KY-09"})
    assert referral.status_code == 200, referral.text
    Projector(services.store, all_projections()).catch_up_all()

    recommended = api.get(f"/api/incidents/{incident_id}/recommendations", "operator")
    deadlines.use_services(services)
    clock.advance(timedelta(minutes=61))
    warned = deadlines.check_referral_deadline(incident_id, referral.json()["referral_id"], "warning")
    predicted = deadlines.check_referral_prediction(incident_id)

    assert recommended.status_code == 200, recommended.text
    assert "KY-09" not in [boat["resource_id"] for boat in recommended.json()["resources"]["boats"]]
    assert warned == 1 and predicted == 0, "the minute-60 warning is appended; the prediction has nothing to add"


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "1999-12-31T23:59:59Z", "9999-12-31T23:59:59-12:00"])
def test_a_stated_time_outside_the_service_years_is_a_422_naming_it(api: Api, services: Services, moment: str) -> None:
    incident_id = report(api, "operator")
    register(api, "KL-BOAT-1")
    api.post(f"/api/incidents/{incident_id}/dispatch", "operator", {"resource_id": "KL-BOAT-1"})
    before = services.store.head()

    reported = api.post("/api/incidents", "lifeguard", REPORT | {"device_time": moment})
    milestone = api.post(f"/api/incidents/{incident_id}/milestones", "operator",
                         {"resource_id": "KL-BOAT-1", "milestone": "en_route", "happened_at": moment})

    assert (reported.status_code, reported.json()["field"]) == (422, "device_time"), reported.text
    assert (milestone.status_code, milestone.json()["field"]) == (422, "happened_at"), milestone.text
    assert appended_nothing(services, before)
