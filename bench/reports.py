"""Reports at a busy province's scale: a year of 100,000 incidents (~1,000,000 events) loaded, the interval
projection rebuilt, then the year's response-time report and the yearly summary timed.

The log is written fast and directly: each incident's whole story (report, triage, dispatches, milestones with
some late entries, notes, Koh Yao referrals under the 80-minute guarantee, some missed, handovers, closure)
is built with the event catalogue and appended with `EventStore.append_many`, hundreds of streams per
transaction, with the real hash chain. Resource streams are left out: reports never read them, and leaving
them out makes the rebuild rate a conservative one. Then `Projector.rebuild(["intervals"])` is timed (the
rate is every event of the log read and applied per second), the board and referrals are rebuilt, and each
report runs several times on the read models; the p50 is compared with the 500 ms target.

    .venv/bin/python -m bench.reports [--quick] [--backend sqlite|postgres] [--incidents N] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import psycopg
from sqlalchemy import Engine

from dispatch.adapters.database import make_engine
from dispatch.adapters.eventlog.sql import open_event_store
from dispatch.adapters.eventlog.store import EventStore, StreamWrite
from dispatch.adapters.migrations.runner import upgrade
from dispatch.domain.catalogue import (
    Event,
    IncidentClosed,
    IncidentReported,
    IncidentTriaged,
    MilestoneRecorded,
    NoteAdded,
    PatientArrivedAtFacility,
    PatientHandedOver,
    Position,
    ReferralAtRisk,
    ReferralBreached,
    ReferralPolicy,
    ReferralRequested,
    ResourceDispatched,
    incident_stream,
)
from dispatch.domain.envelope import EventMeta
from dispatch.domain.vocabulary import Source, Triage, Zone
from dispatch.projections import all_projections
from dispatch.projections.runner import Projector
from dispatch.reports.periods import year_bounds
from dispatch.reports.queries import ReportFilter
from dispatch.reports.response_times import response_time_report
from dispatch.reports.summary import year_summary
from dispatch.runtime.clock import FrozenClock

TARGET_MS: Final[float] = 500.0
YEAR: Final[int] = 2025
DEFAULT_POSTGRES_URL: Final[str] = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
STREAMS_PER_APPEND: Final[int] = 500
KOH_YAO: Final[ReferralPolicy] = ReferralPolicy(zone="koh_yao", guarantee_minutes=80, warning_minutes=60)
META: Final[EventMeta] = EventMeta(actor_id="bench-operator", role="operator")
# Where incidents happen and who reports them, roughly as the province's season looks.
ZONES: Final[dict[Zone, tuple[int, Source, Position]]] = {
    "khao_lak_coast": (40, "beach", Position(lat=8.6436, lon=98.2478)),
    "similan": (18, "boat", Position(lat=8.6544, lon=97.6460)),
    "surin": (7, "boat", Position(lat=9.4300, lon=97.8700)),
    "koh_yao": (25, "island", Position(lat=8.0076, lon=98.5836)),
    "other": (10, "beach", Position(lat=7.8900, lon=98.2950)),
}
TRIAGE: Final[dict[Triage, int]] = {"red": 8, "yellow": 22, "green": 42, "white": 22, "black": 6}
NOTES: Final[tuple[str, ...]] = (
    "ผู้ป่วยรู้สึกตัว หายใจได้, ให้ออกซิเจนแล้ว", "Boat delayed by swell at the reef, new ETA 15 minutes.",
    "AED attached, no shock advised, CPR continued by the beach volunteers.",
)


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- the year's log -------------------------------------------------------------------------------------


class Story:
    """One incident's events in the order they happened, built from random but plausible times."""

    def __init__(self, rng: random.Random, number: int, reported_at: datetime) -> None:
        self.rng, self.id, self.t0 = rng, f"inc-{number:06d}", reported_at
        self.events: list[tuple[datetime, int, Event]] = []
        self.zone: Zone = rng.choices(list(ZONES), weights=[w for w, _s, _p in ZONES.values()])[0]

    def add(self, event: Event) -> datetime:
        self.events.append((event.at, len(self.events), event))
        return event.at

    def later(self, moment: datetime, low: int, high: int) -> datetime:
        return moment + timedelta(seconds=self.rng.randint(low, high))

    def build(self) -> list[Event]:
        rng, zone = self.rng, self.zone
        _weight, source, place = ZONES[zone]
        source = "clinic" if zone == "koh_yao" and rng.random() < 0.4 else source
        triage = rng.choices(list(TRIAGE), weights=list(TRIAGE.values()))[0]
        self.add(IncidentReported(at=self.t0, incident_id=self.id, source=source, position=place, zone=zone,
                                  triage=triage, category="drowning", patients=1, reporter="bench-lifeguard",
                                  description=rng.choice(NOTES)))
        if rng.random() < 0.3:
            self.add(IncidentTriaged(at=self.later(self.t0, 20, 120), incident_id=self.id, stage="dispatch",
                                     code=rng.choice(list(TRIAGE))))
        ends = [self._response(n) for n in range(1 if rng.random() < 0.8 else 0)]
        if ends and rng.random() < 0.2:
            ends.append(self._response(1, transport=False))
        for _ in range(rng.randint(0, 3)):
            self.add(NoteAdded(at=self.later(self.t0, 60, 3600), incident_id=self.id, text=rng.choice(NOTES)))
        closed_at = self.later(max([self.t0, *ends]), 60, 900)
        deceased = 1 if rng.random() < 0.01 else 0
        self.add(IncidentClosed(at=closed_at, incident_id=self.id, outcome="deceased" if deceased else "transferred",
                                deceased=deceased))
        self.events.sort(key=lambda item: (item[0], item[1]))
        return [event for _at, _order, event in self.events]

    def _response(self, number: int, *, transport: bool = True) -> datetime:
        """A resource's response: notified, en route, on scene (sometimes entered late), maybe transport."""
        rng = self.rng
        resource, kind = (f"{self.zone}-boat-{rng.randint(1, 6)}", "boat") if number == 0 else (
            f"{self.zone}-team-{rng.randint(1, 6)}", "team")
        notified = self.add(ResourceDispatched(at=self.later(self.t0, 30, 240), incident_id=self.id,
                                               resource_id=resource, kind=kind))  # type: ignore[arg-type]
        step = self._milestones(resource, notified, [("en_route", 30, 240), ("on_scene", 240, 2700)])
        if rng.random() < 0.6:
            self.add(IncidentTriaged(at=self.later(step, 30, 300), incident_id=self.id, stage="scene",
                                     code=rng.choice(list(TRIAGE))))
        step = self._milestones(resource, step, [("at_patient", 20, 300)])
        if transport and rng.random() < 0.35:
            step = self._transport(resource, step)
        return self._milestones(resource, step, [("back_in_service", 600, 3600)])

    def _transport(self, resource: str, on_scene: datetime) -> datetime:
        referral = self.zone == "koh_yao" or self.rng.random() < 0.1
        requested = self.later(on_scene, 60, 600)
        left = self._milestones(resource, requested if referral else on_scene, [("left_scene", 120, 900)])
        arrived = self._milestones(resource, left, [("at_destination", 900, 4500)])
        handed = self._milestones(resource, arrived, [("handed_over", 300, 2400)])
        if referral:
            self._referral(resource, requested, arrived, handed)
        return handed

    def _referral(self, resource: str, requested: datetime, arrived: datetime, handed: datetime) -> None:
        policy = KOH_YAO if self.zone == "koh_yao" else None
        referral_id, facility = f"{self.id}-r1", "hosp_koh_yao_chaipattana"
        deadline = requested + timedelta(minutes=80) if policy else None
        warning = requested + timedelta(minutes=60) if policy else None
        self.add(ReferralRequested(at=requested, incident_id=self.id, referral_id=referral_id, from_site_id=None,
                                   from_position=ZONES[self.zone][2], facility_id=facility, resource_id=resource,
                                   policy=policy, warning_at=warning, deadline_at=deadline))
        if warning is not None and arrived > warning:
            self.add(ReferralAtRisk(at=warning, incident_id=self.id, referral_id=referral_id, reason="warning_point"))
        if deadline is not None and arrived > deadline:
            self.add(ReferralBreached(at=deadline, incident_id=self.id, referral_id=referral_id, deadline_at=deadline))
        self.add(PatientArrivedAtFacility(at=arrived, incident_id=self.id, referral_id=referral_id,
                                          facility_id=facility, resource_id=resource))
        self.add(PatientHandedOver(at=handed, incident_id=self.id, referral_id=referral_id, facility_id=facility,
                                   resource_id=resource))

    def _milestones(self, resource: str, start: datetime, steps: list[tuple[str, int, int]]) -> datetime:
        moment = start
        for name, low, high in steps:
            moment = self.later(moment, low, high)
            self.add(MilestoneRecorded(at=moment, incident_id=self.id, resource_id=resource,
                                       milestone=name, late=self.rng.random() < 0.05))  # type: ignore[arg-type]
        return moment


def stories(incidents: int, seed: int) -> Iterator[tuple[str, list[Event]]]:
    """Every incident of the year in report order, spread evenly over the Bangkok year."""
    rng = random.Random(seed)
    start, end = year_bounds(YEAR)
    # The last hours are kept free so that every story ends inside the year.
    span = (end - start - timedelta(hours=12)).total_seconds()
    for number in range(incidents):
        story = Story(rng, number, start + timedelta(seconds=int(span * number / incidents)))
        yield story.id, story.build()


def load(store: EventStore, clock: FrozenClock, incidents: int, seed: int) -> int:
    """Append the year, STREAMS_PER_APPEND incidents per transaction; returns the events written."""
    written, batch = 0, []
    for number, (incident_id, events) in enumerate(stories(incidents, seed), start=1):
        batch.append(StreamWrite(incident_stream(incident_id), events, 0))
        if len(batch) == STREAMS_PER_APPEND:
            written += _append(store, clock, batch)
            batch = []
            if number % 10_000 == 0:
                progress(f"loaded {number:,} incidents, {written:,} events")
    return written + (_append(store, clock, batch) if batch else 0)


def _append(store: EventStore, clock: FrozenClock, batch: list[StreamWrite]) -> int:
    clock.set(max(write.events[-1].at for write in batch))  # stored as the batch's recorded_at
    return len(store.append_many(batch, meta=META).events)


# --- databases ------------------------------------------------------------------------------------------


@contextmanager
def database(backend: str, postgres_url: str) -> Iterator[Engine]:
    """A fresh, migrated database: an SQLite file in a temporary folder, or a private PostgreSQL schema."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-reports-") as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'reports.db'}")
            upgrade(engine)
            try:
                yield engine
            finally:
                engine.dispose()
        return
    schema = f"bench_reports_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url.replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        engine = make_engine(postgres_url, connect_args={"options": f"-c search_path={schema}"})
        try:
            upgrade(engine)
            yield engine
        finally:
            engine.dispose()
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


# --- measuring ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    runs_ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.runs_ms)


def timed(function: Callable[[], Any], runs: int) -> tuple[Timing, Any]:
    results, runs_ms = None, []
    for _ in range(runs):
        started = time.perf_counter()
        results = function()
        runs_ms.append((time.perf_counter() - started) * 1000)
    return Timing(runs_ms), results


def run(options: argparse.Namespace) -> dict[str, Any]:
    with database(options.backend, options.postgres_url) as engine:
        clock = FrozenClock(year_bounds(YEAR)[0])
        store = open_event_store(engine, clock=clock)
        progress(f"{options.backend}: writing {options.incidents:,} incidents of {YEAR}")
        started = time.perf_counter()
        events = load(store, clock, options.incidents, options.seed)
        load_seconds = time.perf_counter() - started
        projector = Projector(store, all_projections(), batch_size=5000)
        progress(f"rebuilding the interval projection over {events:,} events")
        started = time.perf_counter()
        replayed = projector.rebuild(["intervals"])
        rebuild_seconds = time.perf_counter() - started
        progress("rebuilding the board and referrals")
        projector.rebuild(["board", "referrals"])
        with engine.begin() as db:
            # What autovacuum does on PostgreSQL after a bulk load; without statistics its planner sorts every
            # response of the year to show the first page of them.
            db.exec_driver_sql("ANALYZE")
        start, end = year_bounds(YEAR)
        whole_year = ReportFilter(from_at=start, to_at=end)
        progress(f"timing the reports, {options.runs} runs each")
        report_time, report = timed(lambda: response_time_report(engine, whole_year), options.runs)
        summary_time, summary = timed(
            lambda: year_summary(engine, YEAR, saving_thb=6000, saving_zones=("koh_yao",)), options.runs)
    return {
        "backend": options.backend, "incidents": options.incidents, "events": events, "replayed": replayed,
        "responses": report["responses"]["total"], "referrals": summary["referrals"]["count"],
        "load_seconds": load_seconds, "load_eps": events / load_seconds,
        "rebuild_intervals_seconds": rebuild_seconds, "rebuild_intervals_eps": replayed / rebuild_seconds,
        "report_ms": report_time.runs_ms, "report_p50_ms": report_time.p50,
        "summary_ms": summary_time.runs_ms, "summary_p50_ms": summary_time.p50,
    }


def print_table(figures: dict[str, Any]) -> None:
    print(f"\nreports benchmark: {figures['backend']}, {figures['incidents']:,} incidents, {figures['events']:,} "
          f"events, {figures['responses']:,} responses, {figures['referrals']:,} referrals (Bangkok year {YEAR})")
    header = f"{'step':<42} {'figure':>18} {'target':>10} {'ratio':>8}  verdict"
    print(header)
    print("-" * len(header))
    print(f"{'load (append_many, 500 streams a txn)':<42} {figures['load_eps']:>12,.0f} ev/s {'':>10} {'':>8}")
    print(f"{'rebuild of the interval projection':<42} {figures['rebuild_intervals_eps']:>12,.0f} ev/s "
          f"{'':>10} {'':>8}")
    for label, key in (("response-time report, whole year (p50)", "report"), ("summary, year (p50)", "summary")):
        p50 = figures[f"{key}_p50_ms"]
        ratio = p50 / TARGET_MS
        verdict = "MET" if p50 < TARGET_MS else "MISSED"
        print(f"{label:<42} {p50:>15,.0f} ms {'<' + f'{TARGET_MS:.0f} ms':>10} {ratio:>7.2f}×  {verdict}")
    runs = ", ".join(f"{ms:.0f}" for ms in figures["report_ms"])
    print(f"\nreport runs (ms): {runs}; summary runs (ms): {', '.join(f'{ms:.0f}' for ms in figures['summary_ms'])}")
    print("ratio = p50 / target (below 1 is within the target)\n")


def summary_line(figures: dict[str, Any]) -> dict[str, Any]:
    return {
        "benchmark": "reports", "backend": figures["backend"], "incidents": figures["incidents"],
        "events": figures["events"], "responses": figures["responses"], "referrals": figures["referrals"],
        "load_eps": round(figures["load_eps"]), "rebuild_intervals_eps": round(figures["rebuild_intervals_eps"]),
        "report_p50_ms": round(figures["report_p50_ms"], 1), "summary_p50_ms": round(figures["summary_p50_ms"], 1),
        "target_ms": TARGET_MS, "report_ratio": round(figures["report_p50_ms"] / TARGET_MS, 3),
        "summary_ratio": round(figures["summary_p50_ms"] / TARGET_MS, 3),
        "report_met": figures["report_p50_ms"] < TARGET_MS, "summary_met": figures["summary_p50_ms"] < TARGET_MS,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--runs", type=int, default=5, help="runs of each report; the p50 counts")
    parser.add_argument("--seed", type=int, default=1669)
    parser.add_argument("--quick", action="store_true", help="2,000 incidents and 3 runs (smoke tests)")
    options = parser.parse_args(argv)
    if options.quick:
        options.incidents, options.runs = 2_000, 3
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    figures = run(options)
    print_table(figures)
    print(json.dumps(summary_line(figures)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
