"""Prometheus metrics of one API process, on a registry of its own (so several apps in a test don't clash)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "dispatch_http_requests", "HTTP requests by route and status", ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "dispatch_http_request_seconds", "HTTP request latency by route", ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5), registry=self.registry,
        )
        # How many commands shared each commit's fsync (dispatch/group_commit.py): 1 when idle, more under load.
        self.commit_batch = Histogram(
            "dispatch_group_commit_commands", "commands handled together in one group commit",
            buckets=(1, 2, 4, 8, 16, 32, 64), registry=self.registry,
        )
        self.log_head = Gauge("dispatch_log_head_position", "last position in the event log", registry=self.registry)
