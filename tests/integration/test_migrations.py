"""Migrations on databases that already hold read-model rows: an upgraded database needs no rebuild."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from dispatch.adapters.eventlog.sql import open_event_store
from dispatch.adapters.migrations.runner import upgrade
from dispatch.adapters.read_models import CHECKPOINTS
from dispatch.adapters.schema import metadata
from dispatch.projections import all_projections
from dispatch.projections.board import Board
from dispatch.projections.intervals import Intervals
from dispatch.projections.referrals import Referrals
from dispatch.projections.resources import Resources
from dispatch.projections.rows import replay_in_memory
from dispatch.projections.runner import Projector
from tests.builders import (
    BOAT,
    INCIDENT,
    OTHER_INCIDENT,
    T0,
    TEAM,
    incident_reported,
    incident_triaged,
    milestone_recorded,
    minutes,
    patient_arrived_at_facility,
    patient_handed_over,
    referral_requested,
    resource_dispatched,
    resource_registered,
)
from tests.servers import postgres_engine, sqlite_engine
from tests.unit.test_projections import stored

# Columns migration 0006 added, by table: what a database at 0005 does not have yet.
ADDED_IN_0006 = {"response_intervals": {"zone", "source", "triage"},
                 "referrals_view": {"elapsed_seconds", "hospital_wall_seconds"}, "incident_facts": set()}
# And 0008's (each response its own row, and how it ended).
ADDED_IN_0008 = {"response_intervals": {"response_no", "ended_by"}}
# And 0009's (each unit's season, each incident's patient language).
ADDED_IN_0009 = {"board_incidents": {"language"}, "resources_view": {"season"}}
# And 0010's (AIS: a unit's transponder and where its position came from; a beacon's incident).
ADDED_IN_0010 = {"board_incidents": {"beacon"},
                 "resources_view": {"mmsi", "position_source", "course_deg", "sog_knots"}}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def bare_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of each kind, not migrated."""
    built = sqlite_engine(tmp_path) if request.param == "sqlite" else postgres_engine(
        request.getfixturevalue("postgres_schema"))
    yield built
    built.dispose()


def read_models() -> dict[str, list[dict[str, Any]]]:
    """The rows the projections build for two incidents: one triaged at the scene after its responses, referred
    and handed over (arrival at a fraction of a second), one still waiting for its referral to arrive."""
    events = stored(
        incident_reported(triage="red"),
        resource_dispatched(),
        resource_dispatched(resource_id=TEAM, kind="team"),
        milestone_recorded(milestone="on_scene", at=T0 + minutes(14)),
        incident_triaged(stage="scene", code="yellow"),
        referral_requested(at=T0 + minutes(20)),
        patient_arrived_at_facility(at=T0 + minutes(95) + timedelta(seconds=7, microseconds=600_000)),
        patient_handed_over(at=T0 + minutes(110)),
        incident_reported(incident_id=OTHER_INCIDENT, zone="similan", source="boat", triage="green"),
        resource_dispatched(incident_id=OTHER_INCIDENT, resource_id=BOAT),
        referral_requested(incident_id=OTHER_INCIDENT, referral_id=f"{OTHER_INCIDENT}-r1", at=T0 + minutes(40)),
    )
    intervals, referrals = replay_in_memory(Intervals(), events), replay_in_memory(Referrals(), events)
    return {"incident_facts": intervals.rows("incident_facts"), "response_intervals": intervals.rows(
        "response_intervals"), "referrals_view": referrals.rows("referrals_view")}


def test_rows_upgraded_to_0006_carry_the_report_columns_the_projections_compute(bare_engine: Engine) -> None:
    built = read_models()
    upgrade(bare_engine, "0005")
    with bare_engine.begin() as db:
        for name, rows in built.items():
            later = (ADDED_IN_0006[name] | ADDED_IN_0008.get(name, set()) | ADDED_IN_0009.get(name, set())
                     | ADDED_IN_0010.get(name, set()))
            kept = [{key: value for key, value in row.items() if key not in later} for row in rows]
            db.execute(insert(metadata.tables[name]), kept)

    upgrade(bare_engine)

    found = upgraded_rows_match(bare_engine, built)
    assert {row["response_id"]: row["triage"] for row in found["response_intervals"]} == {
        f"{INCIDENT}/{BOAT}": "yellow", f"{INCIDENT}/{TEAM}": "yellow", f"{OTHER_INCIDENT}/{BOAT}": "green"}


def test_rows_written_before_0009_get_the_season_and_language_the_projections_give(bare_engine: Engine) -> None:
    log = stored(incident_reported(language="ru"), incident_reported(incident_id=OTHER_INCIDENT),
                 resource_registered())
    built = {"board_incidents": replay_in_memory(Board(), log).rows("board_incidents"),
             "resources_view": replay_in_memory(Resources(), log).rows("resources_view")}
    upgrade(bare_engine, "0008")
    with bare_engine.begin() as db:
        db.execute(insert(metadata.tables["events"]), [
            {"position": e.position, "stream_id": e.stream_id, "version": e.version, "type": e.type,
             "schema_version": e.schema_version, "data": e.data, "meta": "{}", "recorded_at": e.recorded_at,
             "prev_hash": "", "hash": ""} for e in log])
        for name, rows in built.items():
            later = ADDED_IN_0009[name] | ADDED_IN_0010[name]
            db.execute(insert(metadata.tables[name]),
                       [{k: v for k, v in row.items() if k not in later} for row in rows])

    upgrade(bare_engine)

    found = upgraded_rows_match(bare_engine, built)
    assert {row["language"] for row in found["board_incidents"]} == {"ru", "th"}


def upgraded_rows_match(engine: Engine, built: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The rows of `built`'s tables as the database holds them, each table's checked equal to what was built."""
    with engine.connect() as db:
        found = {name: [dict(row) for row in db.execute(select(metadata.tables[name])).mappings()] for name in built}
    for name, rows in built.items():
        assert sorted(found[name], key=repr) == sorted(rows, key=repr), name
    return found


def test_rows_upgraded_to_0008_number_each_response_and_say_how_it_ended(bare_engine: Engine) -> None:
    # given response rows of 0007, one of a unit back in service
    built = read_models()["response_intervals"] + replay_in_memory(Intervals(), stored(
        incident_reported(incident_id="inc-c"), resource_dispatched(incident_id="inc-c", resource_id=TEAM),
        milestone_recorded(incident_id="inc-c", resource_id=TEAM, milestone="back_in_service"),
    )).rows("response_intervals")
    upgrade(bare_engine, "0007")
    with bare_engine.begin() as db:
        db.execute(insert(metadata.tables["response_intervals"]),
                   [{k: v for k, v in row.items() if k not in ADDED_IN_0008["response_intervals"]} for row in built])
    # when upgraded, then they are what the projection computes: no rebuild needed
    upgrade(bare_engine)
    with bare_engine.connect() as db:
        found = [dict(row) for row in db.execute(select(metadata.tables["response_intervals"])).mappings()]
    assert sorted(found, key=repr) == sorted(built, key=repr)
    assert {row["response_id"]: (row["response_no"], row["ended_by"]) for row in found}[f"inc-c/{TEAM}"] == (
        1, "back_in_service")


def test_a_log_with_a_unit_sent_twice_has_its_responses_replayed_from_the_log_after_0008(
    bare_engine: Engine
) -> None:
    # given a database at 0007 whose log sent the team to the incident twice, and whose one response row holds only
    # what the second response left (the first was overwritten), its projections caught up
    upgrade(bare_engine, "0007")
    store = open_event_store(bare_engine)
    events = [incident_reported(), resource_dispatched(resource_id=TEAM, kind="team"),
              milestone_recorded(resource_id=TEAM, milestone="on_scene", at=T0 + minutes(7)),
              milestone_recorded(resource_id=TEAM, milestone="back_in_service", at=T0 + minutes(9)),
              resource_dispatched(resource_id=TEAM, kind="team", at=T0 + minutes(20)),
              milestone_recorded(resource_id=TEAM, milestone="on_scene", at=T0 + minutes(24))]
    for version, event in enumerate(events):
        store.append(event.stream_id, [event], expected_version=version)
    overwritten = replay_in_memory(Intervals(), stored(*events[:1], *events[4:]))
    with bare_engine.begin() as db:
        for name in ("incident_facts", "response_intervals"):
            db.execute(insert(metadata.tables[name]), [
                {k: v for k, v in row.items() if k not in ADDED_IN_0008.get(name, set())}
                for row in overwritten.rows(name)])
        db.execute(insert(CHECKPOINTS), [{"name": p.name, "position": len(events)} for p in all_projections()])
    # when upgraded, and the projector runs as it does at start-up
    upgrade(bare_engine)
    Projector(store, all_projections()).catch_up_all()
    # then both responses are rows of their own, as the log has them
    with bare_engine.connect() as db:
        found = db.execute(select(metadata.tables["response_intervals"])
                           .order_by(metadata.tables["response_intervals"].c.response_no)).mappings().all()
    assert [(r["response_id"], r["response_seconds"], r["ended_by"]) for r in found] == [
        (f"{INCIDENT}/{TEAM}", 5 * 60, "back_in_service"), (f"{INCIDENT}/{TEAM}/2", 4 * 60, None)]
