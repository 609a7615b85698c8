"""The referral network: loading it at start-up, and one routes_from call over every facility.

Start-up: the sea graph and network are parsed and indexed from the packaged JSON, caches cleared, several
times; the median counts against the 2 s target. Routes: `Network.routes_from` to all facilities, CPU time per
call (process time, so another job on the shared machine does not count) against the 5 ms target, two ways:
- first sight: patients at random places (health units, beaches, dive sites, islands), random points at sea
  and random points on the islands, each with a boat at a random demo-fleet mooring or a random point at sea;
  almost every position is new to the network's caches, so this is the cost of a position never seen before;
- recommendation: for each of those patients, one call per demo-fleet boat (its mooring, its speed), as a
  recommendation ranks a fleet for one patient: the patient's distances are worked out once and reused.
The reference, measured in the same run on the same calls, is the straight-line model the network replaces
(`dispatch.domain.geo.eta.referral_route`: geodesic to a facility's landings, no coast, no pickup).

    .venv/bin/python -m bench.network [--quick] [--calls N] [--loads N]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from typing import Any, Final

from dispatch.domain.catalogue import Position
from dispatch.domain.geo import network as network_module
from dispatch.domain.geo import sea as sea_module
from dispatch.domain.geo.eta import PLANNING_DEFAULTS, NoSeaRoute, referral_route
from dispatch.domain.geo.fleet import load_demo_fleet
from dispatch.domain.geo.network import Network, load_network
from dispatch.domain.geo.places import HasLatLon, Place, load_places

LOAD_TARGET_MS: Final[float] = 2000.0
ROUTES_TARGET_MS: Final[float] = 5.0
SPEEDS: Final[tuple[float, ...]] = (9.0, 15.0, 25.0, 30.0)


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def load_once() -> float:
    """Milliseconds to read and index the network from its packaged files, as a fresh process would."""
    sea_module.read_graph.cache_clear()
    network_module.load_network.cache_clear()
    started = time.perf_counter()
    load_network(load_places())
    return (time.perf_counter() - started) * 1000


def origins(rng: random.Random, count: int) -> list[tuple[HasLatLon, HasLatLon | None, float]]:
    """(patient, boat position, boat speed): a third at places, a third at sea, a third on the islands."""
    places = [p for p in load_places() if p.kind in ("health_unit", "beach", "dive_site", "island", "park_station")]
    moorings = [Position(lat=r.lat, lon=r.lon) for r in load_demo_fleet() if r.kind == "boat"]
    cases: list[tuple[HasLatLon, HasLatLon | None, float]] = []
    for index in range(count):
        match index % 3:
            case 0:
                patient: HasLatLon = rng.choice(places)
            case 1:
                patient = Position(lat=rng.uniform(7.7, 9.5), lon=rng.uniform(97.6, 98.9))
            case _:
                patient = Position(lat=rng.uniform(7.9, 8.18), lon=rng.uniform(98.53, 98.64))
        boat = rng.choice(moorings) if rng.random() < 0.7 else Position(lat=rng.uniform(7.8, 9.4),
                                                                           lon=rng.uniform(97.7, 98.8))
        cases.append((patient, boat, rng.choice(SPEEDS)))
    return cases


def straight_line(origin: HasLatLon, facilities: tuple[Place, ...], speed: float) -> int:
    """The model the network replaces: each facility by its listed landings, straight lines, no pickup."""
    found = 0
    for facility in facilities:
        try:
            referral_route(origin, facility, speed, PLANNING_DEFAULTS)
            found += 1
        except NoSeaRoute:
            pass
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(options: argparse.Namespace) -> dict[str, Any]:
    progress(f"loading the network {options.loads} times")
    loads = [load_once() for _ in range(options.loads)]
    network = load_network(load_places())
    facilities = load_places().facilities()
    cases = origins(random.Random(options.seed), options.calls)
    progress(f"routes_from over {len(facilities)} facilities, {len(cases)} calls, then the reference")
    network_ms, reference_ms, routed = [], [], 0
    for patient, boat, speed in cases:
        took, found = timed_routes(network, patient, facilities, boat, speed)
        network_ms.append(took)
        routed += found
        started = time.process_time_ns()
        straight_line(patient, facilities, speed)
        reference_ms.append((time.process_time_ns() - started) / 1e6)
    progress(f"recommendation: each of {len(cases)} patients with every demo-fleet boat")
    boats = [r for r in load_demo_fleet() if r.kind == "boat" and r.speed_knots is not None]
    fleet_ms, fleet_reference_ms = [], []
    for patient, _boat, _speed in cases:
        for boat in boats:
            speed = boat.speed_knots or 0.0
            fleet_ms.append(timed_routes(network, patient, facilities, Position(lat=boat.lat, lon=boat.lon),
                                         speed)[0])
            started = time.process_time_ns()
            straight_line(patient, facilities, speed)
            fleet_reference_ms.append((time.process_time_ns() - started) / 1e6)
    return {
        "facilities": len(facilities), "calls": len(cases), "routes": routed,
        "graph_nodes": len(network.sea.node_xy), "graph_edges": sum(len(links) for links in network.sea.adjacency) // 2,
        "load_ms": loads, "load_p50_ms": statistics.median(loads),
        "routes_p50_ms": statistics.median(network_ms), "routes_p99_ms": percentile(network_ms, 0.99),
        "reference_p50_ms": statistics.median(reference_ms), "reference_p99_ms": percentile(reference_ms, 0.99),
        "fleet_calls": len(fleet_ms), "fleet_p50_ms": statistics.median(fleet_ms),
        "fleet_p99_ms": percentile(fleet_ms, 0.99), "fleet_reference_p99_ms": percentile(fleet_reference_ms, 0.99),
    }


def timed_routes(network: Network, patient: HasLatLon, facilities: tuple[Place, ...], boat: HasLatLon | None,
                 speed: float) -> tuple[float, int]:
    """CPU milliseconds of one routes_from call, and how many routes it found."""
    started = time.process_time_ns()
    routes = network.routes_from(patient, facilities, speed_knots=speed, boat_at=boat, timings=PLANNING_DEFAULTS)
    return (time.process_time_ns() - started) / 1e6, len(routes)


def print_table(figures: dict[str, Any]) -> None:
    print(f"\nnetwork benchmark: {figures['graph_nodes']:,} graph nodes, {figures['graph_edges']:,} edges, "
          f"{figures['facilities']} facilities, {figures['calls']:,} calls ({figures['routes']:,} routes found)")
    header = f"{'step':<48} {'figure':>12} {'target':>10} {'ratio':>8}  verdict"
    print(header)
    print("-" * len(header))
    rows = (("start-up: load and index (median)", figures["load_p50_ms"], LOAD_TARGET_MS),
            ("routes_from, first sight, CPU p50", figures["routes_p50_ms"], ROUTES_TARGET_MS),
            ("routes_from, first sight, CPU p99", figures["routes_p99_ms"], ROUTES_TARGET_MS),
            ("routes_from, recommendation, CPU p50", figures["fleet_p50_ms"], ROUTES_TARGET_MS),
            ("routes_from, recommendation, CPU p99", figures["fleet_p99_ms"], ROUTES_TARGET_MS))
    for label, value, target in rows:
        verdict = "MET" if value < target else "MISSED"
        print(f"{label:<48} {value:>9,.2f} ms {'<' + f'{target:g} ms':>10} {value / target:>7.2f}×  {verdict}")
    print(f"{'reference: straight-line model, CPU p50 / p99':<48} {figures['reference_p50_ms']:>6.2f} / "
          f"{figures['reference_p99_ms']:.2f} ms; network / reference at p99 = "
          f"{figures['routes_p99_ms'] / figures['reference_p99_ms']:.2f}× (first sight), "
          f"{figures['fleet_p99_ms'] / figures['fleet_reference_p99_ms']:.2f}× (recommendation)")
    print(f"\nloads (ms): {', '.join(f'{ms:.0f}' for ms in figures['load_ms'])}")
    print("ratio = figure / target (below 1 is within the target)\n")


def summary_line(figures: dict[str, Any]) -> dict[str, Any]:
    return {
        "benchmark": "network", "facilities": figures["facilities"], "calls": figures["calls"],
        "graph_nodes": figures["graph_nodes"], "graph_edges": figures["graph_edges"],
        "load_p50_ms": round(figures["load_p50_ms"], 1), "load_target_ms": LOAD_TARGET_MS,
        "load_met": figures["load_p50_ms"] < LOAD_TARGET_MS,
        "routes_p50_ms": round(figures["routes_p50_ms"], 3), "routes_p99_ms": round(figures["routes_p99_ms"], 3),
        "routes_target_ms": ROUTES_TARGET_MS, "routes_met": figures["routes_p99_ms"] < ROUTES_TARGET_MS,
        "fleet_calls": figures["fleet_calls"], "fleet_p50_ms": round(figures["fleet_p50_ms"], 3),
        "fleet_p99_ms": round(figures["fleet_p99_ms"], 3), "fleet_met": figures["fleet_p99_ms"] < ROUTES_TARGET_MS,
        "fleet_ratio_to_reference": round(figures["fleet_p99_ms"] / figures["fleet_reference_p99_ms"], 2),
        "reference_p50_ms": round(figures["reference_p50_ms"], 3),
        "reference_p99_ms": round(figures["reference_p99_ms"], 3),
        "ratio_to_reference": round(figures["routes_p99_ms"] / figures["reference_p99_ms"], 2),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.network", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1669)
    parser.add_argument("--quick", action="store_true", help="100 calls and 2 loads (smoke tests)")
    options = parser.parse_args(argv)
    if options.quick:
        options.calls, options.loads = 100, 2
    return options


def main(argv: list[str] | None = None) -> int:
    figures = run(parse_args(argv))
    print_table(figures)
    print(json.dumps(summary_line(figures)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
