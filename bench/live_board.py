"""Live board benchmark: report → delta latency on 200 WebSocket boards, and the rebuild rate.

The system runs as production runs it, one process per command: `dispatch api` and `dispatch projector`
against an SQLite file at the default durability (WAL, synchronous=FULL) or a PostgreSQL schema, and the
local Redis with this run's own channels. 200 boards connect to WS /ws/board, each signed in as its own
operator session, and take their snapshot; then a lifeguard reports incidents at a steady rate (open loop:
report i is sent at i/rate seconds, whatever earlier ones are doing). For every report the benchmark
records when its 201 arrived and, on every board, when the first delta holding that incident's board row
arrived; a board that never gets it has missed a delta. A subscriber on the projector's Redis channel
times each publish; with the log's own recorded_at (same machine, same clock) that splits the latency into
appended → published (projector) and published → received (LiveHub relay, WebSocket). The 201 can reach
the benchmark after the delta does (it is counted as 0 ms), so the latency from the append is shown too.
The reference, in the same run on the same boards: messages published straight onto that channel at the
same rate, the relay's own floor with no log or projector in the way.

Then the rebuild rate (bench/rebuild_rate.py): a log of 100,000 realistic events written through
`handle`, replayed by `Projector(store, all_projections()).rebuild()`, beside a plain read of it,
on SQLite and on PostgreSQL (the same events copied into a private schema).

Targets on this 2-core machine: p99 < 100 ms at 20 reports/s with 200 clients, no missed delta;
rebuild ≥ 50,000 events/s.

    .venv/bin/python -m bench.live_board [--quick] [--clients N] [--rate R] [--seconds S] [--events N]
                                         [--backend sqlite|postgres] [--rebuild-backend sqlite|postgres|both]
                                         [--only live|rebuild] [--no-deflate]

Progress goes to stderr. The table goes to stdout, and its last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import orjson
import uvloop
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench import rebuild_rate
from bench.system import (
    DEFAULT_POSTGRES_URL,
    REPORT_BODY,
    BenchTopology,
    cpu_seconds,
    database,
    percentile,
    print_json_line,
    progress,
    ratio,
)
from dispatch.adapters.database import make_engine
from dispatch.adapters.eventlog.sql import open_event_store
from dispatch.adapters.read_models import Checkpoint
from dispatch.domain.catalogue import IncidentReported

LATENCY_TARGET_MS: Final[float] = 100.0
# Positions of the reference messages: far above any real one, so every board relays them.
SYNTHETIC_POSITION: Final[int] = 10**12
CONNECT_CONCURRENCY: Final[int] = 25


@dataclass(eq=False)
class Board:
    """One operator's screen: when it first saw each incident in a delta, and anything odd it was sent."""

    socket: ClientConnection
    seen: dict[str, float] = field(default_factory=dict)
    position: int = 0
    deltas: int = 0
    resyncs: int = 0
    out_of_order: int = 0


@dataclass
class Reports:
    sent: dict[str, float] = field(default_factory=dict)
    accepted: dict[str, float] = field(default_factory=dict)
    measured: list[str] = field(default_factory=list)
    http_ms: list[float] = field(default_factory=list)
    failed: int = 0


@dataclass
class Channel:
    """What the benchmark hears on the projector's channel: when each incident's row was first published."""

    published: dict[str, float] = field(default_factory=dict)
    sample_row: dict[str, Any] | None = None


@dataclass(frozen=True)
class LiveOptions:
    clients: int
    rate: float
    seconds: float
    warmup_seconds: float
    drain_seconds: float
    reference_seconds: float
    deflate: bool

    @property
    def reports(self) -> int:
        return round(self.rate * self.seconds)


# --- boards ----------------------------------------------------------------------------------------


async def open_boards(ws_url: str, tokens: list[str], *, deflate: bool) -> list[Board]:
    """Connect every board and read its snapshot, a few connections at a time. Browsers offer
    permessage-deflate, and so do these boards unless `deflate` is off."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def open_one(token: str) -> Board:
        async with gate:
            socket = await connect(f"{ws_url}?token={token}", max_size=None, open_timeout=30,
                                   compression="deflate" if deflate else None)
            first = orjson.loads(await socket.recv())
            if first["type"] != "snapshot":
                raise RuntimeError(f"the board's first message was {first['type']}, not a snapshot")
            return Board(socket=socket, position=first["position"])

    return list(await asyncio.gather(*(open_one(token) for token in tokens)))


async def follow(board: Board) -> None:
    """Note the arrival of every incident row in a delta; count resyncs and positions out of order."""
    try:
        async for raw in board.socket:
            arrived = time.perf_counter()
            message = orjson.loads(raw)
            if message["type"] == "delta":
                board.deltas += 1
                board.out_of_order += message["position"] <= board.position
                board.position = message["position"]
                for change in message["changes"]:
                    if change["view"] == "board_incidents":
                        board.seen.setdefault(change["key"], arrived)
            elif message["type"] in ("snapshot", "catchup"):
                board.resyncs += 1
                board.position = message["position"]
    except ConnectionClosed:
        pass


async def listen(redis_url: str, name: str, channel: Channel, ready: asyncio.Event) -> None:
    redis = AsyncRedis.from_url(redis_url)
    async with redis, redis.pubsub() as pubsub:
        await pubsub.subscribe(name)
        ready.set()
        async for message in pubsub.listen():
            if message["type"] != "message":
                continue
            arrived = time.perf_counter()
            for change in orjson.loads(message["data"])["changes"]:
                if change["view"] == "board_incidents":
                    channel.published.setdefault(change["key"], arrived)
                    channel.sample_row = change["row"]


async def delivered(boards: list[Board], keys: Iterable[str], timeout: float) -> bool:
    """Wait until every board has seen every key (True), or `timeout` seconds (False)."""
    pending = list(keys)
    deadline = time.perf_counter() + timeout
    for board in boards:
        while any(key not in board.seen for key in pending):
            if time.perf_counter() > deadline:
                return False
            await asyncio.sleep(0.02)
    return True


# --- load ------------------------------------------------------------------------------------------


async def report_steadily(client: httpx.AsyncClient, rate: float, count: int, reports: Reports, *,
                          measured: bool) -> None:
    """Send `count` reports, report i at i/rate seconds from now (open loop), each with its own key."""
    started = time.perf_counter()
    sending: list[asyncio.Task[None]] = []
    for index in range(count):
        await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
        sending.append(asyncio.create_task(report_once(client, reports, measured=measured)))
    await asyncio.gather(*sending)


async def report_once(client: httpx.AsyncClient, reports: Reports, *, measured: bool) -> None:
    sent = time.perf_counter()
    answer = await client.post("/api/incidents", json=REPORT_BODY, headers={"Idempotency-Key": uuid.uuid4().hex})
    arrived = time.perf_counter()
    if answer.status_code != 201:
        reports.failed += 1
        progress(f"report answered {answer.status_code}: {answer.text[:200]}")
        return
    incident_id = answer.json()["id"]
    reports.sent[incident_id] = sent
    reports.accepted[incident_id] = arrived
    reports.http_ms.append((arrived - sent) * 1000)
    if measured:
        reports.measured.append(incident_id)


async def relay_reference(redis_url: str, name: str, boards: list[Board], channel: Channel, rate: float,
                          count: int, drain_seconds: float) -> dict[str, float]:
    """Publish `count` board rows straight onto the live channel at `rate`; when each was published."""
    row = channel.sample_row or {}
    sent: dict[str, float] = {}
    redis = AsyncRedis.from_url(redis_url)
    async with redis:
        started = time.perf_counter()
        for index in range(count):
            await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
            key, position = f"bench-relay-{index}", SYNTHETIC_POSITION + index
            message = {"position": position, "changes": [
                {"view": "board_incidents", "key": key, "position": position, "row": {**row, "incident_id": key}}]}
            sent[key] = time.perf_counter()
            await redis.publish(name, orjson.dumps(message))
    await delivered(boards, sent, drain_seconds)
    return sent


@dataclass
class LiveRun:
    boards: list[Board]
    reports: Reports
    channel: Channel
    reference_sent: dict[str, float]
    seconds: float
    cpu: dict[str, float]
    # time.time() - time.perf_counter(): turns the benchmark's readings into the server's (same machine) clock.
    wall_offset: float
    # When each report was appended to the log (its recorded_at, Unix seconds), read after the run.
    appended: dict[str, float] = field(default_factory=dict)


async def drive(api_url: str, tokens: list[str], reporter_token: str, env: dict[str, str], options: LiveOptions,
                pids: dict[str, int]) -> LiveRun:
    """Connect the boards, report at the steady rate, then run the relay-only reference on the same boards."""
    channel, ready = Channel(), asyncio.Event()
    listener = asyncio.create_task(listen(env["DISPATCH_REDIS_URL"], env["DISPATCH_LIVE_CHANNEL"], channel, ready))
    await ready.wait()
    progress(f"live: connecting {len(tokens)} boards")
    boards = await open_boards(api_url.replace("http://", "ws://") + "/ws/board", tokens, deflate=options.deflate)
    followers = [asyncio.create_task(follow(board)) for board in boards]
    reports, seconds, cpu = await report_to(api_url, reporter_token, boards, options, pids)
    progress("live: relay-only reference")
    reference_sent = await relay_reference(
        env["DISPATCH_REDIS_URL"], env["DISPATCH_LIVE_CHANNEL"], boards, channel, options.rate,
        round(options.rate * options.reference_seconds), options.drain_seconds)
    for board in boards:
        await board.socket.close()
    for task in [*followers, listener]:
        task.cancel()
    await asyncio.gather(*followers, listener, return_exceptions=True)
    return LiveRun(boards, reports, channel, reference_sent, seconds, cpu, time.time() - time.perf_counter())


async def report_to(api_url: str, token: str, boards: list[Board], options: LiveOptions, pids: dict[str, int]
                    ) -> tuple[Reports, float, dict[str, float]]:
    """Warm up, then report at the steady rate; the reports, the seconds it took and each process's CPU cores."""
    reports = Reports()
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        progress(f"live: warming up ({options.warmup_seconds:g} s)")
        await report_steadily(client, options.rate, round(options.rate * options.warmup_seconds), reports,
                              measured=False)
        await delivered(boards, list(reports.accepted), options.drain_seconds)
        progress(f"live: {options.reports} reports at {options.rate:g}/s to {len(boards)} boards")
        before = {name: cpu_seconds(pid) for name, pid in pids.items()} | {"bench": time.process_time()}
        started = time.perf_counter()
        await report_steadily(client, options.rate, options.reports, reports, measured=True)
        seconds = time.perf_counter() - started
        after = {name: cpu_seconds(pid) for name, pid in pids.items()} | {"bench": time.process_time()}
        await delivered(boards, reports.measured, options.drain_seconds)
    return reports, seconds, {name: (after[name] - before[name]) / seconds for name in after}


def run_live(backend: str, options: LiveOptions, postgres_url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-live-") as directory, \
            database(backend, Path(directory), postgres_url) as database_url:
        topology = BenchTopology(Path(directory), database_url)
        topology.prepare()
        figures: dict[str, Any] = {}
        stopped: list[Any] = []
        try:
            api_url = topology.start_api()
            progress(f"live: signing in {options.clients} operators")
            tokens = topology.sign_in_many(api_url, "operator", options.clients)
            reporter = topology.sign_in_many(api_url, "lifeguard", 1)[0]
            # The projector starts after the sign-ins: a login is a read then a write in one deferred SQLite
            # transaction, which fails at once ("database is locked") if the projector's first commit lands
            # in between.
            projector = topology.start("projector")
            wait_for_projector(database_url)
            pids = {"projector": projector.pid, "api": topology.processes[0].pid}
            run = uvloop.run(drive(api_url, tokens, reporter, topology.env, options, pids))
            run.appended = appended_at(database_url)
            figures = live_figures(run, backend, options)
            stopped = [process.args for process in topology.processes if process.poll() is not None]
        finally:
            topology.stop()
            if figures.get("live_missed_deltas", 1) or stopped:
                progress(f"deltas went missing or a process stopped ({stopped}); logs:\n{topology.logs()}")
    return figures


def wait_for_projector(database_url: str, timeout_seconds: float = 60) -> None:
    """Wait until the projector has written its checkpoints, so the first reports do not wait for it to start."""
    engine = make_engine(database_url)
    deadline = time.monotonic() + timeout_seconds
    try:
        while time.monotonic() < deadline:
            with engine.connect() as db:
                if db.execute(select(func.count()).select_from(Checkpoint)).scalar():
                    return
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise TimeoutError(f"the projector wrote no checkpoint within {timeout_seconds:g} s")


def appended_at(database_url: str) -> dict[str, float]:
    """When each incident's report was appended to the log, by the server's clock (Unix seconds)."""
    engine = make_engine(database_url)
    try:
        return {stored.event.incident_id: stored.recorded_at.timestamp()
                for stored in open_event_store(engine).iter_all() if isinstance(stored.event, IncidentReported)}
    finally:
        engine.dispose()


def live_figures(run: LiveRun, backend: str, options: LiveOptions) -> dict[str, Any]:
    sent, accepted, published = run.reports.sent, run.reports.accepted, run.channel.published
    latencies, from_sent, from_log, relayed, early, missed = [], [], [], [], 0, 0
    for board in run.boards:
        for incident_id in run.reports.measured:
            if (arrived := board.seen.get(incident_id)) is None:
                missed += 1
                continue
            early += arrived < accepted[incident_id]
            latencies.append(max(0.0, arrived - accepted[incident_id]) * 1000)
            from_sent.append((arrived - sent[incident_id]) * 1000)
            from_log.append((arrived + run.wall_offset - run.appended[incident_id]) * 1000)
            if incident_id in published:
                relayed.append((arrived - published[incident_id]) * 1000)
    projected = [(published[i] + run.wall_offset - run.appended[i]) * 1000 for i in run.reports.measured
                 if i in published]
    reference = [(board.seen[key] - at) * 1000 for board in run.boards for key, at in run.reference_sent.items()
                 if key in board.seen]
    figures: dict[str, Any] = {
        "live_backend": backend, "live_deflate": options.deflate, "live_clients": len(run.boards),
        "live_reports": len(run.reports.measured),
        "live_report_rate": len(run.reports.measured) / run.seconds, "live_reports_failed": run.reports.failed,
        "live_deliveries": len(latencies), "live_missed_deltas": missed,
        "live_deltas_received": sum(board.deltas for board in run.boards),
        "live_resyncs": sum(board.resyncs for board in run.boards),
        "live_out_of_order": sum(board.out_of_order for board in run.boards),
        "live_delta_before_201": early,
        "reference_deliveries": len(reference),
        "reference_missed": len(run.reference_sent) * len(run.boards) - len(reference),
        **{f"{name}_cpu_cores": value for name, value in run.cpu.items()},
    }
    for prefix, values in (("live", latencies), ("live_from_sent", from_sent), ("live_from_log", from_log),
                           ("stage_appended_to_published", projected),
                           ("stage_published_to_board", relayed), ("reference_relay", reference),
                           ("report_http", run.reports.http_ms)):
        ordered = sorted(values)
        figures |= {f"{prefix}_p50_ms": percentile(ordered, 0.5), f"{prefix}_p99_ms": percentile(ordered, 0.99),
                    f"{prefix}_max_ms": ordered[-1] if ordered else 0.0}
    return figures


# --- rebuild ---------------------------------------------------------------------------------------


def run_rebuild(events: int, backends: list[str], repeats: int, postgres_url: str) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-rebuild-") as directory:
        url, seconds = rebuild_rate.build_log(Path(directory) / "log.db", events)
        figures["rebuild_log_build_seconds"] = seconds
        for backend in backends:
            if backend == "sqlite":
                measured = rebuild_rate.on_sqlite(url, repeats)
            else:
                measured = rebuild_rate.on_postgres(url, Path(directory), repeats, postgres_url)
            figures |= {
                "rebuild_events": measured.events,
                f"{backend}_rebuild_eps": measured.rebuild_eps,
                f"{backend}_rebuild_seconds": [round(s, 3) for s in measured.rebuild_seconds],
                f"{backend}_replay_eps": measured.replay_eps,
                f"{backend}_rebuild_vs_replay": measured.rebuild_eps / measured.replay_eps,
                f"{backend}_rebuild_vs_target": measured.rebuild_eps / rebuild_rate.REBUILD_TARGET_EPS,
            }
    return figures


# --- report ----------------------------------------------------------------------------------------


def targets(figures: dict[str, Any], rebuild_backends: list[str]) -> dict[str, bool]:
    met: dict[str, bool] = {}
    if "live_p99_ms" in figures:
        met[f"live_p99_ms<{LATENCY_TARGET_MS:.0f}"] = figures["live_p99_ms"] < LATENCY_TARGET_MS
        met[f"live_from_log_p99_ms<{LATENCY_TARGET_MS:.0f}"] = figures["live_from_log_p99_ms"] < LATENCY_TARGET_MS
        met["live_missed_deltas==0"] = figures["live_missed_deltas"] == 0 and figures["live_reports_failed"] == 0
    for backend in rebuild_backends:
        if f"{backend}_rebuild_eps" in figures:
            met[f"{backend}_rebuild_eps>={rebuild_rate.REBUILD_TARGET_EPS:.0f}"] = (
                figures[f"{backend}_rebuild_eps"] >= rebuild_rate.REBUILD_TARGET_EPS)
    return met


def print_live(f: dict[str, Any], options: LiveOptions) -> None:
    print(
        f"live board: {f['live_clients']} WebSocket boards on one `dispatch api` process, one `dispatch projector` "
        f"process, {f['live_backend']} (default durability), local Redis; {f['live_reports']} reports at "
        f"{options.rate:g}/s (achieved {f['live_report_rate']:.1f}/s) for {options.seconds:g} s after a "
        f"{options.warmup_seconds:g} s warm-up; boards offer permessage-deflate: "
        f"{'yes, as browsers do' if options.deflate else 'no'}; latency from the 201 to the first delta holding "
        "the incident, on every board"
    )
    header = (f"{'measure':<50} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'p99 vs relay-only':>17} "
              f"{'p99 vs target':>13}")
    print(header)
    print("-" * len(header))
    reference = f["reference_relay_p99_ms"]
    for label, prefix in (
        (f"report accepted (201) → delta on board ({f['live_deliveries']:,})", "live"),
        ("report sent → delta on board (upper bound)", "live_from_sent"),
        ("report appended to the log → delta on board", "live_from_log"),
        ("  of which: appended → projector published", "stage_appended_to_published"),
        ("  of which: published → delta on board", "stage_published_to_board"),
        (f"relay only: publish → board (reference, {f['reference_deliveries']:,})", "reference_relay"),
        ("report HTTP round trip (for scale)", "report_http"),
    ):
        p99 = f[f"{prefix}_p99_ms"]
        vs_target = ratio(p99, LATENCY_TARGET_MS) if prefix in ("live", "live_from_log") else ""
        print(f"{label:<50} {f[f'{prefix}_p50_ms']:>7.1f} {p99:>7.1f} {f[f'{prefix}_max_ms']:>7.1f} "
              f"{ratio(p99, reference):>17} {vs_target:>13}")
    print(
        f"missed deltas: {f['live_missed_deltas']} of {f['live_reports'] * f['live_clients']:,} "
        f"(reference: {f['reference_missed']}); resyncs {f['live_resyncs']}; positions out of order "
        f"{f['live_out_of_order']}; failed reports {f['live_reports_failed']}; deltas read before their 201 "
        f"{f['live_delta_before_201']} (counted as 0 ms)"
    )
    print(f"CPU while reporting (cores): API {f['api_cpu_cores']:.2f}, projector {f['projector_cpu_cores']:.2f}, "
          f"benchmark (boards + reporter) {f['bench_cpu_cores']:.2f}")


def print_rebuild(f: dict[str, Any], backends: list[str], repeats: int) -> None:
    print(
        f"rebuild: {f['rebuild_events']:,} events written through handle (incidents with dispatches, "
        f"milestones, notes, referrals, closes) in {f['rebuild_log_build_seconds']:.0f} s; "
        f"Projector(store, all_projections()).rebuild(), best of {repeats}, beside reading the same log"
    )
    header = f"{'backend':<9} {'rebuild events/s':>16} {'read-only events/s':>18} {'vs read-only':>12} {'vs target':>9}"
    print(header)
    print("-" * len(header))
    for backend in backends:
        print(f"{backend:<9} {f[f'{backend}_rebuild_eps']:>16,.0f} {f[f'{backend}_replay_eps']:>18,.0f} "
              f"{f[f'{backend}_rebuild_vs_replay']:>11.2f}× {f[f'{backend}_rebuild_vs_target']:>8.2f}×")


def print_targets(f: dict[str, Any], met: dict[str, bool]) -> None:
    for name, ok in met.items():
        print(f"target {_target_text(f, name)}: {'MET' if ok else 'MISSED'}")


def _target_text(f: dict[str, Any], name: str) -> str:
    if name.startswith("live_p99"):
        return (f"report accepted (201) → delta p99 < {LATENCY_TARGET_MS:.0f} ms ({f['live_p99_ms']:.1f} ms, "
                f"{f['live_p99_ms'] / LATENCY_TARGET_MS:.2f}× the limit)")
    if name.startswith("live_from_log_p99"):
        return (f"same, from the append to the log (server clock) ({f['live_from_log_p99_ms']:.1f} ms, "
                f"{f['live_from_log_p99_ms'] / LATENCY_TARGET_MS:.2f}× the limit)")
    if name.startswith("live_missed"):
        return f"no missed delta ({f['live_missed_deltas']} missed, {f['live_reports_failed']} reports failed)"
    backend = name.split("_rebuild")[0]
    return (f"{backend} rebuild ≥ {rebuild_rate.REBUILD_TARGET_EPS:,.0f} events/s "
            f"({f[f'{backend}_rebuild_eps']:,.0f}, {f[f'{backend}_rebuild_vs_target']:.2f}×)")


# --- command line ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.live_board", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="reports per second")
    parser.add_argument("--seconds", type=float, default=25.0, help="measured seconds of reporting")
    parser.add_argument("--warmup-seconds", type=float, default=2.0)
    parser.add_argument("--reference-seconds", type=float, default=5.0, help="seconds of relay-only messages")
    parser.add_argument("--drain-seconds", type=float, default=10.0, help="how long to wait for late deltas")
    parser.add_argument("--events", type=int, default=100_000, help="events in the log the rebuild replays")
    parser.add_argument("--rebuilds", type=int, default=2, help="rebuilds per backend; the best counts")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite", help="the live system's")
    parser.add_argument("--rebuild-backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--only", choices=["live", "rebuild"])
    parser.add_argument("--no-deflate", action="store_true",
                        help="boards do not offer permessage-deflate (browsers do), so nothing is compressed")
    parser.add_argument("--quick", action="store_true", help="20 boards, 3 s at 10/s, 5,000 events (smoke tests)")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.rate, args.seconds, args.warmup_seconds = 20, 10.0, 3.0, 0.5
        args.reference_seconds, args.events, args.rebuilds = 1.0, 5_000, 1
    if min(args.clients, args.events, args.rebuilds) < 1 or min(args.rate, args.seconds) <= 0:
        parser.error("--clients, --events and --rebuilds must be at least 1; --rate and --seconds above 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    options = LiveOptions(args.clients, args.rate, args.seconds, args.warmup_seconds, args.drain_seconds,
                          args.reference_seconds, deflate=not args.no_deflate)
    rebuild_backends = ["sqlite", "postgres"] if args.rebuild_backend == "both" else [args.rebuild_backend]
    figures: dict[str, Any] = {}
    if args.only != "rebuild":
        figures |= run_live(args.backend, options, args.postgres_url)
    if args.only != "live":
        figures |= run_rebuild(args.events, rebuild_backends, args.rebuilds, args.postgres_url)
    met = targets(figures, rebuild_backends)
    if args.only != "rebuild":
        print_live(figures, options)
        print()
    if args.only != "live":
        print_rebuild(figures, rebuild_backends, args.rebuilds)
        print()
    print_targets(figures, met)
    print_json_line({"live_rate_target": args.rate}, figures, met, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
