"""Recommendations and predicted arrivals: ranking, the ETA arithmetic behind it, who is never recommended.

Places are the project's own (places.json); resources are built here. Timings are PARAMS (launch 10 min,
landing 10 min, road 60 km/h × 1.25), so expected minutes can be worked out by hand.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.domain.catalogue import Event, Position, ReferralRequested
from dispatch.domain.decisions.incident import Incident
from dispatch.domain.decisions.resource import Resource
from dispatch.domain.geo import EtaParams, distance_km, load_places, referral_route, sea_leg
from dispatch.domain.geo.places import Place
from dispatch.domain.recommend import advise, geodesic_km, predict_arrival, recommend_facilities, recommend_resources
from tests.builders import (
    INCIDENT,
    T0,
    incident_from,
    incident_reported,
    milestone_recorded,
    minutes,
    referral_requested,
    resource_dispatched,
)

PLACES = load_places()
PARAMS = EtaParams(boat_launch_minutes=10, boat_landing_minutes=10, road_speed_kmh=60,
                   road_detour_factor=1.25)
PHRU_NAI = PLACES.get("hu_phru_nai")  # the Koh Yao Yai health unit that refers
KO_YAO_NOI = PLACES.get("isl_ko_yao_noi")
THAP_LAMU = PLACES.get("pier_thap_lamu")
VACHIRA = PLACES.get("hosp_vachira_phuket")


def resource(resource_id: str, at: Place | Position | None, *, kind: str = "boat", speed: float = 25.0,
             status: str = "available", incident_id: str | None = None) -> Resource:
    """A resource in state `status` at `at`; only boats keep the speed."""
    fields: dict[str, Any] = {
        "id": resource_id, "kind": kind, "name": f"{resource_id} name", "subtype": "",
        "speed_knots": speed if kind == "boat" else None,
        "position": at.position if isinstance(at, Place) else at, "position_at": T0, "home_site_id": None,
        "zone": None, "status": status, "status_since": T0, "incident_id": incident_id,
    }
    return Resource(**fields)


def in_minutes(duration: timedelta | None) -> float:
    assert duration is not None
    return duration.total_seconds() / 60


# --- resources for an incident ------------------------------------------------------------------------


def test_a_boat_eta_is_launch_plus_transit_at_its_speed_plus_landing() -> None:
    boat = resource("KYN", KO_YAO_NOI, speed=25)
    [option] = recommend_resources(PHRU_NAI, [boat], PARAMS).boats
    transit = option.distance_km / 1.852 / 25 * 60
    assert option.distance_km == pytest.approx(distance_km(KO_YAO_NOI, PHRU_NAI))
    assert in_minutes(option.eta) == pytest.approx(10 + transit + 10)


@pytest.mark.parametrize(("a", "b"), [("hu_phru_nai", "hosp_vachira_phuket"),
                                      ("pier_thap_lamu", "sim_hq_ko_miang")])
def test_the_fast_geodesic_is_the_one_the_rest_of_geo_uses(a: str, b: str) -> None:
    expected = distance_km(PLACES.get(a), PLACES.get(b))
    assert geodesic_km(PLACES.get(a), PLACES.get(b)) == pytest.approx(expected, rel=1e-12)


def test_boats_rank_by_eta_so_a_fast_far_boat_beats_a_slow_near_one() -> None:
    # given a 9-knot longtail 5 km off and a 30-knot speedboat 12 km off
    longtail = resource("LONGTAIL", Position(lat=PHRU_NAI.lat + 0.045, lon=PHRU_NAI.lon), speed=9)
    speedboat = resource("SPEEDBOAT", Position(lat=PHRU_NAI.lat + 0.108, lon=PHRU_NAI.lon), speed=30)
    boats = recommend_resources(PHRU_NAI, [longtail, speedboat], PARAMS).boats
    assert [o.resource.id for o in boats] == ["SPEEDBOAT", "LONGTAIL"]
    assert boats[0].distance_km > boats[1].distance_km


def test_aeds_and_teams_rank_by_distance() -> None:
    near, far = Position(lat=8.0, lon=98.58), Position(lat=8.1, lon=98.58)
    candidates = [resource("AED-FAR", far, kind="aed"), resource("AED-NEAR", near, kind="aed"),
                  resource("TEAM-FAR", far, kind="team"), resource("TEAM-NEAR", near, kind="team")]
    recommended = recommend_resources(PHRU_NAI, candidates, PARAMS)
    assert [o.resource.id for o in recommended.aeds] == ["AED-NEAR", "AED-FAR"]
    assert [o.resource.id for o in recommended.teams] == ["TEAM-NEAR", "TEAM-FAR"]
    assert recommended.aeds[0].eta is None


@pytest.mark.parametrize(
    "unavailable",
    [{"status": "assigned", "incident_id": "inc-other"}, {"status": "out_of_service"}],
    ids=["assigned", "out_of_service"],
)
@pytest.mark.parametrize("kind", ["boat", "aed", "team"])
def test_an_assigned_or_out_of_service_resource_is_never_recommended(
    kind: str, unavailable: dict[str, Any]
) -> None:
    # given the nearest resource of its kind is busy or broken, and a farther one is free
    busy = resource("BUSY", PHRU_NAI, kind=kind, **unavailable)
    free = resource("FREE", THAP_LAMU, kind=kind)
    recommended = recommend_resources(PHRU_NAI, [busy, free], PARAMS)
    listed = {"boat": recommended.boats, "aed": recommended.aeds, "team": recommended.teams}[kind]
    assert [o.resource.id for o in listed] == ["FREE"]


def test_a_resource_without_a_known_position_is_not_ranked() -> None:
    assert recommend_resources(PHRU_NAI, [resource("NOWHERE", None)], PARAMS).boats == ()


def test_at_most_limit_of_each_kind() -> None:
    boats = [resource(f"B{n}", Position(lat=8.0 + n / 100, lon=98.6)) for n in range(10)]
    recommended = recommend_resources(PHRU_NAI, boats, PARAMS, limit=3)
    assert [o.resource.id for o in recommended.boats] == ["B0", "B1", "B2"]


def _boat_at(n: int, lat: float, lon: float, speed: float, status: str) -> Resource:
    return resource(f"R{n}", Position(lat=lat, lon=lon), speed=speed, status=status)


FLEET = st.lists(
    st.builds(
        _boat_at, st.integers(0, 10_000), st.floats(7.6, 8.6), st.floats(98.1, 98.9),
        st.sampled_from([9.0, 15.0, 25.0, 30.0]),
        st.sampled_from(["available", "available", "assigned", "out_of_service"]),
    ),
    max_size=40, unique_by=lambda r: r.id,
)


@given(FLEET, st.integers(1, 5))
@settings(max_examples=60, deadline=None)
def test_best_first_ranking_equals_ranking_every_boat_exactly(fleet: list[Resource], limit: int) -> None:
    # the cheap lower bound only decides which geodesics to take; the answer must not change
    ranked = recommend_resources(PHRU_NAI, fleet, PARAMS, limit=limit).boats
    exhaustive = sorted(
        (minutes(20) + sea_leg(distance_km(b.position, PHRU_NAI), b.speed_knots or 0), b.id)
        for b in fleet if b.status == "available" and b.position is not None
    )[:limit]
    assert [(o.eta, o.resource.id) for o in ranked] == exhaustive


# --- facilities for a referral --------------------------------------------------------------------------


def test_facilities_rank_by_predicted_arrival_refer_from_wherever_is_nearest() -> None:
    ranked = recommend_facilities(PHRU_NAI, PLACES, 25, PARAMS, min_level_of_care=3, limit=4)
    assert [o.facility.id for o in ranked] == [
        "hosp_koh_yao_chaipattana", "hosp_vachira_phuket", "hosp_bangkok_phuket", "hosp_krabi",
    ]
    assert [o.eta for o in ranked] == sorted(o.eta for o in ranked)


def test_level_of_care_breaks_a_tie_in_arrival() -> None:
    # Vachira (level 5) and Bangkok Hospital Phuket (level 4) share the Rassada landing: same ETA
    vachira, bangkok = recommend_facilities(PHRU_NAI, PLACES, 25, PARAMS, min_level_of_care=4, limit=2)
    assert vachira.eta == bangkok.eta
    assert (vachira.facility.id, bangkok.facility.id) == ("hosp_vachira_phuket", "hosp_bangkok_phuket")


def test_a_facility_no_sea_route_reaches_is_left_out() -> None:
    # Phang Nga Hospital has no landing serving Koh Yao: a straight line would cross the mainland
    ranked = recommend_facilities(PHRU_NAI, PLACES, 25, PARAMS, limit=20)
    assert "hosp_phang_nga" not in {o.facility.id for o in ranked}
    assert ranked[0].facility.id == "hu_phru_nai" and ranked[0].eta == timedelta(0)


def test_the_eta_of_a_recommended_facility_is_its_referral_route() -> None:
    [best] = recommend_facilities(PHRU_NAI, PLACES, 25, PARAMS, min_level_of_care=5, limit=1)
    assert best.route == referral_route(PHRU_NAI, VACHIRA, 25, PARAMS, places=PLACES)


@given(st.floats(7.7, 8.4), st.floats(98.3, 98.8), st.sampled_from([9.0, 25.0]), st.integers(1, 6))
@settings(max_examples=40, deadline=None)
def test_best_first_facilities_equal_routing_to_every_facility(lat: float, lon: float, speed: float,
                                                               limit: int) -> None:
    origin = Position(lat=lat, lon=lon)
    exhaustive = []
    for facility in PLACES.facilities():
        try:
            route = referral_route(origin, facility, speed, PARAMS, places=PLACES)
        except ValueError:
            continue
        exhaustive.append((route.total, -(facility.level_of_care or 0), facility.id))
    ranked = recommend_facilities(origin, PLACES, speed, PARAMS, limit=limit)
    assert [o.facility.id for o in ranked] == [facility_id for *_, facility_id in sorted(exhaustive)[:limit]]


# --- predicted arrival of an open referral --------------------------------------------------------------


def referral_on(
    *extra: Event, boat: str | None = "KY", facility: str = "hosp_vachira_phuket"
) -> tuple[ReferralRequested, Incident]:
    """A referral from the Phru Nai health unit requested at T0, and the incident it belongs to."""
    requested = referral_requested(from_site_id="hu_phru_nai", from_position=PHRU_NAI.position,
                                   facility_id=facility, resource_id=boat)
    report = incident_reported(position=PHRU_NAI.position, site_id="hu_phru_nai")
    dispatched = [resource_dispatched(resource_id=boat, at=T0)] if boat else []
    return requested, incident_from(report, *dispatched, requested, *extra)


def test_a_boat_waiting_at_the_health_unit_arrives_after_the_route_alone() -> None:
    requested, incident = referral_on()
    fleet = {"KY": resource("KY", PHRU_NAI, speed=30, status="assigned", incident_id=INCIDENT)}
    prediction = predict_arrival(requested, incident, fleet, T0, PLACES, PARAMS)
    assert prediction is not None
    route = referral_route(PHRU_NAI, VACHIRA, 30, PARAMS, places=PLACES)
    # launch 10 + sea to the Rassada landing + landing 10 + 15 min road
    assert prediction.arrival_at == T0 + route.total
    assert prediction.pickup == timedelta(0) and not prediction.aboard


def test_a_boat_still_at_its_base_must_launch_and_fetch_the_patient_first() -> None:
    requested, incident = referral_on()
    fleet = {"KY": resource("KY", KO_YAO_NOI, speed=25, status="assigned", incident_id=INCIDENT)}
    prediction = predict_arrival(requested, incident, fleet, T0, PLACES, PARAMS)
    assert prediction is not None
    fetch = minutes(10) + sea_leg(distance_km(KO_YAO_NOI, PHRU_NAI), 25)
    assert prediction.pickup == fetch
    route = referral_route(PHRU_NAI, VACHIRA, 25, PARAMS, places=PLACES)
    assert prediction.arrival_at == T0 + fetch + route.total


def test_a_boat_under_way_to_the_patient_has_launched_already() -> None:
    requested, incident = referral_on(milestone_recorded(resource_id="KY", milestone="en_route", at=T0))
    fleet = {"KY": resource("KY", KO_YAO_NOI, speed=25, status="assigned", incident_id=INCIDENT)}
    prediction = predict_arrival(requested, incident, fleet, T0, PLACES, PARAMS)
    assert prediction is not None and prediction.pickup == sea_leg(distance_km(KO_YAO_NOI, PHRU_NAI), 25)


def test_with_the_patient_aboard_the_remaining_legs_run_from_the_boats_last_position() -> None:
    # given the boat left the scene at T0 + 5 and reported a position mid-crossing at T0 + 20
    mid_sea = Position(lat=7.93, lon=98.5)
    left = milestone_recorded(resource_id="KY", milestone="left_scene", at=T0 + minutes(5))
    requested, incident = referral_on(left)
    moved = resource("KY", mid_sea, speed=25, status="assigned", incident_id=INCIDENT)
    fleet = {"KY": Resource(**{**moved.__dict__, "position_at": T0 + minutes(20)})}
    prediction = predict_arrival(requested, incident, fleet, T0 + minutes(20), PLACES, PARAMS)
    assert prediction is not None and prediction.aboard
    route = referral_route(mid_sea, VACHIRA, 25, PARAMS, places=PLACES)
    # no launch: the boat cast off when it left the scene
    assert prediction.arrival_at == T0 + minutes(20) + route.total - route.launch


def test_a_silent_boat_with_the_patient_aboard_keeps_its_estimate() -> None:
    # given the boat left the scene at T0 + 5 and has not been heard of since
    left = milestone_recorded(resource_id="KY", milestone="left_scene", at=T0 + minutes(5))
    requested, incident = referral_on(left)
    fleet = {"KY": resource("KY", PHRU_NAI, speed=25, status="assigned", incident_id=INCIDENT)}
    # when the arrival is predicted ten and forty minutes on
    early, late = (predict_arrival(requested, incident, fleet, T0 + minutes(n), PLACES, PARAMS)
                   for n in (10, 40))
    # then both say the same: it is taken to be keeping its speed, not to be waiting where last seen
    route = referral_route(PHRU_NAI, VACHIRA, 25, PARAMS, places=PLACES)
    assert early is not None and late is not None
    assert early.arrival_at == late.arrival_at == T0 + minutes(5) + route.total - route.launch


def test_a_boat_that_has_not_set_off_loses_the_time_it_waits() -> None:
    requested, incident = referral_on()
    fleet = {"KY": resource("KY", KO_YAO_NOI, speed=25, status="assigned", incident_id=INCIDENT)}
    first, later = (predict_arrival(requested, incident, fleet, T0 + minutes(n), PLACES, PARAMS)
                    for n in (0, 10))
    assert first is not None and later is not None
    assert later.arrival_at - first.arrival_at == minutes(10)


def test_a_boat_overdue_by_its_estimate_arrives_now_at_the_soonest() -> None:
    left = milestone_recorded(resource_id="KY", milestone="left_scene", at=T0)
    requested, incident = referral_on(left)
    fleet = {"KY": resource("KY", PHRU_NAI, speed=25, status="assigned", incident_id=INCIDENT)}
    prediction = predict_arrival(requested, incident, fleet, T0 + minutes(180), PLACES, PARAMS)
    assert prediction is not None and prediction.arrival_at == T0 + minutes(180)


def test_a_boat_too_far_away_predicts_a_late_arrival() -> None:
    # a 15-knot boat at Thap Lamu, across the province, for a Koh Yao referral with an 80-minute guarantee
    requested, incident = referral_on()
    fleet = {"KY": resource("KY", THAP_LAMU, speed=15, status="assigned", incident_id=INCIDENT)}
    prediction = predict_arrival(requested, incident, fleet, T0, PLACES, PARAMS)
    assert prediction is not None and requested.deadline_at is not None
    assert prediction.arrival_at - requested.deadline_at > timedelta(hours=2)


def test_advice_names_a_faster_boat_and_a_nearer_hospital_when_they_would_arrive_sooner() -> None:
    requested, incident = referral_on()
    fleet = {
        "KY": resource("KY", THAP_LAMU, speed=15, status="assigned", incident_id=INCIDENT),
        "FAST": resource("FAST", PHRU_NAI, speed=30),
        "BROKEN": resource("BROKEN", PHRU_NAI, speed=40, status="out_of_service"),
    }
    prediction = predict_arrival(requested, incident, fleet, T0, PLACES, PARAMS)
    assert prediction is not None
    advice = advise(prediction, fleet.values(), PLACES, PARAMS)
    fast = T0 + referral_route(PHRU_NAI, VACHIRA, 30, PARAMS, places=PLACES).total
    assert advice.startswith(f"send a faster boat: FAST name (30 kn) ETA {fast + timedelta(hours=7):%H:%M} ICT; ")
    assert "nearer facility: Koh Yao Chaipattana Hospital (Ko Yao Noi) (level 3) ETA " in advice
    assert "BROKEN" not in advice


def test_no_advice_when_nothing_would_arrive_sooner() -> None:
    requested, incident = referral_on(facility="hosp_koh_yao_chaipattana")
    fleet = {"KY": resource("KY", PHRU_NAI, speed=30, status="assigned", incident_id=INCIDENT)}
    prediction = predict_arrival(requested, incident, fleet, T0, PLACES, PARAMS)
    assert prediction is not None
    assert advise(prediction, fleet.values(), PLACES, PARAMS) == ""


def test_without_a_boat_the_soonest_available_one_is_the_prediction_and_the_advice() -> None:
    requested, incident = referral_on(boat=None)
    fleet = {"NEAR": resource("NEAR", KO_YAO_NOI, speed=25), "FAR": resource("FAR", THAP_LAMU, speed=30)}
    prediction = predict_arrival(requested, incident, fleet, T0, PLACES, PARAMS)
    assert prediction is not None and prediction.boat is not None
    assert (prediction.boat.id, prediction.assigned) == ("NEAR", False)
    advice = advise(prediction, fleet.values(), PLACES, PARAMS)
    assert advice.startswith("send a boat: NEAR name (25 kn) ETA ")


def test_without_any_boat_there_is_no_prediction_across_the_sea() -> None:
    requested, incident = referral_on(boat=None)
    assert predict_arrival(requested, incident, {}, T0, PLACES, PARAMS) is None


def test_a_referral_on_the_same_landmass_is_predicted_by_road() -> None:
    # from Khao Lak's Nang Thong beach to Takua Pa Hospital: both on the mainland
    beach = PLACES.get("beach_nang_thong")
    requested = referral_requested(from_site_id=beach.id, from_position=beach.position,
                                   facility_id="hosp_takua_pa")
    report = incident_reported(position=beach.position, site_id=beach.id, zone="khao_lak_coast")
    incident = incident_from(report, requested)
    prediction = predict_arrival(requested, incident, {}, T0, PLACES, PARAMS)
    assert prediction is not None and prediction.boat is None and prediction.route.road_only
    assert prediction.arrival_at == T0 + minutes(distance_km(beach, PLACES.get("hosp_takua_pa")) * 1.25)
