"""SMS through an HTTP gateway of the common Thai shape (ThaiBulkSMS API v2; others are alike): a form POST of
`msisdn`, `message`, `sender` (and `force`, the credit type) with the account's key and secret as HTTP Basic
credentials. A 2xx answer lists the numbers accepted (`phone_number_list`, each with a `message_id`) and those
refused (`bad_phone_number_list`); an error is an HTTP status with a JSON body naming it.

Such gateways take no idempotency key: a request that may have reached the gateway (it timed out after sending,
or the connection broke mid-answer) is never sent again, since the person might get it twice. It is reported as
an unknown outcome, and the delivery fails visibly rather than risk a double page.
"""

from __future__ import annotations

import httpx

from dispatch.adapters.channels import REJECTED, TIMED_OUT, UNREACHABLE, Sent, by_status

SMS_TEXT_MAX_LENGTH = 1000  # a few concatenated parts; Thai text is UCS-2, 70 characters a part


class SmsGateway:
    name = "sms"
    repeatable = False

    def __init__(self, url: str, api_key: str, api_secret: str, sender: str, *, credit_type: str | None = None,
                 timeout_seconds: float = 10) -> None:
        self._url = url
        self._sender = sender
        self._credit_type = credit_type
        self._client = httpx.Client(auth=(api_key, api_secret), timeout=timeout_seconds,
                                    headers={"Accept": "application/json"})

    def close(self) -> None:
        self._client.close()

    def send(self, address: str, text: str, key: str) -> Sent:
        form = {"msisdn": address, "message": text[:SMS_TEXT_MAX_LENGTH], "sender": self._sender}
        if self._credit_type:
            form["force"] = self._credit_type
        try:
            answer = self._client.post(self._url, data=form)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
            return Sent(False, error=UNREACHABLE, retryable=True)  # never left this machine: safe to try again
        except httpx.HTTPError:
            return Sent(False, error=TIMED_OUT)  # may have been sent: not again (see the module's doc)
        if answer.status_code >= 300:
            return by_status(answer.status_code, answer.headers.get("retry-after"))
        return _accepted(answer)


def _accepted(answer: httpx.Response) -> Sent:
    try:
        body = answer.json()
    except ValueError:
        return Sent(False, error=TIMED_OUT, status_code=answer.status_code)  # 2xx but unreadable: outcome unknown
    sent = (body.get("phone_number_list") or []) if isinstance(body, dict) else []
    if sent and isinstance(sent[0], dict):
        return Sent(True, provider_ref=str(sent[0].get("message_id", ""))[:100], status_code=answer.status_code)
    return Sent(False, error=REJECTED, status_code=answer.status_code)  # the number was refused (bad_phone_number_list)
