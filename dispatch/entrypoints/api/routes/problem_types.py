"""/problems/<code>: what each problem type means, for a person who follows an error's `type` (RFC 9457 §3.1.1)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from dispatch.domain.errors import NotFound
from dispatch.entrypoints.api.problems import TYPE_PREFIX, every_code, title_of

router = APIRouter(include_in_schema=False)


@router.get(TYPE_PREFIX + "{code}")
def problem_type(code: str) -> PlainTextResponse:
    status = every_code().get(code)
    if status is None:
        raise NotFound(f"no problem type {code}; the API's description lists them all (/docs)", field="code")
    return PlainTextResponse(f"{title_of(code)}\n\nProblem type {TYPE_PREFIX}{code}: the API answers it with HTTP "
                             f"{status} and code \"{code}\". Its `detail` names the thing and the rule, `field` the "
                             "input at fault. Every code is listed in the API's description at /docs.\n")
