"""Login flood benchmark: wrong sign-ins for one username, all at once, while phones report.

The API runs as production runs it (`python -m bench.served`, built like `dispatch api`) with production
argon2id cost (time cost 3, 64 MiB) and the flood's target account hashed at that cost, behind a trusted proxy
(`DISPATCH_FORWARDED_ALLOW_IPS=127.0.0.1`), so every wrong sign-in can come from an address of its own: the
worst case, in which no per-address lock stops a try and only the bound on concurrent hashes protects the
process. The phones (lifeguards, each on its own keep-alive connection and session) report back to back, first
alone (the reference), then while `--flooders` connections send wrong passwords for one operator back to back.
Afterwards the operator signs in from the centre's address with the right password.

Targets: API RSS growth during the flood < 200 MiB; report p99 during the flood < 250 ms.

    .venv/bin/python -m bench.login_flood [--quick] [--phones N] [--flooders N] [--seconds S]
                                          [--backend sqlite|postgres|both] [--postgres-url URL]

Progress goes to stderr; the table to stdout, whose last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import orjson
import uvloop

from bench.loopback import HttpConnection, request_bytes
from bench.system import (
    DEFAULT_POSTGRES_URL,
    REPORT_BODY,
    BenchTopology,
    database,
    percentile,
    print_json_line,
    progress,
)
from dispatch.accounts import Accounts
from dispatch.clock import SystemClock
from dispatch.database import make_engine

RSS_GROWTH_TARGET_MIB: Final[float] = 200.0
FLOOD_P99_TARGET_MS: Final[float] = 250.0
TARGET_USER: Final[str] = "duty-operator"
TARGET_PASSWORD: Final[str] = "the duty operator's own password"
CENTRE_ADDRESS: Final[str] = "10.20.0.5"
# argon2id as production hashes (dispatch.settings defaults): what makes each wrong sign-in expensive.
PRODUCTION_COST: Final[dict[str, str]] = {"DISPATCH_PASSWORD_TIME_COST": "3", "DISPATCH_PASSWORD_MEMORY_KIB": "65536"}


@dataclass(frozen=True)
class Options:
    phones: int
    flooders: int
    seconds: float
    warmup_seconds: float


@dataclass
class Phase:
    """What the phones and the flood saw in one phase, and the API's resident memory meanwhile."""

    report_ms: list[float] = field(default_factory=list)
    report_statuses: Counter[int] = field(default_factory=Counter)
    flood_statuses: Counter[int] = field(default_factory=Counter)
    rss_peak_mib: float = 0.0


def rss_mib(pid: int) -> float:
    """Resident memory of a process now (Linux /proc), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Load:
    """The requests one run sends, over loopback keep-alive connections."""

    def __init__(self, url: str, tokens: list[str]) -> None:
        self.host, port = url.removeprefix("http://").split(":")
        self.port = int(port)
        self.tokens = tokens
        self.addresses = (f"198.18.{n // 250 % 250}.{n % 250 + 1}" for n in itertools.count())

    def report(self, index: int) -> bytes:
        headers = {"Authorization": f"Bearer {self.tokens[index]}", "Content-Type": "application/json",
                   "Idempotency-Key": uuid.uuid4().hex}
        return request_bytes("POST", "/api/incidents", self.host, headers, orjson.dumps(REPORT_BODY))

    def sign_in(self, password: str, address: str | None = None) -> bytes:
        headers = {"Content-Type": "application/json", "X-Forwarded-For": address or next(self.addresses)}
        body = orjson.dumps({"username": TARGET_USER, "password": password})
        return request_bytes("POST", "/api/auth/login", self.host, headers, body)

    async def connections(self, count: int) -> list[HttpConnection]:
        return [await HttpConnection.open(self.host, self.port) for _ in range(count)]


async def run_phase(load: Load, options: Options, server_pid: int, flooders: int, seconds: float) -> Phase:
    """The phones report back to back for `seconds`, with `flooders` wrong sign-ins in flight meanwhile."""
    phones, flood = await load.connections(options.phones), await load.connections(flooders)
    phase, deadline = Phase(), time.perf_counter() + seconds

    async def phone(index: int) -> None:
        while time.perf_counter() < deadline:
            sent = time.perf_counter_ns()
            status, _body = await phones[index].exchange(load.report(index))
            phase.report_ms.append((time.perf_counter_ns() - sent) / 1e6)
            phase.report_statuses[status] += 1

    async def flooder(index: int) -> None:
        while time.perf_counter() < deadline:
            status, _body = await flood[index].exchange(load.sign_in("a wrong guess"))
            phase.flood_statuses[status] += 1

    async def watch_memory() -> None:
        while time.perf_counter() < deadline:
            phase.rss_peak_mib = max(phase.rss_peak_mib, rss_mib(server_pid))
            await asyncio.sleep(0.02)

    await asyncio.gather(*(phone(n) for n in range(options.phones)), *(flooder(n) for n in range(flooders)),
                         watch_memory())
    for connection in phones + flood:
        await connection.close()
    return phase


async def measure(url: str, tokens: list[str], options: Options, server_pid: int,
                  label: str) -> tuple[Phase, Phase, float, int]:
    """Warm-up, the reference (phones alone), the flood; the RSS before the flood and the centre's sign-in."""
    load = Load(url, tokens)
    progress(f"{label}: warming up ({options.warmup_seconds:g} s of reports and one sign-in)")
    await run_phase(load, options, server_pid, 1, options.warmup_seconds)
    progress(f"{label}: reference, {options.phones} phones reporting for {options.seconds:g} s")
    reference = await run_phase(load, options, server_pid, 0, options.seconds)
    before = rss_mib(server_pid)
    progress(f"{label}: flood, {options.flooders} wrong sign-ins at once for {options.seconds:g} s")
    flood = await run_phase(load, options, server_pid, options.flooders, options.seconds)
    [centre] = await load.connections(1)
    status, _body = await centre.exchange(load.sign_in(TARGET_PASSWORD, CENTRE_ADDRESS))
    await centre.close()
    return reference, flood, before, status


class FloodTopology(BenchTopology):
    """The benchmark topology, waiting longer for the API: on a shared two-core machine under load, starting
    the committer child alone took up to half a minute."""

    def wait_healthy(self, url: str, timeout_seconds: float = 120) -> None:
        super().wait_healthy(url, timeout_seconds)


def add_target_user(database_url: str) -> None:
    """The flood's target, hashed at production cost (the topology's own accounts are hashed cheaply)."""
    engine = make_engine(database_url)
    Accounts(engine, SystemClock(), timedelta(hours=1)).add_user(TARGET_USER, "operator", TARGET_PASSWORD)
    engine.dispose()


def run_backend(backend: str, options: Options, postgres_url: str, figures: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-flood-") as directory, \
            database(backend, Path(directory), postgres_url) as database_url:
        topology = FloodTopology(Path(directory), database_url, DISPATCH_FORWARDED_ALLOW_IPS="127.0.0.1",
                                 **PRODUCTION_COST)
        topology.prepare()
        add_target_user(database_url)
        try:
            url, server = topology.start_served()
            tokens = topology.sign_in_many(url, "lifeguard", options.phones)
            reference, flood, before, centre = uvloop.run(measure(url, tokens, options, server.pid, backend))
        finally:
            topology.stop()
    record(figures, backend, reference, flood, before, centre)


def record(figures: dict[str, Any], backend: str, reference: Phase, flood: Phase, before: float,
           centre: int) -> None:
    reference_p99 = percentile(sorted(reference.report_ms), 0.99)
    flood_p99 = percentile(sorted(flood.report_ms), 0.99)
    figures.update({
        f"{backend}_reference_reports": len(reference.report_ms),
        f"{backend}_reference_report_p99_ms": reference_p99,
        f"{backend}_flood_reports": len(flood.report_ms),
        f"{backend}_flood_report_p50_ms": percentile(sorted(flood.report_ms), 0.50),
        f"{backend}_flood_report_p99_ms": flood_p99,
        f"{backend}_flood_report_max_ms": max(flood.report_ms, default=0.0),
        f"{backend}_flood_vs_reference_p99": flood_p99 / reference_p99 if reference_p99 else 0.0,
        f"{backend}_report_errors": sum(count for status, count in (reference.report_statuses
                                                                    + flood.report_statuses).items()
                                        if status != 201),
        f"{backend}_sign_ins": sum(flood.flood_statuses.values()),
        f"{backend}_sign_in_statuses": {str(status): count for status, count in sorted(flood.flood_statuses.items())},
        f"{backend}_rss_before_flood_mib": before,
        f"{backend}_rss_peak_reference_mib": reference.rss_peak_mib,
        f"{backend}_rss_peak_flood_mib": flood.rss_peak_mib,
        f"{backend}_rss_growth_mib": max(0.0, flood.rss_peak_mib - before),
        f"{backend}_centre_sign_in_status": centre,
    })


def targets(figures: dict[str, Any], backends: list[str]) -> dict[str, bool]:
    met = {}
    for backend in backends:
        met[f"{backend}_rss_growth_mib<{RSS_GROWTH_TARGET_MIB:.0f}"] = (
            figures[f"{backend}_rss_growth_mib"] < RSS_GROWTH_TARGET_MIB)
        met[f"{backend}_flood_report_p99_ms<{FLOOD_P99_TARGET_MS:.0f}"] = (
            figures[f"{backend}_flood_report_p99_ms"] < FLOOD_P99_TARGET_MS)
        met[f"{backend}_centre_signs_in"] = figures[f"{backend}_centre_sign_in_status"] == 200
    return met


def print_report(figures: dict[str, Any], backends: list[str], options: Options, met: dict[str, bool]) -> None:
    print(f"Login flood: {options.flooders} wrong sign-ins in flight for one operator (each from its own address "
          f"through a trusted proxy, argon2id t=3 m=64 MiB) while {options.phones} phones report back to back; "
          f"{options.seconds:g} s per phase; one uvicorn process built as `dispatch api`")
    header = (f"{'backend':<9} {'ref p99 ms':>10} {'flood p50':>9} {'flood p99':>9} {'ratio':>6} {'max ms':>7} "
              f"{'RSS before':>10} {'RSS peak':>9} {'growth':>7} {'sign-ins':>8} {'centre':>6}")
    print(header)
    print("-" * len(header))
    for backend in backends:
        f = {key.removeprefix(f"{backend}_"): value for key, value in figures.items() if key.startswith(backend)}
        print(f"{backend:<9} {f['reference_report_p99_ms']:>10.1f} {f['flood_report_p50_ms']:>9.1f} "
              f"{f['flood_report_p99_ms']:>9.1f} {f['flood_vs_reference_p99']:>5.2f}× {f['flood_report_max_ms']:>7.1f} "
              f"{f['rss_before_flood_mib']:>10.0f} {f['rss_peak_flood_mib']:>9.0f} {f['rss_growth_mib']:>7.0f} "
              f"{f['sign_ins']:>8} {f['centre_sign_in_status']:>6}")
    print()
    for key, ok in met.items():
        print(f"target {key}: {'MET' if ok else 'MISSED'}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.login_flood", description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=10)
    parser.add_argument("--flooders", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per phase")
    parser.add_argument("--warmup-seconds", type=float, default=1.5)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--quick", action="store_true", help="2 phones, 4 flooders, 1 s phases (smoke tests)")
    args = parser.parse_args(argv)
    if args.quick:
        args.phones, args.flooders, args.seconds, args.warmup_seconds = 2, 4, 1.0, 0.3
    if args.phones < 1 or args.flooders < 1 or args.seconds <= 0 or args.warmup_seconds < 0:
        parser.error("--phones and --flooders must be at least 1, --seconds above 0, --warmup-seconds not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    options = Options(args.phones, args.flooders, args.seconds, args.warmup_seconds)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    figures: dict[str, Any] = {}
    for backend in backends:
        run_backend(backend, options, args.postgres_url, figures)
    met = targets(figures, backends)
    print_report(figures, backends, options, met)
    settings = {"benchmark": "login_flood", "phones": options.phones, "flooders": options.flooders,
                "seconds_per_phase": options.seconds}
    print_json_line(settings, figures, met, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
