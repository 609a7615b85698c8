"""Request and response bodies. Requests forbid unknown fields and bound every text and number."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from dispatch.domain.catalogue import Position
from dispatch.domain.geo.eta import BOAT_SPEED_KNOTS_MAX, BOAT_SPEED_KNOTS_MIN
from dispatch.domain.languages import is_language
from dispatch.domain.text import DISPLAY_NAME_MAX_LENGTH, ID_MAX_LENGTH, USERNAME_MAX_LENGTH, text_problem
from dispatch.domain.vocabulary import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_PATIENTS,
    MAX_REASON_LENGTH,
    Category,
    Outcome,
    RecordableMilestone,
    ReportedSource,
    ResourceKind,
    Role,
    Season,
    Triage,
    TriageStage,
)
from dispatch.reports.periods import EARLIEST_YEAR, LATEST_YEAR


def _clean(free_text: bool) -> AfterValidator:
    def check(value: str) -> str:
        problem = text_problem(value, free_text=free_text)
        if problem is not None:
            raise PydanticCustomError("invalid_text", "{problem}", {"problem": problem})
        return value

    return AfterValidator(check)


def _within_service_years(moment: datetime) -> datetime:
    # Before any arithmetic: a time at year 1 or 9999 overflows once moved to another zone or a minute earlier.
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise PydanticCustomError("time_out_of_range", "a time in the years {earliest} to {latest}",
                                  {"earliest": EARLIEST_YEAR, "latest": LATEST_YEAR})
    return moment


ServiceTime = Annotated[AwareDatetime, AfterValidator(_within_service_years)]


def _iso_639_1(code: str) -> str:
    # A phone keyboard may capitalise it: the code is the same language either way.
    code = code.lower()
    if not is_language(code):
        raise PydanticCustomError("unknown_language", "an ISO 639-1 language code (two letters, e.g. th, en, ru)")
    return code


PatientLanguage = Annotated[str, Field(min_length=2, max_length=2), AfterValidator(_iso_639_1)]

# Every text of a request is clean by dispatch/domain/text.py's rule. A line (a name, an id, a password) holds no
# control character at all; free text written by people (a description, a note) may hold tabs and newlines.
Line = Annotated[str, _clean(free_text=False)]
FreeText = Annotated[str, _clean(free_text=True)]

Id = Field(min_length=1, max_length=ID_MAX_LENGTH, pattern=r"^[A-Za-z0-9_.:-]+$")


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PositionIn(In):
    # Strict: a number, never true or "8.6" (lax parsing would read true as latitude 1).
    lat: float = Field(ge=-90, le=90, strict=True, description="WGS84 latitude, decimal degrees")
    lon: float = Field(ge=-180, le=180, strict=True, description="WGS84 longitude, decimal degrees")

    def to_position(self) -> Position:
        return Position(lat=self.lat, lon=self.lon)


class ReportIn(In):
    """A report from a beach, a boat, an island or a clinic. Give a known site, a GPS position, or both."""

    source: ReportedSource
    site_id: Line | None = Field(default=None, min_length=1, max_length=ID_MAX_LENGTH)
    position: PositionIn | None = None
    triage: Triage
    category: Category
    patients: int = Field(default=1, ge=1, le=MAX_PATIENTS)
    description: FreeText = Field(default="", max_length=MAX_DESCRIPTION_LENGTH)
    language: PatientLanguage = Field(default="th", description="the patient's language, ISO 639-1 "
                                      "(GET /api/languages lists them with their names)", examples=["ru"])
    device_time: ServiceTime | None = Field(default=None, description="the phone's clock when the report was made")


class TriageIn(In):
    stage: TriageStage = Field(description="dispatch: the command centre's code (IDC); scene: the crew's (RC)")
    code: Triage
    expected_version: int | None = Field(default=None, ge=0)


class DispatchIn(In):
    resource_id: str = Id
    expected_version: int | None = Field(default=None, ge=0)


class MilestoneIn(In):
    resource_id: str = Id
    milestone: RecordableMilestone
    happened_at: ServiceTime | None = Field(
        default=None, description="when it happened, if earlier than now (a crew logging after regaining signal)"
    )


class ReferralIn(In):
    facility_id: Line = Field(min_length=0, max_length=ID_MAX_LENGTH)
    resource_id: Line | None = Field(default=None, min_length=1, max_length=ID_MAX_LENGTH)
    from_site_id: Line | None = Field(default=None, min_length=1, max_length=ID_MAX_LENGTH)


class StandDownIn(In):
    resource_id: str = Id
    reason: FreeText = Field(default="", max_length=MAX_REASON_LENGTH,
                             description="why, for the audit (e.g. sent by mistake)")
    expected_version: int | None = Field(default=None, ge=0)


class ReassignIn(In):
    resource_id: str = Id
    to_incident_id: str = Field(min_length=1, max_length=ID_MAX_LENGTH, pattern=r"^[A-Za-z0-9_.:-]+$",
                                description="the open incident to send the unit to")
    expected_version: int | None = Field(default=None, ge=0)


class CarrierIn(In):
    resource_id: str = Id
    referral_id: Line | None = Field(default=None, min_length=1, max_length=ID_MAX_LENGTH,
                                     description="the referral you saw open (refused if it is no longer)")
    expected_version: int | None = Field(default=None, ge=0)


class DestinationIn(In):
    facility_id: Line = Field(min_length=1, max_length=ID_MAX_LENGTH)
    referral_id: Line | None = Field(default=None, min_length=1, max_length=ID_MAX_LENGTH,
                                     description="the referral you saw open (refused if it is no longer)")
    expected_version: int | None = Field(default=None, ge=0)


class NoteIn(In):
    text: FreeText = Field(min_length=1, max_length=MAX_NOTE_LENGTH)
    resource_id: Line | None = Field(default=None, min_length=1, max_length=ID_MAX_LENGTH)


class CloseIn(In):
    outcome: Outcome
    deceased: int = Field(default=0, ge=0, le=MAX_PATIENTS)
    summary: FreeText = Field(default="", max_length=MAX_NOTE_LENGTH)


class ResourceIn(In):
    id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    kind: ResourceKind
    name: Line = Field(min_length=1, max_length=120)
    subtype: Line = Field(default="", max_length=40)
    speed_knots: float | None = Field(default=None, ge=BOAT_SPEED_KNOTS_MIN, le=BOAT_SPEED_KNOTS_MAX,
                                      description="a boat's planning speed")
    position: PositionIn | None = None
    home_site_id: Line | None = Field(default=None, min_length=1, max_length=ID_MAX_LENGTH)
    season: Season = Field(default="all_year", description="when it serves: all year, or only while the marine "
                           "national parks are open (park_season: out of service 16 May-14 Oct by the clock)")
    mmsi: str | None = Field(default=None, pattern=r"^[0-9]{9}$",
                             description="its AIS transponder: its position then follows the transponder's")


class ResourcePatchIn(In):
    status: Literal["available", "out_of_service"] | None = None
    position: PositionIn | None = None
    reason: FreeText = Field(default="", max_length=MAX_REASON_LENGTH)
    expected_version: int | None = Field(default=None, ge=0)
    mmsi: str | None = Field(default=None, pattern=r"^([0-9]{9})?$",
                             description="tie the resource to this AIS transponder; an empty string unties it")


class PositionShareIn(In):
    """A crew phone's position, shared while on duty (the report page, in the foreground)."""

    position: PositionIn
    course_deg: float | None = Field(default=None, ge=0, lt=360, strict=True, description="heading of travel, true")
    speed_knots: float | None = Field(default=None, ge=0, le=100, strict=True, description="speed over ground")


class BeaconConfirmIn(In):
    how: FreeText = Field(default="", max_length=500, description="how it was confirmed: radio, a call, a sighting")


class BeaconDismissIn(In):
    reason: FreeText = Field(default="", max_length=500, description="e.g. a crew testing its SART")


class LoginIn(In):
    username: Line = Field(min_length=1, max_length=USERNAME_MAX_LENGTH)
    password: Line = Field(min_length=1, max_length=200)


class PasswordIn(In):
    current_password: Line = Field(min_length=1, max_length=200)
    new_password: Line = Field(min_length=10, max_length=200)


class UserIn(In):
    username: str = Field(min_length=1, max_length=USERNAME_MAX_LENGTH, pattern=r"^[A-Za-z0-9_.-]+$")
    role: Role
    password: Line = Field(min_length=10, max_length=200)
    display_name: Line = Field(default="", max_length=DISPLAY_NAME_MAX_LENGTH)
    resource_id: Line | None = Field(default=None, min_length=1, max_length=ID_MAX_LENGTH)


# --- answers ---------------------------------------------------------------------------------------


class EventRefOut(BaseModel):
    position: int
    stream_id: str
    version: int
    type: str


class AppendedOut(BaseModel):
    """What a command appended; `replayed` when it was a repeat and the original answer is returned."""

    id: str
    position: int | None = Field(description="the log position of the last event appended (None: nothing to do)")
    events: list[EventRefOut]
    replayed: bool


class ReferralOut(AppendedOut):
    referral_id: str | None = None
    facility_id: str
    guarantee_minutes: int | None = None
    warning_at: datetime | None = None
    deadline_at: datetime | None = None


class FieldProblemOut(BaseModel):
    field: str = Field(description="where the invalid input is, dotted (e.g. body.position.lat)")
    detail: str = Field(description="what is wrong with it, in words")


class ProblemOut(BaseModel):
    """An error, as RFC 9457 Problem Details (`application/problem+json`); `code` and `field` are extensions."""

    type: str = Field(description="a URI reference naming the problem type: /problems/<code>",
                      examples=["/problems/resource_unavailable"])
    title: str = Field(description="the problem type in words; the same for every occurrence",
                       examples=["Resource unavailable"])
    status: int = Field(description="the HTTP status code", ge=400, le=599, examples=[409])
    detail: str = Field(description="this occurrence in words, naming the thing and the rule",
                        examples=["KY-02 is assigned to incident 4f2c81a0b7de; cannot dispatch it to incident 9e1d"])
    instance: str = Field(description="the path that was asked for", examples=["/api/incidents/9e1d/dispatch"])
    code: str = Field(description="machine-readable rule or error name; the pages translate by it",
                      examples=["resource_unavailable"])
    field: str | None = Field(description="the input at fault, if one is", examples=["resource_id"])
    current_version: int | None = Field(default=None, description="on a concurrency conflict: the version the "
                                        "stream is at now (read it again)")
    errors: list[FieldProblemOut] | None = Field(default=None, description="on invalid input: every invalid field")


class SessionOut(BaseModel):
    token: str
    expires_at: datetime
    user: MeOut


class MeOut(BaseModel):
    id: str
    role: str
    display_name: str
    resource_id: str | None = None


class StoredEventOut(BaseModel):
    position: int
    stream_id: str
    version: int
    type: str
    schema_version: int
    data: dict[str, Any]
    meta: dict[str, Any]
    recorded_at: datetime
    prev_hash: str
    hash: str


class EventsPageOut(BaseModel):
    events: list[StoredEventOut]
    next_after: int = Field(description="pass as ?after= to read on")
    head: int


SessionOut.model_rebuild()
