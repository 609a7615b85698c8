"""Publishing projector changes on a Redis channel, one message per batch, in log order."""

from __future__ import annotations

import logging
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

    def __call__(self, changes: list[Change]) -> None:
        try:
            self.redis.publish(self.channel, encode_changes(changes))
        except RedisError as exc:
            log.warning("live push skipped: redis unavailable", extra={"error": str(exc)})
