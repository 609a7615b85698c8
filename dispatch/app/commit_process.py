"""Group commit in a process of its own: the API's event loop sends each batch of commands to a committer
child over a socket, and the child runs them through `handle_many`.

In one process, the request handling and the decisions take turns on the GIL, so a served API used one core
however many it had and a report cost almost three trivial requests (bench/api_report.py). With the commits
in a child, the event loop only parses requests and pickles commands, and the decisions, SQL and fsyncs run
beside it on another core. One batch is in flight at a time: what arrives meanwhile waits and goes as the
next batch, which is what makes it a group commit.

An answer is sent only once the child has committed, so a child that dies loses nothing acknowledged: the
batch it held is answered 503 (its commands may or may not be in the log; their Idempotency-Keys make the
retry safe) and a new child takes the next one. A child that dies between batches is replaced at once (the
event loop watches its sentinel), so no one's command meets the dead child, and /healthz says "degraded"
until the new one is up. The child stops when the API closes the socket, after answering what it holds; it
ignores Ctrl-C, which the terminal sends to the whole process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import multiprocessing
import pickle
import signal
import socket
import struct
import time
from collections.abc import Callable, Sequence
from multiprocessing.process import BaseProcess
from typing import Any, Final

from dispatch.adapters.eventlog.codec import decode_row, row_of
from dispatch.adapters.eventlog.store import AppendResult
from dispatch.app.group_commit import MAX_BATCH
from dispatch.app.handle import Answer, handle_many
from dispatch.domain.commands import Command
from dispatch.domain.envelope import StoredEvent
from dispatch.domain.errors import CommitterUnavailable, DispatchError
from dispatch.runtime.settings import Settings

log = logging.getLogger("dispatch.app.commit_process")
_LENGTH: Final[struct.Struct] = struct.Struct("!I")
_READY: Final[bytes] = b"ready"
# Building the services (imports, engine, places) takes a second or two; a child that is not up by then is stuck.
START_TIMEOUT_SECONDS: Final[float] = 60.0

_Waiting = tuple[Command, "asyncio.Future[AppendResult]", float]


class CommitProcess:
    """Commands from this event loop's requests, committed in batches by a child process."""

    def __init__(self, settings: Settings, *, max_batch: int = MAX_BATCH,
                 on_batch: Callable[[int], None] | None = None,
                 start_timeout: float = START_TIMEOUT_SECONDS) -> None:
        self._settings = settings
        self._max_batch = max_batch
        self._on_batch = on_batch  # told each batch's size (the API's metrics)
        self._start_timeout = start_timeout
        self._waiting: list[_Waiting] = []
        self._arrived = asyncio.Event()
        self._process: BaseProcess | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None
        self._stopping = False
        self._child_gone = False  # set by the event loop when the child's sentinel says it has ended
        self._ready = False  # the current child has said it can commit

    @property
    def pid(self) -> int | None:
        """The committing child's process id (None before start)."""
        return self._process.pid if self._process is not None else None

    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def health(self) -> str:
        """"ok" while a child can commit; otherwise what commands meet now (for /healthz)."""
        if self._stopping or self._pump is None:
            return "stopped"
        return "ok" if self._ready and self.alive() and not self._child_gone else "restarting"

    async def start(self) -> None:
        """Start the child and wait until it can commit."""
        await self._spawn()
        self._pump = asyncio.create_task(self._run(), name="commit-process")

    async def submit(self, command: Command) -> AppendResult:
        """Handle `command` with whatever else is waiting; its own result, or the error it met, raised."""
        if self._pump is None or self._stopping:
            raise CommitterUnavailable("the API is not accepting commands (starting or stopping); try again")
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        self._waiting.append((command, future, time.perf_counter()))
        self._arrived.set()
        return await future

    async def stop(self, timeout: float = 10.0) -> None:
        """Answer every command already submitted, then let the child finish and go."""
        self._stopping = True
        self._arrived.set()
        if self._pump is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._pump, timeout)
        await self._close_child(timeout)

    # --- the pump: one batch in flight ---------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            if self._child_gone and not self._stopping:
                # Between batches: whatever waits has not been sent, so the new child commits it.
                log.error("the committer process ended; starting another",
                          extra={"exit_code": self._process.exitcode if self._process else None})
                await self._restart()
                continue
            if not self._waiting:
                if self._stopping:
                    return
                self._arrived.clear()
                await self._arrived.wait()
                continue
            batch = self._take_batch()
            if not batch:
                continue
            if self._on_batch is not None:
                self._on_batch(len(batch))
            try:
                answers = await self._exchange(batch)
            except (OSError, EOFError, asyncio.IncompleteReadError, pickle.PickleError) as exc:
                log.error("the committer process failed; starting another", extra={"error": repr(exc)})
                _settle(batch, [CommitterUnavailable(
                    "the committer stopped while holding this command; it may or may not be in the log: "
                    "retry with the same Idempotency-Key")] * len(batch))
                await self._restart()
                continue
            _settle(batch, answers)

    def _take_batch(self) -> list[_Waiting]:
        # A request whose caller has gone away (cancelled before its turn) is not sent: nobody would learn the
        # answer, and its Idempotency-Key lets the client's retry do it.
        live = [item for item in self._waiting if not item[1].cancelled()]
        batch, rest = live[:self._max_batch], live[self._max_batch:]
        self._waiting = rest
        return batch

    async def _exchange(self, batch: list[_Waiting]) -> list[Answer]:
        assert self._reader is not None and self._writer is not None
        payload = pickle.dumps([(command, started) for command, _future, started in batch],
                               protocol=pickle.HIGHEST_PROTOCOL)
        self._writer.write(_LENGTH.pack(len(payload)) + payload)
        answers = decode_answers(await _read_frame(self._reader))
        if len(answers) != len(batch):
            raise EOFError(f"the committer answered {len(answers)} of {len(batch)} commands")
        return answers

    async def _restart(self) -> None:
        await self._close_child(timeout=2.0)
        while not self._stopping:
            try:
                await self._spawn()
                return
            except (OSError, EOFError, asyncio.IncompleteReadError, TimeoutError) as exc:
                log.error("the committer process did not start; trying again", extra={"error": repr(exc)})
                _settle(self._take_all(), None)
                await self._close_child(timeout=2.0)
                await asyncio.sleep(1.0)
        _settle(self._take_all(), None)

    def _take_all(self) -> list[_Waiting]:
        taken, self._waiting = self._waiting, []
        return taken

    # --- the child's life ----------------------------------------------------------------------------

    async def _spawn(self) -> None:
        self._ready = False
        ours, theirs = socket.socketpair()
        # spawn, not fork: the child must not inherit the event loop, the API's threads or their locks.
        process = multiprocessing.get_context("spawn").Process(
            target=serve_commits, args=(self._settings, theirs), name="dispatch-committer", daemon=True)
        process.start()
        theirs.close()
        self._process = process
        self._child_gone = False
        asyncio.get_running_loop().add_reader(process.sentinel, self._on_child_end, process)
        self._reader, self._writer = await asyncio.open_unix_connection(sock=ours)
        ready = await asyncio.wait_for(_read_frame(self._reader), self._start_timeout)
        if ready != _READY:
            raise EOFError(f"the committer process said {ready[:40]!r} instead of ready")
        self._ready = True

    def _on_child_end(self, process: BaseProcess) -> None:
        # The sentinel stays readable once the child has gone, so stop watching it before anything else.
        asyncio.get_running_loop().remove_reader(process.sentinel)
        if process is self._process:
            self._child_gone = True
            self._arrived.set()

    async def _close_child(self, timeout: float) -> None:
        if self._process is not None:
            asyncio.get_running_loop().remove_reader(self._process.sentinel)
        if self._writer is not None:
            self._writer.close()  # EOF: the child answers what it holds (nothing, here) and exits
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        process, self._process = self._process, None
        self._reader = self._writer = None
        self._ready = False
        if process is None:
            return
        await asyncio.to_thread(process.join, timeout)
        if process.is_alive():
            log.error("the committer process did not stop; killing it")
            process.kill()
            await asyncio.to_thread(process.join, timeout)


def _settle(batch: Sequence[_Waiting], answers: Sequence[Answer] | None) -> None:
    for index, (_command, future, _started) in enumerate(batch):
        if future.cancelled():
            continue
        answer = answers[index] if answers is not None else CommitterUnavailable(
            "the committer process is not running; try again shortly")
        if isinstance(answer, BaseException):
            future.set_exception(answer)
        else:
            future.set_result(answer)


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    return await reader.readexactly(length)


# --- in the child ----------------------------------------------------------------------------------------


def serve_commits(settings: Settings, sock: socket.socket) -> None:
    """The committer child's main: commit each batch the API sends, answer it, stop at end of input."""
    from dispatch.app.services import build_services, connect_redis
    from dispatch.runtime.logs import configure_logging
    from dispatch.runtime.memory import freeze_startup_objects

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the API stops us, after its last answers
    configure_logging(settings.log_level)
    services = connect_redis(build_services(settings, migrate=False))  # the API has migrated
    freeze_startup_objects()  # what exists now lives as long as the process
    with sock:
        sock.sendall(_LENGTH.pack(len(_READY)) + _READY)
        while (frame := _receive(sock)) is not None:
            items: list[tuple[Command, float]] = pickle.loads(frame)
            try:
                answers = handle_many([command for command, _ in items], services,
                                      started=[started for _, started in items])
            except Exception as exc:  # a bug outside any one command; every caller hears of it, we go on
                log.exception("group commit failed")
                answers = [exc] * len(items)
            payload = encode_answers(answers)
            sock.sendall(_LENGTH.pack(len(payload)) + payload)


# --- the answers on the wire ------------------------------------------------------------------------------


class _AnswerPickler(pickle.Pickler):
    """Pickles answers as they cross to the API, the domain's classes knowing nothing of it. A rule error goes
    whole: Exception's own pickling would call the class with the message alone, losing `field` and a
    subclass's own attributes. A stored event goes as its row: decoding the event from its JSON again is cheaper
    than pickling the event's structure, and the row is what the log holds."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, StoredEvent):
            return decode_row, (row_of(obj),)
        if isinstance(obj, DispatchError):
            return _restore_error, (type(obj), obj.args, obj.__dict__)
        return NotImplemented


def _restore_error(cls: type[DispatchError], args: tuple[object, ...], state: dict[str, object]) -> DispatchError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


def encode_answers(answers: Sequence[Answer]) -> bytes:
    """A batch's answers for the API; an error that does not pickle goes as a RuntimeError saying what it said."""
    try:
        return _dumps(list(answers))
    except Exception:  # an error from a library that does not pickle: the API still learns what it said
        return _dumps([_portable(answer) for answer in answers])


def decode_answers(payload: bytes) -> list[Answer]:
    """The answers `encode_answers` sent."""
    answers: list[Answer] = pickle.loads(payload)
    return answers


def _dumps(answers: list[Any]) -> bytes:
    buffer = io.BytesIO()
    _AnswerPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(answers)
    return buffer.getvalue()


def _portable(answer: Any) -> Any:
    try:
        decode_answers(_dumps([answer]))
    except Exception:
        return RuntimeError(f"{type(answer).__name__}: {answer}")
    return answer


# --- the socket ----------------------------------------------------------------------------------------------


def _receive(sock: socket.socket) -> bytes | None:
    head = _receive_exactly(sock, _LENGTH.size)
    if head is None:
        return None
    (length,) = _LENGTH.unpack(head)
    return _receive_exactly(sock, length)


def _receive_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
