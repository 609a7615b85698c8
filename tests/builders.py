"""Test builders: events, states, actors and commands with sensible defaults, each overridable by keyword.

The default story, so a test states only what its rule is about: at T0 (2026-03-14 07:00 UTC) lifeguard Nok
reports a red drowning at the Koh Yao Yai pier (incident INCIDENT, zone koh_yao); operator Somchai dispatches
the ambulance boat BOAT at T0 + 2 min; a referral to FACILITY under KOH_YAO_POLICY (warning at 60 min,
guarantee 80 min) starts its clock at T0. Commands default to NOW (T0 + 20 min), after every default event.

Event builders are named like the event (`incident_reported` for IncidentReported); command builders like
the command (`dispatch_resource` for DispatchResource); `incident_from(*events)` and `resource_from(*events)`
fold events into the state a decision reads.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dispatch.domain.catalogue import (
    Event,
    IncidentClosed,
    IncidentReported,
    IncidentTriaged,
    MilestoneRecorded,
    NoteAdded,
    PatientArrivedAtFacility,
    PatientHandedOver,
    Position,
    ReferralAtRisk,
    ReferralBreached,
    ReferralCarrierChanged,
    ReferralDestinationChanged,
    ReferralPolicy,
    ReferralRequested,
    ResourceDispatched,
    ResourcePositionReported,
    ResourceReassigned,
    ResourceRegistered,
    ResourceStatusChanged,
    ResourceStoodDown,
)
from dispatch.domain.commands import (
    SYSTEM,
    Actor,
    AddNote,
    ChangeReferralCarrier,
    ChangeReferralDestination,
    ChangeResourceStatus,
    CheckReferral,
    CloseIncident,
    DispatchResource,
    ReassignResource,
    RecordMilestone,
    RegisterResource,
    ReportIncident,
    ReportResourcePosition,
    RequestReferral,
    StandDownResource,
    TriageIncident,
)
from dispatch.domain.decisions import incident as incident_rules
from dispatch.domain.decisions import resource as resource_rules
from dispatch.domain.decisions.incident import Incident
from dispatch.domain.decisions.resource import Resource

# --- time ------------------------------------------------------------------------------------------

T0 = datetime(2026, 3, 14, 7, 0, tzinfo=UTC)
"""When the default incident is reported; every default time is an offset from it."""


def minutes(n: float) -> timedelta:
    """A duration of `n` minutes: `T0 + minutes(80)` is the Koh Yao deadline of a referral requested at T0."""
    return timedelta(minutes=n)


DISPATCHED_AT = T0 + minutes(2)
"""When the default `resource_dispatched` sends its resource."""
NOW = T0 + minutes(20)
"""When default commands are issued: after the report, the dispatch and the default milestone."""

# --- names and places ------------------------------------------------------------------------------

INCIDENT = "inc-kyy-1"
OTHER_INCIDENT = "inc-kyy-2"
BOAT = "KY-01"
"""The Koh Yao ambulance boat, the default resource."""
OTHER_BOAT = "KY-02"
TEAM = "team-kyy"
"""The Koh Yao Yai beach volunteers."""
AED = "aed-kyy-resort"
FACILITY = "phangnga-hospital"
OTHER_FACILITY = "vachira-phuket-hospital"
SITE = "koh-yao-yai-pier"
PIER = Position(lat=8.0076, lon=98.5836)
HEALTH_UNIT = Position(lat=7.9947, lon=98.5781)
KHAO_LAK = Position(lat=8.6436, lon=98.2478)
"""The Khao Lak coast on the mainland, far from Koh Yao: a second place for a boat or a report."""

KOH_YAO_POLICY = ReferralPolicy(zone="koh_yao", guarantee_minutes=80, warning_minutes=60)
"""Koh Yao's guarantee (DESIGN.md §1): arrival within 80 minutes, warning at 60."""

# --- actors ----------------------------------------------------------------------------------------

OPERATOR_ID = "op-somchai"
LIFEGUARD_ID = "lg-nok"
OFFICIAL_ID = "off-pranee"


def operator(**overrides: Any) -> Actor:
    """An operator at the command centre: may do everything on the board."""
    return Actor(**({"id": OPERATOR_ID, "role": "operator"} | overrides))


def lifeguard(**overrides: Any) -> Actor:
    """Lifeguard Nok, who reports the default incident; pass `resource_id` to make them part of a crew."""
    return Actor(**({"id": LIFEGUARD_ID, "role": "lifeguard"} | overrides))


def official(**overrides: Any) -> Actor:
    """A provincial official: reads everything, changes nothing (DESIGN.md §6)."""
    return Actor(**({"id": OFFICIAL_ID, "role": "official"} | overrides))


# --- incident events -------------------------------------------------------------------------------


def incident_reported(**overrides: Any) -> IncidentReported:
    """Lifeguard Nok reports one red drowning patient at the Koh Yao Yai pier at T0."""
    fields: dict[str, Any] = {
        "at": T0, "incident_id": INCIDENT, "source": "island", "position": PIER, "site_id": SITE,
        "zone": "koh_yao", "triage": "red", "category": "drowning", "patients": 1,
        "description": "swimmer pulled from the water, not breathing", "reporter": LIFEGUARD_ID,
    }
    return IncidentReported(**(fields | overrides))


def incident_triaged(**overrides: Any) -> IncidentTriaged:
    """The crew sets the scene code yellow at T0 + 10 min."""
    fields: dict[str, Any] = {
        "at": T0 + minutes(10), "incident_id": INCIDENT, "stage": "scene", "code": "yellow",
    }
    return IncidentTriaged(**(fields | overrides))


def resource_dispatched(**overrides: Any) -> ResourceDispatched:
    """BOAT is dispatched to the incident at DISPATCHED_AT."""
    fields: dict[str, Any] = {
        "at": DISPATCHED_AT, "incident_id": INCIDENT, "resource_id": BOAT, "kind": "boat",
    }
    return ResourceDispatched(**(fields | overrides))


def milestone_recorded(**overrides: Any) -> MilestoneRecorded:
    """BOAT is en route at T0 + 5 min."""
    fields: dict[str, Any] = {
        "at": T0 + minutes(5), "incident_id": INCIDENT, "resource_id": BOAT, "milestone": "en_route",
    }
    return MilestoneRecorded(**(fields | overrides))


def referral_requested(**overrides: Any) -> ReferralRequested:
    """A referral to FACILITY under KOH_YAO_POLICY at T0; warning and deadline follow from `at` and policy."""
    fields: dict[str, Any] = {
        "at": T0, "incident_id": INCIDENT, "referral_id": f"{INCIDENT}-r1", "from_site_id": SITE,
        "from_position": PIER, "facility_id": FACILITY, "policy": KOH_YAO_POLICY,
    } | overrides
    policy: ReferralPolicy | None = fields["policy"]
    if policy is not None:
        fields.setdefault("warning_at", fields["at"] + minutes(policy.warning_minutes))
        fields.setdefault("deadline_at", fields["at"] + minutes(policy.guarantee_minutes))
    return ReferralRequested(**fields)


def referral_at_risk(**overrides: Any) -> ReferralAtRisk:
    """The default referral passed its warning point (T0 + 60 min)."""
    fields: dict[str, Any] = {
        "at": T0 + minutes(60), "incident_id": INCIDENT, "referral_id": f"{INCIDENT}-r1",
        "reason": "warning_point",
    }
    return ReferralAtRisk(**(fields | overrides))


def referral_breached(**overrides: Any) -> ReferralBreached:
    """The default referral passed its deadline (T0 + 80 min) with the patient not arrived."""
    fields: dict[str, Any] = {
        "at": T0 + minutes(80), "incident_id": INCIDENT, "referral_id": f"{INCIDENT}-r1",
        "deadline_at": T0 + minutes(80),
    }
    return ReferralBreached(**(fields | overrides))


def patient_arrived_at_facility(**overrides: Any) -> PatientArrivedAtFacility:
    """BOAT brings the patient of the default referral to FACILITY at T0 + 70 min."""
    fields: dict[str, Any] = {
        "at": T0 + minutes(70), "incident_id": INCIDENT, "referral_id": f"{INCIDENT}-r1",
        "facility_id": FACILITY, "resource_id": BOAT,
    }
    return PatientArrivedAtFacility(**(fields | overrides))


def patient_handed_over(**overrides: Any) -> PatientHandedOver:
    """The patient of the default referral is handed over to FACILITY's staff at T0 + 75 min."""
    fields: dict[str, Any] = {
        "at": T0 + minutes(75), "incident_id": INCIDENT, "referral_id": f"{INCIDENT}-r1",
        "facility_id": FACILITY, "resource_id": BOAT,
    }
    return PatientHandedOver(**(fields | overrides))


def resource_stood_down(**overrides: Any) -> ResourceStoodDown:
    """The operator stands BOAT down at T0 + 6 min: it was sent by mistake."""
    fields: dict[str, Any] = {"at": T0 + minutes(6), "incident_id": INCIDENT, "resource_id": BOAT,
                              "reason": "sent by mistake"}
    return ResourceStoodDown(**(fields | overrides))


def resource_reassigned(**overrides: Any) -> ResourceReassigned:
    """The operator moves BOAT from INCIDENT to OTHER_INCIDENT at T0 + 6 min."""
    fields: dict[str, Any] = {"at": T0 + minutes(6), "incident_id": INCIDENT, "resource_id": BOAT,
                              "to_incident_id": OTHER_INCIDENT}
    return ResourceReassigned(**(fields | overrides))


def referral_carrier_changed(**overrides: Any) -> ReferralCarrierChanged:
    """The operator names OTHER_BOAT to carry the default referral at T0 + 10 min (it had none named)."""
    fields: dict[str, Any] = {"at": T0 + minutes(10), "incident_id": INCIDENT, "referral_id": f"{INCIDENT}-r1",
                              "resource_id": OTHER_BOAT, "previous_resource_id": None}
    return ReferralCarrierChanged(**(fields | overrides))


def referral_destination_changed(**overrides: Any) -> ReferralDestinationChanged:
    """The operator sends the default referral's patient to OTHER_FACILITY at T0 + 10 min."""
    fields: dict[str, Any] = {"at": T0 + minutes(10), "incident_id": INCIDENT, "referral_id": f"{INCIDENT}-r1",
                              "facility_id": OTHER_FACILITY, "previous_facility_id": FACILITY}
    return ReferralDestinationChanged(**(fields | overrides))


def note_added(**overrides: Any) -> NoteAdded:
    """A note on the incident at T0 + 3 min."""
    fields: dict[str, Any] = {
        "at": T0 + minutes(3), "incident_id": INCIDENT, "text": "patient breathing, conscious",
    }
    return NoteAdded(**(fields | overrides))


def incident_closed(**overrides: Any) -> IncidentClosed:
    """The incident is closed at T0 + 90 min, the patient transferred."""
    fields: dict[str, Any] = {"at": T0 + minutes(90), "incident_id": INCIDENT, "outcome": "transferred"}
    return IncidentClosed(**(fields | overrides))


# --- resource events -------------------------------------------------------------------------------


def resource_registered(**overrides: Any) -> ResourceRegistered:
    """BOAT, a 25-knot ambulance boat based at the Koh Yao Yai pier, registered a day before T0."""
    fields: dict[str, Any] = {
        "at": T0 - timedelta(days=1), "resource_id": BOAT, "kind": "boat", "name": "Koh Yao ambulance boat 1",
        "subtype": "ambulance_boat", "speed_knots": 25.0, "position": PIER, "home_site_id": SITE,
        "zone": "koh_yao",
    }
    return ResourceRegistered(**(fields | overrides))


def resource_status_changed(**overrides: Any) -> ResourceStatusChanged:
    """BOAT is assigned to INCIDENT at DISPATCHED_AT (the resource side of a dispatch)."""
    fields: dict[str, Any] = {
        "at": DISPATCHED_AT, "resource_id": BOAT, "status": "assigned", "incident_id": INCIDENT,
        "reason": "dispatched",
    }
    return ResourceStatusChanged(**(fields | overrides))


def resource_position_reported(**overrides: Any) -> ResourcePositionReported:
    """BOAT reports its position off the Koh Yao Yai health unit at T0 + 10 min."""
    fields: dict[str, Any] = {"at": T0 + minutes(10), "resource_id": BOAT, "position": HEALTH_UNIT}
    return ResourcePositionReported(**(fields | overrides))


# --- states ----------------------------------------------------------------------------------------


def incident_from(*events: Event) -> Incident:
    """The incident folded from `events`, which must start with its report."""
    incident = incident_rules.fold(events)
    assert incident is not None, "an incident stream starts with IncidentReported"
    return incident


def resource_from(*events: Event) -> Resource:
    """The resource folded from `events`, which must start with its registration."""
    resource = resource_rules.fold(events)
    assert resource is not None, "a resource stream starts with ResourceRegistered"
    return resource


def available_resource(**overrides: Any) -> Resource:
    """A registered, available resource; keywords go to `resource_registered` (BOAT by default)."""
    return resource_from(resource_registered(**overrides))


def assigned_resource(incident_id: str = INCIDENT, **overrides: Any) -> Resource:
    """A registered resource (BOAT by default) now assigned to `incident_id`."""
    registered = resource_registered(**overrides)
    return resource_from(
        registered,
        resource_status_changed(
            resource_id=registered.resource_id, status="assigned", incident_id=incident_id
        ),
    )


def out_of_service_resource(**overrides: Any) -> Resource:
    """A registered resource (BOAT by default) taken out of service."""
    registered = resource_registered(**overrides)
    return resource_from(
        registered,
        resource_status_changed(resource_id=registered.resource_id, status="out_of_service", incident_id=None,
                                reason="engine failure"),
    )


def by_id(*resources: Resource) -> dict[str, Resource | None]:
    """The `resources` mapping incident decisions take: each resource's state under its id."""
    return {resource.id: resource for resource in resources}


# --- commands --------------------------------------------------------------------------------------


def report_incident(**overrides: Any) -> ReportIncident:
    """Lifeguard Nok reports the default incident (as `incident_reported` describes it) at T0."""
    fields: dict[str, Any] = {
        "actor": lifeguard(), "at": T0, "incident_id": INCIDENT, "source": "island", "position": PIER,
        "site_id": SITE, "zone": "koh_yao", "triage": "red", "category": "drowning", "patients": 1,
        "description": "swimmer pulled from the water, not breathing",
    }
    return ReportIncident(**(fields | overrides))


def keyed_report(incident_id: str = INCIDENT, **overrides: Any) -> ReportIncident:
    """Nok's report of `incident_id` (as `report_incident`) under the key her phone sends with it: the same
    command id every time it is sent, so a resend is answered from the log instead of reported twice."""
    fields: dict[str, Any] = {"incident_id": incident_id, "command_id": f"{LIFEGUARD_ID}:{incident_id}"}
    return report_incident(**(fields | overrides))


def triage_incident(**overrides: Any) -> TriageIncident:
    """The operator sets the scene code yellow at NOW."""
    fields: dict[str, Any] = {
        "actor": operator(), "at": NOW, "incident_id": INCIDENT, "stage": "scene", "code": "yellow",
    }
    return TriageIncident(**(fields | overrides))


def dispatch_resource(**overrides: Any) -> DispatchResource:
    """The operator dispatches BOAT at DISPATCHED_AT."""
    fields: dict[str, Any] = {
        "actor": operator(), "at": DISPATCHED_AT, "incident_id": INCIDENT, "resource_id": BOAT,
    }
    return DispatchResource(**(fields | overrides))


def record_milestone(**overrides: Any) -> RecordMilestone:
    """The operator records BOAT on scene at NOW."""
    fields: dict[str, Any] = {
        "actor": operator(), "at": NOW, "incident_id": INCIDENT, "resource_id": BOAT, "milestone": "on_scene",
    }
    return RecordMilestone(**(fields | overrides))


def request_referral(**overrides: Any) -> RequestReferral:
    """The operator refers the patient to FACILITY under KOH_YAO_POLICY at NOW."""
    fields: dict[str, Any] = {
        "actor": operator(), "at": NOW, "incident_id": INCIDENT, "facility_id": FACILITY,
        "policy": KOH_YAO_POLICY,
    }
    return RequestReferral(**(fields | overrides))


def check_referral(**overrides: Any) -> CheckReferral:
    """The system checks the default referral's warning point at NOW."""
    fields: dict[str, Any] = {
        "actor": SYSTEM, "at": NOW, "incident_id": INCIDENT,
        "referral_id": f"{INCIDENT}-r1", "check": "warning",
    }
    return CheckReferral(**(fields | overrides))


def add_note(**overrides: Any) -> AddNote:
    """The operator adds a note at NOW."""
    fields: dict[str, Any] = {
        "actor": operator(), "at": NOW, "incident_id": INCIDENT, "text": "patient vomited water",
    }
    return AddNote(**(fields | overrides))


def close_incident(**overrides: Any) -> CloseIncident:
    """The operator closes the incident at NOW, the patient transferred."""
    fields: dict[str, Any] = {
        "actor": operator(), "at": NOW, "incident_id": INCIDENT, "outcome": "transferred",
    }
    return CloseIncident(**(fields | overrides))


def register_resource(**overrides: Any) -> RegisterResource:
    """The operator registers BOAT as `resource_registered` describes it, at T0."""
    fields: dict[str, Any] = {
        "actor": operator(), "at": T0, "resource_id": BOAT, "kind": "boat",
        "name": "Koh Yao ambulance boat 1", "subtype": "ambulance_boat", "speed_knots": 25.0,
        "position": PIER, "home_site_id": SITE, "zone": "koh_yao",
    }
    return RegisterResource(**(fields | overrides))


def change_resource_status(**overrides: Any) -> ChangeResourceStatus:
    """The operator takes BOAT out of service at NOW."""
    fields: dict[str, Any] = {
        "actor": operator(), "at": NOW, "resource_id": BOAT, "status": "out_of_service",
        "reason": "engine failure",
    }
    return ChangeResourceStatus(**(fields | overrides))


def report_resource_position(**overrides: Any) -> ReportResourcePosition:
    """BOAT reports its position off the Koh Yao Yai health unit at NOW."""
    fields: dict[str, Any] = {"actor": operator(), "at": NOW, "resource_id": BOAT, "position": HEALTH_UNIT}
    return ReportResourcePosition(**(fields | overrides))


def stand_down_resource(**overrides: Any) -> StandDownResource:
    """The operator stands BOAT down at NOW: it was sent by mistake."""
    fields: dict[str, Any] = {"actor": operator(), "at": NOW, "incident_id": INCIDENT, "resource_id": BOAT,
                              "reason": "sent by mistake"}
    return StandDownResource(**(fields | overrides))


def reassign_resource(**overrides: Any) -> ReassignResource:
    """The operator moves BOAT from INCIDENT to OTHER_INCIDENT at NOW."""
    fields: dict[str, Any] = {"actor": operator(), "at": NOW, "incident_id": INCIDENT, "resource_id": BOAT,
                              "to_incident_id": OTHER_INCIDENT}
    return ReassignResource(**(fields | overrides))


def change_referral_carrier(**overrides: Any) -> ChangeReferralCarrier:
    """The operator names OTHER_BOAT to carry the open referral at NOW."""
    fields: dict[str, Any] = {"actor": operator(), "at": NOW, "incident_id": INCIDENT, "resource_id": OTHER_BOAT}
    return ChangeReferralCarrier(**(fields | overrides))


def change_referral_destination(**overrides: Any) -> ChangeReferralDestination:
    """The operator sends the open referral's patient to OTHER_FACILITY at NOW."""
    fields: dict[str, Any] = {"actor": operator(), "at": NOW, "incident_id": INCIDENT, "facility_id": OTHER_FACILITY}
    return ChangeReferralDestination(**(fields | overrides))
