"""Pure aggregation: count, median, 90th percentile and maximum of interval seconds, overall and by group.

Percentiles are nearest-rank (the value at rank ceil(p·n) of the sorted values, as PostgreSQL's
percentile_disc and NFPA 1710's "90th percentile" define them): every figure is a time some response
really took, to the second, never an average of two. The median of an even count is the lower middle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt

# Interval columns of response_intervals, in DESIGN.md §1's order.
INTERVAL_NAMES: Final[tuple[str, ...]] = (
    "response_seconds", "scene_seconds", "transport_seconds", "hospital_wall_seconds", "total_seconds",
)
# Whole seconds, NaN where an interval is not complete. Floats hold every whole number of seconds exactly (below
# 2**53), and numpy reads None as NaN, so rows from the database go in as they are.
Seconds: TypeAlias = npt.NDArray[np.float64]
Numbers: TypeAlias = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Stats:
    count: int
    median: int | None
    p90: int | None
    max: int | None

    def as_dict(self) -> dict[str, int | None]:
        return {"count": self.count, "median": self.median, "p90": self.p90, "max": self.max}


EMPTY: Final[Stats] = Stats(count=0, median=None, p90=None, max=None)


@dataclass(frozen=True)
class Grouping:
    """Which group each value belongs to in one dimension (e.g. zone): value i's group is names[numbers[i]]."""

    names: tuple[str, ...]
    numbers: Numbers

    @classmethod
    def of(cls, keys: Sequence[str]) -> Grouping:
        names = tuple(sorted(set(keys)))
        number = {name: index for index, name in enumerate(names)}
        return cls(names, np.fromiter(map(number.__getitem__, keys), dtype=np.int64, count=len(keys)))


def seconds(values: Sequence[int | None]) -> Seconds:
    """Interval seconds as a column, None (not complete) as NaN."""
    return np.array(values, dtype=np.float64)


def stats_of(values: Sequence[int | None]) -> Stats:
    """Count, median, p90 and max of the values present (None: the interval is not complete)."""
    present, _where = _present(seconds(values))
    return _stats(np.sort(present))


def grouped_stats(keys: Sequence[str], values: Sequence[int | None]) -> dict[str, Stats]:
    """Stats of `values` for each distinct key (keys[i] is values[i]'s group), keys in sorted order."""
    _overall, by = breakdowns({"key": Grouping.of(keys)}, {"value": seconds(values)})
    return {name: found["value"] for name, found in by["key"].items()}


def breakdowns(dimensions: Mapping[str, Grouping], intervals: Mapping[str, Seconds],
               ) -> tuple[dict[str, Stats], dict[str, dict[str, dict[str, Stats]]]]:
    """Each interval's stats overall, and for each dimension (e.g. zone), each of its groups with any response
    (in name order), each interval.

    `dimensions["zone"]` and `intervals["response_seconds"]` are about the same responses, in the same order.
    A year of responses costs a few sorts in C per interval (numpy), not a Python loop over every response.
    """
    used = {dimension: _used(grouping) for dimension, grouping in dimensions.items()}
    overall: dict[str, Stats] = {}
    by: dict[str, dict[str, dict[str, Stats]]] = {
        dimension: {grouping.names[number]: {} for number in used[dimension]}
        for dimension, grouping in dimensions.items()}
    for interval, column in intervals.items():
        values, where = _present(column)
        overall[interval] = _stats(np.sort(values))
        for dimension, grouping in dimensions.items():
            found = _grouped(grouping.numbers[where], len(grouping.names), values)
            for number in used[dimension]:
                by[dimension][grouping.names[number]][interval] = found[number]
    return overall, by


def _present(column: Seconds) -> tuple[Numbers, npt.NDArray[np.bool_]]:
    """The complete intervals' seconds, and where in the column they are."""
    where = ~np.isnan(column)
    return column[where].astype(np.int64), where


def _used(grouping: Grouping) -> list[int]:
    """The numbers of the groups with any value, in their names' order."""
    counts = np.bincount(grouping.numbers, minlength=len(grouping.names))
    return sorted(np.flatnonzero(counts).tolist(), key=grouping.names.__getitem__)


def _grouped(numbers: Numbers, count: int, values: Numbers) -> list[Stats]:
    """Stats of the values of each group 0 .. count-1 (numbers[i] is values[i]'s group), from one sort.

    Each value is packed above its group (group x stride + value - smallest value), so one sort orders every
    group at once and each group's values are a contiguous, sorted run. Seconds between any two datetimes lie
    within ±2**39, so a packed value stays far inside 64 bits for any number of groups a report can have.
    """
    if not values.size:
        return [EMPTY] * count
    smallest = int(values.min())
    stride = int(values.max()) - smallest + 1
    packed = np.sort(numbers * stride + (values - smallest))
    bounds = np.searchsorted(packed, np.arange(count + 1, dtype=np.int64) * stride).tolist()
    return [_stats(packed[start:stop], offset=index * stride - smallest)
            for index, (start, stop) in enumerate(pairwise(bounds))]


def _stats(ordered: Numbers, offset: int = 0) -> Stats:
    """Stats of sorted values, each `offset` above the value it stands for."""
    count = len(ordered)
    if not count:
        return EMPTY
    return Stats(count=count, median=int(ordered[_rank(count, 1, 2)]) - offset,
                 p90=int(ordered[_rank(count, 9, 10)]) - offset, max=int(ordered[-1]) - offset)


def _rank(count: int, numerator: int, denominator: int) -> int:
    """The index of the nearest-rank percentile numerator/denominator among `count` sorted values."""
    return max((count * numerator + denominator - 1) // denominator, 1) - 1  # ceil, without floats


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
