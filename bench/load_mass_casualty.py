"""Mass-casualty load: a boat accident's worst hour on the production topology, over loopback.

The system runs as docker-compose runs it, one process per command: two `dispatch api` processes (there is
no load balancer: clients are dealt round-robin over the two), one `dispatch projector`, one `dispatch worker`
with its RQ scheduler, against a PostgreSQL schema (or an SQLite file) and the local Redis with this run's
own channels and queue. In order:

1. 200 operators' boards open WS /ws/board (100 on each API) and take their snapshot.
2. 100 referrals open: a Koh Yao health unit or island reports a red patient, a boat of its own is
   dispatched, and a referral to Vachira Phuket Hospital is requested (warning and breach checks wait in
   RQ). From then on every boat reports its position every 30 s while it sails towards Phuket; each position
   makes the worker predict that referral's arrival again.
3. The hour's peak: 500 reports in 5 minutes from 50 lifeguards' phones at random (Poisson) moments, from
   the Similan dive sites, the Khao Lak beaches and the piers, each with its own Idempotency-Key.

Measured: every answer (errors must be 0: a non-2xx, a refused connection, a board socket that closed, a
board that never got a report's delta, a delta out of order), the report round trip p50/p99, the board
delta latency (a report's 201 to the first delta holding it, on every board; a delta read before the 201
counts as 0 ms), and the resident memory (RSS) of every server process, sampled every 5 s: its least-squares
slope in MB per minute and its first minute against its last. `--soak-minutes 10` keeps the same rates for
10 minutes and checks memory stays flat: after the first minute (warm-up: imports, pools and caches fill),
no process grows by more than FLAT_SLOPE_MB_PER_MINUTE.

Why not locust: it runs its users on gevent, whose monkey-patched sockets would host 200 WebSocket boards
timed to the millisecond beside the asyncio clients bench/live_board.py already measures them with; a bounded
asyncio client (uvloop, httpx, websockets) does the same in one process, at a few percent of a core here.

    .venv/bin/python -m bench.load_mass_casualty [--quick] [--minutes M] [--reports N] [--boards N]
        [--referrals N] [--phones N] [--position-seconds S] [--soak-minutes M] [--backend postgres|sqlite]

Progress goes to stderr. The table goes to stdout, and its last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import uvloop
from redis import Redis
from websockets.protocol import State

from bench.live_board import Board, follow, open_boards, wait_for_projector
from bench.system import DEFAULT_POSTGRES_URL, BenchTopology, database, percentile, print_json_line, progress
from dispatch.domain.geo import load_places

# Memory is flat when, after the first minute, no process's RSS grows faster than this.
FLAT_SLOPE_MB_PER_MINUTE: Final[float] = 1.0
WARMUP_MINUTES: Final[float] = 1.0
REQUEST_TIMEOUT_SECONDS: Final[float] = 30.0
SETUP_CONCURRENCY: Final[int] = 10
PLACES = load_places()
# Where a boat accident's casualties are reported from: the dive sites, the beaches, the piers.
INCIDENT_SITES: Final[tuple[tuple[str, str, str], ...]] = (
    ("boat", "sim_honeymoon_bay", "dive_injury"), ("boat", "sim_eel_garden", "drowning"),
    ("boat", "sim_shark_fin_reef", "dive_injury"), ("boat", "sim_christmas_point", "trauma"),
    ("beach", "beach_nang_thong", "drowning"), ("beach", "beach_khao_lak_south", "drowning"),
    ("beach", "beach_thai_mueang", "marine_sting"), ("island", "sim_ko_bon", "trauma"),
    ("boat", "pier_thap_lamu", "trauma"), ("boat", "pier_khura_buri", "other"),
)
TRIAGE_MIX: Final[tuple[tuple[str, int], ...]] = (("red", 20), ("yellow", 40), ("green", 30), ("white", 10))
REFERRAL_SITES: Final[tuple[str, ...]] = ("hu_phru_nai", "isl_ko_yao_yai", "isl_ko_yao_noi")
DESTINATION = PLACES.get("hosp_vachira_phuket")


@dataclass(frozen=True)
class Options:
    minutes: float
    reports: int
    boards: int
    referrals: int
    phones: int
    position_seconds: float
    sample_seconds: float
    drain_seconds: float
    soak: bool
    seed: int


@dataclass
class Tally:
    """Latencies and errors of one kind of request."""

    ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Run:
    boards: list[Board] = field(default_factory=list)
    reports: Tally = field(default_factory=Tally)
    positions: Tally = field(default_factory=Tally)
    referral_setup: Tally = field(default_factory=Tally)
    accepted: dict[str, float] = field(default_factory=dict)  # incident id -> when its 201 arrived
    rss: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # process -> (minute, MB)
    seconds: float = 0.0
    boards_closed: int = 0


# --- requests --------------------------------------------------------------------------------------


async def timed(tally: Tally, what: str, send: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response | None:
    """Send one request; note its round trip, or why it failed (any non-2xx is an error)."""
    started = time.perf_counter()
    try:
        answer = await send()
    except httpx.HTTPError as exc:
        tally.errors.append(f"{what}: {type(exc).__name__} {exc}")
        return None
    if not answer.is_success:
        tally.errors.append(f"{what}: {answer.status_code} {answer.text[:200]}")
        return None
    tally.ms.append((time.perf_counter() - started) * 1000)
    return answer


def post(client: httpx.AsyncClient, path: str, token: str, body: dict[str, Any],
         method: str = "POST") -> Callable[[], Awaitable[httpx.Response]]:
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
    return lambda: client.request(method, path, json=body, headers=headers)


async def open_referral(client: httpx.AsyncClient, operator: str, index: int, run: Run) -> None:
    """A Koh Yao patient, a boat of its own sent to them, and a referral to Vachira by that boat."""
    site = PLACES.get(REFERRAL_SITES[index % len(REFERRAL_SITES)])
    boat = f"MC-{index:03d}"
    started, tally = time.perf_counter(), Tally()
    steps: list[tuple[str, dict[str, Any]]] = [
        ("/api/resources", {"id": boat, "kind": "boat", "name": f"Ambulance boat {index}", "speed_knots": 22,
                            "position": {"lat": site.position.lat, "lon": site.position.lon},
                            "home_site_id": site.id}),
        ("/api/incidents", {"source": "clinic", "site_id": site.id, "triage": "red", "category": "trauma"}),
    ]
    incident = ""
    for path, body in steps:
        if (answer := await timed(tally, f"referral {index} {path}", post(client, path, operator, body))) is None:
            run.referral_setup.errors += tally.errors
            return
        incident = answer.json()["id"]
    for path, body in ((f"/api/incidents/{incident}/dispatch", {"resource_id": boat}),
                       (f"/api/incidents/{incident}/referral", {"facility_id": DESTINATION.id, "resource_id": boat})):
        if await timed(tally, f"referral {index} {path}", post(client, path, operator, body)) is None:
            run.referral_setup.errors += tally.errors
            return
    run.referral_setup.ms.append((time.perf_counter() - started) * 1000)


async def sail(client: httpx.AsyncClient, operator: str, index: int, options: Options, run: Run,
               until: float) -> None:
    """Boat `index` reports its position every position_seconds, each a step closer to Phuket."""
    site = PLACES.get(REFERRAL_SITES[index % len(REFERRAL_SITES)])
    lat, lon = site.position.lat, site.position.lon
    await asyncio.sleep(options.position_seconds * index / max(options.referrals, 1))  # staggered
    while time.perf_counter() < until:
        lat += (DESTINATION.position.lat - lat) * 0.05
        lon += (DESTINATION.position.lon - lon) * 0.05
        body = {"position": {"lat": round(lat, 6), "lon": round(lon, 6)}}
        await timed(run.positions, f"boat {index} position", post(client, f"/api/resources/MC-{index:03d}",
                                                                  operator, body, method="PATCH"))
        await asyncio.sleep(options.position_seconds)


def report_body(rng: random.Random) -> dict[str, Any]:
    source, site, category = rng.choice(INCIDENT_SITES)
    triage = rng.choices([t for t, _ in TRIAGE_MIX], weights=[w for _, w in TRIAGE_MIX])[0]
    return {"source": source, "site_id": site, "triage": triage, "category": category,
            "patients": rng.choice((1, 1, 1, 2, 3)), "language": rng.choice(("th", "en")),
            "description": "Speedboat capsized near the reef, several passengers in the water"}


async def report_the_hour(clients: list[httpx.AsyncClient], phones: list[str], options: Options, run: Run) -> None:
    """options.reports reports at Poisson moments over options.minutes, open loop, phones round-robin."""
    rng = random.Random(options.seed)
    rate = options.reports / (options.minutes * 60)
    moments, at = [], 0.0
    for _ in range(options.reports):
        at += rng.expovariate(rate)
        moments.append(at)
    scale = options.minutes * 60 / moments[-1]  # the last report lands at the end of the window
    started, sending = time.perf_counter(), []
    for index, moment in enumerate(moments):
        await asyncio.sleep(max(0.0, started + moment * scale - time.perf_counter()))
        client = clients[index % len(clients)]
        sending.append(asyncio.create_task(report_once(client, phones[index % len(phones)], report_body(rng), run)))
    await asyncio.gather(*sending)


async def report_once(client: httpx.AsyncClient, phone: str, body: dict[str, Any], run: Run) -> None:
    answer = await timed(run.reports, "report", post(client, "/api/incidents", phone, body))
    if answer is not None:
        run.accepted[answer.json()["id"]] = time.perf_counter()


# --- memory ----------------------------------------------------------------------------------------


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MB (Linux /proc), None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


def children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


async def sample_memory(pids: dict[str, int], every: float, run: Run, stop: asyncio.Event) -> None:
    """RSS of every process every `every` seconds; the worker's RQ scheduler (the child it forks once it
    listens) under worker_scheduler."""
    started = time.perf_counter()
    while not stop.is_set():
        minute = (time.perf_counter() - started) / 60
        forked = children(pids["worker"])
        for name, pid in (pids | ({"worker_scheduler": forked[0]} if forked else {})).items():
            if (mb := rss_mb(pid)) is not None:
                run.rss.setdefault(name, []).append((minute, mb))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


def slope_mb_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of RSS over time."""
    if len(samples) < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / len(samples)
    mean_mb = sum(mb for _, mb in samples) / len(samples)
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    return sum((t - mean_t) * (mb - mean_mb) for t, mb in samples) / spread if spread else 0.0


def memory_figures(run: Run) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for name, samples in run.rss.items():
        end = samples[-1][0]
        first = [mb for t, mb in samples if t <= 1.0]
        last = [mb for t, mb in samples if t >= end - 1.0]
        settled = [(t, mb) for t, mb in samples if t >= WARMUP_MINUTES]
        figures |= {
            f"rss_{name}_start_mb": samples[0][1], f"rss_{name}_end_mb": samples[-1][1],
            f"rss_{name}_max_mb": max(mb for _, mb in samples),
            f"rss_{name}_first_minute_mb": sum(first) / len(first),
            f"rss_{name}_last_minute_mb": sum(last) / len(last),
            f"rss_{name}_slope_mb_per_min": slope_mb_per_minute(samples),
            f"rss_{name}_settled_slope_mb_per_min": slope_mb_per_minute(settled),
            f"rss_{name}_samples": len(samples),
        }
    return figures


# --- the run ---------------------------------------------------------------------------------------


async def drive(apis: list[str], tokens: dict[str, list[str]], pids: dict[str, int], options: Options) -> Run:
    run = Run()
    progress(f"connecting {options.boards} boards over {len(apis)} API processes")
    per_api = [tokens["boards"][n::len(apis)] for n in range(len(apis))]
    for api, board_tokens in zip(apis, per_api, strict=True):
        run.boards += await open_boards(api.replace("http://", "ws://") + "/ws/board", board_tokens, deflate=True)
    followers = [asyncio.create_task(follow(board)) for board in run.boards]
    stop_sampling = asyncio.Event()
    sampler = asyncio.create_task(sample_memory(pids, options.sample_seconds, run, stop_sampling))
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    clients = [httpx.AsyncClient(base_url=api, timeout=REQUEST_TIMEOUT_SECONDS, limits=limits) for api in apis]
    try:
        operator = tokens["operator"][0]
        progress(f"opening {options.referrals} Koh Yao referrals, each with its boat")
        gate = asyncio.Semaphore(SETUP_CONCURRENCY)

        async def setup(index: int) -> None:
            async with gate:
                await open_referral(clients[index % len(clients)], operator, index, run)

        await asyncio.gather(*(setup(index) for index in range(options.referrals)))
        progress(f"reporting {options.reports} incidents over {options.minutes:g} min; boats report positions "
                 f"every {options.position_seconds:g} s")
        started = time.perf_counter()
        until = started + options.minutes * 60
        sailing = [asyncio.create_task(sail(clients[n % len(clients)], operator, n, options, run, until))
                   for n in range(options.referrals)]
        await report_the_hour(clients, tokens["phones"], options, run)
        run.seconds = time.perf_counter() - started
        await asyncio.gather(*sailing)
        await delivered_everywhere(run, options.drain_seconds)
    finally:
        stop_sampling.set()
        await sampler
        run.boards_closed = sum(board.socket.state is not State.OPEN for board in run.boards)
        for board in run.boards:
            await board.socket.close()
        await asyncio.gather(*followers)
        for client in clients:
            await client.aclose()
    return run


async def delivered_everywhere(run: Run, timeout: float) -> None:
    """Wait until every board has seen every accepted report, or `timeout` seconds."""
    deadline = time.perf_counter() + timeout
    while any(key not in board.seen for board in run.boards for key in run.accepted):
        if time.perf_counter() > deadline:
            return
        await asyncio.sleep(0.1)


def run_load(backend: str, options: Options, postgres_url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-load-") as directory, \
            database(backend, Path(directory), postgres_url) as database_url:
        topology = BenchTopology(Path(directory), database_url)
        topology.prepare()
        try:
            apis = [topology.start_api(), topology.start_api()]
            progress(f"signing in {options.boards} operators' boards and {options.phones} lifeguards' phones")
            tokens = {
                "boards": topology.sign_in_many(apis[0], "operator", options.boards),
                "operator": topology.sign_in_many(apis[1], "operator", 1),
                "phones": topology.sign_in_many(apis[0], "lifeguard", options.phones),
            }
            # After the sign-ins, as bench/live_board.py does (an SQLite login meeting a projector commit).
            projector = topology.start("projector")
            worker = topology.start("worker")
            wait_for_projector(database_url)
            pids = {"api_1": topology.processes[0].pid, "api_2": topology.processes[1].pid,
                    "projector": projector.pid, "worker": worker.pid}
            run = uvloop.run(drive(apis, tokens, pids, options))
            stopped = [str(process.args) for process in topology.processes if process.poll() is not None]
            figures = figures_of(run, backend, options, stopped)
        finally:
            topology.stop()
            forget_queue(topology.env)
        if figures["errors"]:
            progress(f"errors; the processes' logs:\n{topology.logs()}")
    return figures


def forget_queue(env: dict[str, str]) -> None:
    """Leave the shared Redis as found: every key of this run's queue and jobs carries the queue name."""
    with Redis.from_url(env["DISPATCH_REDIS_URL"]) as redis:
        for key in redis.scan_iter(match=f"*{env['DISPATCH_QUEUE_NAME']}*", count=1000):
            redis.delete(key)


def figures_of(run: Run, backend: str, options: Options, stopped: list[str]) -> dict[str, Any]:
    deltas, early, missed, out_of_order = [], 0, 0, 0
    for board in run.boards:
        out_of_order += board.out_of_order
        for incident, accepted in run.accepted.items():
            if (arrived := board.seen.get(incident)) is None:
                missed += 1
                continue
            early += arrived < accepted
            deltas.append(max(0.0, arrived - accepted) * 1000)
    errors = (len(run.reports.errors) + len(run.positions.errors) + len(run.referral_setup.errors) + missed
              + out_of_order + run.boards_closed + len(stopped))
    figures: dict[str, Any] = {
        "backend": backend, "minutes": options.minutes, "soak": options.soak, "boards": len(run.boards),
        "reports": len(run.accepted), "reports_planned": options.reports,
        "report_rate_per_s": len(run.accepted) / run.seconds if run.seconds else 0.0,
        "referrals_open": len(run.referral_setup.ms), "positions": len(run.positions.ms),
        "deliveries": len(deltas), "missed_deltas": missed, "deltas_before_201": early,
        "out_of_order": out_of_order, "boards_closed": run.boards_closed, "processes_stopped": stopped,
        "resyncs": sum(board.resyncs for board in run.boards),
        "report_errors": len(run.reports.errors), "position_errors": len(run.positions.errors),
        "referral_setup_errors": len(run.referral_setup.errors), "errors": errors,
        "error_samples": (run.reports.errors + run.positions.errors + run.referral_setup.errors)[:5],
    }
    for name, values in (("report", run.reports.ms), ("board_delta", deltas), ("position", run.positions.ms),
                         ("referral_setup", run.referral_setup.ms)):
        ordered = sorted(values)
        figures |= {f"{name}_p50_ms": percentile(ordered, 0.5), f"{name}_p99_ms": percentile(ordered, 0.99),
                    f"{name}_max_ms": ordered[-1] if ordered else 0.0}
    return figures | memory_figures(run)


# --- report ----------------------------------------------------------------------------------------


def targets(figures: dict[str, Any], options: Options) -> dict[str, bool]:
    met = {"errors==0": figures["errors"] == 0}
    if options.soak:
        met[f"memory_flat(settled slope<{FLAT_SLOPE_MB_PER_MINUTE:g} MB/min)"] = all(
            value < FLAT_SLOPE_MB_PER_MINUTE for key, value in figures.items()
            if key.endswith("_settled_slope_mb_per_min"))
    return met


def print_table(f: dict[str, Any], options: Options) -> None:
    print(
        f"mass-casualty {'soak' if options.soak else 'hour'}: {f['reports']} reports in {options.minutes:g} min "
        f"({f['report_rate_per_s']:.2f}/s, Poisson) from {options.phones} phones, {f['boards']} boards on 2 "
        f"`dispatch api` processes (round-robin), {f['referrals_open']} open Koh Yao referrals whose boats "
        f"report their position every {options.position_seconds:g} s; 1 projector, 1 worker; {f['backend']}, "
        "local Redis, loopback"
    )
    header = f"{'measure':<46} {'count':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    print(header)
    print("-" * len(header))
    for label, name, count in (
        ("report: POST /api/incidents → 201", "report", f["reports"]),
        ("board delta: 201 → delta, on every board", "board_delta", f["deliveries"]),
        ("boat position: PATCH /api/resources/{id}", "position", f["positions"]),
        ("referral opened: boat, report, dispatch, refer", "referral_setup", f["referrals_open"]),
    ):
        print(f"{label:<46} {count:>8,} {f[f'{name}_p50_ms']:>8.1f} {f[f'{name}_p99_ms']:>8.1f} "
              f"{f[f'{name}_max_ms']:>8.1f}")
    print(
        f"errors: {f['errors']} (reports {f['report_errors']}, positions {f['position_errors']}, referrals "
        f"{f['referral_setup_errors']}, missed deltas {f['missed_deltas']}, out of order {f['out_of_order']}, "
        f"board sockets closed {f['boards_closed']}, processes stopped {len(f['processes_stopped'])}); "
        f"resyncs {f['resyncs']}; deltas read before their 201 {f['deltas_before_201']} (counted as 0 ms)"
    )
    for sample in f["error_samples"]:
        print(f"  e.g. {sample}")
    header = (f"{'process':<20} {'RSS start':>9} {'end':>7} {'max':>7} {'1st min':>8} {'last min':>8} "
              f"{'slope MB/min':>12} {'after 1st min':>13}")
    print(header)
    print("-" * len(header))
    for name in sorted({key[4:].rsplit("_start_mb", 1)[0] for key in f if key.endswith("_start_mb")}):
        p = f"rss_{name}"
        print(f"{name:<20} {f[f'{p}_start_mb']:>9.1f} {f[f'{p}_end_mb']:>7.1f} {f[f'{p}_max_mb']:>7.1f} "
              f"{f[f'{p}_first_minute_mb']:>8.1f} {f[f'{p}_last_minute_mb']:>8.1f} "
              f"{f[f'{p}_slope_mb_per_min']:>12.2f} {f[f'{p}_settled_slope_mb_per_min']:>13.2f}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load_mass_casualty", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long the reports take")
    parser.add_argument("--reports", type=int, default=500)
    parser.add_argument("--boards", type=int, default=200)
    parser.add_argument("--referrals", type=int, default=100)
    parser.add_argument("--phones", type=int, default=50, help="lifeguards' phones the reports come from")
    parser.add_argument("--position-seconds", type=float, default=30.0, help="how often each boat reports")
    parser.add_argument("--sample-seconds", type=float, default=5.0, help="how often RSS is read")
    parser.add_argument("--drain-seconds", type=float, default=15.0, help="how long to wait for late deltas")
    parser.add_argument("--soak-minutes", type=float, help="keep the hour's rates this long; memory must stay flat")
    parser.add_argument("--seed", type=int, default=2016, help="the random arrival times and report contents")
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--quick", action="store_true",
                        help="40 reports in 0.25 min, 20 boards, 10 referrals (a smoke test)")
    args = parser.parse_args(argv)
    if args.soak_minutes:
        args.reports = round(args.reports / args.minutes * args.soak_minutes)
        args.minutes = args.soak_minutes
    if args.quick:
        args.minutes, args.reports, args.boards, args.referrals, args.phones = 0.25, 40, 20, 10, 5
        args.position_seconds, args.sample_seconds, args.drain_seconds = 5.0, 1.0, 10.0
    if min(args.reports, args.boards, args.phones) < 1 or args.referrals < 0 or args.minutes <= 0:
        parser.error("--reports, --boards and --phones must be at least 1, --minutes above 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    options = Options(args.minutes, args.reports, args.boards, args.referrals, args.phones, args.position_seconds,
                      args.sample_seconds, args.drain_seconds, soak=bool(args.soak_minutes), seed=args.seed)
    figures = run_load(args.backend, options, args.postgres_url)
    met = targets(figures, options)
    print_table(figures, options)
    for name, ok in met.items():
        print(f"target {name}: {'MET' if ok else 'MISSED'}")
    print_json_line({"reports_target": options.reports, "minutes_target": options.minutes}, figures, met, started)
    return 0 if all(met.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
