"""Local HTTP servers that speak the real protocols of the services this system talks to, since the real ones
cannot be reached from here: the LINE Messaging API's push endpoint, a Thai SMS gateway (ThaiBulkSMS v2's
shape), and a CAP feed host (which can also be slow, huge or hostile).

Each is a real http.server on a free port of 127.0.0.1 (a thread per request), checking what the real service
checks: the path, the credentials, the request's shape, the idempotency key; answering as it answers: bodies,
headers, error codes, 429 with Retry-After. A test scripts answers ahead (`then`), holds a request until it
says so (`hold`), or sets a latency and a failure rate (the benchmark). Both record what they accepted, so a
test can count how often a person was really sent something.

Shapes followed: LINE, "Send push message" and "Retry failed API requests" (developers.line.biz); ThaiBulkSMS,
the v2 SMS API (POST /sms, form fields msisdn, message, sender, force; Basic credentials; answers listing
phone_number_list and bad_phone_number_list).
"""

from __future__ import annotations

import base64
import contextlib
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

LINE_TOKEN = "test-channel-access-token"
SMS_KEY, SMS_SECRET = "test-api-key", "test-api-secret"
LINE_USER = re.compile(r"^U[0-9a-f]{32}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
THAI_MOBILE = re.compile(r"^(0|66)[689][0-9]{8}$")


@dataclass
class Scripted:
    """An answer a test asks for ahead of the next request(s): status, JSON body, headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    # Accept the message (as the real service would have) but never answer: the connection is closed instead.
    accept_then_drop: bool = False


class Peer:
    """What both fake services share: scripted answers, holds, latency, random failures, a record of requests."""

    def __init__(self, *, latency_seconds: float = 0.0, failure_rate: float = 0.0, seed: int = 1669) -> None:
        self.latency_seconds = latency_seconds
        self.failure_rate = failure_rate
        self.random = random.Random(seed)
        self.script: list[Scripted] = []
        self.requests = 0
        self.lock = threading.Lock()
        self.arrived = threading.Event()  # set when a held request has arrived
        self.release = threading.Event()
        self.release.set()
        self.server: ThreadingHTTPServer | None = None

    def then(self, *answers: Scripted) -> None:
        with self.lock:
            self.script += answers

    def hold(self) -> None:
        """The next requests wait (after being counted) until `let_go`."""
        self.arrived.clear()
        self.release.clear()

    def let_go(self) -> None:
        self.release.set()

    def next_scripted(self) -> Scripted | None:
        with self.lock:
            self.requests += 1
            if self.script:
                return self.script.pop(0)
            if self.failure_rate and self.random.random() < self.failure_rate:
                return Scripted(500, {"message": "An error occurred in the internal server."})
        return None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        assert isinstance(host, str)  # an IPv4 server's address
        return f"http://{host}:{port}"


class LineApi(Peer):
    """POST /v2/bot/message/push as the LINE Platform answers it."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.friends: set[str] = set()  # user ids the Official Account can push to
        self.accepted: dict[str, tuple[str, str, str]] = {}  # retry key -> (request id, to, text)

    def answer(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        if (method, path) != ("POST", "/v2/bot/message/push"):
            return 404, {"message": "Not found"}, {}
        if headers.get("Authorization") != f"Bearer {LINE_TOKEN}":
            return 401, {"message": "Authentication failed. Confirm that the access token in the authorization "
                                    "header is valid."}, {}
        retry_key = headers.get("X-Line-Retry-Key")
        if retry_key is not None and not UUID.match(retry_key):
            return 400, {"message": "The value of the X-Line-Retry-Key header is invalid"}, {}
        try:
            request = json.loads(body)
            to, messages = request["to"], request["messages"]
            text = messages[0]["text"] if messages[0]["type"] == "text" else ""
        except (ValueError, KeyError, IndexError, TypeError):
            return 400, {"message": "The request body has 1 error(s)"}, {}
        if not LINE_USER.match(to):
            return 400, {"message": "The property, 'to', in the request body is invalid (line 1, column 7)"}, {}
        with self.lock:
            if retry_key in self.accepted:
                return 409, {"message": "The retry key is already accepted"}, {
                    "x-line-accepted-request-id": self.accepted[retry_key][0]}
        scripted = self.next_scripted()
        if scripted is not None and not scripted.accept_then_drop:
            return scripted.status, scripted.body, scripted.headers
        if to not in self.friends:
            return 400, {"message": "Failed to send messages"}, {}
        request_id = str(uuid.uuid4())
        with self.lock:
            self.accepted[retry_key or request_id] = (request_id, to, text)
        if scripted is not None:
            raise ConnectionAbortedError("accepted, then the connection broke")
        return 200, {"sentMessages": [{"id": str(random.randrange(10**17)), "quoteToken": "q"}]}, {
            "x-line-request-id": request_id}

    def sent_to(self, user: str) -> list[str]:
        return [text for _, to, text in self.accepted.values() if to == user]


class SmsGatewayApi(Peer):
    """POST /sms as ThaiBulkSMS's v2 API answers it."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.sent: list[tuple[str, str, str]] = []  # (msisdn, sender, message)

    def answer(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        if (method, path) != ("POST", "/sms"):
            return 404, {"error": {"code": 404, "name": "NOT_FOUND", "description": "Not found"}}, {}
        expected = "Basic " + base64.b64encode(f"{SMS_KEY}:{SMS_SECRET}".encode()).decode()
        if headers.get("Authorization") != expected:
            return 401, {"error": {"code": 401, "name": "UNAUTHORIZED", "description": "Invalid api key"}}, {}
        if not headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return 400, {"error": {"code": 400, "name": "ERR_VALIDATION", "description": "form data only"}}, {}
        form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        if not form.get("msisdn") or not form.get("message"):
            return 400, {"error": {"code": 400, "name": "ERR_VALIDATION", "description": "msisdn and message"}}, {}
        scripted = self.next_scripted()
        if scripted is not None and not scripted.accept_then_drop:
            return scripted.status, scripted.body, scripted.headers
        number = form["msisdn"]
        if not THAI_MOBILE.match(number):
            return 201, {"remaining_credit": 100, "total_use_credit": 0, "credit_type": "standard",
                         "phone_number_list": [], "bad_phone_number_list": [
                             {"number": number, "message": "Invalid phone number"}]}, {}
        with self.lock:
            self.sent.append((number, form.get("sender", ""), form["message"]))
        if scripted is not None:
            raise ConnectionAbortedError("sent, then the connection broke")
        return 201, {"remaining_credit": 99, "total_use_credit": 1, "credit_type": "standard",
                     "phone_number_list": [{"number": number, "message_id": uuid.uuid4().hex, "used_credit": 1}],
                     "bad_phone_number_list": []}, {}

    def sent_to(self, number: str) -> list[str]:
        return [message for to, _, message in self.sent if to == number]


class FeedHost:
    """Serves documents by path; a route may trickle its bytes (slow) or stream without end (huge)."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {}
        self.server: ThreadingHTTPServer | None = None

    def document(self, path: str, body: bytes, content_type: str = "application/xml") -> None:
        def serve(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(200)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        self.routes[path] = serve

    def trickle(self, path: str, chunk: bytes, every_seconds: float, stop: threading.Event) -> None:
        def serve(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/xml")
            handler.end_headers()
            while not stop.wait(every_seconds):
                handler.wfile.write(chunk)
                handler.wfile.flush()

        self.routes[path] = serve

    def endless(self, path: str, stop: threading.Event) -> None:
        def serve(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/xml")
            handler.end_headers()
            handler.wfile.write(b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">')
            while not stop.is_set():
                handler.wfile.write(b"<entry><title>" + b"x" * 65536 + b"</title></entry>")

        self.routes[path] = serve

    def status(self, path: str, code: int) -> None:
        def serve(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(code)
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        self.routes[path] = serve

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        assert isinstance(host, str)  # an IPv4 server's address
        return f"http://{host}:{port}"


def _api_handler(peer: LineApi | SmsGatewayApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if peer.latency_seconds:
                time.sleep(peer.latency_seconds)
            try:
                status, answer, headers = peer.answer("POST", self.path, self.headers, body)
            except ConnectionAbortedError:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if not peer.release.is_set():
                peer.arrived.set()
                peer.release.wait()
            encoded = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(encoded)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            # the client may have gone away (a worker killed mid-request): as a real server, carry on
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(encoded)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def _feed_handler(host: FeedHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            route = host.routes.get(self.path)
            if route is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the poller gave up, as it should
                route(self)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving(peer: LineApi | SmsGatewayApi | FeedHost) -> Iterator[Any]:
    """Run the peer's server on a free port of 127.0.0.1 for the block."""
    handler = _feed_handler(peer) if isinstance(peer, FeedHost) else _api_handler(peer)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    peer.server = server
    thread = threading.Thread(target=server.serve_forever, name=type(peer).__name__, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        if not isinstance(peer, FeedHost):
            peer.let_go()
        server.shutdown()
        server.server_close()


@pytest.fixture
def line_api() -> Iterator[LineApi]:
    """A LINE push API on a free port (no friends yet: a test adds the user ids it pushes to)."""
    with serving(LineApi()) as api:
        yield api


@pytest.fixture
def sms_api() -> Iterator[SmsGatewayApi]:
    with serving(SmsGatewayApi()) as api:
        yield api
