"""The package is the product: a wheel built as the Dockerfile builds it (from what .dockerignore lets in),
installed into a fresh virtual environment outside the checkout, runs `dispatch up` and serves every page and
asset, and the API docs render in Chromium with every other host out of reach.

The wheel goes in with `--no-deps`; its dependencies are this environment's, seen through a plain path in a
.pth file, so its own .pth files (the checkout's editable install among them) never run and `dispatch` can
only come from the wheel. That every imported package is declared is tests/unit/test_packaging.py's part.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, Route, expect

from tests.e2e import test_pages
from tests.e2e.test_up import _wait_for_accounts
from tests.e2e.topology import free_port

browser = test_pages.browser
pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
PAGES = REPO / "ui"
# What the pages and the API viewers load from this server besides ui/: in HTML, CSS and the pages' scripts.
_LOCAL_REFERENCE = re.compile(r"""(?:src|href)=["']([^"']+)["']|fetch\(["'](/vendor/[^"']+)["']|url\(["']?([^"')]+)""")
_TEXT = (".html", ".css", ".js")
REDOCLY_LOGO_REFUSED = "Loading the image 'https://cdn.redoc.ly/redoc/logo-mini.svg' violates"


@dataclass
class Installed:
    venv: Path
    base: str


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """The wheel installed in a fresh venv, and `dispatch up` from it on a free port and an empty folder."""
    root = tmp_path_factory.mktemp("installed")
    venv = install_wheel(build_wheel(root / "dist"), root / "venv")
    port, output = free_port(), root / "up.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISPATCH_")}
    env |= {"DISPATCH_PASSWORD_TIME_COST": "1", "DISPATCH_PASSWORD_MEMORY_KIB": "1024"}
    with output.open("wb") as sink:
        process = subprocess.Popen([str(venv / "bin" / "dispatch"), "up", "--port", str(port), "--data-dir",
                                    str(root / "data")], stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=root)
        try:
            _wait_for_accounts(output, timeout=120)
            yield Installed(venv=venv, base=f"http://127.0.0.1:{port}")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def build_wheel(into: Path) -> Path:
    """The wheel as the Dockerfile builds it: from the files .dockerignore lets into the build."""
    context = docker_context(into.parent / "context")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(into),
                    str(context)], check=True, capture_output=True, timeout=600)
    [wheel] = into.glob("andaman_dispatch-*.whl")
    return wheel


def docker_context(into: Path) -> Path:
    """A copy of what .dockerignore sends to the image's build: it ignores everything (`*`), then lets in
    the paths it names with `!`."""
    rules = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules[0] == "*", ".dockerignore lists what goes in"
    into.mkdir()
    for rule in rules[1:]:
        if rule.startswith("!"):
            source = REPO / rule.removeprefix("!").rstrip("/")
            if source.is_dir():
                shutil.copytree(source, into / source.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(source, into / source.name)
    return into


def install_wheel(wheel: Path, venv: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # Installed before the dependencies' path is added: pip then sees no other andaman-dispatch to replace.
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    str(wheel)], check=True, capture_output=True, timeout=600)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def test_the_installed_package_runs_from_its_own_files(installed: Installed) -> None:
    found = subprocess.run([str(installed.venv / "bin" / "python"), "-c",
                            "import dispatch, dispatch.entrypoints.api.routes.assets as a;"
                            " print(dispatch.__file__, a.ui_dir())"],
                           check=True, capture_output=True, text=True, cwd=installed.venv).stdout.split()

    assert all(Path(path).is_relative_to(installed.venv) for path in found), found


def test_the_installed_package_serves_every_page_and_asset(installed: Installed) -> None:
    with httpx.Client(base_url=installed.base, timeout=10) as client:
        pages = {f"/{path.relative_to(PAGES).as_posix()}": path.read_bytes()
                 for path in sorted(PAGES.rglob("*")) if path.is_file()}
        served = {url: client.get(url) for url in pages}
        assert {url: answer.status_code for url, answer in served.items()} == dict.fromkeys(pages, 200)
        assert [url for url, answer in served.items() if answer.content != pages[url]] == []
        assert client.get("/").content == pages["/index.html"]

        loaded = {"/vendor/coast.geojson", "/docs", "/redoc", "/openapi.json"}
        for url, body in pages.items():
            if url.endswith(_TEXT):
                loaded |= set(local_references(url, body.decode()))
        loaded |= references_of_served(client, loaded)
        loaded = {url for url in loaded if not url.startswith("/api/")}  # API routes a page links to need a sign-in
        missing = {url: answer.status_code for url in sorted(loaded) if (answer := client.get(url)).status_code != 200}

    assert missing == {}
    assert {"/vendor/leaflet/leaflet.js", "/vendor/leaflet/leaflet.css", "/vendor/docs/swagger-ui-bundle.js",
            "/vendor/docs/redoc.standalone.js"} <= loaded


def references_of_served(client: httpx.Client, urls: set[str]) -> set[str]:
    """What the served HTML and CSS outside ui/ (Leaflet's style sheet, the API viewers) refer to."""
    found: set[str] = set()
    for url in urls:
        answer = client.get(url)
        if answer.headers.get("content-type", "").startswith(("text/html", "text/css")):
            found |= set(local_references(url, answer.text))
    return found


def local_references(url: str, text: str) -> Iterator[str]:
    for match in _LOCAL_REFERENCE.finditer(text):
        reference = next(group for group in match.groups() if group)
        target = urlsplit(urljoin(f"http://server{url}", reference))
        if target.netloc == "server" and not reference.startswith(("data:", "#")):
            yield target.path


@pytest.mark.browser
def test_the_api_docs_render_with_every_other_host_out_of_reach(installed: Installed, browser: Browser) -> None:
    context = browser.new_context()
    elsewhere: list[str] = []

    def only_this_server(route: Route, request: Request) -> None:
        if request.url.startswith(installed.base):
            route.continue_()
        else:
            elsewhere.append(request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_this_server)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)

    page.goto(f"{installed.base}/docs")
    expect(page.locator(".opblock-summary-path[data-path='/api/incidents']").first).to_be_visible()
    operations = page.locator(".opblock").count()
    screenshot(page, "api-docs-swagger")
    page.goto(f"{installed.base}/redoc")
    expect(page.locator("[data-section-id^='operation/']").first).to_be_attached()
    screenshot(page, "api-docs-redoc")

    assert operations >= 20, "Swagger UI lists the API's operations"
    assert elsewhere == [], "nothing is loaded from another host"
    # ReDoc's sidebar asks for Redocly's logo from their CDN: the page's policy refuses it, ReDoc hides it.
    assert [problem for problem in problems if REDOCLY_LOGO_REFUSED not in problem] == []


def screenshot(page: Page, name: str) -> None:
    """The first screenful, for a person to look at (test-artifacts/, gitignored)."""
    test_pages.ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(test_pages.ARTIFACTS / f"{name}.png"))
