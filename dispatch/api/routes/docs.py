"""/docs and /redoc: FastAPI's API pages, each with a policy of its own.

They load Swagger UI or ReDoc from a CDN and start it with one inline script, which the pages' policy
(dispatch/api/security.py) forbids; here only that script (by its hash) and those hosts are allowed.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def with_policy(page: HTMLResponse) -> HTMLResponse:
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
                      for script in _INLINE_SCRIPT.findall(bytes(page.body)))
    page.headers["Content-Security-Policy"] = "; ".join([
        "default-src 'self'", f"script-src 'self' https://cdn.jsdelivr.net {hashes}",
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com",
        "font-src 'self' https://fonts.gstatic.com", "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly",
        "worker-src 'self' blob:", "connect-src 'self'", "object-src 'none'", "base-uri 'self'",
        "frame-ancestors 'none'",
    ])
    return page


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    return with_policy(get_swagger_ui_html(openapi_url=request.app.openapi_url, title=f"{request.app.title} - API"))


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    return with_policy(get_redoc_html(openapi_url=request.app.openapi_url, title=f"{request.app.title} - ReDoc"))
