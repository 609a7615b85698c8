"""The OpenAPI document as clients and generators read it.

- operationIds from the route functions' names in camelCase (`reportIncident`), or the route's own;
- the two ways to sign in as security schemes: a bearer token, or the session cookie (whose writes also
  echo the CSRF cookie in X-CSRF-Token), attached to every route that needs one;
- only the errors that can occur on each route, as Problem Details (`application/problem+json`): 401 (and
  403 where a role or the CSRF proof is checked) where one signs in, 422 where there is input, 413 and 415
  where there is a body, 503 where the database is read; 404, 409 and 429 as each route declares them;
- an example body for every command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final, get_args

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from dispatch.domain.vocabulary import Role
from dispatch.entrypoints.api.deps import ROLES_ATTRIBUTE
from dispatch.entrypoints.api.limits import LIMIT_RESPONSES
from dispatch.entrypoints.api.problems import PROBLEM_JSON, every_code, title_of
from dispatch.entrypoints.api.schemas import ProblemOut
from dispatch.entrypoints.api.security import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE

PROBLEM_REF: Final[str] = "#/components/schemas/ProblemOut"
SAFE: Final[frozenset[str]] = frozenset({"get", "head", "options"})
WHY: Final[dict[int, str]] = {
    401: "no credentials, or a session that has ended: sign in",
    403: "your role may not do this, or a change signed in by cookie lacks its CSRF proof",
    404: "no such incident or resource",
    409: "a rule forbids it in the current state, or someone changed it since you read it (current_version)",
    413: LIMIT_RESPONSES["413"],
    415: LIMIT_RESPONSES["415"],
    422: "invalid input: `field` names the first, `errors` every one",
    429: "too many failed sign-ins: locked for Retry-After seconds",
    503: "the database or the committer is away for now: retry after Retry-After seconds (same Idempotency-Key)",
}
RETRY_AFTER: Final[dict[str, Any]] = {"Retry-After": {
    "description": "seconds to wait before trying again", "schema": {"type": "integer", "minimum": 0}}}
SECURITY_SCHEMES: Final[dict[str, Any]] = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "the token from POST /api/auth/login; lasts one shift"},
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                      "description": "set by signing in, for the pages; HttpOnly, SameSite=Strict"},
    "csrfToken": {"type": "apiKey", "in": "header", "name": CSRF_HEADER,
                  "description": f"the {CSRF_COOKIE} cookie's value: a change signed in by the session cookie "
                                 "must echo it"},
}
# A body for every command. In this order they tell one story on an empty log with the reference places:
# register a boat, report a diver at Koh Yao Yai, triage, dispatch the boat, its milestone, refer, note, close.
EXAMPLES: Final[dict[str, dict[str, Any]]] = {
    "registerResource": {"id": "KY-BOAT-9", "kind": "boat", "name": "Koh Yao speedboat 9", "subtype": "speedboat",
                         "speed_knots": 25, "home_site_id": "isl_ko_yao_yai", "season": "all_year"},
    "reportIncident": {"source": "island", "site_id": "isl_ko_yao_yai", "triage": "red", "category": "dive_injury",
                       "patients": 1, "description": "diver surfaced fast, short of breath", "language": "ru"},
    "triageIncident": {"stage": "dispatch", "code": "yellow"},
    "dispatchResource": {"resource_id": "KY-BOAT-9"},
    "recordMilestone": {"resource_id": "KY-BOAT-9", "milestone": "on_scene"},
    "requestReferral": {"facility_id": "hosp_vachira_phuket", "resource_id": "KY-BOAT-9"},
    "addNote": {"text": "patient on oxygen, conscious", "resource_id": "KY-BOAT-9"},
    "closeIncident": {"outcome": "transferred", "summary": "handed over at Vachira Phuket hospital"},
    "updateResource": {"status": "out_of_service", "reason": "engine service"},
    "standDownResource": {"resource_id": "KY-BOAT-9", "reason": "sent by mistake: the caller is on Koh Yao Noi"},
    "reassignResource": {"resource_id": "KY-BOAT-9", "to_incident_id": "operator-3f9a2c"},
    "changeReferralCarrier": {"resource_id": "KY-BOAT-9"},
    "changeReferralDestination": {"facility_id": "hosp_bangkok_phuket"},
    "login": {"username": "operator", "password": "a long passphrase"},
    "changePassword": {"current_password": "a long passphrase", "new_password": "another long passphrase"},
    "addUser": {"username": "somchai.k", "role": "lifeguard", "password": "a long first password",
                "display_name": "Somchai K.", "resource_id": "KY-BOAT-9"},
    "sharePosition": {"position": {"lat": 8.0962, "lon": 98.6215}, "course_deg": 212.0, "speed_knots": 18.5},
    "confirmBeacon": {"how": "radio contact with the dive boat Sea Star: diver missing"},
    "dismissBeacon": {"reason": "the crew of the Sea Star tested their SART"},
    # Alerts and messages (docs/alerts.md).
    "messageCrew": {"resource_id": "KY-BOAT-9", "text": "Land at Chong Lad pier: the ambulance waits there"},
    "setContact": {"line_user_id": "U4af4980629e2b8b8c2a4f8a7b0f2c1d3", "phone": "0812345678", "language": "th"},
    "issueAlert": {"kind": "beach_closed", "th": {"headline": "ปิดหาดนางทอง คลื่นแรง", "description": "ห้ามลงเล่นน้ำ"},
                   "en": {"headline": "Nang Thong beach closed: dangerous surf", "description": "No swimming"},
                   "area": {"description_th": "หาดนางทอง", "description_en": "Nang Thong beach",
                            "circles": [{"center": {"lat": 8.6435, "lon": 98.2497}, "radius_km": 1.5}]},
                   "expires_in_minutes": 360},
    "allClear": {"en": {"headline": "Nang Thong beach open again"}, "th": {"headline": "เปิดหาดนางทองแล้ว"}},
    "cancelAlert": {"en": {"headline": "Cancelled: issued in error"}, "th": {"headline": "ยกเลิก: ประกาศโดยผิดพลาด"}},
}
EXAMPLES["updateAlert"] = EXAMPLES["issueAlert"] | {"expires_in_minutes": 120}


def operation_id(route: APIRoute) -> str:
    """A route's operationId: its function's name in camelCase (report_incident -> reportIncident)."""
    first, *rest = route.name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` entries for errors a route itself can give, documented as Problem Details."""
    return {status: _problem_response(status) for status in statuses}


def answers(model: type[BaseModel], *statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route that builds its answer itself (response_model=None): the 200 answer's model
    (dispatch/entrypoints/api/answers.py), and the errors it can give (as problems())."""
    return {200: {"model": model}, **problems(*statuses)}


def _problem_response(status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": WHY[status], "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}}
    if status in (429, 503):
        answer["headers"] = RETRY_AFTER
    return answer


def customise(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Make app.openapi() build the document described in the module docstring, once; `routers` are those the
    app includes with their routes' paths as they are (no prefix added by the app)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(build(), routers)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(spec: dict[str, Any], routers: Sequence[APIRouter]) -> dict[str, Any]:
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    problem_schema = ProblemOut.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["ProblemOut"] = problem_schema
    components["securitySchemes"] = SECURITY_SCHEMES
    for route, method, operation in _operations(spec, routers):
        _document_operation(route, method, operation)
    spec["info"]["description"] += "\n\n" + _codes_table()
    return spec


def _operations(spec: dict[str, Any], routers: Sequence[APIRouter]) -> Iterator[tuple[APIRoute, str, dict[str, Any]]]:
    for route in (route for router in routers for route in router.routes):
        if isinstance(route, APIRoute) and route.include_in_schema:
            for method in sorted(route.methods or ()):
                operation = spec["paths"].get(route.path_format, {}).get(method.lower())
                if operation is not None:
                    yield route, method.lower(), operation


def _document_operation(route: APIRoute, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation["responses"]
    responses.pop("422", None)  # FastAPI's own validation schema: ours is a problem
    statuses: set[int] = set()
    if operation.pop("security", None):
        writes = method not in SAFE
        operation["security"] = [{"bearer": []}, {"sessionCookie": [], "csrfToken": []} if writes
                                 else {"sessionCookie": []}]
        statuses.add(401)
        if writes or _restricted(route.dependant):
            statuses.add(403)
    if "requestBody" in operation or any(map(_can_be_invalid, operation.get("parameters", []))):
        statuses.add(422)
    if "requestBody" in operation:
        statuses |= {413, 415}
        if example := EXAMPLES.get(operation["operationId"]):
            operation["requestBody"]["content"]["application/json"]["example"] = example
    if route.path_format.startswith("/api/"):
        statuses.add(503)
    for status in sorted(statuses):
        responses.setdefault(str(status), _problem_response(status))


def _can_be_invalid(parameter: dict[str, Any]) -> bool:
    """Whether a parameter can fail validation: every one can, as even a plain string in a path is held to the
    clean-text rule and the length of an id (dispatch/entrypoints/api/limits.py)."""
    return parameter["in"] in ("path", "query", "header")


def _restricted(dependant: Dependant) -> bool:
    """Whether a dependency lets only some roles through (deps.require, deps.command_context)."""
    every_role = set(get_args(Role))
    return any(not every_role <= set(roles) for roles in _roles_checked(dependant))


def _roles_checked(dependant: Dependant) -> Iterator[tuple[str, ...]]:
    call: Callable[..., Any] | None = dependant.call
    if call is not None and (roles := getattr(call, ROLES_ATTRIBUTE, None)) is not None:
        yield roles
    for child in dependant.dependencies:
        yield from _roles_checked(child)


def _codes_table() -> str:
    rows = "\n".join(f"| `{code}` | {status} | {title_of(code)} |" for code, status in every_code().items())
    return ("Every error is an RFC 9457 problem (`application/problem+json`) with `type` `/problems/<code>` (which "
            "says what the code means), "
            "`title`, `status`, `detail` and `instance`, and the extension members `code` and `field` (the "
            "input at fault, or null); a conflict adds `current_version`, invalid input `errors` (every invalid "
            "field). The codes:\n\n| code | status | title |\n|---|---|---|\n" + rows)
