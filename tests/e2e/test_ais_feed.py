"""A real `dispatch ais` process beside the API and the projector, fed real NMEA (tests/data/ais/) over UDP, over a
TCP connection to it, and from a receiver it connects to: a fleet boat's position on the board follows its
transponder without the log growing with every fix, a beacon opens one incident however often it repeats, and
garbage between good sentences changes nothing but the feed's counters."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from sqlalchemy import create_engine, text

from tests.e2e.test_topology import eventually
from tests.e2e.topology import Topology, free_port, sign_in
from tests.servers import POSTGRES_URL

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

DATA = Path(__file__).resolve().parents[1] / "data" / "ais"
# A vessel heard 17 times in gpsd's capture (moored at Lemmer): here, the transponder of a fleet boat.
CAPTURED_MMSI = "269057061"
CAPTURED_AT = (52.839, 5.712)  # within metres: it is moored, and only its first fix there is recorded


def lines(name: str) -> list[bytes]:
    return [line for line in (DATA / name).read_bytes().splitlines() if line.strip()]


class Receiver:
    """A receiver serving NMEA over TCP (as AIS-catcher's -S does), which the feed connects to."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connected = threading.Event()
        self.connection: socket.socket | None = None
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.connection, _ = self.server.accept()
        self.connected.set()

    def send(self, payload: list[bytes]) -> None:
        assert self.connected.wait(30), "the feed never connected to the receiver"
        assert self.connection is not None
        self.connection.sendall(b"\r\n".join(payload) + b"\r\n")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.server.close()


@pytest.fixture
def sea(tmp_path: Path, postgres_schema: str) -> Iterator[dict[str, Any]]:
    receiver = Receiver()
    ports = {"udp": free_port(), "tcp": free_port(), "metrics": free_port()}
    database = f"{POSTGRES_URL}?options=-csearch_path%3D{postgres_schema}"
    running = Topology(tmp_path, database, DISPATCH_AIS_UDP_PORT=str(ports["udp"]),
                       DISPATCH_AIS_TCP_PORT=str(ports["tcp"]), DISPATCH_AIS_TCP_CONNECT=f"127.0.0.1:{receiver.port}",
                       DISPATCH_AIS_METRICS_PORT=str(ports["metrics"]),
                       DISPATCH_AIS_REDIS_PREFIX=f"test:{uuid.uuid4().hex[:8]}:ais")
    running.prepare()
    running.start("projector")
    api = running.start_api()
    running.start("ais")
    engine = create_engine(database)
    sea = {"api": api, "ports": ports, "receiver": receiver, "engine": engine, "topology": running}
    try:
        assert eventually(lambda: _status(sea), bool, timeout=90), f"the feed never started: {running.logs()}"
        yield sea
    finally:
        running.stop()
        receiver.close()
        engine.dispose()


def counters(port: int) -> dict[str, float]:
    """The feed's counters by name and label, e.g. "dispatch_ais_rejected_total{not_ais}"."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text):
        for sample in family.samples:
            if sample.name.startswith("dispatch_ais") and sample.name.endswith("_total"):
                found[f"{sample.name}{{{','.join(sample.labels.values())}}}"] = sample.value
    return found


def handled(port: int) -> float:
    """Lines the feed has finished with (used, unused or refused)."""
    found = counters(port)
    return sum(value for key, value in found.items()
               if key.startswith(("dispatch_ais_sentences_total", "dispatch_ais_rejected_total")))


def send_udp(port: int, payload: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for line in payload:
            udp.sendto(line, ("127.0.0.1", port))


def send_tcp(port: int, payload: list[bytes]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"\n".join(payload) + b"\n")


def log_of(engine: Any, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as db:
        return list(db.execute(text(sql), params))


def test_the_fleet_follows_its_transponders_and_beacons_open_one_incident_each(sea: dict[str, Any]) -> None:
    api, ports, engine = sea["api"], sea["ports"], sea["engine"]
    operator = {"Authorization": f"Bearer {sign_in(api, 'operator')}"}
    answer = httpx.post(f"{api}/api/resources", headers=operator, timeout=10, json={
        "id": "SIM-1", "kind": "boat", "name": "Similan park boat 1", "speed_knots": 22,
        "home_site_id": "beach_nang_thong", "mmsi": CAPTURED_MMSI})
    assert answer.status_code == 201, answer.text

    def boat() -> dict[str, Any]:
        """The boat's row in the fleet view: empty until the projector has read its registration."""
        rows = httpx.get(f"{api}/api/resources", headers=operator, timeout=10).json()["resources"]
        return next((row for row in rows if row["resource_id"] == "SIM-1"), {})

    # The feed learns the fleet from the read models; once it knows the boat, its status record says so.
    eventually(lambda: boat().get("mmsi"), lambda mmsi: mmsi == CAPTURED_MMSI, timeout=90)
    eventually(lambda: _status(sea), lambda status: status.get("fleet") == 1, timeout=90)

    # The receiver's whole capture over UDP, one datagram a line: the boat moves to where its transponder is.
    capture = lines("gpsd-ais-nmea.log")
    send_udp(ports["udp"], capture)
    shown = eventually(boat, lambda row: row.get("position_source") == "ais", timeout=90)
    assert (round(shown["lat"], 3), round(shown["lon"], 3)) == CAPTURED_AT
    assert shown["position_stale"] is False

    # The same capture again over a TCP connection to the feed, and from the receiver it connects to: the boat is
    # moored and heard within the interval, so its 17 fixes x 3 made one event.
    before = handled(ports["metrics"])
    send_tcp(ports["tcp"], capture)
    sea["receiver"].send(capture)
    eventually(lambda: handled(ports["metrics"]), lambda done: done >= before + 2 * len(capture) - 50, timeout=90)
    recorded = log_of(engine, "SELECT data FROM events WHERE stream_id = 'resource-SIM-1' "
                              "AND type = 'ResourcePositionReported'")
    assert len(recorded) == 1

    # Beacons, each sent three times over all three ways in: one incident for each active one, none for the test.
    beacons = lines("beacons.nmea")
    for _ in range(3):
        send_udp(ports["udp"], beacons)
        send_tcp(ports["tcp"], beacons)
        sea["receiver"].send(beacons)
    board = eventually(lambda: httpx.get(f"{api}/api/board", headers=operator, timeout=10).json()["incidents"],
                       lambda rows: len(rows) >= 3, timeout=90)
    eventually(lambda: handled(ports["metrics"]), lambda done: done >= before + 2 * len(capture) + 8 * len(beacons),
               timeout=90)
    opened = log_of(engine, "SELECT data FROM events WHERE type = 'BeaconDetected'")
    assert sorted(_data(row)["mmsi"] for row in opened) == ["970012345", "972011111", "974022222"]
    sart = next(row for row in board if (row.get("beacon") or {}).get("mmsi") == "970012345")
    assert (sart["source"], sart["triage_dispatch"], sart["beacon"]["state"]) == ("ais_beacon", "red", "detected")
    assert (round(sart["lat"], 3), round(sart["lon"], 3)) == (8.651, 97.642)

    # Vessels of opportunity for the SART's incident: none of the captured ones is near the Similans.
    near = httpx.get(f"{api}/api/incidents/{sart['incident_id']}/vessels", headers=operator, timeout=10).json()
    assert near["at_sea"] is True and near["picture"] == "live" and near["vessels"] == []

    # The operator confirms it.
    confirmed = httpx.post(f"{api}/api/incidents/{sart['incident_id']}/beacon/confirm", headers=operator,
                           json={"how": "radio"}, timeout=10)
    assert confirmed.status_code == 200, confirmed.text


def test_garbage_between_good_sentences_changes_nothing_but_counters(sea: dict[str, Any]) -> None:
    ports, engine = sea["ports"], sea["engine"]
    good = lines("pyais-messages.ais") + lines("pyais-ais_test_messages.nmea")
    send_udp(ports["udp"], good)
    eventually(lambda: handled(ports["metrics"]), lambda done: done >= len(good) - 2, timeout=90)
    head = log_of(engine, "SELECT COALESCE(MAX(position), 0) AS head FROM events")[0].head
    before = counters(ports["metrics"])

    garbage = [b"\xff\xfe\x00 not nmea at all", b"!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*24",  # bad checksum
               b"!AIVDM,2,2,9,B,`88888888888880,2*76",  # the second half of a message whose first never came
               b"!AIVDM,1,1,,B,,0*25", b"$GPGGA,184353.07,1929.045,S,02410.506,E,1,04,2.6,100.00,M,-33.9,M,,0000*6D",
               b"x" * 5000]
    mixed = [line for pair in zip(good, garbage * 10, strict=False) for line in pair] + good
    send_udp(ports["udp"], mixed)
    send_tcp(ports["tcp"], mixed)
    total = handled(ports["metrics"])
    eventually(lambda: handled(ports["metrics"]), lambda done: done >= total + 2 * len(mixed) - 10, timeout=90)

    after = counters(ports["metrics"])
    grew = {key for key in after if after[key] > before.get(key, 0)}
    assert {"dispatch_ais_rejected_total{bad_checksum}", "dispatch_ais_rejected_total{not_ais}",
            "dispatch_ais_rejected_total{multipart_out_of_order}", "dispatch_ais_rejected_total{malformed}"} <= grew
    assert not any(key.startswith("dispatch_ais_appends_total") for key in grew)
    assert log_of(engine, "SELECT COALESCE(MAX(position), 0) AS head FROM events")[0].head == head
    assert sea["topology"].processes[-1].poll() is None, "the feed is still running"


def _data(row: Any) -> dict[str, Any]:
    return dict(json.loads(row.data) if isinstance(row.data, str | bytes) else row.data)


def _status(sea: dict[str, Any]) -> dict[str, Any]:
    prefix = sea["topology"].env["DISPATCH_AIS_REDIS_PREFIX"]
    raw = Redis.from_url(sea["topology"].env["DISPATCH_REDIS_URL"]).get(f"{prefix}:status")
    return dict(json.loads(raw)) if raw else {}
