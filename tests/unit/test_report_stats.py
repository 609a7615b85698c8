"""Report aggregation, pure: nearest-rank percentiles, breakdowns equal to counting each group alone,
Bangkok months and years, the summary's arithmetic."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.domain.errors import InvalidInput
from dispatch.reports.periods import month_of, months_between, parse_bound, year_bounds
from dispatch.reports.stats import EMPTY, Grouping, Stats, breakdowns, grouped_stats, seconds, stats_of
from dispatch.reports.summary import summarise


def test_percentiles_are_nearest_rank_so_every_figure_is_a_real_response_time() -> None:
    assert stats_of([300, 840, 600, 780]) == Stats(count=4, median=600, p90=840, max=840)
    assert stats_of(list(range(1, 11))) == Stats(count=10, median=5, p90=9, max=10)
    assert stats_of([7]) == Stats(count=1, median=7, p90=7, max=7)


def test_incomplete_intervals_are_not_counted() -> None:
    assert stats_of([None, 60, None]) == Stats(count=1, median=60, p90=60, max=60)
    assert stats_of([None, None]) == EMPTY == stats_of([])


def naive(values: list[int]) -> Stats:
    ordered = sorted(values)
    if not ordered:
        return EMPTY

    def rank(fraction: float) -> int:
        return ordered[max(math.ceil(fraction * len(ordered)), 1) - 1]

    return Stats(count=len(ordered), median=rank(0.5), p90=rank(0.9), max=ordered[-1])


# Intervals as far apart as two datetimes can be, so the packed sort and the float columns are exact at any size.
responses = st.lists(st.tuples(st.sampled_from(["koh_yao", "similan", "surin"]), st.sampled_from(["red", "green"]),
                               st.one_of(st.none(), st.integers(min_value=-2**39, max_value=2**39))), max_size=60)


@given(responses)
def test_a_breakdown_equals_each_group_counted_alone(rows: list[tuple[str, str, int | None]]) -> None:
    zones = [zone for zone, _triage, _value in rows]
    triages = [triage for _zone, triage, _value in rows]
    values = [value for _zone, _triage, value in rows]

    overall, by = breakdowns({"zone": Grouping.of(zones), "triage": Grouping.of(triages)},
                             {"response_seconds": seconds(values)})

    for dimension, keys in (("zone", zones), ("triage", triages)):
        expected = {key: {"response_seconds": naive([v for k, v in zip(keys, values, strict=True)
                                                     if k == key and v is not None])} for key in sorted(set(keys))}
        assert by[dimension] == expected
    assert grouped_stats(zones, values) == {key: found["response_seconds"] for key, found in by["zone"].items()}
    assert stats_of(values) == overall["response_seconds"] == naive([v for v in values if v is not None])


def test_months_and_years_are_bangkok_time() -> None:
    assert month_of(datetime(2026, 3, 31, 16, 59, 59, tzinfo=UTC)) == "2026-03"
    assert month_of(datetime(2026, 3, 31, 17, 0, tzinfo=UTC)) == "2026-04"
    assert year_bounds(2018) == (datetime(2017, 12, 31, 17, tzinfo=UTC), datetime(2018, 12, 31, 17, tzinfo=UTC))


def test_a_period_splits_into_bangkok_months_clipped_to_it() -> None:
    start, end = datetime(2025, 12, 20, tzinfo=UTC), datetime(2026, 2, 10, 17, tzinfo=UTC)

    assert months_between(start, end) == [
        ("2025-12", start, datetime(2025, 12, 31, 17, tzinfo=UTC)),
        ("2026-01", datetime(2025, 12, 31, 17, tzinfo=UTC), datetime(2026, 1, 31, 17, tzinfo=UTC)),
        ("2026-02", datetime(2026, 1, 31, 17, tzinfo=UTC), end),
    ]
    assert months_between(end, start) == [] == months_between(end, end)


def test_report_bounds_are_bangkok_dates_or_times_with_a_zone() -> None:
    assert parse_bound("2026-04-01", "from") == datetime(2026, 3, 31, 17, tzinfo=UTC)
    assert parse_bound("2026-04-01T09:00:00+02:00", "from") == datetime(2026, 4, 1, 7, tzinfo=UTC)
    assert parse_bound(None, "from") is None and parse_bound(" ", "to") is None
    with pytest.raises(InvalidInput, match="needs a time zone"):
        parse_bound("2026-04-01T09:00:00", "to")
    with pytest.raises(InvalidInput) as raised:
        parse_bound("April", "from")
    assert raised.value.field == "from"


def test_the_summary_arithmetic() -> None:
    incidents = [(1, "red", 1, 40, 2), (1, "red", 0, 10, 3), (1, "yellow", 1, 50, 0), (1, "green", 1, 99, 1),
                 (0, "red", 1, 70, 10)]
    referrals = [("koh_yao", "met", 1, 95, 0), ("koh_yao", "missed", 1, 5, 1200), ("koh_yao", "breached", 1, 1, 0),
                 ("koh_yao", "met", 0, 57, 0)]

    body = summarise(2019, incidents, referrals, saving_thb=6000, saving_zones=("koh_yao",))

    assert body["red_yellow_reached"] == {"reached": 90, "of": 100, "percent": 90.0, "by_triage": {
        "red": {"reached": 40, "of": 50, "percent": 80.0}, "yellow": {"reached": 50, "of": 50, "percent": 100.0}}}
    assert body["deaths"]["count"] == 6 and body["deaths"]["change_percent"] == -40.0
    assert body["deaths"]["fell_more_than_target"] is True
    assert body["referrals"] == {"count": 158, "with_guarantee": 101, "met": 95, "missed": 5, "open": 1,
                                 "compliance_percent": 95.0, "late_seconds_total": 1200}
    assert body["cost_saved_thb"] == 948_000


def test_the_cost_saved_counts_only_the_referrals_of_the_zones_that_save() -> None:
    referrals = [("koh_yao", "met", 1, 10, 0), ("khao_lak_coast", "met", 0, 7, 0), ("similan", "missed", 0, 2, 0),
                 ("koh_yao", "missed", 1, 3, 600)]

    body = summarise(2019, [], referrals, saving_thb=6000, saving_zones=("koh_yao",))

    assert body["referrals"]["count"] == 22  # every referral is still a referral
    assert (body["cost_saved_zones"], body["cost_saved_referrals"], body["cost_saved_thb"]) == (
        ["koh_yao"], 13, 13 * 6000)
    assert summarise(2019, [], referrals, saving_thb=6000, saving_zones=())["cost_saved_thb"] == 0
