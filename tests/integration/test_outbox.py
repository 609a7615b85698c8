"""The outbox on both databases, step by step in this process: a dispatch becomes a notice in the projector's
transaction; addressing picks people, channels and words; each delivery claims its attempt in the log, sends to a
local server speaking the channel's protocol, and records the answer; operators see all of it.

The worker's jobs are the same functions run here by hand, so each step can be looked at; the same flow through
a real Redis and RQ worker process is tests/integration/test_outbox_worker.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dispatch.adapters.channels import MessageChannel
from dispatch.adapters.channels.line import LineChannel
from dispatch.adapters.channels.sms import SmsGateway
from dispatch.adapters.outbox_tables import DELIVERIES, NOTIFICATIONS
from dispatch.app.handle import handle
from dispatch.app.notify import address, deliver_once
from dispatch.app.services import Services
from dispatch.domain.catalogue import DeliveryAttempted, DeliveryAttemptFailed, DeliverySucceeded, delivery_stream
from dispatch.domain.commands import (
    SYSTEM,
    CheckReferral,
    DispatchResource,
    RegisterResource,
    ReportIncident,
    RequestReferral,
    StartDelivery,
)
from dispatch.domain.notices import delivery_key
from dispatch.entrypoints.api.app import create_app
from dispatch.projections.outbox import Outbox
from dispatch.projections.runner import Projector
from dispatch.runtime.clock import FrozenClock
from tests.builders import KOH_YAO_POLICY, minutes, operator
from tests.peers import (
    LINE_TOKEN,
    SMS_KEY,
    SMS_SECRET,
    LineApi,
    Scripted,
    SmsGatewayApi,
)

BOAT = "KY-01"
FACILITY = "hosp_vachira_phuket"
SOMCHAI, SOMCHAI_LINE, SOMCHAI_PHONE = "somchai", "U" + "a" * 32, "0812345678"
NURSE, NURSE_LINE = "nurse-pim", "U" + "b" * 32
PASSWORD = "correct horse battery"


@pytest.fixture
def channels(line_api: LineApi, sms_api: SmsGatewayApi) -> Iterator[dict[str, MessageChannel]]:
    line_api.friends |= {SOMCHAI_LINE, NURSE_LINE}
    built: dict[str, MessageChannel] = {
        "line": LineChannel(LINE_TOKEN, line_api.url, timeout_seconds=5),
        "sms": SmsGateway(f"{sms_api.url}/sms", SMS_KEY, SMS_SECRET, "1669", timeout_seconds=5)}
    yield built
    for channel in built.values():
        channel.close()


@pytest.fixture
def world(services: Services) -> Services:
    """A boat on Koh Yao with its crew (LINE and phone), an operator, and a nurse at Vachira Phuket hospital."""
    accounts = services.accounts
    accounts.add_user(SOMCHAI, "lifeguard", PASSWORD, resource_id=BOAT)
    accounts.set_contact(SOMCHAI, line_user_id=SOMCHAI_LINE, phone=SOMCHAI_PHONE, language="th", facility_id=None)
    accounts.add_user(NURSE, "official", PASSWORD)
    accounts.set_contact(NURSE, line_user_id=NURSE_LINE, phone=None, language="en", facility_id=FACILITY)
    accounts.add_user("operator", "operator", PASSWORD)
    site = services.places.get("hu_phru_nai")
    run(services, RegisterResource(actor=operator(), at=now(services), resource_id=BOAT, kind="boat",
                                   name="Koh Yao ambulance boat", speed_knots=25, position=site.position,
                                   home_site_id=site.id, zone="koh_yao"))
    run(services, ReportIncident(actor=operator(), at=now(services), incident_id="inc-1", source="clinic",
                                 position=site.position, zone="koh_yao", triage="red", category="other",
                                 site_id=site.id))
    return services


def now(services: Services) -> Any:
    return services.clock.now()


def run(services: Services, command: Any) -> None:
    handle(command, services)


def project(services: Services) -> None:
    Projector(services.store, [Outbox()]).catch_up_all()


def notifications(services: Services) -> list[dict[str, Any]]:
    with services.store.engine.connect() as db:
        return [dict(row) for row in db.execute(select(NOTIFICATIONS).order_by(NOTIFICATIONS.c.position))
                .mappings()]


def delivery(services: Services, key: str) -> dict[str, Any]:
    with services.store.engine.connect() as db:
        found = db.execute(select(DELIVERIES).where(DELIVERIES.c.delivery_key == key)).mappings().first()
    assert found is not None, key
    return dict(found)


def dispatched(services: Services, channels: dict[str, MessageChannel]) -> str:
    """Dispatch the boat and address the notice to its crew; the notice's key."""
    run(services, DispatchResource(actor=operator(), at=now(services), incident_id="inc-1", resource_id=BOAT))
    project(services)
    [notice] = notifications(services)
    assert notice["status"] == "pending" and notice["kind"] == "dispatched"
    address(services, channels, notice["notification_key"])
    project(services)
    return str(notice["notification_key"])


def test_a_dispatched_crew_gets_a_line_message_in_thai_with_a_link_to_the_incident(
        world: Services, channels: dict[str, MessageChannel], line_api: LineApi, sms_api: SmsGatewayApi) -> None:
    notice = dispatched(world, channels)
    line_key = delivery_key(notice, SOMCHAI, "line")
    assert delivery(world, line_key)["status"] == "queued"
    assert delivery(world, delivery_key(notice, SOMCHAI, "sms"))["status"] == "standby"
    assert deliver_once(world, channels, line_key) == "delivered"
    project(world)
    [text] = line_api.sent_to(SOMCHAI_LINE)
    assert "Koh Yao ambulance boat" in text and "inc-1" in text and "/?incident=inc-1" in text and "แดง" in text
    assert sms_api.sent == []  # reached on LINE: the SMS stands down
    assert delivery(world, delivery_key(notice, SOMCHAI, "sms"))["status"] == "skipped"
    assert notifications(world)[0]["status"] == "delivered"


def test_a_rate_limited_push_waits_its_turn_and_every_attempt_is_in_the_log(
        world: Services, channels: dict[str, MessageChannel], line_api: LineApi) -> None:
    assert isinstance(world.clock, FrozenClock)
    notice = dispatched(world, channels)
    line_key = delivery_key(notice, SOMCHAI, "line")
    line_api.then(Scripted(429, {"message": "The API rate limit has been exceeded."}, {"Retry-After": "20"}),
                  Scripted(500, {"message": "An error occurred in the internal server."}))
    assert deliver_once(world, channels, line_key) == "retrying"
    assert deliver_once(world, channels, line_key) == "not_due"  # before its retry time: nothing sent
    world.clock.advance(timedelta(seconds=20))
    assert deliver_once(world, channels, line_key) == "retrying"
    world.clock.advance(timedelta(seconds=30))
    assert deliver_once(world, channels, line_key) == "delivered"
    attempts = [stored.event for stored in world.store.read_stream(delivery_stream(line_key))]
    assert [type(event).__name__ for event in attempts] == [
        "DeliveryAttempted", "DeliveryAttemptFailed", "DeliveryAttempted", "DeliveryAttemptFailed",
        "DeliveryAttempted", "DeliverySucceeded"]
    failures = [event for event in attempts if isinstance(event, DeliveryAttemptFailed)]
    assert [(f.error, f.status_code) for f in failures] == [("rate_limited", 429), ("server_error", 500)]
    assert len(line_api.sent_to(SOMCHAI_LINE)) == 1


def test_a_refused_line_push_falls_over_to_sms(
        world: Services, channels: dict[str, MessageChannel], line_api: LineApi, sms_api: SmsGatewayApi) -> None:
    line_api.friends.clear()  # the crew blocked the Official Account: LINE refuses the push
    notice = dispatched(world, channels)
    line_key, sms_key = delivery_key(notice, SOMCHAI, "line"), delivery_key(notice, SOMCHAI, "sms")
    assert deliver_once(world, channels, sms_key) == "standby"  # not before LINE has failed for good
    assert deliver_once(world, channels, line_key) == "failed"
    project(world)
    assert (delivery(world, line_key)["status"], delivery(world, sms_key)["status"]) == ("failed_over", "queued")
    assert deliver_once(world, channels, sms_key) == "delivered"
    project(world)
    assert [number for number, _, _ in sms_api.sent] == [SOMCHAI_PHONE]
    assert notifications(world)[0]["status"] == "delivered"


def test_a_notice_nobody_can_receive_is_shown_failed_not_lost(
        world: Services, channels: dict[str, MessageChannel]) -> None:
    world.accounts.set_contact(SOMCHAI, line_user_id=None, phone=None, language="th", facility_id=None)
    dispatched(world, channels)
    [notice] = notifications(world)
    assert (notice["status"], notice["people"], notice["failed"], notice["unreachable"]) == (
        "failed", 1, 1, [SOMCHAI])


def test_a_notice_found_long_after_its_event_is_not_sent(
        world: Services, channels: dict[str, MessageChannel], line_api: LineApi) -> None:
    assert isinstance(world.clock, FrozenClock)
    run(world, DispatchResource(actor=operator(), at=now(world), incident_id="inc-1", resource_id=BOAT))
    project(world)
    world.clock.advance(timedelta(hours=3))  # a worker that was down for hours, or a log replayed from backup
    address(world, channels, notifications(world)[0]["notification_key"])
    project(world)
    assert notifications(world)[0]["status"] == "expired" and line_api.accepted == {}


def test_a_referral_at_risk_reaches_the_boat_carrying_it_and_the_receiving_hospital(
        world: Services, channels: dict[str, MessageChannel], line_api: LineApi) -> None:
    run(world, DispatchResource(actor=operator(), at=now(world), incident_id="inc-1", resource_id=BOAT))
    run(world, RequestReferral(actor=operator(), at=now(world), incident_id="inc-1", facility_id=FACILITY,
                               resource_id=BOAT, policy=KOH_YAO_POLICY))
    assert isinstance(world.clock, FrozenClock)
    world.clock.advance(minutes(61))
    [referral] = [e.event for e in world.store.read_stream("incident-inc-1")
                  if type(e.event).__name__ == "ReferralRequested"]
    run(world, CheckReferral(actor=SYSTEM, at=now(world), incident_id="inc-1",
                             referral_id=referral.referral_id, check="warning"))  # type: ignore[attr-defined]
    project(world)
    at_risk = [n for n in notifications(world) if n["kind"] == "referral_at_risk"]
    assert sorted(n["audience"] for n in at_risk) == ["carrier", "facility"]
    for notice in at_risk:
        address(world, channels, notice["notification_key"])
    project(world)
    for notice in at_risk:
        person = SOMCHAI if notice["audience"] == "carrier" else NURSE
        assert deliver_once(world, channels, delivery_key(notice["notification_key"], person, "line")) == "delivered"
    [english] = line_api.sent_to(NURSE_LINE)
    assert "Vachira" in english and "may miss its deadline" in english  # the nurse reads English
    assert any("ส่งต่อ" in text for text in line_api.sent_to(SOMCHAI_LINE))


def test_a_message_from_the_centre_reaches_the_crew_and_operators_see_every_delivery(
        world: Services, channels: dict[str, MessageChannel], line_api: LineApi) -> None:
    run(world, DispatchResource(actor=operator(), at=now(world), incident_id="inc-1", resource_id=BOAT))
    with TestClient(create_app(world)) as client:
        token = client.post("/api/auth/login", json={"username": "operator", "password": PASSWORD}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        sent = client.post("/api/incidents/inc-1/messages", headers=headers,
                           json={"resource_id": BOAT, "text": "Land at Chong Lad pier, ambulance waiting"})
        assert sent.status_code == 200, sent.text
        refused = client.post("/api/incidents/inc-1/messages", headers=headers,
                              json={"resource_id": "NO-SUCH-BOAT", "text": "hello"})
        assert (refused.status_code, refused.json()["code"]) == (409, "resource_not_assigned")
        project(world)
        message = next(n for n in notifications(world) if n["kind"] == "crew_message")
        address(world, channels, message["notification_key"])
        project(world)
        line_key = delivery_key(message["notification_key"], SOMCHAI, "line")
        line_api.then(Scripted(503, {"message": "busy"}))
        assert deliver_once(world, channels, line_key) == "retrying"
        project(world)
        listed = client.get("/api/deliveries?incident_id=inc-1", headers=headers).json()["notifications"]
        one = client.get(f"/api/deliveries/{line_key}", headers=headers).json()
        board = client.get("/api/board/notices", headers=headers).json()
    crew_message = next(n for n in listed if n["kind"] == "crew_message")
    line_row = next(d for d in crew_message["deliveries"] if d["channel"] == "line")
    assert (line_row["status"], line_row["last_error"], line_row["last_status_code"]) == ("retrying", "server_error",
                                                                                         503)
    assert [a["type"] for a in one["history"]] == ["DeliveryAttempted", "DeliveryAttemptFailed"]
    assert any(n["kind"] == "crew_message" and n["status"] == "sending" for n in board["notifications"])


def test_two_workers_on_one_delivery_make_one_attempt(world: Services, channels: dict[str, MessageChannel]) -> None:
    notice = dispatched(world, channels)
    key = delivery_key(notice, SOMCHAI, "line")
    claim = StartDelivery(actor=SYSTEM, at=now(world), delivery_key=key, notification_key=notice, channel="line",
                          lease=timedelta(seconds=60), repeatable=True)
    first, second = handle(claim, world), handle(claim, world)
    assert [type(e.event) for e in first.events] == [DeliveryAttempted] and second.events == []
    assert not any(isinstance(e.event, DeliverySucceeded) for e in world.store.read_stream(delivery_stream(key)))


def test_with_no_push_channel_configured_a_notice_is_posted_in_the_app_not_failed(world: Services) -> None:
    dispatched(world, {})  # a development setup: neither LINE nor SMS is configured
    [notice] = notifications(world)
    assert (notice["status"], notice["people"], notice["unreachable"]) == ("posted", 0, [])
