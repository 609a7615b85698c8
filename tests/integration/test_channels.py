"""Each channel against a local server that speaks its real protocol: what is accepted, what is refused and
why, what may be tried again and after how long, and that a repeat never reaches a person twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dispatch.adapters.channels import RATE_LIMITED, REJECTED, SERVER_ERROR, TIMED_OUT, UNAUTHORIZED, UNREACHABLE
from dispatch.adapters.channels.line import LineChannel
from dispatch.adapters.channels.sms import SmsGateway
from tests.peers import (
    LINE_TOKEN,
    SMS_KEY,
    SMS_SECRET,
    LineApi,
    Scripted,
    SmsGatewayApi,
    serving,
)

SOMCHAI = "U" + "1" * 32
PHONE = "0812345678"


@pytest.fixture(autouse=True)
def _somchai_is_a_friend(line_api: LineApi) -> None:
    line_api.friends.add(SOMCHAI)


_opened: list[LineChannel | SmsGateway] = []


@pytest.fixture(autouse=True)
def _close_channels() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()


def line(api: LineApi | str, token: str = LINE_TOKEN) -> LineChannel:
    _opened.append(LineChannel(token, api if isinstance(api, str) else api.url, timeout_seconds=5))
    return _opened[-1]  # type: ignore[return-value]


def sms(api: SmsGatewayApi | str, secret: str = SMS_SECRET) -> SmsGateway:
    url = api if isinstance(api, str) else api.url
    _opened.append(SmsGateway(f"{url}/sms", SMS_KEY, secret, "1669PNG", credit_type="corporate", timeout_seconds=5))
    return _opened[-1]  # type: ignore[return-value]


# --- LINE ------------------------------------------------------------------------------------------------------


def test_a_line_push_reaches_the_person_with_the_text_and_the_request_id(line_api: LineApi) -> None:
    sent = line(line_api).send(SOMCHAI, "สั่งการ KY-01 ออกเหตุ", "7.0.aaaa")
    assert sent.delivered and sent.provider_ref and line_api.sent_to(SOMCHAI) == ["สั่งการ KY-01 ออกเหตุ"]


def test_a_repeat_under_the_same_key_is_answered_409_and_counts_as_delivered_once(line_api: LineApi) -> None:
    first = line(line_api).send(SOMCHAI, "hello", "7.0.aaaa")
    again = line(line_api).send(SOMCHAI, "hello", "7.0.aaaa")
    assert again.delivered and again.status_code == 409 and again.provider_ref == first.provider_ref
    assert line_api.sent_to(SOMCHAI) == ["hello"]


def test_a_push_accepted_whose_answer_is_lost_is_tried_again_without_a_second_copy(line_api: LineApi) -> None:
    line_api.then(Scripted(200, {}, accept_then_drop=True))
    lost = line(line_api).send(SOMCHAI, "hello", "7.0.aaaa")
    assert not lost.delivered and lost.retryable and lost.error in (UNREACHABLE, TIMED_OUT)
    assert line(line_api).send(SOMCHAI, "hello", "7.0.aaaa").delivered
    assert line_api.sent_to(SOMCHAI) == ["hello"]


def test_a_rate_limit_is_retried_after_the_time_line_asks_for(line_api: LineApi) -> None:
    line_api.then(Scripted(429, {"message": "The API rate limit has been exceeded. Try again later."},
                           {"Retry-After": "7"}))
    sent = line(line_api).send(SOMCHAI, "hello", "7.0.aaaa")
    assert (sent.error, sent.status_code, sent.retryable, sent.retry_after_seconds) == (RATE_LIMITED, 429, True, 7)


def test_a_line_server_error_is_retried(line_api: LineApi) -> None:
    line_api.then(Scripted(500, {"message": "An error occurred in the internal server."}))
    sent = line(line_api).send(SOMCHAI, "hello", "7.0.aaaa")
    assert (sent.error, sent.retryable) == (SERVER_ERROR, True)


def test_an_unknown_line_user_is_refused_for_good(line_api: LineApi) -> None:
    sent = line(line_api).send("U" + "9" * 32, "hello", "7.0.aaaa")
    assert (sent.delivered, sent.error, sent.status_code, sent.retryable) == (False, REJECTED, 400, False)


def test_a_wrong_channel_token_is_a_configuration_error_not_retried(line_api: LineApi) -> None:
    sent = line(line_api, token="revoked").send(SOMCHAI, "hello", "7.0.aaaa")
    assert (sent.error, sent.status_code, sent.retryable) == (UNAUTHORIZED, 401, False)


def test_line_out_of_reach_is_retried() -> None:
    with serving(LineApi()) as gone:
        url = gone.url
    sent = line(url).send(SOMCHAI, "hello", "7.0.aaaa")
    assert (sent.error, sent.retryable) == (UNREACHABLE, True)


# --- SMS -------------------------------------------------------------------------------------------------------


def test_an_sms_is_sent_with_the_sender_and_counted_by_its_message_id(sms_api: SmsGatewayApi) -> None:
    sent = sms(sms_api).send(PHONE, "สั่งการ KY-01", "7.0.bbbb")
    assert sent.delivered and len(sent.provider_ref) == 32
    assert sms_api.sent == [(PHONE, "1669PNG", "สั่งการ KY-01")]


def test_a_bad_number_is_refused_for_good(sms_api: SmsGatewayApi) -> None:
    sent = sms(sms_api).send("12345", "hello", "7.0.bbbb")
    assert (sent.delivered, sent.error, sent.retryable) == (False, REJECTED, False) and sms_api.sent == []


def test_wrong_gateway_credentials_are_a_configuration_error(sms_api: SmsGatewayApi) -> None:
    sent = sms(sms_api, secret="wrong").send(PHONE, "hello", "7.0.bbbb")
    assert (sent.error, sent.status_code, sent.retryable) == (UNAUTHORIZED, 401, False)


def test_a_gateway_rate_limit_and_server_error_are_retried(sms_api: SmsGatewayApi) -> None:
    sms_api.then(Scripted(429, {"error": {"code": 429, "name": "TOO_MANY_REQUESTS", "description": "slow down"}},
                          {"Retry-After": "3"}),
                 Scripted(503, {"error": {"code": 503, "name": "SERVICE_UNAVAILABLE", "description": "busy"}}))
    limited, busy = sms(sms_api).send(PHONE, "a", "k1"), sms(sms_api).send(PHONE, "b", "k2")
    assert (limited.error, limited.retryable, limited.retry_after_seconds) == (RATE_LIMITED, True, 3)
    assert (busy.error, busy.retryable) == (SERVER_ERROR, True) and sms_api.sent == []


def test_an_sms_whose_answer_is_lost_is_never_sent_again(sms_api: SmsGatewayApi) -> None:
    sms_api.then(Scripted(201, {}, accept_then_drop=True))
    lost = sms(sms_api).send(PHONE, "hello", "7.0.bbbb")
    assert (lost.delivered, lost.error, lost.retryable) == (False, TIMED_OUT, False)
    assert len(sms_api.sent) == 1  # the gateway did send it: trying again would page the crew twice


def test_a_gateway_out_of_reach_is_retried() -> None:
    with serving(SmsGatewayApi()) as gone:
        url = gone.url
    sent = sms(url).send(PHONE, "hello", "k")
    assert (sent.error, sent.retryable) == (UNREACHABLE, True)
