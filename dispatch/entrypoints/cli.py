"""dispatch up | api | projector | worker | ais | rebuild | verify | users | migrate (and --version)"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from dispatch import __version__
from dispatch.adapters.embedded_redis import EmbeddedRedis
from dispatch.adapters.eventlog.checkpoints import (
    CheckpointError,
    kept_checkpoints,
    load_public_key,
    public_key_path,
    start_publisher,
)
from dispatch.app.first_start import FirstStart, first_start, passwords_file
from dispatch.app.notify import NotifyQueue
from dispatch.app.services import Services, build_services, connect_redis
from dispatch.domain.errors import DispatchError
from dispatch.domain.vocabulary import Language, Role
from dispatch.projections import all_projections
from dispatch.projections.publish import RedisPublisher, also
from dispatch.projections.rows import Change
from dispatch.projections.runner import Projector
from dispatch.runtime.logs import configure_logging
from dispatch.runtime.settings import Settings

# Plain (not Rich) usage errors: "Error: Invalid value for '--role': ..." on one line, exit 2, no traceback.
app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Andaman maritime emergency dispatch.")
users_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="People who may sign in.")
app.add_typer(users_app, name="users")
# Long lines stay whole (a path or a password must not break where it would be copied from).
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def _print_version(wanted: bool) -> None:
    if wanted:
        print(f"dispatch {__version__}")
        raise typer.Exit()


@app.callback()
def _options(version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                   help="print the version and exit")] = False) -> None:
    """Andaman maritime emergency dispatch."""

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="where the SQLite log and Redis live")]


def _settings(data_dir: Path | None = None, **overrides: object) -> Settings:
    given = {key: value for key, value in overrides.items() if value is not None}
    if data_dir is not None:
        given["data_dir"] = data_dir
    return Settings(**given)  # type: ignore[arg-type]


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="port to listen on")] = None,
    data_dir: DataDir = None,
    demo: Annotated[bool | None, typer.Option(
        "--demo/--no-demo", help="load the invented demo fleet on first start [default: in development only]",
        show_default=False)] = None,
) -> None:
    """Run the whole system on this machine: log, embedded Redis, API with the pages, projector, worker (and the AIS
    feed when DISPATCH_AIS_* names a receiver)."""
    settings = _settings(data_dir, host=host, port=port, demo=demo)
    _refuse_taken_port(settings.host, settings.port)  # before anything is created
    configure_logging(settings.log_level)
    embedded = EmbeddedRedis(settings.data_dir / "redis") if settings.redis_url is None else None
    redis_url = embedded.start() if embedded else settings.redis_url
    settings = settings.model_copy(update={"redis_url": redis_url})
    stop = threading.Event()
    # uvicorn hands SIGINT/SIGTERM back to the previous handler once it has shut down; ours only marks the
    # stop, so the `finally` below always runs and stops the worker and Redis too.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    workers: list[subprocess.Popen[bytes]] = []
    projector_thread: threading.Thread | None = None
    checkpoints: threading.Thread | None = None
    try:
        services = _services_with_redis(settings)
        started = first_start(services)
        _refuse_initial_passwords_in_production(services)
        projector = _projector(services)
        projector_thread = threading.Thread(target=projector.run, args=(stop,), name="projector", daemon=True)
        projector_thread.start()
        checkpoints = _start_checkpoints(services, stop, embedded=True)
        names = ["worker", "notifier"]
        if settings.ais_configured:  # the AIS feed, when a receiver is configured (DISPATCH_AIS_*)
            names.append("ais")
        workers += [subprocess.Popen([sys.executable, "-m", "dispatch", name], env=_child_env(settings))
                    for name in names]
        if not stop.is_set():
            _serve(services, redis_url, settings.host, settings.port,
                   on_ready=lambda: console.print(startup_block(services, started)))
    finally:
        stop.set()
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        for thread in (projector_thread, checkpoints):
            if thread is not None:
                thread.join(timeout=10)
        if embedded is not None:
            embedded.stop()
        console.print("stopped.")


def _refuse_taken_port(host: str, port: int) -> None:
    """Exit 1 if another program listens on host:port (bound as uvicorn binds, then let go)."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        errors.print(f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                     "stop what uses it or choose another --port", highlight=False)
        raise typer.Exit(1) from None


def startup_block(services: Services, started: FirstStart) -> str:
    """The block `dispatch up` ends its start-up with: where to go, who can sign in, and with what."""
    settings = services.settings
    url = f"http://{settings.host}:{settings.port}/"
    lines = ["", "[bold green]Andaman dispatch is up:[/] " + escape(url), f"  API docs:  {escape(url)}docs",
             f"  data:      {escape(str(settings.data_dir.resolve()))}"]
    if started.fleet:
        lines.append(f"  loaded the demo fleet ({started.fleet} invented resources)")
    lines += _accounts(services, started)
    lines += ["Ctrl-C stops everything.", ""]
    return "\n".join(lines)


def _accounts(services: Services, started: FirstStart) -> list[str]:
    kept = escape(str(passwords_file(services)))  # printed as it is, never read as Rich markup
    if started.passwords:
        return ["  demo accounts (first start; each must change its password at first sign-in):",
                *(f"    {account.removeprefix('demo-'):<10} {account:<16} {password}"
                  for account, password in started.passwords.items()),
                f"  these passwords are kept in {kept} (readable by you only) until changed"]
    if waiting := services.accounts.with_initial_passwords():
        return [f"  accounts still on their first-start password: {escape(', '.join(waiting))} (see {kept})"]
    if not services.accounts.has_users():
        return ["  no accounts yet: add the first with `dispatch users add NAME --role admin`"]
    return []


def _services_with_redis(settings: Settings) -> Services:
    return connect_redis(build_services(settings))


def _child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["DISPATCH_DATA_DIR"] = str(settings.data_dir)
    env["DISPATCH_DATABASE_URL"] = settings.resolved_database_url
    env["DISPATCH_REDIS_URL"] = settings.redis_url or ""
    return env


def _refuse_initial_passwords_in_production(services: Services) -> None:
    """Exit 2 in production while an account still has the password first start printed."""
    if services.settings.environment != "production":
        return
    if waiting := services.accounts.with_initial_passwords():
        console.print(f"[red]Refusing to start in production[/]: {', '.join(waiting)} still "
                      f"{'has its' if len(waiting) == 1 else 'have their'} generated first-start password. "
                      "Sign in and change it (POST /api/auth/password), then start again.")
        raise typer.Exit(2)


def _serve(services: Services, redis_url: str | None, host: str, port: int,
           on_ready: Callable[[], None] | None = None) -> None:
    from dispatch.entrypoints.serving import serve, server_app

    serve(server_app(services, redis_url), host, port, on_ready)


@app.command()
def api(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    workers: Annotated[int, typer.Option(help="API processes")] = 1,
    forwarded_allow_ips: Annotated[str | None, typer.Option(
        help="reverse proxies whose X-Forwarded-For is believed (comma-separated addresses or networks; "
             "default DISPATCH_FORWARDED_ALLOW_IPS, else none)")] = None,
) -> None:
    """Run the API alone (production: against DISPATCH_DATABASE_URL and DISPATCH_REDIS_URL)."""
    settings = _settings(host=host, port=port, forwarded_allow_ips=forwarded_allow_ips)
    configure_logging(settings.log_level)
    services = _services_with_redis(settings)
    _refuse_initial_passwords_in_production(services)
    if workers > 1:
        from dispatch.entrypoints.serving import WORKER_STARTUP_SECONDS, prepare_multiprocess_metrics, trusted_proxies

        prepare_multiprocess_metrics(settings)
        uvicorn.run("dispatch.entrypoints.serving:app_from_environment", factory=True,
                    host=settings.host, port=settings.port,
                    workers=workers, log_config=None, ws_max_size=settings.ws_max_message_bytes,
                    ws_per_message_deflate=False, proxy_headers=trusted_proxies(settings) is not None,
                    forwarded_allow_ips=trusted_proxies(settings), timeout_worker_healthcheck=WORKER_STARTUP_SECONDS)
        return
    _serve(services, settings.redis_url, settings.host, settings.port)


def _projector(services: Services) -> Projector:
    """The projector as `up` and `projector` run it: publishing, reporting its status, exporting its metrics."""
    from dispatch.entrypoints.api.metrics import ProjectorMetrics, serve_metrics
    from dispatch.projections.status import StatusRecord, status_key

    settings = services.settings
    publish: Callable[[list[Change]], None] | None = (
        RedisPublisher(services.redis, settings.live_channel) if services.redis is not None else None)
    if services.redis is not None:  # what the batch committed to the outbox goes to the notifier's queue
        publish = also(publish, NotifyQueue(services.redis, settings.notify_queue_name, clock=services.clock,
                                            lease_seconds=settings.notify_lease_seconds).after_commit)
    metrics = ProjectorMetrics()
    serve_metrics(metrics.registry, settings.host, settings.projector_metrics_port)
    return Projector(services.store, all_projections(), publish=publish, batch_size=settings.projector_batch_size,
                     status=StatusRecord(services.redis, status_key(settings.live_channel)), observer=metrics,
                     retry_seconds=settings.projector_retry_seconds)


@app.command()
def projector() -> None:
    """Run the projector alone: one at a time (a second waits for the first's lock)."""
    settings = _settings()
    configure_logging(settings.log_level)
    services = _services_with_redis(settings)
    stop = threading.Event()
    checkpoints = _start_checkpoints(services, stop, embedded=False)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    _projector(services).run(stop)
    checkpoints.join(timeout=10)  # its last checkpoint, of whatever the head moved since the one before


@app.command()
def health(
    process: Annotated[str, typer.Argument(help="projector, worker, notifier or ais")],
) -> None:
    """Exit 0 if the projector (or a worker, notifier or AIS feed on this host) is well, else 1; prints what was
    found (JSON)."""
    from dispatch.app.health import ais_health, notifier_health, projector_health, worker_health

    checks = {"projector": projector_health, "worker": worker_health, "notifier": notifier_health,
              "ais": ais_health}
    if process not in checks:
        console.print(f"[red]unknown process {process!r}[/]: choose projector, worker, notifier or ais")
        raise typer.Exit(2)
    healthy, found = checks[process](_settings())
    print(json.dumps(found, default=str))
    raise typer.Exit(0 if healthy else 1)


def _start_checkpoints(services: Services, stop: threading.Event, *, embedded: bool) -> threading.Thread:
    """Sign the log's head on a thread of the projector process (dispatch/adapters/eventlog/checkpoints.py says why)."""
    try:
        return start_publisher(services.settings, services.store, services.clock, stop, embedded=embedded)
    except CheckpointError as exc:
        console.print(f"[red]Refusing to start[/]: {exc}")
        raise typer.Exit(2) from exc


@app.command()
def ais(
    udp_port: Annotated[int | None, typer.Option(min=1, max=65535, help="UDP port receivers send NMEA to "
                                                 "[default: DISPATCH_AIS_UDP_PORT]")] = None,
    tcp_port: Annotated[int | None, typer.Option(min=1, max=65535, help="TCP port receivers connect to "
                                                 "[default: DISPATCH_AIS_TCP_PORT]")] = None,
    tcp_connect: Annotated[str | None, typer.Option(help="receivers to connect to, host:port[,host:port] "
                                                   "[default: DISPATCH_AIS_TCP_CONNECT]")] = None,
) -> None:
    """Run the AIS feed: NMEA from receivers into the live sea picture, the fleet's positions and beacon alarms."""
    from dispatch.entrypoints.ais import NothingToListenTo, run_feed

    settings = _settings(ais_udp_port=udp_port, ais_tcp_port=tcp_port, ais_tcp_connect=tcp_connect)
    configure_logging(settings.log_level)
    try:
        run_feed(settings)
    except NothingToListenTo as exc:
        errors.print(f"Error: {exc}", highlight=False)
        raise typer.Exit(2) from exc


@app.command()
def worker(burst: Annotated[bool, typer.Option(help="stop when the queue is empty")] = False) -> None:
    """Run an RQ worker with its scheduler: referral warnings, breaches and predictions."""
    from dispatch.entrypoints.worker import run_worker

    settings = _settings()
    configure_logging(settings.log_level)
    run_worker(settings, burst=burst)


@app.command()
def notifier(burst: Annotated[bool, typer.Option(help="stop when the queue is empty")] = False) -> None:
    """Run the outbox's worker: address notices, deliver on LINE and SMS, poll the CAP feeds."""
    from dispatch.entrypoints.notifier import run_notifier

    settings = _settings()
    configure_logging(settings.log_level)
    run_notifier(settings, burst=burst)


@app.command()
def rebuild(name: Annotated[list[str] | None, typer.Argument(help="projections to rebuild (default all)")] = None
            ) -> None:
    """Drop read models and replay them from the log."""
    settings = _settings()
    services = build_services(settings)
    projector = Projector(services.store, all_projections())
    unknown = set(name or []) - set(projector.projections)
    if unknown:
        raise typer.BadParameter(f"unknown projection(s) {', '.join(sorted(unknown))}; "
                                 f"choose from {', '.join(projector.projections)}")
    total = services.store.head()
    with Progress(TextColumn("rebuilding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console) as bar:
        task = bar.add_task("events", total=total)
        replayed = projector.rebuild(name or None, progress=lambda read: bar.advance(task, read))
    console.print(f"rebuilt {', '.join(name or list(projector.projections))} from {replayed} events")


@app.command()
def verify(
    checkpoint: Annotated[list[Path] | None, typer.Option(
        "--checkpoint", help="kept signed checkpoints (a file of JSON lines, or one downloaded checkpoint); "
                             "the log must agree with every one. Repeatable")] = None,
    public_key: Annotated[Path | None, typer.Option(
        "--public-key", help="the checkpoints' public key (PEM), your own kept copy; default: the one published "
                             "beside the checkpoints")] = None,
) -> None:
    """Walk the log's hash chain, and check it against kept checkpoints; exit 1 naming the first altered,
    missing or rewritten position, exit 2 if a checkpoint's signature does not verify."""
    settings = _settings()
    try:
        key = load_public_key(public_key or public_key_path(settings)) if checkpoint else None
        kept = kept_checkpoints(checkpoint, key) if checkpoint and key else []
    except CheckpointError as exc:
        console.print(f"[red]REFUSED[/]: {exc}")
        raise typer.Exit(2) from exc
    store = build_services(settings).store
    try:
        report = store.verify(checkpoints=kept)
    finally:
        store.engine.dispose()
    if report.intact:
        anchored = f", agrees with the signed checkpoint of position {report.anchored_position}" if kept else ""
        console.print(f"[green]intact[/]: {report.checked} events, head {report.head_position}{anchored}")
        return
    console.print(f"[red]BROKEN[/] at position {report.first_bad_position}: {report.problem}")
    raise typer.Exit(1)


@app.command()
def migrate() -> None:
    """Bring the database schema to the newest migration."""
    build_services(_settings())
    console.print("schema is up to date")


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[Role, typer.Option(help="what the person may do")],
    ask_password: Annotated[bool, typer.Option("--ask-password",
                                               help="ask for the password (typed twice, not shown)")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin",
                                                 help="read the password from the first line of stdin")] = False,
    password_env: Annotated[str | None, typer.Option(metavar="VARIABLE",
                                                     help="read the password from this environment variable")] = None,
    resource: Annotated[str | None, typer.Option(help="the team or boat this person belongs to")] = None,
    display_name: Annotated[str, typer.Option()] = "",
    password: Annotated[str | None, typer.Option(hidden=True)] = None,
) -> None:
    """Set up a person who may sign in. Without a password option, a random one is made and printed once."""
    if password is not None:
        raise typer.BadParameter("not taken on the command line, where shell history and `ps` show it; use "
                                 "--ask-password, --password-stdin or --password-env", param_hint="'--password'")
    given = _given_password(ask_password, password_stdin, password_env)
    chosen = given or secrets.token_urlsafe(12)
    build_services(_settings()).accounts.add_user(name, role, chosen, display_name=display_name,
                                                  resource_id=resource)
    console.print(f"added {name} ({role})" + ("" if given else f"; password: {chosen}"), highlight=False)


@users_app.command("contact")
def users_contact(
    name: str,
    line: Annotated[str | None, typer.Option(help="the person's LINE user id (U and 32 hex digits)")] = None,
    phone: Annotated[str | None, typer.Option(help="a mobile number for SMS")] = None,
    language: Annotated[Language, typer.Option(help="the language of their messages")] = "th",
    facility: Annotated[str | None, typer.Option(help="the receiving facility they work at")] = None,
) -> None:
    """Set how the outbox reaches a person (docs/alerts.md); an option left out clears that channel."""
    build_services(_settings()).accounts.set_contact(name, line_user_id=line, phone=phone, language=language,
                                                     facility_id=facility)
    console.print(f"{name}: LINE {'set' if line else 'none'}, SMS {'set' if phone else 'none'}, {language}",
                  highlight=False)


def _given_password(ask: bool, stdin: bool, variable: str | None) -> str | None:
    """The password from the one source named, or None for a random one."""
    if ask + stdin + (variable is not None) > 1:
        raise typer.BadParameter("choose one of --ask-password, --password-stdin and --password-env",
                                 param_hint=None)
    if ask:
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if variable is not None:
        if (value := os.environ.get(variable)) is None:
            raise typer.BadParameter(f"the environment has no {variable}", param_hint="'--password-env'")
        return value
    return None


def main() -> None:
    """Run the CLI; a refused input or setting is one line on stderr, not a traceback."""
    try:
        app()
    except ValidationError as exc:
        for error in exc.errors():
            where = "_".join(str(part) for part in error["loc"]).upper()
            errors.print(f"Error: DISPATCH_{where}: {error['msg']}", highlight=False)
        sys.exit(2)
    except DispatchError as exc:
        errors.print(f"Error: {exc.message}", highlight=False)
        from dispatch.entrypoints.api.problems import status_of

        sys.exit(2 if status_of(type(exc)) == 422 else 1)  # bad input as a usage error; a refused rule as a failure


if __name__ == "__main__":
    main()
