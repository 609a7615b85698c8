"""An operator corrects the board: another carrier and destination for a referral, a unit stood down (its own
module: the page steps in test_pages.py hold one browser for the whole module, and this test starts its own)."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Browser, Dialog, expect

from tests.e2e.test_pages import DESK, System, browser, errors_of, shot, sign_in, system

__all__ = ["browser", "system"]


def test_the_operator_corrects_a_carrier_and_a_destination_and_stands_a_unit_down_from_the_board(
    system: System, browser: Browser
) -> None:
    expect.set_options(timeout=15_000)
    # given a drowning at Nang Thong, both beach teams sent, and the second named by mistake to carry the patient to
    # Takua Pa (over the API, as another operator would have done it)
    token = system.token("operator")
    headers = {"Authorization": f"Bearer {token}"}

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = httpx.post(f"{system.base}/api/incidents{path}", timeout=5, headers=headers, json=body)
        assert answer.status_code in (200, 201), answer.text
        return dict(answer.json())

    incident = post("", {"source": "beach", "site_id": "beach_nang_thong", "triage": "yellow",
                         "category": "drowning"})["id"]
    for team in ("KL-TEAM-1", "KL-TEAM-2"):
        post(f"/{incident}/dispatch", {"resource_id": team})
    post(f"/{incident}/referral", {"facility_id": "hosp_takua_pa", "resource_id": "KL-TEAM-2"})
    board = sign_in(browser.new_context(viewport=DESK, locale="en-GB"), system, "operator")
    errors = errors_of(board)
    questions: list[str] = []

    def say_yes(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    board.on("dialog", say_yes)
    board.locator(f"button.incident[data-incident='{incident}']").click()
    board.locator("[data-section=timeline] summary").click()
    mistaken = board.locator("[data-section=assigned] li.option[data-resource='KL-TEAM-2']")
    expect(mistaken).to_be_visible()
    shot(board, "board-1366-corrections")

    # when the operator stands down the unit named to carry the patient, the board says why not, in words
    mistaken.locator("button[data-stand-down='KL-TEAM-2']").click()
    expect(board.locator("#action-result")).to_contain_text("name another carrier first")
    # so it names the other team to carry the patient, and sends the patient to Thai Mueang instead
    referral = board.locator("[data-section=referral]")
    referral.locator("[data-action=change-carrier]").click()
    expect(board.locator("#action-result")).to_contain_text("KL-TEAM-1 now carries the patient")
    expect(referral).to_contain_text("KL-TEAM-1")
    board.select_option("select[name=new-destination]", "hosp_thai_mueang")
    referral.locator("[data-action=change-destination]").click()
    expect(board.locator("#action-result")).to_contain_text("Now going to Thai Mueang Chaipattana Hospital")
    # and then stands the mistaken unit down: it leaves the incident and is available in the fleet
    mistaken.locator("button[data-stand-down='KL-TEAM-2']").click()
    expect(board.locator("#action-result")).to_contain_text("KL-TEAM-2 stood down")
    expect(mistaken).to_have_count(0)
    expect(board.locator("[data-section=released]")).to_contain_text("KL-TEAM-2 · Stood down")
    expect(board.locator("#resources tr[data-resource='KL-TEAM-2']")).to_have_attribute("data-status", "available")
    # the open timeline shows each correction as it is made
    timeline = board.locator("ol.timeline")
    expect(timeline.locator("li[data-type=ReferralCarrierChanged]")).to_contain_text("KL-TEAM-2 → KL-TEAM-1")
    expect(timeline.locator("li[data-type=ReferralDestinationChanged]")).to_contain_text(
        "Takua Pa Hospital → Thai Mueang Chaipattana Hospital")
    expect(timeline.locator("li[data-type=ResourceStoodDown]")).to_contain_text("Unit stood down")
    assert len(questions) == 4 and all(incident in q or "instead" in q for q in questions), questions
    board.click("#lang")
    expect(board.locator("[data-section=released]")).to_contain_text("ถอนหน่วยแล้ว")
    expect(referral.locator("[data-action=change-carrier]")).to_have_text("เปลี่ยนหน่วยนำส่ง")
    shot(board, "board-1366-stood-down")
    events = [e["type"] for e in system.events(token) if e["stream_id"] == f"incident-{incident}"]
    assert events[-3:] == ["ReferralCarrierChanged", "ReferralDestinationChanged", "ResourceStoodDown"]
    assert errors == []
