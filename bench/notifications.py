"""Notification benchmark: the deliveries of a mass-casualty incident's dispatches, through the whole outbox.

An MCI: `--units` boats and teams (250), each crewed by `--crew` people (4) with LINE user ids, are dispatched to
one incident, which calls for units x crew = `--deliveries` LINE pushes (1,000). The projector (a thread here)
puts each dispatch's notice in the outbox in its own transaction; `--notifiers` notifier processes (RQ workers,
`dispatch notifier`) on the real Redis address the notices and deliver every push to a local server that speaks
LINE's push API, answering after `--latency-ms` (50) and failing `--failure-rate` (1%) of requests with a 500,
which the outbox retries after its first backoff (notify_retry_seconds, 2 s by default).

Measured: the seconds from the first dispatch's append to the last push's DeliverySucceeded in the log (both
`recorded_at`), and each push's dispatch-to-delivered time (p50, p99). Target: all delivered within 30 s.
The reference, measured in the same run against the same server: the same pushes sent straight through the LINE
channel by as many threads as there are notifiers, with no log, no queue and a failure simply sent again: what
the network alone costs. The ratio is outbox / reference.

    .venv/bin/python -m bench.notifications [--quick] [--units N] [--crew N] [--notifiers N]
                                            [--latency-ms MS] [--failure-rate F] [--backend sqlite|postgres]

Progress goes to stderr. The table goes to stdout, and its last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import psycopg
from redis import Redis
from rq import Queue, Worker
from sqlalchemy import func, select

from dispatch.adapters.channels.line import LineChannel
from dispatch.adapters.eventlog.wakeup import RedisWakeup
from dispatch.adapters.outbox_tables import DELIVERIES, NOTIFICATIONS
from dispatch.app.handle import handle, handle_many
from dispatch.app.notify import NotifyQueue
from dispatch.app.services import Services, build_services
from dispatch.domain.catalogue import DeliverySucceeded, ResourceDispatched
from dispatch.domain.commands import DispatchResource, RegisterResource, ReportIncident
from dispatch.projections import all_projections
from dispatch.projections.runner import Projector
from dispatch.runtime.settings import Settings
from tests.builders import operator
from tests.peers import LINE_TOKEN, LineApi, serving

REPO: Final[Path] = Path(__file__).resolve().parents[1]
REDIS_URL: Final[str] = os.environ.get("DISPATCH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL: Final[str] = os.environ.get("DISPATCH_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TARGET_SECONDS: Final[float] = 30.0
GUARD_SECONDS: Final[float] = 600.0


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg://{POSTGRES_URL.split('://', 1)[1].rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def crew_line_id(unit: int, member: int) -> str:
    return "U" + f"{unit:016x}{member:016x}"


def populate(services: Services, units: int, crew: int) -> None:
    """The incident, the units and their crews (with LINE ids), as the log and the accounts hold them."""
    site = services.places.get("pier_thap_lamu")
    now = services.clock.now
    handle(ReportIncident(actor=operator(), at=now(), incident_id="mci-1", source="boat", position=site.position,
                          zone=site.zone, triage="red", category="trauma", patients=200, site_id=site.id), services)
    handle_many([RegisterResource(actor=operator(), at=now(), resource_id=f"U{unit:03d}", kind="boat",
                                  name=f"Unit {unit}", speed_knots=25, position=site.position, home_site_id=site.id,
                                  zone=site.zone) for unit in range(units)], services)
    for unit in range(units):
        for member in range(crew):
            person = f"crew-{unit:03d}-{member}"
            services.accounts.add_user(person, "lifeguard", "correct horse battery", resource_id=f"U{unit:03d}")
            services.accounts.set_contact(person, line_user_id=crew_line_id(unit, member), phone=None,
                                          language="th" if member % 2 else "en", facility_id=None)


def notifier_environment(settings: Settings) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISPATCH_")}
    env.update({f"DISPATCH_{name.upper()}": str(value) for name, value in {
        "database_url": settings.database_url, "redis_url": settings.redis_url, "queue_name": settings.queue_name,
        "notify_queue_name": settings.notify_queue_name, "append_channel": settings.append_channel,
        "line_channel_access_token": LINE_TOKEN, "line_api_base_url": settings.line_api_base_url,
        "scheduler_interval_seconds": "0.2", "follow_poll_seconds": "0.2", "log_level": "WARNING",
        "sqlite_synchronous": settings.sqlite_synchronous,
    }.items()})
    env["PYTHONPATH"] = str(REPO)
    return env


def run_outbox(args: argparse.Namespace, url: str, api: LineApi) -> dict[str, Any]:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    settings = Settings(database_url=url, redis_url=REDIS_URL, queue_name=name, notify_queue_name=f"{name}-notify",
                        append_channel=f"{name}:appended", line_channel_access_token=LINE_TOKEN,
                        line_api_base_url=api.url, follow_poll_seconds=0.2, password_time_cost=1,
                        password_memory_kib=1024)
    redis = Redis.from_url(REDIS_URL)
    services = build_services(settings)
    services.store.wakeup = RedisWakeup(redis, settings.append_channel)
    progress(f"populating: {args.units} units x {args.crew} crew")
    populate(services, args.units, args.crew)
    stop = threading.Event()
    projector = Projector(services.store, all_projections(), publish=NotifyQueue(
        redis, settings.notify_queue_name, clock=services.clock, lease_seconds=settings.notify_lease_seconds
    ).after_commit)
    projector.catch_up_all()
    thread = threading.Thread(target=projector.run, args=(stop,), kwargs={"wait_seconds": 0.2}, daemon=True)
    thread.start()
    notifiers = [subprocess.Popen([sys.executable, "-m", "dispatch.entrypoints.notifier"], cwd=REPO,
                                  env=notifier_environment(settings), stdout=subprocess.DEVNULL,
                                  start_new_session=True) for _ in range(args.notifiers)]
    queue = Queue(settings.notify_queue_name, connection=redis)
    try:
        while len(Worker.all(queue=queue)) < args.notifiers:
            time.sleep(0.1)
        progress(f"dispatching {args.units} units ({args.units * args.crew} deliveries)")
        for unit in range(args.units):  # one operator's clicks, one command each
            handle(DispatchResource(actor=operator(), at=services.clock.now(), incident_id="mci-1",
                                    resource_id=f"U{unit:03d}"), services)
        wanted = args.units * args.crew
        deadline = time.monotonic() + GUARD_SECONDS
        while (done := delivered(services)) < wanted:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {done} of {wanted} delivered within {GUARD_SECONDS:.0f} s")
            time.sleep(0.2)
        return figures(services, api, wanted)
    finally:
        for process in notifiers:
            os.killpg(process.pid, signal.SIGTERM)
        for process in notifiers:
            process.wait(timeout=30)
        stop.set()
        thread.join(timeout=10)
        for key in redis.scan_iter(match=f"*{name}*", count=1000):
            redis.delete(key)
        services.store.engine.dispose()


def delivered(services: Services) -> int:
    with services.store.engine.connect() as db:
        return int(db.execute(select(func.count()).select_from(DELIVERIES).where(
            DELIVERIES.c.channel == "line", DELIVERIES.c.status == "delivered")).scalar() or 0)


def figures(services: Services, api: LineApi, wanted: int) -> dict[str, Any]:
    events = services.store.iter_all()
    dispatched_at, succeeded_at = [], []
    for stored in events:
        if isinstance(stored.event, ResourceDispatched):
            dispatched_at.append(stored.recorded_at)
        elif isinstance(stored.event, DeliverySucceeded):
            succeeded_at.append(stored.recorded_at)
    with services.store.engine.connect() as db:
        rows = db.execute(select(DELIVERIES.c.delivered_at, NOTIFICATIONS.c.created_at, DELIVERIES.c.attempts)
                          .join(NOTIFICATIONS, NOTIFICATIONS.c.notification_key == DELIVERIES.c.notification_key)
                          .where(DELIVERIES.c.channel == "line")).all()
    each = sorted((row[0] - row[1]).total_seconds() for row in rows)
    return {
        "seconds": round((max(succeeded_at) - min(dispatched_at)).total_seconds(), 2),
        "delivered": len(succeeded_at), "accepted_by_server": len(api.accepted), "wanted": wanted,
        "retried": sum(row[2] - 1 for row in rows),
        "p50_seconds": round(statistics.median(each), 2),
        "p99_seconds": round(each[min(len(each) - 1, int(len(each) * 0.99))], 2),
    }


def run_reference(args: argparse.Namespace, api: LineApi) -> float:
    """The same pushes straight through the LINE channel, `notifiers` at a time; a failure is sent again at once."""
    channel = LineChannel(LINE_TOKEN, api.url)

    def push(index: int) -> None:
        unit, member = divmod(index, args.crew)
        while not channel.send(crew_line_id(unit, member), "reference", f"ref-{index}").delivered:
            pass

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.notifiers) as pool:
        list(pool.map(push, range(args.units * args.crew)))
    seconds = time.perf_counter() - started
    channel.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20 units x 2 crew, 2 notifiers")
    parser.add_argument("--units", type=int, default=250)
    parser.add_argument("--crew", type=int, default=4)
    parser.add_argument("--notifiers", type=int, default=6)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--failure-rate", type=float, default=0.01)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    if args.quick:
        args.units, args.crew, args.notifiers = 20, 2, 2
    with serving(LineApi(latency_seconds=args.latency_ms / 1000, failure_rate=args.failure_rate)) as api:
        api.friends |= {crew_line_id(unit, member) for unit in range(args.units) for member in range(args.crew)}
        with database(args.backend) as url:
            outbox = run_outbox(args, url, api)
        api.accepted.clear()
        progress("reference: the same pushes straight to the server")
        reference = run_reference(args, api)
    result = {
        "benchmark": "notifications", "backend": args.backend, "deliveries": outbox["wanted"],
        "notifiers": args.notifiers, "latency_ms": args.latency_ms, "failure_rate": args.failure_rate, **outbox,
        "reference_seconds": round(reference, 2), "ratio": round(outbox["seconds"] / reference, 2),
        "target_seconds": TARGET_SECONDS, "met": outbox["seconds"] < TARGET_SECONDS,
    }
    print(f"{'all delivered (dispatch -> last DeliverySucceeded)':<52} {result['seconds']:>8.2f} s "
          f"(target < {TARGET_SECONDS:.0f} s: {'met' if result['met'] else 'NOT met'})")
    print(f"{'one push, dispatch -> delivered (p50 / p99)':<52} {result['p50_seconds']:>8.2f} / "
          f"{result['p99_seconds']:.2f} s")
    print(f"{'reference: the pushes alone, same concurrency':<52} {result['reference_seconds']:>8.2f} s "
          f"(ratio {result['ratio']})")
    print(f"{'attempts retried':<52} {result['retried']:>8}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
