"""Clean text at every edge (dispatch/domain/text.py), on SQLite and PostgreSQL: a NUL or another control character
is refused with a 422 naming the field wherever a request carries text (body, path, query, stored headers,
usernames), and the store itself refuses to append one, whoever the writer. PostgreSQL cannot hold a NUL in a
text column, so one that reached the log would stop the projector on every restart."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from dispatch.adapters.eventlog.store import Append, EventStore, StreamWrite
from dispatch.app.handle import handle
from dispatch.app.services import Services
from dispatch.domain.catalogue import IncidentReported, incident_stream
from dispatch.domain.envelope import EventMeta
from dispatch.domain.errors import InvalidText
from dispatch.domain.text import COMMAND_ID_MAX_LENGTH, IDEMPOTENCY_KEY_MAX_LENGTH, USERNAME_MAX_LENGTH
from dispatch.projections import all_projections
from dispatch.projections.runner import Projector
from tests.builders import INCIDENT, add_note, incident_closed, incident_reported
from tests.integration import test_api
from tests.integration.test_api import PASSWORD, REPORT, Api, report

api = test_api.api  # the fixture: one account per role, a TestClient over the app

# In the middle: a control character at an end is whitespace, and requests' texts are stripped.
UNCLEAN = ["a\x00b", "escape \x1b[31m", "del \x7f", "c1 \x85 next line", "non-character \uffff", "bell \x07 ring"]
SURROGATE = "lone \ud800 surrogate"
STREAM = incident_stream(INCIDENT)  # the builders' default incident


# --- the store: the last line, whoever writes -----------------------------------------------------------


@pytest.mark.parametrize("text", [*UNCLEAN, SURROGATE], ids=repr)
def test_the_store_refuses_to_append_an_unclean_text_and_appends_nothing(store: EventStore, text: str) -> None:
    with pytest.raises(InvalidText) as refused:
        store.append(STREAM, [incident_reported(description=text)], expected_version=0)

    assert (refused.value.field, refused.value.code) == ("description", "invalid_text")
    assert store.head() == 0


@pytest.mark.parametrize(("where", "field"), [("stream", "stream_id"), ("command", "meta.command_id"),
                                              ("correlation", "meta.correlation_id"), ("actor", "meta.actor_id"),
                                              ("nested", "released_resource_ids.0")])
def test_the_store_refuses_unclean_ids_and_meta_naming_where(store: EventStore, where: str, field: str) -> None:
    event: Any = incident_reported()
    stream, command_id, meta = STREAM, "lg-1:k1", EventMeta(actor_id="lg-1")
    if where == "stream":
        stream = "incident-in\x00c-1"
    elif where == "command":
        command_id = "lg-1:\x00"
    elif where == "correlation":
        meta = EventMeta(actor_id="lg-1", correlation_id="req\r\n-1")
    elif where == "actor":
        meta = EventMeta(actor_id="lg\x00")
    else:
        event = incident_closed(outcome="treated_on_scene", released_resource_ids=("KL\x00BOAT",))

    with pytest.raises(InvalidText) as refused:
        store.append(stream, [event], expected_version=0, command_id=command_id, meta=meta)

    assert refused.value.field == field
    assert store.head() == 0


def test_free_text_in_the_log_may_hold_tabs_and_newlines_and_any_script(store: EventStore) -> None:
    text = "ผู้ป่วยหมดสติ\tunconscious\nمريض \u200f RTL 🚑"
    store.append(STREAM, [incident_reported(description=text)], expected_version=0)

    [stored] = store.read_stream(STREAM)
    assert isinstance(stored.event, IncidentReported) and stored.event.description == text


@pytest.mark.parametrize(("what", "field"), [("stream", "stream_id"), ("command", "meta.command_id"),
                                             ("meta", "meta.correlation_id")])
def test_the_store_refuses_ids_longer_than_their_columns(store: EventStore, what: str, field: str) -> None:
    stream = "incident-" + "x" * 112 if what == "stream" else STREAM
    command_id = "c" * (COMMAND_ID_MAX_LENGTH + 1) if what == "command" else None
    meta = EventMeta(correlation_id="r" * 129) if what == "meta" else None

    with pytest.raises(InvalidText) as refused:
        store.append(stream, [incident_reported()], expected_version=0, command_id=command_id, meta=meta)

    assert refused.value.field == field and store.head() == 0


def test_a_batch_answers_the_unclean_append_alone_and_stores_the_others(store: EventStore) -> None:
    reports = [incident_reported(incident_id=f"inc-{n}", description=text)
               for n, text in enumerate(["fine", "bad\x00", "also fine"])]
    appends = [Append([StreamWrite(incident_stream(event.incident_id), [event], 0)], command_id=f"lg-1:{n}")
               for n, event in enumerate(reports)]

    answers = store.append_batch(appends)

    assert isinstance(answers[1], InvalidText) and answers[1].field == "description"
    assert [len(answer.events) for answer in (answers[0], answers[2])] == [1, 1]  # type: ignore[union-attr]
    assert store.head() == 2


def test_looking_up_an_id_that_cannot_be_in_the_log_finds_nothing(store: EventStore) -> None:
    store.append(STREAM, [incident_reported()], expected_version=0, command_id="lg-1:k")

    assert store.read_stream("incident-\x00") == [] and store.find_command("lg-1:\x00") is None
    earlier, streams = store.read_batch([("x" * 500, "")], [STREAM, "x" * 500])
    assert earlier == {} and {stream: len(events) for stream, events in streams.items()} == {STREAM: 1, "x" * 500: 0}
    assert store.read_all(after=2**63 - 1) == [] and store.read_all(after=2**63 - 2, limit=1000) == []


def test_a_worker_or_cli_command_with_a_nul_is_refused_and_the_projector_goes_on(services: Services) -> None:
    services.store.append(STREAM, [incident_reported()], expected_version=0)

    with pytest.raises(InvalidText):
        handle(add_note(text="note with a \x00 in it"), services)

    Projector(services.store, all_projections()).catch_up_all()
    assert services.store.head() == 1


# --- the API: 422 naming the field --------------------------------------------------------------------


@pytest.mark.parametrize("text", UNCLEAN, ids=repr)
def test_a_report_with_an_unclean_description_is_a_422_naming_it(api: Api, services: Services, text: str) -> None:
    answer = api.post("/api/incidents", "lifeguard", REPORT | {"description": text})

    assert (answer.status_code, answer.json()["field"]) == (422, "description"), answer.text
    assert services.store.head() == 0


@pytest.mark.parametrize("path", ["/api/incidents", "/api/auth/login"])
def test_a_lone_surrogate_in_a_body_is_a_422(api: Api, services: Services, path: str) -> None:
    body = (REPORT | {"description": SURROGATE}) if path == "/api/incidents" else {
        "username": SURROGATE, "password": PASSWORD}
    # As JSON escapes it (\\ud800): UTF-8 cannot carry a lone surrogate itself.
    answer = api.client.post(path, content=json.dumps(body).encode(),
                             headers=api.as_("lifeguard") | {"Content-Type": "application/json"})

    assert answer.status_code == 422, answer.text
    assert services.store.head() == 0


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/incidents/{id}/notes", {"text": "a\x00b"}, "text"),
    ("/api/incidents/{id}/notes", {"text": "fine", "resource_id": "KL\nBOAT"}, "resource_id"),
    ("/api/incidents/{id}/close", {"outcome": "treated_on_scene", "summary": "ok\x1b"}, "summary"),
    ("/api/incidents/{id}/referral", {"facility_id": "hosp\x00"}, "facility_id"),
    ("/api/resources", {"id": "KL-BOAT-9", "kind": "boat", "name": "Boat\x00", "speed_knots": 20}, "name"),
    ("/api/incidents", REPORT | {"site_id": "beach\x00"}, "site_id"),
])
def test_every_text_in_a_command_body_is_checked(
    api: Api, services: Services, path: str, body: dict[str, Any], field: str
) -> None:
    incident_id = report(api, "operator")
    before = services.store.head()

    answer = api.post(path.format(id=incident_id), "operator", body)

    assert (answer.status_code, answer.json()["field"]) == (422, field), answer.text
    assert services.store.head() == before


def test_a_newline_is_free_text_in_a_note_but_not_in_a_name(api: Api, services: Services) -> None:
    incident_id = report(api, "operator")

    note = api.post(f"/api/incidents/{incident_id}/notes", "operator", {"text": "line one\nline two\tend"})
    name = api.post("/api/resources", "operator", {"id": "KL-BOAT-9", "kind": "boat", "name": "Boat\nNine",
                                                   "speed_knots": 20})

    assert note.status_code == 200, note.text
    assert (name.status_code, name.json()["field"]) == (422, "name")


@pytest.mark.parametrize("value", ["a\x00b", "x" * 81], ids=["nul", "too-long"])
@pytest.mark.parametrize("template", ["/api/incidents/{}/notes", "/api/resources/{}"])
def test_an_unclean_or_overlong_id_in_a_command_path_is_a_422_naming_it(
    api: Api, services: Services, value: str, template: str
) -> None:
    path = template.format(quote(value, safe=""))
    headers = api.as_("operator")
    if "notes" in path:
        answer = api.client.post(path, json={"text": "hello"}, headers=headers)
    else:
        answer = api.client.patch(path, json={"reason": "x"}, headers=headers)

    expected_field = "incident_id" if "incidents" in template else "resource_id"
    assert (answer.status_code, answer.json()["code"], answer.json()["field"]) == (
        422, "invalid_text", expected_field), answer.text
    assert services.store.head() == 0


@pytest.mark.parametrize("path", ["/api/incidents/a%00b", "/api/audit/incidents/a%00b",
                                  "/api/incidents/a%00b/recommendations", "/api/resources/%1b"])
def test_an_unclean_id_in_a_read_path_is_a_422_not_a_500(api: Api, path: str) -> None:
    answer = api.client.get(path, headers=api.as_("operator"))

    assert answer.status_code == 422 and answer.json()["code"] == "invalid_text", answer.text
    assert answer.json()["field"] in {"incident_id", "resource_id"}


@pytest.mark.parametrize("query", ["as_of=a%00b", "as_of=%C2%85"])
def test_an_unclean_query_value_is_a_422_naming_the_parameter(api: Api, query: str) -> None:
    answer = api.client.get(f"/api/board?{query}", headers=api.as_("operator"))

    assert (answer.status_code, answer.json()["code"], answer.json()["field"]) == (422, "invalid_text", "as_of")


@pytest.mark.parametrize("path", ["/index%00.html", "/js/%00", "/vendor/leaflet/leaflet%00.js"])
def test_a_static_path_with_a_nul_is_a_404_not_a_500(api: Api, path: str) -> None:
    assert api.client.get(path).status_code == 404


@pytest.mark.parametrize("request_id", ["r" * 129, "r" * 4 * 1024 * 1024], ids=["just-over", "4MB"])
def test_an_x_request_id_is_bounded_before_it_is_stored(api: Api, services: Services, request_id: str) -> None:
    answer = api.client.post("/api/incidents", json=REPORT,
                             headers=api.as_("lifeguard") | {"X-Request-ID": request_id})

    assert (answer.status_code, answer.json()["field"]) == (422, "X-Request-ID"), answer.text[:300]
    assert services.store.head() == 0


def test_an_x_request_id_within_bounds_is_kept_in_the_meta(api: Api, services: Services) -> None:
    answer = api.client.post("/api/incidents", json=REPORT,
                             headers=api.as_("lifeguard") | {"X-Request-ID": "r" * 128})

    assert answer.status_code == 201
    assert services.store.read_all()[0].meta.correlation_id == "r" * 128


def test_the_longest_username_with_the_longest_key_fits_the_command_column(api: Api, services: Services) -> None:
    username = "u" * USERNAME_MAX_LENGTH
    services.accounts.add_user(username, "lifeguard", PASSWORD, resource_id="KL-TEAM-1")
    token = api.client.post("/api/auth/login", json={"username": username, "password": PASSWORD}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}

    longest = api.client.post("/api/incidents", json=REPORT,
                              headers=headers | {"Idempotency-Key": "k" * IDEMPOTENCY_KEY_MAX_LENGTH})
    longer = api.client.post("/api/incidents", json=REPORT,
                             headers=headers | {"Idempotency-Key": "k" * (IDEMPOTENCY_KEY_MAX_LENGTH + 1)})

    assert longest.status_code == 201, longest.text
    assert (longer.status_code, longer.json()["field"]) == (422, "Idempotency-Key")


@pytest.mark.parametrize("username", ["op\x00", "o\np", "o" * (USERNAME_MAX_LENGTH + 1)], ids=repr)
def test_a_sign_in_with_an_unclean_or_overlong_username_is_a_422(api: Api, username: str) -> None:
    answer = api.client.post("/api/auth/login", json={"username": username, "password": PASSWORD})

    assert (answer.status_code, answer.json()["field"]) == (422, "username"), answer.text


@pytest.mark.parametrize(("name", "display_name", "field"), [
    ("ops\x00", "", "name"), ("ops", "Ops\x1b", "display_name"), ("o" * 81, "", "name")])
def test_a_user_cannot_be_created_with_an_unclean_name_by_any_writer(
    services: Services, name: str, display_name: str, field: str
) -> None:
    with pytest.raises(InvalidText) as refused:
        services.accounts.add_user(name, "operator", PASSWORD, display_name=display_name)

    assert refused.value.field == field


def test_a_board_socket_with_an_unclean_query_value_is_refused_before_it_opens(api: Api) -> None:
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as closed, \
            api.client.websocket_connect("/ws/board?token=a%00b") as socket:
        socket.receive_json()

    assert closed.value.code == 1008
