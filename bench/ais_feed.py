"""AIS feed benchmark: a busy coast at 2,000 sentences a second into a real `dispatch ais`.

500 vessels off Phang Nga (20 of them fleet boats whose MMSI a resource follows) each report their position four
times a second, class A and class B, with some static data (type 5, two sentences) between; one UDP datagram a
sentence, as AIS-catcher sends them. The feed runs as its own process beside a real projector, on SQLite or
PostgreSQL and the local Redis. Measured, over the run:

- feed CPU: the `dispatch ais` process's user + system time over the wall time, as a fraction of one core
  (target < 0.5). The reference, measured in the same run on the same sentences: pyais alone decoding them
  (`NMEAMessage(raw).decode()`), the least any Python feed using it can spend; the ratio is feed / reference.
- sentence -> board: from sending a fleet boat's sentence to the projector publishing the resulting position on
  the live channel every API process relays to its boards (p50, p99; target p99 < 1 s). Only sentences that
  became events are timed (the others are thinned away by design).
- log growth: position events appended per fleet boat per 30 s (target <= 1).

    .venv/bin/python -m bench.ais_feed [--seconds 600] [--rate 2000] [--vessels 500] [--fleet 20]
                                       [--backend sqlite|postgres]

`--seconds` shortens the run (the smoke test runs 8 s). Progress goes to stderr; the table to stdout, and its last
line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import httpx
import orjson
from pyais import NMEAMessage
from pyais.encode import encode_dict
from redis import Redis
from sqlalchemy import text

from bench.harness import progress
from dispatch.adapters.database import make_engine
from dispatch.app.handle import handle
from dispatch.app.services import build_services
from dispatch.domain.catalogue import Position
from dispatch.domain.commands import Actor, RegisterResource
from dispatch.runtime.settings import Settings

REDIS_URL: Final[str] = os.environ.get("DISPATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL: Final[str] = os.environ.get("DISPATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1/test")
TARGET_CPU: Final[float] = 0.5
TARGET_P99_S: Final[float] = 1.0
TARGET_EVENTS_PER_BOAT_PER_30S: Final[float] = 1.0
# Off Phang Nga: Surin in the north-west to Koh Yao in the south-east (the board's area).
AREA: Final[tuple[float, float, float, float]] = (7.85, 9.45, 97.6, 98.6)
FLEET_MMSI_BASE: Final[int] = 567_100_000
OTHER_MMSI_BASE: Final[int] = 567_200_000
TICK_SECONDS: Final[float] = 0.01
STATIC_EVERY: Final[int] = 50  # one static report (two sentences) in this many sentences
_SIX_BITS: Final[str] = "".join(chr(v + 48 if v < 40 else v + 56) for v in range(64))


# --- traffic --------------------------------------------------------------------------------------------


@dataclass
class Vessel:
    mmsi: int
    lat: float
    lon: float
    knots: float
    course: float
    class_b: bool
    static: str = ""  # its type 5 (or 24) sentences, encoded once

    def advance(self, seconds: float) -> None:
        metres = self.knots * 1852 / 3600 * seconds
        self.lat += metres * math.cos(math.radians(self.course)) / 111_195
        self.lon += metres * math.sin(math.radians(self.course)) / (111_195 * math.cos(math.radians(self.lat)))
        south, north, west, east = AREA
        if not south < self.lat < north:
            self.course = (180 - self.course) % 360
        if not west < self.lon < east:
            self.course = (360 - self.course) % 360


def position_sentence(vessel: Vessel, second: int) -> str:
    """A type 1 (class A) or 18 (class B) position report, armoured as ITU-R M.1371 and NMEA 0183 say: packed here
    by hand, as pyais's encoder takes 150 µs a sentence, more than the sender can spare at 2,000 a second."""
    lon = round(vessel.lon * 600_000) & (2**28 - 1)
    lat = round(vessel.lat * 600_000) & (2**27 - 1)
    speed, course = min(1022, round(vessel.knots * 10)), round(vessel.course * 10) % 3600
    heading = round(vessel.course) % 360
    if vessel.class_b:
        fields = [(18, 6), (0, 2), (vessel.mmsi, 30), (0, 8), (speed, 10), (0, 1), (lon, 28), (lat, 27),
                  (course, 12), (heading, 9), (second, 6), (0, 2), (1, 1), (0, 1), (1, 1), (1, 1), (1, 1), (0, 1),
                  (0, 1), (393222, 20)]
    else:
        fields = [(1, 6), (0, 2), (vessel.mmsi, 30), (0, 4), (128, 8), (speed, 10), (0, 1), (lon, 28), (lat, 27),
                  (course, 12), (heading, 9), (second, 6), (0, 2), (0, 3), (0, 1), (0, 19)]
    bits = 0
    for value, width in fields:
        bits = (bits << width) | value
    payload = "".join(_SIX_BITS[(bits >> shift) & 63] for shift in range(162, -1, -6))
    body = f"AIVDM,1,1,,{'B' if vessel.class_b else 'A'},{payload},0"
    checksum = 0
    for char in body:
        checksum ^= ord(char)
    return f"!{body}*{checksum:02X}"


def fleet_of(vessels: int, fleet: int, seed: int = 19) -> list[Vessel]:
    rng = random.Random(seed)
    south, north, west, east = AREA
    made = []
    for index in range(vessels):
        in_fleet = index < fleet
        vessel = Vessel(mmsi=(FLEET_MMSI_BASE if in_fleet else OTHER_MMSI_BASE) + index,
                        lat=rng.uniform(south, north), lon=rng.uniform(west, east),
                        knots=rng.uniform(8, 25) if in_fleet else rng.choice([0.0, rng.uniform(2, 20)]),
                        course=rng.uniform(0, 360), class_b=not in_fleet and rng.random() < 0.4)
        vessel.static = "\n".join(encode_dict({"type": 5, "mmsi": vessel.mmsi, "shipname": f"BENCH {index}",
                                               "callsign": f"HS{index:04d}", "ship_type": 60},
                                              talker_id="AI", sentence_type="VDM", seq_id=index % 10))
        made.append(vessel)
    return made


def check_encoder() -> None:
    """The hand-packed sentences decode, with pyais, to what was packed."""
    for class_b in (False, True):
        vessel = Vessel(mmsi=567_100_007, lat=8.12345, lon=98.54321, knots=12.3, course=211.4, class_b=class_b)
        decoded: Any = NMEAMessage(position_sentence(vessel, 17).encode()).decode()
        assert decoded.mmsi == vessel.mmsi and abs(decoded.lat - vessel.lat) < 1e-5, decoded
        assert abs(decoded.lon - vessel.lon) < 1e-5 and decoded.speed == 12.3 and decoded.course == 211.4, decoded


# --- the system under test ---------------------------------------------------------------------------------


@dataclass
class Run:
    directory: Path
    database_url: str
    env: dict[str, str]
    udp_port: int
    metrics_port: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = (self.directory / f"{args[0]}.log").open("wb")
        process = subprocess.Popen([sys.executable, "-m", "dispatch.entrypoints.cli", *args], env=self.env, stdout=log,
                                   stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(directory: Path, backend: str, vessels: list[Vessel], fleet: int) -> Run:
    run_id = uuid.uuid4().hex[:8]
    schema = f"bench_ais_{run_id}"
    if backend == "postgres":
        import psycopg

        with psycopg.connect(POSTGRES_URL.replace("+psycopg", ""), autocommit=True) as db:
            db.execute(f"CREATE SCHEMA {schema}")
        database_url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    else:
        database_url = f"sqlite:///{directory / 'dispatch.db'}"
    udp_port, metrics_port = free_port(socket.SOCK_DGRAM), free_port()
    env = {**os.environ, "DISPATCH_DATA_DIR": str(directory), "DISPATCH_DATABASE_URL": database_url,
           "DISPATCH_REDIS_URL": REDIS_URL, "DISPATCH_LIVE_CHANNEL": f"bench:{run_id}:changes",
           "DISPATCH_APPEND_CHANNEL": f"bench:{run_id}:appended", "DISPATCH_QUEUE_NAME": f"bench-{run_id}",
           "DISPATCH_AIS_REDIS_PREFIX": f"bench:{run_id}:ais", "DISPATCH_AIS_UDP_PORT": str(udp_port),
           "DISPATCH_AIS_METRICS_PORT": str(metrics_port), "DISPATCH_LOG_LEVEL": "WARNING"}
    settings = Settings(data_dir=directory, database_url=database_url, redis_url=REDIS_URL)
    services = build_services(settings)
    operator = Actor(id="bench", role="operator")
    for index, vessel in enumerate(vessels[:fleet]):
        handle(RegisterResource(actor=operator, at=datetime.now(UTC), resource_id=f"BENCH-{index}", kind="boat",
                                name=f"Bench boat {index}", speed_knots=25.0, mmsi=str(vessel.mmsi),
                                position=Position(lat=vessel.lat, lon=vessel.lon)), services)
    services.store.engine.dispose()
    return Run(directory, database_url, env, udp_port, metrics_port)


def feed_status(run: Run) -> dict[str, Any]:
    raw = Redis.from_url(REDIS_URL).get(f"{run.env['DISPATCH_AIS_REDIS_PREFIX']}:status")
    return dict(json.loads(raw)) if raw else {}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def counters(run: Run) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in httpx.get(f"http://127.0.0.1:{run.metrics_port}/metrics", timeout=5).text.splitlines():
        if line.startswith("dispatch_ais") and "_total" in line:
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


class BoardWatch:
    """Listens on the live channel, as every API process does, and notes when each fleet position arrives."""

    def __init__(self, channel: str) -> None:
        self.pubsub = Redis.from_url(REDIS_URL).pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel)
        self.seen: list[tuple[str, float, float, float]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _listen(self) -> None:
        while not self.stop.is_set():
            message = self.pubsub.get_message(timeout=0.2)
            if message is None:
                continue
            received = time.time()
            for change in orjson.loads(message["data"]).get("changes", []):
                row = change.get("row") or {}
                if change["view"] == "resources_view" and row.get("position_source") == "ais":
                    self.seen.append((row["resource_id"], round(row["lat"], 6), round(row["lon"], 6), received))

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        self.pubsub.close()


# --- the run ------------------------------------------------------------------------------------------------


def send(run: Run, vessels: list[Vessel], fleet: int, rate: int, seconds: float) -> tuple[int, dict[Any, float]]:
    """Send `rate` sentences a second for `seconds`, paced in ticks; returns how many were sent and when each
    distinct fleet position was first sent (resource, lat, lon) -> time."""
    sent_at: dict[Any, float] = {}
    per_tick = rate * TICK_SECONDS
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target = ("127.0.0.1", run.udp_port)
    started = time.monotonic()
    sent, owed, turn = 0, 0.0, 0
    while (elapsed := time.monotonic() - started) < seconds:
        owed += per_tick
        while owed >= 1:
            vessel = vessels[turn % len(vessels)]
            turn += 1
            if turn % STATIC_EVERY == 0:
                for line in vessel.static.split("\n"):
                    udp.sendto(line.encode(), target)
                    sent += 1
                    owed -= 1
                continue
            vessel.advance(len(vessels) / rate)
            sentence = position_sentence(vessel, int(elapsed) % 60)
            index = vessel.mmsi - FLEET_MMSI_BASE
            if 0 <= index < fleet:
                decoded: Any = NMEAMessage(sentence.encode()).decode()
                sent_at.setdefault((f"BENCH-{index}", round(decoded.lat, 6), round(decoded.lon, 6)), time.time())
            udp.sendto(sentence.encode(), target)
            sent += 1
            owed -= 1
        pause = started + (elapsed // TICK_SECONDS + 1) * TICK_SECONDS - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    udp.close()
    return sent, sent_at


def decode_reference(vessels: list[Vessel], rate: int, count: int = 20_000) -> float:
    """The CPU pyais alone spends decoding this traffic at `rate`, as a fraction of one core. Every sentence is a
    new one, as on the air (pyais remembers sentences it has decoded, so repeats would cost it nothing)."""
    copies = [Vessel(v.mmsi, v.lat, v.lon, v.knots, v.course, v.class_b) for v in vessels]
    sentences = []
    for n in range(count):
        vessel = copies[n % len(copies)]
        vessel.advance(len(copies) / rate)
        sentences.append(position_sentence(vessel, n % 60).encode())
    started = time.process_time()
    for raw in sentences:
        NMEAMessage(raw).decode()
    return (time.process_time() - started) / count * rate


def percentile(values: list[float], share: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--vessels", type=int, default=500)
    parser.add_argument("--fleet", type=int, default=20)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args(argv)
    check_encoder()
    vessels = fleet_of(args.vessels, args.fleet)
    with tempfile.TemporaryDirectory(prefix="bench-ais-") as folder:
        return _measure(Path(folder), args, vessels)


def _measure(directory: Path, args: argparse.Namespace, vessels: list[Vessel]) -> dict[str, Any]:
    progress(f"ais_feed: {args.vessels} vessels ({args.fleet} fleet), {args.rate}/s for {args.seconds:g} s, "
             f"{args.backend}")
    reference = decode_reference(vessels, args.rate)
    run = prepare(directory, args.backend, vessels, args.fleet)
    run.start("projector")
    feed = run.start("ais")
    try:
        _wait(lambda: feed_status(run).get("fleet") == args.fleet, "the feed to learn the fleet", feed)
        board = BoardWatch(run.env["DISPATCH_LIVE_CHANNEL"])
        # Warm-up: each boat's first fix after its registered position is recorded at once (no stream to thin
        # yet); the timed window starts once every boat has one, so it measures the thinning alone.
        warmed = time.monotonic()
        while len({seen[0] for seen in board.seen}) < args.fleet and time.monotonic() - warmed < 60:
            send(run, vessels, args.fleet, args.rate, 1.0)
        board.seen.clear()
        head_before, handled_before = _position_events(run), counters(run)
        cpu_before, wall_before = cpu_seconds(feed.pid), time.monotonic()
        sent, sent_at = send(run, vessels, args.fleet, args.rate, args.seconds)
        cpu_after, wall_after = cpu_seconds(feed.pid), time.monotonic()
        already = _handled_in(handled_before)
        _wait(lambda: _handled_in(counters(run)) - already >= sent * 0.999, "the feed to finish the queue", feed,
              timeout=120)
        # How long the feed took to finish what was sent: more than a moment means it fell behind (no CPU to be had
        # on a loaded machine, or too slow), and the board's latency grows by as much.
        drain_seconds = time.monotonic() - wall_after
        time.sleep(2)  # the last appends' projections reach the channel
        board.close()
        found = counters(run)
        events = _position_events(run) - head_before
    finally:
        run.stop()
    latencies = [received - sent_at[(resource, lat, lon)] for resource, lat, lon, received in board.seen
                 if (resource, lat, lon) in sent_at]
    feed_cpu = (cpu_after - cpu_before) / (wall_after - wall_before)
    per_boat = events / args.fleet / (args.seconds / 30)
    figures = {
        "benchmark": "ais_feed", "backend": args.backend, "seconds": args.seconds, "rate": args.rate,
        "vessels": args.vessels, "fleet": args.fleet, "sentences_sent": sent,
        "rate_sent": round(sent / (wall_after - wall_before)), "drain_seconds": round(drain_seconds, 2),
        "sentences_handled": int(_handled_in(found) - _handled_in(handled_before)),
        "rejected": int(_sum(found, "dispatch_ais_rejected_total")
                        - _sum(handled_before, "dispatch_ais_rejected_total")),
        "feed_cpu_core": round(feed_cpu, 3), "reference_decode_cpu_core": round(reference, 3),
        "cpu_ratio": round(feed_cpu / reference, 2) if reference else None,
        "board_p50_ms": _ms(percentile(latencies, 0.5)), "board_p99_ms": _ms(percentile(latencies, 0.99)),
        "board_samples": len(latencies),
        "position_events": events, "events_per_boat_per_30s": round(per_boat, 2),
        "load_average": round(os.getloadavg()[0], 2),
    }
    figures |= {"cpu_met": feed_cpu < TARGET_CPU, "p99_met": percentile(latencies, 0.99) < TARGET_P99_S,
                "log_growth_met": per_boat <= TARGET_EVENTS_PER_BOAT_PER_30S}
    _table(figures)
    print(json.dumps(figures))
    return figures


def _ms(seconds: float) -> float | None:
    return None if math.isnan(seconds) else round(seconds * 1000, 1)


def _wait(done: Any, what: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        time.sleep(0.2)


def _handled_in(found: dict[str, float]) -> float:
    """Lines the feed has finished with: used, unused or refused."""
    return _sum(found, "dispatch_ais_sentences_total", "dispatch_ais_rejected_total")


def _sum(found: dict[str, float], *prefixes: str) -> float:
    return sum(value for name, value in found.items() if name.startswith(prefixes))


def _position_events(run: Run) -> int:
    settings = Settings(data_dir=run.directory, database_url=run.database_url)
    engine = make_engine(settings.resolved_database_url, pool_size=1)
    try:
        with engine.connect() as db:
            return int(db.execute(text("SELECT COUNT(*) FROM events WHERE type = 'ResourcePositionReported'"))
                       .scalar() or 0)
    finally:
        engine.dispose()


def _table(figures: dict[str, Any]) -> None:
    rows: Iterator[tuple[str, str, str, str]] = iter([
        ("feed CPU (fraction of one core)", f"{figures['feed_cpu_core']:.3f}", f"< {TARGET_CPU}",
         "MET" if figures["cpu_met"] else "MISSED"),
        ("  reference: pyais decoding alone", f"{figures['reference_decode_cpu_core']:.3f}", "",
         f"feed = {figures['cpu_ratio']}x"),
        ("sentence -> board p50 (ms)", f"{figures['board_p50_ms']}", "", f"{figures['board_samples']} samples"),
        ("sentence -> board p99 (ms)", f"{figures['board_p99_ms']}", f"< {TARGET_P99_S * 1000:g}",
         "MET" if figures["p99_met"] else "MISSED"),
        ("position events per boat per 30 s", f"{figures['events_per_boat_per_30s']}",
         f"<= {TARGET_EVENTS_PER_BOAT_PER_30S:g}", "MET" if figures["log_growth_met"] else "MISSED"),
        ("sentences sent / handled", f"{figures['sentences_sent']} / {figures['sentences_handled']}", "",
         f"{figures['rejected']} refused"),
        ("rate sent (per s); feed behind at the end (s)", f"{figures['rate_sent']}; {figures['drain_seconds']}", "",
         ""),
    ])
    print(f"{'AIS feed, ' + str(figures['rate']) + '/s for ' + format(figures['seconds'], 'g') + ' s':<40}"
          f"{'measured':>16}{'target':>10}  result")
    for name, value, target, result in rows:
        print(f"{name:<40}{value:>16}{target:>10}  {result}")


if __name__ == "__main__":
    main()
