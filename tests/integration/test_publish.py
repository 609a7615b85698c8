"""Live publishing: a batch Redis did not take is never silently lost to the boards."""

from __future__ import annotations

from typing import Any

import orjson
from redis.exceptions import ConnectionError as RedisConnectionError

from dispatch.projections.publish import RedisPublisher
from dispatch.projections.rows import Change


class FlakyRedis:
    """Refuses the first `failures` publishes, then keeps what it is sent."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[dict[str, Any]] = []

    def publish(self, channel: str, message: bytes) -> None:
        if self.failures:
            self.failures -= 1
            raise RedisConnectionError("Redis went away")
        self.sent.append(orjson.loads(message))


def batch(position: int) -> list[Change]:
    return [Change(view="board_incidents", key=f"inc-{position}", position=position, row={"status": "open"})]


def test_after_an_unpublished_batch_the_next_one_tells_boards_to_reload_first() -> None:
    # given a batch Redis refused
    redis = FlakyRedis(failures=1)
    publish = RedisPublisher(redis, "changes")  # type: ignore[arg-type]
    publish(batch(1))
    # when the next two are published
    publish(batch(2))
    publish(batch(3))
    # then the first carries a resync in front of its change (boards reload, so batch 1 is not lost to them),
    # and the one after it is a plain delta again
    assert [[change["view"] for change in message["changes"]] for message in redis.sent] == [
        ["*", "board_incidents"], ["board_incidents"]]
    assert [message["position"] for message in redis.sent] == [2, 3]
