"""Structured logs: one JSON object per line, so a log shipper can index actor, incident and latency."""

from __future__ import annotations

import functools
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Final

import orjson

# Attributes every LogRecord has; anything else was passed in `extra=` and belongs in the JSON.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}
# Secrets never reach a log line: a session token in a URL (uvicorn logs the live board's
# `/ws/board?token=...`), a Bearer header, a session or CSRF cookie, and any field named like a secret.
_SECRET_TEXT = re.compile(r"((?:[?&]token=)|(?:Bearer\s+)|(?:dispatch_(?:session|csrf)=))[^&\s\\\"';,]+", re.I)
_SECRET_FIELD = re.compile(r"password|token|secret|authorization|cookie", re.I)


# Lower-case text each of _SECRET_TEXT's matches contains: a line without any (almost all) skips the regex.
_SECRET_HINTS: Final[tuple[str, ...]] = ("token=", "bearer", "dispatch_")


def redact(text: str) -> str:
    lowered = text.lower()
    if not any(hint in lowered for hint in _SECRET_HINTS):
        return text
    return _SECRET_TEXT.sub(r"\1[redacted]", text)


@functools.cache
def _is_secret_field(key: str) -> bool:
    return _SECRET_FIELD.search(key) is not None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update({key: "[redacted]" if _is_secret_field(key) else value
                     for key, value in record.__dict__.items() if key not in _STANDARD})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return redact(orjson.dumps(line, default=str).decode())


def configure_logging(level: str = "INFO") -> None:
    """Send every logger's records to stderr as JSON lines."""
    # The JSON carries none of the caller's file and line, thread or process names: not looking them up for
    # each record (a stack walk among them) halves the cost of a line (the logging cookbook's "Optimization").
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
