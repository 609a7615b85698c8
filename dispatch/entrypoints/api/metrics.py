"""Prometheus metrics of the API, the projector and the worker.

One API process keeps its metrics on a registry of its own (several apps in a test don't clash), with the
process and Python collectors. Several API processes (`dispatch api --workers N`) run in prometheus_client's
multiprocess mode: `dispatch api` points PROMETHEUS_MULTIPROC_DIR at an emptied folder before the processes
start (serving.py), each writes its values there, and /metrics adds them up, whichever process answers. The
process and Python collectors cannot be added up that way, so each process samples its own into gauges labelled
with its pid (ProcessSampler).

The projector and the worker serve their own metrics on a port of their own (settings: projector_metrics_port,
worker_metrics_port): in the production topology each runs in a container of its own, and prometheus_client's
multiprocess files are keyed by pid, which containers repeat.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Final

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.process_collector import ProcessCollector

from dispatch.projections.status import Lag, ProjectorStatus

MULTIPROC_ENV: Final[str] = "PROMETHEUS_MULTIPROC_DIR"
# How often a process of a multiprocess API samples its own process figures.
SAMPLE_SECONDS: Final[float] = 5.0


def multiprocess_dir() -> Path | None:
    """The folder of multiprocess mode, when this process runs in it."""
    found = os.environ.get(MULTIPROC_ENV)
    return Path(found) if found else None


def with_runtime_collectors(registry: CollectorRegistry) -> CollectorRegistry:
    """`registry` with the process (memory, CPU, file descriptors) and Python (GC, version) collectors."""
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry


class Metrics:
    """The API's metrics."""

    def __init__(self) -> None:
        self.multiprocess = multiprocess_dir() is not None
        self.registry = CollectorRegistry() if self.multiprocess else with_runtime_collectors(CollectorRegistry())
        self.requests = Counter(
            "dispatch_http_requests", "HTTP requests by route and status", ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "dispatch_http_request_seconds", "HTTP request latency by route", ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5), registry=self.registry,
        )
        # How many commands shared each commit's fsync (dispatch/app/group_commit.py): 1 when idle, more under load.
        self.commit_batch = Histogram(
            "dispatch_group_commit_commands", "commands handled together in one group commit",
            buckets=(1, 2, 4, 8, 16, 32, 64), registry=self.registry,
        )
        # Set when scraped, by whichever process answers: the newest value is the truth.
        self.log_head = Gauge("dispatch_log_head_position", "last position in the event log",
                              registry=self.registry, multiprocess_mode="livemostrecent")
        # The read models' lag as the log shows it: it grows while the projector is stalled, or dead and silent.
        self.projector_lag_events = Gauge(
            "dispatch_projector_lag_events", "events in the log the read models have not applied",
            registry=self.registry, multiprocess_mode="livemostrecent")
        self.projector_lag_seconds = Gauge(
            "dispatch_projector_lag_seconds", "age of the oldest event the read models have not applied",
            registry=self.registry, multiprocess_mode="livemostrecent")
        self.sampler = ProcessSampler() if self.multiprocess else None

    def scrape_registry(self) -> CollectorRegistry:
        """The registry /metrics renders: this process's, or every process's added up."""
        if not self.multiprocess:
            return self.registry
        combined = CollectorRegistry()
        MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
        return combined


class ProcessSampler:
    """Copies this process's figures from prometheus_client's ProcessCollector into pid-labelled gauges, now and
    every SAMPLE_SECONDS, so a multiprocess /metrics shows every process's memory and CPU."""

    def __init__(self) -> None:
        self._collector = ProcessCollector(registry=None)
        self._gauges: dict[str, Gauge] = {}
        self._stop = threading.Event()
        self.sample()
        threading.Thread(target=self._run, name="metrics-sampler", daemon=True).start()

    def sample(self) -> None:
        for family in self._collector.collect():
            for sample in family.samples:
                gauge = self._gauges.get(sample.name)
                if gauge is None:
                    gauge = self._gauges[sample.name] = Gauge(
                        sample.name, family.documentation, registry=None, multiprocess_mode="liveall")
                gauge.set(sample.value)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.sample()

    def stop(self) -> None:
        self._stop.set()


class ProjectorMetrics:
    """The projector's: its batches, its lag as it sees it, and whether it is stalled."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or with_runtime_collectors(CollectorRegistry())
        self.batches = Counter("dispatch_projector_batches", "batches applied", registry=self.registry)
        self.events = Counter("dispatch_projector_events", "events applied", registry=self.registry)
        self.batch_seconds = Histogram(
            "dispatch_projector_batch_seconds", "time to apply and commit one batch",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10), registry=self.registry)
        self.position = Gauge("dispatch_projector_position", "the read models' shared position",
                              registry=self.registry)
        self.lag_events = Gauge("dispatch_projector_lag_events", "events in the log the read models have not applied",
                                registry=self.registry)
        self.lag_seconds = Gauge("dispatch_projector_lag_seconds",
                                 "age of the oldest event the read models have not applied", registry=self.registry)
        self.stalled = Gauge("dispatch_projector_stalled", "1 while an event cannot be applied",
                             registry=self.registry)
        self.stalled_attempts = Gauge("dispatch_projector_stall_attempts", "tries at the failing event so far",
                                      registry=self.registry)

    # The projector's Observer (dispatch/projections/runner.py):

    def batch(self, read: int, seconds: float) -> None:
        self.batches.inc()
        self.events.inc(read)
        self.batch_seconds.observe(seconds)

    def status(self, status: ProjectorStatus, lag: Lag | None) -> None:
        self.stalled.set(1 if status.state == "stalled" else 0)
        self.stalled_attempts.set(status.attempts)
        if lag is not None:
            self.position.set(lag.position)
            self.lag_events.set(lag.events)
            self.lag_seconds.set(lag.seconds)


class WorkerMetrics:
    """The worker's: how late each job started against the time it was due, and how each ended."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or with_runtime_collectors(CollectorRegistry())
        self.lateness = Histogram(
            "dispatch_job_lateness_seconds", "job start minus the time it was due (its scheduled time, or when queued)",
            ["function"], buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300), registry=self.registry)
        # "function", not "job": Prometheus gives every target a `job` label of its own.
        self.jobs = Counter("dispatch_jobs", "jobs run, by how they ended", ["function", "outcome"],
                            registry=self.registry)
        self.failures = Counter("dispatch_job_failures", "jobs that raised", ["function"], registry=self.registry)


def serve_metrics(registry: CollectorRegistry, host: str, port: int) -> None:
    """Serve `registry` at http://host:port/metrics on a thread of this process (port 0: not at all)."""
    if port:
        start_http_server(port, addr=host, registry=registry)
