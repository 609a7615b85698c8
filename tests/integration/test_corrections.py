"""An operator's corrections end to end on SQLite and PostgreSQL: through `handle` and the HTTP API, into the
board, the fleet, the referral tracker, the response intervals and the worker's prediction.

The story: a red patient at the Phru Nai health unit (Koh Yao Yai) under Koh Yao's 80-minute guarantee. A slow
boat from Thap Lamu is sent and named to carry the patient to Vachira Phuket, a fast one waits at the health unit;
a second incident at Khao Lak needs a unit too. Time is the test's frozen clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dispatch.adapters.eventlog.store import StreamWrite
from dispatch.adapters.read_models import BOARD, REFERRALS, RESOURCES, RESPONSES
from dispatch.app import deadlines
from dispatch.app.handle import handle
from dispatch.app.services import Services
from dispatch.domain.catalogue import (
    Event,
    IncidentClosed,
    NoteAdded,
    ReferralAtRisk,
    ReferralCarrierChanged,
    ReferralRequested,
    ResourceStatusChanged,
    incident_stream,
)
from dispatch.domain.commands import (
    ChangeReferralCarrier,
    ChangeReferralDestination,
    Command,
    DispatchResource,
    ReassignResource,
    RecordMilestone,
    RegisterResource,
    ReportIncident,
    RequestReferral,
    StandDownResource,
)
from dispatch.domain.decisions import incident as incident_rules
from dispatch.domain.decisions import resource as resource_rules
from dispatch.domain.errors import (
    ConcurrencyConflict,
    IncidentAlreadyClosed,
    ResourceNotAssigned,
    ResourceUnavailable,
)
from dispatch.domain.recommend import predict_arrival
from dispatch.entrypoints.api.app import create_app
from dispatch.projections import all_projections
from dispatch.projections.runner import Projector
from dispatch.reports.queries import ReportFilter
from dispatch.reports.response_times import response_time_report
from dispatch.runtime.clock import FrozenClock
from tests.builders import KOH_YAO_POLICY, minutes, operator
from tests.integration.test_api import PASSWORD, ROLES, Api
from tests.integration.test_service import SneakyStore

CLINIC = "inc-phru-nai"
BEACH = "inc-khao-lak"
SLOW = "TL-01"  # 15 kn, at Thap Lamu: hours from Koh Yao
FAST = "KY-01"  # 35 kn, at the health unit
TEAM = "KY-TEAM"
VACHIRA = "hosp_vachira_phuket"
KRABI = "hosp_krabi"


def run(services: Services, command: Command) -> list[Event]:
    return [stored.event for stored in handle(command, services).events]


def now(services: Services) -> Any:
    return services.clock.now()


def fleet(services: Services) -> None:
    places = services.places
    for resource_id, site, knots in ((SLOW, "pier_thap_lamu", 15.0), (FAST, "hu_phru_nai", 35.0)):
        place = places.get(site)
        run(services, RegisterResource(actor=operator(), at=now(services), resource_id=resource_id, kind="boat",
                                       name=f"boat {resource_id}", speed_knots=knots, position=place.position,
                                       home_site_id=site, zone=place.zone))
    run(services, RegisterResource(actor=operator(), at=now(services), resource_id=TEAM, kind="team",
                                   name="Koh Yao Yai volunteers"))


def incidents(services: Services) -> None:
    """The clinic's red patient and a Khao Lak drowning, both open."""
    places = services.places
    clinic, beach = places.get("hu_phru_nai"), places.get("beach_nang_thong")
    run(services, ReportIncident(actor=operator(), at=now(services), incident_id=CLINIC, source="clinic",
                                 position=clinic.position, site_id=clinic.id, zone="koh_yao", triage="red",
                                 category="other"))
    run(services, ReportIncident(actor=operator(), at=now(services), incident_id=BEACH, source="beach",
                                 position=beach.position, site_id=beach.id, zone="khao_lak_coast", triage="yellow",
                                 category="drowning"))


def dispatch(services: Services, resource_id: str, incident_id: str = CLINIC) -> None:
    run(services, DispatchResource(actor=operator(), at=now(services), incident_id=incident_id,
                                   resource_id=resource_id))


def refer(services: Services, carrier: str = SLOW) -> ReferralRequested:
    [requested] = run(services, RequestReferral(actor=operator(), at=now(services), incident_id=CLINIC,
                                                facility_id=VACHIRA, resource_id=carrier, policy=KOH_YAO_POLICY))
    assert isinstance(requested, ReferralRequested)
    return requested


@pytest.fixture
def story(services: Services, clock: FrozenClock) -> Services:
    """Both incidents open; both boats and the team on the clinic's; the slow boat named to carry its referral."""
    fleet(services)
    incidents(services)
    for resource_id in (SLOW, FAST, TEAM):
        dispatch(services, resource_id)
    clock.advance(minutes(1))
    refer(services)
    return services


def project(services: Services) -> None:
    Projector(services.store, all_projections()).catch_up_all()


def rows(services: Services, table: Any, **where: str) -> list[dict[str, Any]]:
    query = select(table).where(*(table.c[name] == value for name, value in where.items()))
    with services.store.engine.connect() as db:
        return [dict(row) for row in db.execute(query).mappings()]


def one(services: Services, table: Any, **where: str) -> dict[str, Any]:
    [row] = rows(services, table, **where)
    return row


def assignment(services: Services, incident_id: str, resource_id: str) -> dict[str, Any]:
    board = one(services, BOARD, incident_id=incident_id)
    return next(a for a in board["assignments"] if a["resource_id"] == resource_id)


# --- stand down and reassign: the board, the fleet, one append --------------------------------------


def test_a_unit_stood_down_leaves_the_board_and_is_available_in_the_fleet(story: Services) -> None:
    run(story, StandDownResource(actor=operator(), at=now(story), incident_id=CLINIC, resource_id=TEAM,
                                 reason="sent by mistake"))
    project(story)

    stood_down = assignment(story, CLINIC, TEAM)
    assert (stood_down["released"], stood_down["ended_by"]) == (True, "stood_down")
    team = one(story, RESOURCES, resource_id=TEAM)
    assert (team["status"], team["incident_id"]) == ("available", None)


def test_a_reassignment_appends_to_both_incidents_and_the_unit_in_one_transaction(story: Services) -> None:
    result = handle(ReassignResource(actor=operator(), at=now(story), incident_id=CLINIC, resource_id=TEAM,
                                     to_incident_id=BEACH), story)

    assert [(e.stream_id, e.type) for e in result.events] == [
        (f"incident-{CLINIC}", "ResourceReassigned"), (f"incident-{BEACH}", "ResourceDispatched"),
        (f"resource-{TEAM}", "ResourceStatusChanged")]
    assert [e.position for e in result.events] == list(range(result.events[0].position,
                                                              result.events[0].position + 3))
    project(story)
    assert assignment(story, CLINIC, TEAM)["ended_by"] == "reassigned"
    moved = assignment(story, BEACH, TEAM)
    assert (moved["released"], moved["from_incident_id"]) == (False, CLINIC)
    team = one(story, RESOURCES, resource_id=TEAM)
    assert (team["status"], team["incident_id"], team["milestone"]) == ("assigned", BEACH, "resource_notified")


def version_of(services: Services, stream_id: str) -> int:
    return services.store.read_stream(stream_id)[-1].version


def test_a_target_incident_closed_meanwhile_stops_the_reassignment_and_nothing_is_appended(story: Services) -> None:
    closed = IncidentClosed(at=now(story), incident_id=BEACH, outcome="false_alarm")
    story.store = SneakyStore(story.store, StreamWrite(incident_stream(BEACH), [closed],
                                                       version_of(story, incident_stream(BEACH))))
    head_before = story.store.head()

    with pytest.raises(IncidentAlreadyClosed) as refused:
        handle(ReassignResource(actor=operator(), at=now(story), incident_id=CLINIC, resource_id=TEAM,
                                to_incident_id=BEACH), story)

    assert refused.value.field == "to_incident_id"
    assert story.store.head() == head_before + 1  # the close alone
    assert story.store.read_stream(incident_stream(CLINIC))[-1].type != "ResourceReassigned"


def sneak_a_note_into_the_target(story: Services) -> None:
    noted = NoteAdded(at=now(story), incident_id=BEACH, text="second caller: swimmer out of the water")
    story.store = SneakyStore(story.store, StreamWrite(incident_stream(BEACH), [noted],
                                                       version_of(story, incident_stream(BEACH))))


def test_a_change_to_the_target_incident_meanwhile_is_a_conflict_for_a_client_that_stated_its_version(
    story: Services
) -> None:
    sneak_a_note_into_the_target(story)
    head_before = story.store.head()

    with pytest.raises(ConcurrencyConflict) as conflict:
        handle(ReassignResource(actor=operator(), at=now(story), incident_id=CLINIC, resource_id=TEAM,
                                to_incident_id=BEACH, expected_version=version_of(story, incident_stream(CLINIC))),
               story)

    assert conflict.value.stream_id == incident_stream(BEACH)
    assert story.store.head() == head_before + 1  # the note alone


def test_a_change_to_the_target_incident_meanwhile_is_read_again_when_the_client_stated_no_version(
    story: Services
) -> None:
    sneak_a_note_into_the_target(story)

    result = handle(ReassignResource(actor=operator(), at=now(story), incident_id=CLINIC, resource_id=TEAM,
                                     to_incident_id=BEACH), story)

    [dispatched] = [e for e in result.events if e.stream_id == incident_stream(BEACH)]
    assert dispatched.version == version_of(story, incident_stream(BEACH)) == 3  # after the note that slipped in


def test_a_unit_taken_out_of_service_meanwhile_is_not_moved(story: Services) -> None:
    # The unit's own stream changes between the read and the append: the clash is caught, the retry reads the
    # unit again and finds it no longer on the incident by its own record.
    broke_down = ResourceStatusChanged(at=now(story), resource_id=TEAM, status="out_of_service", reason="injury")
    story.store = SneakyStore(story.store, StreamWrite(f"resource-{TEAM}", [broke_down],
                                                       version_of(story, f"resource-{TEAM}")))
    head_before = story.store.head()

    with pytest.raises(ResourceNotAssigned):
        handle(ReassignResource(actor=operator(), at=now(story), incident_id=CLINIC, resource_id=TEAM,
                                to_incident_id=BEACH), story)

    assert story.store.head() == head_before + 1  # the status change alone


# --- the interval read model -----------------------------------------------------------------------


def test_a_unit_released_and_sent_again_keeps_both_responses_in_the_intervals_and_the_report(
    story: Services, clock: FrozenClock
) -> None:
    def milestone(name: str) -> None:
        run(story, RecordMilestone(actor=operator(), at=now(story), incident_id=CLINIC, resource_id=TEAM,
                                   milestone=name))  # type: ignore[arg-type]

    clock.advance(minutes(4))
    milestone("on_scene")  # first response: 5 minutes from the dispatch
    clock.advance(minutes(2))
    run(story, StandDownResource(actor=operator(), at=now(story), incident_id=CLINIC, resource_id=TEAM))
    clock.advance(minutes(10))
    dispatch(story, TEAM)
    clock.advance(minutes(7))
    milestone("on_scene")  # second response: 7 minutes
    project(story)

    responses = sorted(rows(story, RESPONSES, incident_id=CLINIC, resource_id=TEAM), key=lambda r: r["response_no"])
    assert [(r["response_id"], r["response_no"], r["response_seconds"], r["ended_by"]) for r in responses] == [
        (f"{CLINIC}/{TEAM}", 1, 300, "stood_down"), (f"{CLINIC}/{TEAM}/2", 2, 420, None)]
    assert responses[0]["cancelled_at"] == responses[0]["on_scene_at"] + minutes(2)
    report = response_time_report(story.store.engine, ReportFilter(), limit=100)
    counted = [(row["resource_id"], row["response_seconds"]) for row in report["responses"]["rows"]]
    assert counted.count((TEAM, 300)) == 1 and counted.count((TEAM, 420)) == 1
    # Rebuilt from the log, the rows are the same.
    Projector(story.store, all_projections()).rebuild(["intervals"])
    again = sorted(rows(story, RESPONSES, incident_id=CLINIC, resource_id=TEAM), key=lambda r: r["response_no"])
    assert [{k: v for k, v in r.items() if k != "position"} for r in again] == [
        {k: v for k, v in r.items() if k != "position"} for r in responses]


def test_a_referral_carried_by_a_unit_sent_twice_is_reported_once_with_the_response_that_carries_it(
    story: Services, clock: FrozenClock
) -> None:
    # the team's first response ends back in service; sent again, it is named to carry the referral
    run(story, RecordMilestone(actor=operator(), at=now(story), incident_id=CLINIC, resource_id=TEAM,
                               milestone="back_in_service"))
    clock.advance(minutes(5))
    dispatch(story, TEAM)
    run(story, ChangeReferralCarrier(actor=operator(), at=now(story), incident_id=CLINIC, resource_id=TEAM))
    clock.advance(minutes(6))
    run(story, RecordMilestone(actor=operator(), at=now(story), incident_id=CLINIC, resource_id=TEAM,
                               milestone="on_scene"))
    project(story)

    report = response_time_report(story.store.engine, ReportFilter(), limit=0)

    [line] = report["referrals"]["open_referrals"]
    assert (line["resource_id"], line["response_seconds"]) == (TEAM, 6 * 60)


# --- the referral: carrier and destination, the prediction and the worker's checks ------------------


@pytest.fixture
def worker(story: Services) -> Iterator[Services]:
    """The worker's checks, run in this process on the test's services and frozen clock."""
    deadlines.use_services(story)
    yield story


def predicted(services: Services) -> Any:
    """The referral's predicted arrival as the one ETA model gives it for the referral as it stands now."""
    events = [stored.event for stored in services.store.read_stream(incident_stream(CLINIC))]
    incident = incident_rules.fold(events)
    assert incident is not None and incident.open_referral is not None
    referral = incident.open_referral
    requested = next(e for e in events if isinstance(e, ReferralRequested))
    current = msgspec.structs.replace(requested, facility_id=referral.facility_id, resource_id=referral.resource_id)
    fleet_now = {r.id: r for r in _fleet(services)}
    return predict_arrival(current, incident, fleet_now, now(services), services.places, services.settings)


def _fleet(services: Services) -> list[Any]:
    found = []
    for resource_id in (SLOW, FAST, TEAM):
        state = resource_rules.fold(e.event for e in services.store.read_stream(f"resource-{resource_id}"))
        assert state is not None
        found.append(state)
    return found


def at_risk(services: Services) -> list[ReferralAtRisk]:
    return [e.event for e in services.store.read_stream(incident_stream(CLINIC)) if isinstance(e.event, ReferralAtRisk)]


def test_a_faster_carrier_lifts_a_predicted_risk_and_the_worker_predicts_with_it(
    worker: Services, clock: FrozenClock
) -> None:
    # given the slow boat named: the worker predicts the breach
    assert deadlines.check_referral_prediction(CLINIC) == 1
    [slow] = at_risk(worker)
    assert slow.reason == "predicted_late" and slow.predicted_arrival_at == predicted(worker).arrival_at
    project(worker)
    assert one(worker, REFERRALS, incident_id=CLINIC)["status"] == "at_risk"
    # when the operator names the fast boat at the health unit
    clock.advance(minutes(2))
    [changed] = run(worker, ChangeReferralCarrier(actor=operator(), at=now(worker), incident_id=CLINIC,
                                                  resource_id=FAST))
    # then the risk only the slow boat's prediction raised is lifted, the board and tracker follow
    assert isinstance(changed, ReferralCarrierChanged) and changed.risk_lifted
    project(worker)
    tracked = one(worker, REFERRALS, incident_id=CLINIC)
    assert (tracked["status"], tracked["resource_id"], tracked["predicted_arrival_at"]) == ("on_track", FAST, None)
    board = one(worker, BOARD, incident_id=CLINIC)["referral"]
    assert (board["status"], board["resource_id"], board["advice"]) == ("on_track", FAST, "")
    # and the worker's prediction is the fast boat's, on time: nothing to append
    assert predicted(worker).boat.id == FAST and predicted(worker).arrival_at < tracked["deadline_at"]
    assert deadlines.check_referral_prediction(CLINIC) == 0
    assert len(at_risk(worker)) == 1


def test_another_destination_keeps_the_clock_and_the_worker_predicts_the_new_route(
    worker: Services, clock: FrozenClock
) -> None:
    requested = refer_fast_first(worker)
    clock.advance(minutes(3))

    run(worker, ChangeReferralDestination(actor=operator(), at=now(worker), incident_id=CLINIC, facility_id=KRABI))
    # The fast boat waits at the health unit until the trip to Krabi, by the model, ends a minute past the deadline.
    assert requested.deadline_at is not None
    clock.advance(requested.deadline_at - predicted(worker).arrival_at + minutes(1))
    assert deadlines.check_referral_prediction(CLINIC) == 1

    project(worker)
    tracked = one(worker, REFERRALS, incident_id=CLINIC)
    assert (tracked["facility_id"], tracked["requested_at"], tracked["deadline_at"]) == (
        KRABI, requested.at, requested.deadline_at)
    expected = predicted(worker)
    assert (expected.facility.id, expected.boat.id) == (KRABI, FAST)
    assert [(r.reason, r.predicted_arrival_at) for r in at_risk(worker)] == [("predicted_late", expected.arrival_at)]
    assert (tracked["status"], tracked["predicted_arrival_at"]) == ("at_risk", expected.arrival_at)


def refer_fast_first(services: Services) -> ReferralRequested:
    """The clinic's referral with the fast boat named from the start (the story's is the slow one's)."""
    events = [stored.event for stored in services.store.read_stream(incident_stream(CLINIC))]
    requested = next(e for e in events if isinstance(e, ReferralRequested))
    run(services, ChangeReferralCarrier(actor=operator(), at=now(services), incident_id=CLINIC, resource_id=FAST))
    return requested


# --- over HTTP: who may, and what bad input gets -----------------------------------------------------


@pytest.fixture
def api(story: Services) -> Iterator[Api]:
    for role in ROLES:
        story.accounts.add_user(role, role, PASSWORD)
    with TestClient(create_app(story)) as client:
        yield Api(client)


CORRECTIONS = [("stand-down", {"resource_id": TEAM}), ("reassign", {"resource_id": TEAM, "to_incident_id": BEACH}),
               ("referral/carrier", {"resource_id": FAST}), ("referral/destination", {"facility_id": KRABI})]


@pytest.mark.parametrize(("action", "body"), CORRECTIONS, ids=[action for action, _ in CORRECTIONS])
def test_only_operators_correct_and_a_lifeguard_is_refused_with_403(api: Api, action: str,
                                                                      body: dict[str, Any]) -> None:
    refused = api.post(f"/api/incidents/{CLINIC}/{action}", "lifeguard", body)
    assert refused.status_code == 403 and refused.json()["code"] == "not_permitted"
    done = api.post(f"/api/incidents/{CLINIC}/{action}", "operator", body)
    assert done.status_code == 200, done.text


BAD = [
    ("stand-down", {"resource_id": "KY-99"}, 422, "resource_not_on_incident", "resource_id"),
    ("stand-down", {"resource_id": SLOW}, 409, "resource_carries_referral", "resource_id"),
    ("reassign", {"resource_id": TEAM, "to_incident_id": "inc-nowhere"}, 422, "invalid_input", "to_incident_id"),
    ("reassign", {"resource_id": TEAM, "to_incident_id": CLINIC}, 422, "invalid_input", "to_incident_id"),
    ("reassign", {"resource_id": TEAM}, 422, "invalid_input", "to_incident_id"),
    ("referral/carrier", {"resource_id": SLOW}, 422, "referral_unchanged", "resource_id"),
    ("referral/carrier", {"resource_id": "KY-99"}, 422, "resource_not_on_incident", "resource_id"),
    ("referral/carrier", {"resource_id": FAST, "referral_id": "inc-other-r1"}, 409, "no_open_referral",
     "referral_id"),
    ("referral/destination", {"facility_id": VACHIRA}, 422, "referral_unchanged", "facility_id"),
    ("referral/destination", {"facility_id": "hosp_atlantis"}, 422, "facility_not_found", "facility_id"),
    ("referral/destination", {"facility_id": "beach_nang_thong"}, 422, "facility_not_found", "facility_id"),
]


@pytest.mark.parametrize(("action", "body", "status", "code", "field"), BAD,
                         ids=[f"{action}-{code}-{field}" for action, _b, _s, code, field in BAD])
def test_bad_corrections_name_the_field_and_the_rule_and_append_nothing(
    api: Api, story: Services, action: str, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    head = story.store.head()

    answer = api.post(f"/api/incidents/{CLINIC}/{action}", "operator", body)

    assert (answer.status_code, answer.json()["code"], answer.json()["field"]) == (status, code, field)
    assert story.store.head() == head


def test_a_unit_that_delivered_the_patient_is_not_stood_down_over_http(api: Api, story: Services) -> None:
    run(story, RecordMilestone(actor=operator(), at=now(story), incident_id=CLINIC, resource_id=FAST,
                               milestone="at_destination"))

    answer = api.post(f"/api/incidents/{CLINIC}/stand-down", "operator", {"resource_id": FAST})

    assert (answer.status_code, answer.json()["code"]) == (409, "response_completed")


def test_a_stood_down_unit_can_be_dispatched_again_and_the_timeline_shows_both(api: Api, story: Services) -> None:
    assert api.post(f"/api/incidents/{CLINIC}/stand-down", "operator", {"resource_id": TEAM}).status_code == 200
    again = api.post(f"/api/incidents/{CLINIC}/dispatch", "operator", {"resource_id": TEAM})
    assert again.status_code == 200, again.text

    view = api.get(f"/api/incidents/{CLINIC}", "operator").json()

    types = [entry["type"] for entry in view["timeline"] if entry["data"].get("resource_id") == TEAM]
    assert types == ["ResourceDispatched", "ResourceStoodDown", "ResourceDispatched"]
    [team] = [a for a in view["assignments"] if a["resource_id"] == TEAM]
    assert (team["released"], team["ended_by"]) == (False, None)


def test_dispatching_a_unit_another_incident_holds_is_still_refused_after_a_reassignment(story: Services) -> None:
    run(story, ReassignResource(actor=operator(), at=now(story), incident_id=CLINIC, resource_id=TEAM,
                                to_incident_id=BEACH))

    with pytest.raises(ResourceUnavailable):
        dispatch(story, TEAM)
