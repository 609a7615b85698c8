"""Group commit for the API: commands from concurrent requests are handled together, one fsync for many.

Every acknowledged report must be on disk (DESIGN.md §2: SQLite synchronous=FULL), and one fsync takes
about as long as the CPU work of several reports. Requests therefore hand their commands to one thread that
takes whatever has queued up while it was busy and runs it through `handle_many`: each command is read and
decided on its own, their appends share one transaction, and each request gets its own answer. Under no load
a batch is one command and nothing waits; under load the batches grow and the fsyncs stay few.

The thread also keeps FastAPI's thread pool out of the command path: a hop to a pool thread and back cost
more than the whole decision (bench/api_report.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Final, Protocol

from dispatch.adapters.eventlog.store import AppendResult
from dispatch.app.handle import Answer, handle_many
from dispatch.app.services import Services
from dispatch.domain.commands import Command

log = logging.getLogger("dispatch.app.group_commit")
# A batch this large already shares its fsync among enough commands; a bigger one only delays the first.
MAX_BATCH: Final[int] = 64
_STOP: Final[object] = object()



class Commits(Protocol):
    """How the API hands over commands: GroupCommit (a thread, here) or CommitProcess (a child process)."""

    async def start(self) -> None: ...

    async def submit(self, command: Command) -> AppendResult: ...

    async def stop(self) -> None: ...

    def health(self) -> str: ...  # "ok" while commands can be committed, else what they meet now


_Item = tuple[Command, asyncio.AbstractEventLoop, "asyncio.Future[AppendResult]", float]


class GroupCommit:
    """Hands commands to a committing thread, started on first use (and again in a forked child)."""

    def __init__(self, services: Services, *, max_batch: int = MAX_BATCH,
                 on_batch: Callable[[int], None] | None = None) -> None:
        self._services = services
        self._max_batch = max_batch
        self._on_batch = on_batch  # told each batch's size (the API's metrics)
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._starting = threading.Lock()

    async def start(self) -> None:
        """Nothing to do ahead: the thread starts with the first command (and again in a forked child)."""

    def health(self) -> str:
        # The thread is started again by the next command if it ever ended, so commands always have a way in.
        return "ok"

    async def stop(self) -> None:
        """close(), on a thread of its own, so this event loop can deliver the last answers meanwhile."""
        await asyncio.to_thread(self.close)

    async def submit(self, command: Command) -> AppendResult:
        """Handle `command` with whatever else is waiting; its own result, or the error it met, raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AppendResult] = loop.create_future()
        self._queue.put((command, loop, future, time.perf_counter()))
        self._ensure_running()
        return await future

    def close(self, timeout: float = 10.0) -> None:
        """Answer every command already submitted, then stop the thread."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._queue.put(_STOP)
        thread.join(timeout)

    def _ensure_running(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._starting:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[_Item] = []
            item = self._queue.get()
            while True:
                if item is _STOP:
                    stopping = True
                else:
                    batch.append(item)  # type: ignore[arg-type]
                if stopping or len(batch) >= self._max_batch:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            self._commit(batch)

    def _commit(self, batch: list[_Item]) -> None:
        # A request whose caller has gone away (cancelled before its turn) is not handled: nobody would learn
        # the answer, and its Idempotency-Key lets the client's retry do it.
        live = [item for item in batch if not item[2].cancelled()]
        if not live:
            return
        if self._on_batch is not None:
            self._on_batch(len(live))
        try:
            answers = handle_many([command for command, *_ in live], self._services,
                                  started=[started for *_, started in live])
        except Exception as exc:  # a bug outside any one command; every caller hears of it, the thread goes on
            log.exception("group commit failed")
            answers = [exc] * len(live)
        # One wake-up per event loop for the whole batch, not one per request.
        settled: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[AppendResult], Answer]]] = {}
        for (_command, loop, future, _started), answer in zip(live, answers, strict=True):
            settled.setdefault(loop, []).append((future, answer))
        for loop, outcomes in settled.items():
            with contextlib.suppress(RuntimeError):  # that loop has closed: its requests are gone
                loop.call_soon_threadsafe(_settle, outcomes)


def _settle(outcomes: list[tuple[asyncio.Future[AppendResult], Answer]]) -> None:
    for future, answer in outcomes:
        if future.cancelled():
            continue
        if isinstance(answer, Exception):
            future.set_exception(answer)
        else:
            future.set_result(answer)
