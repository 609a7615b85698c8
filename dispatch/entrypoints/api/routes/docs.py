"""/docs and /redoc: FastAPI's API pages, with Swagger UI and ReDoc served from this server, each page with a
policy of its own.

Swagger UI and ReDoc come from the PyPI package `fastapi-offline` (its `static` folder), so the pages work on a
command centre's network without internet. Each page starts its viewer with one inline script, which the pages'
policy (dispatch/entrypoints/api/security.py) forbids; here only that script (by its hash) is allowed, and no
other host.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from dispatch.entrypoints.api.routes.assets import file_in

router = APIRouter(include_in_schema=False)
ASSETS = "/vendor/docs"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def viewers_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def with_policy(page: HTMLResponse) -> HTMLResponse:
    """The page's own policy: its inline start-up script by hash; inline styles and blob workers, which
    Swagger UI and ReDoc build as they render; nothing from another host (ReDoc's sidebar asks for Redocly's
    logo from their CDN: refused, and ReDoc then hides it)."""
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
                      for script in _INLINE_SCRIPT.findall(bytes(page.body)))
    page.headers["Content-Security-Policy"] = "; ".join([
        "default-src 'self'", f"script-src 'self' {hashes}", "style-src 'self' 'unsafe-inline'",
        "font-src 'self'", "img-src 'self' data:", "worker-src 'self' blob:", "connect-src 'self'",
        "object-src 'none'", "base-uri 'self'", "frame-ancestors 'none'",
    ])
    return page


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    return with_policy(get_swagger_ui_html(
        openapi_url=request.app.openapi_url, title=f"{request.app.title} - API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url="/favicon.svg",
        # No badge from the public validator: the spec is not reachable from there, nor it from here.
        swagger_ui_parameters={"validatorUrl": None},
    ))


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    return with_policy(get_redoc_html(
        openapi_url=request.app.openapi_url, title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{ASSETS}/redoc.standalone.js", redoc_favicon_url="/favicon.svg", with_google_fonts=False,
    ))


@router.get(ASSETS + "/{name}")
def viewer_asset(name: str) -> FileResponse:
    """Swagger UI's script and style sheet, and ReDoc's script."""
    return file_in(viewers_dir(), name, "API viewer")
