"""The referral guarantee end to end: a real Redis, a real worker process, an accelerated clock.

The story is the issue's: the Phru Nai health unit on Koh Yao Yai refers a patient to Vachira Phuket
Hospital by boat, under Koh Yao's 80-minute guarantee (warning at 60). Every process reads one ScaledClock
(speed 400: the 80 minutes pass in 12 real seconds), so the worker decides on the same timeline the test
writes on. One real second is 6.7 minutes of referral time, and a prediction is "now + the remaining legs":
a worker still starting up would predict late what is on time, so each test waits until its worker listens.
Tests wait for what they expect by polling the log (or a job's state) within a bound; the bound is only a
guard against a hang, never part of what is asserted.

Each test has its own database (SQLite file, or a PostgreSQL database) and its own queue name, which also
namespaces the job ids, so tests share the Redis on 127.0.0.1:6379 with anyone else. FLUSHALL is the
exception: it gets a private redis-server (the embedded one `dispatch up` runs).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest
from redis import Redis
from rq import Queue
from rq import Worker as RqWorker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from dispatch.adapters.embedded_redis import EmbeddedRedis
from dispatch.app.deadline_queue import CHECK_DEADLINE_JOB, RqScheduler, job_id_in, reconcile
from dispatch.app.handle import handle
from dispatch.app.services import Services, attach_scheduler, build_services
from dispatch.domain.catalogue import (
    Event,
    ReferralAtRisk,
    ReferralBreached,
    ReferralCarrierChanged,
    ReferralRequested,
    incident_stream,
)
from dispatch.domain.commands import (
    ChangeReferralCarrier,
    Command,
    DispatchResource,
    RecordMilestone,
    RegisterResource,
    ReportIncident,
    RequestReferral,
)
from dispatch.domain.geo import load_places
from dispatch.domain.geo.places import Place
from dispatch.domain.policies import breach_job_id, prediction_job_id, warning_job_id
from dispatch.domain.vocabulary import Milestone
from dispatch.runtime.clock import ScaledClock, real_time
from dispatch.runtime.settings import Settings
from tests.builders import KOH_YAO_POLICY, minutes, operator
from tests.servers import REDIS_URL

pytestmark = [pytest.mark.redis, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SPEED = 400  # 80 minutes of referral time in 12 seconds
FAST_KNOTS = 35  # from the health unit to Vachira in ~58 minutes: on time with 3 real seconds to spare
WAIT_SECONDS = 90  # a guard against a hang; a passing run waits ~10 s
POLL_SECONDS = 0.05
PLACES = load_places()
PHRU_NAI = PLACES.get("hu_phru_nai")
THAP_LAMU = PLACES.get("pier_thap_lamu")
VACHIRA = "hosp_vachira_phuket"
T = TypeVar("T")


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def redis_url(request: pytest.FixtureRequest) -> str:
    """The shared Redis, unless a test asks for a private one (parametrize indirectly with "private")."""
    if getattr(request, "param", "shared") == "private":
        private: EmbeddedRedis = request.getfixturevalue("private_redis")
        return private.url
    return REDIS_URL


@pytest.fixture
def settings(request: pytest.FixtureRequest, database_url: str, redis_url: str) -> Settings:
    """One timeline for the test and its worker: a clock 400 times as fast (unless a test asks for another speed,
    parametrizing indirectly), anchored now."""
    return Settings(
        database_url=database_url, redis_url=redis_url, queue_name=f"test-{uuid.uuid4().hex[:10]}",
        clock_speed=getattr(request, "param", SPEED), clock_anchor_at=datetime.now(UTC), reconcile_seconds=1,
        password_time_cost=1, password_memory_kib=1024,
    )


@pytest.fixture
def redis(settings: Settings) -> Iterator[Redis]:
    connection = Redis.from_url(settings.redis_url or REDIS_URL)
    yield connection
    # Leave the shared Redis as found: every key of this test's queue and its jobs carries the queue name.
    for key in connection.scan_iter(match=f"*{settings.queue_name}*", count=1000):
        connection.delete(key)
    connection.close()


@pytest.fixture
def build(settings: Settings) -> Iterator[Callable[[], Services]]:
    """Builds Services on the test's settings (no scheduler), and closes their connections afterwards."""
    built: list[Services] = []

    def make() -> Services:
        built.append(build_services(settings))
        return built[-1]

    yield make
    for each in built:
        each.store.engine.dispose()


@pytest.fixture
def services(build: Callable[[], Services], redis: Redis) -> Services:
    """The test's side: commands through `handle`, checks scheduled after each append like the API does."""
    return attach_scheduler(build(), redis)


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive_or_fail(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"the worker exited with {self.process.returncode}:\n{self.tail()}")

    def tail(self) -> str:
        return self.log_path.read_text()[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # RQ's warm shutdown: finish the job, stop the scheduler
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def start_worker(settings: Settings, redis: Redis, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Starts a worker subprocess on this test's settings (run_worker, or another command) and waits until
    it listens on the queue."""
    started: list[Worker] = []
    queue = Queue(settings.queue_name, connection=redis)

    def start(*command: str) -> Worker:
        log_path = tmp_path / f"worker-{len(started)}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                command or (sys.executable, "-m", "dispatch.entrypoints.worker"), cwd=REPO,
                env=_environment(settings), stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
            )
        started.append(Worker(process, log_path))
        wait_for("the worker to start", lambda: RqWorker.all(queue=queue) or None, started[-1])
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


def _environment(settings: Settings) -> dict[str, str]:
    """The test's settings as the DISPATCH_* variables a worker process reads them from."""
    assert settings.database_url and settings.redis_url and settings.clock_anchor_at
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISPATCH_")}
    env.update({
        "DISPATCH_DATABASE_URL": settings.database_url, "DISPATCH_REDIS_URL": settings.redis_url,
        "DISPATCH_QUEUE_NAME": settings.queue_name, "DISPATCH_CLOCK_SPEED": str(settings.clock_speed),
        "DISPATCH_CLOCK_ANCHOR_AT": settings.clock_anchor_at.isoformat(),
        "DISPATCH_RECONCILE_SECONDS": str(settings.reconcile_seconds), "PYTHONPATH": str(REPO),
    })
    return env


# --- the story -------------------------------------------------------------------------------------


def run(services: Services, command: Command) -> list[Event]:
    return [stored.event for stored in handle(command, services).events]


def boat(services: Services, boat_id: str, at: Place, speed_knots: float) -> None:
    run(services, RegisterResource(actor=operator(), at=services.clock.now(), resource_id=boat_id,
                                   kind="boat", name=f"boat {boat_id}", speed_knots=speed_knots,
                                   position=at.position, home_site_id=at.id, zone=at.zone))


def refer(services: Services, incident_id: str, boat_id: str) -> ReferralRequested:
    """Phru Nai reports a red patient, `boat_id` is sent, and the referral to Vachira starts its clock now."""
    now = services.clock.now
    run(services, ReportIncident(actor=operator(), at=now(), incident_id=incident_id, source="clinic",
                                 position=PHRU_NAI.position, zone="koh_yao", triage="red", category="other",
                                 site_id=PHRU_NAI.id))
    run(services, DispatchResource(actor=operator(), at=now(), incident_id=incident_id, resource_id=boat_id))
    [requested] = run(services, RequestReferral(actor=operator(), at=now(), incident_id=incident_id,
                                                facility_id=VACHIRA, resource_id=boat_id,
                                                policy=KOH_YAO_POLICY))
    assert isinstance(requested, ReferralRequested) and requested.deadline_at is not None
    return requested


def on_time(
    services: Services, incident_id: str, *, leaves: bool = True, boat_id: str = "KY-01"
) -> ReferralRequested:
    """A fast boat waiting at the health unit takes the referral: on time by prediction (about 58 minutes
    door to door); with `leaves`, it has left with the patient (and is never heard of again)."""
    boat(services, boat_id, PHRU_NAI, FAST_KNOTS)
    requested = refer(services, incident_id, boat_id)
    if leaves:
        milestone(services, requested, boat_id, "left_scene")
    return requested


def milestone(
    services: Services, requested: ReferralRequested, boat_id: str, name: Milestone,
    at: datetime | None = None,
) -> None:
    """The crew records `name` now, or at the stated moment `at` of the referral's timeline."""
    run(services, RecordMilestone(actor=operator(), at=at or services.clock.now(),
                                  incident_id=requested.incident_id, resource_id=boat_id, milestone=name))


def events_of(services: Services, incident_id: str, kind: type[T]) -> list[T]:
    stream = services.store.read_stream(incident_stream(incident_id))
    return [stored.event for stored in stream if isinstance(stored.event, kind)]


def wait_for(what: str, found: Callable[[], T | None], worker: Worker) -> T:
    """Poll until `found` returns something; fail (with the worker's log) if the guard time runs out."""
    deadline = time.monotonic() + WAIT_SECONDS
    while (value := found()) is None:
        worker.alive_or_fail()
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {WAIT_SECONDS} s; worker log:\n{worker.tail()}")
        time.sleep(POLL_SECONDS)
    return value


def appended(services: Services, incident_id: str, kind: type[T]) -> Callable[[], T | None]:
    """For wait_for: the first event of `kind` on the incident, once there is one."""
    return lambda: next(iter(events_of(services, incident_id, kind)), None)


def ran(redis: Redis, job_id: str) -> Callable[[], Job | None]:
    """For wait_for: the job, once it has finished."""
    return partial(finished, redis, job_id)


def finished(redis: Redis, job_id: str) -> Job | None:
    try:
        job = Job.fetch(job_id, connection=redis)
    except NoSuchJobError:
        return None
    return job if job.get_status() == JobStatus.FINISHED else None


# --- the tests -------------------------------------------------------------------------------------


def test_a_referral_that_arrives_in_50_minutes_gets_no_warning(
    services: Services, redis: Redis, settings: Settings, start_worker: Callable[..., Worker]
) -> None:
    # given a fast boat waiting at the health unit: on time by prediction (about 58 minutes)
    worker = start_worker()
    requested = on_time(services, "inc-arrives", leaves=False)
    # when the boat leaves at minute 5 and the crew records the arrival at minute 50 (times on the referral's
    # timeline, written at once: the worker's checks at 60 and 80 then meet an arrived patient, race-free)
    milestone(services, requested, "KY-01", "left_scene", at=requested.at + minutes(5))
    milestone(services, requested, "KY-01", "at_destination", at=requested.at + minutes(50))
    # then the warning check at 60 and the breach check at 80 both run and append nothing
    for check_id in (warning_job_id(requested.referral_id), breach_job_id(requested.referral_id)):
        wait_for(f"{check_id} to run", ran(redis, job_id_in(settings.queue_name, check_id)), worker)
    assert events_of(services, "inc-arrives", ReferralAtRisk) == []
    assert events_of(services, "inc-arrives", ReferralBreached) == []


def test_a_referral_still_travelling_is_at_risk_at_60_and_breached_at_80_each_once(
    services: Services, redis: Redis, settings: Settings, start_worker: Callable[..., Worker]
) -> None:
    # given a boat on time by prediction that leaves the health unit and is never heard of again
    worker = start_worker()
    requested = on_time(services, "inc-travelling")
    # when the guarantee runs out
    breach = wait_for("breach", appended(services, "inc-travelling", ReferralBreached), worker)
    # then the warning came at the warning point, and the breach at the deadline
    [warning] = events_of(services, "inc-travelling", ReferralAtRisk)
    assert requested.warning_at is not None and requested.deadline_at is not None
    assert warning.reason == "warning_point" and warning.at >= requested.warning_at
    assert breach.at >= requested.deadline_at and breach.deadline_at == requested.deadline_at
    # and when both checks are delivered again, and the sweep runs, nothing more is appended
    assert_checks_run_again_append_nothing(services, redis, settings, requested, worker)
    assert len(events_of(services, "inc-travelling", ReferralAtRisk)) == 1
    assert len(events_of(services, "inc-travelling", ReferralBreached)) == 1


def assert_checks_run_again_append_nothing(
    services: Services, redis: Redis, settings: Settings, requested: ReferralRequested, worker: Worker
) -> None:
    scheduler = services.scheduler
    assert isinstance(scheduler, RqScheduler)
    assert reconcile(services.store, scheduler).outcomes == {}  # nothing is pending any more
    again = [
        scheduler.queue.enqueue(CHECK_DEADLINE_JOB, requested.incident_id, requested.referral_id, check,
                                job_id=f"{settings.queue_name}-again-{check}")
        for check in ("warning", "breach")
    ]
    for job in again:
        done = wait_for("a repeated check to run", ran(redis, job.id), worker)
        assert done.return_value() == 0


def test_a_referral_whose_boat_is_too_far_away_is_at_risk_at_once_with_its_lateness(
    services: Services, start_worker: Callable[..., Worker]
) -> None:
    # given the boat sent is a 15-knot one at Thap Lamu, across the province, while a fast one waits nearby
    worker = start_worker()
    boat(services, "TL-01", THAP_LAMU, 15)
    boat(services, "KY-01", PHRU_NAI, FAST_KNOTS)
    requested = refer(services, "inc-far", "TL-01")
    # when the worker predicts the arrival
    risk = wait_for("a predicted risk", appended(services, "inc-far", ReferralAtRisk), worker)
    # then the referral is at risk by prediction, not by the clock, with how late and what would help
    assert risk.reason == "predicted_late"
    assert risk.predicted_arrival_at is not None and requested.deadline_at is not None
    late_by = risk.predicted_arrival_at - requested.deadline_at
    assert risk.predicted_late_seconds == int(late_by.total_seconds())
    assert risk.predicted_late_seconds > 60 * 60
    assert risk.advice.startswith(f"send a faster boat: boat KY-01 ({FAST_KNOTS} kn) ETA ")


@pytest.mark.parametrize("redis_url", ["private"], indirect=True)
def test_redis_flushed_mid_referral_the_sweep_restores_the_breach_once(
    services: Services, redis: Redis, settings: Settings, start_worker: Callable[..., Worker]
) -> None:
    # given a referral whose checks are scheduled, on a Redis of this test's own
    worker = start_worker()
    requested = on_time(services, "inc-flushed")
    breach_job = job_id_in(settings.queue_name, breach_job_id(requested.referral_id))
    assert Job.exists(breach_job, connection=redis)
    # when Redis loses everything, long before the deadline
    redis.flushall()
    assert not Job.exists(breach_job, connection=redis)
    # then the worker's periodic sweep re-derives the checks from the log: the breach still comes, once
    wait_for("breach", appended(services, "inc-flushed", ReferralBreached), worker)
    assert len(events_of(services, "inc-flushed", ReferralAtRisk)) == 1
    # and it came from a job made after the flush: the flushed one cannot have run it
    assert finished(redis, breach_job) is not None
    assert_checks_run_again_append_nothing(services, redis, settings, requested, worker)
    assert len(events_of(services, "inc-flushed", ReferralBreached)) == 1


def test_a_worker_started_after_the_referral_reconciles_it_at_start(
    build: Callable[[], Services], settings: Settings, redis: Redis, start_worker: Callable[..., Worker]
) -> None:
    # given a referral appended while no scheduler was attached (Redis down, or the API without one)
    services = build()
    requested = on_time(services, "inc-unscheduled")
    breach_job = job_id_in(settings.queue_name, breach_job_id(requested.referral_id))
    assert not Job.exists(breach_job, connection=redis)
    # when a worker starts, then its start-up sweep schedules the checks and the breach comes, once
    worker = start_worker()
    wait_for("breach", appended(services, "inc-unscheduled", ReferralBreached), worker)
    assert len(events_of(services, "inc-unscheduled", ReferralAtRisk)) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_plain_rq_worker_with_scheduler_runs_the_checks(
    services: Services, settings: Settings, start_worker: Callable[..., Worker]
) -> None:
    # given the checks scheduled by the command side, and `rq worker --with-scheduler` (forking) to run them
    worker = start_worker(sys.executable, "-m", "rq.cli", "worker", "--with-scheduler", "--url",
                          settings.redis_url or REDIS_URL, settings.queue_name)
    on_time(services, "inc-rq")
    # then its jobs append the warning and the breach, once each (each forked job imports the application
    # afresh, seconds on a busy machine, minutes on this clock: a prediction that late must still find the
    # boat that left on time, as it was when it left)
    wait_for("breach", appended(services, "inc-rq", ReferralBreached), worker)
    [warning] = events_of(services, "inc-rq", ReferralAtRisk)
    assert warning.reason == "warning_point"


# Real time: only predictions run here, and at real speed the fast boat's 58 minutes are on time whatever the
# machine's load (at 400 times, a busy second would make them late).
@pytest.mark.parametrize("settings", [1], indirect=True)
def test_the_worker_predicts_with_the_carrier_an_operator_names_instead(
    services: Services, redis: Redis, settings: Settings, start_worker: Callable[..., Worker]
) -> None:
    # given the slow boat from Thap Lamu named, and predicted late by the worker
    worker = start_worker()
    boat(services, "TL-01", THAP_LAMU, 15)
    boat(services, "KY-01", PHRU_NAI, FAST_KNOTS)
    refer(services, "inc-carrier", "TL-01")
    slow = wait_for("a predicted risk", appended(services, "inc-carrier", ReferralAtRisk), worker)
    assert slow.reason == "predicted_late"
    # when the operator sends the fast boat waiting at the health unit and names it to carry the patient
    run(services, DispatchResource(actor=operator(), at=services.clock.now(), incident_id="inc-carrier",
                                   resource_id="KY-01"))
    changed = handle(ChangeReferralCarrier(actor=operator(), at=services.clock.now(), incident_id="inc-carrier",
                                           resource_id="KY-01"), services).events[0]
    assert isinstance(changed.event, ReferralCarrierChanged) and changed.event.risk_lifted
    # then the worker's prediction for the change is the fast boat's: on time, nothing appended
    check = job_id_in(settings.queue_name, prediction_job_id(changed.position))
    assert wait_for("the prediction after the change", ran(redis, check), worker).return_value() == 0
    assert events_of(services, "inc-carrier", ReferralAtRisk) == [slow]
    # and naming the slow boat again, the worker predicts the breach again
    handle(ChangeReferralCarrier(actor=operator(), at=services.clock.now(), incident_id="inc-carrier",
                                 resource_id="TL-01"), services)
    again = wait_for("a second predicted risk",
                     lambda: next(iter(events_of(services, "inc-carrier", ReferralAtRisk)[1:]), None), worker)
    assert again.reason == "predicted_late" and again.predicted_late_seconds is not None


# --- without a worker ------------------------------------------------------------------------------


def test_reconcile_twice_schedules_each_check_once_at_its_real_time(
    build: Callable[[], Services], settings: Settings, redis: Redis
) -> None:
    # given a referral appended with no scheduler attached
    services = build()
    requested = on_time(services, "inc-twice", leaves=False)
    scheduler = RqScheduler(redis, settings.queue_name, clock=services.clock)
    # when the sweep runs twice
    first_sweep = reconcile(services.store, scheduler)
    second_sweep = reconcile(services.store, scheduler)
    # then the first scheduled warning, breach and a prediction; the second left them as they were
    assert first_sweep.open_referrals == 1 and first_sweep.outcomes == {"scheduled": 3}
    assert second_sweep.outcomes == {"kept": 3}
    registry = scheduler.queue.scheduled_job_registry
    assert sorted(registry.get_job_ids()) == sorted(
        job_id_in(settings.queue_name, check_id)
        for check_id in (warning_job_id(requested.referral_id), breach_job_id(requested.referral_id))
    )
    # at the real moment the scaled clock reaches the deadline (RQ keeps whole seconds, rounded up)
    assert requested.deadline_at is not None
    real_deadline = real_time(services.clock, requested.deadline_at)
    breach_job = job_id_in(settings.queue_name, breach_job_id(requested.referral_id))
    scheduled = registry.get_scheduled_time(breach_job)
    assert 0 <= (scheduled - real_deadline).total_seconds() < 1


def test_a_command_succeeds_when_redis_is_down_and_the_sweep_schedules_it_later(
    build: Callable[[], Services], settings: Settings, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    # given the command side's Redis refuses connections
    services = attach_scheduler(build(), Redis(port=1, socket_connect_timeout=0.5))
    # when two referrals are requested, then both are in the log all the same and the lost scheduling is
    # logged; the second command does not wait on Redis again: it leaves its checks to the sweep at once
    with caplog.at_level(logging.WARNING, logger="dispatch.workers"):
        requested = on_time(services, "inc-redis-down", leaves=False)
        assert "could not schedule referral checks; the reconcile sweep will" in caplog.text
        on_time(services, "inc-redis-still-down", leaves=False, boat_id="KY-02")
        assert "Redis failed moments ago; leaving referral checks to the reconcile sweep" in caplog.text
    # and once Redis is back, the sweep schedules what was missed
    scheduler = RqScheduler(redis, settings.queue_name, clock=services.clock)
    assert reconcile(services.store, scheduler).outcomes == {"scheduled": 6}
    assert Job.exists(job_id_in(settings.queue_name, breach_job_id(requested.referral_id)), connection=redis)


def test_a_finished_check_the_log_still_wants_is_scheduled_again(
    build: Callable[[], Services], settings: Settings, redis: Redis
) -> None:
    # given a breach check that ran before its time (a skewed clock) and decided nothing
    services = build()
    requested = on_time(services, "inc-early", leaves=False)
    scheduler = RqScheduler(redis, settings.queue_name, clock=services.clock)
    reconcile(services.store, scheduler)
    breach = Job.fetch(job_id_in(settings.queue_name, breach_job_id(requested.referral_id)), connection=redis)
    breach.set_status(JobStatus.FINISHED)
    # when the sweep runs, then the check is made again, since the log says the breach is still to come
    assert reconcile(services.store, scheduler).outcomes == {"kept": 2, "rescheduled": 1}
    assert Job.fetch(breach.id, connection=redis).get_status() == JobStatus.SCHEDULED


def test_a_check_left_waiting_past_its_time_by_a_dead_scheduler_is_enqueued_by_the_sweep(
    build: Callable[[], Services], settings: Settings, redis: Redis
) -> None:
    # given a referral's checks waiting in RQ's scheduled registry
    services = build()
    requested = on_time(services, "inc-stalled", leaves=False)
    reconcile(services.store, RqScheduler(redis, settings.queue_name, clock=services.clock))
    # when a sweep runs at minute 61 (on a clock at real speed from then on) and the warning still waits there
    # (a worker killed with its scheduler leaves RQ's lock on the queue for a minute: no scheduler moves it)
    assert settings.clock_anchor_at is not None
    # (61 minutes after the request itself: on a loaded machine the 400x clock has moved on since the anchor)
    later = ScaledClock(settings.clock_anchor_at, offset=requested.at - settings.clock_anchor_at + minutes(61))
    sweep = reconcile(services.store, RqScheduler(redis, settings.queue_name, clock=later))
    # then the sweep moves the warning to the queue itself and leaves the breach waiting for its time
    assert sweep.outcomes == {"released": 1, "kept": 2}
    warning = job_id_in(settings.queue_name, warning_job_id(requested.referral_id))
    queue = Queue(settings.queue_name, connection=redis)
    assert warning in queue.job_ids  # beside the prediction, which is enqueued at once
    assert queue.scheduled_job_registry.get_job_ids() == [
        job_id_in(settings.queue_name, breach_job_id(requested.referral_id))]
    assert reconcile(services.store, RqScheduler(redis, settings.queue_name, clock=later)).outcomes == {"kept": 3}
