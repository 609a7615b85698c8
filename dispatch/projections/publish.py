"""Publishing projector changes on a Redis channel, one message per batch, in log order."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

import orjson
from redis import Redis
from redis.exceptions import RedisError

from dispatch.projections.rows import Change

# The views an operator's screen follows live; the reporting tables are not pushed.
LIVE_VIEWS: Final[frozenset[str]] = frozenset({"board_incidents", "resources_view", "referrals_view", "*"})
log = logging.getLogger("dispatch.publish")


def encode_changes(changes: list[Change]) -> bytes:
    live = [change for change in changes if change.view in LIVE_VIEWS]
    message: dict[str, Any] = {
        "position": max(change.position for change in changes),
        "changes": [{"view": c.view, "key": c.key, "position": c.position, "row": c.row} for c in live],
    }
    return orjson.dumps(message)


class RedisPublisher:
    """Sends each batch to every API process. If Redis is down the board still catches up: clients that
    reconnect ask for what changed after their last position, and the hub resyncs when Redis returns."""

    def __init__(self, redis: Redis, channel: str) -> None:
        self.redis = redis
        self.channel = channel
        self._unsent = False

    def __call__(self, changes: list[Change]) -> None:
        if self._unsent:
            # A batch went unpublished, and the API processes' own link to Redis may never have broken (a timeout,
            # a partition): a resync in front of this batch tells every board to reload instead of missing it.
            changes = [Change(view="*", key="resync", position=changes[0].position, row=None), *changes]
        try:
            self.redis.publish(self.channel, encode_changes(changes))
            self._unsent = False
        except RedisError as exc:
            self._unsent = True
            log.warning("live push skipped: redis unavailable", extra={"error": str(exc)})


def also(first: Callable[[list[Change]], None] | None, then: Callable[[list[Change]], None]
         ) -> Callable[[list[Change]], None]:
    """Publish to `first` (if any), then hand the same changes to `then` (the outbox's queue)."""

    def both(changes: list[Change]) -> None:
        if first is not None:
            first(changes)
        then(changes)

    return both
