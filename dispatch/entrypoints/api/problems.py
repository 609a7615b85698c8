"""Error answers as RFC 9457 Problem Details (`application/problem+json`), and which HTTP status each rule gets.

The rules (dispatch/domain/errors.py and the errors beside the accounts, the lockout and CSRF) know nothing of HTTP;
STATUS below is the one place that maps them to a status. Every answer carries:

- `type`: `/problems/<code>`, a path reference (RFC 9457 §3.1.1 recommends the full path for relative types),
  one per code and stable, which answers with what the code means (routes/problem_types.py); never
  `about:blank`, because every error the API gives has a code the pages translate and clients switch on, and a
  type per code lets a generic problem client do the same;
- `title`: the code in words, the same for every occurrence; `status`; `detail`: this occurrence in words
  (it names the thing and the rule); `instance`: the path that was asked for;
- extension members: `code` (machine-readable, as before), `field` (the input at fault, or null),
  `current_version` on a concurrency conflict, `errors` (every invalid field) on a validation error.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from fastapi import Response

from dispatch.adapters.accounts import AuthenticationFailed, UserExists
from dispatch.adapters.lockout import TooManyAttempts
from dispatch.domain.errors import (
    CommitterUnavailable,
    DatabaseUnavailable,
    DispatchError,
    FacilityNotFound,
    IdempotencyKeyReused,
    InvalidInput,
    InvalidTime,
    NotFound,
    NotPermitted,
    ReferralNeedsDestination,
)
from dispatch.entrypoints.api.security import CsrfRejected

PROBLEM_JSON: Final[str] = "application/problem+json"
TYPE_PREFIX: Final[str] = "/problems/"

# Each rule's HTTP status; a subclass takes its nearest ancestor's. A rule not named here is a well-formed
# command the current state does not allow: 409 Conflict (DispatchError itself).
STATUS: Final[dict[type[DispatchError], int]] = {
    DispatchError: 409,
    NotFound: 404,
    FacilityNotFound: 422,
    InvalidInput: 422,
    InvalidTime: 422,
    ReferralNeedsDestination: 422,
    IdempotencyKeyReused: 422,
    AuthenticationFailed: 401,
    NotPermitted: 403,
    CsrfRejected: 403,
    UserExists: 409,
    TooManyAttempts: 429,
    CommitterUnavailable: 503,
    DatabaseUnavailable: 503,
}

# Codes the API gives for refusals that are not rules: the framework's, the body limits' and a crash.
FRAMEWORK_CODES: Final[dict[str, int]] = {
    "invalid_input": 422, "not_found": 404, "method_not_allowed": 405, "payload_too_large": 413,
    "unsupported_media_type": 415, "internal_error": 500,
}


def status_of(rule: type[DispatchError]) -> int:
    """The HTTP status for this rule: its own class's entry in STATUS, else its nearest ancestor's."""
    return next(STATUS[cls] for cls in rule.__mro__ if cls in STATUS)


def title_of(code: str) -> str:
    """The problem type's title: its code in words ("incident_not_found" -> "Incident not found")."""
    return code.replace("_", " ").capitalize()


def problem_body(status: int, code: str, detail: str, *, instance: str, field: str | None = None,
                 **extensions: Any) -> dict[str, Any]:
    return {"type": TYPE_PREFIX + code, "title": title_of(code), "status": status, "detail": detail,
            "instance": instance, "code": code, "field": field, **extensions}


def problem(status: int, code: str, detail: str, *, instance: str, field: str | None = None,
            headers: dict[str, str] | None = None, **extensions: Any) -> Response:
    """A Problem Details answer."""
    body = problem_body(status, code, detail, instance=instance, field=field, **extensions)
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type=PROBLEM_JSON)


def problem_bytes(status: int, code: str, detail: str, *, instance: str, field: str | None = None) -> bytes:
    """A Problem Details body for plain ASGI middleware (the body limits), which sends its own messages."""
    return orjson.dumps(problem_body(status, code, detail, instance=instance, field=field))


def every_code() -> dict[str, int]:
    """Every code the API can answer with and its status: the rules' (all DispatchError subclasses that the
    running program has imported) and the framework's."""
    codes = dict(FRAMEWORK_CODES)
    pending: list[type[DispatchError]] = [DispatchError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        codes.setdefault(cls.code, status_of(cls))
    return dict(sorted(codes.items()))
