"""When a seasonal unit serves: the parks' calendar (seasons.json, sourced) and the decision by the clock.

A unit registered for `park_season` serves while the marine national parks are open and is out of service
while they are closed, by the date in Bangkok; nobody changes it by hand at either end. Being out of season is
not a status in the log: it follows from the clock, so it needs no event and cannot be forgotten.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib.resources import files
from typing import Final, Literal, Protocol

import msgspec

from dispatch.domain.vocabulary import SEASONS, Season, local, local_midnight

ALL_YEAR: Final[Season] = "all_year"
# Why a unit whose status is available still cannot be sent.
ServiceReason = Literal["out_of_season"]


class SeasonCalendar(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One season's yearly closure, [closed_from, closed_through] in Bangkok days, with what it rests on."""

    id: Season
    name_en: str
    name_th: str
    closed_from: str
    closed_through: str
    basis: str
    sources: tuple[str, ...]


class _SeasonsFile(msgspec.Struct, frozen=True, kw_only=True):
    about: dict[str, object] = msgspec.field(name="_about")
    seasons: tuple[SeasonCalendar, ...]


class SeasonDataError(ValueError):
    """seasons.json breaks one of its rules (an unknown code, a date that is not a day of every year, ...)."""


class HasSeason(Protocol):
    @property
    def season(self) -> Season: ...


@dataclass(frozen=True, kw_only=True)
class ServiceState:
    """Whether a unit serves at a moment by its season; if not, why and from when it serves again."""

    in_service: bool
    reason: ServiceReason | None = None
    # Out of season: when it serves again. In season: when it stops (None: it serves all year).
    returns_at: datetime | None = None
    season_ends_at: datetime | None = None

    @property
    def changes_at(self) -> datetime | None:
        """The next moment this state changes by the clock alone."""
        return self.returns_at or self.season_ends_at


ALWAYS: Final[ServiceState] = ServiceState(in_service=True)
Calendars = Mapping[str, SeasonCalendar]


def service_state(season: Season, now: datetime, calendars: Calendars | None = None) -> ServiceState:
    """A unit's service at `now` by its season (the packaged calendar unless one is given)."""
    if season == ALL_YEAR:
        return ALWAYS
    calendar = (calendars if calendars is not None else load_seasons())[season]
    today = local(now).date()
    for closed_on, open_on in (_closure(calendar, today.year - 1), _closure(calendar, today.year)):
        if closed_on <= today < open_on:
            return ServiceState(in_service=False, reason="out_of_season", returns_at=local_midnight(open_on))
    closes_on = next(start for start, _ in (_closure(calendar, today.year), _closure(calendar, today.year + 1))
                     if start > today)
    return ServiceState(in_service=True, season_ends_at=local_midnight(closes_on))


def in_service(resource: HasSeason, now: datetime) -> bool:
    """True when the unit's season has it serving at `now`."""
    return service_state(resource.season, now).in_service


def _closure(calendar: SeasonCalendar, year: int) -> tuple[date, date]:
    """The closure that starts in `year`: its first day out and the first day in service again."""
    closed_on = _day(calendar.closed_from, year)
    open_on = _day(calendar.closed_through, year) + timedelta(days=1)
    if open_on <= closed_on:  # it runs over the new year
        open_on = _day(calendar.closed_through, year + 1) + timedelta(days=1)
    return closed_on, open_on


def _day(month_day: str, year: int) -> date:
    month, day = month_day.split("-")
    return date(year, int(month), int(day))


@lru_cache(maxsize=1)
def load_seasons() -> dict[str, SeasonCalendar]:
    """The packaged calendars by season code, read once and checked."""
    return parse_seasons(files("dispatch.domain.geo").joinpath("seasons.json").read_bytes())


def parse_seasons(raw: bytes | str) -> dict[str, SeasonCalendar]:
    try:
        calendars = msgspec.json.decode(raw, type=_SeasonsFile).seasons
    except msgspec.ValidationError as exc:
        raise SeasonDataError(f"seasons.json does not match the schema: {exc}") from exc
    problems = [problem for calendar in calendars for problem in _problems(calendar)]
    listed = [calendar.id for calendar in calendars]
    problems += [f"{code} is listed twice" for code in sorted({c for c in listed if listed.count(c) > 1})]
    # Every seasonal code needs its dates, or a unit registered with it could never be decided.
    problems += [f"{code} has no dates" for code in SEASONS if code != ALL_YEAR and code not in listed]
    if problems:
        raise SeasonDataError("seasons.json: " + "; ".join(problems))
    return {calendar.id: calendar for calendar in calendars}


def _problems(calendar: SeasonCalendar) -> list[str]:
    if calendar.id == ALL_YEAR:
        return [f"{ALL_YEAR} has no closure and takes no dates"]
    problems = []
    for name in ("closed_from", "closed_through"):
        try:
            # A day of every year: 29 February would leave three years in four without the date.
            _day(getattr(calendar, name), 2001)
        except ValueError:
            problems.append(f"{calendar.id}.{name} is not a day of every year as MM-DD")
    reopens = _day(calendar.closed_through, 2001) + timedelta(days=1) if not problems else None
    if reopens is not None and _day(calendar.closed_from, reopens.year) == reopens:
        problems.append(f"{calendar.id} would be closed all year")
    return problems
