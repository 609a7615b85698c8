"""Every event type of the catalogue, with generated field values (NUL, lone surrogates, RTL marks, Thai, very long
texts, extreme numbers), projects on SQLite and on PostgreSQL: whatever the log holds, the board keeps moving.

Events go into the log with SQL, past the store's own checks on text: a log written before those checks, or by
an older version, may hold anything the event's JSON can say, and the projector must still apply it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
import msgspec.inspect as mi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from dispatch.adapters.read_models import BOARD, RESOURCES
from dispatch.app.services import Services
from dispatch.domain.catalogue import EVENT_TYPES, Event, IncidentReported, ResourceRegistered, encode_data
from dispatch.projections import all_projections
from dispatch.projections.runner import Projector
from dispatch.projections.writer import clean_text
from tests.raw_log import append_raw

pytestmark = pytest.mark.slow
EXAMPLES: Final[int] = 30
PIECES: Final[tuple[str, ...]] = (
    "\x00", "a\x00b", "\ud800", "\udfff", "\u200f", "\u202e", "\u202c", "\u2066", "\ufeff", "\t", "\n", "\x1b[2J",
    "ผู้ป่วยหมดสติ", "مريض", "🚑", "e\u0301", "\U0010ffff", "'; DROP TABLE events; --", "<script>x</script>",
)
texts = st.one_of(
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=12)), max_size=6).map("".join),
    st.integers(min_value=200, max_value=20_000).map(lambda n: ("ยาว\x00\u202e" * (n // 5 + 1))[:n]),
)
# The fields that name a stream (or tie events of one story together): fixed per story, as the store refuses a
# stream id no writer could send (dispatch/domain/text.py), and the fuzz is about the events' other fields.
IDS: Final[frozenset[str]] = frozenset({"incident_id", "resource_id", "referral_id", "notification_key",
                                        "delivery_key", "alert_id", "alert_key"})
_serial = itertools.count()


def strategy(kind: mi.Type, name: str, ids: dict[str, str]) -> st.SearchStrategy[Any]:
    """Values of `kind` for field `name`; the story's ids are fixed, so the events are about one incident."""
    match kind:
        case mi.StrType() if name in IDS:
            return st.just(ids[name])
        case mi.StrType():
            return texts
        case mi.LiteralType(values=values):
            return st.sampled_from(values)
        case mi.IntType():
            return st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(0, 100))
        case mi.FloatType(ge=ge, le=le):
            return st.floats(min_value=ge, max_value=le, allow_nan=False, allow_infinity=False)
        case mi.BoolType():
            return st.booleans()
        case mi.DateTimeType():
            return st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
        case mi.NoneType():
            return st.none()
        case mi.UnionType(types=types):
            return st.one_of(*(strategy(option, name, ids) for option in types))
        case mi.VarTupleType(item_type=item):
            return st.lists(st.just(ids["resource_id"]) if name.endswith("_ids") else strategy(item, name, ids),
                            max_size=2).map(tuple)
        case mi.StructType(cls=cls, fields=fields):
            return st.builds(cls, **{field.name: strategy(field.type, field.name, ids) for field in fields})
    raise AssertionError(f"no strategy for {kind!r} ({name}): add one, so the new field is fuzzed too")


def event_of(cls: type[Event], ids: dict[str, str]) -> st.SearchStrategy[Event]:
    return strategy(mi.type_info(cls), cls.__name__, ids)


@st.composite
def stories(draw: st.DrawFn) -> list[Event]:
    """One of every event type about one incident and one resource: resources first, then the incident's life in
    catalogue order (report, triage, dispatch, milestones, referral, ... close)."""
    serial = next(_serial)
    ids = {"incident_id": f"inc-{serial}", "resource_id": f"res-{serial}", "referral_id": f"ref-{serial}",
           "notification_key": f"note-{serial}", "delivery_key": f"del-{serial}", "alert_id": f"alert-{serial}",
           "alert_key": f"cap-{serial}"}
    kinds = sorted(EVENT_TYPES.values(), key=lambda cls: cls.STREAM != "resource")
    return [draw(event_of(cls, ids)) for cls in kinds]


def test_the_fuzz_covers_every_event_type() -> None:
    ids = {name: name[0] for name in IDS}
    assert all(event_of(cls, ids) is not None for cls in EVENT_TYPES.values())


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                     HealthCheck.too_slow, HealthCheck.data_too_large])
@given(story=stories())
def test_every_event_the_log_can_hold_projects_on_both_databases(services: Services, story: list[Event]) -> None:
    engine = services.store.engine
    for event in story:
        try:
            data = encode_data(event).decode()
        except UnicodeEncodeError:
            continue  # a lone surrogate has no UTF-8: no writer can put this event in the log at all
        append_raw(engine, event.stream_id, type(event).__name__, data, services.clock.now())
    projector = Projector(services.store, all_projections(), batch_size=7)

    while (retry := projector.step()) == 0.0:
        pass  # a failed batch is tried again event by event at once
    assert retry is None and projector.stall is None, f"stalled: {projector.stall}"
    assert projector.position("board") == services.store.head()
    report = next(event for event in story if isinstance(event, IncidentReported))
    registered = next(event for event in story if isinstance(event, ResourceRegistered))
    with engine.connect() as db:
        board = db.execute(select(BOARD.c.description).where(BOARD.c.incident_id == report.incident_id)).scalar()
        fleet = db.execute(select(RESOURCES.c.name).where(RESOURCES.c.resource_id == registered.resource_id)).scalar()
    if _encodable(report):
        assert board == clean_text(report.description), "the description as the log has it, NUL made visible"
    if _encodable(registered):
        assert fleet == clean_text(registered.name)[:120]


def _encodable(event: Event) -> bool:
    try:
        encode_data(event)
    except UnicodeEncodeError:
        return False
    return True


def test_a_row_whose_json_cannot_be_decoded_stalls_the_projector_visibly(services: Services) -> None:
    # given JSON no writer makes: a lone surrogate escaped, which no decoder turns into text
    good = msgspec.json.decode(encode_data(_report("inc-ok")))
    append_raw(services.store.engine, "incident-inc-ok", "IncidentReported", msgspec.json.encode(good).decode(),
               services.clock.now())
    bad = append_raw(services.store.engine, "incident-inc-bad", "IncidentReported",
                     encode_data(_report("inc-bad")).decode().replace('"description":""', '"description":"\\ud800"'),
                     services.clock.now())
    projector = Projector(services.store, all_projections())

    while projector.step() == 0.0:
        pass

    assert projector.stall is not None and projector.stall.position == bad and projector.stall.error == "DecodeError"
    assert projector.position("board") == bad - 1


def _report(incident_id: str) -> IncidentReported:
    from tests.builders import incident_reported

    return incident_reported(incident_id=incident_id, description="")
