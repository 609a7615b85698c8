"""Park-season units and patients' languages over the API, on SQLite and PostgreSQL: a unit out of season is shown
as such and never recommended, and serves again when the season opens with nothing appended; a report takes any
ISO 639-1 language and refuses any other, naming the field (migration 0008: tests/integration/test_migrations.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dispatch.app.services import Services
from dispatch.projections import all_projections
from dispatch.projections.runner import Projector
from dispatch.runtime.clock import FrozenClock
from tests.integration import test_api
from tests.integration.test_api import Api, register, report

# 1 June 2026: Similan and Surin are closed. 15 October 2026 00:00 in Bangkok: they open.
CLOSED = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
REOPENS = datetime(2026, 10, 14, 17, 0, tzinfo=UTC)
NEXT_CLOSURE = datetime(2027, 5, 15, 17, 0, tzinfo=UTC)
DIVER = {"source": "boat", "site_id": "sim_ko_similan_8", "category": "dive_injury"}
api = test_api.api  # the fixture: one account per role, a TestClient over the app


def project(services: Services) -> None:
    Projector(services.store, all_projections()).catch_up_all()


def fleet_row(api: Api, resource_id: str) -> dict[str, Any]:
    rows = api.get("/api/resources", "operator").json()["resources"]
    return next(row for row in rows if row["resource_id"] == resource_id)


def recommended_boats(api: Api, incident_id: str) -> list[str]:
    answer = api.get(f"/api/incidents/{incident_id}/recommendations", "operator")
    assert answer.status_code == 200, answer.text
    return [boat["resource_id"] for boat in answer.json()["resources"]["boats"]]


# --- seasons ------------------------------------------------------------------------------------------------


def test_a_park_unit_out_of_season_is_unavailable_and_serves_again_when_the_park_opens(
    api: Api, services: Services, clock: FrozenClock
) -> None:
    clock.set(CLOSED)
    incident_id = report(api, "operator", **DIVER)
    register(api, "SIM-BOAT", speed_knots=25, home_site_id="sim_hq_ko_miang", season="park_season")
    register(api, "TL-BOAT", speed_knots=20, home_site_id="pier_thap_lamu")
    project(services)

    closed = fleet_row(api, "SIM-BOAT")
    assert (closed["season"], closed["status"], closed["in_service"]) == ("park_season", "available", False)
    assert closed["service_reason"] == "out_of_season"
    assert datetime.fromisoformat(closed["returns_at"]) == REOPENS
    assert closed["service_changes_in_seconds"] == int((REOPENS - CLOSED).total_seconds()) + 1
    assert recommended_boats(api, incident_id) == ["TL-BOAT"], "nearer, but not there out of season"
    head = services.store.head()

    clock.set(REOPENS)
    api.tokens.clear()  # a sign-in lasts a shift, not four months

    opened = fleet_row(api, "SIM-BOAT")
    assert (opened["in_service"], opened["service_reason"], opened["returns_at"]) == (True, None, None)
    assert datetime.fromisoformat(opened["season_ends_at"]) == NEXT_CLOSURE
    assert recommended_boats(api, incident_id)[0] == "SIM-BOAT"
    assert services.store.head() == head, "nobody had to change the unit"


def test_one_resource_answers_with_its_season_and_service(api: Api, clock: FrozenClock) -> None:
    clock.set(CLOSED)
    register(api, "SUR-TEAM", kind="team", home_site_id="sur_hq_chong_khad", season="park_season")

    answer = api.get("/api/resources/SUR-TEAM", "operator").json()

    assert (answer["season"], answer["in_service"], answer["service_reason"]) == ("park_season", False, "out_of_season")
    assert datetime.fromisoformat(answer["returns_at"]) == REOPENS


def test_a_unit_registered_without_a_season_serves_all_year(api: Api, services: Services,
                                                            clock: FrozenClock) -> None:
    clock.set(CLOSED)
    register(api, "KY-BOAT", home_site_id="isl_ko_yao_noi")
    project(services)

    row = fleet_row(api, "KY-BOAT")

    assert (row["season"], row["in_service"], row["season_ends_at"], row["service_changes_in_seconds"]) == (
        "all_year", True, None, None)


def test_an_unknown_season_is_refused_naming_the_field(api: Api, services: Services) -> None:
    answer = api.post("/api/resources", "operator", {"id": "X-1", "kind": "team", "name": "x", "season": "monsoon"})

    assert answer.status_code == 422 and answer.json()["field"] == "season"
    assert services.store.head() == 0


# --- patients' languages -----------------------------------------------------------------------------------


def test_a_report_in_russian_shows_the_language_on_the_incident_and_the_board(api: Api, services: Services) -> None:
    incident_id = report(api, language="ru")
    project(services)

    assert api.get(f"/api/incidents/{incident_id}", "operator").json()["language"] == "ru"
    [row] = api.get("/api/board", "operator").json()["incidents"]
    assert row["language"] == "ru"


def test_a_language_code_typed_in_capitals_is_the_same_language(api: Api) -> None:
    incident_id = report(api, language="DE")

    assert api.get(f"/api/incidents/{incident_id}", "operator").json()["language"] == "de"


@pytest.mark.parametrize("code", ["xx", "rus", "english", "e", 7])
def test_a_report_in_an_unknown_language_is_refused_naming_the_field(api: Api, services: Services,
                                                                    code: object) -> None:
    answer = api.post("/api/incidents", "lifeguard", {"source": "beach", "site_id": "beach_nang_thong",
                                                      "triage": "red", "category": "drowning", "language": code})

    assert answer.status_code == 422, answer.text
    assert (answer.json()["code"], answer.json()["field"]) == ("invalid_input", "language")
    assert services.store.head() == 0, "nothing half-written"


def test_every_iso_639_1_language_is_listed_with_its_names_common_ones_first(api: Api, services: Services) -> None:
    listed = api.get("/api/languages", "lifeguard").json()["languages"]

    common = [language["code"] for language in listed if language["common"]]
    assert common == list(services.settings.common_languages)
    assert [language["code"] for language in listed[:len(common)]] == common
    assert len(listed) == len({language["code"] for language in listed}) > 180
    russian = next(language for language in listed if language["code"] == "ru")
    assert (russian["name_en"], russian["name_th"]) == ("Russian", "รัสเซีย")
