"""Fetching a CAP feed or alert over HTTP within a size and a time limit; whatever goes wrong is a FeedError.

The whole answer must arrive within `timeout_seconds` (a server that trickles bytes to hold a worker is cut off,
not only one that is silent) and fit in `max_bytes` (counted as the bytes arrive, whatever Content-Length says).
"""

from __future__ import annotations

import time

import httpx

from dispatch.adapters.cap_xml import FeedError

USER_AGENT = "andaman-dispatch CAP poller"


def fetch(client: httpx.Client, url: str, *, max_bytes: int, timeout_seconds: float) -> bytes:
    deadline = time.monotonic() + timeout_seconds
    try:
        with client.stream("GET", url, timeout=timeout_seconds, follow_redirects=True,
                           headers={"User-Agent": USER_AGENT}) as answer:
            if answer.status_code != 200:
                raise FeedError(f"http_{answer.status_code}")
            declared = answer.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise FeedError("too_large", f"declares {declared} bytes; at most {max_bytes} are read")
            body = bytearray()
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise FeedError("too_large", f"more than {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise FeedError("timed_out", f"not complete within {timeout_seconds:g} s")
            return bytes(body)
    except httpx.TimeoutException as exc:
        raise FeedError("timed_out", f"no answer within {timeout_seconds:g} s") from exc
    except httpx.HTTPError as exc:
        raise FeedError("unreachable", type(exc).__name__) from exc
