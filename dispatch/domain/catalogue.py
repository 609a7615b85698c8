"""The event catalogue: frozen, past-tense facts, their type registry and upcasting by schema_version.

Events are msgspec Structs: typed, immutable, and decoded straight from the stored JSON without an
intermediate dict, which is what makes a full replay cheap (see bench/event_store.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, ClassVar, Final, Literal, TypeVar

import msgspec

from dispatch.domain.vocabulary import (
    BeaconKind,
    Category,
    Language,
    Milestone,
    Outcome,
    PositionSource,
    ResourceKind,
    ResourceStatus,
    RiskReason,
    Season,
    Source,
    Triage,
    TriageStage,
    Zone,
)

Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]


class Position(msgspec.Struct, frozen=True):
    """A WGS84 point."""

    lat: Latitude
    lon: Longitude


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every fact in the log. `at` is when it happened (server time unless a crew stated earlier)."""

    STREAM: ClassVar[str] = "incident"
    SCHEMA_VERSION: ClassVar[int] = 1

    at: datetime

    @property
    def stream_id(self) -> str:
        raise NotImplementedError


class IncidentEvent(Event, frozen=True, kw_only=True):
    incident_id: str

    @property
    def stream_id(self) -> str:
        return incident_stream(self.incident_id)


class ResourceEvent(Event, frozen=True, kw_only=True):
    STREAM: ClassVar[str] = "resource"
    resource_id: str

    @property
    def stream_id(self) -> str:
        return resource_stream(self.resource_id)


def incident_stream(incident_id: str) -> str:
    return f"incident-{incident_id}"


def resource_stream(resource_id: str) -> str:
    return f"resource-{resource_id}"


EVENT_TYPES: Final[dict[str, type[Event]]] = {}
E = TypeVar("E", bound=type[Event])


def registered(cls: E) -> E:
    """Add an event class to the registry under its class name (the stored `type`)."""
    EVENT_TYPES[cls.__name__] = cls
    return cls


# --- incidents -------------------------------------------------------------------------------------


@registered
class IncidentReported(IncidentEvent, frozen=True, kw_only=True):
    source: Source
    position: Position
    site_id: str | None = None
    zone: Zone
    triage: Triage
    category: Category
    patients: int
    description: str = ""
    reporter: str
    language: Language = "th"


@registered
class IncidentTriaged(IncidentEvent, frozen=True, kw_only=True):
    """The dispatch code (IDC, at the command centre) or the scene code (RC, by the crew) was set."""

    stage: TriageStage
    code: Triage


@registered
class ResourceDispatched(IncidentEvent, frozen=True, kw_only=True):
    """A resource was notified to go to the incident (≈ NEMSIS eTimes.03); `from_incident_id` when an operator
    moved it here from another incident (ResourceReassigned there)."""

    resource_id: str
    kind: ResourceKind
    from_incident_id: str | None = None


@registered
class MilestoneRecorded(IncidentEvent, frozen=True, kw_only=True):
    """A resource reached a milestone; `late` when the crew entered it afterwards with an earlier time."""

    resource_id: str
    milestone: Milestone
    late: bool = False


class ReferralPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """The zone's guarantee as it stood when the referral was requested."""

    zone: Zone
    guarantee_minutes: int
    warning_minutes: int


@registered
class ReferralRequested(IncidentEvent, frozen=True, kw_only=True):
    """The decision to refer: the guarantee clock starts here."""

    referral_id: str
    from_site_id: str | None
    from_position: Position
    facility_id: str
    resource_id: str | None = None
    policy: ReferralPolicy | None = None
    warning_at: datetime | None = None
    deadline_at: datetime | None = None


@registered
class ReferralAtRisk(IncidentEvent, frozen=True, kw_only=True):
    referral_id: str
    reason: RiskReason
    predicted_arrival_at: datetime | None = None
    predicted_late_seconds: int | None = None
    advice: str = ""


@registered
class ReferralBreached(IncidentEvent, frozen=True, kw_only=True):
    referral_id: str
    deadline_at: datetime


@registered
class PatientArrivedAtFacility(IncidentEvent, frozen=True, kw_only=True):
    """The guarantee clock stops here (≈ eTimes.11)."""

    referral_id: str | None
    facility_id: str
    resource_id: str | None = None


@registered
class PatientHandedOver(IncidentEvent, frozen=True, kw_only=True):
    """Care passed to the facility's staff (≈ eTimes.12); reported as hospital wall time."""

    referral_id: str | None
    facility_id: str
    resource_id: str | None = None


@registered
class ResourceStoodDown(IncidentEvent, frozen=True, kw_only=True):
    """An operator released a unit from the incident (sent by mistake, or not needed): its response ends here,
    as a cancelled one (≈ eTimes.14), and the unit is available again."""

    resource_id: str
    reason: str = ""


@registered
class ResourceReassigned(IncidentEvent, frozen=True, kw_only=True):
    """An operator moved a unit from this incident to `to_incident_id`, where ResourceDispatched follows in the same
    append: its response here ends (≈ eTimes.14) and a new one starts there."""

    resource_id: str
    to_incident_id: str


@registered
class ReferralCarrierChanged(IncidentEvent, frozen=True, kw_only=True):
    """An operator named another unit to carry the referral's patient. The guarantee's clock keeps running from the
    request; `risk_lifted` when the referral was at risk only by the old carrier's predicted arrival, which no longer
    holds (the new carrier's prediction follows)."""

    referral_id: str
    resource_id: str
    previous_resource_id: str | None
    risk_lifted: bool = False


@registered
class ReferralDestinationChanged(IncidentEvent, frozen=True, kw_only=True):
    """An operator sent the referral's patient to another facility. The guarantee's clock keeps running from the
    request; `risk_lifted` as for ReferralCarrierChanged."""

    referral_id: str
    facility_id: str
    previous_facility_id: str
    risk_lifted: bool = False


@registered
class NoteAdded(IncidentEvent, frozen=True, kw_only=True):
    text: str
    resource_id: str | None = None


@registered
class IncidentClosed(IncidentEvent, frozen=True, kw_only=True):
    outcome: Outcome
    deceased: int = 0
    summary: str = ""
    released_resource_ids: tuple[str, ...] = ()


# --- resources -------------------------------------------------------------------------------------


@registered
class ResourceRegistered(ResourceEvent, frozen=True, kw_only=True):
    kind: ResourceKind
    name: str
    subtype: str = ""
    speed_knots: float | None = None
    position: Position | None = None
    home_site_id: str | None = None
    zone: Zone | None = None
    # Added later: events written before it read as all_year, which is what every unit was then.
    season: Season = "all_year"


@registered
class ResourceStatusChanged(ResourceEvent, frozen=True, kw_only=True):
    status: ResourceStatus
    incident_id: str | None = None
    reason: str = ""


@registered
class ResourcePositionReported(ResourceEvent, frozen=True, kw_only=True):
    """Where the resource was at `at`, and who said so: its AIS transponder, a crew phone or an operator. A
    tracker also gives the course over ground (degrees true) and speed over ground, which dead reckoning uses."""

    SCHEMA_VERSION: ClassVar[int] = 2
    position: Position
    source: PositionSource = "operator"
    course_deg: float | None = None
    sog_knots: float | None = None


@registered
class ResourceMmsiSet(ResourceEvent, frozen=True, kw_only=True):
    """The resource's AIS transponder (its MMSI, nine digits); None: it has none any more."""

    mmsi: str | None


# --- AIS distress beacons (an incident's stream) -----------------------------------------------------


@registered
class BeaconDetected(IncidentEvent, frozen=True, kw_only=True):
    """An AIS-SART, man-overboard device or EPIRB was heard; it opened this incident (source `ais_beacon`)."""

    mmsi: str
    beacon: BeaconKind
    position: Position
    # The vessel the beacon belongs to, when AIS told its name (a SART's own static data rarely does).
    vessel_name: str = ""


@registered
class BeaconConfirmed(IncidentEvent, frozen=True, kw_only=True):
    """An operator confirmed the beacon is a real distress (by radio, a call, a sighting: `how`)."""

    how: str = ""


@registered
class BeaconDismissed(IncidentEvent, frozen=True, kw_only=True):
    """An operator dismissed the beacon (a test, a false activation); the incident closes with it."""

    reason: str = ""


# --- messages, notifications and deliveries (DESIGN.md §7: deliveries go through an outbox) ----------

Channel = Literal["line", "sms", "app"]


def notification_stream(notification_key: str) -> str:
    return f"notification-{notification_key}"


def delivery_stream(delivery_key: str) -> str:
    return f"delivery-{delivery_key}"


@registered
class CrewMessaged(IncidentEvent, frozen=True, kw_only=True):
    """The command centre sent the crew of a unit on the incident a message (shown in their app, and pushed)."""

    message_id: str
    resource_id: str
    text: str


class PlannedDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """One person to reach on one channel; `fallback_for` names the delivery this one replaces should that
    one fail for good (the person's next channel), None for a first choice."""

    delivery_key: str
    person_id: str
    channel: Channel
    language: Language = "th"
    fallback_for: str | None = None


class NotificationEvent(Event, frozen=True, kw_only=True):
    notification_key: str

    @property
    def stream_id(self) -> str:
        return notification_stream(self.notification_key)


class NoticeText(msgspec.Struct, frozen=True, kw_only=True):
    language: Language
    text: str


@registered
class NotificationAddressed(NotificationEvent, frozen=True, kw_only=True):
    """Who a notice goes to, how, and in which words, decided once; `unreachable` are the people it was for who
    have no channel. `expired`: found too long after its event to be worth sending (a replayed history)."""

    kind: str
    incident_id: str | None = None
    deliveries: tuple[PlannedDelivery, ...] = ()
    unreachable: tuple[str, ...] = ()
    texts: tuple[NoticeText, ...] = ()
    expired: bool = False


class DeliveryEvent(Event, frozen=True, kw_only=True):
    delivery_key: str
    notification_key: str

    @property
    def stream_id(self) -> str:
        return delivery_stream(self.delivery_key)


@registered
class DeliveryAttempted(DeliveryEvent, frozen=True, kw_only=True):
    """A worker is about to hand the message to its channel: written before the send, so an attempt whose
    worker died is known to be in doubt."""

    attempt: int
    channel: Channel


@registered
class DeliverySucceeded(DeliveryEvent, frozen=True, kw_only=True):
    attempt: int
    # The channel's id for the accepted message (LINE's request id, the gateway's message id), for tracing.
    provider_ref: str = ""


@registered
class DeliveryAttemptFailed(DeliveryEvent, frozen=True, kw_only=True):
    """An attempt failed; it is tried again at `retry_at`, or never (None): the delivery has failed."""

    attempt: int
    error: str
    status_code: int | None = None
    retry_at: datetime | None = None


# --- public alerts (CAP 1.2 out) and alerts from other senders (CAP in) -------------------------------

AlertKind = Literal["beach_closed", "missing_swimmer", "maritime_incident", "all_clear"]
MessageType = Literal["Alert", "Update", "Cancel"]
Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]


def alert_stream(alert_id: str) -> str:
    return f"alert-{alert_id}"


def external_alert_stream(alert_key: str) -> str:
    return f"cap-{alert_key}"


class Circle(msgspec.Struct, frozen=True, kw_only=True):
    center: Position
    radius_km: Annotated[float, msgspec.Meta(ge=0.0, le=1000.0)]


class AlertArea(msgspec.Struct, frozen=True, kw_only=True):
    """Where an alert applies: polygons and circles (CAP <area>), named in both languages."""

    description_th: str
    description_en: str
    polygons: tuple[tuple[Position, ...], ...] = ()
    circles: tuple[Circle, ...] = ()


class AlertText(msgspec.Struct, frozen=True, kw_only=True):
    """One language's words of an alert (one CAP <info>)."""

    headline: str
    description: str
    instruction: str = ""


@registered
class PublicAlertPublished(Event, frozen=True, kw_only=True):
    """One CAP message about a public alert: its first issue (Alert), an update or all-clear (Update), or its
    cancellation (Cancel); `references` are the CAP references of the messages it follows."""

    STREAM: ClassVar[str] = "alert"
    alert_id: str
    message_id: str
    msg_type: MessageType
    kind: AlertKind
    severity: Severity
    urgency: Urgency
    certainty: Certainty
    th: AlertText
    en: AlertText
    area: AlertArea
    expires_at: datetime
    exercise: bool = False
    references: tuple[str, ...] = ()

    @property
    def stream_id(self) -> str:
        return alert_stream(self.alert_id)


class ExternalInfo(msgspec.Struct, frozen=True, kw_only=True):
    language: str
    event: str
    headline: str = ""
    severity: Severity = "Unknown"
    urgency: Urgency = "Unknown"
    certainty: Certainty = "Unknown"
    onset_at: datetime | None = None
    expires_at: datetime | None = None


@registered
class ExternalAlertReceived(Event, frozen=True, kw_only=True):
    """A CAP alert from a polled feed whose area touches the province's zones; kept once per sender and id."""

    STREAM: ClassVar[str] = "cap"
    alert_key: str
    feed: str
    sender: str
    identifier: str
    sent_at: datetime
    msg_type: MessageType
    infos: tuple[ExternalInfo, ...]
    area: AlertArea
    zones: tuple[Zone, ...]
    references: tuple[str, ...] = ()

    @property
    def stream_id(self) -> str:
        return external_alert_stream(self.alert_key)


# --- encoding, decoding and upcasting --------------------------------------------------------------

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
# (type, schema_version) -> function turning that version's data into the next version's.
UPCASTERS: Final[dict[tuple[str, int], Upcaster]] = {}

_encoder = msgspec.json.Encoder()
_decoders: dict[str, msgspec.json.Decoder[Any]] = {name: msgspec.json.Decoder(cls) for name, cls in EVENT_TYPES.items()}


class UnknownEventType(LookupError):
    """The log holds a type this code does not know (a newer writer, or a typo in a migration)."""


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function that lifts stored data of `event_type` from `from_version` to the next."""

    def register(function: Upcaster) -> Upcaster:
        UPCASTERS[(event_type, from_version)] = function
        return function

    return register


@upcaster("ResourcePositionReported", 1)
def _position_source(data: dict[str, Any]) -> dict[str, Any]:
    # Before trackers fed positions, every recorded position was an operator's (or its registration's).
    return {**data, "source": "operator"}


def encode_data(event: Event) -> bytes:
    return _encoder.encode(event)


def decode_data(event_type: str, schema_version: int, data: bytes | str) -> Event:
    """Decode stored data into its event, upcasting older schema versions first; stored rows stay as written."""
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise UnknownEventType(event_type)
    if schema_version == cls.SCHEMA_VERSION:
        return _decoders[event_type].decode(data)  # type: ignore[no-any-return]
    raw: dict[str, Any] = msgspec.json.decode(data)
    for version in range(schema_version, cls.SCHEMA_VERSION):
        raw = UPCASTERS[(event_type, version)](raw)
    return msgspec.convert(raw, cls)


def type_name(event: Event) -> str:
    return type(event).__name__
