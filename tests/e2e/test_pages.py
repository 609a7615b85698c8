"""The pages in a real browser (Debian's Chromium, headless) against the whole embedded system (`dispatch up`):
a lifeguard reports without signal and the report arrives once; the operator's board, in a second browser,
shows it live; the operator dispatches a boat from the recommendations and requests a referral whose
countdown shows, turns amber at risk and red at the deadline, with a sound and an alert; an official reads the
audit page (verification, charts, per-incident timeline) and downloads the CSV; an admin adds a person.
Thai and English.

The story is told in steps, one test each, on one running system and one browser (the `story` fixture): a
failure names its step, and the steps after it are skipped (tests/e2e/conftest.py), since each goes on from
where the one before left the pages. Run the module, not a single step.

Screenshots of every page at 360 px and 1366 px go to test-artifacts/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright

from tests.e2e.test_up import _wait_for_accounts
from tests.e2e.topology import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
BANGKOK = timezone(timedelta(hours=7))
PHONE = {"width": 360, "height": 780}
DESK = {"width": 1366, "height": 800}


@dataclass
class System:
    base: str
    passwords: dict[str, str]

    def token(self, role: str) -> str:
        answer = httpx.post(f"{self.base}/api/auth/login", timeout=5,
                            json={"username": f"demo-{role}", "password": self.passwords[f"demo-{role}"]})
        answer.raise_for_status()
        return str(answer.json()["token"])

    def events(self, token: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.base}/api/events", params={"after": 0, "limit": 1000}, timeout=5,
                           headers={"Authorization": f"Bearer {token}"})
        answer.raise_for_status()
        return list(answer.json()["events"])


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    with running_system(tmp_path) as running:
        yield running


@contextmanager
def running_system(tmp_path: Path, **settings: str) -> Iterator[System]:
    """`dispatch up` on a fresh data folder: places, demo fleet and one demo account per role; `settings` are
    further DISPATCH_* variables."""
    port, output = free_port(), tmp_path / "up.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISPATCH_")}
    env |= {"DISPATCH_PASSWORD_TIME_COST": "1", "DISPATCH_PASSWORD_MEMORY_KIB": "1024", "COLUMNS": "200"} | settings
    with output.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "dispatch", "up", "--port", str(port),
                                    "--data-dir", str(tmp_path / "data")], stdout=sink, stderr=subprocess.STDOUT,
                                   env=env)
        try:
            yield System(f"http://127.0.0.1:{port}", _wait_for_accounts(output))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@contextmanager
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium when run as root")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def errors_of(page: Page) -> list[str]:
    """Uncaught script errors on the page, collected for the end of the test."""
    found: list[str] = []
    page.on("pageerror", lambda error: found.append(str(error)))
    return found


def sign_in(context: BrowserContext, system: System, role: str) -> Page:
    page = context.new_page()
    page.goto(f"{system.base}/")
    page.fill("#username", f"demo-{role}")
    page.fill("#password", system.passwords[f"demo-{role}"])
    page.click("button[type=submit]")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    return page


# --- the story's shared state -------------------------------------------------------------------------


@dataclass
class Story:
    """What the steps share: one running system, one browser, the people's screens and what they made."""

    system: System
    browser: Browser
    desk: BrowserContext  # the operator's screen: in London and English, yet every time on it is Bangkok's
    phone: BrowserContext  # the lifeguard's phone: set to English in Bangkok, yet the page starts in Thai
    board: Page = field(init=False)
    report: Page = field(init=False)
    audit: Page = field(init=False)
    incident: str = ""
    boat: str = ""
    key: str = ""  # the Idempotency-Key of the report whose first answer was lost
    sockets: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page, name: str) -> Page:
        """Collect the page's uncaught script errors for the last step."""
        page.on("pageerror", lambda error: self.errors.append(f"{name}: {error}"))
        return page

    def operator_get(self, path: str) -> Any:
        answer = httpx.get(f"{self.system.base}{path}", timeout=5,
                           headers={"Authorization": f"Bearer {self.system.token('operator')}"})
        answer.raise_for_status()
        return answer.json()


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    expect.set_options(timeout=15_000)
    with running_system(tmp_path_factory.mktemp("pages")) as system, chromium() as browser:
        yield Story(system, browser,
                    desk=browser.new_context(viewport=DESK, locale="en-GB", timezone_id="Europe/London"),
                    phone=browser.new_context(viewport=PHONE, locale="en-US", timezone_id="Asia/Bangkok",
                                              has_touch=True))


# --- the steps, in the order they happen ----------------------------------------------------------------


def test_the_sign_in_page_reads_in_english_and_thai(story: Story) -> None:
    page = story.browser.new_context(viewport=PHONE, locale="en-US").new_page()
    page.goto(f"{story.system.base}/")
    shot(page, "signin-360-en")
    page.click("#lang")
    expect(page.locator("h1")).to_have_text("ศูนย์สั่งการการแพทย์ฉุกเฉินทางทะเล อันดามัน")
    shot(page, "signin-360-th")
    page.click("#lang")
    page.set_viewport_size(DESK)
    shot(page, "signin-1366-en")
    page.close()


def test_the_operators_board_goes_live_with_the_whole_fleet(story: Story) -> None:
    board = story.board = story.watch(sign_in(story.desk, story.system, "operator"), "board")
    board.on("websocket", lambda socket: story.sockets.append(socket.url))

    expect(board.locator("#connection")).to_have_attribute("data-status", "live")
    expect(board.locator("#incidents-title")).to_have_text("Open incidents")
    expect(board.locator("#resources tr")).to_have_count(15)


def test_a_report_made_without_signal_waits_on_the_phone_in_thai(story: Story) -> None:
    report = story.report = story.watch(sign_in(story.phone, story.system, "lifeguard"), "report")
    expect(report.locator("#send")).to_have_text("ส่งรายงาน")
    expect(report.locator("#site option[value=hu_phru_nai]")).to_be_attached()
    shot(report, "report-360-th")

    story.phone.set_offline(True)
    report.locator("label.choice[data-value=clinic]").click()
    report.select_option("#site", "hu_phru_nai")
    report.locator("label.choice[data-value=red]").click()
    report.locator("label.choice[data-value=trauma]").click()
    report.fill("#description", "ชายล้ม ศีรษะกระแทก ซึม")
    report.click("#send")

    expect(report.locator(".report-item.state-waiting .status")).to_have_text("รอสัญญาณ…")
    shot(report, "report-360-waiting")


def test_a_report_whose_answer_was_lost_is_sent_again_under_the_same_key(story: Story) -> None:
    # The signal comes back, but the first answer is lost on the way back: the server has the report, the
    # phone does not know. The outbox tries again with the same Idempotency-Key.
    lost: list[str] = []

    def lose_first_answer(route: Route) -> None:
        if route.request.method == "POST" and not lost:
            lost.append(route.request.headers.get("idempotency-key", ""))
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    story.report.route("**/api/incidents", lose_first_answer)
    story.phone.set_offline(False)

    sent = story.report.locator(".report-item.state-sent")
    expect(sent.locator(".status")).to_have_text("ส่งแล้ว ✓")
    story.incident = sent.get_attribute("data-incident") or ""
    assert story.incident and lost and lost[0].startswith("k-"), "the key was made before the first try"
    story.key = lost[0]


def test_the_board_shows_the_report_within_a_second_and_the_log_holds_it_once(story: Story) -> None:
    card = story.board.locator(f"button.incident[data-incident='{story.incident}']")
    expect(card).to_be_visible(timeout=1_000)  # without a reload
    expect(card).to_have_attribute("data-triage", "red")
    expect(story.board.locator("html")).to_have_attribute("data-alert-sounds", "1")  # a new red incident: one tone

    reports = [e for e in story.system.events(story.system.token("operator")) if e["type"] == "IncidentReported"]
    assert [e["stream_id"] for e in reports] == [f"incident-{story.incident}"], "one report, however many tries"
    assert reports[0]["meta"]["command_id"] == f"demo-lifeguard:{story.key}"


def test_the_operator_dispatches_the_recommended_boat(story: Story) -> None:
    board = story.board
    board.locator(f"button.incident[data-incident='{story.incident}']").click()
    first_boat = board.locator("[data-section=recommended] li.option[data-kind=boats]").first
    story.boat = first_boat.get_attribute("data-resource") or ""

    first_boat.locator("button[data-dispatch]").click()

    expect(board.locator(f"[data-section=assigned] li.option[data-resource='{story.boat}']")).to_be_visible()
    expect(board.locator(f"#resources tr[data-resource='{story.boat}']")).to_have_attribute("data-status", "assigned")


def test_a_referral_counts_down_to_a_bangkok_deadline_and_turns_amber_when_predicted_late(story: Story) -> None:
    board = story.board
    facility = board.locator("[data-section=referral] li.option.first").get_attribute("data-facility")
    sounds_before = int(board.locator("html").get_attribute("data-alert-sounds") or 0)

    board.locator("[data-action=referral]").click()

    result = board.locator("#action-result")
    expect(result).to_contain_text("must reach")
    referral = story.operator_get(f"/api/incidents/{story.incident}")["referrals"][0]
    assert referral["facility_id"] == facility, "the recommended facility comes first"
    deadline = datetime.fromisoformat(referral["deadline_at"]).astimezone(BANGKOK)
    expect(result).to_contain_text(deadline.strftime("%H:%M"))  # Bangkok time on a London screen
    expect(result).to_contain_text("80 min")
    countdown = board.locator("[data-section=referral] .countdown.big")
    expect(countdown).to_be_visible()
    expect(countdown).to_contain_text(re.compile(r"1:[0-5]\d:\d\d"))
    # A longtail cannot make Koh Yao to Phuket in 80 minutes: the worker predicts the breach at once,
    # the countdown turns amber, the alert shows and sounds.
    expect(countdown).to_have_attribute("data-level", "at_risk")
    expect(board.locator("#alerts .alert[data-level=at_risk]")).to_contain_text(story.incident)
    expect(board.locator("html")).not_to_have_attribute("data-alert-sounds", str(sounds_before))
    shot(board, "board-1366-en")


def test_a_board_that_dropped_off_the_network_catches_up_by_itself(story: Story) -> None:
    board, report = story.board, story.report
    story.desk.set_offline(True)
    expect(board.locator("#connection")).to_have_attribute("data-status", "offline")
    expect(board.locator("#offline-banner")).to_be_visible()

    report.locator(".follow-toggle").click()  # a milestone is recorded meanwhile
    report.locator(".follow button[data-milestone=en_route]").click()
    expect(report.locator(".follow-log .status.sent")).to_have_count(1)
    story.desk.set_offline(False)

    expect(board.locator("#connection")).to_have_attribute("data-status", "live")
    expect(board.locator(f"[data-section=assigned] li.option[data-resource='{story.boat}']")).to_contain_text(
        "En route")
    assert re.search(r"/ws/board\?after=\d+$", story.sockets[-1]), story.sockets


def test_the_phone_page_opens_again_without_signal_showing_what_was_sent(story: Story) -> None:
    report = story.report
    report.locator(".follow textarea").fill("ผู้ป่วยรู้สึกตัวดีขึ้น")
    report.locator(".follow button.big").click()
    expect(report.locator(".follow-log .status.sent")).to_have_count(2)
    shot(report, "report-360-follow-up")

    report.wait_for_function("navigator.serviceWorker.controller !== null")  # kept by its service worker
    story.phone.set_offline(True)
    report.reload()

    expect(report.locator(f".report-item.state-sent[data-incident='{story.incident}']")).to_be_visible()
    expect(report.locator("#signal")).to_have_text("ไม่มีสัญญาณ")
    story.phone.set_offline(False)


def test_the_board_reads_in_thai_and_the_report_page_in_english(story: Story) -> None:
    board, report = story.board, story.report
    board.click("#lang")
    expect(board.locator("#incidents-title")).to_have_text("เหตุที่ยังเปิดอยู่")
    expect(board.locator("[data-section=assigned]")).to_contain_text("ออกเดินทาง")
    shot(board, "board-1366-th")
    board.set_viewport_size(PHONE)
    shot(board, "board-360-th")

    report.set_viewport_size(DESK)
    report.click("#lang")
    expect(report.locator("#send")).to_have_text("Send report")
    shot(report, "report-1366-en")


def test_at_the_deadline_the_countdown_turns_red_with_an_alert(story: Story) -> None:
    late = story.desk.new_page()  # its clock is moved on 81 minutes
    late.clock.install()
    late.goto(f"{story.system.base}/board.html")
    late.locator(f"button.incident[data-incident='{story.incident}']").click()
    # Its requests answered first: the page corrects a clock that disagrees with the server's Date header.
    expect(late.locator("[data-section=recommended] li.option").first).to_be_visible()
    countdown = late.locator("[data-section=referral] .countdown.big")
    expect(countdown).not_to_have_attribute("data-level", "breached")

    late.clock.fast_forward("01:21:00")

    expect(countdown).to_have_attribute("data-level", "breached")
    expect(late.locator("#alerts .alert[data-level=breached]")).to_be_visible()
    shot(late, "board-1366-breached")


def test_a_patient_delivered_in_time_meets_the_referral(story: Story) -> None:
    board = story.board
    board.bring_to_front()
    for milestone, shown in (("on_scene", "ถึงที่เกิดเหตุ"), ("left_scene", "ออกจากที่เกิดเหตุ"),
                             ("at_destination", "ถึงสถานพยาบาล")):
        board.locator(f"[data-section=assigned] button[data-milestone={milestone}]").click()
        expect(board.locator("[data-section=assigned]")).to_contain_text(shown)

    expect(board.locator("[data-section=referral] .countdown.big")).to_have_attribute("data-level", "met")


def test_an_official_audits_the_response_and_keeps_the_csv_and_the_signed_head(story: Story) -> None:
    context = story.browser.new_context(viewport=DESK, locale="en-GB", timezone_id="UTC", accept_downloads=True)
    audit = story.audit = story.watch(sign_in(context, story.system, "official"), "audit")
    assert audit.url.endswith("/audit.html"), "an official starts on the audit page"
    expect(audit.locator("#nav a")).to_have_count(2)  # board and audit; nothing to report or dispatch
    expect(audit.locator("#verify")).to_have_attribute("data-intact", "true")
    expect(audit.locator("#figures")).to_contain_text("100.0 %")
    expect(audit.locator("#chart-intervals svg rect.bar.median")).not_to_have_count(0)
    expect(audit.locator("#chart-compliance svg rect.bar.met")).to_have_count(1)
    row = audit.locator(f"tr.response[data-incident='{story.incident}']")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(story.boat)

    row.locator("button").click()
    trail = audit.locator(f"tr.trail[data-incident='{story.incident}']")
    expect(trail).to_contain_text("IncidentReported")
    expect(trail).to_contain_text("PatientArrivedAtFacility")
    expect(trail).to_contain_text("Met")
    with audit.expect_download() as download:
        audit.click("#csv")
    csv_text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert csv_text.startswith("response_id,incident_id") and f"{story.incident}/{story.boat}" in csv_text
    with audit.expect_download() as kept:  # the log's signed head, for the official to keep
        audit.click("#checkpoint")
    assert '"format":"dispatch-checkpoint/1"' in Path(kept.value.path()).read_text()
    shot(audit, "audit-1366-en")

    audit.click("#lang")
    expect(audit.locator("#verify")).to_contain_text("บันทึกครบถ้วน")
    audit.set_viewport_size(PHONE)
    expect(audit.locator("#chart-intervals svg")).to_have_attribute("viewBox", re.compile(r"^0 0 3\d\d "))  # redrawn
    shot(audit, "audit-360-th")


def test_an_official_reads_the_board_but_cannot_act_on_it(story: Story) -> None:
    audit = story.audit
    audit.goto(f"{story.system.base}/board.html")
    audit.locator(f"button.incident[data-incident='{story.incident}']").click()

    expect(audit.locator(".readonly-note")).to_be_visible()
    expect(audit.locator("button[data-dispatch], [data-action=referral], button[data-milestone]")).to_have_count(0)
    audit.set_viewport_size(DESK)
    shot(audit, "board-1366-official")


def test_an_admin_adds_a_person_who_can_then_sign_in(story: Story) -> None:
    people = sign_in(story.browser.new_context(viewport=PHONE), story.system, "admin")
    assert people.url.endswith("/people.html"), "an admin starts on the people page"
    people.fill("#new-username", "somchai")
    people.fill("#new-name", "Somchai K.")
    people.select_option("#new-role", "lifeguard")
    people.fill("#new-password", "a long first password")
    people.click("#person-form button[type=submit]")
    expect(people.locator("#person-result")).to_contain_text("somchai")
    shot(people, "people-360-en")
    # The same person again: the refusal is told by its code, in the language on screen (the API's detail is English)
    for field_id, value in (("#new-username", "somchai"), ("#new-password", "a long first password")):
        people.fill(field_id, value)
    people.click("#person-form button[type=submit]")
    expect(people.locator("#person-result")).to_contain_text("This username is taken")
    people.click("#lang")
    expect(people.locator("#person-result")).to_contain_text("มีผู้ใช้ชื่อนี้อยู่แล้ว")

    signed = httpx.post(f"{story.system.base}/api/auth/login", timeout=5,
                        json={"username": "somchai", "password": "a long first password"})
    assert signed.status_code == 200 and signed.json()["user"]["role"] == "lifeguard"


def test_no_page_of_the_story_raised_a_script_error(story: Story) -> None:
    assert story.errors == []
