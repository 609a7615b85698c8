"""Local time for reports: the province counts days, months and years in Bangkok time (UTC+7)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final

from dispatch.domain.errors import InvalidInput
from dispatch.domain.vocabulary import BANGKOK, local, local_midnight

# The years a report or a look back can ask about: the service's log starts after the first and ends before
# the last (the Thai 1669 system dates from 2008).
EARLIEST_YEAR: Final[int] = 2000
LATEST_YEAR: Final[int] = 2100


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """[start, end) of a Bangkok calendar year, in UTC: 2018 starts at 2017-12-31 17:00 UTC."""
    return local_midnight(date(year, 1, 1)), local_midnight(date(year + 1, 1, 1))


def months_between(start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """The Bangkok months overlapping [start, end), each as (YYYY-MM, its start, its end) clipped to the range."""
    months: list[tuple[str, datetime, datetime]] = []
    if start >= end:
        return months
    day = local(start).date().replace(day=1)
    while (month_start := local_midnight(day)) < end:
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        months.append((month_start.astimezone(BANGKOK).strftime("%Y-%m"), max(start, month_start),
                       min(end, local_midnight(day))))
    return months


def month_of(moment: datetime) -> str:
    """The Bangkok calendar month of an instant, as YYYY-MM."""
    return local(moment).strftime("%Y-%m")


def parse_bound(text: str | None, field: str) -> datetime | None:
    """A report bound: a date (Bangkok midnight starting that day) or an ISO 8601 time with its zone."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            _within_service_years(day.year, field)
            return local_midnight(day)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{field} is a date (2018-01-01) or a time with its zone "
                           f"(2018-01-01T00:00:00+07:00), not {text!r}", field=field) from exc
    if moment.tzinfo is None:
        raise InvalidInput(f"{field} needs a time zone, e.g. {text}+07:00", field=field)
    _within_service_years(moment.year, field)
    return moment.astimezone(UTC)


def _within_service_years(year: int, field: str) -> None:
    # Checked before any arithmetic: a bound at year 1 or 9999 overflows a datetime once moved to another zone.
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise InvalidInput(f"{field} must fall in the years {EARLIEST_YEAR} to {LATEST_YEAR}", field=field)
