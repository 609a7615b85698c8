"""Public alerts: issued, updated, cleared and cancelled by operators and officials, served to the public as CAP 1.2
(one document per message) and an Atom index; and the alerts this centre receives from CAP feeds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import Field, model_validator

from dispatch.adapters.cap_xml import CAP_MEDIA_TYPE, Origin, alert_document, atom_index
from dispatch.app.services import Services
from dispatch.domain.cap import KINDS
from dispatch.domain.catalogue import (
    AlertArea,
    AlertKind,
    AlertText,
    Certainty,
    Circle,
    MessageType,
    PublicAlertPublished,
    Severity,
    Urgency,
    alert_stream,
)
from dispatch.domain.commands import Command, PublishPublicAlert
from dispatch.domain.decisions.alerts import (
    AREA_TEXT_MAX_LENGTH,
    HEADLINE_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    AlertNotFound,
    fold_alert,
)
from dispatch.entrypoints.api.answers import ExternalAlertsOut, PublicAlertsOut
from dispatch.entrypoints.api.commanding import CommandRouter
from dispatch.entrypoints.api.deps import Auditor, CommandContext, ServicesDep, command_context, new_id
from dispatch.entrypoints.api.openapi import answers, problems
from dispatch.entrypoints.api.schemas import FreeText, In, Line, PositionIn, ServiceTime
from dispatch.projections.alerts import external_in_force, public_alerts

router = APIRouter(tags=["alerts"])
commands = CommandRouter(prefix="/api/alerts", tags=["alerts"])
# Operators issue public alerts; officials (the provincial health office, the park) may too.
AlertCommand = Annotated[CommandContext, Depends(command_context("operator", "official"))]
# What the Atom index lists: alerts changed within this long (ended ones stay listed a while, so a consumer
# polling now and then still sees the all-clear or cancellation).
INDEX_WINDOW = timedelta(days=7)
MAX_POLYGON_POINTS = 500
_MESSAGE_ID = r"^[0-9a-f]{12}\.[0-9]{1,6}$"


class TextIn(In):
    headline: Line = Field(min_length=1, max_length=HEADLINE_MAX_LENGTH)
    description: FreeText = Field(default="", max_length=TEXT_MAX_LENGTH)
    instruction: FreeText = Field(default="", max_length=TEXT_MAX_LENGTH)

    def to_text(self) -> AlertText:
        return AlertText(headline=self.headline, description=self.description, instruction=self.instruction)


class CircleIn(In):
    center: PositionIn
    radius_km: float = Field(gt=0, le=1000, strict=True)


class AreaIn(In):
    description_th: Line = Field(min_length=1, max_length=AREA_TEXT_MAX_LENGTH)
    description_en: Line = Field(min_length=1, max_length=AREA_TEXT_MAX_LENGTH)
    polygons: list[list[PositionIn]] = Field(default_factory=list, max_length=20)
    circles: list[CircleIn] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def bounded_polygons(self) -> AreaIn:
        if any(len(polygon) > MAX_POLYGON_POINTS for polygon in self.polygons):
            raise ValueError(f"a polygon has at most {MAX_POLYGON_POINTS} points")
        return self

    def to_area(self) -> AlertArea:
        return AlertArea(
            description_th=self.description_th, description_en=self.description_en,
            polygons=tuple(tuple(point.to_position() for point in polygon) for polygon in self.polygons),
            circles=tuple(Circle(center=c.center.to_position(), radius_km=c.radius_km) for c in self.circles))


class AlertIn(In):
    """A public alert in Thai and English over a polygon or circle; severity, urgency and certainty default to
    the kind's (dispatch/domain/cap.py). `exercise`: a drill, published with CAP status Exercise."""

    kind: AlertKind
    th: TextIn
    en: TextIn
    area: AreaIn
    severity: Severity | None = None
    urgency: Urgency | None = None
    certainty: Certainty | None = None
    expires_at: ServiceTime | None = None
    expires_in_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    exercise: bool = False


class EndIn(In):
    """An all-clear or a cancellation: new words optional (the alert's own are kept otherwise)."""

    th: TextIn | None = None
    en: TextIn | None = None
    exercise: bool | None = None


@commands.post("", status_code=201, summary="Issue a public alert (CAP msgType Alert)", responses=problems(409))
async def issue_alert(body: AlertIn, context: AlertCommand) -> Command:
    return _publish(body, context, new_id(context.actor, context.key), "Alert")


@commands.post("/{alert_id}/update", summary="Update a public alert (CAP msgType Update, referencing the earlier)")
async def update_alert(alert_id: str, body: AlertIn, context: AlertCommand) -> Command:
    return _publish(body, context, alert_id, "Update")


@commands.post("/{alert_id}/all-clear", summary="Give the all-clear (an Update with responseType AllClear)")
async def all_clear(alert_id: str, body: EndIn, context: AlertCommand) -> Command:
    return _end(alert_id, body, context, "Update")


@commands.post("/{alert_id}/cancel", summary="Cancel a public alert issued in error (CAP msgType Cancel)")
async def cancel_alert(alert_id: str, body: EndIn, context: AlertCommand) -> Command:
    return _end(alert_id, body, context, "Cancel")


def _publish(body: AlertIn, context: CommandContext, alert_id: str, msg_type: MessageType) -> Command:
    kind = KINDS[body.kind]
    now = context.services.clock.now()
    expires_at = body.expires_at or now + timedelta(minutes=body.expires_in_minutes or 24 * 60)
    return PublishPublicAlert(
        **context.stamp(), alert_id=alert_id, msg_type=msg_type, kind=body.kind,
        severity=body.severity or kind.severity, urgency=body.urgency or kind.urgency,
        certainty=body.certainty or kind.certainty, th=body.th.to_text(), en=body.en.to_text(),
        area=body.area.to_area(), expires_at=expires_at, exercise=body.exercise)


def _end(alert_id: str, body: EndIn, context: CommandContext, msg_type: MessageType) -> Command:
    current = _alert(context.services, alert_id).current
    all_clear = msg_type == "Update"
    kind = KINDS["all_clear"] if all_clear else KINDS[current.kind]
    return PublishPublicAlert(
        **context.stamp(), alert_id=alert_id, msg_type=msg_type, kind="all_clear" if all_clear else current.kind,
        severity=kind.severity if all_clear else current.severity,
        urgency=kind.urgency if all_clear else current.urgency,
        certainty=kind.certainty if all_clear else current.certainty,
        th=body.th.to_text() if body.th else current.th, en=body.en.to_text() if body.en else current.en,
        area=current.area, expires_at=max(current.expires_at, context.services.clock.now() + timedelta(hours=1)),
        exercise=current.exercise if body.exercise is None else body.exercise)


def _alert(services: Services, alert_id: str) -> Any:
    alert = fold_alert([stored.event for stored in services.store.read_stream(alert_stream(alert_id))])
    if alert is None:
        raise AlertNotFound(f"alert {alert_id} does not exist", field="alert_id")
    return alert


@router.get("/api/alerts", summary="Public alerts issued here, most recently changed first",
            operation_id="listPublicAlerts", response_model=None, responses=answers(PublicAlertsOut))
def list_alerts(actor: Auditor, services: ServicesDep) -> dict[str, Any]:
    return {"alerts": public_alerts(services.store.engine)}


@router.get("/api/external-alerts", summary="Alerts from CAP feeds in force over the province's zones",
            operation_id="listExternalAlerts", response_model=None, responses=answers(ExternalAlertsOut))
def list_external_alerts(actor: Auditor, services: ServicesDep) -> dict[str, Any]:
    return {"alerts": external_in_force(services.store.engine, services.clock.now())}


# --- the public's side: no sign-in, as public alerting must be --------------------------------------------


def origin_of(services: Services) -> Origin:
    settings = services.settings
    return Origin(sender=settings.cap_sender, sender_name_th=settings.cap_sender_name_th,
                  sender_name_en=settings.cap_sender_name_en, base_url=str(settings.public_base_url))


# Documents for the public and for aggregators, described in docs/alerts.md; not API operations, so they stay out
# of the OpenAPI document (a generated client has nothing to do with CAP XML).
@router.get("/cap/alerts/{message_id}.xml", include_in_schema=False)
def cap_message(message_id: Annotated[str, Path(pattern=_MESSAGE_ID)], services: ServicesDep) -> Response:
    """One public alert message as CAP 1.2 XML."""
    alert_id = message_id.rsplit(".", 1)[0]
    alert = _alert(services, alert_id)
    for index, message in enumerate(alert.messages):
        if message.message_id == message_id:
            body = alert_document(message, alert.messages[:index], origin_of(services))
            return Response(body, media_type=CAP_MEDIA_TYPE)
    raise AlertNotFound(f"alert message {message_id} does not exist", field="message_id")


@router.get("/cap/alerts.atom", include_in_schema=False)
def cap_index(services: ServicesDep) -> Response:
    """The index of public alert messages (Atom), each entry linking its CAP document."""
    now = services.clock.now()
    latest: list[PublicAlertPublished] = []
    for row in public_alerts(services.store.engine, limit=500):
        if row["updated_at"] < now - INDEX_WINDOW:
            continue
        latest.append(_alert(services, row["alert_id"]).current)
    updated: datetime = max((message.at for message in latest), default=now)
    return Response(atom_index(latest, origin_of(services), updated=updated), media_type="application/atom+xml")

