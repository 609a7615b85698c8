"""Geography: distances, zones, levels of care, boat and referral ETAs, and the demo fleet.

Reference distances come from the reference README §4.3 (WGS84 geodesics, geographiclib).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from importlib.resources import files
from typing import Any

import pytest

from dispatch.domain.catalogue import Position
from dispatch.domain.errors import FacilityNotFound
from dispatch.domain.geo import (
    PLANNING_DEFAULTS,
    EtaParams,
    NoSeaRoute,
    NotAFacility,
    Place,
    PlacesDataError,
    UnknownPlace,
    boat_eta,
    distance_km,
    km_to_nmi,
    kmh_to_knots,
    knots_to_kmh,
    landmass_of,
    load_demo_fleet,
    load_places,
    nearest_place,
    nmi_to_km,
    referral_eta,
    referral_route,
    road_leg_minutes,
    sea_leg,
    sea_leg_minutes,
    zone_of,
)
from dispatch.domain.geo.places import parse_places
from dispatch.domain.vocabulary import RESOURCE_KINDS, ZONES

PLACES = load_places()
FLEET = load_demo_fleet()
PARAMS = EtaParams(boat_launch_minutes=10, boat_landing_minutes=5, road_speed_kmh=60, road_detour_factor=1.25)


def place(place_id: str) -> Place:
    return PLACES.get(place_id)


def in_minutes(duration: timedelta) -> float:
    return duration.total_seconds() / 60


def places_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(files("dispatch.domain.geo").joinpath("places.json").read_text("utf-8"))
    return document


# --- distances ----------------------------------------------------------------------------------------


def test_koh_yao_noi_is_about_33_km_from_vachira_phuket_in_a_straight_line() -> None:
    # given the Koh Yao Noi district seat and the region's tertiary hospital
    # when the geodesic distance is measured
    km = distance_km(place("isl_ko_yao_noi"), place("hosp_vachira_phuket"))
    # then it is the reference's 32.9 km
    assert km == pytest.approx(32.9, abs=0.5)


def test_thap_lamu_pier_is_about_64_km_from_the_similan_headquarters_on_ko_miang() -> None:
    km = distance_km(place("pier_thap_lamu"), place("sim_hq_ko_miang"))
    assert km == pytest.approx(64.3, abs=0.5)


@pytest.mark.parametrize(
    ("origin", "destination", "reference_km"),
    [
        ("pier_khura_buri", "sur_hq_chong_khad", 60.6),
        ("pier_bang_rong", "isl_ko_yao_noi", 20.9),
        ("sur_richelieu_rock", "sur_hq_chong_khad", 18.0),
        ("hu_phru_nai", "hosp_vachira_phuket", 23.6),
    ],
)
def test_distances_match_the_reference_table(origin: str, destination: str, reference_km: float) -> None:
    assert distance_km(place(origin), place(destination)) == pytest.approx(reference_km, abs=0.1)


def test_distance_works_on_bare_positions_as_well_as_places() -> None:
    position = Position(lat=place("isl_ko_yao_noi").lat, lon=place("isl_ko_yao_noi").lon)
    assert distance_km(position, place("hosp_vachira_phuket")) == distance_km(
        place("isl_ko_yao_noi"), place("hosp_vachira_phuket")
    )


def test_nearest_hospital_to_khao_lak_is_takua_pa() -> None:
    # given Nang Thong beach in Khao Lak; the reference calls Takua Pa the nearest government hospital
    nearest = nearest_place(place("beach_nang_thong").position, kinds=["hospital"])
    assert nearest.place.id == "hosp_takua_pa"
    assert nearest.distance_km == pytest.approx(26.1, abs=0.5)


def test_nearest_facility_on_koh_yao_yai_is_the_phru_nai_unit() -> None:
    nearest = nearest_place(Position(lat=7.96, lon=98.59), kinds=["hospital", "health_unit"])
    assert nearest.place.id == "hu_phru_nai"


# --- the data file --------------------------------------------------------------------------------------


# Piers the referral network added to the reference's sites (see network.json).
NETWORK_PIERS = {"pier_manoh", "pier_tha_khao", "pier_chong_lad", "pier_klong_hia", "pier_loh_jark", "pier_tha_len",
                 "pier_chao_fa", "pier_chalong"}


def test_the_project_keeps_all_34_reference_sites_plus_towns() -> None:
    sites = [p for p in PLACES if p.kind != "town" and p.id not in NETWORK_PIERS]
    assert len(sites) == 34
    assert {p.id for p in PLACES.by_kind("town")} >= {"town_phang_nga", "town_phuket", "town_krabi"}


def test_every_place_keeps_its_source_and_coordinate_quality_note() -> None:
    for each in PLACES:
        assert each.source.strip(), each.id
        assert each.notes.startswith("[coords: "), each.id
        assert each.quality_note, each.id


def test_approximate_points_are_tagged_as_such() -> None:
    assert place("hosp_koh_yao_chaipattana").quality == "APPROX"
    assert place("sim_ko_ba_ngu_9").quality == "DERIVED"
    assert place("sur_richelieu_rock").quality == "high"
    assert place("pier_bang_rong").quality == "low"


def test_an_unknown_place_id_is_named_in_the_error() -> None:
    with pytest.raises(UnknownPlace, match="pier_atlantis"):
        PLACES.get("pier_atlantis")


def test_a_referral_destination_must_be_a_facility() -> None:
    assert PLACES.facility("hosp_krabi").kind == "hospital"
    with pytest.raises(FacilityNotFound, match="pier_bang_rong"):
        PLACES.facility("pier_bang_rong")


def test_a_landing_via_a_place_that_does_not_exist_is_refused_at_load() -> None:
    document = places_document()
    vachira = next(p for p in document["places"] if p["id"] == "hosp_vachira_phuket")
    vachira["landings"][0]["via_id"] = "pier_nowhere"
    with pytest.raises(PlacesDataError, match="pier_nowhere"):
        parse_places(json.dumps(document))


def test_a_duplicate_place_id_is_refused_at_load() -> None:
    document = places_document()
    document["places"].append(document["places"][0])
    with pytest.raises(PlacesDataError, match="duplicate id"):
        parse_places(json.dumps(document))


# --- zones and landmasses -----------------------------------------------------------------------------


@pytest.mark.parametrize("each", PLACES.all, ids=lambda p: p.id)
def test_every_place_lies_in_the_zone_it_is_filed_under(each: Place) -> None:
    assert zone_of(each.position) == each.zone


@pytest.mark.parametrize("each", PLACES.all, ids=lambda p: p.id)
def test_every_place_stands_on_the_landmass_it_is_filed_under(each: Place) -> None:
    assert landmass_of(each.position) == each.landmass


@pytest.mark.parametrize(
    ("place_id", "zone"),
    [
        ("sim_ko_bon", "similan"),
        ("sim_ko_tachai", "similan"),
        ("sur_richelieu_rock", "surin"),
        ("isl_ko_phra_thong", "khao_lak_coast"),
        ("pier_thap_lamu", "khao_lak_coast"),
        ("hu_phru_nai", "koh_yao"),
        ("pier_bang_rong", "other"),
        ("hosp_vachira_phuket", "other"),
        ("hosp_krabi", "other"),
        ("town_phang_nga", "other"),
    ],
)
def test_zones_follow_the_parks_the_coast_and_the_islands(place_id: str, zone: str) -> None:
    assert place(place_id).zone == zone


def test_open_sea_west_of_similan_is_other() -> None:
    assert zone_of(Position(lat=8.6, lon=97.2)) == "other"


def test_the_crossing_between_thap_lamu_and_similan_is_other_midway() -> None:
    assert zone_of(Position(lat=8.57, lon=98.0)) == "other"


def test_zone_areas_never_overlap() -> None:
    # given a 0.01-degree grid over the whole operational area
    for lat_step in range(180):
        for lon_step in range(170):
            point = Position(lat=7.8 + lat_step * 0.01, lon=97.4 + lon_step * 0.01)
            # then no point belongs to two zones
            holders = [area.zone for area in PLACES.zone_areas if area.contains(point)]
            assert len(holders) <= 1, (point, holders)


def test_every_zone_area_names_a_zone_of_the_vocabulary() -> None:
    assert {area.zone for area in PLACES.zone_areas} == set(ZONES) - {"other"}


def test_phuket_counts_as_mainland_because_it_is_bridged() -> None:
    assert place("hosp_vachira_phuket").landmass == place("hosp_takua_pa").landmass == "mainland"
    assert landmass_of(Position(lat=8.4, lon=97.9)) is None  # open sea


# --- levels of care ----------------------------------------------------------------------------------


def test_every_facility_has_a_level_of_care_on_the_scale_and_says_why() -> None:
    facilities = PLACES.facilities()
    assert {f.kind for f in facilities} == {"hospital", "health_unit"}
    for facility in facilities:
        assert facility.level_of_care in PLACES.care_levels, facility.id
        assert facility.level_of_care_note, facility.id


def test_vachira_phuket_is_the_only_regional_tertiary_hospital() -> None:
    top = max(PLACES.care_levels)
    assert [f.id for f in PLACES.facilities(min_level_of_care=top)] == ["hosp_vachira_phuket"]


def test_phru_nai_ranks_above_a_plain_health_unit_and_below_the_district_hospital() -> None:
    phru_nai = place("hu_phru_nai").level_of_care or 0
    district = place("hosp_koh_yao_chaipattana").level_of_care or 0
    assert 1 < phru_nai < district


def test_unsourced_levels_of_care_are_marked_as_assumptions() -> None:
    for facility_id in ("hosp_phang_nga", "hosp_krabi", "hosp_takua_pa", "hosp_bangkok_phuket"):
        assert "ASSUMPTION" in (place(facility_id).level_of_care_note or ""), facility_id


def test_vachira_phuket_is_reached_by_sea_through_bang_rong_with_an_assumed_30_minute_road_leg() -> None:
    bang_rong = next(lg for lg in place("hosp_vachira_phuket").landings if lg.via_id == "pier_bang_rong")
    assert bang_rong.road_minutes == 30
    assert bang_rong.assumption


# --- units and legs ----------------------------------------------------------------------------------


def test_one_knot_is_one_nautical_mile_of_1_852_km_per_hour() -> None:
    assert knots_to_kmh(1) == pytest.approx(1.852)
    assert kmh_to_knots(55.56) == pytest.approx(30)
    assert km_to_nmi(64.3) == pytest.approx(34.7, abs=0.05)
    assert nmi_to_km(km_to_nmi(20.9)) == pytest.approx(20.9)


def test_sea_leg_of_20_9_km_at_30_knots_takes_22_6_minutes() -> None:
    assert sea_leg_minutes(20.9, 30) == pytest.approx(22.6, abs=0.05)
    assert sea_leg(20.9, 30) == timedelta(minutes=sea_leg_minutes(20.9, 30))


def test_sea_leg_matches_the_reference_crossing_table() -> None:
    # Thap Lamu to Ko Miang: 64.3 km is 208 / 104 / 69 min at 10 / 20 / 30 kn (README §4.3)
    assert [round(sea_leg_minutes(64.3, kn)) for kn in (10, 20, 30)] == [208, 104, 69]


@pytest.mark.parametrize("speed", [0.0, -5.0])
def test_a_boat_without_positive_speed_gets_no_eta(speed: float) -> None:
    with pytest.raises(ValueError, match="speed_knots must be positive"):
        sea_leg_minutes(10, speed)


def test_boat_eta_is_launch_plus_transit_plus_landing() -> None:
    # given Bang Rong pier to the Koh Yao Noi district seat, 20.9 km, at 30 kn
    origin, destination = place("pier_bang_rong"), place("isl_ko_yao_noi")
    # when the boat needs 10 min to launch and 5 min to land
    eta = boat_eta(origin, destination, speed_knots=30, launch_minutes=10, landing_minutes=5)
    # then the ETA is 10 + 22.6 + 5 minutes
    assert in_minutes(eta) == pytest.approx(10 + 22.6 + 5, abs=0.1)


def test_road_leg_stretches_the_straight_line_by_the_detour_factor() -> None:
    assert road_leg_minutes(48, road_speed_kmh=60, road_detour_factor=1.25) == pytest.approx(60)
    with pytest.raises(ValueError, match="detour"):
        road_leg_minutes(10, road_speed_kmh=60, road_detour_factor=0.9)


# --- referrals ----------------------------------------------------------------------------------------


def test_referral_from_koh_yao_noi_to_vachira_is_sea_to_bang_rong_then_landing_then_road() -> None:
    # given a patient at the Koh Yao Noi district seat and a 30-knot ambulance boat
    origin = place("isl_ko_yao_noi")
    # when the referral to Vachira Phuket is estimated
    route = referral_route(origin, place("hosp_vachira_phuket"), 30, PARAMS)
    # then it lands at Bang Rong: 10 launch + 22.6 sea + 5 landing + 30 road
    assert route.via_id == "pier_bang_rong"
    assert route.sea_km == pytest.approx(20.9, abs=0.1)
    assert in_minutes(route.total) == pytest.approx(10 + 22.6 + 5 + 30, abs=0.1)
    assert route.road_assumed


def test_referral_eta_is_the_total_of_the_route() -> None:
    origin, facility = place("isl_ko_yao_noi"), place("hosp_vachira_phuket")
    assert referral_eta(origin, facility, 30, PARAMS) == referral_route(origin, facility, 30, PARAMS).total


def test_a_public_speedboat_pace_cannot_keep_the_koh_yao_80_minute_guarantee_to_vachira() -> None:
    # the reference: ~15 kn public speedboat + 25-35 min road leaves no margin before any delay
    eta = referral_eta(place("isl_ko_yao_noi"), place("hosp_vachira_phuket"), 15, PLANNING_DEFAULTS)
    assert eta > timedelta(minutes=80)


def test_referral_on_the_same_island_goes_by_road_only() -> None:
    # given a patient in Ko Yao Noi town and the island's own hospital
    route = referral_route(place("isl_ko_yao_noi"), place("hosp_koh_yao_chaipattana"), 30, PARAMS)
    # then no boat is involved
    assert route.road_only
    assert route.launch == route.sea == route.landing == timedelta(0)
    assert in_minutes(route.road) == pytest.approx(road_leg_minutes(route.road_km or 0, 60, 1.25))


def test_referral_across_the_bridge_to_phuket_goes_by_road_from_the_mainland() -> None:
    route = referral_route(place("beach_nang_thong"), place("hosp_vachira_phuket"), 30, PARAMS)
    assert route.road_only


def test_referral_between_the_two_koh_yao_islands_crosses_by_boat() -> None:
    route = referral_route(place("hu_phru_nai"), place("hosp_koh_yao_chaipattana"), 25, PARAMS)
    assert route.via_id == "isl_ko_yao_noi"
    assert route.sea > timedelta(0)


def test_referral_takes_the_fastest_landing_that_serves_the_origin() -> None:
    # given Vachira's two landings, Bang Rong and Rassada, and a patient at Phru Nai (south Ko Yao Yai)
    origin, vachira = place("hu_phru_nai"), place("hosp_vachira_phuket")
    chosen = referral_route(origin, vachira, 25, PARAMS)
    # then no landing would have been faster
    for landing in vachira.landings:
        by_this_landing = (
            PARAMS.boat_launch_minutes
            + sea_leg_minutes(distance_km(origin, place(landing.via_id)), 25)
            + PARAMS.boat_landing_minutes
            + landing.road_minutes
        )
        assert in_minutes(chosen.total) <= by_this_landing + 1e-9


def test_a_bare_position_on_an_island_is_routed_like_a_place_there() -> None:
    from_position = referral_route(place("isl_ko_yao_noi").position, place("hosp_vachira_phuket"), 30, PARAMS)
    from_place = referral_route(place("isl_ko_yao_noi"), place("hosp_vachira_phuket"), 30, PARAMS)
    assert from_position == from_place


def test_a_boat_already_under_way_has_no_launch_delay() -> None:
    under_way = replace(PARAMS, boat_launch_minutes=0)
    origin, facility = place("isl_ko_yao_noi"), place("hosp_vachira_phuket")
    gap = referral_eta(origin, facility, 30, PARAMS) - referral_eta(origin, facility, 30, under_way)
    assert gap == timedelta(minutes=10)


def test_no_sea_route_to_a_hospital_without_a_located_landing() -> None:
    with pytest.raises(NoSeaRoute, match="hosp_phang_nga"):
        referral_route(place("isl_ko_yao_noi"), place("hosp_phang_nga"), 30, PARAMS)


def test_no_straight_line_over_land_from_similan_to_a_koh_yao_landing() -> None:
    with pytest.raises(NoSeaRoute, match="zone similan"):
        referral_route(place("sim_hq_ko_miang"), place("hosp_koh_yao_chaipattana"), 30, PARAMS)


def test_similan_patients_land_at_thap_lamu_for_takua_pa() -> None:
    route = referral_route(place("sim_hq_ko_miang"), place("hosp_takua_pa"), 30, PARAMS)
    assert route.via_id == "pier_thap_lamu"
    assert route.sea_km == pytest.approx(64.3, abs=0.5)


def test_a_pier_is_not_a_referral_destination() -> None:
    with pytest.raises(NotAFacility, match="pier_rassada"):
        referral_route(place("isl_ko_yao_noi"), place("pier_rassada"), 30, PARAMS)


# --- demo fleet ---------------------------------------------------------------------------------------


def test_demo_fleet_resources_all_have_valid_kinds_and_unique_ids() -> None:
    assert {r.kind for r in FLEET} == set(RESOURCE_KINDS)
    assert len({r.id for r in FLEET}) == len(FLEET)


def test_demo_boats_have_speeds_and_say_where_the_speed_comes_from() -> None:
    boats = [r for r in FLEET if r.kind == "boat"]
    assert len(boats) >= 5
    for boat in boats:
        assert boat.speed_knots is not None and boat.speed_knots > 0, boat.id
        assert "§4.2" in (boat.speed_basis or ""), boat.id
    assert all(r.speed_knots is None for r in FLEET if r.kind != "boat")


def test_demo_resources_are_based_at_places_in_the_data_and_stand_there() -> None:
    for resource in FLEET:
        home = place(resource.home_site_id)
        assert (resource.lat, resource.lon) == (home.lat, home.lon), resource.id


def test_demo_fleet_covers_every_operational_zone_except_other() -> None:
    assert {zone_of(r.position) for r in FLEET} == set(ZONES) - {"other"}


def test_the_demo_fleet_is_labelled_as_demo_data() -> None:
    about = json.loads(files("dispatch.domain.geo").joinpath("demo_fleet.json").read_text("utf-8"))["_about"]
    assert "DEMO" in about["title"] and "NOT real" in about["status"]
