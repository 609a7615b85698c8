"""Migrations on databases that already hold read-model rows: an upgraded database needs no rebuild."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from dispatch.adapters.migrations.runner import upgrade
from dispatch.adapters.schema import metadata
from dispatch.projections.intervals import Intervals
from dispatch.projections.referrals import Referrals
from dispatch.projections.rows import replay_in_memory
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
)
from tests.servers import postgres_engine, sqlite_engine
from tests.unit.test_projections import stored

# Columns migration 0006 added, by table: what a database at 0005 does not have yet.
ADDED_IN_0006 = {"response_intervals": {"zone", "source", "triage"},
                 "referrals_view": {"elapsed_seconds", "hospital_wall_seconds"}, "incident_facts": set()}


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
            kept = [{key: value for key, value in row.items() if key not in ADDED_IN_0006[name]} for row in rows]
            db.execute(insert(metadata.tables[name]), kept)

    upgrade(bare_engine)

    with bare_engine.connect() as db:
        found = {name: [dict(row) for row in db.execute(select(metadata.tables[name])).mappings()] for name in built}
    for name, rows in built.items():
        assert sorted(found[name], key=repr) == sorted(rows, key=repr), name
    assert {row["response_id"]: row["triage"] for row in found["response_intervals"]} == {
        f"{INCIDENT}/{BOAT}": "yellow", f"{INCIDENT}/{TEAM}": "yellow", f"{OTHER_INCIDENT}/{BOAT}": "green"}
