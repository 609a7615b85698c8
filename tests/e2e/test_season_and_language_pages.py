"""The pages in a real browser against the whole embedded system, its clock set a minute before the marine parks
open (23:59 on 14 October, Bangkok time): the board shows the park units out of season with the day they return
and, at midnight, available again with nobody touching them; a lifeguard reports a Russian-speaking patient from
the form's common languages, and the board shows the language on the incident and on its referral."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e import test_pages
from tests.e2e.test_pages import DESK, PHONE, System, errors_of, running_system, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
browser = test_pages.browser  # the fixture: Chromium

PARKS_OPEN = datetime(2026, 10, 14, 17, 0, tzinfo=UTC)  # 15 October 2026, 00:00 in Bangkok
# Long enough for the system to start and the board to show the closed season on a busy machine.
BEFORE_OPENING = timedelta(seconds=60)
PARK_BOAT = "SIM-NAVY-1"


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    """`dispatch up` whose every clock reads a minute before the parks open."""
    offset = (PARKS_OPEN - BEFORE_OPENING) - datetime.now(UTC)
    with running_system(tmp_path, DISPATCH_CLOCK_OFFSET_SECONDS=str(offset.total_seconds())) as running:
        yield running


def test_park_units_return_at_the_opening_and_the_patients_language_reaches_the_referral(
    system: System, browser: Browser
) -> None:
    expect.set_options(timeout=15_000)
    desk = browser.new_context(viewport=DESK, locale="en-GB", timezone_id="Asia/Bangkok")
    board = sign_in(desk, system, "operator")
    board_errors = errors_of(board)

    # --- before midnight: the park's navy boat is out of season, and says when it comes back
    park_boat = board.locator(f"#resources tr[data-resource='{PARK_BOAT}']")
    expect(park_boat).to_have_attribute("data-service", "out_of_season")
    expect(park_boat.locator("td.rstatus")).to_have_text("Out of season · back 15 Oct 2026")
    expect(board.locator("#resources tr[data-resource='KY-BOAT-1']")).to_have_attribute("data-service", "in_service")
    shot(board, "board-1366-out-of-season")

    # --- a lifeguard reports a Russian-speaking patient, picked from the common languages
    phone = browser.new_context(viewport=PHONE, locale="en-US", timezone_id="Asia/Bangkok", has_touch=True)
    report = sign_in(phone, system, "lifeguard")
    report_errors = errors_of(report)
    common = report.locator("#language optgroup").first.locator("option")
    expect(common.first).to_have_attribute("value", "th")
    assert [common.nth(n).get_attribute("value") for n in range(3)] == ["th", "en", "ru"]
    expect(report.locator("#language option[value=ru]")).to_have_text("รัสเซีย · Russian")
    expect(report.locator("#language optgroup").nth(1).locator("option")).not_to_have_count(0)
    report.locator("label.choice[data-value=clinic]").click()
    report.select_option("#site", "hu_phru_nai")
    report.locator("label.choice[data-value=red]").click()
    report.locator("label.choice[data-value=trauma]").click()
    report.select_option("#language", "ru")
    shot(report, "report-360-language")
    report.click("#send")
    expect(report.locator(".report-item.state-sent")).to_have_count(1)
    incident = report.locator(".report-item.state-sent").get_attribute("data-incident")
    assert incident

    # --- the board names the language on the incident and on its referral
    board.locator(f"button.incident[data-incident='{incident}']").click()
    expect(board.locator("#detail dl.facts").first).to_contain_text("Patient's language")
    expect(board.locator("#detail dl.facts").first).to_contain_text("Russian")
    board.locator("[data-action=referral]").click()
    expect(board.locator("[data-section=referral] .countdown.big")).to_be_visible()
    expect(board.locator("[data-section=referral] dl.facts")).to_contain_text("Russian")
    board.click("#lang")
    expect(board.locator("[data-section=referral] dl.facts")).to_contain_text("รัสเซีย")
    board.click("#lang")
    shot(board, "board-1366-language")

    # --- midnight in Bangkok: the parks open and the boat is available, with nothing done to it
    expect(park_boat).to_have_attribute("data-service", "in_service", timeout=120_000)
    expect(park_boat.locator("td.rstatus")).to_have_text("Available")
    shot(board, "board-1366-in-season")
    assert board_errors == [] and report_errors == []
