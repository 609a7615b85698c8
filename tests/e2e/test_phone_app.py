"""The report page as a lifeguard's phone app, in Debian's Chromium against `dispatch up`: Chromium finds it
installable; a report made without signal is kept in IndexedDB through a reload and sent once when the signal
is back, by the page or by the service worker's Background Sync; reports an older page left in localStorage
are moved over and sent."""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from tests.e2e import test_pages
from tests.e2e.test_pages import CHROMIUM, CHROMIUM_ARGS, PHONE, System, running_system, sign_in

browser = test_pages.browser
pytestmark = test_pages.pytestmark


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """One `dispatch up` for the module: each test has its own browser profile and its own reports."""
    with running_system(tmp_path_factory.mktemp("phone")) as running:
        yield running


def reports_described(system: System, description: str) -> list[dict[str, Any]]:
    events = system.events(system.token("operator"))
    return [e for e in events if e["type"] == "IncidentReported" and e["data"].get("description") == description]


def lifeguard_phone(system: System, browser: Browser) -> Page:
    """A lifeguard signed in on a phone, the report page open and its service worker in control."""
    expect.set_options(timeout=15_000)
    page = sign_in(browser.new_context(viewport=PHONE, timezone_id="Asia/Bangkok"), system, "lifeguard")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    return page


# The sync tags once "outbox" is among them, or after 10 s whatever they are (waitForFunction would not await them).
WAIT_FOR_SYNC_TAG = """async () => {
  const registration = await navigator.serviceWorker.ready;
  const until = Date.now() + 10000;
  let tags = await registration.sync.getTags();
  while (!tags.includes("outbox") && Date.now() < until) {
    await new Promise((done) => setTimeout(done, 50));
    tags = await registration.sync.getTags();
  }
  return tags;
}"""


def report_offline(page: Page, description: str) -> None:
    """Fill and send the form on a phone without signal: the report waits in the outbox."""
    page.context.set_offline(True)
    page.locator("label.choice[data-value=beach]").click()
    page.select_option("#site", "hu_phru_nai")
    page.locator("label.choice[data-value=yellow]").click()
    page.locator("label.choice[data-value=drowning]").click()
    page.fill("#description", description)
    page.click("#send")
    expect(page.locator(".report-item.state-waiting")).to_have_count(1)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_chromium_finds_the_report_page_installable(system: System, tmp_path: Path) -> None:
    # A profile on disk: Chromium never offers to install from an off-the-record one, as browser.new_context is.
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport=PHONE)
        page = sign_in(context, system, "lifeguard")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        cdp = context.new_cdp_session(page)
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        manifest = cdp.send("Page.getAppManifest")
        context.close()

    assert errors == []
    assert manifest["url"] == f"{system.base}/manifest.webmanifest" and manifest["errors"] == []
    declared = json.loads(manifest["data"])
    assert declared["start_url"] == "/report.html" and declared["display"] == "standalone"
    for icon in declared["icons"]:
        answer = httpx.get(f"{system.base}{icon['src']}", timeout=5)
        assert answer.headers["content-type"] == "image/png"
        width, height = png_size(answer.content)
        assert f"{width}x{height}" == icon["sizes"], icon
    assert {icon["purpose"] for icon in declared["icons"]} == {"any", "maskable"}


def test_a_report_made_without_signal_survives_a_reload_and_is_sent_once(system: System, browser: Browser) -> None:
    page = lifeguard_phone(system, browser)
    phone = page.context
    description = "reload-survivor: swimmer pulled out, coughing"

    report_offline(page, description)
    page.reload()  # still without signal: the page comes from the worker's cache, the report from IndexedDB
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    expect(page.locator(".report-item.state-waiting")).to_have_count(1)
    assert reports_described(system, description) == []

    phone.set_offline(False)
    expect(page.locator(".report-item.state-sent")).to_have_count(1)
    assert len(reports_described(system, description)) == 1
    page.reload()
    expect(page.locator(".report-item.state-sent")).to_have_count(1)  # kept as a record, not sent again
    assert len(reports_described(system, description)) == 1
    phone.close()


def test_the_service_worker_sends_the_outbox_on_background_sync(system: System, browser: Browser) -> None:
    page = lifeguard_phone(system, browser)
    phone = page.context
    description = "background-sync: diver surfaced too fast"
    report_offline(page, description)
    # The page asks for the sync after the failed send, once its worker is ready: wait for the tag (at most 10 s).
    tags = page.evaluate(WAIT_FOR_SYNC_TAG)
    assert tags == ["outbox"], "a send that failed asks for a sync"

    # The lifeguard closes the page; the signal comes back; the browser fires the sync at the worker.
    blank = phone.new_page()
    cdp = phone.new_cdp_session(blank)
    registrations: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    page.close()
    phone.set_offline(False)
    blank.wait_for_timeout(0)  # deliver the CDP events
    registration = next(r for r in registrations if r["scopeURL"] == f"{system.base}/" and not r["isDeleted"])
    cdp.send("ServiceWorker.dispatchSyncEvent", {"origin": system.base, "registrationId":
                                                  registration["registrationId"], "tag": "outbox",
                                                  "lastChance": False})

    deadline_tries = 100
    while not reports_described(system, description) and deadline_tries:
        blank.wait_for_timeout(100)
        deadline_tries -= 1
    assert len(reports_described(system, description)) == 1
    phone.close()


def test_reports_an_older_page_left_in_local_storage_are_moved_and_sent(system: System, browser: Browser) -> None:
    page = lifeguard_phone(system, browser)
    phone = page.context
    me = page.evaluate("fetch('/api/me').then((r) => r.json())")
    description = "left-in-localstorage: child stung by jellyfish"
    legacy = [{"key": "k-0123456789abcdef0123456789abcdef", "kind": "report", "path": "/api/incidents",
               "state": "waiting", "attempts": 3, "created_at": "2026-12-07T01:00:00Z",
               "body": {"source": "beach", "site_id": "hu_phru_nai", "triage": "green", "category": "marine_sting",
                        "patients": 1, "description": description, "language": "en"}}]
    page.evaluate("([key, value]) => localStorage.setItem(key, value)",
                  [f"dispatch.outbox.{me['id']}", json.dumps(legacy)])

    page.reload()
    expect(page.locator(".report-item.state-sent")).to_have_count(1)
    assert page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('dispatch.outbox.'))") == []
    page.reload()
    expect(page.locator(".report-item.state-sent")).to_have_count(1)
    assert len(reports_described(system, description)) == 1
    phone.close()


def test_on_a_network_that_never_answers_the_page_opens_from_the_kept_copy(system: System, browser: Browser) -> None:
    # One bar of signal: the request goes out and nothing comes back. The worker stops waiting and answers
    # with the copy it kept, and the lifeguard can report (into the outbox).
    page = lifeguard_phone(system, browser)
    held: list[Route] = []
    page.context.route("**/report.html", lambda route: held.append(route))  # never answered
    page.reload()
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    expect(page.locator("#send")).to_be_visible()
    assert held, "the page was asked of the network first"
    page.context.close()


def test_a_new_worker_keeps_only_its_own_revision_of_the_cache(system: System, browser: Browser) -> None:
    context = browser.new_context(viewport=PHONE)
    first = context.new_page()
    first.goto(f"{system.base}/")  # the sign-in page registers no worker
    first.evaluate("caches.open('dispatch-shell-v1').then((cache) => cache.put('/report.html', new Response('old')))")
    first.close()
    page = sign_in(context, system, "lifeguard")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")

    worker = httpx.get(f"{system.base}/sw.js", timeout=5).text
    version = re.search(r'const VERSION = "([^"]+)"', worker)
    assert version, "the worker names its revision"
    assert page.evaluate("caches.keys()") == [f"dispatch-shell-{version.group(1)}"]
    context.close()
