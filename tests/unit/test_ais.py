"""The live sea picture's rules, without a server: which fixes become events, what a beacon means, how a line of
NMEA is read (real captures, tests/data/ais/), how far a boat is carried forward and when a position is stale."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from dispatch.adapters.ais.sentences import Assembler, Decoded, Rejected, SafetyText, VesselFix, VesselStatic
from dispatch.domain.catalogue import (
    BeaconConfirmed,
    BeaconDetected,
    BeaconDismissed,
    IncidentClosed,
    IncidentReported,
    Position,
    ResourceMmsiSet,
    ResourcePositionReported,
    decode_data,
)
from dispatch.domain.commands import (
    SYSTEM,
    ConfirmBeacon,
    DismissBeacon,
    PositionThrottle,
    ReportBeacon,
    SetResourceMmsi,
)
from dispatch.domain.decisions import incident as incident_rules
from dispatch.domain.decisions import resource as resource_rules
from dispatch.domain.decisions.beacon import beacon_kind
from dispatch.domain.decisions.tracking import worth_recording
from dispatch.domain.errors import InvalidInput, NotABeaconIncident, NotCrewOfResource, NotPermitted
from dispatch.domain.geo.motion import dead_reckoned, is_stale, metres_between
from tests.builders import (
    BOAT,
    HEALTH_UNIT,
    NOW,
    PIER,
    T0,
    available_resource,
    incident_from,
    incident_reported,
    lifeguard,
    minutes,
    operator,
    report_resource_position,
    resource_from,
    resource_position_reported,
    resource_registered,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "ais"
THROTTLE = PositionThrottle(min_move_m=100, min_interval_s=30, heartbeat_s=300, speed_change_knots=3)
OFF_SIMILAN = Position(lat=8.6512, lon=97.6421)
SART = "970012345"


def metres_north(of: Position, metres: float) -> Position:
    return Position(lat=of.lat + metres / 111_195, lon=of.lon)


def tracked(**overrides: object) -> object:
    """BOAT whose last position came from its transponder at T0 + 10 min, moored."""
    return resource_from(resource_registered(), resource_position_reported(source="ais", sog_knots=0.0, **overrides))


# --- which fixes become events ---------------------------------------------------------------------------


def test_a_trackers_first_fix_and_its_first_after_an_operators_position_are_recorded() -> None:
    assert worth_recording(None, None, None, None, PIER, T0, 0.0, THROTTLE)
    assert worth_recording(PIER, T0, None, "operator", PIER, T0 + timedelta(seconds=1), 0.0, THROTTLE)


def test_a_fix_within_the_interval_is_not_recorded_however_far_it_moved() -> None:
    far = metres_north(PIER, 5000)
    assert not worth_recording(PIER, T0, 0.0, "ais", far, T0 + timedelta(seconds=29), 0.0, THROTTLE)


def test_after_the_interval_a_move_beyond_the_threshold_or_a_new_speed_is_recorded_and_drift_is_not() -> None:
    later = T0 + timedelta(seconds=31)
    assert worth_recording(PIER, T0, 0.0, "ais", metres_north(PIER, 150), later, 0.0, THROTTLE)
    assert worth_recording(PIER, T0, 0.0, "ais", metres_north(PIER, 20), later, 12.0, THROTTLE)
    assert not worth_recording(PIER, T0, 0.0, "ais", metres_north(PIER, 20), later, 0.5, THROTTLE)


def test_a_moored_boat_is_recorded_again_at_the_heartbeat() -> None:
    assert worth_recording(PIER, T0, 0.0, "crew_phone", PIER, T0 + timedelta(seconds=300), 0.0, THROTTLE)


def test_the_decision_applies_the_same_rule_to_the_stream() -> None:
    boat = tracked()
    quiet = report_resource_position(actor=SYSTEM, at=T0 + minutes(10) + timedelta(seconds=5), source="ais",
                                     position=metres_north(HEALTH_UNIT, 500), throttle=THROTTLE)
    moved = report_resource_position(actor=SYSTEM, at=T0 + minutes(11), source="ais", course_deg=10.0, sog_knots=8.0,
                                     position=metres_north(HEALTH_UNIT, 500), throttle=THROTTLE)
    assert resource_rules.decide(quiet, boat) == []  # type: ignore[arg-type]
    [event] = resource_rules.decide(moved, boat)  # type: ignore[arg-type]
    assert isinstance(event, ResourcePositionReported)
    assert (event.source, event.course_deg, event.sog_knots) == ("ais", 10.0, 8.0)


def test_an_operators_position_is_always_recorded() -> None:
    boat = tracked()
    events = resource_rules.decide(report_resource_position(at=T0 + minutes(10) + timedelta(seconds=1)), boat)  # type: ignore[arg-type]
    assert [type(e) for e in events] == [ResourcePositionReported] and events[0].source == "operator"  # type: ignore[attr-defined]


def test_a_crew_phone_speaks_only_for_the_unit_its_lifeguard_crews() -> None:
    boat = available_resource()
    mine = report_resource_position(actor=lifeguard(resource_id=BOAT), source="crew_phone", throttle=THROTTLE)
    theirs = report_resource_position(actor=lifeguard(resource_id="KY-02"), source="crew_phone", throttle=THROTTLE)
    as_operator = report_resource_position(actor=lifeguard(resource_id=BOAT), source="operator")
    assert [e.source for e in resource_rules.decide(mine, boat)] == ["crew_phone"]  # type: ignore[attr-defined]
    with pytest.raises(NotCrewOfResource):
        resource_rules.decide(theirs, boat)
    with pytest.raises(NotPermitted):
        resource_rules.decide(as_operator, boat)


def test_positions_recorded_before_sources_existed_are_an_operators() -> None:
    old = msgspec.json.encode({"at": NOW.isoformat(), "resource_id": BOAT, "position": {"lat": 8.0, "lon": 98.5}})
    event = decode_data("ResourcePositionReported", 1, old)
    assert isinstance(event, ResourcePositionReported) and event.source == "operator"


# --- transponders ----------------------------------------------------------------------------------------


def test_a_resource_takes_an_mmsi_of_nine_digits_and_never_a_beacons() -> None:
    boat = available_resource()
    [event] = resource_rules.decide(SetResourceMmsi(actor=operator(), at=NOW, resource_id=BOAT, mmsi="567012345"), boat)
    assert event == ResourceMmsiSet(at=NOW, resource_id=BOAT, mmsi="567012345")
    for wrong in ("56701234", "56701234x", SART):
        with pytest.raises(InvalidInput) as refused:
            resource_rules.decide(SetResourceMmsi(actor=operator(), at=NOW, resource_id=BOAT, mmsi=wrong), boat)
        assert refused.value.field == "mmsi"
    followed = resource_from(resource_registered(), event)
    assert followed.mmsi == "567012345"
    assert resource_rules.decide(SetResourceMmsi(actor=operator(), at=NOW, resource_id=BOAT, mmsi="567012345"),
                                 followed) == []


# --- beacons ---------------------------------------------------------------------------------------------


def test_beacons_are_told_apart_by_their_mmsi() -> None:
    assert [beacon_kind(m) for m in (SART, "972011111", "974022222", "567012345", "97001234")] == [
        "sart", "mob", "epirb", None, None]


def report_beacon(**overrides: object) -> ReportBeacon:
    fields: dict[str, object] = {"actor": SYSTEM, "at": NOW, "incident_id": "beacon-1", "mmsi": SART,
                                 "beacon": "sart", "position": OFF_SIMILAN, "zone": "similan"}
    return ReportBeacon(**(fields | overrides))  # type: ignore[arg-type]


def test_a_beacon_opens_a_red_incident_at_its_position_naming_the_mmsi() -> None:
    reported, detected = incident_rules.decide(report_beacon(vessel_name="SEA STAR"), None, {})
    assert isinstance(reported, IncidentReported) and isinstance(detected, BeaconDetected)
    assert (reported.source, reported.triage, reported.position, reported.zone) == (
        "ais_beacon", "red", OFF_SIMILAN, "similan")
    assert (detected.mmsi, detected.beacon, detected.vessel_name) == (SART, "sart", "SEA STAR")


def test_an_operator_confirms_a_beacon_once_or_dismisses_it_closing_the_incident_as_a_false_alarm() -> None:
    incident = incident_from(*incident_rules.decide(report_beacon(), None, {}))
    [confirmed] = incident_rules.decide(ConfirmBeacon(actor=operator(), at=NOW, incident_id="beacon-1", how="radio"),
                                        incident, {})
    assert isinstance(confirmed, BeaconConfirmed)
    assert incident_rules.decide(ConfirmBeacon(actor=operator(), at=NOW, incident_id="beacon-1"),
                                 incident_from(*incident_rules.decide(report_beacon(), None, {}), confirmed), {}) == []
    dismissed, closed = incident_rules.decide(
        DismissBeacon(actor=operator(), at=NOW, incident_id="beacon-1", summary="SART test"), incident, {})
    assert isinstance(dismissed, BeaconDismissed) and dismissed.reason == "SART test"
    assert isinstance(closed, IncidentClosed) and closed.outcome == "false_alarm"


def test_a_beacon_is_confirmed_only_on_an_incident_a_beacon_opened() -> None:
    with pytest.raises(NotABeaconIncident):
        incident_rules.decide(ConfirmBeacon(actor=operator(), at=NOW, incident_id="inc-kyy-1"),
                              incident_from(incident_reported()), {})


# --- reading NMEA ----------------------------------------------------------------------------------------


def replay(*names: str) -> tuple[list[Decoded], Counter[str]]:
    assembler, refused = Assembler(), Counter[str]()
    found: list[Decoded] = []
    for name in names:
        for line in (DATA / name).read_bytes().splitlines():
            try:
                found += assembler.feed(line, 0.0)
            except Rejected as exc:
                refused[exc.reason] += 1
    return found, refused


def test_a_real_receivers_capture_decodes_class_a_and_b_positions_and_static_data_and_skips_its_gps_lines() -> None:
    found, refused = replay("gpsd-ais-nmea.log")
    fixes = [item for item in found if isinstance(item, VesselFix)]
    names = {item.mmsi: item.name for item in found if isinstance(item, VesselStatic) and item.name}
    assert {fix.ais_class for fix in fixes} == {"A", "B"}
    assert names["371255000"] == "SEA ENTERPRISE"  # a type 5 over two sentences
    assert set(refused) <= {"not_ais", "no_position"} and refused["not_ais"] > 1000  # GPRMC, GPGSV, comments


def test_pyais_own_test_messages_decode() -> None:
    found, refused = replay("pyais-ais_test_messages.nmea", "pyais-messages.ais", "pyais-mixed.txt")
    assert any(isinstance(item, VesselFix) and item.mmsi == "227006760" for item in found)
    assert set(refused) == {"not_ais"}  # the comments, blank lines and GPS sentences between


def test_bad_input_is_refused_by_reason() -> None:
    assembler = Assembler()
    cases = {
        b"!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*24": "bad_checksum",
        b"\xff\xfegarbage\x00": "not_ais",
        b"!AIVDM,2,2,9,B,`88888888888880,2*76": "multipart_out_of_order",
        b"!AIVDM,1,1,,B,,0*25": "malformed",
    }
    for line, reason in cases.items():
        with pytest.raises(Rejected) as refused:
            assembler.feed(line, 0.0)
        assert refused.value.reason == reason, line


def test_a_multi_sentence_message_never_completed_is_dropped_after_its_window() -> None:
    assembler = Assembler(window_seconds=5)
    first = b"!AIVDM,2,1,9,B,55R3Vn82=ILTQ3KKS>1<D60Dq@E918U<F222221J1`?164vc03S1CCAD,0*2A"
    assert assembler.feed(first, 0.0) == []
    assert assembler.expire(4.0) == 0
    assert assembler.expire(6.0) == 1
    with pytest.raises(Rejected) as refused:
        assembler.feed(b"!AIVDM,2,2,9,B,`88888888888880,2*76", 6.0)
    assert refused.value.reason == "multipart_out_of_order"


def test_a_receivers_tag_block_and_trailing_fields_are_read_past() -> None:
    assembler = Assembler()
    [fix] = assembler.feed(b"\\s:2573310,c:1654088303*0B\\!BSVDM,1,1,,A,B3m8E=000h72d?`stqjcCwd5kP06,0*22", 0.0)
    [also] = assembler.feed(b"!AIVDM,1,1,,A,B3gsP70007Topd9B8lmVKwu5kP06,0*59,1544400000,1544400000", 0.0)
    assert isinstance(fix, VesselFix) and isinstance(also, VesselFix)


def test_the_made_beacons_decode_as_sart_mob_and_epirb_with_their_status() -> None:
    found, refused = replay("beacons.nmea")
    fixes = [item for item in found if isinstance(item, VesselFix)]
    assert {beacon_kind(fix.mmsi) for fix in fixes} == {"sart", "mob", "epirb"}
    assert {fix.nav_status for fix in fixes if fix.mmsi == "970099999"} == {15}  # test mode
    assert SafetyText(mmsi=SART, text="SART ACTIVE") in found
    assert set(refused) == {"not_ais"}


# --- dead reckoning and staleness ------------------------------------------------------------------------


def test_a_boat_under_way_is_carried_along_its_course_for_at_most_the_window() -> None:
    boat = resource_from(resource_registered(), resource_position_reported(
        at=T0, source="ais", position=PIER, course_deg=0.0, sog_knots=20.0))
    three = dead_reckoned(boat, T0 + minutes(3), timedelta(minutes=10))
    assert three.position is not None and three.position_at == T0 + minutes(3)
    assert metres_between(PIER, three.position) == pytest.approx(20 * 1852 / 20, rel=0.01)  # a mile in 3 min
    assert three.position.lat > PIER.lat
    bounded = dead_reckoned(boat, T0 + minutes(60), timedelta(minutes=10))
    assert bounded.position is not None and bounded.position_at == T0 + minutes(10)
    assert metres_between(PIER, bounded.position) == pytest.approx(20 * 1852 / 6, rel=0.01)


def test_a_boat_not_under_way_or_without_a_course_stays_where_it_was_heard() -> None:
    for fields in ({"course_deg": 90.0, "sog_knots": 0.2}, {"course_deg": None, "sog_knots": 15.0}):
        boat = resource_from(resource_registered(), resource_position_reported(at=T0, source="ais", **fields))
        assert dead_reckoned(boat, T0 + minutes(5), timedelta(minutes=10)) == boat


def test_only_a_tracked_position_goes_stale() -> None:
    stale_after = timedelta(minutes=10)
    assert is_stale(T0, True, T0 + minutes(11), stale_after)
    assert not is_stale(T0, True, T0 + minutes(9), stale_after)
    assert not is_stale(T0, False, T0 + minutes(600), stale_after)  # an operator's, or an AED at its hotel
