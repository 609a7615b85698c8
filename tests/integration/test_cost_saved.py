"""The yearly cost saved counts the seamless referrals of the zones whose policy makes them (Koh Yao by default),
not every referral anywhere: on SQLite and PostgreSQL, through the API as an official reads it."""

from __future__ import annotations

import pytest

from dispatch.app.services import Services
from dispatch.projections import all_projections
from dispatch.projections.runner import Projector
from dispatch.reports.summary import year_summary
from dispatch.runtime.settings import Settings
from tests.integration import test_api
from tests.integration.test_api import Api, report

KOH_YAO_CLINIC = {"source": "clinic", "site_id": "hu_phru_nai", "category": "trauma"}
KHAO_LAK_BEACH = {"source": "beach", "site_id": "beach_nang_thong", "category": "drowning"}
api = test_api.api  # the fixture: one account per role, a TestClient over the app


def refer(api: Api, place: dict[str, str], facility_id: str) -> None:
    incident_id = report(api, "operator", **place)
    answer = api.post(f"/api/incidents/{incident_id}/referral", "operator", {"facility_id": facility_id})
    assert answer.status_code == 200, answer.text


@pytest.fixture
def referrals(api: Api, services: Services) -> Api:
    """Two referrals from the Koh Yao Yai health unit and three from Khao Lak's beach, this year."""
    for _ in range(2):
        refer(api, KOH_YAO_CLINIC, "hosp_koh_yao_chaipattana")
    for _ in range(3):
        refer(api, KHAO_LAK_BEACH, "hosp_takua_pa")
    Projector(services.store, all_projections()).catch_up_all()
    return api


def test_khao_lak_referrals_do_not_add_to_the_cost_saved_and_koh_yao_ones_do(referrals: Api) -> None:
    body = referrals.get("/api/reports/summary", "official").json()

    assert body["referrals"]["count"] == 5, "every referral is counted as a referral"
    assert body["cost_saved_zones"] == ["koh_yao"], "the report says which zones it counts"
    assert (body["cost_saved_referrals"], body["cost_saved_thb"]) == (2, 2 * 6000)


def test_the_zones_that_count_are_a_setting(referrals: Api, services: Services) -> None:
    body = year_summary(services.store.engine, 2026, saving_thb=6000, saving_zones=("koh_yao", "khao_lak_coast"))

    assert (body["cost_saved_referrals"], body["cost_saved_thb"]) == (5, 5 * 6000)
    assert body["cost_saved_zones"] == ["khao_lak_coast", "koh_yao"]


def test_the_setting_is_read_from_the_environment_and_takes_only_zones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPATCH_REFERRAL_SAVING_ZONES", '["koh_yao", "similan"]')
    assert Settings().referral_saving_zones == ("koh_yao", "similan")

    monkeypatch.setenv("DISPATCH_REFERRAL_SAVING_ZONES", '["atlantis"]')
    with pytest.raises(ValueError, match="referral_saving_zones"):
        Settings()
