"""Reporting benchmark: `POST /api/incidents` against the running API, beside a trivial endpoint.

The API runs as production runs it: one uvicorn process built like `dispatch api` (`python -m bench.served`,
which only adds `GET /bench/trivial`), against an SQLite file at the default durability (WAL,
synchronous=FULL) or a PostgreSQL schema, with the local Redis and the production log level. 50 clients
over loopback, each on its own keep-alive connection and signed in as its own session, send requests
back to back; every report carries a fresh Idempotency-Key, so each one appends an incident. The trivial
endpoint, served by the same process in the same run, is the framework's own ceiling; the endpoints are
measured in interleaved rounds so both see the same noise. Targets: reporting ≥ 0.5× the trivial
endpoint's throughput, p99 < 50 ms at 50 clients.

    .venv/bin/python -m bench.api_report [--quick] [--clients N] [--seconds S] [--rounds R]
                                         [--backend sqlite|postgres|both] [--postgres-url URL]

Progress goes to stderr. The table goes to stdout, and its last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson
import uvloop

from bench.loopback import HttpConnection, request_bytes
from bench.served import TRIVIAL_PATH, TRIVIAL_SYNC_PATH
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

THROUGHPUT_TARGET: Final[float] = 0.5
P99_TARGET_MS: Final[float] = 50.0


@dataclass(frozen=True)
class Endpoint:
    key: str
    label: str
    expected_status: int
    # Builds the next request for client `index` (its token, a fresh Idempotency-Key).
    request: Callable[[int], bytes]


@dataclass
class Sample:
    """Everything one endpoint did over all its measured rounds."""

    requests: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    latencies_ns: list[int] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    def add(self, other: Sample) -> None:
        self.requests += other.requests
        self.seconds += other.seconds
        self.server_cpu += other.server_cpu
        self.client_cpu += other.client_cpu
        self.latencies_ns += other.latencies_ns
        self.statuses.update(other.statuses)


@dataclass(frozen=True)
class Options:
    clients: int
    seconds: float
    rounds: int
    warmup_seconds: float


def endpoints(url: str, tokens: list[str]) -> list[Endpoint]:
    host = url.removeprefix("http://")
    trivial = request_bytes("GET", TRIVIAL_PATH, host)
    trivial_sync = request_bytes("GET", TRIVIAL_SYNC_PATH, host)
    body = orjson.dumps(REPORT_BODY)

    def report(index: int) -> bytes:
        headers = {"Authorization": f"Bearer {tokens[index]}", "Content-Type": "application/json",
                   "Idempotency-Key": uuid.uuid4().hex}
        return request_bytes("POST", "/api/incidents", host, headers, body)

    return [
        Endpoint("trivial", f"GET {TRIVIAL_PATH} (reference)", 200, lambda _index: trivial),
        Endpoint("trivial_sync", f"GET {TRIVIAL_SYNC_PATH}", 200, lambda _index: trivial_sync),
        Endpoint("report", "POST /api/incidents", 201, report),
    ]


# --- load ------------------------------------------------------------------------------------------


async def run_phase(url: str, endpoint: Endpoint, clients: int, seconds: float, server_pid: int) -> Sample:
    """`clients` connections sending `endpoint` back to back for `seconds`; what they saw and what it cost."""
    host, port = url.removeprefix("http://").split(":")
    connections = [await HttpConnection.open(host, int(port)) for _ in range(clients)]
    sample = Sample()
    deadline = time.perf_counter() + seconds

    async def client(index: int) -> None:
        connection = connections[index]
        while time.perf_counter() < deadline:
            request = endpoint.request(index)
            sent = time.perf_counter_ns()
            status, _body = await connection.exchange(request)
            sample.latencies_ns.append(time.perf_counter_ns() - sent)
            sample.statuses[status] += 1

    started, client_cpu, server_cpu = time.perf_counter(), time.process_time(), cpu_seconds(server_pid)
    await asyncio.gather(*(client(index) for index in range(clients)))
    sample.seconds = time.perf_counter() - started
    sample.client_cpu = time.process_time() - client_cpu
    sample.server_cpu = cpu_seconds(server_pid) - server_cpu
    sample.requests = len(sample.latencies_ns)
    for connection in connections:
        await connection.close()
    return sample


async def measure(url: str, tokens: list[str], options: Options, server_pid: int, label: str) -> dict[str, Sample]:
    """Warm every endpoint up, then measure them in `rounds` interleaved rounds, rotating the order."""
    chosen = endpoints(url, tokens)
    for endpoint in chosen:
        progress(f"{label}: warming up {endpoint.label}")
        await run_phase(url, endpoint, options.clients, options.warmup_seconds, server_pid)
    samples = {endpoint.key: Sample() for endpoint in chosen}
    for round_index in range(options.rounds):
        shift = round_index % len(chosen)
        for endpoint in [*chosen[shift:], *chosen[:shift]]:
            progress(f"{label}: round {round_index + 1}/{options.rounds}, {endpoint.label}")
            samples[endpoint.key].add(
                await run_phase(url, endpoint, options.clients, options.seconds, server_pid))
    return samples


def run_backend(backend: str, options: Options, postgres_url: str, figures: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-api-") as directory, \
            database(backend, Path(directory), postgres_url) as database_url:
        topology = BenchTopology(Path(directory), database_url)
        topology.prepare()
        try:
            url, server = topology.start_served()
            tokens = topology.sign_in_many(url, "lifeguard", options.clients)
            samples = uvloop.run(measure(url, tokens, options, server.pid, backend))
        finally:
            topology.stop()
    for key, endpoint in ((e.key, e) for e in endpoints("http://x:0", [])):
        record(figures, f"{backend}_{key}", samples[key], endpoint.expected_status)
    figures[f"{backend}_report_vs_trivial"] = figures[f"{backend}_report_rps"] / figures[f"{backend}_trivial_rps"]


def record(figures: dict[str, Any], prefix: str, sample: Sample, expected_status: int) -> None:
    latencies = sorted(ns / 1e6 for ns in sample.latencies_ns)
    figures.update({
        f"{prefix}_requests": sample.requests,
        f"{prefix}_rps": sample.requests / sample.seconds,
        f"{prefix}_p50_ms": percentile(latencies, 0.50),
        f"{prefix}_p99_ms": percentile(latencies, 0.99),
        f"{prefix}_max_ms": latencies[-1] if latencies else 0.0,
        f"{prefix}_errors": sample.requests - sample.statuses[expected_status],
        f"{prefix}_server_cpu_us_per_request": sample.server_cpu / sample.requests * 1e6,
        f"{prefix}_server_cpu_cores": sample.server_cpu / sample.seconds,
        f"{prefix}_client_cpu_cores": sample.client_cpu / sample.seconds,
    })
    unexpected = {str(status): count for status, count in sample.statuses.items() if status != expected_status}
    if unexpected:
        figures[f"{prefix}_unexpected_statuses"] = unexpected


# --- report ----------------------------------------------------------------------------------------


def targets(figures: dict[str, Any], backends: list[str]) -> dict[str, bool]:
    met = {}
    for backend in backends:
        met[f"{backend}_report_vs_trivial>={THROUGHPUT_TARGET}"] = (
            figures[f"{backend}_report_vs_trivial"] >= THROUGHPUT_TARGET)
        met[f"{backend}_report_p99_ms<{P99_TARGET_MS:.0f}"] = figures[f"{backend}_report_p99_ms"] < P99_TARGET_MS
    return met


def print_report(figures: dict[str, Any], backends: list[str], options: Options, met: dict[str, bool]) -> None:
    print(
        f"API report benchmark: {options.clients} clients over loopback, one keep-alive connection and one "
        f"session each, back to back; {options.rounds} interleaved rounds of {options.seconds:g} s per endpoint "
        f"after a {options.warmup_seconds:g} s warm-up; one uvicorn process built as `dispatch api` "
        "(log level INFO), SQLite synchronous=FULL / PostgreSQL as configured, local Redis"
    )
    header = (f"{'backend':<9} {'endpoint':<34} {'req/s':>8} {'vs trivial':>10} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'max ms':>7} {'server µs/req':>13} {'server cores':>12} {'client cores':>12} {'errors':>6}")
    print(header)
    print("-" * len(header))
    for backend in backends:
        reference = figures[f"{backend}_trivial_rps"]
        for endpoint in endpoints("http://x:0", []):
            prefix = f"{backend}_{endpoint.key}"
            print(
                f"{backend:<9} {endpoint.label:<34} {figures[f'{prefix}_rps']:>8,.0f} "
                f"{ratio(figures[f'{prefix}_rps'], reference):>10} {figures[f'{prefix}_p50_ms']:>7.1f} "
                f"{figures[f'{prefix}_p99_ms']:>7.1f} {figures[f'{prefix}_max_ms']:>7.1f} "
                f"{figures[f'{prefix}_server_cpu_us_per_request']:>13,.0f} "
                f"{figures[f'{prefix}_server_cpu_cores']:>12.2f} {figures[f'{prefix}_client_cpu_cores']:>12.2f} "
                f"{figures[f'{prefix}_errors']:>6}"
            )
    print()
    for backend in backends:
        print(f"target reporting ≥ {THROUGHPUT_TARGET}× trivial ({backend}): "
              f"{_verdict(met, f'{backend}_report_vs_trivial>={THROUGHPUT_TARGET}')} "
              f"({figures[f'{backend}_report_vs_trivial']:.2f}×)")
        print(f"target report p99 < {P99_TARGET_MS:.0f} ms at {options.clients} clients ({backend}): "
              f"{_verdict(met, f'{backend}_report_p99_ms<{P99_TARGET_MS:.0f}')} "
              f"({figures[f'{backend}_report_p99_ms']:.1f} ms, "
              f"{figures[f'{backend}_report_p99_ms'] / P99_TARGET_MS:.2f}× the limit)")
    # Closed loop: each client waits for its answer, so mean latency = clients / throughput (Little's law).
    print(f"note: with {options.clients} clients back to back, mean latency = clients / throughput; a p99 under "
          f"{P99_TARGET_MS:.0f} ms needs more than {options.clients / (P99_TARGET_MS / 1000):,.0f} reports/s")


def _verdict(met: dict[str, bool], key: str) -> str:
    return "MET" if met[key] else "MISSED"


# --- command line ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.api_report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per endpoint per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup-seconds", type=float, default=1.5)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--quick", action="store_true", help="10 clients, one short round (smoke tests)")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.seconds, args.rounds, args.warmup_seconds = 10, 1.0, 1, 0.3
    if args.clients < 1 or args.rounds < 1 or args.seconds <= 0 or args.warmup_seconds < 0:
        parser.error("--clients and --rounds must be at least 1, --seconds above 0, --warmup-seconds not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    options = Options(args.clients, args.seconds, args.rounds, args.warmup_seconds)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    figures: dict[str, Any] = {}
    for backend in backends:
        run_backend(backend, options, args.postgres_url, figures)
    met = targets(figures, backends)
    print_report(figures, backends, options, met)
    settings = {"clients": options.clients, "seconds_per_round": options.seconds, "rounds": options.rounds}
    print_json_line(settings, figures, met, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
