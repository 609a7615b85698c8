"""Who read patient details, on the audit page in a real browser: an official sees each read of an incident's
details, in English and Thai; an operator's audit page does not offer it."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, expect

from tests.e2e import test_pages
from tests.e2e.test_pages import DESK, System, shot, sign_in

system = test_pages.system  # the fixtures: `dispatch up` on a fresh folder, and Chromium
browser = test_pages.browser
pytestmark = test_pages.pytestmark
REPORT = {"source": "clinic", "site_id": "hu_phru_nai", "triage": "red", "category": "trauma", "patients": 1,
          "description": "fell from a ladder, drowsy"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_official_sees_who_read_an_incident_and_an_operator_is_not_offered_it(system: System,
                                                                                 browser: Browser) -> None:
    reported = httpx.post(f"{system.base}/api/incidents", json=REPORT, timeout=5,
                          headers=bearer(system.token("lifeguard")))
    incident = reported.json()["id"]
    assert httpx.get(f"{system.base}/api/incidents/{incident}", timeout=5,
                     headers=bearer(system.token("operator"))).status_code == 200

    page = sign_in(browser.new_context(viewport=DESK, locale="en-GB"), system, "official")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{system.base}/audit.html")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    expect(page.locator("#reads-title")).to_have_text("Who read patient details")
    page.fill("#reads-incident", incident)
    page.click("#reads-filter button[type=submit]")
    rows = page.locator(f"#reads tr.read[data-incident='{incident}']")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("demo-operator")
    expect(rows.first).to_contain_text("Incident details")
    page.click("#lang")
    expect(page.locator("#reads-title")).to_have_text("ผู้เปิดดูข้อมูลผู้ป่วย")
    expect(rows.first).to_contain_text("รายละเอียดเหตุ")
    shot(page, "audit-reads-1366-th")
    assert errors == []

    operator = sign_in(browser.new_context(viewport=DESK), system, "operator")
    operator.goto(f"{system.base}/audit.html")
    expect(operator.locator("body[data-ready=true]")).to_be_attached()
    expect(operator.locator("#reads-card")).to_be_hidden()
