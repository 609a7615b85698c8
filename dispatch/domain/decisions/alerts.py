"""Public alerts (issued here, served as CAP 1.2) and alerts received from other senders' CAP feeds.

A public alert is a stream of CAP messages: the first is an Alert, later ones Updates (an all-clear is the last
update) or a Cancel, each referencing every message before it (CAP 1.2 §3.2.1 <references>). An exercise stays an
exercise: a drill's alert can never be turned into a real one by an update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dispatch.domain.catalogue import (
    AlertArea,
    AlertText,
    Event,
    PublicAlertPublished,
)
from dispatch.domain.commands import PublishPublicAlert, RecordExternalAlert, StreamCommand
from dispatch.domain.errors import InvalidInput, NotFound, RuleViolation
from dispatch.domain.text import clean_text

HEADLINE_MAX_LENGTH = 160  # CAP 1.2 §3.2.2 asks for headlines "preferably ... less than 160 characters"
TEXT_MAX_LENGTH = 2000
AREA_TEXT_MAX_LENGTH = 200
MIN_POLYGON_POINTS = 3


class AlertNotFound(NotFound):
    code = "alert_not_found"


class AlertAlreadyIssued(RuleViolation):
    code = "alert_already_issued"


class AlertEnded(RuleViolation):
    code = "alert_ended"


class AlertExerciseMismatch(RuleViolation):
    code = "alert_exercise_mismatch"


@dataclass(frozen=True)
class PublicAlert:
    """A public alert as its messages left it."""

    messages: tuple[PublicAlertPublished, ...]

    @property
    def current(self) -> PublicAlertPublished:
        return self.messages[-1]

    @property
    def ended(self) -> bool:
        return self.current.msg_type == "Cancel" or self.current.kind == "all_clear"

    def in_force(self, now: datetime) -> bool:
        return not self.ended and now < self.current.expires_at


def fold_alert(events: Sequence[Event]) -> PublicAlert | None:
    messages = tuple(event for event in events if isinstance(event, PublicAlertPublished))
    return PublicAlert(messages) if messages else None


def decide(command: StreamCommand, streams: Mapping[str, Sequence[Event]]) -> list[Event]:
    match command:
        case PublishPublicAlert():
            return _publish(command, fold_alert(streams[command.streams()[0]]))
        case RecordExternalAlert():
            return [] if streams[command.streams()[0]] else [command.alert]
    raise InvalidInput(f"{type(command).__name__} is not an alert command")


def _publish(command: PublishPublicAlert, alert: PublicAlert | None) -> list[Event]:
    if command.msg_type == "Alert":
        if alert is not None:
            raise AlertAlreadyIssued(f"alert {command.alert_id} was issued already; update or cancel it",
                                     field="alert_id")
        if command.kind == "all_clear":
            raise InvalidInput("an all-clear ends an alert: give it as an update of the alert it clears",
                               field="kind")
    else:
        if alert is None:
            raise AlertNotFound(f"alert {command.alert_id} does not exist", field="alert_id")
        if alert.ended:
            raise AlertEnded(f"alert {command.alert_id} has ended ({alert.current.kind}, "
                             f"{alert.current.msg_type}); issue a new one", field="alert_id")
        if alert.current.exercise != command.exercise:
            what = "an exercise" if alert.current.exercise else "real"
            raise AlertExerciseMismatch(f"alert {command.alert_id} is {what}; an update cannot change that",
                                        field="exercise")
    if command.expires_at <= command.at:
        raise InvalidInput("expires_at must be later than now", field="expires_at")
    _check_area(command.area)
    previous = alert.messages if alert is not None else ()
    return [PublicAlertPublished(
        at=command.at, alert_id=command.alert_id, message_id=f"{command.alert_id}.{len(previous) + 1}",
        msg_type=command.msg_type, kind=command.kind, severity=command.severity, urgency=command.urgency,
        certainty=command.certainty, th=_text(command.th, "th"), en=_text(command.en, "en"), area=command.area,
        expires_at=command.expires_at, exercise=command.exercise,
        references=tuple(message.message_id for message in previous),
    )]


def _text(text: AlertText, language: str) -> AlertText:
    headline = clean_text(text.headline.strip(), f"{language}.headline", max_length=HEADLINE_MAX_LENGTH)
    if not headline:
        raise InvalidInput(f"the {language} headline is empty; alerts go out in Thai and English",
                           field=f"{language}.headline")
    return AlertText(
        headline=headline,
        description=clean_text(text.description, f"{language}.description", free_text=True,
                               max_length=TEXT_MAX_LENGTH),
        instruction=clean_text(text.instruction, f"{language}.instruction", free_text=True,
                               max_length=TEXT_MAX_LENGTH),
    )


def _check_area(area: AlertArea) -> None:
    for name in ("description_th", "description_en"):
        if not clean_text(getattr(area, name).strip(), f"area.{name}", max_length=AREA_TEXT_MAX_LENGTH):
            raise InvalidInput(f"area.{name} is empty: name the area in Thai and English", field=f"area.{name}")
    if not area.polygons and not area.circles:
        raise InvalidInput("an alert's area needs a polygon or a circle", field="area")
    for polygon in area.polygons:
        if len({(point.lat, point.lon) for point in polygon}) < MIN_POLYGON_POINTS:
            raise InvalidInput(f"a polygon needs at least {MIN_POLYGON_POINTS} distinct points",
                               field="area.polygons")
