"""The referral network: sea legs around land, road legs, and the fastest route from a patient to a facility.

The coast the tests check against is GSHHG at full resolution as the installed package ships it, not the
network's own simplified copy, so a leg that clips an island fails here even if the graph believes it clear.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
import shapely

from dispatch.domain.catalogue import Position
from dispatch.domain.geo import sea as sea_module
from dispatch.domain.geo.calibration import calibrate, load_crossings
from dispatch.domain.geo.eta import EtaParams, km_to_nmi
from dispatch.domain.geo.gshhg import land_in
from dispatch.domain.geo.network import Network, Route, load_network
from dispatch.domain.geo.places import Place, load_places
from dispatch.domain.geo.sea import haversine_km

PLACES = load_places()
NETWORK = load_network(PLACES)
TIMINGS = EtaParams(boat_launch_minutes=10, boat_landing_minutes=5, road_speed_kmh=60, road_detour_factor=1.25)
KOH_YAO = {"ko_yao_noi", "ko_yao_yai"}


def place(place_id: str) -> Place:
    return PLACES.get(place_id)


def routes(origin: Place | Position, boat_at: Place | Position | None, speed: float = 25) -> dict[str, Route]:
    return NETWORK.routes_from(origin, PLACES.facilities(), speed_knots=speed, boat_at=boat_at, timings=TIMINGS)


@pytest.fixture(scope="module")
def land() -> shapely.Geometry:
    """GSHHG full-resolution land around the whole network, prepared for many crossing tests."""
    coast = land_in((97.3, 7.5, 99.3, 9.8))
    shapely.prepare(coast)
    return coast


def crosses_land(land: shapely.Geometry, points: list[tuple[float, float]]) -> bool:
    line = shapely.LineString([(lon, lat) for lat, lon in points])
    return bool(land.intersects(line))


# --- sea legs around land ---------------------------------------------------------------------------------


def test_no_sea_leg_between_landings_crosses_land(land: shapely.Geometry) -> None:
    sea = NETWORK.sea
    crossing = [
        (a.id, b.id)
        for (i, a), (j, b) in itertools.combinations(enumerate(NETWORK.landings), 2)
        if crosses_land(land, sea.path_lat_lon(i, j))
    ]
    assert crossing == []


def test_the_coast_the_graph_keeps_off_holds_all_of_the_land(land: shapely.Geometry) -> None:
    # so a line that stays off the graph's coast stays off GSHHG's land
    sea = NETWORK.sea
    land_km = shapely.transform(land, lambda lon_lat: sea.plane.xy_many(lon_lat[:, 1], lon_lat[:, 0]))
    uncovered = shapely.difference(land_km, shapely.union_all(sea.obstacles))
    assert uncovered.area < 0.001  # km², rounding slivers at most


def test_a_line_is_blocked_exactly_when_it_crosses_the_coast() -> None:
    sea = NETWORK.sea
    coast = shapely.union_all(sea.obstacles)
    shapely.prepare(coast)
    rng = np.random.default_rng(3)
    west, south, east, north = sea.area
    starts = rng.uniform((west, south), (east, north), (3000, 2))
    ends = np.concatenate((rng.uniform((west, south), (east, north), (1500, 2)),
                           starts[1500:] + rng.normal(0, 3, (1500, 2))))
    at_sea = ~shapely.contains_xy(coast, starts[:, 0], starts[:, 1]) & ~shapely.contains_xy(coast, *ends.T)
    starts, ends = starts[at_sea][:600], ends[at_sea][:600]
    crossing = [coast.intersects(shapely.LineString([a, b])) for a, b in zip(starts, ends, strict=True)]
    assert sea.coast.blocked(starts, ends).tolist() == crossing


def test_every_landing_pair_is_joined_by_water() -> None:
    for i, _landing in enumerate(NETWORK.landings):
        assert all(km is not None for j, km in enumerate(NETWORK.sea.landing_row(i)) if j != i)


def test_a_landing_is_reached_at_the_water_next_to_it() -> None:
    # the stretch from a landing's coordinate to open water is the pier's own way out; it stays short
    for landing, snap in zip(NETWORK.landings, NETWORK.sea.snap_km, strict=True):
        assert snap < 2.5, landing.id


def test_ko_yao_yai_and_ko_yao_noi_are_a_short_channel_crossing_apart() -> None:
    channel = NETWORK.sea_km(place("pier_chong_lad"), place("pier_manoh"))
    assert channel is not None and channel < 5
    assert haversine_km(place("isl_ko_yao_yai").lat, place("isl_ko_yao_yai").lon,
                        place("isl_ko_yao_noi").lat, place("isl_ko_yao_noi").lon) > 12


def test_every_koh_yao_island_landing_is_a_pier_at_the_shore() -> None:
    island_landings = [p for p in NETWORK.landings if p.landmass in KOH_YAO]
    assert {p.landmass for p in island_landings} == KOH_YAO
    assert all(p.kind == "pier" for p in island_landings)
    assert {p.id for p in island_landings} >= {"pier_manoh", "pier_tha_khao", "pier_chong_lad", "pier_klong_hia",
                                                 "pier_loh_jark"}


def test_the_sea_from_similan_to_phang_nga_bay_goes_round_phuket(land: shapely.Geometry) -> None:
    # the straight line from Ko Miang to Bang Rong runs over Phuket; the water path (through the Pak Phra
    # strait north of Phuket, the shortest way) is longer
    similan, bang_rong = place("sim_hq_ko_miang"), place("pier_bang_rong")
    assert crosses_land(land, [(similan.lat, similan.lon), (bang_rong.lat, bang_rong.lon)])
    water = NETWORK.sea_km(similan, bang_rong)
    assert water is not None and water > 1.05 * haversine_km(similan.lat, similan.lon, bang_rong.lat, bang_rong.lon)


def test_two_points_at_sea_with_an_island_between_are_further_apart_by_water() -> None:
    west_of_phuket, east_of_phuket = Position(lat=7.95, lon=98.24), Position(lat=7.95, lon=98.48)
    water = NETWORK.sea_km(west_of_phuket, east_of_phuket)
    straight = haversine_km(7.95, 98.24, 7.95, 98.48)
    assert water is not None and water > straight + 10


def test_two_points_in_open_water_are_a_straight_line_apart() -> None:
    a, b = Position(lat=8.6, lon=97.9), Position(lat=8.4, lon=98.0)
    assert NETWORK.sea_km(a, b) == pytest.approx(haversine_km(8.6, 97.9, 8.4, 98.0))


def test_joining_the_graph_through_a_few_corners_costs_little(monkeypatch: pytest.MonkeyPatch) -> None:
    # given points at sea all over the area, measured both through a few corners and through every corner
    rng = np.random.default_rng(7)
    points = [Position(lat=float(lat), lon=float(lon)) for lat, lon in
              zip(rng.uniform(7.7, 9.5, 60), rng.uniform(97.6, 98.9, 60), strict=True)]
    quick_sea = sea_module.load_sea(NETWORK.landings)
    at_sea = [p for p in points if (w := quick_sea.snap(p)) is not None and w.km == 0]
    quick = [quick_sea.to_landings(p) for p in at_sea]
    monkeypatch.setattr(sea_module, "NEAREST_CORNERS", 10**6)
    every_sea = sea_module.load_sea(NETWORK.landings)
    exact = [every_sea.to_landings(p) for p in at_sea]
    # then the shortcut is never shorter (but for rounding) and stays within 7% of the full search
    # (6.4% the worst seen on 300 points)
    for fast, full in zip(quick, exact, strict=True):
        for q, e in zip(fast, full, strict=True):
            assert (q is None) == (e is None)
            if q is not None and e is not None:
                assert e * 0.998 - 0.02 <= q <= e * 1.07 + 0.2


# --- routes ---------------------------------------------------------------------------------------------


def test_a_route_from_phru_nai_to_ko_yao_noi_crosses_the_channel_not_the_island_centroids() -> None:
    route = NETWORK.fastest_route(place("hu_phru_nai"), place("hosp_koh_yao_chaipattana"), speed_knots=25,
                                  boat_at=place("pier_chong_lad"), timings=TIMINGS)
    assert route is not None
    assert route.sea_km < 6
    assert route.legs[0].mode == "road"


def test_legs_add_up_to_the_total_and_pickup_legs_to_the_pickup() -> None:
    for origin, boat in [(place("hu_phru_nai"), place("pier_bang_rong")), (place("sim_eel_garden"), None),
                         (place("sur_richelieu_rock"), place("pier_khura_buri"))]:
        for route in routes(origin, boat).values():
            assert math.isclose(sum(leg.minutes for leg in route.legs), route.total_minutes, abs_tol=1e-9)
            assert math.isclose(sum(leg.minutes for leg in route.pickup_legs), route.pickup_minutes, abs_tol=1e-9)


def test_every_leg_says_how_accurate_it_is_and_where_it_comes_from() -> None:
    for route in routes(place("hu_phru_nai"), place("pier_loh_jark")).values():
        for leg in route.legs:
            assert leg.accuracy in {"sourced", "assumption", "estimate", "computed"}
            assert leg.source


def test_routes_from_agrees_with_fastest_route_for_every_facility() -> None:
    cases = [(place("hu_phru_nai"), place("pier_bang_rong")), (place("sim_shark_fin_reef"), place("pier_thap_lamu")),
             (Position(lat=8.2, lon=98.45), None), (place("beach_nang_thong"), place("pier_thap_lamu"))]
    for origin, boat in cases:
        everything = routes(origin, boat)
        for facility in PLACES.facilities():
            one = NETWORK.fastest_route(origin, facility, speed_knots=25, boat_at=boat, timings=TIMINGS)
            assert one == everything.get(facility.id)


def test_the_boat_trip_to_fetch_the_patient_counts_in_the_total() -> None:
    origin, hospital = place("hu_phru_nai"), place("hosp_vachira_phuket")
    near = NETWORK.fastest_route(origin, hospital, speed_knots=25, boat_at=place("pier_loh_jark"), timings=TIMINGS)
    far = NETWORK.fastest_route(origin, hospital, speed_knots=25, boat_at=place("pier_thap_lamu"), timings=TIMINGS)
    assert near is not None and far is not None
    assert far.pickup_minutes > near.pickup_minutes + 60
    assert far.total_minutes > near.total_minutes + 30


def test_the_patient_waits_at_the_pier_for_a_boat_that_is_still_coming() -> None:
    route = NETWORK.fastest_route(place("hu_phru_nai"), place("hosp_vachira_phuket"), speed_knots=25,
                                  boat_at=place("pier_khura_buri"), timings=TIMINGS)
    assert route is not None
    waits = [leg for leg in route.legs if leg.mode == "transfer" and leg.to_name.startswith("wait")]
    assert len(waits) == 1 and waits[0].minutes > 60


def test_a_faster_boat_delivers_sooner() -> None:
    slow = routes(place("hu_phru_nai"), place("pier_loh_jark"), speed=9)["hosp_vachira_phuket"]
    fast = routes(place("hu_phru_nai"), place("pier_loh_jark"), speed=30)["hosp_vachira_phuket"]
    assert fast.total_minutes < slow.total_minutes


def test_a_facility_on_the_same_landmass_is_reached_by_road_only() -> None:
    route = routes(place("beach_nang_thong"), place("pier_thap_lamu"))["hosp_takua_pa"]
    assert route.road_only and route.pickup_minutes == 0


def test_a_patient_at_sea_is_fetched_where_they_are() -> None:
    route = routes(place("sim_eel_garden"), place("sim_hq_ko_miang"))["hosp_takua_pa"]
    assert route.pickup_legs[0].mode == "transfer" and route.pickup_legs[-1].to_id == "sim_eel_garden"
    assert route.landing_id == "pier_thap_lamu"


def test_a_carrier_already_with_the_patient_only_launches() -> None:
    route = routes(place("sim_eel_garden"), None)["hosp_takua_pa"]
    assert route.pickup_minutes == TIMINGS.boat_launch_minutes


def test_the_sea_leg_takes_the_water_distance_at_the_carriers_speed() -> None:
    route = routes(place("sim_eel_garden"), None, speed=20)["hosp_takua_pa"]
    sea = next(leg for leg in route.legs if leg.mode == "sea")
    assert sea.minutes == pytest.approx(km_to_nmi(sea.km) / 20 * 60)


def test_launch_and_landing_times_come_from_the_timings() -> None:
    slower = replace(TIMINGS, boat_landing_minutes=TIMINGS.boat_landing_minutes + 7)
    before = routes(place("sim_eel_garden"), None)["hosp_takua_pa"]
    after = NETWORK.fastest_route(place("sim_eel_garden"), place("hosp_takua_pa"), speed_knots=25, boat_at=None,
                                  timings=slower)
    assert after is not None and after.total_minutes == pytest.approx(before.total_minutes + 14)  # aboard, ashore


# --- nothing to route ---------------------------------------------------------------------------------------


def test_a_boat_speed_out_of_bounds_leaves_only_road_routes() -> None:
    assert routes(place("hu_phru_nai"), place("pier_loh_jark"), speed=0.0) == {
        "hu_phru_nai": routes(place("hu_phru_nai"), place("pier_loh_jark"))["hu_phru_nai"]}
    assert routes(place("sim_eel_garden"), None, speed=500) == {}


def test_a_place_with_no_route_gets_none_not_infinity() -> None:
    atlantis = replace_place(place("hosp_krabi"), id="hosp_atlantis", landmass="atlantis")
    assert NETWORK.fastest_route(place("hu_phru_nai"), atlantis, speed_knots=25, boat_at=None,
                                 timings=TIMINGS) is None


def test_an_origin_far_inland_or_off_the_map_has_no_route() -> None:
    assert routes(Position(lat=0.0, lon=0.0), None) == {}
    assert routes(Position(lat=8.0, lon=99.9), None) == {}  # inland, beyond the coast the network knows


def test_a_position_that_is_not_a_number_has_no_route() -> None:
    class Broken:
        lat, lon = math.nan, 98.5

    assert NETWORK.routes_from(Broken(), PLACES.facilities(), speed_knots=25, boat_at=None, timings=TIMINGS) == {}
    assert NETWORK.sea_km(Broken(), place("pier_manoh")) is None


def test_the_network_is_loaded_once() -> None:
    assert load_network(PLACES) is NETWORK and isinstance(NETWORK, Network)


def replace_place(base: Place, **changes: object) -> Place:
    import msgspec

    return msgspec.structs.replace(base, **changes)


# --- calibration --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("row", calibrate(NETWORK), ids=lambda row: row.crossing.id)
def test_each_published_crossing_is_predicted_within_its_stated_error(row: object) -> None:
    assert row.within, (row.crossing.id, row.predicted_minutes, row.crossing.published_minutes)  # type: ignore[attr-defined]


def test_a_crossing_given_its_own_error_says_why() -> None:
    for crossing in load_crossings().crossings:
        assert (crossing.tolerance_minutes is None) == (crossing.tolerance_why is None), crossing.id


def test_every_crossing_runs_between_landings_of_the_network() -> None:
    landings = {p.id for p in NETWORK.landings}
    for crossing in load_crossings().crossings:
        assert set(crossing.stops) <= landings, crossing.id
