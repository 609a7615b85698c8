"""A projector that cannot apply an event stalls at it, visibly, and resumes once the cause is gone; probes and
metrics tell other processes how far behind the read models are."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import Engine, select

from dispatch.adapters.embedded_redis import EmbeddedRedis
from dispatch.adapters.read_models import BOARD
from dispatch.app.services import Services
from dispatch.domain.catalogue import encode_data, incident_stream
from dispatch.domain.envelope import StoredEvent
from dispatch.entrypoints.api.app import create_app
from dispatch.entrypoints.api.metrics import ProjectorMetrics
from dispatch.projections import all_projections
from dispatch.projections.board import Board
from dispatch.projections.rows import RowSet
from dispatch.projections.runner import Projector
from dispatch.projections.status import StatusRecord, status_key
from dispatch.runtime.clock import FrozenClock
from dispatch.runtime.logs import JsonFormatter
from tests.builders import incident_reported, note_added
from tests.raw_log import append_raw, repair_raw

PATIENT_TEXT = "Somsak, 34, unconscious, HIV positive"


def report(services: Services, incident_id: str, **fields: Any) -> int:
    stored = services.store.append(incident_stream(incident_id),
                                   [incident_reported(incident_id=incident_id, **fields)], expected_version=0)
    return stored.events[-1].position


def board_ids(engine: Engine) -> set[str]:
    with engine.connect() as db:
        return set(db.execute(select(BOARD.c.incident_id)).scalars())


def poison(services: Services, incident_id: str = "inc-poison") -> int:
    """A row of a type this code does not know, written past the store's checks."""
    return append_raw(services.store.engine, incident_stream(incident_id), "IncidentTeleported", "{}",
                      services.clock.now())


def repair(services: Services, position: int, incident_id: str = "inc-poison") -> None:
    repair_raw(services.store.engine, position, "IncidentReported",
               encode_data(incident_reported(incident_id=incident_id)).decode())


def test_an_event_that_cannot_be_applied_stalls_the_projector_at_it_after_applying_everything_before_it(
    services: Services, engine: Engine,
) -> None:
    # given a log with a poison event between good ones, read in one batch
    report(services, "inc-1")
    bad = poison(services)
    report(services, "inc-2")
    projector = Projector(services.store, all_projections(), batch_size=100)

    # when the projector tries (the batch fails, then it goes one event at a time and meets the poison again)
    first, second = projector.step(), projector.step()

    # then it stalls at the poison's position, with what came before it applied and nothing after
    assert first == 0.0 and second is not None and second > 0, "find the event at once, then back off"
    assert projector.stall is not None and projector.stall.position == bad
    assert projector.stall.error == "UnknownEventType"
    assert board_ids(engine) == {"inc-1"} and projector.position("board") == bad - 1


def test_a_stalled_projector_resumes_by_itself_once_the_event_is_repaired(services: Services, engine: Engine) -> None:
    report(services, "inc-1")
    bad = poison(services)
    report(services, "inc-2")
    projector = Projector(services.store, all_projections(), batch_size=100)
    while projector.step() == 0.0:
        pass
    assert projector.stall is not None

    repair(services, bad)

    assert projector.step() is None and projector.stall is None
    assert board_ids(engine) == {"inc-1", "inc-poison", "inc-2"}
    assert projector.position("board") == services.store.head()


def test_the_retry_waits_double_up_to_the_longest(services: Services) -> None:
    poison(services)
    projector = Projector(services.store, all_projections(), retry_seconds=(1.0, 5.0))
    waits = [projector.step() for _ in range(6)]
    assert waits == [0.0, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert projector.stall is not None and projector.stall.attempts == 5


class Leaky(Board):
    """A board whose failure quotes the description, as a database error quotes the value it refused."""

    def apply(self, rows: RowSet, stored: StoredEvent) -> None:
        if stored.type == "IncidentReported":
            raise ValueError(f"cannot store {stored.event.description!r}")  # type: ignore[attr-defined]
        super().apply(rows, stored)


def test_the_stall_is_logged_with_its_position_and_error_code_and_no_patient_text(
    services: Services, caplog: pytest.LogCaptureFixture,
) -> None:
    at = report(services, "inc-1", description=PATIENT_TEXT)
    projector = Projector(services.store, [Leaky()])

    with caplog.at_level(logging.ERROR, logger="dispatch.projector"):
        projector.step()
        projector.step()

    (record,) = [record for record in caplog.records if record.levelno == logging.ERROR]
    line = json.loads(JsonFormatter().format(record))
    assert line["position"] == at and line["event_type"] == "IncidentReported" and line["error"] == "ValueError"
    assert line["projection"] == "board" and "Somsak" not in JsonFormatter().format(record)


def test_the_stall_reaches_the_status_record_the_metrics_and_readyz(
    services: Services, clock: FrozenClock, private_redis: EmbeddedRedis,
) -> None:
    # given an API and a projector sharing a Redis, and a poison event a minute old
    redis = Redis.from_url(private_redis.url)
    services.settings = services.settings.model_copy(update={"redis_url": private_redis.url})
    services.redis = redis
    report(services, "inc-1")
    bad = poison(services)
    report(services, "inc-2")
    clock.advance(timedelta(seconds=60))
    metrics = ProjectorMetrics()
    record = StatusRecord(redis, status_key(services.settings.live_channel))
    projector = Projector(services.store, all_projections(), status=record, observer=metrics)

    # when the projector stalls on it
    projector.step()
    projector.step()

    # then its record, its metrics and the API's probes say so, with the lag in events and seconds
    found = record.read()
    assert found is not None and found["state"] == "stalled" and found["stalled_at"] == bad
    assert metrics.registry.get_sample_value("dispatch_projector_stalled") == 1
    assert metrics.registry.get_sample_value("dispatch_projector_lag_events") == 2
    with TestClient(create_app(services)) as client:
        ready, health, live = client.get("/readyz"), client.get("/healthz"), client.get("/livez")
        exported = client.get("/metrics").text
    body = ready.json()
    assert ready.status_code == 200 and body["status"] == "degraded", "stale, not down: reports still land"
    assert body["projector"] | {"since": None, "reported_at": None} == {
        "status": "stalled", "position": bad - 1, "lag_events": 2, "lag_seconds": 60.0, "max_lag_seconds": 15.0,
        "stalled_at": bad, "error": "UnknownEventType", "attempts": 1, "since": None, "reported_at": None}
    assert health.json()["status"] == "degraded" and health.json()["projector"]["status"] == "stalled"
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    assert "dispatch_projector_lag_events 2.0" in exported and "dispatch_projector_lag_seconds 60.0" in exported
    redis.close()


def test_readyz_says_lagging_when_no_projector_has_applied_the_log_for_longer_than_the_setting(
    services: Services, clock: FrozenClock,
) -> None:
    report(services, "inc-1")
    services.store.append(incident_stream("inc-1"), [note_added(incident_id="inc-1")], expected_version=1)
    with TestClient(create_app(services)) as client:
        fresh = client.get("/readyz").json()
        clock.advance(timedelta(seconds=16))
        late = client.get("/readyz").json()
    assert fresh["status"] == "ok" and fresh["projector"]["lag_events"] == 2
    assert late["status"] == "degraded" and late["projector"]["status"] == "lagging"
    assert late["projector"]["lag_seconds"] == 16.0


def test_readyz_answers_503_without_the_database_and_livez_still_answers(services: Services) -> None:
    from tests.integration.test_api import log_unreachable

    with TestClient(create_app(services)) as client, log_unreachable(services):
        ready, live = client.get("/readyz"), client.get("/livez")
    assert ready.status_code == 503 and ready.json()["status"] == "down" and "projector" not in ready.json()
    assert live.status_code == 200
