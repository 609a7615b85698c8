"""Signed checkpoints: the log's head anchored outside the database (DESIGN.md §7).

The hash chain proves a log consistent with itself, not complete: whoever can write the database can delete
its last rows, or rewrite a row and recompute every hash after it, and the chain still verifies. A signed
checkpoint says "at time `at`, position `position` of the log had hash `hash`"; kept where the database's
writers cannot reach it (a file beside the data, and the copies officials download), it makes `verify` fail
on a log that ends before it or differs from it at its position.

Format (docs/security.md): one JSON object a line, appended to the checkpoint file,

    {"format": "dispatch-checkpoint/1", "position": 812, "hash": "<64 hex>", "at": "2026-12-07T19:40:00.000000Z",
     "key_id": "<16 hex>", "signature": "<base64 of 64 bytes>"}

`signature` is Ed25519 over the ASCII text of `signed_text`: four lines, each ending in a newline,
"dispatch-checkpoint/1", "position=812", "hash=<64 hex>", "at=<the same at>". `key_id` is the first 16 hex
digits of the SHA-256 of the raw 32-byte public key: it says which key signed, it proves nothing.

Who publishes: the projector process, on a thread of its own (`start_publisher`). It is the one process that
runs exactly once in both topologies (a thread of `dispatch up`; `dispatch projector` in production, where a
second waits for the first), and it already follows the log; workers run N at a time, and the API is the part
exposed to the network, which should not hold the signing key. A thread of its own, so a projection that
cannot proceed never stops the log being anchored.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Annotated, Final

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dispatch.adapters.database import DATABASE_ERRORS
from dispatch.adapters.eventlog.chain import canonical_time, cut_short
from dispatch.adapters.eventlog.store import EventStore
from dispatch.runtime.clock import Clock
from dispatch.runtime.settings import Settings

log = logging.getLogger("dispatch.checkpoints")

FORMAT: Final[str] = "dispatch-checkpoint/1"
_TIME_PATTERN: Final[str] = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$"
_TAIL_BLOCK: Final[int] = 8192


class CheckpointError(Exception):
    """A checkpoint, its file or its key that cannot be used; the message names which and why."""


class ForgedCheckpoint(CheckpointError):
    """A checkpoint whose signature does not verify with the public key given."""


class SignedCheckpoint(msgspec.Struct, frozen=True, kw_only=True):
    """At `at`, the log's position `position` had hash `hash`; signed by the key `key_id` names."""

    format: str = FORMAT
    position: Annotated[int, msgspec.Meta(ge=1)]
    hash: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
    at: Annotated[str, msgspec.Meta(pattern=_TIME_PATTERN)]
    key_id: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{16}$")]
    signature: Annotated[str, msgspec.Meta(max_length=200)]

    def signed_text(self) -> bytes:
        return signed_text(self.position, self.hash, self.at)

    def line(self) -> bytes:
        return msgspec.json.encode(self) + b"\n"


def signed_text(position: int, digest: str, at: str) -> bytes:
    """The canonical bytes a checkpoint's signature covers."""
    return f"{FORMAT}\nposition={position}\nhash={digest}\nat={at}\n".encode("ascii")


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(key: Ed25519PrivateKey, position: int, digest: str, at: datetime) -> SignedCheckpoint:
    moment = canonical_time(at)
    signature = key.sign(signed_text(position, digest, moment))
    return SignedCheckpoint(position=position, hash=digest, at=moment, key_id=key_id(key.public_key()),
                            signature=base64.b64encode(signature).decode("ascii"))


def check_signature(checkpoint: SignedCheckpoint, public_key: Ed25519PublicKey) -> None:
    """Raise ForgedCheckpoint unless the checkpoint was signed, as it stands, by this key's private half."""
    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
        if checkpoint.format != FORMAT:
            raise InvalidSignature
        public_key.verify(signature, checkpoint.signed_text())
    except (InvalidSignature, ValueError) as exc:
        raise ForgedCheckpoint(
            f"the checkpoint of position {checkpoint.position} (signed at {checkpoint.at}) does not verify with "
            f"public key {key_id(public_key)}: it is forged or altered, or another key signed it") from exc


# --- keys ------------------------------------------------------------------------------------------------


def key_path(settings: Settings) -> Path:
    return settings.checkpoint_key_file or settings.data_dir / "checkpoint-key.pem"


def checkpoints_path(settings: Settings) -> Path:
    return settings.checkpoint_file or settings.data_dir / "checkpoints.jsonl"


def public_key_path(settings: Settings) -> Path:
    """Where the public key is published: beside the checkpoints, for officials to download and keep."""
    return checkpoints_path(settings).with_name("checkpoint-public-key.pem")


def signing_key(settings: Settings, *, embedded: bool) -> Ed25519PrivateKey:
    """The key that signs checkpoints: the configured one, else the data dir's, made on first start by the
    embedded system (`dispatch up`) and in development. Production must name one: a key made beside the
    database would be in the hands of whoever can rewrite it."""
    path = key_path(settings)
    if settings.checkpoint_key_file is None:
        if not embedded and settings.environment == "production":
            raise CheckpointError(
                "no checkpoint signing key: set DISPATCH_CHECKPOINT_KEY_FILE to an Ed25519 private key "
                "(openssl genpkey -algorithm ed25519 -out checkpoint-key.pem)")
        _create_key(path)
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise CheckpointError(f"the checkpoint key {path} cannot be read: {exc}") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise CheckpointError(f"the checkpoint key {path} is not an Ed25519 private key")
    return loaded


def _create_key(path: Path) -> None:
    """Write a new key readable by its owner only, unless one is there; never half a key, even when two
    processes start at once (written aside, then linked into place, which fails if the name exists)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    aside = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)
    finally:
        aside.unlink()


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        loaded = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"the public key {path} cannot be read: {exc}") from exc
    if not isinstance(loaded, Ed25519PublicKey):
        raise CheckpointError(f"the public key {path} is not an Ed25519 public key")
    return loaded


def publish_public_key(key: Ed25519PrivateKey, path: Path) -> None:
    """Write the public key where the API serves it from, replacing it whole (readers never see half)."""
    pem = public_pem(key.public_key())
    if path.exists() and path.read_bytes() == pem:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    aside.write_bytes(pem)
    aside.replace(path)


# --- files -----------------------------------------------------------------------------------------------


def read_checkpoints(path: Path) -> list[SignedCheckpoint]:
    """Every checkpoint in a file: JSON lines as published, or one JSON object as downloaded."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"the checkpoint file {path} cannot be read: {exc}") from exc
    found = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            found.append(_decode(line))
        except CheckpointError as exc:
            with contextlib.suppress(CheckpointError):
                return [_decode(content)]  # one object, pretty-printed over several lines
            raise CheckpointError(f"{path} line {number}: {exc}") from exc
    if not found:
        raise CheckpointError(f"the checkpoint file {path} holds no checkpoint")
    return found


def kept_checkpoints(paths: Sequence[Path], public_key: Ed25519PublicKey) -> list[SignedCheckpoint]:
    """The checkpoints in these files, every one's signature checked; ForgedCheckpoint names the first bad one."""
    found = [checkpoint for path in paths for checkpoint in read_checkpoints(path)]
    for checkpoint in found:
        check_signature(checkpoint, public_key)
    return found


def newest_line(path: Path) -> bytes | None:
    """The file's last well-formed checkpoint as stored (signature unchecked: the reader checks it), or None."""
    try:
        with path.open("rb") as handle:
            for line in _lines_from_end(handle):
                with contextlib.suppress(CheckpointError):
                    _decode(line)
                    return line.strip()
    except FileNotFoundError:
        return None
    return None


def whole_lines(path: Path, chunk_bytes: int = 64 * 1024) -> Iterator[bytes]:
    """The file as it is now, in chunks, up to its last complete line (the publisher may be appending one).
    Raises FileNotFoundError at once if there is no file."""
    handle = path.open("rb")
    return _chunks(handle, _complete_end(handle), chunk_bytes)


def _complete_end(handle: IO[bytes]) -> int:
    """The offset just after the file's last newline; 0 if it has none."""
    end = handle.seek(0, os.SEEK_END)
    while end > 0:
        start = max(0, end - _TAIL_BLOCK)
        handle.seek(start)
        if (newline := handle.read(end - start).rfind(b"\n")) >= 0:
            return start + newline + 1
        end = start
    return 0


def _chunks(handle: IO[bytes], end: int, chunk_bytes: int) -> Iterator[bytes]:
    with handle:
        handle.seek(0)
        while (left := end - handle.tell()) > 0:
            yield handle.read(min(chunk_bytes, left))


def published_checkpoint(settings: Settings) -> SignedCheckpoint | None:
    """The newest published checkpoint that verifies with the published public key, or None."""
    try:
        public_key = load_public_key(public_key_path(settings))
        with checkpoints_path(settings).open("rb") as handle:
            return _newest_signed(handle, public_key)
    except (CheckpointError, FileNotFoundError):
        return None


def _newest_signed(handle: IO[bytes], public_key: Ed25519PublicKey) -> SignedCheckpoint | None:
    """The file's newest checkpoint signed with this key; lines another key signed (or none) are passed over."""
    for line in _lines_from_end(handle):
        try:
            checkpoint = _decode(line)
            check_signature(checkpoint, public_key)
        except CheckpointError:
            continue
        return checkpoint
    return None


def _decode(line: bytes) -> SignedCheckpoint:
    try:
        return msgspec.json.decode(line, type=SignedCheckpoint)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CheckpointError(f"not a signed checkpoint ({exc})") from exc


def _lines_from_end(handle: IO[bytes]) -> Iterator[bytes]:
    """The file's non-blank lines, last first, read a block at a time from the end."""
    end = handle.seek(0, os.SEEK_END)
    rest = b""
    while end > 0:
        start = max(0, end - _TAIL_BLOCK)
        handle.seek(start)
        lines = (handle.read(end - start) + rest).split(b"\n")
        rest, end = lines.pop(0), start
        yield from (line for line in reversed(lines) if line.strip())
    if rest.strip():
        yield rest


@contextlib.contextmanager
def _appending(path: Path) -> Iterator[IO[bytes]]:
    """The checkpoint file open for reading and appending, locked against other publishers on this host."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            # A publisher killed mid-append leaves part of a line: never a checkpoint (it cannot verify), and
            # the next line appended must not run on from it.
            complete = _complete_end(handle)
            if complete < handle.seek(0, os.SEEK_END):
                handle.truncate(complete)
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- publishing ------------------------------------------------------------------------------------------


class CheckpointPublisher:
    """Signs the log's head into the checkpoint file once it has moved `every_events` events since the last
    checkpoint, or `every_window` after it, whichever comes first.

    Before signing, it walks the chain from its own last checkpoint to the head, so it never signs a log that
    was cut short or rewritten behind it: it logs the position instead, once, and signs again only when the
    log agrees with its last checkpoint."""

    def __init__(self, store: EventStore, key: Ed25519PrivateKey, path: Path, *, clock: Clock,
                 every_events: int, every_window: timedelta) -> None:
        self.store = store
        self.key = key
        self.path = path
        self.clock = clock
        self.every_events = every_events
        self.every_window = every_window
        self._public = key.public_key()
        self._refused: str | None = None

    def publish_due(self, *, final: bool = False) -> SignedCheckpoint | None:
        """Append a checkpoint of the head if one is due (`final`: if the head moved at all); None if not."""
        with _appending(self.path) as handle:
            last, head = _newest_signed(handle, self._public), self.store.head()
            if last is not None and head < last.position:
                self._refuse(head + 1, cut_short(head, last))
                return None
            if not self._due(last, head, final=final):
                return None
            report = self.store.verify(checkpoints=[last] if last else [], since=last)
            if not report.intact:
                self._refuse(report.first_bad_position, report.problem)
                return None
            checkpoint = sign(self.key, report.head_position, report.head_hash, self.clock.now())
            handle.write(checkpoint.line())
            handle.flush()
            os.fsync(handle.fileno())
        self._refused = None
        return checkpoint

    def run(self, stop: threading.Event, poll_seconds: float) -> None:
        """Publish whenever due until `stop` is set, then once more for whatever the head moved meanwhile."""
        while not stop.is_set():
            self._publish_logged(final=False)
            stop.wait(poll_seconds)
        self._publish_logged(final=True)

    def _publish_logged(self, *, final: bool) -> None:
        try:
            self.publish_due(final=final)
        except (OSError, *DATABASE_ERRORS) as exc:  # a full disk or a database blip: the next round retries
            log.warning("no checkpoint this round: %s", type(exc).__name__)

    def _due(self, last: SignedCheckpoint | None, head: int, *, final: bool) -> bool:
        if last is None:
            return head > 0
        moved = head - last.position
        waited = self.clock.now() - datetime.fromisoformat(last.at)
        return moved > 0 and (final or moved >= self.every_events or waited >= self.every_window)

    def _refuse(self, position: int | None, problem: str | None) -> None:
        """Log why nothing is signed, once for each problem (it stays until someone restores the log)."""
        if problem != self._refused:
            log.error("log not checkpointed: the chain fails at position %s: %s", position, problem)
            self._refused = problem


def start_publisher(settings: Settings, store: EventStore, clock: Clock, stop: threading.Event, *,
                    embedded: bool) -> threading.Thread:
    """Publish the public key, then checkpoints on a thread until `stop` is set. Raises CheckpointError at
    once (before any thread starts) when there is no usable key."""
    key = signing_key(settings, embedded=embedded)
    publish_public_key(key, public_key_path(settings))
    publisher = CheckpointPublisher(store, key, checkpoints_path(settings), clock=clock,
                                    every_events=settings.checkpoint_every_events,
                                    every_window=timedelta(minutes=settings.checkpoint_every_minutes))
    thread = threading.Thread(target=publisher.run, args=(stop, settings.follow_poll_seconds),
                              name="checkpoints", daemon=True)
    thread.start()
    return thread
