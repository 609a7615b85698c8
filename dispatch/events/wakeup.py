"""Wake-ups for followers of the log: a follower sleeps until an append says "new events", or a poll interval.

A wake-up is only a hint; followers always re-read the log, so a lost wake-up costs one poll interval,
never an event. The in-process wake-up serves `dispatch up`; the Redis one crosses processes (issue 4).
"""

from __future__ import annotations

import threading
from typing import Protocol


class Wakeup(Protocol):
    def notify(self, position: int) -> None:
        """Say that the log now reaches `position`."""
        ...

    def token(self) -> int:
        """A counter to pass to `wait`, taken before checking the log, so no notify slips between."""
        ...

    def wait(self, token: int, timeout: float) -> None:
        """Return when notified after `token` was taken, or after `timeout` seconds."""
        ...


class LocalWakeup:
    """Wake-ups between threads of one process."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0

    def notify(self, position: int) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def token(self) -> int:
        with self._condition:
            return self._generation

    def wait(self, token: int, timeout: float) -> None:
        with self._condition:
            self._condition.wait_for(lambda: self._generation != token, timeout=timeout)
