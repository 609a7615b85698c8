"""Who read patient details, on the audit page in a real browser: an official sees each read of an incident's
details, in English and Thai; an operator's audit page does not offer it."""

from __future__ import annotations

import time

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


def wait_for_response_row(system: System, token: str, incident: str) -> None:
    """Until the projector has the incident's response in the reports (bounded: 100 tries, 0.1 s apart)."""
    for _ in range(100):
        rows = httpx.get(f"{system.base}/api/reports/response-times", timeout=5, headers=bearer(token)).json()
        if any(row["incident_id"] == incident for row in rows["responses"]["rows"]):
            return
        time.sleep(0.1)
    raise AssertionError(f"incident {incident} never reached the reports")


def test_an_official_sees_who_read_an_incident_and_an_operator_is_not_offered_it(system: System,
                                                                                 browser: Browser) -> None:
    reported = httpx.post(f"{system.base}/api/incidents", json=REPORT, timeout=5,
                          headers=bearer(system.token("lifeguard")))
    incident = reported.json()["id"]
    operator_token = system.token("operator")
    assert httpx.get(f"{system.base}/api/incidents/{incident}", timeout=5,
                     headers=bearer(operator_token)).status_code == 200
    httpx.post(f"{system.base}/api/incidents/{incident}/dispatch", json={"resource_id": "KY-BOAT-2"}, timeout=5,
               headers=bearer(operator_token)).raise_for_status()
    wait_for_response_row(system, operator_token, incident)

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
    # Opening the incident's audit trail is a read too; the trail offers who read it.
    page.click(f"tr.response[data-incident='{incident}'] button")
    page.click(f"button[data-reads-of='{incident}']")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("demo-official")
    expect(rows.first).to_contain_text("ลำดับเหตุการณ์ (ตรวจสอบ)")
    assert errors == []

    operator = sign_in(browser.new_context(viewport=DESK), system, "operator")
    operator.goto(f"{system.base}/audit.html")
    expect(operator.locator("body[data-ready=true]")).to_be_attached()
    expect(operator.locator("#reads-card")).to_be_hidden()
