"""How NMEA reaches the feed: the ways AIS receivers send it.

- UDP: AIS-catcher (`-u host port`) and rtl-ais (`-h host -P port`) send each sentence as a datagram (one or more
  lines) to a port the feed listens on.
- TCP server: a receiver connects to the feed and streams lines (AIS-catcher `-P host port`).
- TCP client: the feed connects to a receiver that serves lines (AIS-catcher `-S port`, a transponder's
  NMEA-over-TCP port) and reconnects, backing off, whenever the connection drops.

Each listener runs on threads of its own and hands every line to `deliver`; it never decodes.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from typing import Final

log = logging.getLogger("dispatch.ais")

Deliver = Callable[[bytes], None]
# Sockets wake this often to see whether the feed is stopping.
POLL_SECONDS: Final[float] = 0.5
# An NMEA sentence is at most 82 characters; with a tag block and a receiver's own fields a line stays well under
# this. A longer run without a newline is not NMEA: it is cut off and handed on (and refused as such).
MAX_LINE_BYTES: Final[int] = 1024
# Receivers a TCP server serves at once; one more is refused (a command centre has one or two).
MAX_CONNECTIONS: Final[int] = 16
RECONNECT_SECONDS: Final[tuple[float, float]] = (1.0, 30.0)


class Lines:
    """Splits a byte stream into lines, bounding what it holds."""

    def __init__(self, deliver: Deliver) -> None:
        self.deliver = deliver
        self.pending = b""

    def feed(self, data: bytes) -> None:
        *complete, self.pending = (self.pending + data).split(b"\n")
        for line in complete:
            self._hand_on(line)
        if len(self.pending) > MAX_LINE_BYTES:
            self._hand_on(self.pending[:MAX_LINE_BYTES])
            self.pending = b""

    def _hand_on(self, line: bytes) -> None:
        line = line.strip(b"\r \t\x00")
        if line:
            self.deliver(line)


def listen_udp(host: str, port: int, deliver: Deliver, stop: threading.Event) -> socket.socket:
    """Bind the UDP port now (so a taken port fails at start), then receive on a thread."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)  # bursts of a busy coast
    udp.bind((host, port))
    udp.settimeout(POLL_SECONDS)

    def receive() -> None:
        while not stop.is_set():
            try:
                datagram = udp.recv(65535)
            except TimeoutError:
                continue
            except OSError as exc:
                log.warning("ais udp receive failed", extra={"error": str(exc)})
                continue
            Lines(deliver).feed(datagram + b"\n")
        udp.close()

    threading.Thread(target=receive, name="ais-udp", daemon=True).start()
    return udp


def listen_tcp(host: str, port: int, deliver: Deliver, stop: threading.Event) -> socket.socket:
    """Listen on the TCP port now, then accept receivers on a thread, each read on a thread of its own."""
    server = socket.create_server((host, port), reuse_port=False)
    server.settimeout(POLL_SECONDS)
    slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def serve(connection: socket.socket, peer: str) -> None:
        try:
            _read_stream(connection, deliver, stop)
        finally:
            connection.close()
            slots.release()
            log.info("ais receiver disconnected", extra={"peer": peer})

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, address = server.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                log.warning("ais tcp accept failed", extra={"error": str(exc)})
                continue
            if not slots.acquire(blocking=False):
                connection.close()
                continue
            peer = f"{address[0]}:{address[1]}"
            log.info("ais receiver connected", extra={"peer": peer})
            threading.Thread(target=serve, args=(connection, peer), name="ais-tcp-in", daemon=True).start()
        server.close()

    threading.Thread(target=accept, name="ais-tcp-server", daemon=True).start()
    return server


def connect_tcp(host: str, port: int, deliver: Deliver, stop: threading.Event) -> threading.Thread:
    """Read lines from a receiver's TCP port, reconnecting with a doubling wait whenever it drops."""

    def follow() -> None:
        wait = RECONNECT_SECONDS[0]
        while not stop.is_set():
            try:
                with socket.create_connection((host, port), timeout=POLL_SECONDS * 4) as connection:
                    log.info("ais connected to receiver", extra={"peer": f"{host}:{port}"})
                    wait = RECONNECT_SECONDS[0]
                    _read_stream(connection, deliver, stop)
            except OSError as exc:
                log.warning("ais receiver unreachable", extra={"peer": f"{host}:{port}", "error": str(exc),
                                                              "retry_seconds": wait})
            if stop.wait(wait):
                return
            wait = min(wait * 2, RECONNECT_SECONDS[1])

    thread = threading.Thread(target=follow, name=f"ais-tcp-{host}:{port}", daemon=True)
    thread.start()
    return thread


def _read_stream(connection: socket.socket, deliver: Deliver, stop: threading.Event) -> None:
    connection.settimeout(POLL_SECONDS)
    lines = Lines(deliver)
    while not stop.is_set():
        try:
            data = connection.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            return
        if not data:
            return
        lines.feed(data)
