"""Every page works under the Content-Security-Policy (issue 8): in Debian's Chromium, each role opens each
page it may, and the browser reports no policy violation and no script error. A cookie-signed change from a
page carries its CSRF proof; the same change without it is refused."""

from __future__ import annotations

from playwright.sync_api import Browser, ConsoleMessage, expect

from tests.e2e import test_pages
from tests.e2e.test_pages import System, sign_in

system = test_pages.system  # the fixtures: `dispatch up` on a fresh folder, and Chromium
browser = test_pages.browser
pytestmark = test_pages.pytestmark
ROLE_PAGES = {
    "lifeguard": ["/report.html"],
    "operator": ["/report.html", "/board.html", "/audit.html"],
    "official": ["/board.html", "/audit.html"],
    "admin": ["/people.html", "/board.html"],
}


def test_every_page_runs_under_the_policy(system: System, browser: Browser) -> None:
    for role, pages in ROLE_PAGES.items():
        context = browser.new_context()
        page = sign_in(context, system, role)
        problems: list[str] = []
        page.on("pageerror", lambda error, problems=problems: problems.append(str(error)))

        def violation(message: ConsoleMessage, problems: list[str] = problems) -> None:
            if "Content Security Policy" in message.text:
                problems.append(message.text)

        page.on("console", violation)
        for path in pages:
            page.goto(f"{system.base}{path}")
            expect(page.locator("body[data-ready=true]")).to_be_attached()
            if path == "/board.html":
                expect(page.locator("#connection")).to_have_attribute("data-status", "live")
                expect(page.locator(".leaflet-container")).to_be_visible()
            page.wait_for_load_state("networkidle")
        assert problems == [], f"{role}: {problems}"
        # The check itself works: an inline style is refused, and the refusal is seen.
        page.evaluate("""document.body.insertAdjacentHTML("beforeend", '<p style="color: red">inline</p>')""")
        page.wait_for_timeout(300)
        assert any("style-src" in problem for problem in problems), problems
        context.close()


def test_a_page_signs_its_changes_and_a_forged_change_is_refused(system: System, browser: Browser) -> None:
    page = sign_in(browser.new_context(), system, "operator")
    body = {"id": "CSRF-BOAT", "kind": "boat", "name": "from the page", "speed_knots": 20}

    forged = page.evaluate("""async (body) => (await fetch("/api/resources", {method: "POST",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})).status""", body)
    signed = page.evaluate("""async (body) => {
        const api = await import("/js/api.js");
        return (await api.api("/api/resources", {method: "POST", body})).id;
    }""", body)

    assert forged == 403 and signed == "CSRF-BOAT"
