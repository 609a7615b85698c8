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
from dispatch.adapters.accounts import Accounts
from dispatch.adapters.database import make_engine
from dispatch.runtime.clock import SystemClock

RSS_GROWTH_TARGET_MIB: Final[float] = 200.0
FLOOD_P99_TARGET_MS: Final[float] = 250.0
TARGET_USER: Final[str] = "duty-operator"
TARGET_PASSWORD: Final[str] = "the duty operator's own password"
CENTRE_ADDRESS: Final[str] = "10.20.0.5"
# The flood's scenarios: every try from one attacker's address (per-address locks refuse all but a few), and
# each try from an address of its own (no lock applies; only the bound on concurrent hashes holds).
FLOODS: Final[dict[str, str | None]] = {"one_address": "203.0.113.9", "each_address": None}
# argon2id as production hashes (dispatch.runtime.settings defaults): what makes each wrong sign-in expensive.
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
        """A sign-in for the target from `address` (through the trusted proxy), or from a fresh address."""
        headers = {"Content-Type": "application/json", "X-Forwarded-For": address or next(self.addresses)}
        body = orjson.dumps({"username": TARGET_USER, "password": password})
        return request_bytes("POST", "/api/auth/login", self.host, headers, body)

    async def connections(self, count: int) -> list[HttpConnection]:
        return [await HttpConnection.open(self.host, self.port) for _ in range(count)]


async def run_phase(load: Load, options: Options, server_pid: int, flooders: int, seconds: float,
                    address: str | None = None) -> Phase:
    """The phones report back to back for `seconds`, with `flooders` wrong sign-ins in flight meanwhile (all
    from `address`, or each from a fresh one)."""
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
            status, _body = await flood[index].exchange(load.sign_in("a wrong guess", address))
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


@dataclass
class Run:
    reference: Phase
    floods: dict[str, Phase]
    rss_before_mib: float
    centre_status: int


async def measure(url: str, tokens: list[str], options: Options, server_pid: int, label: str) -> Run:
    """Warm-up, the reference (phones alone), the floods (one attacker's address; a fresh address per try), and
    then the operator's own sign-in from the centre."""
    load = Load(url, tokens)
    progress(f"{label}: warming up ({options.warmup_seconds:g} s of reports and one sign-in)")
    await run_phase(load, options, server_pid, 1, options.warmup_seconds)
    progress(f"{label}: reference, {options.phones} phones reporting for {options.seconds:g} s")
    reference = await run_phase(load, options, server_pid, 0, options.seconds)
    before = rss_mib(server_pid)
    floods = {}
    for scenario, address in FLOODS.items():
        progress(f"{label}: flood from {scenario}, {options.flooders} wrong sign-ins at once for {options.seconds:g} s")
        floods[scenario] = await run_phase(load, options, server_pid, options.flooders, options.seconds, address)
    [centre] = await load.connections(1)
    status, _body = await centre.exchange(load.sign_in(TARGET_PASSWORD, CENTRE_ADDRESS))
    await centre.close()
    return Run(reference, floods, before, status)


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
            run = uvloop.run(measure(url, tokens, options, server.pid, backend))
        finally:
            topology.stop()
    record(figures, backend, run)


def record(figures: dict[str, Any], backend: str, run: Run) -> None:
    reference_p99 = percentile(sorted(run.reference.report_ms), 0.99)
    figures.update({
        f"{backend}_reference_reports": len(run.reference.report_ms),
        f"{backend}_reference_report_p50_ms": percentile(sorted(run.reference.report_ms), 0.50),
        f"{backend}_reference_report_p99_ms": reference_p99,
        f"{backend}_rss_before_flood_mib": run.rss_before_mib,
        f"{backend}_centre_sign_in_status": run.centre_status,
    })
    for scenario, flood in run.floods.items():
        prefix, flood_p99 = f"{backend}_{scenario}", percentile(sorted(flood.report_ms), 0.99)
        figures.update({
            f"{prefix}_reports": len(flood.report_ms),
            f"{prefix}_report_p50_ms": percentile(sorted(flood.report_ms), 0.50),
            f"{prefix}_report_p99_ms": flood_p99,
            f"{prefix}_report_max_ms": max(flood.report_ms, default=0.0),
            f"{prefix}_vs_reference_p99": flood_p99 / reference_p99 if reference_p99 else 0.0,
            f"{prefix}_report_errors": sum(n for status, n in flood.report_statuses.items() if status != 201),
            f"{prefix}_sign_ins": sum(flood.flood_statuses.values()),
            f"{prefix}_sign_in_statuses": {str(status): n for status, n in sorted(flood.flood_statuses.items())},
            f"{prefix}_rss_peak_mib": flood.rss_peak_mib,
            f"{prefix}_rss_growth_mib": max(0.0, flood.rss_peak_mib - run.rss_before_mib),
        })


def targets(figures: dict[str, Any], backends: list[str]) -> dict[str, bool]:
    met = {}
    for backend, scenario in itertools.product(backends, FLOODS):
        prefix = f"{backend}_{scenario}"
        met[f"{prefix}_rss_growth_mib<{RSS_GROWTH_TARGET_MIB:.0f}"] = (
            figures[f"{prefix}_rss_growth_mib"] < RSS_GROWTH_TARGET_MIB)
        met[f"{prefix}_report_p99_ms<{FLOOD_P99_TARGET_MS:.0f}"] = (
            figures[f"{prefix}_report_p99_ms"] < FLOOD_P99_TARGET_MS)
    for backend in backends:
        met[f"{backend}_centre_signs_in"] = figures[f"{backend}_centre_sign_in_status"] == 200
    return met


def print_report(figures: dict[str, Any], backends: list[str], options: Options, met: dict[str, bool]) -> None:
    print(f"Login flood: {options.flooders} wrong sign-ins in flight for one operator (through a trusted proxy, "
          f"argon2id t=3 m=64 MiB) while {options.phones} phones report back to back; {options.seconds:g} s per "
          "phase; one uvicorn process built as `dispatch api`")
    header = (f"{'backend':<9} {'phase':<13} {'reports':>7} {'p50 ms':>7} {'p99 ms':>7} {'vs ref':>7} "
              f"{'max ms':>7} {'RSS growth MiB':>14} {'sign-ins 401/429':>16}")
    print(header)
    print("-" * len(header))
    for backend in backends:
        print(f"{backend:<9} {'reference':<13} {figures[f'{backend}_reference_reports']:>7} "
              f"{figures[f'{backend}_reference_report_p50_ms']:>7.1f} "
              f"{figures[f'{backend}_reference_report_p99_ms']:>7.1f}")
        for scenario in FLOODS:
            f = {key.removeprefix(f"{backend}_{scenario}_"): value for key, value in figures.items()}
            statuses = f["sign_in_statuses"]
            print(f"{backend:<9} {scenario:<13} {f['reports']:>7} {f['report_p50_ms']:>7.1f} "
                  f"{f['report_p99_ms']:>7.1f} {f['vs_reference_p99']:>6.2f}× {f['report_max_ms']:>7.1f} "
                  f"{f['rss_growth_mib']:>14.0f} {statuses.get('401', 0):>8}/{statuses.get('429', 0):<7}")
        print(f"{backend:<9} the operator then signs in from the centre: {figures[f'{backend}_centre_sign_in_status']}")
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
