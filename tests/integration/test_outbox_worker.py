"""The outbox end to end: a real Redis, a real notifier process (RQ worker with its scheduler), the projector on a
thread of the test, and local servers speaking LINE's and the SMS gateway's protocols.

Each test has its own database (an SQLite file, or a PostgreSQL database) and its own queue name, which also
namespaces the job ids, so tests share the Redis on 127.0.0.1:6379 with anyone else. Tests wait for what they
expect by polling within a bound; the bound guards against a hang and is never what is asserted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from redis import Redis
from rq import Queue
from rq import Worker as RqWorker
from sqlalchemy import select

from dispatch.adapters.eventlog.wakeup import RedisWakeup
from dispatch.adapters.outbox_tables import DELIVERIES, NOTIFICATIONS
from dispatch.app.handle import handle
from dispatch.app.notify import NotifyQueue
from dispatch.app.services import Services, build_services
from dispatch.domain.catalogue import DeliveryAttemptFailed, delivery_stream
from dispatch.domain.commands import DispatchResource, RegisterResource, ReportIncident
from dispatch.domain.notices import delivery_key
from dispatch.projections import all_projections
from dispatch.projections.runner import Projector
from dispatch.runtime.settings import Settings
from tests.builders import operator
from tests.peers import (
    LINE_TOKEN,
    SMS_KEY,
    SMS_SECRET,
    LineApi,
    Scripted,
    SmsGatewayApi,
)

pytestmark = [pytest.mark.redis, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("DISPATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WAIT_SECONDS = 60
BOAT, CREW, CREW_LINE, CREW_PHONE = "KY-01", "somchai", "U" + "c" * 32, "0899999999"
LEASE_SECONDS = 3  # an attempt with no outcome this long after it began counts as its worker's death
T = TypeVar("T")


@pytest.fixture
def settings(database_url: str, line_api: LineApi, sms_api: SmsGatewayApi) -> Settings:
    line_api.friends.add(CREW_LINE)
    name = f"test-{uuid.uuid4().hex[:10]}"
    return Settings(
        database_url=database_url, redis_url=REDIS_URL, queue_name=name, notify_queue_name=f"{name}-notify",
        append_channel=f"{name}:appended", follow_poll_seconds=0.2, line_channel_access_token=LINE_TOKEN,
        line_api_base_url=line_api.url, sms_gateway_url=f"{sms_api.url}/sms", sms_api_key=SMS_KEY,
        sms_api_secret=SMS_SECRET, notify_retry_seconds=(1, 1, 1), notify_lease_seconds=LEASE_SECONDS,
        notify_sweep_seconds=1, password_time_cost=1, password_memory_kib=1024,
    )


@pytest.fixture
def redis(settings: Settings) -> Iterator[Redis]:
    connection = Redis.from_url(REDIS_URL)
    yield connection
    for key in connection.scan_iter(match=f"*{settings.queue_name}*", count=1000):
        connection.delete(key)
    connection.close()


@pytest.fixture
def services(settings: Settings, redis: Redis) -> Iterator[Services]:
    """The test's side: the log (with the crew and their boat), and the projector on a thread, handing what it
    commits to the outbox's queue as the real projector process does."""
    built = build_services(settings)
    built.store.wakeup = RedisWakeup(redis, settings.append_channel)
    built.accounts.add_user(CREW, "lifeguard", "correct horse battery", resource_id=BOAT)
    site = built.places.get("hu_phru_nai")
    handle(RegisterResource(actor=operator(), at=built.clock.now(), resource_id=BOAT, kind="boat",
                            name="Koh Yao ambulance boat", speed_knots=25, position=site.position,
                            home_site_id=site.id, zone="koh_yao"), built)
    handle(ReportIncident(actor=operator(), at=built.clock.now(), incident_id="inc-1", source="clinic",
                          position=site.position, zone="koh_yao", triage="red", category="other",
                          site_id=site.id), built)
    queue = NotifyQueue(redis, settings.notify_queue_name, clock=built.clock, lease_seconds=LEASE_SECONDS)
    stop = threading.Event()
    projector = Projector(built.store, all_projections(), publish=queue.after_commit)
    thread = threading.Thread(target=projector.run, args=(stop,), kwargs={"wait_seconds": 0.2}, daemon=True)
    thread.start()
    yield built
    stop.set()
    thread.join(timeout=10)
    built.store.engine.dispose()


@dataclass
class Notifier:
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive_or_fail(self) -> None:
        if self.process.poll() is not None and self.process.returncode != -signal.SIGKILL:
            pytest.fail(f"the notifier exited with {self.process.returncode}:\n{self.log_path.read_text()[-4000:]}")

    def kill(self) -> None:
        """As a power cut or the OOM killer would: no warm shutdown, the job in hand is abandoned."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def start_notifier(settings: Settings, redis: Redis, tmp_path: Path) -> Iterator[Callable[[], Notifier]]:
    started: list[Notifier] = []
    queue = Queue(settings.notify_queue_name, connection=redis)

    def start() -> Notifier:
        log_path = tmp_path / f"notifier-{len(started)}.log"
        before = {worker.name for worker in RqWorker.all(queue=queue)}
        with log_path.open("wb") as log_file:
            process = subprocess.Popen([sys.executable, "-m", "dispatch.entrypoints.notifier"], cwd=REPO,
                                       env=_environment(settings), stdout=log_file, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        started.append(Notifier(process, log_path))
        wait_for("the notifier to listen", lambda: {w.name for w in RqWorker.all(queue=queue)} - before or None,
                 started[-1])
        return started[-1]

    yield start
    for notifier in started:
        notifier.stop()


def _environment(settings: Settings) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISPATCH_")}
    env.update({f"DISPATCH_{name.upper()}": str(value) for name, value in {
        "database_url": settings.database_url, "redis_url": settings.redis_url, "queue_name": settings.queue_name,
        "notify_queue_name": settings.notify_queue_name, "append_channel": settings.append_channel,
        "line_channel_access_token": LINE_TOKEN, "line_api_base_url": str(settings.line_api_base_url),
        "sms_gateway_url": str(settings.sms_gateway_url), "sms_api_key": SMS_KEY, "sms_api_secret": SMS_SECRET,
        "notify_retry_seconds": "[1, 1, 1]", "notify_lease_seconds": str(LEASE_SECONDS),
        "notify_sweep_seconds": "1", "scheduler_interval_seconds": "0.2", "follow_poll_seconds": "0.2",
    }.items()})
    env["PYTHONPATH"] = str(REPO)
    return env


def wait_for(what: str, found: Callable[[], T | None], notifier: Notifier) -> T:
    deadline = time.monotonic() + WAIT_SECONDS
    while (value := found()) is None:
        notifier.alive_or_fail()
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {WAIT_SECONDS} s; notifier log:\n{notifier.log_path.read_text()[-4000:]}")
        time.sleep(0.05)
    return value


def dispatch(services: Services) -> None:
    handle(DispatchResource(actor=operator(), at=services.clock.now(), incident_id="inc-1", resource_id=BOAT),
           services)


def the_delivery(services: Services, channel: str) -> dict[str, Any] | None:
    with services.store.engine.connect() as db:
        found = db.execute(select(DELIVERIES).where(DELIVERIES.c.channel == channel)).mappings().first()
    return dict(found) if found is not None else None


def finished(services: Services, channel: str) -> Callable[[], dict[str, Any] | None]:
    """For wait_for: the channel's delivery once it has an outcome for good."""
    def check() -> dict[str, Any] | None:
        row = the_delivery(services, channel)
        return row if row is not None and row["status"] in ("delivered", "failed", "failed_over") else None

    return check


def notice_status(services: Services) -> str:
    with services.store.engine.connect() as db:
        return str(db.execute(select(NOTIFICATIONS.c.status)).scalar())


def test_a_dispatched_crew_gets_a_line_message_within_seconds(
        services: Services, start_notifier: Callable[[], Notifier], line_api: LineApi,
        sms_api: SmsGatewayApi) -> None:
    services.accounts.set_contact(CREW, line_user_id=CREW_LINE, phone=CREW_PHONE, language="th", facility_id=None)
    notifier = start_notifier()
    dispatch(services)
    row = wait_for("the LINE delivery", finished(services, "line"), notifier)
    assert row["status"] == "delivered" and row["attempts"] == 1
    assert len(line_api.sent_to(CREW_LINE)) == 1 and sms_api.sent == []
    wait_for("the notice to be delivered", lambda: notice_status(services) == "delivered" or None, notifier)


def test_rate_limits_and_server_errors_are_retried_until_the_message_is_through(
        services: Services, start_notifier: Callable[[], Notifier], line_api: LineApi) -> None:
    services.accounts.set_contact(CREW, line_user_id=CREW_LINE, phone=None, language="th", facility_id=None)
    line_api.then(Scripted(429, {"message": "The API rate limit has been exceeded."}, {"Retry-After": "1"}),
                  Scripted(500, {"message": "An error occurred in the internal server."}))
    notifier = start_notifier()
    dispatch(services)
    row = wait_for("the LINE delivery", finished(services, "line"), notifier)
    assert (row["status"], row["attempts"]) == ("delivered", 3)
    failures = [e.event for e in services.store.read_stream(delivery_stream(row["delivery_key"]))
                if isinstance(e.event, DeliveryAttemptFailed)]
    assert [(f.error, f.status_code) for f in failures] == [("rate_limited", 429), ("server_error", 500)]
    assert len(line_api.sent_to(CREW_LINE)) == 1


def test_a_gateway_that_keeps_failing_ends_in_a_failure_the_board_shows(
        services: Services, start_notifier: Callable[[], Notifier], sms_api: SmsGatewayApi) -> None:
    services.accounts.set_contact(CREW, line_user_id=None, phone=CREW_PHONE, language="th", facility_id=None)
    sms_api.then(*[Scripted(503, {"error": {"code": 503, "name": "UNAVAILABLE", "description": "down"}})] * 4)
    notifier = start_notifier()
    dispatch(services)
    row = wait_for("the SMS delivery to give up", finished(services, "sms"), notifier)
    assert (row["status"], row["attempts"], row["last_error"]) == ("failed", 4, "server_error")
    wait_for("the notice to fail", lambda: notice_status(services) == "failed" or None, notifier)
    assert sms_api.sent == []


def test_a_notifier_killed_mid_push_leaves_the_crew_one_line_message(
        services: Services, start_notifier: Callable[[], Notifier], line_api: LineApi) -> None:
    services.accounts.set_contact(CREW, line_user_id=CREW_LINE, phone=None, language="th", facility_id=None)
    first = start_notifier()
    line_api.hold()  # LINE accepts the push, then its answer waits
    dispatch(services)
    assert line_api.arrived.wait(WAIT_SECONDS)
    first.kill()
    line_api.let_go()
    second = start_notifier()
    row = wait_for("the LINE delivery after the kill", finished(services, "line"), second)
    # the second try, under the same retry key, was answered 409 "already accepted": delivered, once
    assert (row["status"], row["attempts"]) == ("delivered", 2)
    assert len(line_api.sent_to(CREW_LINE)) == 1


def test_a_notifier_killed_mid_sms_marks_it_failed_and_never_sends_it_twice(
        services: Services, start_notifier: Callable[[], Notifier], sms_api: SmsGatewayApi) -> None:
    services.accounts.set_contact(CREW, line_user_id=None, phone=CREW_PHONE, language="th", facility_id=None)
    first = start_notifier()
    sms_api.hold()
    dispatch(services)
    assert sms_api.arrived.wait(WAIT_SECONDS)
    first.kill()
    sms_api.let_go()
    second = start_notifier()
    row = wait_for("the SMS delivery after the kill", finished(services, "sms"), second)
    assert (row["status"], row["last_error"]) == ("failed", "outcome_unknown")
    assert len(sms_api.sent_to(CREW_PHONE)) == 1
    key = delivery_key(row["notification_key"], CREW, "sms")
    assert key == row["delivery_key"]
