"""Faults: the processes of the production topology killed with SIGKILL while they work, and Redis
flushed and restarted under open referrals. After each, every report a client was told was accepted is in the
log exactly once, the hash chain verifies, the board equals a replay of the log, and every referral gets its
warning and its breach exactly once. On SQLite and on PostgreSQL.

Clients behave like the report page's outbox: each report has its own Idempotency-Key, made before the first
try, and is sent again with that key after a connection error or a 5xx until a 2xx comes. Referral times run
on a scaled clock (as tests/integration/test_referral_deadlines.py does), shared by the test and every process.
Tests wait for conditions with bounded polls; the bound only guards against a hang and is never asserted.
FLUSHALL and the Redis restart happen on a redis-server of the test's own (the embedded one), never on the
shared 127.0.0.1:6379.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import pytest
from redis import Redis
from rq import Queue
from rq import Worker as RqWorker
from sqlalchemy import select
from websockets.asyncio.client import connect

from dispatch.adapters.embedded_redis import EmbeddedRedis
from dispatch.adapters.read_models import BOARD
from dispatch.app.services import Services, attach_scheduler, build_services
from dispatch.domain.catalogue import IncidentReported, ReferralAtRisk, ReferralBreached, ReferralRequested
from dispatch.projections.board import TABLE, Board
from dispatch.projections.rows import replay_in_memory
from dispatch.projections.runner import Projector
from dispatch.runtime.settings import Settings
from tests.e2e.topology import Topology, free_port, sign_in
from tests.integration.test_referral_deadlines import events_of, on_time
from tests.servers import POSTGRES_URL, REDIS_URL

pytestmark = [pytest.mark.redis, pytest.mark.slow]

CLIENTS = 20
GUARD_SECONDS = 90  # a hang guard only; a passing test waits seconds
POLL_SECONDS = 0.05
# The referral clock: 80 minutes of referral time in 12 real seconds (warning at 9 s, breach at 12 s).
SPEED = 400
REFERRALS = 4
REPORT = {"source": "beach", "site_id": "beach_nang_thong", "triage": "red", "category": "drowning"}
T = TypeVar("T")


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dispatch.db'}"
    return f"{POSTGRES_URL}?options=-csearch_path%3D{request.getfixturevalue('postgres_schema')}"


@pytest.fixture
def topology(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Topology]]:
    """Makes the topology (migrated, one user per role) with extra DISPATCH_* settings; stops it afterwards,
    and leaves the shared Redis as found (every key of the run's queue and jobs carries the queue name)."""
    made: list[Topology] = []

    def make(**settings: str) -> Topology:
        # A board socket's handler notices its client left only when its wait for the next message ends (a
        # heartbeat), and the API's shutdown waits for it: 1 s rather than 10 per test.
        made.append(Topology(tmp_path, database_url, DISPATCH_WS_HEARTBEAT_SECONDS="1", **settings))
        made[-1].prepare()
        return made[-1]

    yield make
    for running in made:
        running.stop()
        if running.env["DISPATCH_REDIS_URL"] != REDIS_URL:
            continue  # a private Redis goes with its test
        with Redis.from_url(REDIS_URL) as redis:
            for key in redis.scan_iter(match=f"*{running.env['DISPATCH_QUEUE_NAME']}*", count=1000):
                redis.delete(key)


@pytest.fixture
def services_of() -> Iterator[Callable[[Topology], Services]]:
    """The test's own Services on a topology's database, Redis, queue and clock (as its processes read them)."""
    built: list[Services] = []

    def build(topology: Topology) -> Services:
        env = topology.env
        settings = Settings(
            database_url=env["DISPATCH_DATABASE_URL"], redis_url=env["DISPATCH_REDIS_URL"],
            queue_name=env["DISPATCH_QUEUE_NAME"], clock_speed=float(env.get("DISPATCH_CLOCK_SPEED", "1")),
            clock_anchor_at=env.get("DISPATCH_CLOCK_ANCHOR_AT"),
            reconcile_seconds=float(env.get("DISPATCH_RECONCILE_SECONDS", "30")),
            password_time_cost=1, password_memory_kib=1024,
        )
        built.append(build_services(settings, migrate=False))
        return built[-1]

    yield build
    for services in built:
        services.store.engine.dispose()
        if services.redis is not None:
            services.redis.close()


def scaled_clock() -> dict[str, str]:
    """Settings for a referral clock SPEED times as fast, anchored now: every process reads the same time."""
    return {"DISPATCH_CLOCK_SPEED": str(SPEED), "DISPATCH_CLOCK_ANCHOR_AT": datetime.now(UTC).isoformat(),
            "DISPATCH_RECONCILE_SECONDS": "1"}


def wait_until(what: str, found: Callable[[], T | None], topology: Topology) -> T:
    """Poll until `found` gives something; fail with the processes' logs if the guard runs out."""
    deadline = time.monotonic() + GUARD_SECONDS
    while (value := found()) is None:
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {GUARD_SECONDS} s; logs:\n{topology.logs()}")
        time.sleep(POLL_SECONDS)
    return value


# --- reporting clients -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Acknowledged:
    key: str
    incident_id: str
    position: int
    replayed: bool


@dataclass
class Phone:
    """One client: its session, what the API acknowledged, and what went wrong on the way."""

    token: str
    acknowledged: list[Acknowledged] = field(default_factory=list)
    retries: int = 0
    refused: list[str] = field(default_factory=list)


class Reporters:
    """CLIENTS phones reporting back to back on their own threads, each report retried with its key until a
    2xx; `stop` lets every phone finish the report it is sending."""

    def __init__(self, url: str, tokens: list[str]) -> None:
        self.url = url
        self.phones = [Phone(token) for token in tokens]
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._report, args=(phone,), daemon=True) for phone in self.phones]

    def __enter__(self) -> Reporters:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=GUARD_SECONDS)

    def acknowledged(self) -> list[Acknowledged]:
        return [ack for phone in self.phones for ack in phone.acknowledged]

    def counts(self) -> list[int]:
        return [len(phone.acknowledged) for phone in self.phones]

    def each_reported(self, since: list[int], more: int) -> bool | None:
        """True once every phone has had `more` reports acknowledged since `since` (counts())."""
        return all(now >= then + more for now, then in zip(self.counts(), since, strict=True)) or None

    def _report(self, phone: Phone) -> None:
        with httpx.Client(base_url=self.url, timeout=10,
                          headers={"Authorization": f"Bearer {phone.token}"}) as client:
            while not self._stop.is_set():
                key = uuid.uuid4().hex
                if (ack := self._until_acknowledged(client, phone, key)) is not None:
                    phone.acknowledged.append(ack)

    def _until_acknowledged(self, client: httpx.Client, phone: Phone, key: str) -> Acknowledged | None:
        deadline = time.monotonic() + GUARD_SECONDS
        while time.monotonic() < deadline:
            try:
                answer = client.post("/api/incidents", json=REPORT, headers={"Idempotency-Key": key})
            except httpx.TransportError:
                answer = None
            if answer is not None and answer.is_success:
                body = answer.json()
                return Acknowledged(key, body["id"], body["position"], body["replayed"])
            if answer is not None and answer.status_code < 500:
                phone.refused.append(f"{answer.status_code} {answer.text[:200]}")
                return None
            phone.retries += 1
            time.sleep(POLL_SECONDS)
        phone.refused.append(f"report {key} never acknowledged within {GUARD_SECONDS} s")
        return None


# --- a live board ----------------------------------------------------------------------------------


class LiveBoard:
    """An operator's board on a thread of its own: WS /ws/board, and the incidents it shows, kept from its
    snapshot and every message after it as ui/js/live.js keeps them."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.replace("http://", "ws://") + f"/ws/board?token={token}"
        self.snapshots = 0
        self.in_deltas: set[str] = set()  # incidents that came in a delta (not in a snapshot)
        self._rows: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._following = self._loop.create_task(self._follow())
        self._ended: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LiveBoard:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        # Cancelled, the task leaves `async with connect(...)`, which closes the socket.
        self._loop.call_soon_threadsafe(self._following.cancel)
        self._thread.join(timeout=GUARD_SECONDS)
        self._loop.close()

    def rows(self) -> dict[str, dict[str, Any]]:
        if not self._thread.is_alive():
            raise AssertionError(f"the board's socket ended: {self._ended!r}")
        with self._lock:
            return dict(self._rows)

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._following)
        except BaseException as exc:  # noted for the test thread, which asks rows() next
            self._ended = exc

    def shows(self, incident_ids: set[str]) -> bool | None:
        return incident_ids <= self.rows().keys() or None

    async def _follow(self) -> None:
        async with connect(self.url, max_size=None) as socket:
            async for raw in socket:
                self._receive(orjson.loads(raw))

    def _receive(self, message: dict[str, Any]) -> None:
        with self._lock:
            if message["type"] == "snapshot":
                self.snapshots += 1
                self._rows = {row["incident_id"]: row for row in message["board_incidents"]}
            elif message["type"] == "catchup":
                self._rows |= {row["incident_id"]: row for row in message["board_incidents"]}
            elif message["type"] == "delta":
                for change in message["changes"]:
                    if change["view"] == "board_incidents":
                        self._rows[change["key"]] = change["row"]
                        self.in_deltas.add(change["key"])


def assert_live_board_matches_the_database(board: LiveBoard, services: Services, topology: Topology) -> None:
    """Once the live board has caught up with the projector, it shows every open incident at its row's position:
    a batch published to no one would leave some behind for good."""
    with services.store.engine.connect() as db:
        expected = {row.incident_id: row.position for row in db.execute(
            select(BOARD.c.incident_id, BOARD.c.position).where(BOARD.c.status == "open"))}

    def shown() -> dict[str, int]:
        return {key: row["position"] for key, row in board.rows().items()}

    deadline = time.monotonic() + GUARD_SECONDS  # the last deltas may still be on their way
    while shown() != expected and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    assert shown() == expected


# --- what must hold after a fault ------------------------------------------------------------------


def assert_each_acknowledged_report_in_the_log_once(services: Services, acknowledged: list[Acknowledged]) -> None:
    reported = [stored for stored in services.store.iter_all() if isinstance(stored.event, IncidentReported)]
    counts = Counter(stored.event.incident_id for stored in reported)  # type: ignore[attr-defined]
    assert [incident for incident, count in counts.items() if count > 1] == []
    positions = {stored.event.incident_id: stored.position for stored in reported}  # type: ignore[attr-defined]
    assert {ack.incident_id: ack.position for ack in acknowledged} == {
        ack.incident_id: positions.get(ack.incident_id) for ack in acknowledged}
    assert len({ack.key for ack in acknowledged}) == len(acknowledged)


def assert_chain_intact(services: Services) -> None:
    report = services.store.verify()
    assert report.intact, f"chain broken at {report.first_bad_position}: {report.problem}"


def assert_board_matches_a_replay(services: Services, topology: Topology) -> None:
    """Once the projector has reached the head, its board rows equal the board replayed from the log."""
    projector = Projector(services.store, [Board()])
    head = services.store.head()
    wait_until("projector at the head", lambda: projector.position("board") >= head or None, topology)
    with services.store.engine.connect() as db:
        live = {row["incident_id"]: dict(row) for row in db.execute(select(BOARD)).mappings()}
    replayed = {row["incident_id"]: row for row in replay_in_memory(Board(), list(services.store.iter_all()))
                .rows(TABLE)}
    assert live.keys() == replayed.keys()
    differing = [key for key in live if _comparable(live[key]) != _comparable(replayed[key])]
    assert differing == [], f"{live[differing[0]]} != {replayed[differing[0]]}"


def _comparable(row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON would carry it: the database hands back datetimes and JSON columns in its own types."""
    return dict(orjson.loads(orjson.dumps(row, default=str, option=orjson.OPT_NON_STR_KEYS)))


def after_the_fault(services: Services, topology: Topology, acknowledged: list[Acknowledged]) -> None:
    assert_each_acknowledged_report_in_the_log_once(services, acknowledged)
    assert_chain_intact(services)
    assert_board_matches_a_replay(services, topology)


# --- SIGKILL -----------------------------------------------------------------------------------------


def test_an_api_killed_while_20_phones_report_keeps_every_acknowledged_report_once(
    topology: Callable[..., Topology], services_of: Callable[[Topology], Services],
) -> None:
    # given the API, the projector and 20 phones reporting back to back
    running = topology()
    running.start("projector")
    port = free_port()
    url = running.start_api(port)
    api = running.processes[-1]
    services = services_of(running)
    with Reporters(url, [sign_in(url, "lifeguard") for _ in range(CLIENTS)]) as phones:
        wait_until("reports before the kill", lambda: sum(phones.counts()) >= 3 * CLIENTS or None, running)
        # when the API is killed mid-stream and started again on its port
        running.kill(api)
        running.start_api(port)
        restarted = phones.counts()
        wait_until("reports after the restart", lambda: phones.each_reported(restarted, 3), running)
    # then no phone was refused, every phone had to retry (the kill landed while they reported), and every
    # acknowledged report is in the log once, at the position its answer named
    assert [phone.refused for phone in phones.phones if phone.refused] == []
    assert all(phone.retries for phone in phones.phones)
    after_the_fault(services, running, phones.acknowledged())


def test_a_projector_killed_mid_stream_resumes_and_its_board_matches_a_replay(
    topology: Callable[..., Topology], services_of: Callable[[Topology], Services],
) -> None:
    # given the projector applying small batches while 20 phones report
    running = topology(DISPATCH_PROJECTOR_BATCH_SIZE="3")
    projector = running.start("projector")
    url = running.start_api()
    services = services_of(running)
    board = Projector(services.store, [Board()])
    with LiveBoard(url, sign_in(url, "operator")) as live:
        with Reporters(url, [sign_in(url, "lifeguard") for _ in range(CLIENTS)]) as phones:
            wait_until("the projector under way", lambda: board.position("board") > 2 * CLIENTS or None, running)
            # when it is killed, the log grows without it, and it is started again
            running.kill(projector)
            killed_at, down = board.position("board"), phones.counts()
            wait_until("reports while it is down", lambda: phones.each_reported(down, 2), running)
            assert services.store.head() > killed_at
            running.start("projector")
            restarted = phones.counts()
            wait_until("reports after the restart", lambda: phones.each_reported(restarted, 2), running)
        # then it resumed where its checkpoint was: every row once, equal to a replay, and the live board shows
        # them all (a batch committed but never published by the killed one included)
        assert [phone.refused for phone in phones.phones if phone.refused] == []
        after_the_fault(services, running, phones.acknowledged())
        assert_live_board_matches_the_database(live, services, running)


def kill_with_its_scheduler(topology: Topology, worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL a worker and the RQ scheduler it forked, together (a crashed container or host)."""
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    assert children, "the worker runs its RQ scheduler as a child process"
    for child in children:
        os.kill(int(child), signal.SIGKILL)
    topology.kill(worker)


def start_listening_worker(topology: Topology, redis: Redis) -> subprocess.Popen[bytes]:
    queue = Queue(topology.env["DISPATCH_QUEUE_NAME"], connection=redis)
    known = {w.name for w in RqWorker.all(queue=queue)}
    worker = topology.start("worker")
    wait_until("the worker listening", lambda: {w.name for w in RqWorker.all(queue=queue)} - known or None,
               topology)
    return worker


def open_referrals(services: Services, prefix: str) -> list[ReferralRequested]:
    """REFERRALS Koh Yao referrals by fast boats that left the health unit on time and are never heard of
    again: each is due a warning at minute 60 and a breach at minute 80."""
    return [on_time(services, f"{prefix}-{n}", boat_id=f"{prefix}-boat-{n}") for n in range(REFERRALS)]


def delivered(services: Services, referrals: list[ReferralRequested], kind: type[T]) -> Callable[[], bool | None]:
    return lambda: all(events_of(services, r.incident_id, kind) for r in referrals) or None


def assert_warned_and_breached_once_each(services: Services, referrals: list[ReferralRequested]) -> None:
    for referral in referrals:
        warnings = events_of(services, referral.incident_id, ReferralAtRisk)
        breaches = events_of(services, referral.incident_id, ReferralBreached)
        assert [w.reason for w in warnings] == ["warning_point"], referral.incident_id
        assert len(breaches) == 1, referral.incident_id


def test_a_worker_killed_with_open_referrals_a_new_one_delivers_each_check_once(
    topology: Callable[..., Topology], services_of: Callable[[Topology], Services],
) -> None:
    # given a worker (with its scheduler) and open Koh Yao referrals whose warnings it has delivered
    running = topology(**scaled_clock())
    services = services_of(running)
    redis = Redis.from_url(running.env["DISPATCH_REDIS_URL"])
    attach_scheduler(services, redis)
    first = start_listening_worker(running, redis)
    referrals = open_referrals(services, "killed")
    wait_until("the warnings", delivered(services, referrals, ReferralAtRisk), running)
    # when the worker and its scheduler are killed before the breaches, and a new worker starts
    kill_with_its_scheduler(running, first)
    start_listening_worker(running, redis)
    # then the new worker delivers every breach, and nothing was delivered twice
    wait_until("the breaches", delivered(services, referrals, ReferralBreached), running)
    assert_warned_and_breached_once_each(services, referrals)
    assert_chain_intact(services)


# --- Redis lost --------------------------------------------------------------------------------------


def report_once(client: httpx.Client) -> Acknowledged:
    """A report that must be accepted at the first try."""
    key = uuid.uuid4().hex
    answer = client.post("/api/incidents", json=REPORT, headers={"Idempotency-Key": key})
    assert answer.status_code == 201, answer.text
    return Acknowledged(key, answer.json()["id"], answer.json()["position"], replayed=False)


def test_redis_flushed_and_restarted_under_open_referrals_misses_no_check_report_or_board_update(
    topology: Callable[..., Topology], services_of: Callable[[Topology], Services], private_redis: EmbeddedRedis,
) -> None:
    # given the whole topology on a Redis of the test's own, a live board, and open Koh Yao referrals
    running = topology(DISPATCH_REDIS_URL=private_redis.url, **scaled_clock())
    redis = Redis.from_url(private_redis.url)
    running.start("projector")
    start_listening_worker(running, redis)
    url = running.start_api()
    services = attach_scheduler(services_of(running), redis)
    lifeguard = httpx.Client(base_url=url, timeout=10, headers={"Authorization": f"Bearer {sign_in(url, 'lifeguard')}"})
    with lifeguard, LiveBoard(url, sign_in(url, "operator")) as board:
        wait_until("the board's snapshot", lambda: board.snapshots or None, running)
        referrals = open_referrals(services, "flushed")
        before = report_once(lifeguard)
        wait_until("the first report on the board", lambda: board.shows({before.incident_id}), running)
        # when Redis loses every job and goes away until after the warnings were due
        redis.flushall()
        private_redis.process.kill()  # type: ignore[union-attr]
        private_redis.process.wait()  # type: ignore[union-attr]
        during = [report_once(lifeguard) for _ in range(5)]
        health = lifeguard.get("/healthz").json()
        warning_at = max(referral.warning_at for referral in referrals if referral.warning_at)
        wait_until("the warnings' time", lambda: services.clock.now() > warning_at or None, running)
        snapshots = board.snapshots
        private_redis.start()
        # then the API took every report while Redis was away, and said it was degraded, not down
        assert health["status"] == "degraded" and health["database"] == "ok", health
        # and live push resumes: the API's hub resubscribes and resyncs its boards, which show what was reported
        # meanwhile, and a report made after that reaches the board as a delta
        wait_until("the board resynced", lambda: board.snapshots > snapshots or None, running)
        # (the projector's first batch since Redis returned carries a resync, as one of its batches went unsent:
        # boards reload for that one instead of taking a delta, whenever the hub is back before it)
        bridge = report_once(lifeguard)
        wait_until("the projector's first batch since", lambda: board.shows({bridge.incident_id}), running)
        after = report_once(lifeguard)
        wait_until("live push again", lambda: after.incident_id in board.in_deltas or None, running)
        assert board.shows({ack.incident_id for ack in during})
        # and each referral is warned (late, as Redis was away at minute 60) and breached, once each
        wait_until("the breaches", delivered(services, referrals, ReferralBreached), running)
        assert_warned_and_breached_once_each(services, referrals)
        after_the_fault(services, running, [before, *during, bridge, after])
        assert_live_board_matches_the_database(board, services, running)
