"""Every page works under the Content-Security-Policy: in Debian's Chromium, each role opens each
page it may, and the browser reports no policy violation and no script error. A cookie-signed change from a
page carries its CSRF proof; the same change without it is refused."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Browser, ConsoleMessage, Route, expect

from tests.e2e import test_pages
from tests.e2e.test_pages import DESK, System, sign_in

system = test_pages.system  # the fixtures: `dispatch up` on a fresh folder, and Chromium
browser = test_pages.browser
pytestmark = test_pages.pytestmark
TILE = (Path(__file__).resolve().parents[2] / "ui" / "icons" / "icon-192.png").read_bytes()  # any PNG will do
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


def test_a_resource_name_reaches_the_map_as_text_and_only_the_tiles_send_a_referer(
    system: System, browser: Browser
) -> None:
    # Typed by whoever added the boat: on the board it must read as these characters, never become an image.
    name = "<img src=x onerror=alert(1)>"
    added = httpx.post(f"{system.base}/api/resources", timeout=5,
                       headers={"Authorization": f"Bearer {system.token('operator')}"},
                       json={"id": "MARKUP-1", "kind": "boat", "name": name, "speed_knots": 20,
                             "position": {"lat": 8.45, "lon": 97.9}})
    assert added.status_code == 201, added.text
    context = browser.new_context(viewport=DESK)
    tile_referers: list[str | None] = []
    page_referers: list[str | None] = []

    def tile(route: Route) -> None:
        tile_referers.append(route.request.header_value("referer"))
        route.fulfill(status=200, content_type="image/png", body=TILE)

    context.route("https://tile.openstreetmap.org/**", tile)
    page = sign_in(context, system, "operator")
    page.on("request", lambda request: page_referers.append(request.header_value("referer"))
            if request.url.startswith(system.base) else None)
    page.reload()
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    page.locator(f'.leaflet-marker-icon[title="{name}"]').hover()

    tooltip = page.locator(".leaflet-tooltip")
    expect(tooltip).to_contain_text(f"{name} (MARKUP-1)")
    expect(tooltip.locator("img")).to_have_count(0)
    expect(page.locator("img.leaflet-tile").first).to_have_attribute("referrerpolicy",
                                                                      "strict-origin-when-cross-origin")
    # OpenStreetMap's tile policy wants to know the site; it learns the origin and nothing of the page's address.
    assert tile_referers and set(tile_referers) == {f"{system.base}/"}
    assert page_referers and set(page_referers) == {None}, "the pages send no Referer anywhere else"
    context.close()
