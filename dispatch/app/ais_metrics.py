"""The AIS feed's Prometheus metrics, served on `ais_metrics_port` (a container of its own, like the projector's)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class AisMetrics:
    """What the feed heard, what it skipped and why, and what it appended."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.sentences = Counter("dispatch_ais_sentences", "sentences decoded, by whether the picture used them",
                                 ["outcome"], registry=self.registry)
        # Bad input by reason (sentences.REASONS, impossible_jump, mmsi_conflict, overload, ...): counted, skipped.
        self.rejected = Counter("dispatch_ais_rejected", "lines or fixes skipped, by reason", ["reason"],
                                registry=self.registry)
        self.appends = Counter("dispatch_ais_appends", "fleet positions and beacon incidents the feed appended, by "
                               "outcome", ["outcome"], registry=self.registry)
        self.beacons = Counter("dispatch_ais_beacon_fixes", "distress beacon transmissions, by what they meant",
                               ["meaning"], registry=self.registry)
