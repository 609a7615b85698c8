"""When a tracker's position becomes an event: the fleet's audit keeps its track, not every fix it heard.

A transponder reports every few seconds; a crew phone as often as it is asked. A fix is recorded when it says
something new: the resource moved more than `min_move_m` since the recorded one, changed its speed by more than
`speed_change_knots` (it set off or stopped, which dead reckoning must know), or `heartbeat_s` passed (so a
moored boat's position stays fresh). Never more often than once per `min_interval_s`, except after a position an
operator stated, which is no stream to thin. One rule for the AIS feed, which asks before it commands anything, and
for the decision, which asks again against the stream.
"""

from __future__ import annotations

from datetime import datetime

from dispatch.domain.catalogue import Position
from dispatch.domain.commands import PositionThrottle
from dispatch.domain.geo.motion import metres_between


def worth_recording(
    last: Position | None, last_at: datetime | None, last_sog_knots: float | None, last_source: str | None,
    position: Position, at: datetime, sog_knots: float | None, throttle: PositionThrottle,
) -> bool:
    """Whether a fix at `at` is a meaningful change from the last recorded one (none recorded, or one an operator
    stated, which is no stream to thin: it is)."""
    if last is None or last_at is None or last_source in (None, "operator"):
        return True
    elapsed = (at - last_at).total_seconds()
    if elapsed < throttle.min_interval_s:
        return False
    if elapsed >= throttle.heartbeat_s:
        return True
    if sog_knots is not None and abs(sog_knots - (last_sog_knots or 0.0)) > throttle.speed_change_knots:
        return True
    return metres_between(last, position) > throttle.min_move_m
