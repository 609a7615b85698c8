"""Append wake-ups: a Redis that fails (or hangs until its socket timeout) costs one append its wait, not every
append."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from redis.exceptions import TimeoutError as RedisTimeoutError

from dispatch.adapters.eventlog import wakeup
from dispatch.adapters.eventlog.wakeup import QUIET_AFTER_FAILURE_SECONDS, RedisWakeup


class HangingRedis:
    """Every publish ends in a socket timeout, as a frozen Redis answers."""

    def __init__(self) -> None:
        self.publishes = 0

    def publish(self, channel: str, message: str) -> None:
        self.publishes += 1
        raise RedisTimeoutError("Timeout reading from socket")


def test_after_a_failed_wakeup_appends_leave_redis_alone_for_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(wakeup, "time", SimpleNamespace(monotonic=lambda: now[0]))
    redis = HangingRedis()
    appended = RedisWakeup(redis, "appended")
    # when three appends follow one another while Redis hangs
    for position in (1, 2, 3):
        appended.notify(position)
    # then only the first waited on Redis; the followers poll meanwhile
    assert redis.publishes == 1
    # and once the quiet period is over, an append tries Redis again
    now[0] += QUIET_AFTER_FAILURE_SECONDS + 0.1
    appended.notify(4)
    assert redis.publishes == 2
