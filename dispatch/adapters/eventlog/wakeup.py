"""Wake-ups for followers of the log: a follower sleeps until an append says "new events", or a poll interval.

A wake-up is only a hint; followers always re-read the log, so a lost wake-up costs one poll interval,
never an event. The in-process wake-up serves `dispatch up`; the Redis one crosses processes.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Final, Protocol

from redis.exceptions import RedisError

log = logging.getLogger("dispatch.wakeup")
# After a failed publish, appends skip publishing this long. A Redis that hangs (frozen, or a host gone
# silent) costs a publish its whole socket timeout, seconds that every report would otherwise wait; the
# followers poll meanwhile.
QUIET_AFTER_FAILURE_SECONDS: Final[float] = 5.0


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


class RedisWakeup:
    """Wake-ups across processes: each append publishes its position on a Redis channel, and a listener
    thread turns what it hears into local wake-ups. If Redis is down, followers fall back to polling."""

    def __init__(self, redis: Any, channel: str) -> None:
        self._redis = redis
        self._channel = channel
        self._local = LocalWakeup()
        self._listener: threading.Thread | None = None
        self._stopped = threading.Event()
        self._quiet_until = 0.0

    def notify(self, position: int) -> None:
        self._local.notify(position)
        if time.monotonic() < self._quiet_until:
            return
        try:
            self._redis.publish(self._channel, str(position))
        except RedisError:
            self._quiet_until = time.monotonic() + QUIET_AFTER_FAILURE_SECONDS
            log.debug("append wake-up not published; followers will poll")

    def token(self) -> int:
        self._ensure_listening()
        return self._local.token()

    def wait(self, token: int, timeout: float) -> None:
        self._local.wait(token, timeout)

    def close(self) -> None:
        self._stopped.set()

    def _ensure_listening(self) -> None:
        # Only followers subscribe (the first time they ask for a token); appenders just publish.
        if self._listener is None:
            self._listener = threading.Thread(target=self._listen, name="log-wakeup", daemon=True)
            self._listener.start()

    def _listen(self) -> None:
        while not self._stopped.is_set():
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self._channel)
                while not self._stopped.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._local.notify(int(message["data"]))
            except RedisError:
                self._stopped.wait(1.0)  # Redis is away; polling covers the gap until it is back
