"""Reports for health officials, on SQLite and PostgreSQL: every interval, aggregate and indicator of a known
history to the second and the baht; the province's published savings; exports; the audit trail and verify.

The known history (minutes after T0 = 2026-03-14 07:00 UTC, 14:00 in Bangkok), built through `handle` with a
frozen clock, as the command centre would have lived it:

- F (Similan, red, 5 patients) at 2025-12-31 16:30 UTC = 23:30 Bangkok: 2025; closed with 3 deaths.
- G (Khao Lak, green) at 2025-12-31 23:30 UTC = 06:30 on 1 January in Bangkok: 2026; 1 death.
- A (Koh Yao island, red, scene yellow): KY-01 notified +2, en route +3, on scene +15, referred +20
  (deadline +100), left +25, at the hospital +90 (met), handed over +110.
- B (Koh Yao clinic, yellow, scene red): KY-02 notified +31, referred +32 (deadline +112); on scene entered
  late at +50 as +45; left +55; warning +92; breach +112; arrival entered late at +130 as +125: missed by
  13 minutes; handed over +140; closed with 1 death.
- C (Khao Lak beach, green): the team notified +61, on scene +66; boat KL-01 notified +62, cancelled +64.
- D (Similan boat, red): never reached.
- E (other, white) at 2026-03-31 17:30 UTC = 00:30 on 1 April in Bangkok: the team notified 17:31, on
  scene 17:41.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from dispatch.adapters.eventlog.store import StreamWrite
from dispatch.app.handle import handle
from dispatch.app.services import Services
from dispatch.domain.catalogue import (
    IncidentReported,
    IncidentTriaged,
    MilestoneRecorded,
    PatientArrivedAtFacility,
    Position,
    ReferralRequested,
    ResourceDispatched,
    incident_stream,
)
from dispatch.domain.commands import (
    SYSTEM,
    CheckReferral,
    CloseIncident,
    Command,
    DispatchResource,
    RecordMilestone,
    RegisterResource,
    ReportIncident,
    RequestReferral,
    TriageIncident,
)
from dispatch.entrypoints.api.app import create_app
from dispatch.projections import all_projections
from dispatch.projections.runner import Projector
from dispatch.reports import queries
from dispatch.reports.periods import month_of
from dispatch.reports.queries import ReportFilter
from dispatch.reports.response_times import response_time_report
from dispatch.reports.stats import INTERVAL_NAMES
from dispatch.reports.summary import year_summary
from dispatch.runtime.clock import FrozenClock
from tests.builders import KHAO_LAK, KOH_YAO_POLICY, OPERATOR_ID, PIER, T0, lifeguard, operator
from tests.integration.test_api import PASSWORD, Api
from tests.unit.test_report_stats import naive

HOSPITAL = "hosp_koh_yao_chaipattana"
PLACES = {"koh_yao": PIER, "khao_lak_coast": KHAO_LAK,
          "similan": Position(lat=8.6544, lon=97.6460), "other": Position(lat=7.8900, lon=98.2950)}
THAI_DESCRIPTION = 'นักท่องเที่ยวจมน้ำ, หมดสติ, "ไม่หายใจ" ที่ท่าเรือเกาะยาวใหญ่'
FORMULA_DESCRIPTION = "=1+1 ผู้ป่วยหายใจได้"
DEVICE_AT = T0 + timedelta(minutes=49, seconds=30)
CLINIC_DESCRIPTION = "เจ็บหน้าอก, เหงื่อออก"


def minute(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


class History:
    """Runs commands at given times on the frozen clock, as operators and workers would have."""

    def __init__(self, services: Services, clock: FrozenClock) -> None:
        self.services, self.clock = services, clock

    def at(self, moment: datetime, command: type[Command], **fields: Any) -> None:
        self.clock.set(moment)
        handle(command(**({"actor": operator(), "at": moment} | fields)), self.services)

    def report(self, moment: datetime, incident_id: str, zone: str, **fields: Any) -> None:
        defaults: dict[str, Any] = {"source": "beach", "category": "drowning", "description": ""}
        self.at(moment, ReportIncident, incident_id=incident_id, zone=zone, position=PLACES[zone],
                **(defaults | fields))

    def milestone(self, moment: datetime, incident_id: str, resource_id: str, name: str, **fields: Any) -> None:
        self.at(moment, RecordMilestone, incident_id=incident_id, resource_id=resource_id, milestone=name, **fields)


def build_known_history(services: Services, clock: FrozenClock) -> None:
    h = History(services, clock)
    start = datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    for resource_id, kind in (("KY-01", "boat"), ("KY-02", "boat"), ("KL-01", "boat"), ("TEAM-KL", "team")):
        h.at(start, RegisterResource, resource_id=resource_id, kind=kind, name=resource_id,
             speed_knots=25.0 if kind == "boat" else None)
    new_year_eve = datetime(2025, 12, 31, 16, 30, tzinfo=UTC)
    h.report(new_year_eve, "F", "similan", triage="red", patients=5, source="boat")
    h.at(new_year_eve + timedelta(minutes=20), CloseIncident, incident_id="F", outcome="deceased", deceased=3)
    new_year_morning = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    h.report(new_year_morning, "G", "khao_lak_coast", triage="green")
    h.at(new_year_morning + timedelta(minutes=10), CloseIncident, incident_id="G", outcome="deceased", deceased=1)

    h.at(minute(0), ReportIncident, actor=lifeguard(), incident_id="A", zone="koh_yao", position=PLACES["koh_yao"],
         source="island", triage="red", category="drowning", description=THAI_DESCRIPTION)
    h.at(minute(2), DispatchResource, incident_id="A", resource_id="KY-01")
    h.milestone(minute(3), "A", "KY-01", "en_route")
    h.milestone(minute(15), "A", "KY-01", "on_scene")
    h.at(minute(16), TriageIncident, incident_id="A", stage="scene", code="yellow")
    h.at(minute(20), RequestReferral, incident_id="A", facility_id=HOSPITAL, resource_id="KY-01", policy=KOH_YAO_POLICY)
    h.milestone(minute(25), "A", "KY-01", "left_scene")
    h.report(minute(30), "B", "koh_yao", source="clinic", triage="yellow", category="trauma",
             description=CLINIC_DESCRIPTION)
    h.at(minute(31), DispatchResource, incident_id="B", resource_id="KY-02")
    h.at(minute(32), RequestReferral, incident_id="B", facility_id=HOSPITAL, resource_id="KY-02", policy=KOH_YAO_POLICY)
    h.milestone(minute(50), "B", "KY-02", "on_scene", happened_at=minute(45), device_at=DEVICE_AT)
    h.at(minute(50), TriageIncident, incident_id="B", stage="scene", code="red")
    h.milestone(minute(55), "B", "KY-02", "left_scene")
    h.report(minute(60), "C", "khao_lak_coast", triage="green", description=FORMULA_DESCRIPTION)
    h.at(minute(61), DispatchResource, incident_id="C", resource_id="TEAM-KL")
    h.at(minute(62), DispatchResource, incident_id="C", resource_id="KL-01")
    h.milestone(minute(64), "C", "KL-01", "cancelled")
    h.milestone(minute(66), "C", "TEAM-KL", "on_scene")
    h.milestone(minute(67), "C", "TEAM-KL", "at_patient")
    h.report(minute(70), "D", "similan", source="boat", triage="red")
    h.milestone(minute(80), "C", "TEAM-KL", "back_in_service")
    h.at(minute(80), CloseIncident, incident_id="C", outcome="treated_on_scene")
    h.milestone(minute(90), "A", "KY-01", "at_destination")
    h.at(minute(92), CheckReferral, actor=SYSTEM, incident_id="B",
         referral_id="B-r1", check="warning")
    h.milestone(minute(110), "A", "KY-01", "handed_over")
    h.at(minute(112), CheckReferral, actor=SYSTEM, incident_id="B",
         referral_id="B-r1", check="breach")
    h.milestone(minute(130), "B", "KY-02", "at_destination", happened_at=minute(125))
    h.milestone(minute(130), "A", "KY-01", "back_in_service")
    h.at(minute(130), CloseIncident, incident_id="A", outcome="transferred")
    h.milestone(minute(140), "B", "KY-02", "handed_over")
    h.at(minute(141), CloseIncident, incident_id="B", outcome="deceased", deceased=1)

    april_night = datetime(2026, 3, 31, 17, 30, tzinfo=UTC)
    h.report(april_night, "E", "other", triage="white", category="other")
    h.at(april_night + timedelta(minutes=1), DispatchResource, incident_id="E", resource_id="TEAM-KL")
    h.milestone(april_night + timedelta(minutes=11), "E", "TEAM-KL", "on_scene")
    Projector(services.store, all_projections()).catch_up_all()


@pytest.fixture
def history(services: Services, clock: FrozenClock) -> Services:
    build_known_history(services, clock)
    return services


@pytest.fixture
def api(history: Services) -> Iterator[Api]:
    for role in ("lifeguard", "operator", "official", "admin"):
        history.accounts.add_user(role, role, PASSWORD)
    with TestClient(create_app(history)) as client:
        yield Api(client)


def stats(count: int, median: int | None, p90: int | None, most: int | None) -> dict[str, int | None]:
    return {"count": count, "median": median, "p90": p90, "max": most}


def one(value: int) -> dict[str, int | None]:
    return stats(1, value, value, value)


NONE = stats(0, None, None, None)


# --- the response-time report ---------------------------------------------------------------------------


def test_every_interval_of_every_response_to_the_second(history: Services) -> None:
    report = response_time_report(history.store.engine, ReportFilter(), limit=100)

    rows = {row["response_id"]: row for row in report["responses"]["rows"]}
    assert report["responses"]["total"] == 5 and list(rows) == ["A/KY-01", "B/KY-02", "C/TEAM-KL", "C/KL-01",
                                                                "E/TEAM-KL"]
    intervals = ("response_seconds", "scene_seconds", "transport_seconds", "hospital_wall_seconds", "total_seconds")
    seconds = {key: tuple(row[name] for name in intervals) for key, row in rows.items()}
    assert seconds == {
        "A/KY-01": (780, 600, 3900, 1200, 5400),
        "B/KY-02": (840, 600, 4200, 900, 5700),  # late entries count from the stated times
        "C/TEAM-KL": (300, None, None, None, None),
        "C/KL-01": (None, None, None, None, None),
        "E/TEAM-KL": (600, None, None, None, None),
    }
    b = rows["B/KY-02"]
    assert b["late_entries"] == 2 and b["on_scene_at"] == minute(45) and b["at_destination_at"] == minute(125)
    assert (b["triage"], b["triage_dispatch"], b["triage_scene"]) == ("red", "yellow", "red")
    assert rows["A/KY-01"]["triage"] == "yellow" and rows["A/KY-01"]["description"] == THAI_DESCRIPTION
    assert rows["C/KL-01"]["cancelled_at"] == minute(64)


def test_aggregates_overall_and_by_zone_triage_and_bangkok_month(history: Services) -> None:
    report = response_time_report(history.store.engine, ReportFilter(), limit=0)

    assert report["time_zone"] == "Asia/Bangkok" and report["incidents"] == 7
    assert report["intervals"] == {
        "response_seconds": stats(4, 600, 840, 840),  # 300, 600, 780, 840: nearest rank, lower median
        "scene_seconds": stats(2, 600, 600, 600),
        "transport_seconds": stats(2, 3900, 4200, 4200),
        "hospital_wall_seconds": stats(2, 900, 1200, 1200),
        "total_seconds": stats(2, 5400, 5700, 5700),
    }
    assert {zone: by["response_seconds"] for zone, by in report["by_zone"].items()} == {
        "khao_lak_coast": one(300), "koh_yao": stats(2, 780, 840, 840), "other": one(600)}
    assert report["by_zone"]["khao_lak_coast"]["scene_seconds"] == NONE
    assert {code: by["response_seconds"] for code, by in report["by_triage"].items()} == {
        "green": one(300), "red": one(840), "white": one(600), "yellow": one(780)}
    # E was reported at 17:30 UTC on 31 March: 00:30 on 1 April in Bangkok.
    assert {month: by["response_seconds"] for month, by in report["by_month"].items()} == {
        "2026-03": stats(3, 780, 840, 840), "2026-04": one(600)}
    assert report["by_month"]["2026-03"]["transport_seconds"] == stats(2, 3900, 4200, 4200)
    assert report["responses"]["rows"] == []


def test_the_referral_guarantee_met_and_missed_with_minutes_late_and_why(history: Services) -> None:
    referrals = response_time_report(history.store.engine, ReportFilter(), limit=0)["referrals"]

    assert {key: referrals[key] for key in ("count", "with_guarantee", "met", "missed", "open",
                                            "compliance_percent", "without_guarantee")} == {
        "count": 2, "with_guarantee": 2, "met": 1, "missed": 1, "open": 0, "compliance_percent": 50.0,
        "without_guarantee": 0}
    assert referrals["late_seconds"] == one(780)
    assert referrals["elapsed_seconds"] == stats(2, 4200, 5580, 5580)
    assert referrals["hospital_wall_seconds"] == stats(2, 900, 1200, 1200)
    assert referrals["by_zone"] == {"koh_yao": {"with_guarantee": 2, "met": 1, "missed": 1, "open": 0,
                                                "compliance_percent": 50.0}}
    assert list(referrals["by_month"]) == ["2026-03"]
    (missed,) = referrals["missed_referrals"]
    assert referrals["open_referrals"] == []
    assert {
        key: missed[key] for key in ("referral_id", "incident_id", "zone", "triage", "requested_at", "deadline_at",
                                     "arrived_at", "elapsed_seconds", "late_seconds", "minutes_late",
                                     "hospital_wall_seconds", "risk_reason", "at_risk_at", "breached_at",
                                     "response_seconds", "scene_seconds", "transport_seconds")
    } == {
        "referral_id": "B-r1", "incident_id": "B", "zone": "koh_yao", "triage": "red", "requested_at": minute(32),
        "deadline_at": minute(112), "arrived_at": minute(125), "elapsed_seconds": 5580, "late_seconds": 780,
        "minutes_late": 13.0, "hospital_wall_seconds": 900, "risk_reason": "warning_point",
        "at_risk_at": minute(92), "breached_at": minute(112), "response_seconds": 840, "scene_seconds": 600,
        "transport_seconds": 4200,
    }


@pytest.mark.parametrize(
    ("query", "incidents", "response", "referrals"),
    [
        ("zone=koh_yao", 2, stats(2, 780, 840, 840), 2),
        ("zone=koh_yao&zone=other", 3, stats(3, 780, 840, 840), 2),
        ("triage=red", 3, one(840), 1),  # F and D by their dispatch code, B by its scene code
        ("source=clinic", 1, one(840), 1),
        ("from=2026-04-01", 1, one(600), 0),  # Bangkok midnight: 2026-03-31 17:00 UTC
        ("from=2026-01-01&to=2026-04-01", 5, stats(3, 780, 840, 840), 2),
        ("from=2026-03-14T14:30:00%2B07:00&to=2026-03-14T15:00:00%2B07:00", 1, one(840), 1),  # B alone
    ],
)
def test_filters_narrow_incidents_responses_and_referrals(
    api: Api, query: str, incidents: int, response: dict[str, int], referrals: int
) -> None:
    answer = api.get(f"/api/reports/response-times?{query}", "official")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["incidents"], body["intervals"]["response_seconds"], body["referrals"]["count"]) == (
        incidents, response, referrals)


def test_an_official_answers_the_koh_yao_quarter_question_and_shows_the_log_is_intact(api: Api) -> None:
    # "What share of Koh Yao referrals arrived within 80 minutes last quarter, which did not, and why?"
    body = api.get("/api/reports/response-times?zone=koh_yao&from=2026-01-01&to=2026-04-01&limit=0",
                   "official").json()

    referrals = body["referrals"]
    assert (referrals["met"], referrals["missed"], referrals["compliance_percent"]) == (1, 1, 50.0)
    (late,) = referrals["missed_referrals"]
    assert (late["incident_id"], late["minutes_late"], late["risk_reason"], late["transport_seconds"]) == (
        "B", 13.0, "warning_point", 4200)
    trail = api.get(f"/api/audit/incidents/{late['incident_id']}", "official").json()
    assert [e["type"] for e in trail["events"]].count("ReferralBreached") == 1
    assert api.get("/api/audit/verify", "official").json()["intact"] is True


def test_the_json_answer_pages_its_response_rows(api: Api) -> None:
    body = api.get("/api/reports/response-times?limit=2&offset=2", "operator").json()

    assert body["responses"]["total"] == 5
    assert [row["response_id"] for row in body["responses"]["rows"]] == ["C/TEAM-KL", "C/KL-01"]
    assert body["responses"]["rows"][0]["reported_at"] == "2026-03-14T08:00:00+00:00"


@pytest.mark.parametrize("query", ["from=yesterday", "to=2026-03-14T10:00:00", "zone=atlantis", "triage=blue",
                                   "format=xlsx", "limit=-1"])
def test_bad_report_parameters_are_a_422_naming_the_field(api: Api, query: str) -> None:
    answer = api.get(f"/api/reports/response-times?{query}", "official")

    assert answer.status_code == 422 and answer.json()["field"].split(".")[0] == query.split("=")[0]


# --- the yearly summary ---------------------------------------------------------------------------------


def test_the_summary_of_a_year_counts_in_bangkok_time(api: Api) -> None:
    body = api.get("/api/reports/summary?year=2026", "official").json()

    assert body["year"] == 2026 and body["time_zone"] == "Asia/Bangkok"
    assert body["from"].startswith("2025-12-31T17:00:00") and body["to"].startswith("2026-12-31T17:00:00")
    # G (06:30 on 1 January in Bangkok) belongs to 2026; F (23:30 on 31 December) to 2025.
    assert body["incidents"] == {"count": 6, "by_triage": {"green": 2, "red": 2, "white": 1, "yellow": 1}}
    assert body["red_yellow_reached"] == {
        "reached": 2, "of": 3, "percent": 66.7,
        "by_triage": {"red": {"reached": 1, "of": 2, "percent": 50.0},
                      "yellow": {"reached": 1, "of": 1, "percent": 100.0}},
    }
    assert body["deaths"] == {"count": 2, "previous_year": {"year": 2025, "count": 3}, "change": -1,
                              "change_percent": -33.3, "target_change_percent": -10.0, "fell_more_than_target": True}
    assert body["referrals"] == {"count": 2, "with_guarantee": 2, "met": 1, "missed": 1, "open": 0,
                                 "compliance_percent": 50.0, "late_seconds_total": 780}
    assert (body["saving_per_referral_thb"], body["cost_saved_thb"]) == (6000, 12_000)
    assert body["cost_saved_zones"] == ["koh_yao"] and body["cost_saved_referrals"] == 2


def test_the_summary_of_the_year_before(history: Services) -> None:
    body = year_summary(history.store.engine, 2025, saving_thb=6000, saving_zones=("koh_yao",))

    assert body["incidents"] == {"count": 1, "by_triage": {"red": 1}}
    assert body["red_yellow_reached"]["percent"] == 0.0 and body["red_yellow_reached"]["of"] == 1
    assert body["deaths"]["count"] == 3 and body["deaths"]["change_percent"] is None
    assert body["deaths"]["fell_more_than_target"] is None
    assert body["referrals"]["count"] == 0 and body["referrals"]["compliance_percent"] is None
    assert body["cost_saved_thb"] == 0


def test_the_summary_defaults_to_this_bangkok_year(api: Api) -> None:
    assert api.get("/api/reports/summary", "operator").json()["year"] == 2026


# --- the province's published savings -----------------------------------------------------------------

PUBLISHED = {2018: (158, 948_000), 2019: (169, 1_014_000), 2020: (140, 840_000)}


def referral_history(services: Services) -> None:
    """Koh Yao referrals as the province counted them, several on the edges of Bangkok's new year."""
    edges = {
        2018: [datetime(2017, 12, 31, 17, 0, tzinfo=UTC), datetime(2018, 12, 31, 16, 59, 59, tzinfo=UTC)],
        2019: [datetime(2018, 12, 31, 17, 0, tzinfo=UTC), datetime(2019, 12, 31, 16, 30, tzinfo=UTC)],
        2020: [datetime(2019, 12, 31, 23, 30, tzinfo=UTC), datetime(2020, 12, 31, 16, 59, tzinfo=UTC)],
    }
    outside = [datetime(2017, 12, 31, 16, 59, 59, tzinfo=UTC), datetime(2020, 12, 31, 17, 0, tzinfo=UTC)]
    times = list(outside)
    for year, (count, _saving) in PUBLISHED.items():
        spread = [datetime(year, 1, 2, 3, tzinfo=UTC) + timedelta(days=2 * n, hours=n % 24)
                  for n in range(count - len(edges[year]))]
        times += edges[year] + spread
    writes = [StreamWrite(incident_stream(f"ref-{n}"), referral_events(f"ref-{n}", at), 0)
              for n, at in enumerate(sorted(times))]
    services.store.append_many(writes)
    Projector(services.store, all_projections()).catch_up_all()


def referral_events(incident_id: str, at: datetime) -> list[Any]:
    pier = PLACES["koh_yao"]
    return [
        IncidentReported(at=at, incident_id=incident_id, source="clinic", position=pier, zone="koh_yao",
                         triage="yellow", category="trauma", patients=1, reporter="hu-koh-yao"),
        ReferralRequested(at=at, incident_id=incident_id, referral_id=f"{incident_id}-r1", from_site_id=None,
                          from_position=pier, facility_id=HOSPITAL, policy=KOH_YAO_POLICY,
                          warning_at=at + timedelta(minutes=60), deadline_at=at + timedelta(minutes=80)),
        PatientArrivedAtFacility(at=at + timedelta(minutes=55), incident_id=incident_id,
                                 referral_id=f"{incident_id}-r1", facility_id=HOSPITAL),
    ]


def test_the_three_years_of_referrals_give_exactly_the_published_savings(services: Services) -> None:
    referral_history(services)
    services.accounts.add_user("official", "official", PASSWORD)

    with TestClient(create_app(services)) as client:
        api = Api(client)
        saved = {year: api.get(f"/api/reports/summary?year={year}", "official").json()
                 for year in (2017, *PUBLISHED, 2021)}

    assert {year: (body["referrals"]["count"], body["cost_saved_thb"]) for year, body in saved.items()} == {
        2017: (1, 6000), **PUBLISHED, 2021: (1, 6000)}
    assert all(body["referrals"]["compliance_percent"] == 100.0 for body in saved.values())


def test_the_saving_per_referral_is_a_setting(services: Services) -> None:
    referral_history(services)

    body = year_summary(services.store.engine, 2019, saving_thb=6500, saving_zones=("koh_yao",))

    assert body["cost_saved_thb"] == 169 * 6500 and services.settings.referral_saving_thb == 6000


# --- exports --------------------------------------------------------------------------------------------


def test_the_csv_opens_in_excel_with_thai_commas_and_quotes_intact(api: Api) -> None:
    answer = api.get("/api/reports/response-times?format=csv", "official")

    assert answer.status_code == 200 and answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="response-times.csv"'
    assert answer.content.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 BOM to read Thai"
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))
    by_id = {row["response_id"]: row for row in rows}
    assert len(rows) == 5 and by_id["A/KY-01"]["description"] == THAI_DESCRIPTION
    assert by_id["B/KY-02"]["description"] == CLINIC_DESCRIPTION
    assert by_id["C/TEAM-KL"]["description"] == "'" + FORMULA_DESCRIPTION, "text must never run as a formula"
    assert by_id["B/KY-02"]["on_scene_at"] == "2026-03-14T14:45:00+07:00"  # Bangkok time, with its offset
    assert (by_id["B/KY-02"]["response_seconds"], by_id["C/KL-01"]["response_seconds"]) == ("840", "")


def test_the_csv_file_name_says_its_period(api: Api) -> None:
    answer = api.get("/api/reports/response-times?format=csv&from=2026-01-01&to=2027-01-01", "official")

    assert answer.headers["content-disposition"] == 'attachment; filename="response-times-20260101-20270101.csv"'


def test_the_nemsis_csv_has_the_etimes_of_every_resource_response(api: Api) -> None:
    answer = api.get("/api/reports/nemsis.csv?zone=koh_yao", "official")

    assert answer.status_code == 200 and answer.content.startswith(b"\xef\xbb\xbf")
    reader = csv.reader(io.StringIO(answer.content.decode("utf-8-sig"), newline=""))
    header, *lines = list(reader)
    assert header == ["incident_id", "resource_id", "kind", "zone", "triage", "eTimes.01", "eTimes.03",
                      "eTimes.05", "eTimes.06", "eTimes.07", "eTimes.09", "eTimes.11", "eTimes.12", "eTimes.13",
                      "eTimes.14"]
    rows = {line[1]: dict(zip(header, line, strict=True)) for line in lines}
    assert list(rows) == ["KY-01", "KY-02"]
    assert [rows["KY-02"][f"eTimes.{n}"] for n in (
        "01", "03", "05", "06", "07", "09", "11", "12", "13", "14")] == [
        "2026-03-14T14:30:00+07:00", "2026-03-14T14:31:00+07:00", "", "2026-03-14T14:45:00+07:00", "",
        "2026-03-14T14:55:00+07:00", "2026-03-14T16:05:00+07:00", "2026-03-14T16:20:00+07:00", "", ""]


def test_the_geojson_has_a_point_per_incident_with_its_report_facts(api: Api) -> None:
    answer = api.get("/api/reports/incidents.geojson?from=2026-01-01", "official")

    assert answer.status_code == 200 and answer.headers["content-type"] == "application/geo+json"
    body = answer.json()
    assert body["type"] == "FeatureCollection"
    features = {feature["id"]: feature for feature in body["features"]}
    assert list(features) == ["G", "A", "B", "C", "D", "E"]
    a = features["A"]
    assert a["geometry"] == {"type": "Point", "coordinates": [98.5836, 8.0076]}  # RFC 7946: lon, lat
    assert {key: a["properties"][key] for key in ("triage", "zone", "reach_seconds", "referral_status",
                                                  "description", "reported_local")} == {
        "triage": "yellow", "zone": "koh_yao", "reach_seconds": 900, "referral_status": "met",
        "description": THAI_DESCRIPTION, "reported_local": "2026-03-14T14:00:00+07:00"}
    assert features["D"]["properties"]["reached_at"] is None and features["B"]["properties"]["deceased"] == 1


# --- the audit trail ------------------------------------------------------------------------------------


def test_the_audit_trail_shows_every_event_with_actor_role_server_and_device_time(api: Api) -> None:
    answer = api.get("/api/audit/incidents/B", "official")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    events = body["events"]
    assert [event["version"] for event in events] == list(range(1, len(events) + 1)) == list(
        range(1, body["version"] + 1))
    on_scene = next(e for e in events if e["type"] == "MilestoneRecorded" and e["data"]["milestone"] == "on_scene")
    assert (on_scene["actor_id"], on_scene["role"]) == (OPERATOR_ID, "operator")
    assert on_scene["at"].startswith("2026-03-14T07:45:00") and on_scene["data"]["late"] is True
    assert on_scene["recorded_at"].startswith("2026-03-14T07:50:00")
    assert on_scene["device_at"].startswith("2026-03-14T07:49:30")
    breach = next(e for e in events if e["type"] == "ReferralBreached")
    assert (breach["actor_id"], breach["role"]) == ("system", "system")
    assert all(len(e["hash"]) == 64 and len(e["prev_hash"]) == 64 for e in events)
    assert [r["response_id"] for r in body["responses"]] == ["B/KY-02"]
    assert [(r["referral_id"], r["status"], r["late_seconds"]) for r in body["referrals"]] == [("B-r1", "missed", 780)]
    assert api.get("/api/audit/incidents/A", "operator").json()["events"][0]["role"] == "lifeguard"


def test_the_audit_trail_of_an_unknown_incident_is_a_404(api: Api) -> None:
    answer = api.get("/api/audit/incidents/nope", "official")

    assert answer.status_code == 404 and answer.json()["code"] == "incident_not_found"


def test_verify_reports_an_intact_log(api: Api, history: Services) -> None:
    body = api.get("/api/audit/verify", "official").json()

    assert body | {"head_hash": None} == {
        "intact": True, "checked": history.store.head(), "head_position": history.store.head(), "head_hash": None,
        "first_bad_position": None, "problem": None, "anchored_position": None}


def test_tampering_with_one_stored_row_makes_verify_fail_and_name_it(
    api: Api, history: Services, engine: Engine
) -> None:
    # Someone "improves" B's record: the late arrival is moved before the deadline, straight in the database.
    (position,) = [e.position for e in history.store.read_stream(incident_stream("B"))
                   if e.type == "PatientArrivedAtFacility"]
    with engine.begin() as db:
        db.execute(text("UPDATE events SET data = replace(data, '09:05:00', '08:50:00') WHERE position = :p"),
                   {"p": position})

    body = api.get("/api/audit/verify", "official").json()

    assert body["intact"] is False and body["first_bad_position"] == position and body["checked"] == position - 1
    assert f"position {position}" in body["problem"] and "altered" in body["problem"]


# --- who may read reports -------------------------------------------------------------------------------

REPORT_ROUTES = ["/api/reports/response-times", "/api/reports/response-times?format=csv", "/api/reports/summary",
                 "/api/reports/incidents.geojson", "/api/reports/nemsis.csv", "/api/audit/incidents/A",
                 "/api/audit/verify"]


@pytest.mark.parametrize("path", REPORT_ROUTES)
def test_officials_and_operators_read_reports_and_nobody_else(api: Api, path: str) -> None:
    for role in ("official", "operator"):
        assert api.get(path, role).status_code == 200, f"{role} was refused {path}"
    for role in ("lifeguard", "admin"):
        answer = api.get(path, role)
        assert answer.status_code == 403 and answer.json()["code"] == "not_permitted", f"{role} read {path}"
    api.client.cookies.clear()  # the sign-ins above left a session cookie
    assert api.client.get(path).status_code == 401


def test_reports_change_nothing_in_the_log(api: Api, history: Services) -> None:
    head = history.store.head()
    for path in REPORT_ROUTES:
        api.get(path, "official")
    for method in ("POST", "PUT", "DELETE"):
        assert api.client.request(method, "/api/reports/summary", headers=api.as_("official")).status_code == 405
    assert history.store.head() == head


# --- every aggregate is its group counted alone, on both databases ------------------------------------


def random_year(services: Services, incidents: int = 300) -> None:
    """Incidents with random zones, sources, codes and times: some responses complete, some not, and some
    incidents triaged again after their responses exist."""
    rng = random.Random(7)
    writes = []
    for n in range(incidents):
        at = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 525_600))
        zone = rng.choice(list(PLACES))
        events: list[Any] = [IncidentReported(at=at, incident_id=f"r{n}", source=rng.choice(SOURCES),
                                              position=PLACES[zone], zone=zone,
                                              triage=rng.choice(["red", "yellow", "green"]), category="other",
                                              patients=1, reporter="lg")]
        for resource in range(rng.randint(0, 2)):
            moment = at + timedelta(seconds=rng.randint(0, 300))
            events.append(ResourceDispatched(at=moment, incident_id=f"r{n}", resource_id=f"u{resource}", kind="boat"))
            for milestone in ("on_scene", "left_scene", "at_destination", "handed_over")[:rng.randint(0, 4)]:
                moment += timedelta(seconds=rng.randint(0, 5400))
                events.append(MilestoneRecorded(at=moment, incident_id=f"r{n}", resource_id=f"u{resource}",
                                                milestone=milestone))  # type: ignore[arg-type]
        for stage in ("dispatch", "scene"):
            if rng.random() < 0.3:
                events.append(IncidentTriaged(at=events[-1].at, incident_id=f"r{n}", stage=stage,
                                              code=rng.choice(["white", "black", "red"])))
        writes.append(StreamWrite(incident_stream(f"r{n}"), events, 0))
    services.store.append_many(writes)
    Projector(services.store, all_projections(), batch_size=50).catch_up_all()


SOURCES = ("beach", "boat", "island", "clinic")
BANGKOK_2025 = ReportFilter(from_at=datetime(2024, 12, 31, 17, tzinfo=UTC),
                            to_at=datetime(2025, 12, 31, 17, tzinfo=UTC))
# Bounds that are no month's, and lists of each attribute.
ODD_PERIOD = ReportFilter(from_at=datetime(2025, 3, 14, 5, 23, 7, tzinfo=UTC),
                          to_at=datetime(2025, 9, 2, 11, 0, 1, tzinfo=UTC), zones=("koh_yao", "similan", "other"),
                          triages=("red", "white", "yellow"), sources=("beach", "boat", "clinic"))


def selected(row: dict[str, Any], flt: ReportFilter) -> bool:
    """The filter's rule in Python, from a response's own times and its incident's codes."""
    triage = row["triage_scene"] or row["triage_dispatch"]
    return (flt.from_at is None or row["reported_at"] >= flt.from_at) and (
        flt.to_at is None or row["reported_at"] < flt.to_at) and (not flt.zones or row["zone"] in flt.zones) and (
        not flt.triages or triage in flt.triages) and (not flt.sources or row["source"] in flt.sources)


def counted_alone(rows: list[dict[str, Any]], group: Any) -> dict[str, dict[str, dict[str, int | None]]]:
    """Each group's stats of each interval, from only that group's rows."""
    groups = sorted({group(row) for row in rows})
    return {key: {name: naive([row[name] for row in rows if group(row) == key and row[name] is not None]).as_dict()
                  for name in INTERVAL_NAMES} for key in groups}


@pytest.mark.parametrize("flt", [BANGKOK_2025, ODD_PERIOD], ids=["bangkok-year", "odd-period-and-lists"])
def test_every_aggregate_is_its_group_counted_alone(services: Services, engine: Engine, flt: ReportFilter) -> None:
    random_year(services)

    report = response_time_report(engine, flt, limit=0)

    rows = [row for row in queries.iter_responses(engine, ReportFilter()) if selected(row, flt)]
    assert report["responses"]["total"] == len(rows) > 25
    assert report["intervals"] == counted_alone(rows, lambda row: "all")["all"]
    assert report["by_zone"] == counted_alone(rows, itemgetter("zone"))
    assert report["by_triage"] == counted_alone(rows, lambda row: row["triage_scene"] or row["triage_dispatch"])
    assert report["by_month"] == counted_alone(rows, lambda row: month_of(row["reported_at"]))


def test_a_referral_counts_in_the_bangkok_month_it_was_requested(services: Services, clock: FrozenClock) -> None:
    h = History(services, clock)
    for incident_id, requested_at in (("K1", datetime(2026, 3, 31, 16, 59, 59, tzinfo=UTC)),  # 23:59:59 in Bangkok
                                      ("K2", datetime(2026, 3, 31, 17, 0, tzinfo=UTC))):     # 00:00 on 1 April
        h.report(requested_at, incident_id, "koh_yao", source="clinic", triage="yellow")
        h.at(requested_at, RequestReferral, incident_id=incident_id, facility_id=HOSPITAL, policy=KOH_YAO_POLICY)
    Projector(services.store, all_projections()).catch_up_all()

    referrals = response_time_report(services.store.engine, ReportFilter(), limit=0)["referrals"]

    assert {month: tally["with_guarantee"] for month, tally in referrals["by_month"].items()} == {
        "2026-03": 1, "2026-04": 1}
