"""LINE Messaging API push (POST /v2/bot/message/push) through the official SDK, line-bot-sdk v3.

Every push carries X-Line-Retry-Key, a UUID derived from the delivery's key, so every attempt of one delivery
sends the same key: LINE executes a keyed request once and answers a repeat with 409 and the accepted request's
id (x-line-accepted-request-id), which counts as delivered. That makes an attempt whose worker died mid-send
safe to make again. LINE Notify was shut down in 2025; the Messaging API is the way to push to a person.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

import urllib3
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, PushMessageRequest, TextMessage
from linebot.v3.messaging.exceptions import ApiException

from dispatch.adapters.channels import REJECTED, TIMED_OUT, UNREACHABLE, Sent, by_status

# Derives the retry key from the delivery key: the same delivery, the same UUID, in whichever process.
RETRY_KEY_NAMESPACE: Final[uuid.UUID] = uuid.UUID("5f0a3a52-64b5-4d55-9a53-16690a1e7c01")
LINE_TEXT_MAX_LENGTH: Final[int] = 5000  # a text message object's limit
ACCEPTED_HEADER: Final[str] = "x-line-accepted-request-id"
REQUEST_ID_HEADER: Final[str] = "x-line-request-id"


def retry_key(delivery_key: str) -> str:
    return str(uuid.uuid5(RETRY_KEY_NAMESPACE, delivery_key))


class LineChannel:
    name = "line"
    repeatable = True

    def __init__(self, access_token: str, base_url: str = "https://api.line.me", *, timeout_seconds: float = 10
                 ) -> None:
        configuration = Configuration(host=base_url.rstrip("/"), access_token=access_token)
        configuration.retries = urllib3.Retry(total=0, redirect=0)  # the outbox retries, with backoff and a record
        self._client = ApiClient(configuration)
        self._api = MessagingApi(self._client)
        self._timeout = timeout_seconds

    def close(self) -> None:
        self._client.close()

    def send(self, address: str, text: str, key: str) -> Sent:
        request = PushMessageRequest(to=address, messages=[TextMessage(text=text[:LINE_TEXT_MAX_LENGTH])])
        try:
            answer = self._api.push_message_with_http_info(request, x_line_retry_key=retry_key(key),
                                                           _request_timeout=self._timeout)
        except ApiException as exc:
            return _refused(exc)
        except urllib3.exceptions.HTTPError as exc:
            # LINE drops a repeat under the same retry key, so a send that may have landed is tried again.
            timed_out = isinstance(exc, urllib3.exceptions.ReadTimeoutError) or (
                isinstance(exc, urllib3.exceptions.MaxRetryError)
                and isinstance(exc.reason, urllib3.exceptions.ReadTimeoutError))
            return Sent(False, error=TIMED_OUT if timed_out else UNREACHABLE, retryable=True)
        return Sent(True, provider_ref=_header(answer.headers, REQUEST_ID_HEADER), status_code=answer.status_code)


def _refused(exc: ApiException) -> Sent:
    status = int(exc.status or 0)
    if status == 0:  # the SDK's own wrapping of a transport failure (an SSL error, a broken connection)
        return Sent(False, error=UNREACHABLE, retryable=True)
    accepted = _header(exc.headers, ACCEPTED_HEADER)
    if status == 409 and accepted:
        return Sent(True, provider_ref=accepted, status_code=status)  # accepted by an earlier attempt
    if status == 409:
        return Sent(False, error=REJECTED, status_code=status)
    return by_status(status, _header(exc.headers, "retry-after") or None)


def _header(headers: Any, name: str) -> str:
    if not headers:
        return ""
    for key, value in dict(headers).items():
        if str(key).lower() == name:
            return str(value)
    return ""
