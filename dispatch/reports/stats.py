"""Pure aggregation: count, median, 90th percentile and maximum of interval seconds, overall and by group.

Percentiles are nearest-rank (the value at rank ceil(p·n) of the sorted values, as PostgreSQL's
percentile_disc and NFPA 1710's "90th percentile" define them): every figure is a time some response
really took, to the second, never an average of two. The median of an even count is the lower middle.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import compress
from operator import add
from typing import Any, Final

# Interval columns of response_intervals, in DESIGN.md §1's order.
INTERVAL_NAMES: Final[tuple[str, ...]] = (
    "response_seconds", "scene_seconds", "transport_seconds", "hospital_wall_seconds", "total_seconds",
)
# A breakdown packs each value's group above it in one int (group x stride + value - smallest value), so one
# C-level sort orders every group at once and each group's values are a contiguous, sorted run: a year of
# responses costs a few sorts in C, not a Python loop over every response. Packed ints stay below 2**30
# for any plausible interval, where CPython sorts fastest.

@dataclass(frozen=True)
class Stats:
    count: int
    median: int | None
    p90: int | None
    max: int | None

    def as_dict(self) -> dict[str, int | None]:
        return asdict(self)


EMPTY: Final[Stats] = Stats(count=0, median=None, p90=None, max=None)


def rank_value(ordered: Sequence[int], numerator: int, denominator: int, start: int = 0,
               stop: int | None = None) -> int:
    """The nearest-rank percentile numerator/denominator of the sorted, non-empty ordered[start:stop]."""
    stop = len(ordered) if stop is None else stop
    rank = ((stop - start) * numerator + denominator - 1) // denominator  # ceil, without floats
    return ordered[start + max(rank, 1) - 1]


def stats_of(values: Sequence[int | None]) -> Stats:
    """Count, median, p90 and max of the values present (None: the interval is not complete)."""
    ordered = sorted([value for value in values if value is not None])
    return _stats(ordered, 0, len(ordered), 0)


def _stats(ordered: Sequence[int], start: int, stop: int, offset: int) -> Stats:
    if stop <= start:
        return EMPTY
    return Stats(
        count=stop - start,
        median=rank_value(ordered, 1, 2, start, stop) - offset,
        p90=rank_value(ordered, 9, 10, start, stop) - offset,
        max=ordered[stop - 1] - offset,
    )


def grouped_stats(keys: Sequence[str], values: Sequence[int | None]) -> dict[str, Stats]:
    """Stats of `values` for each distinct key (keys[i] is values[i]'s group), keys in sorted order."""
    _overall, by = breakdowns({"key": keys}, {"value": values})
    return {name: found["value"] for name, found in by["key"].items()}


def breakdowns(dimensions: Mapping[str, Sequence[str]], intervals: Mapping[str, Sequence[int | None]],
               ) -> tuple[dict[str, Stats], dict[str, dict[str, dict[str, Stats]]]]:
    """Each interval's stats overall, and for each dimension (e.g. zone), each of its values, each interval.

    `dimensions["zone"][i]` and `intervals["response_seconds"][i]` belong to the same response i. The overall
    figures come from the first dimension's sorted groups, so each interval costs one sort per dimension.
    """
    present = {interval: [value is not None for value in values] for interval, values in intervals.items()}
    kept: dict[str, list[int]] = {interval: list(compress(values, present[interval]))  # type: ignore[arg-type]
                                  for interval, values in intervals.items()}
    smallest = min((min(values) for values in kept.values() if values), default=0)
    stride = max((max(values) for values in kept.values() if values), default=0) - smallest + 1
    overall: dict[str, Stats] = {}
    by: dict[str, dict[str, dict[str, Stats]]] = {}
    for number, (dimension, keys) in enumerate(dimensions.items()):
        names = sorted(set(keys))
        code = {name: index * stride - smallest for index, name in enumerate(names)}
        offsets = [code[key] for key in keys]
        by[dimension] = {name: {} for name in names}
        for interval in intervals:
            packed = sorted(map(add, compress(offsets, present[interval]), kept[interval]))
            runs = [(bisect_left(packed, index * stride), bisect_left(packed, (index + 1) * stride), code[name])
                    for index, name in enumerate(names)]
            for name, run in zip(names, runs, strict=True):
                by[dimension][name][interval] = _stats(packed, *run)
            if number == 0:
                overall[interval] = _union_stats(packed, runs)
    return overall, by


def _union_stats(packed: Sequence[int], runs: Sequence[tuple[int, int, int]]) -> Stats:
    """Stats of all the runs together, without sorting them again: each rank by bisection on the value."""
    live = [run for run in runs if run[1] > run[0]]
    count = sum(stop - start for start, stop, _offset in live)
    if not count:
        return EMPTY

    def ranked(numerator: int, denominator: int) -> int:
        rank = max((count * numerator + denominator - 1) // denominator, 1)
        low = min(packed[start] - offset for start, _stop, offset in live)
        high = max(packed[stop - 1] - offset for _start, stop, offset in live)
        while low < high:  # the smallest value with at least `rank` values at or below it
            middle = (low + high) // 2
            if sum(bisect_right(packed, offset + middle, start, stop) - start for start, stop, offset in live) >= rank:
                high = middle
            else:
                low = middle + 1
        return low

    return Stats(count=count, median=ranked(1, 2), p90=ranked(9, 10),
                 max=max(packed[stop - 1] - offset for _start, stop, offset in live))


def as_dicts(value: Any) -> Any:
    """Stats (nested in dicts) as plain dicts, for JSON."""
    if isinstance(value, Stats):
        return value.as_dict()
    if isinstance(value, dict):
        return {key: as_dicts(item) for key, item in value.items()}
    return value


def percent(part: int, whole: int) -> float | None:
    """part/whole as a percentage rounded to 0.1, None when there is nothing to divide by."""
    return round(100.0 * part / whole, 1) if whole else None
