"""Channels that carry a message to a person: LINE (Messaging API push) and SMS (an HTTP gateway).

Each answers one send with a `Sent`: accepted, or the error as a short code (never the provider's text, which
may echo the message), whether trying again may help, and how long the provider asked to be left alone.
Nothing here retries or decides: the worker records the outcome and the delivery's rules say what comes next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# Error codes a channel answers with (Sent.error), shown to operators on the board.
RATE_LIMITED = "rate_limited"
SERVER_ERROR = "server_error"
UNREACHABLE = "unreachable"  # no connection: the request never reached the provider
TIMED_OUT = "timed_out"  # no answer: the request may or may not have been acted on
REJECTED = "rejected"  # the provider refused this message or recipient (an unknown LINE user id, a bad number)
UNAUTHORIZED = "unauthorized"  # the centre's credentials are wrong or revoked: a configuration problem
NOT_CONFIGURED = "not_configured"
NO_ADDRESS = "no_address"


@dataclass(frozen=True)
class Sent:
    delivered: bool
    provider_ref: str = ""
    error: str = ""
    status_code: int | None = None
    retryable: bool = False
    retry_after_seconds: float | None = None


class MessageChannel(Protocol):
    """Sends one text to one address under an idempotency key (the delivery's)."""

    name: str
    # True when the provider drops a repeat of a message it accepted under the same key (LINE's retry key): an
    # attempt whose outcome is unknown may then be made again without risking a second copy.
    repeatable: bool

    def send(self, address: str, text: str, key: str) -> Sent: ...

    def close(self) -> None: ...


def retry_after(value: str | None) -> float | None:
    """A Retry-After header's delay in seconds (RFC 9110 §10.2.3, the delay-seconds form); None if absent or a date."""
    if value is None:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None


def by_status(status: int, retry_after_header: str | None) -> Sent:
    """What an HTTP error status means for a send, the same for every provider that speaks plain HTTP."""
    if status == 429:
        return Sent(False, error=RATE_LIMITED, status_code=status, retryable=True,
                    retry_after_seconds=retry_after(retry_after_header))
    if status >= 500:
        return Sent(False, error=SERVER_ERROR, status_code=status, retryable=True,
                    retry_after_seconds=retry_after(retry_after_header))
    if status in (401, 403):
        return Sent(False, error=UNAUTHORIZED, status_code=status)
    return Sent(False, error=REJECTED, status_code=status)
