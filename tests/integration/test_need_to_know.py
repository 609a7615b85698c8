"""Crew authority and patient data on a need-to-know basis, over HTTP (SQLite and PostgreSQL).

A lifeguard records milestones only for the unit they crew, on incidents they are on; reads only those
incidents; every API answer says `Cache-Control: no-store`; each read of an incident's details is recorded
outside the event log, for officials to see.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from dispatch.app.services import Services
from dispatch.entrypoints.api.app import create_app
from dispatch.projections import all_projections
from dispatch.projections.runner import Projector
from tests.integration.test_api import PASSWORD, REPORT, Api, register

SECRET = "Khun Somsri, 54, chest pain, history of stroke"
# username -> (role, the unit they crew)
PEOPLE = {
    "nok": ("lifeguard", "KL-TEAM-1"),   # reports the incident; her team is not sent
    "lek": ("lifeguard", "KY-BOAT-1"),   # crews the boat that carries the patient
    "dao": ("lifeguard", "KY-BOAT-2"),   # crews the second boat sent
    "ploy": ("lifeguard", "KL-TEAM-2"),  # on another beach, not on this incident
    "operator": ("operator", None),
    "official": ("official", None),
    "admin": ("admin", None),
}


@pytest.fixture
def api(services: Services) -> Iterator[Api]:
    for name, (role, unit) in PEOPLE.items():
        services.accounts.add_user(name, role, PASSWORD, resource_id=unit)
    with TestClient(create_app(services)) as client:
        yield Api(client)


@pytest.fixture
def incident(api: Api) -> str:
    """Nok reports a patient at a Koh Yao health unit; both Koh Yao boats are sent, KY-BOAT-1 carries the
    patient on an 80-minute referral."""
    answer = api.post("/api/incidents", "nok", REPORT | {"source": "clinic", "site_id": "hu_phru_nai",
                                                         "category": "trauma", "description": SECRET})
    assert answer.status_code == 201, answer.text
    incident_id = str(answer.json()["id"])
    for boat in ("KY-BOAT-1", "KY-BOAT-2"):
        register(api, boat)
        assert api.post(f"/api/incidents/{incident_id}/dispatch", "operator", {"resource_id": boat}).status_code == 200
    referral = api.post(f"/api/incidents/{incident_id}/referral", "operator",
                        {"facility_id": "hosp_vachira_phuket", "resource_id": "KY-BOAT-1"})
    assert referral.status_code == 200, referral.text
    return incident_id


def milestone(api: Api, who: str, incident_id: str, unit: str, name: str) -> Any:
    return api.post(f"/api/incidents/{incident_id}/milestones", who, {"resource_id": unit, "milestone": name})


def referral_status(api: Api, incident_id: str) -> str:
    return str(api.get(f"/api/incidents/{incident_id}", "operator").json()["referrals"][0]["status"])


def resource_status(api: Api, resource_id: str) -> str:
    return str(api.get(f"/api/resources/{resource_id}", "operator").json()["status"])


def catch_up(services: Services) -> None:
    Projector(services.store, all_projections()).catch_up_all()


# --- crew authority --------------------------------------------------------------------------------------


def test_a_lifeguard_cannot_record_a_milestone_for_a_unit_they_do_not_crew(api: Api, services: Services,
                                                                            incident: str) -> None:
    head = services.store.head()

    refused = milestone(api, "nok", incident, "KY-BOAT-1", "on_scene")  # she reported it, but is not on board

    assert refused.status_code == 403
    assert (refused.json()["code"], refused.json()["field"]) == ("not_crew_of_resource", "resource_id")
    assert services.store.head() == head, "nothing of a refused command reaches the log"


def test_a_lifeguard_cannot_end_another_units_referral_clock(api: Api, incident: str) -> None:
    refused = milestone(api, "dao", incident, "KY-BOAT-1", "at_destination")

    assert refused.status_code == 403 and refused.json()["code"] == "not_crew_of_resource"
    assert referral_status(api, incident) == "on_track"


def test_a_lifeguard_cannot_free_another_crews_boat(api: Api, incident: str) -> None:
    for name in ("cancelled", "back_in_service"):
        refused = milestone(api, "dao", incident, "KY-BOAT-1", name)
        assert refused.status_code == 403 and refused.json()["code"] == "not_crew_of_resource"

    assert resource_status(api, "KY-BOAT-1") == "assigned"


def test_a_crew_ends_its_own_referral_clock_and_frees_its_own_boat(api: Api, incident: str) -> None:
    for name in ("on_scene", "left_scene", "at_destination", "back_in_service"):
        assert milestone(api, "lek", incident, "KY-BOAT-1", name).status_code == 200, name
    assert milestone(api, "dao", incident, "KY-BOAT-2", "cancelled").status_code == 200

    assert referral_status(api, incident) == "met"
    assert resource_status(api, "KY-BOAT-1") == resource_status(api, "KY-BOAT-2") == "available"


def test_an_operator_records_milestones_for_any_unit(api: Api, incident: str) -> None:
    assert milestone(api, "operator", incident, "KY-BOAT-2", "back_in_service").status_code == 200
    assert milestone(api, "operator", incident, "KY-BOAT-1", "at_destination").status_code == 200

    assert referral_status(api, incident) == "met" and resource_status(api, "KY-BOAT-2") == "available"


def test_a_lifeguard_not_on_an_incident_is_refused_alike_whether_it_exists_or_not(api: Api, incident: str) -> None:
    existing = milestone(api, "ploy", incident, "KL-TEAM-2", "on_scene")
    unknown = milestone(api, "ploy", "no-such-incident", "KL-TEAM-2", "on_scene")
    note = api.post(f"/api/incidents/{incident}/notes", "ploy", {"text": "hello"})

    assert [a.status_code for a in (existing, unknown, note)] == [403, 403, 403]
    assert {a.json()["code"] for a in (existing, unknown, note)} == {"not_on_incident"}
    assert {a.json()["field"] for a in (existing, unknown, note)} == {"incident_id"}


# --- reading ---------------------------------------------------------------------------------------------


def test_a_lifeguard_reads_only_incidents_they_reported_or_crew_a_unit_on(api: Api, incident: str) -> None:
    for who in ("nok", "lek", "dao", "operator", "official", "admin"):
        answer = api.get(f"/api/incidents/{incident}", who)
        assert answer.status_code == 200 and answer.json()["description"] == SECRET, who

    stranger = api.get(f"/api/incidents/{incident}", "ploy")
    unknown = api.get("/api/incidents/no-such-incident", "ploy")

    # 404, the answer to an unknown id: a 403 would confirm that the case exists.
    assert stranger.status_code == unknown.status_code == 404
    assert stranger.json()["code"] == unknown.json()["code"] == "incident_not_found"
    assert SECRET not in stranger.text


def test_no_read_route_shows_a_lifeguard_an_incident_they_are_not_on(api: Api, services: Services,
                                                                      incident: str) -> None:
    api.post(f"/api/incidents/{incident}/notes", "lek", {"text": "patient drowsy"})
    catch_up(services)
    spec = api.client.get("/openapi.json").json()
    reads = [path for path, item in spec["paths"].items() if "get" in item]

    for path in reads:
        answer = api.get(path.format(incident_id=incident, resource_id="KY-BOAT-1", delivery_id="1.0"), "ploy")
        assert answer.status_code in (200, 403, 404), f"{path}: {answer.status_code}"
        assert SECRET not in answer.text and "patient drowsy" not in answer.text, path
        if answer.status_code == 200:  # a refusal may echo the id asked for; an answer must not list it
            assert incident not in answer.text, f"{path} names an incident the lifeguard is not on"


def test_a_lifeguards_lists_show_the_incidents_and_referrals_they_are_on(api: Api, services: Services,
                                                                          incident: str) -> None:
    catch_up(services)

    for who in ("nok", "lek"):
        listed = api.get("/api/incidents", who).json()["incidents"]
        referrals = api.get("/api/referrals", who).json()["referrals"]
        assert [row["incident_id"] for row in listed] == [incident], who
        assert [row["incident_id"] for row in referrals] == [incident], who
    assert api.get("/api/referrals", "ploy").json()["referrals"] == []
    assert [row["incident_id"] for row in api.get("/api/referrals", "operator").json()["referrals"]] == [incident]


def test_every_api_answer_says_no_store(api: Api, services: Services, incident: str) -> None:
    catch_up(services)
    reads = [("lek", f"/api/incidents/{incident}"), ("nok", "/api/incidents"), ("lek", "/api/referrals"),
             ("operator", "/api/board"), ("operator", "/api/events"), ("official", f"/api/audit/incidents/{incident}"),
             ("official", "/api/reports/response-times"), ("official", "/api/reports/response-times?format=csv"),
             ("official", "/api/reports/nemsis.csv"), ("official", "/api/reports/incidents.geojson"),
             ("official", f"/api/audit/reads?incident_id={incident}"), ("ploy", f"/api/incidents/{incident}")]
    answers = [api.get(path, who) for who, path in reads]
    answers.append(api.post("/api/incidents", "nok", REPORT | {"description": SECRET}))

    for (_who, path), answer in zip([*reads, ("nok", "POST /api/incidents")], answers, strict=True):
        assert answer.status_code in (200, 201, 404), path
        assert answer.headers["Cache-Control"] == "no-store", path


# --- who read what ---------------------------------------------------------------------------------------


def test_each_read_of_an_incidents_details_is_recorded_outside_the_log_and_officials_see_it(
        api: Api, services: Services, incident: str) -> None:
    head = services.store.head()
    api.get(f"/api/incidents/{incident}", "lek")
    api.get(f"/api/incidents/{incident}", "operator")
    api.get(f"/api/audit/incidents/{incident}", "official")
    api.get(f"/api/incidents/{incident}", "ploy")  # refused: nothing was read

    answer = api.get(f"/api/audit/reads?incident_id={incident}", "official")

    assert answer.status_code == 200, answer.text
    reads = answer.json()["reads"]
    assert [(r["actor_id"], r["role"], r["view"]) for r in reads] == [
        ("official", "official", "audit_trail"), ("operator", "operator", "incident"), ("lek", "lifeguard", "incident")]
    assert {r["incident_id"] for r in reads} == {incident} and all(r["read_at"] for r in reads)
    assert services.store.head() == head, "reads are not events"
    by_lek = api.get("/api/audit/reads?actor_id=lek", "official").json()["reads"]
    assert [(r["actor_id"], r["incident_id"]) for r in by_lek] == [("lek", incident)]


@pytest.mark.parametrize("who", ["lek", "nok", "operator", "admin"])
def test_only_officials_see_who_read_what(api: Api, incident: str, who: str) -> None:
    answer = api.get(f"/api/audit/reads?incident_id={incident}", who)

    assert answer.status_code == 403 and answer.json()["code"] == "not_permitted"


def test_the_reads_filter_refuses_a_malformed_id(api: Api) -> None:
    for query in ("incident_id=a%00b", "actor_id=" + "x" * 81, "limit=0", "limit=501"):
        answer = api.get(f"/api/audit/reads?{query}", "official")
        assert answer.status_code == 422, query
        assert answer.json()["field"] in ("incident_id", "actor_id", "limit"), query


def test_a_read_is_answered_when_its_record_cannot_be_written_and_the_log_line_holds_no_patient_text(
        api: Api, services: Services, incident: str, caplog: pytest.LogCaptureFixture) -> None:
    with services.store.engine.begin() as db:
        db.execute(text("DROP TABLE read_access"))

    with caplog.at_level(logging.WARNING, logger="dispatch.adapters.read_access"):
        answer = api.get(f"/api/incidents/{incident}", "lek")

    assert answer.status_code == 200 and answer.json()["description"] == SECRET
    lost = [record for record in caplog.records if record.name == "dispatch.adapters.read_access"]
    assert [(r.getMessage(), r.__dict__["actor"], r.__dict__["incident"]) for r in lost] == [
        ("read_not_recorded", "lek", incident)]
    assert all(SECRET not in str(r.__dict__) for r in lost)
