"""Time as a dependency: the system clock in production, a frozen or stepped clock in tests and benchmarks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, UTC and tz-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that moves only when told to; `advance` lets a test walk through an 80-minute referral."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs a tz-aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, step: timedelta) -> datetime:
        self._now += step
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)


class ScaledClock:
    """Time that runs `speed` times as fast as the system clock from `anchor_at` on, shifted by `offset`.

    For drills and tests: every process given the same anchor, speed and offset reads the same time, so a
    real worker subprocess can live through an 80-minute referral in seconds. RQ releases scheduled jobs by
    the system clock, so whoever schedules a check at a time of this clock must ask `real_time` for when
    that moment comes in real life.
    """

    def __init__(self, anchor_at: datetime, speed: float = 1.0, offset: timedelta = timedelta(0)) -> None:
        if anchor_at.tzinfo is None:
            raise ValueError("ScaledClock needs a tz-aware anchor time")
        if not speed > 0:
            raise ValueError(f"ScaledClock speed must be positive, got {speed}")
        self.anchor_at = anchor_at.astimezone(UTC)
        self.speed = speed
        self.offset = offset

    def now(self) -> datetime:
        return self.at_real(datetime.now(UTC))

    def at_real(self, real: datetime) -> datetime:
        """This clock's reading at the real (system) moment `real`."""
        return self.anchor_at + self.offset + (real - self.anchor_at) * self.speed

    def real_time(self, moment: datetime) -> datetime:
        """The real (system) moment at which this clock reads `moment`."""
        return self.anchor_at + (moment - self.anchor_at - self.offset) / self.speed


def real_time(clock: Clock, moment: datetime) -> datetime:
    """When `moment` of `clock` happens by the system clock: the same moment unless the clock is scaled."""
    return clock.real_time(moment) if isinstance(clock, ScaledClock) else moment
