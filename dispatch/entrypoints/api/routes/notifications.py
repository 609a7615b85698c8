"""The outbox seen by people: every delivery with its attempts (operators, officials), what the board shows of it,
a person's in-app notices, the command centre's message to a crew, and how an admin sets a person's channels."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import Field
from sqlalchemy import select

from dispatch.adapters.outbox_tables import CAP_FEEDS, DELIVERIES, NOTIFICATIONS
from dispatch.domain.catalogue import delivery_stream
from dispatch.domain.commands import Command, MessageCrew
from dispatch.domain.errors import FacilityNotFound, NotFound
from dispatch.domain.notices import BOARD_WINDOW, LINE_USER_ID_PATTERN, PHONE_PATTERN
from dispatch.domain.vocabulary import MAX_NOTE_LENGTH, Language
from dispatch.entrypoints.api.answers import BoardNoticesOut, DeliveryOut, MyNoticesOut, NotificationsOut
from dispatch.entrypoints.api.commanding import CommandRouter
from dispatch.entrypoints.api.deps import Admin, Auditor, OperatorCommand, Reader, ServicesDep, new_id
from dispatch.entrypoints.api.openapi import answers, problems
from dispatch.entrypoints.api.schemas import FreeText, Id, In, Line
from dispatch.entrypoints.api.views import timeline_entry
from dispatch.projections.alerts import external_in_force, public_alerts
from dispatch.projections.outbox import notifications_with_deliveries

router = APIRouter(tags=["notifications"])
commands = CommandRouter(prefix="/api/incidents", tags=["notifications"])
_KEY = r"^[0-9]+\.[0-9]+(\.[0-9a-f]{16})?$"


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"


class MessageIn(In):
    resource_id: str = Id
    text: FreeText = Field(min_length=1, max_length=MAX_NOTE_LENGTH)


class ContactIn(In):
    line_user_id: Line | None = Field(default=None, pattern=LINE_USER_ID_PATTERN,
                                      description="the person's LINE user id (U and 32 hex digits)")
    phone: Line | None = Field(default=None, pattern=PHONE_PATTERN, description="mobile number for SMS")
    language: Language = "th"
    facility_id: str | None = Field(default=None, min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$")


@commands.post("/{incident_id}/messages", summary="Send the crew of a unit on the incident a "
                                                                      "message (in their app, and on LINE or SMS)")
async def message_crew(incident_id: str, body: MessageIn, context: OperatorCommand) -> Command:
    return MessageCrew(**context.stamp(), incident_id=incident_id, resource_id=body.resource_id,
                       message_id=new_id(context.actor, context.key), text=body.text)


@router.get("/api/deliveries", summary="Notifications and their deliveries, newest first: status, attempts, errors",
            operation_id="listDeliveries", response_model=None, responses=answers(NotificationsOut))
def list_deliveries(
    actor: Auditor, services: ServicesDep,
    incident_id: Annotated[str | None, Query(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$")] = None,
    status: Annotated[Literal["pending", "sending", "delivered", "failed", "expired"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    return {"notifications": notifications_with_deliveries(services.store.engine, incident_id=incident_id,
                                                           status=status, limit=limit)}


@router.get("/api/deliveries/{delivery_id}", summary="One delivery (by its key) and every attempt of it, from the log",
            operation_id="getDelivery", response_model=None, responses=answers(DeliveryOut, 404))
def get_delivery(delivery_id: Annotated[str, Path(pattern=_KEY)], actor: Auditor,
                 services: ServicesDep) -> dict[str, Any]:
    delivery_key = delivery_id
    with services.store.engine.connect() as db:
        row = db.execute(select(DELIVERIES).where(DELIVERIES.c.delivery_key == delivery_key)).mappings().first()
    if row is None:
        raise DeliveryNotFound(f"delivery {delivery_key} does not exist", field="delivery_id")
    return dict(row) | {"history": [timeline_entry(stored) for stored in
                                     services.store.read_stream(delivery_stream(delivery_key))]}


@router.get("/api/board/notices", summary="What the board shows beyond incidents: notifications failing or being "
                                          "sent, alerts from CAP feeds in force, feed errors, public alerts",
            operation_id="boardNotices", response_model=None, responses=answers(BoardNoticesOut))
def board_notices(actor: Auditor, services: ServicesDep) -> dict[str, Any]:
    now = services.clock.now()
    since = now - BOARD_WINDOW
    table = NOTIFICATIONS
    with services.store.engine.connect() as db:
        notifications = [dict(row) for row in db.execute(
            select(table).where(table.c.status.in_(("pending", "sending", "failed", "expired")))
            .where(table.c.created_at >= since).order_by(table.c.position.desc()).limit(100)).mappings()]
        feeds = [dict(row) for row in db.execute(select(CAP_FEEDS).order_by(CAP_FEEDS.c.url)).mappings()]
    return {
        "notifications": notifications,
        "external_alerts": external_in_force(services.store.engine, now),
        "feeds": feeds,
        "public_alerts": [row for row in public_alerts(services.store.engine, limit=20)
                          if not row["ended"] and row["expires_at"] > now],
    }


@router.get("/api/me/notices", summary="The signed-in person's notices (what the app shows them), newest first",
            operation_id="myNotices", response_model=None, responses=answers(MyNoticesOut))
def my_notices(actor: Reader, services: ServicesDep,
               limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    with services.store.engine.connect() as db:
        found = db.execute(
            select(DELIVERIES.c.notification_key, DELIVERIES.c.kind, DELIVERIES.c.incident_id,
                   DELIVERIES.c.planned_at).where(DELIVERIES.c.person_id == actor.id)
            .where(DELIVERIES.c.channel == "app").order_by(DELIVERIES.c.position.desc()).limit(limit)).mappings()
        return {"notices": [dict(row) for row in found]}


@router.put("/api/users/{username}/contact", status_code=204, summary="Set how the outbox reaches a person: LINE "
            "user id, phone for SMS, language, and the facility they work at", operation_id="setContact",
            responses=problems(404, 422))
def set_contact(username: Annotated[str, Path(min_length=1, max_length=80)], body: ContactIn, actor: Admin,
                services: ServicesDep) -> None:
    if body.facility_id is not None and services.places.find(body.facility_id) is None:
        raise FacilityNotFound(f"{body.facility_id} is not a known facility", field="facility_id")
    services.accounts.set_contact(username, line_user_id=body.line_user_id, phone=body.phone,
                                  language=body.language, facility_id=body.facility_id)
