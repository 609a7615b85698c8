"""The read routes' answers, as the OpenAPI document states them for clients and their generators.

The routes build these answers as plain dicts from the read models (fast, and byte for byte what the pages and
the live board read); these models document them (`responses={200: {"model": ...}}`), and tests check real
answers against the document with no field left undeclared (extra="forbid": the document lists every field).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dispatch.adapters.read_access import View
from dispatch.domain.decisions.incident import EndedBy
from dispatch.domain.geo.places import PlaceKind, Quality
from dispatch.domain.vocabulary import (
    BeaconKind,
    Category,
    Language,
    Milestone,
    Outcome,
    PositionSource,
    RecordableMilestone,
    ReferralStatus,
    ResourceKind,
    ResourceStatus,
    RiskReason,
    Role,
    Season,
    Source,
    Triage,
    Zone,
)


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LatLonOut(Out):
    lat: float
    lon: float


# --- the board, the incident lists, the fleet and the referral tracker (read models) -----------------


class BoardAssignmentOut(Out):
    resource_id: str
    kind: ResourceKind
    milestone: Milestone = Field(description="the latest milestone")
    milestone_at: datetime | None
    dispatched_at: datetime
    released: bool
    ended_by: EndedBy | None = Field(default=None, description="an operator's correction that released it, if one did")
    from_incident_id: str | None = Field(default=None, description="the incident it was moved from, if it was")


class BoardReferralOut(Out):
    """The incident's latest referral, with its countdown."""

    referral_id: str
    facility_id: str
    resource_id: str | None
    status: ReferralStatus
    requested_at: datetime
    warning_at: datetime | None
    deadline_at: datetime | None
    guarantee_minutes: int | None
    at_risk: bool
    breached: bool
    predicted_arrival_at: datetime | None
    predicted_late_seconds: int | None
    advice: str
    arrived_at: datetime | None
    handed_over_at: datetime | None
    seconds_left: int | None = Field(default=None, description="until the deadline; only while on the way")


class BoardBeaconOut(Out):
    """The AIS distress beacon that opened the incident, and what the operator made of it."""

    mmsi: str
    beacon: BeaconKind
    vessel_name: str
    state: Literal["detected", "confirmed", "dismissed"]


class BoardIncidentOut(Out):
    incident_id: str
    position: int = Field(description="the log position of the last event that changed this row")
    status: Literal["open", "closed"]
    source: Source
    category: Category
    triage_dispatch: Triage
    triage_scene: Triage | None
    triage_rank: int = Field(description="0 for red, then yellow, green, white, black: the board's order")
    site_id: str | None
    zone: Zone
    lat: float
    lon: float
    patients: int
    description: str
    language: Language = Field(description="the patient's language, ISO 639-1 (names: GET /api/languages)",
                               examples=["ru"])
    reporter: str
    reported_at: datetime
    closed_at: datetime | None
    outcome: Outcome | None
    notes: int = Field(description="how many notes the incident has")
    assignments: list[BoardAssignmentOut]
    referral: BoardReferralOut | None
    beacon: BoardBeaconOut | None = Field(default=None, description="set when an AIS distress beacon opened it")
    age_seconds: int


class BoardOut(Out):
    position: int = Field(description="the log position the board reflects")
    as_of: datetime | None = Field(description="the time asked for with ?as_of=, else null (now)")
    incidents: list[BoardIncidentOut]


class IncidentListOut(Out):
    position: int
    incidents: list[BoardIncidentOut]


class ResourceRowOut(Out):
    resource_id: str
    position: int
    kind: ResourceKind
    name: str
    subtype: str
    speed_knots: float | None
    lat: float | None
    lon: float | None
    position_at: datetime | None
    home_site_id: str | None
    zone: Zone | None
    status: ResourceStatus
    status_since: datetime
    incident_id: str | None
    milestone: Milestone | None
    seconds_in_status: int
    season: Season
    in_service: bool = Field(description="whether its season has it serving now; a unit out of season is never "
                             "recommended, whatever its status")
    service_reason: Literal["out_of_season"] | None = Field(description="why it does not serve now")
    returns_at: datetime | None = Field(description="out of season: when it serves again (00:00 Bangkok time)")
    season_ends_at: datetime | None = Field(description="in season: when it stops serving; null all year")
    service_changes_in_seconds: int | None = Field(description="seconds from now until in_service changes by "
                                                   "the clock (ask again then); null all year")
    mmsi: str | None = Field(description="its AIS transponder, whose fixes move it")
    position_source: PositionSource | None
    course_deg: float | None = Field(description="course over ground a tracker gave with the position")
    sog_knots: float | None = Field(description="speed over ground a tracker gave with the position")
    position_stale: bool = Field(description="a tracked position not renewed for DISPATCH_POSITION_STALE_MINUTES")


class ResourceListOut(Out):
    position: int
    resources: list[ResourceRowOut]


class ReferralRowOut(Out):
    referral_id: str
    position: int
    incident_id: str
    zone: Zone | None
    from_site_id: str | None
    facility_id: str
    resource_id: str | None
    guarantee_minutes: int | None
    status: ReferralStatus
    requested_at: datetime
    warning_at: datetime | None
    deadline_at: datetime | None
    at_risk_at: datetime | None
    risk_reason: RiskReason | None
    predicted_arrival_at: datetime | None
    predicted_late_seconds: int | None
    advice: str
    breached_at: datetime | None
    arrived_at: datetime | None
    handed_over_at: datetime | None
    late_seconds: int | None
    elapsed_seconds: int | None
    hospital_wall_seconds: int | None


class TrackedReferralOut(ReferralRowOut):
    seconds_left: int | None = Field(description="until the deadline; null once arrived or without one")


class ReferralListOut(Out):
    position: int
    referrals: list[TrackedReferralOut]


# --- one incident, one resource, their audit trail --------------------------------------------------


class TimelineEntryOut(Out):
    position: int
    version: int
    type: str = Field(description="the event type, e.g. ResourceDispatched")
    at: datetime = Field(description="when it happened (business time)")
    recorded_at: datetime = Field(description="when the log stored it")
    device_at: datetime | None = Field(description="the sender's device clock, if it sent one")
    actor_id: str
    role: str = Field(description="the actor's role, or the service that appended it")
    command_id: str | None
    data: dict[str, Any] = Field(description="the event's own fields (they differ by type)")


class AuditEntryOut(TimelineEntryOut):
    prev_hash: str
    hash: str


class TriageCodesOut(Out):
    dispatch: Triage = Field(description="the command centre's code (IDC)")
    scene: Triage | None = Field(description="the crew's code at the scene (RC)")


class AssignmentOut(Out):
    resource_id: str
    kind: ResourceKind
    dispatched_at: datetime
    milestones: dict[str, datetime] = Field(description="milestone -> when it happened")
    latest_milestone: Milestone
    released: bool
    ended_by: EndedBy | None = Field(description="an operator's correction that released it, if one did")


class IncidentReferralOut(Out):
    referral_id: str
    facility_id: str
    resource_id: str | None
    requested_at: datetime
    warning_at: datetime | None
    deadline_at: datetime | None
    arrived_at: datetime | None
    handed_over_at: datetime | None
    status: ReferralStatus


class IncidentOut(Out):
    id: str
    version: int = Field(description="the stream's version: send it as expected_version")
    source: Source
    position: LatLonOut
    site_id: str | None
    zone: Zone
    triage: TriageCodesOut
    category: Category
    patients: int
    description: str
    language: Language
    reporter: str
    reported_at: datetime
    closed_at: datetime | None
    outcome: Outcome | None
    assignments: list[AssignmentOut]
    referrals: list[IncidentReferralOut]
    timeline: list[TimelineEntryOut]


class ResourceOut(Out):
    id: str
    version: int = Field(description="the stream's version: send it as expected_version")
    kind: ResourceKind
    name: str
    subtype: str
    speed_knots: float | None
    position: LatLonOut | None
    position_at: datetime | None
    home_site_id: str | None
    zone: Zone | None
    status: ResourceStatus
    status_since: datetime
    incident_id: str | None
    season: Season
    in_service: bool = Field(description="whether its season has it serving now")
    service_reason: Literal["out_of_season"] | None
    returns_at: datetime | None
    season_ends_at: datetime | None
    service_changes_in_seconds: int | None
    mmsi: str | None
    position_source: PositionSource | None
    course_deg: float | None
    sog_knots: float | None


class NemsisTimesOut(Out):
    """A response's NEMSIS times and the intervals between them (the audit trail's rows and the report's)."""

    reported_at: datetime
    resource_notified_at: datetime | None
    en_route_at: datetime | None
    on_scene_at: datetime | None
    at_patient_at: datetime | None
    left_scene_at: datetime | None
    at_destination_at: datetime | None
    handed_over_at: datetime | None
    back_in_service_at: datetime | None
    cancelled_at: datetime | None
    late_entries: int
    response_seconds: int | None
    scene_seconds: int | None
    transport_seconds: int | None
    hospital_wall_seconds: int | None
    total_seconds: int | None


class ResponseRowOut(NemsisTimesOut):
    """One resource's response to an incident: the NEMSIS times and intervals."""

    response_id: str
    incident_id: str
    resource_id: str
    response_no: int = Field(description="1 for the unit's first response to the incident, 2 once sent again, …")
    ended_by: Literal["back_in_service", "cancelled", "stood_down", "reassigned"] | None = Field(
        description="how the response ended (stood down and reassigned are recorded as cancelled too)")
    position: int
    kind: ResourceKind
    zone: Zone
    source: Source
    triage: Triage


class DeliveryRowOut(Out):
    """One person on one channel (docs/alerts.md): its status, attempts and the last error."""

    delivery_key: str
    notification_key: str
    position: int
    incident_id: str | None
    kind: str
    person_id: str
    channel: Literal["line", "sms", "app"]
    language: str
    fallback_for: str | None
    status: Literal["standby", "queued", "sending", "retrying", "delivered", "posted", "failed_over", "failed",
                    "skipped"]
    attempts: int
    last_error: str | None
    last_status_code: int | None
    retry_at: datetime | None
    planned_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    provider_ref: str


class NotificationOut(Out):
    """A notice an event called for, and how its people stand: reached, failed (or unreachable), still open."""

    notification_key: str
    position: int
    kind: str
    incident_id: str | None
    audience: str
    subject_id: str
    detail: str
    created_at: datetime
    status: Literal["pending", "sending", "delivered", "failed", "expired", "posted"]
    people: int
    reached: int
    failed: int
    open: int
    unreachable: list[str]
    deliveries: list[DeliveryRowOut] = []


class NotificationsOut(Out):
    notifications: list[NotificationOut]


class DeliveryOut(DeliveryRowOut):
    """One delivery and its history: every attempt and outcome, as the log holds them."""

    history: list[AuditEntryOut]


class MyNoticeOut(Out):
    notification_key: str
    kind: str
    incident_id: str | None
    planned_at: datetime


class MyNoticesOut(Out):
    notices: list[MyNoticeOut]


class PublicAlertMessageOut(Out):
    message_id: str
    msg_type: Literal["Alert", "Update", "Cancel"]
    at: str


class PublicAlertOut(Out):
    """A public alert as its latest CAP message states it (GET /cap/alerts/{message_id}.xml for each message)."""

    alert_id: str
    position: int
    message_id: str
    msg_type: Literal["Alert", "Update", "Cancel"]
    kind: str
    severity: str
    urgency: str
    exercise: bool
    headline_th: str
    headline_en: str
    issued_at: datetime
    updated_at: datetime
    expires_at: datetime
    ended: bool
    messages: list[PublicAlertMessageOut]


class PublicAlertsOut(Out):
    alerts: list[PublicAlertOut]


class ExternalAlertOut(Out):
    """An alert from a CAP feed over the province's zones."""

    alert_key: str
    position: int
    feed: str
    sender: str
    identifier: str
    sent_at: datetime
    msg_type: str
    event: str
    headline: str
    headline_th: str
    severity: str
    urgency: str
    certainty: str
    onset_at: datetime | None
    expires_at: datetime | None
    zones: list[str]
    area: dict[str, Any] = Field(description="polygons and circles, as CAP gave them")
    status: Literal["active", "updated", "cancelled"]
    received_at: datetime


class ExternalAlertsOut(Out):
    alerts: list[ExternalAlertOut]


class CapFeedOut(Out):
    url: str
    polled_at: datetime | None
    ok_at: datetime | None
    error: str | None = Field(description="why the last poll failed: timed_out, too_large, forbidden_xml, not_xml, "
                                          "not_cap, http_<status>, unreachable; null when it answered")
    detail: str
    alerts: int
    over_zones: int


class BoardNoticesOut(Out):
    notifications: list[NotificationOut]
    external_alerts: list[ExternalAlertOut]
    feeds: list[CapFeedOut]
    public_alerts: list[PublicAlertOut]


class IncidentTrailOut(Out):
    incident_id: str
    version: int
    events: list[AuditEntryOut]
    responses: list[ResponseRowOut]
    referrals: list[ReferralRowOut]
    notifications: list[NotificationOut] = []


class ChainReportOut(Out):
    intact: bool
    checked: int = Field(description="events checked")
    head_position: int
    first_bad_position: int | None = Field(description="the first position that fails, if one does")
    problem: str | None
    head_hash: str | None = Field(description="the hash of the event at the head, if the log has one")
    anchored_position: int | None = Field(description="the position of the newest signed checkpoint the log "
                                                      "agrees with, if one was given")


class ReadOut(Out):
    read_at: datetime
    actor_id: str
    role: Role
    incident_id: str
    view: View = Field(description="which view was opened: the incident's page or its audit trail")


class ReadsOut(Out):
    reads: list[ReadOut]


class CheckpointOut(Out):
    """A signed checkpoint of the log's head, as published (docs/security.md gives the signed text)."""

    format: str
    position: int
    hash: str
    at: str = Field(description="UTC, exactly YYYY-MM-DDTHH:MM:SS.ffffffZ, as signed")
    key_id: str
    signature: str = Field(description="base64 of the Ed25519 signature")


# --- places and recommendations -----------------------------------------------------------------------


class LandingOut(Out):
    via_id: str
    from_zones: list[Zone]
    road_minutes: float
    assumption: bool = Field(description="whether the road time is an assumption rather than a measurement")
    basis: str = Field(description="where the road time comes from")


class PlaceOut(Out):
    id: str
    name_en: str
    name_th: str | None
    kind: PlaceKind
    lat: float
    lon: float
    zone: Zone
    landmass: str | None
    district: str
    quality: Quality
    quality_note: str
    notes: str
    source: str
    level_of_care: int | None
    level_of_care_note: str | None
    landings: list[LandingOut]
    landing_note: str | None


class ZoneAreaOut(Out):
    zone: Zone
    name: str
    polygon_lat_lon: list[tuple[float, float]]


class CareLevelOut(Out):
    level: int
    name: str
    thai: str
    means: str


class PlacesOut(Out):
    places: list[PlaceOut]
    zones: list[ZoneAreaOut]
    levels_of_care: list[CareLevelOut]


# --- the vocabulary --------------------------------------------------------------------------------------


class CodesOut(Out):
    """Each closed set of codes, in the order the pages offer them."""

    source: list[Source]
    zone: list[Zone]
    triage: list[Triage] = Field(description="the Thai 1669 colours, most severe first")
    category: list[Category]
    outcome: list[Outcome]
    milestone: list[Milestone] = Field(description="in the order they happen (NEMSIS eTimes)")
    recordable_milestone: list[RecordableMilestone] = Field(description="those a crew records after the dispatch")
    resource_kind: list[ResourceKind]
    resource_status: list[ResourceStatus]
    referral_status: list[ReferralStatus]
    role: list[Role]


class LimitsOut(Out):
    patients: int = Field(description="the most patients one report may count")
    description_length: int = Field(description="the longest description of a report, in characters")
    note_length: int = Field(description="the longest note, or summary of a close, in characters")


class VocabularyOut(Out):
    """The words of the domain as codes (each page translates them) and the limits of what people enter."""

    codes: CodesOut
    limits: LimitsOut
class LanguageOut(Out):
    code: str = Field(description="ISO 639-1", examples=["ru"])
    name_en: str = Field(examples=["Russian"])
    name_th: str = Field(examples=["รัสเซีย"])
    common: bool = Field(description="offered first in the report form")


class LanguagesOut(Out):
    languages: list[LanguageOut]


class ResourceOptionOut(Out):
    resource_id: str
    kind: ResourceKind
    name: str
    subtype: str
    speed_knots: float | None
    distance_km: float
    eta_minutes: float | None
    position_at: datetime | None = Field(description="when the position ranked was recorded")
    position_source: PositionSource | None
    position_stale: bool
    dead_reckoned: bool = Field(description="ranked from where its course and speed have carried it since")


class ResourceOptionsOut(Out):
    boats: list[ResourceOptionOut]
    aeds: list[ResourceOptionOut]
    teams: list[ResourceOptionOut]


class FacilityOptionOut(Out):
    facility_id: str
    name_en: str
    name_th: str | None
    kind: PlaceKind
    level_of_care: int | None
    eta_minutes: float
    via_id: str | None = Field(description="the landing the boat makes for, if the facility is inland")
    sea_km: float
    road_km: float | None
    road_assumed: bool


class HeldBoatOut(Out):
    """A boat kept ashore by a warning in force over its zone (dispatch/domain/holds.py)."""

    resource_id: str
    name: str
    subtype: str
    alert_key: str
    severity: str
    headline: str


class RecommendationsOut(Out):
    incident_id: str
    resources: ResourceOptionsOut
    facilities: list[FacilityOptionOut]
    planned_speed_knots: float
    held: list[HeldBoatOut] = []


# --- reports ---------------------------------------------------------------------------------------


class StatsOut(Out):
    count: int
    median: int | None
    p90: int | None
    max: int | None


class IntervalsOut(Out):
    response_seconds: StatsOut
    scene_seconds: StatsOut
    transport_seconds: StatsOut
    hospital_wall_seconds: StatsOut
    total_seconds: StatsOut


class TallyOut(Out):
    with_guarantee: int
    met: int
    missed: int
    open: int
    compliance_percent: float | None


class ReferralLineOut(Out):
    referral_id: str
    incident_id: str
    zone: Zone | None
    triage: Triage | None
    source: Source | None
    facility_id: str
    resource_id: str | None
    status: ReferralStatus
    guarantee_minutes: int | None
    requested_at: datetime
    deadline_at: datetime | None
    arrived_at: datetime | None
    handed_over_at: datetime | None
    elapsed_seconds: int | None
    late_seconds: int | None
    minutes_late: float | None
    hospital_wall_seconds: int | None
    at_risk_at: datetime | None
    risk_reason: RiskReason | None
    predicted_arrival_at: datetime | None
    predicted_late_seconds: int | None
    advice: str
    breached_at: datetime | None
    response_seconds: int | None
    scene_seconds: int | None
    transport_seconds: int | None


class ComplianceOut(TallyOut):
    count: int
    without_guarantee: int
    late_seconds: StatsOut
    elapsed_seconds: StatsOut
    hospital_wall_seconds: StatsOut
    elapsed_by_zone: dict[str, StatsOut]
    by_zone: dict[str, TallyOut]
    by_month: dict[str, TallyOut]
    missed_referrals: list[ReferralLineOut]
    open_referrals: list[ReferralLineOut]


class ReportResponseRowOut(NemsisTimesOut):
    response_id: str
    incident_id: str
    resource_id: str
    kind: ResourceKind
    zone: Zone
    source: Source
    triage: Triage
    triage_dispatch: Triage | None
    triage_scene: Triage | None
    category: Category | None
    description: str | None


class ResponsePageOut(Out):
    total: int
    offset: int
    limit: int
    rows: list[ReportResponseRowOut]


class ReportFiltersOut(Out):
    from_: datetime | None = Field(alias="from")
    to: datetime | None
    zone: list[Zone]
    triage: list[Triage]
    source: list[Source]


class ResponseTimesOut(Out):
    time_zone: str
    filters: ReportFiltersOut
    incidents: int = Field(description="incidents the filter selects")
    intervals: IntervalsOut
    by_zone: dict[str, IntervalsOut]
    by_triage: dict[str, IntervalsOut]
    by_month: dict[str, IntervalsOut] = Field(description="by Bangkok month, YYYY-MM")
    referrals: ComplianceOut
    responses: ResponsePageOut


class ShareOut(Out):
    reached: int
    of: int
    percent: float | None


class ReachedOut(ShareOut):
    by_triage: dict[str, ShareOut]


class YearCountOut(Out):
    year: int
    count: int


class DeathsOut(Out):
    count: int
    previous_year: YearCountOut
    change: int
    change_percent: float | None
    target_change_percent: float
    fell_more_than_target: bool | None


class IncidentCountOut(Out):
    count: int
    by_triage: dict[str, int]


class GuaranteeOut(Out):
    count: int
    with_guarantee: int
    met: int
    missed: int
    open: int
    compliance_percent: float | None
    late_seconds_total: int


class YearSummaryOut(Out):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    year: int
    time_zone: str
    from_: datetime = Field(alias="from")
    to: datetime
    incidents: IncidentCountOut
    red_yellow_reached: ReachedOut
    deaths: DeathsOut
    referrals: GuaranteeOut
    saving_per_referral_thb: int
    cost_saved_zones: list[Zone] = Field(description="the zones whose referrals the cost saved counts "
                                         "(DISPATCH_REFERRAL_SAVING_ZONES)")
    cost_saved_referrals: int = Field(description="the referrals of those zones requested in the year")
    cost_saved_thb: int = Field(description="cost_saved_referrals x saving_per_referral_thb")


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


class PointOut(Out):
    type: Literal["Point"]
    coordinates: list[float] = Field(description="longitude, latitude (WGS84)", min_length=2, max_length=2)


class IncidentPropertiesOut(Out):
    incident_id: str
    zone: Zone
    source: Source
    category: Category
    triage: Triage = Field(description="the scene code, else the dispatch code")
    triage_dispatch: Triage
    triage_scene: Triage | None
    patients: int
    site_id: str | None
    description: str
    reported_at: datetime
    reported_local: str = Field(description="reported_at in Bangkok time, for GIS labels")
    reached_at: datetime | None
    reach_seconds: int | None
    closed_at: datetime | None
    outcome: Outcome | None
    deceased: int
    referral_status: ReferralStatus | None


class IncidentFeatureOut(Out):
    type: Literal["Feature"]
    id: str
    geometry: PointOut
    properties: IncidentPropertiesOut


class IncidentFeaturesOut(Out):
    """A GeoJSON FeatureCollection (RFC 7946) of incident points."""

    type: Literal["FeatureCollection"]
    features: list[IncidentFeatureOut]


# --- the live sea picture --------------------------------------------------------------------------------


class VesselOut(Out):
    """A vessel heard on AIS that is not in the fleet: help that may be close."""

    mmsi: str
    name: str = Field(description="as the vessel broadcasts it; empty until its static data is heard")
    callsign: str
    ship_type: int | None = Field(description="the AIS ship type code (ITU-R M.1371: 37 pleasure craft, 60s passenger)")
    lat: float
    lon: float
    distance_km: float
    sog_knots: float | None
    course_deg: float | None
    heard_seconds_ago: int
    eta_minutes: float | None = Field(description="straight there at its reported speed; null when not under way")


class VesselsOut(Out):
    incident_id: str
    at_sea: bool = Field(description="the incident is off every landmass; vessels are listed only then")
    picture: Literal["live", "unavailable"] = Field(description="unavailable: Redis, which holds it, did not answer")
    radius_km: float
    vessels: list[VesselOut]
