"""Pure aggregation: count, median, 90th percentile and maximum of interval seconds, overall and by group.

Percentiles are nearest-rank (the value at rank ceil(p·n) of the sorted values, as PostgreSQL's
percentile_disc and NFPA 1710's "90th percentile" define them): every figure is a time some response
really took, to the second, never an average of two. The median of an even count is the lower middle.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import compress
from operator import add
from typing import Any, Final

# Interval columns of response_intervals, in DESIGN.md §1's order.
INTERVAL_NAMES: Final[tuple[str, ...]] = (
    "response_seconds", "scene_seconds", "transport_seconds", "hospital_wall_seconds", "total_seconds",
)
# A breakdown packs each value's group above it in one int (group x stride + bias + value), so one C-level
# sort orders every group at once and each group's values are a contiguous, sorted run: per-row Python work
# is what makes a year of responses slow, not the sorting.
_GROUP_STRIDE: Final[int] = 1 << 42
_VALUE_BIAS: Final[int] = 1 << 41


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
    names, offsets = _group_offsets(keys)
    return _grouped(names, offsets, values)


def breakdowns(dimensions: Mapping[str, Sequence[str]], intervals: Mapping[str, Sequence[int | None]],
               ) -> dict[str, dict[str, dict[str, Stats]]]:
    """For each dimension (e.g. zone), each of its values, each interval: the stats.

    `dimensions["zone"][i]` and `intervals["response_seconds"][i]` belong to the same response i.
    """
    result: dict[str, dict[str, dict[str, Stats]]] = {}
    for dimension, keys in dimensions.items():
        names, offsets = _group_offsets(keys)
        by_interval = {interval: _grouped(names, offsets, values) for interval, values in intervals.items()}
        result[dimension] = {name: {interval: by_interval[interval][name] for interval in intervals}
                             for name in names}
    return result


def _group_offsets(keys: Sequence[str]) -> tuple[list[str], list[int]]:
    names = sorted(set(keys))
    code = {name: index * _GROUP_STRIDE + _VALUE_BIAS for index, name in enumerate(names)}
    return names, [code[key] for key in keys]


def _grouped(names: Sequence[str], offsets: Sequence[int], values: Sequence[int | None]) -> dict[str, Stats]:
    present = [value is not None for value in values]
    packed: list[int] = sorted(map(add, compress(offsets, present), compress(values, present)))
    result: dict[str, Stats] = {}
    for index, name in enumerate(names):
        base = index * _GROUP_STRIDE
        start, stop = bisect_left(packed, base), bisect_left(packed, base + _GROUP_STRIDE)
        result[name] = _stats(packed, start, stop, base + _VALUE_BIAS)
    return result


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
