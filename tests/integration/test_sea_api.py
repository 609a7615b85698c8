"""The sea picture at the API (SQLite and PostgreSQL): a crew phone's position is recorded when it means something,
for its own unit only; one transponder moves one resource; recommendations rank a transponder's boat where its
course and speed carried it and say when its position went stale; beacons are answered only on beacon incidents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from dispatch.app.handle import handle
from dispatch.app.services import Services
from dispatch.domain.catalogue import Position
from dispatch.domain.commands import SYSTEM, ReportResourcePosition
from dispatch.entrypoints.api.app import create_app
from dispatch.projections import all_projections
from dispatch.projections.runner import Projector
from dispatch.runtime.clock import FrozenClock
from tests.integration.test_api import PASSWORD, ROLES, Api, register, report

CREWED = "KL-BOAT-1"


@pytest.fixture
def api(services: Services) -> Iterator[Api]:
    for role in ROLES:
        services.accounts.add_user(role, role, PASSWORD, resource_id=CREWED if role == "lifeguard" else None)
    with TestClient(create_app(services)) as client:
        yield Api(client)


def project(services: Services) -> None:
    Projector(services.store, all_projections()).catch_up_all()


def share(api: Api, resource_id: str, lat: float, lon: float) -> object:
    return api.post(f"/api/resources/{resource_id}/position", "lifeguard", {"position": {"lat": lat, "lon": lon}})


def test_a_crew_phone_is_recorded_when_it_moved_and_only_for_its_own_unit(
    api: Api, services: Services, clock: FrozenClock
) -> None:
    register(api, CREWED)
    register(api, "KL-BOAT-2")
    first = share(api, CREWED, 8.70, 98.20)
    assert first.status_code == 200 and [e["type"] for e in first.json()["events"]] == ["ResourcePositionReported"]  # type: ignore[attr-defined]
    clock.advance(timedelta(seconds=10))
    assert share(api, CREWED, 8.72, 98.20).json()["events"] == []  # type: ignore[attr-defined]  # within 30 s
    clock.advance(timedelta(seconds=31))
    assert len(share(api, CREWED, 8.72, 98.20).json()["events"]) == 1  # type: ignore[attr-defined]  # 2 km on
    refused = share(api, "KL-BOAT-2", 8.72, 98.20)
    assert refused.status_code == 403 and refused.json()["code"] == "not_crew_of_resource"  # type: ignore[attr-defined]
    project(services)
    row = next(r for r in api.get("/api/resources", "operator").json()["resources"] if r["resource_id"] == CREWED)
    assert (row["position_source"], row["lat"]) == ("crew_phone", 8.72)


def test_one_transponder_moves_one_resource(api: Api, services: Services) -> None:
    register(api, "KL-BOAT-1", mmsi="567012345")
    project(services)
    answer = api.post("/api/resources", "operator", {"id": "KL-BOAT-2", "kind": "boat", "name": "two",
                                                    "speed_knots": 20, "mmsi": "567012345"})
    assert answer.status_code == 409 and answer.json()["code"] == "mmsi_already_claimed"
    assert answer.json()["field"] == "mmsi"
    beacon = api.client.patch("/api/resources/KL-BOAT-1", json={"mmsi": "970012345"}, headers=api.as_("operator"))
    assert beacon.status_code == 422 and beacon.json()["field"] == "mmsi"
    untied = api.client.patch("/api/resources/KL-BOAT-1", json={"mmsi": ""}, headers=api.as_("operator"))
    assert [e["type"] for e in untied.json()["events"]] == ["ResourceMmsiSet"]
    project(services)
    assert api.post("/api/resources", "operator", {"id": "KL-BOAT-2", "kind": "boat", "name": "two",
                                                  "speed_knots": 20, "mmsi": "567012345"}).status_code == 201


def test_recommendations_rank_a_transponders_boat_where_it_has_gone_and_say_when_it_is_stale(
    api: Api, services: Services, clock: FrozenClock
) -> None:
    register(api, "KL-BOAT-1", mmsi="567012345")
    handle(ReportResourcePosition(actor=SYSTEM, at=clock.now(), resource_id="KL-BOAT-1", source="ais",
                                  position=Position(lat=8.60, lon=98.10), course_deg=90.0, sog_knots=20.0), services)
    incident = report(api, position={"lat": 8.60, "lon": 98.20}, site_id=None, source="boat")
    project(services)

    def boat() -> dict[str, object]:
        found = api.get(f"/api/incidents/{incident}/recommendations", "operator").json()["resources"]["boats"]
        return dict(next(option for option in found if option["resource_id"] == "KL-BOAT-1"))

    heard = boat()
    clock.advance(timedelta(minutes=5))  # 20 kn east for 5 minutes: 3 km nearer the scene 11 km east
    moving = boat()
    assert heard["dead_reckoned"] is False and moving["dead_reckoned"] is True
    assert float(moving["distance_km"]) == pytest.approx(float(heard["distance_km"]) - 3.09, abs=0.1)  # type: ignore[arg-type]
    assert (moving["position_source"], moving["position_stale"]) == ("ais", False)
    clock.advance(timedelta(minutes=6))  # 11 minutes unheard: stale, and carried no further than 10 minutes
    late = boat()
    assert late["position_stale"] is True
    assert float(late["distance_km"]) == pytest.approx(float(heard["distance_km"]) - 6.17, abs=0.1)  # type: ignore[arg-type]


def test_a_beacon_is_answered_only_on_an_incident_a_beacon_opened_and_vessels_only_at_sea(api: Api) -> None:
    incident = report(api)  # a beach at Khao Lak
    refused = api.post(f"/api/incidents/{incident}/beacon/confirm", "operator", {})
    assert refused.status_code == 409 and refused.json()["code"] == "not_a_beacon_incident"
    near = api.get(f"/api/incidents/{incident}/vessels", "operator").json()
    assert near["at_sea"] is False and near["vessels"] == []
