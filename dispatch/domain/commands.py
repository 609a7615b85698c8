"""Commands: imperative requests, each carrying who asks (`actor`), the server time (`at`) and an optional
client-made `command_id` that makes a retry harmless. Decisions never read the clock; commands bring it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import msgspec

from dispatch.domain.catalogue import (
    AlertArea,
    AlertKind,
    AlertText,
    Certainty,
    Channel,
    ExternalAlertReceived,
    MessageType,
    NoticeText,
    PlannedDelivery,
    Position,
    ReferralPolicy,
    Severity,
    Urgency,
    alert_stream,
    delivery_stream,
    external_alert_stream,
    incident_stream,
    notification_stream,
    resource_stream,
)
from dispatch.domain.vocabulary import (
    BeaconKind,
    Category,
    Language,
    Milestone,
    Outcome,
    PositionSource,
    ResourceKind,
    Role,
    Season,
    Source,
    Triage,
    TriageStage,
    Zone,
)


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who acts. `resource_id` ties a lifeguard or crew member to the team or boat they are part of."""

    id: str
    role: Role | Literal["system"]
    resource_id: str | None = None


SYSTEM = Actor(id="system", role="system")


@dataclass(frozen=True, kw_only=True)
class Command:
    # Fields that differ between two sends of the same request, so they stay out of the fingerprint.
    VOLATILE: ClassVar[frozenset[str]] = frozenset(
        {"at", "command_id", "device_at", "correlation_id", "causation_id"}
    )

    actor: Actor
    at: datetime
    command_id: str | None = None
    device_at: datetime | None = None
    correlation_id: str | None = None
    # What led to this command (e.g. "position:812", the event a worker's check reacts to), for the audit.
    causation_id: str | None = None
    # The stream version the client last saw (HTTP If-Match); None: whatever the service reads now.
    expected_version: int | None = None

    def fingerprint(self) -> str:
        """A digest of what was asked, to tell a retry (same digest) from a reused command id (different)."""
        body = {name: getattr(self, name) for name in _stable_fields(type(self))}
        encoded = msgspec.json.encode([type(self).__name__, body], enc_hook=_enc_hook, order="sorted")
        return hashlib.sha256(encoded).hexdigest()

    @property
    def subject_id(self) -> str:
        """The id of what the command is about (an incident, a resource): the answer names it."""
        raise NotImplementedError

    def streams(self) -> tuple[str, ...]:
        """Every stream the decision reads, its subject's first; the append checks each one's version, so a
        change to any of them since the read is a conflict, never a decision on stale state."""
        raise NotImplementedError


_STABLE_FIELDS: dict[type[Command], tuple[str, ...]] = {}


def _stable_fields(kind: type[Command]) -> tuple[str, ...]:
    """The fields a fingerprint covers, worked out once per command type (fields() is slow)."""
    if kind not in _STABLE_FIELDS:
        _STABLE_FIELDS[kind] = tuple(f.name for f in fields(kind) if f.name not in kind.VOLATILE)
    return _STABLE_FIELDS[kind]


def _enc_hook(value: Any) -> Any:
    if isinstance(value, Actor):
        return [value.id, value.role, value.resource_id]
    raise NotImplementedError(type(value))


@dataclass(frozen=True, kw_only=True)
class IncidentCommand(Command):
    incident_id: str

    @property
    def subject_id(self) -> str:
        return self.incident_id

    def resources(self) -> tuple[str, ...]:
        """The resources whose state the decision reads besides the incident's (none unless a command says)."""
        return ()

    def other_incidents(self) -> tuple[str, ...]:
        """Incidents besides its own that the decision reads and appends to (a reassignment's target)."""
        return ()

    def streams(self) -> tuple[str, ...]:
        return (incident_stream(self.incident_id), *(incident_stream(iid) for iid in self.other_incidents()),
                *(resource_stream(rid) for rid in self.resources()))


@dataclass(frozen=True, kw_only=True)
class UnitCommand(IncidentCommand):
    """A command about one unit's part in an incident: the decision reads the unit's state too."""

    resource_id: str

    def resources(self) -> tuple[str, ...]:
        return (self.resource_id,)


@dataclass(frozen=True, kw_only=True)
class ResourceCommand(Command):
    resource_id: str

    @property
    def subject_id(self) -> str:
        return self.resource_id

    def streams(self) -> tuple[str, ...]:
        return (resource_stream(self.resource_id),)


# --- incidents -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReportIncident(IncidentCommand):
    source: Source
    position: Position
    zone: Zone
    triage: Triage
    category: Category
    patients: int = 1
    site_id: str | None = None
    description: str = ""
    language: Language = "th"


@dataclass(frozen=True, kw_only=True)
class TriageIncident(IncidentCommand):
    stage: TriageStage
    code: Triage


@dataclass(frozen=True, kw_only=True)
class DispatchResource(UnitCommand):
    """Send a unit (a boat, an AED, a team) to the incident."""


@dataclass(frozen=True, kw_only=True)
class RecordMilestone(UnitCommand):
    milestone: Milestone
    # Set when the crew says it happened earlier (logged after regaining signal); None means "now".
    happened_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class RequestReferral(IncidentCommand):
    facility_id: str
    resource_id: str | None = None
    from_site_id: str | None = None
    from_position: Position | None = None
    # The zone's guarantee: resolved by handle from the zone policies when None; given only by an import or a
    # test that sets its own.
    policy: ReferralPolicy | None = None

    def resources(self) -> tuple[str, ...]:
        return (self.resource_id,) if self.resource_id else ()


@dataclass(frozen=True, kw_only=True)
class CheckReferral(IncidentCommand):
    """A worker's question: is the referral late (warning, breach) or predicted to be (predicted)?"""

    referral_id: str
    check: Literal["warning", "breach", "predicted"]
    predicted_arrival_at: datetime | None = None
    advice: str = ""


@dataclass(frozen=True, kw_only=True)
class StandDownResource(UnitCommand):
    """Release a unit from the incident before it has done its work (sent by mistake, or not needed)."""

    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ReassignResource(UnitCommand):
    """Move a unit from this incident to another, in one append to both incidents and the unit."""

    to_incident_id: str

    def other_incidents(self) -> tuple[str, ...]:
        return (self.to_incident_id,)


@dataclass(frozen=True, kw_only=True)
class ChangeReferralCarrier(UnitCommand):
    """Name another unit on the incident to carry the open referral's patient; `referral_id` None: the open one."""

    referral_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ChangeReferralDestination(IncidentCommand):
    """Send the open referral's patient to another facility (known to the caller: places are settings)."""

    facility_id: str
    referral_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class AddNote(IncidentCommand):
    text: str
    resource_id: str | None = None

    def resources(self) -> tuple[str, ...]:
        return (self.resource_id,) if self.resource_id else ()


@dataclass(frozen=True, kw_only=True)
class CloseIncident(IncidentCommand):
    outcome: Outcome
    deceased: int = 0
    summary: str = ""


# --- resources -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RegisterResource(ResourceCommand):
    kind: ResourceKind
    name: str
    subtype: str = ""
    speed_knots: float | None = None
    position: Position | None = None
    home_site_id: str | None = None
    zone: Zone | None = None
    season: Season = "all_year"
    mmsi: str | None = None


@dataclass(frozen=True, kw_only=True)
class ChangeResourceStatus(ResourceCommand):
    status: Literal["available", "out_of_service"]
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class PositionThrottle:
    """When a tracker's position is worth recording (dispatch/domain/decisions/tracking.py), from Settings."""

    min_move_m: float
    min_interval_s: float
    heartbeat_s: float
    speed_change_knots: float


@dataclass(frozen=True, kw_only=True)
class ReportResourcePosition(ResourceCommand):
    position: Position
    source: PositionSource = "operator"
    course_deg: float | None = None
    sog_knots: float | None = None
    # A tracker's stream of fixes is thinned to its meaningful moves; None: record it whatever (an operator).
    throttle: PositionThrottle | None = None


@dataclass(frozen=True, kw_only=True)
class SetResourceMmsi(ResourceCommand):
    """Tie the resource to an AIS transponder (nine digits), or untie it (None)."""

    mmsi: str | None


@dataclass(frozen=True, kw_only=True)
class UpdateResource(ResourceCommand):
    """An operator's edit of a resource: a new status, a new position, or both, in one append."""

    status: Literal["available", "out_of_service"] | None = None
    position: Position | None = None
    reason: str = ""
    # "" unties the transponder; None leaves it as it is.
    mmsi: str | None = None


# --- AIS distress beacons --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReportBeacon(IncidentCommand):
    """The AIS feed heard a distress beacon: open a red incident at its position."""

    mmsi: str
    beacon: BeaconKind
    position: Position
    zone: Zone
    vessel_name: str = ""


@dataclass(frozen=True, kw_only=True)
class ConfirmBeacon(IncidentCommand):
    """An operator confirms the beacon is a real distress, and says how they know."""

    how: str = ""


@dataclass(frozen=True, kw_only=True)
class DismissBeacon(CloseIncident):
    """An operator dismisses the beacon (a test, a false activation): the incident closes as a false alarm."""

    outcome: Outcome = "false_alarm"


# --- streams of their own: messages, notifications, deliveries, alerts ------------------------------


@dataclass(frozen=True, kw_only=True)
class StreamCommand(Command):
    """A command decided over the streams it names (dispatch/domain/decisions/outbox.py and alerts.py), the
    first being its subject's: neither an incident's nor a resource's own rules apply."""

    @property
    def subject_id(self) -> str:
        return self.streams()[0].split("-", 1)[1]


@dataclass(frozen=True, kw_only=True)
class MessageCrew(StreamCommand):
    """The command centre's message to the crew of a unit on an incident."""

    incident_id: str
    resource_id: str
    message_id: str
    text: str

    @property
    def subject_id(self) -> str:
        return self.incident_id

    def streams(self) -> tuple[str, ...]:
        return (incident_stream(self.incident_id), resource_stream(self.resource_id))


@dataclass(frozen=True, kw_only=True)
class AddressNotification(StreamCommand):
    """Say, once, who a notice goes to on which channels (a worker resolves the people when it runs)."""

    notification_key: str
    kind: str
    incident_id: str | None
    deliveries: tuple[PlannedDelivery, ...]
    unreachable: tuple[str, ...] = ()
    texts: tuple[NoticeText, ...] = ()
    expired: bool = False

    def streams(self) -> tuple[str, ...]:
        return (notification_stream(self.notification_key),)


@dataclass(frozen=True, kw_only=True)
class StartDelivery(StreamCommand):
    """A worker's claim on the next attempt of a delivery. `lease` is how long an attempt may stay without an
    outcome before it counts as abandoned (its worker died); `repeatable`: the channel drops a repeat of an
    accepted message (LINE's retry key), so an abandoned attempt may be tried again rather than given up."""

    delivery_key: str
    notification_key: str
    channel: Channel
    lease: timedelta
    repeatable: bool

    def streams(self) -> tuple[str, ...]:
        return (delivery_stream(self.delivery_key),)


@dataclass(frozen=True, kw_only=True)
class RecordDeliveryOutcome(StreamCommand):
    """What the channel answered to an attempt: accepted, or failed (to be retried at `retry_at`, or never)."""

    delivery_key: str
    notification_key: str
    attempt: int
    delivered: bool
    provider_ref: str = ""
    error: str = ""
    status_code: int | None = None
    retry_at: datetime | None = None

    def streams(self) -> tuple[str, ...]:
        return (delivery_stream(self.delivery_key),)


@dataclass(frozen=True, kw_only=True)
class PublishPublicAlert(StreamCommand):
    """Issue (Alert), update or give the all-clear (Update), or cancel (Cancel) a public alert."""

    alert_id: str
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

    def streams(self) -> tuple[str, ...]:
        return (alert_stream(self.alert_id),)


@dataclass(frozen=True, kw_only=True)
class RecordExternalAlert(StreamCommand):
    """Keep a CAP alert read from a feed; the same sender and identifier again is nothing new."""

    alert: ExternalAlertReceived

    def streams(self) -> tuple[str, ...]:
        return (external_alert_stream(self.alert.alert_key),)
