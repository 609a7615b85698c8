"""Running contestants fairly on a noisy machine: appends interleaved in rounds, replays best of several.

The disk's fsync latency drifts by tens of percent over minutes on shared hardware, so running one
contestant after another would hand whichever ran in a quiet minute the win. Each round appends the
next slice of the workload for every contestant, in a rotating order, and each contestant's rate is its
total events over its total time; every one of them sees the same stretches of good and bad disk.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class Contestant(Protocol):
    append_key: str
    replay_key: str | None

    def append_range(self, start: int, stop: int) -> tuple[int, float]:
        """Append workload events [start, stop); return how many were timed and the seconds they took."""
        ...

    def replay(self) -> tuple[int, float]:
        """Read and decode the whole log in order; return the event count and the seconds it took."""
        ...


@dataclass
class Tally:
    events: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def run_appends(contestants: Sequence[Contestant], events: int, rounds: int, label: str) -> dict[str, float]:
    """Events per second of each contestant's appends, interleaved over `rounds` slices of the workload."""
    tallies = {contestant.append_key: Tally() for contestant in contestants}
    bounds = [events * index // rounds for index in range(rounds + 1)]
    for round_index, (start, stop) in enumerate(itertools.pairwise(bounds)):
        progress(f"{label}: append round {round_index + 1}/{rounds} (events {start}..{stop - 1})")
        for contestant in _rotated(contestants, round_index):
            timed, seconds = contestant.append_range(start, stop)
            tallies[contestant.append_key].events += timed
            tallies[contestant.append_key].seconds += seconds
    return {key: tally.rate for key, tally in tallies.items()}


def run_replays(contestants: Sequence[Contestant], events: int, repeats: int, label: str) -> dict[str, float]:
    """Best events per second of each contestant's full replay over `repeats` interleaved attempts."""
    readers = [contestant for contestant in contestants if contestant.replay_key is not None]
    best: dict[str, float] = {}
    for attempt in range(repeats):
        progress(f"{label}: replay {attempt + 1}/{repeats}")
        for contestant in _rotated(readers, attempt):
            count, seconds = contestant.replay()
            if count != events:
                raise RuntimeError(f"{contestant.replay_key}: replay read {count} events, expected {events}")
            key = str(contestant.replay_key)
            best[key] = max(best.get(key, 0.0), count / seconds)
    return best


def _rotated(contestants: Sequence[Contestant], turn: int) -> list[Contestant]:
    shift = turn % len(contestants)
    return [*contestants[shift:], *contestants[:shift]]


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)
