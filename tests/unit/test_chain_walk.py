"""The chain walk against anchors, over logs built in memory: whatever a forger cuts or rewrites at or before
an anchored position is caught and named; an honest log, and anything after the newest anchor, pass."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.adapters.eventlog.chain import GENESIS_HASH, ChainReport, ChainRow, ChainWalk, event_hash

T0 = datetime(2026, 3, 14, 7, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Pin:
    position: int
    hash: str
    at: str = "2026-03-14T07:00:00.000000Z"


def chain(datas: list[str], prev_hash: str = GENESIS_HASH, first: int = 1) -> list[ChainRow]:
    """Rows as the store would write them (or a forger recomputing them from `first` on)."""
    rows = []
    for offset, data in enumerate(datas):
        position = first + offset
        at = T0 + timedelta(seconds=position)
        digest = event_hash(prev_hash, position, f"s-{position}", 1, "NoteAdded", 1, at, data, "{}")
        rows.append(ChainRow(position, f"s-{position}", 1, "NoteAdded", 1, data, "{}", at, prev_hash, digest))
        prev_hash = digest
    return rows


def walk(rows: list[ChainRow], anchors: list[Pin], since: Pin | None = None) -> ChainReport:
    walking = ChainWalk(anchors, since=since)
    for row in rows:
        if not walking.check(row):
            break
    return walking.report()


logs = st.integers(min_value=2, max_value=40).flatmap(
    lambda size: st.tuples(st.just(size), st.integers(min_value=1, max_value=size)))


@settings(max_examples=100, deadline=None)
@given(logs, st.data())
def test_a_log_cut_before_its_anchor_fails_at_the_first_removed_position(sized: tuple[int, int],
                                                                          data: st.DataObject) -> None:
    size, anchored = sized
    rows = chain([f"event {n}" for n in range(size)])
    kept = data.draw(st.integers(min_value=0, max_value=anchored - 1), label="rows left")

    report = walk(rows[:kept], [Pin(anchored, rows[anchored - 1].hash)])

    assert walk(rows[:kept], []).intact, "the chain alone cannot see its end cut off"
    assert not report.intact and report.first_bad_position == kept + 1 and report.head_position == kept


@settings(max_examples=100, deadline=None)
@given(logs, st.data())
def test_a_rewrite_at_or_before_an_anchor_with_every_hash_recomputed_fails_at_the_anchor(
        sized: tuple[int, int], data: st.DataObject) -> None:
    size, anchored = sized
    datas = [f"event {n}" for n in range(size)]
    rows = chain(datas)
    changed = data.draw(st.integers(min_value=1, max_value=anchored), label="rewritten position")
    forged_tail = chain(["rewritten", *datas[changed:]], rows[changed - 2].hash if changed > 1 else GENESIS_HASH,
                        first=changed)
    forged = rows[:changed - 1] + forged_tail

    report = walk(forged, [Pin(anchored, rows[anchored - 1].hash)])

    assert walk(forged, []).intact, "a recomputed chain is consistent with itself"
    assert not report.intact and report.first_bad_position == anchored


@settings(max_examples=50, deadline=None)
@given(logs, st.data())
def test_an_honest_log_and_changes_after_the_newest_anchor_pass_the_anchors(sized: tuple[int, int],
                                                                           data: st.DataObject) -> None:
    size, anchored = sized
    rows = chain([f"event {n}" for n in range(size)])
    pins = [Pin(position, rows[position - 1].hash) for position in range(1, anchored + 1)]
    grown = rows[:anchored] + chain(["later"], rows[anchored - 1].hash, first=anchored + 1)

    honest = walk(rows, pins)
    from_last = walk(rows[anchored - 1:], [], since=pins[-1])

    assert honest.intact and honest.anchored_position == anchored and honest.head_hash == rows[-1].hash
    assert walk(grown, pins).intact and from_last.intact and from_last.checked == size - anchored + 1


def test_a_walk_from_a_trusted_checkpoint_refuses_a_log_that_no_longer_reaches_it() -> None:
    rows = chain(["a", "b", "c"])

    report = walk([], [], since=Pin(3, rows[2].hash))

    assert not report.intact and report.first_bad_position == 3 and "ends before position 3" in (report.problem or "")
