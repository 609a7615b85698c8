"""The outbox's rules: which events reach whom, how a delivery's attempts may go, and what operators see of them."""

from __future__ import annotations

from datetime import timedelta

from dispatch.domain.catalogue import (
    DeliveryAttempted,
    DeliveryAttemptFailed,
    DeliverySucceeded,
    Event,
    NoteAdded,
    NotificationAddressed,
    PlannedDelivery,
    delivery_stream,
)
from dispatch.domain.commands import SYSTEM, RecordDeliveryOutcome, StartDelivery
from dispatch.domain.decisions.outbox import OUTCOME_UNKNOWN, decide, next_try_at
from dispatch.domain.notices import Facts, audience_units, channels_for, delivery_key, notices_for, render
from dispatch.projections.outbox import Outbox
from dispatch.projections.rows import replay_in_memory
from tests.builders import (
    BOAT,
    FACILITY,
    INCIDENT,
    T0,
    incident_from,
    incident_reported,
    minutes,
    referral_at_risk,
    referral_requested,
    resource_dispatched,
)
from tests.unit.test_projections import stored

KEY = "7.0.0123456789abcdef"
NOTICE = "7.0"
LEASE = timedelta(seconds=60)


def start(at_minute: float = 0, *, repeatable: bool = True) -> StartDelivery:
    return StartDelivery(actor=SYSTEM, at=T0 + minutes(at_minute), delivery_key=KEY, notification_key=NOTICE,
                         channel="line" if repeatable else "sms", lease=LEASE, repeatable=repeatable)


def attempted(number: int = 1, at_minute: float = 0) -> DeliveryAttempted:
    return DeliveryAttempted(at=T0 + minutes(at_minute), delivery_key=KEY, notification_key=NOTICE,
                             attempt=number, channel="line")


def on_stream(*events: Event) -> dict[str, list[Event]]:
    return {delivery_stream(KEY): list(events)}


# --- who hears of what -------------------------------------------------------------------------------------


def test_a_dispatch_notifies_the_crew_of_the_unit_sent() -> None:
    [notice] = notices_for(resource_dispatched())
    assert (notice.kind, notice.audience, notice.subject_id, notice.incident_id) == (
        "dispatched", "crew", BOAT, INCIDENT)


def test_a_referral_at_risk_notifies_its_carrier_and_its_receiving_facility() -> None:
    notices = notices_for(referral_at_risk())
    assert [(n.kind, n.audience) for n in notices] == [("referral_at_risk", "carrier"),
                                                      ("referral_at_risk", "facility")]
    incident = incident_from(incident_reported(), resource_dispatched(), referral_requested(resource_id=BOAT))
    referral_id = notices[0].subject_id
    assert audience_units("carrier", referral_id, incident).resource_ids == (BOAT,)
    assert audience_units("facility", referral_id, incident).facility_ids == (FACILITY,)


def test_an_event_the_table_does_not_name_calls_for_no_notice() -> None:
    assert notices_for(NoteAdded(at=T0, incident_id=INCIDENT, text="calm sea")) == []


def test_a_delivery_key_is_the_same_for_the_same_person_and_channel_and_differs_otherwise() -> None:
    assert delivery_key(NOTICE, "somchai", "line") == delivery_key(NOTICE, "somchai", "line")
    assert len({delivery_key(NOTICE, "somchai", "line"), delivery_key(NOTICE, "somchai", "sms"),
                delivery_key(NOTICE, "nok", "line"), delivery_key("7.1", "somchai", "line")}) == 4


def test_a_person_is_tried_on_line_first_and_sms_only_as_its_fallback() -> None:
    assert channels_for("U" + "0" * 32, "0812345678") == ["line", "sms"]
    assert channels_for(None, "0812345678") == ["sms"]
    assert channels_for(None, None) == []


def test_a_message_speaks_the_persons_language_and_links_back_to_the_incident() -> None:
    facts = Facts(incident_id=INCIDENT, link=f"https://dispatch.example/?incident={INCIDENT}", triage="red",
                  category="drowning", place_th="หาดนางทอง", place_en="Nang Thong Beach", unit="KY-01")
    thai, english = render("dispatched", "th", facts), render("dispatched", "en", facts)
    assert "หาดนางทอง" in thai and "แดง" in thai and facts.link in thai
    assert "Nang Thong Beach" in english and facts.link in english


# --- a delivery's attempts ----------------------------------------------------------------------------------


def test_the_first_attempt_is_claimed_in_the_log_before_anything_is_sent() -> None:
    assert decide(start(), on_stream()) == [attempted(1)]


def test_an_attempt_in_progress_is_left_to_its_worker_within_the_lease() -> None:
    assert decide(start(0.5), on_stream(attempted(1))) == []


def test_an_abandoned_attempt_on_a_channel_with_a_retry_key_is_made_again_under_the_same_key() -> None:
    [again] = decide(start(2), on_stream(attempted(1)))
    assert isinstance(again, DeliveryAttempted) and again.attempt == 2


def test_an_abandoned_sms_is_given_up_never_sent_twice() -> None:
    [given_up] = decide(start(2, repeatable=False), on_stream(attempted(1)))
    assert isinstance(given_up, DeliveryAttemptFailed)
    assert (given_up.attempt, given_up.error, given_up.retry_at) == (1, OUTCOME_UNKNOWN, None)


def test_a_delivered_message_is_never_attempted_again() -> None:
    delivered = DeliverySucceeded(at=T0, delivery_key=KEY, notification_key=NOTICE, attempt=1)
    assert decide(start(5), on_stream(attempted(1), delivered)) == []


def test_a_failed_attempt_waits_for_its_retry_time() -> None:
    failed = DeliveryAttemptFailed(at=T0, delivery_key=KEY, notification_key=NOTICE, attempt=1,
                                   error="rate_limited", retry_at=T0 + minutes(1))
    assert decide(start(0.5), on_stream(attempted(1), failed)) == []
    [second] = decide(start(1), on_stream(attempted(1), failed))
    assert isinstance(second, DeliveryAttempted) and second.attempt == 2


def test_an_answer_for_an_attempt_no_longer_open_counts_for_nothing() -> None:
    late = RecordDeliveryOutcome(actor=SYSTEM, at=T0 + minutes(3), delivery_key=KEY, notification_key=NOTICE,
                                 attempt=1, delivered=True)
    assert decide(late, on_stream(attempted(1), attempted(2, at_minute=2))) == []


def test_retries_back_off_honour_retry_after_and_end() -> None:
    backoff = (5.0, 30.0)
    assert next_try_at(1, T0, backoff, retryable=True, retry_after_seconds=None) == T0 + timedelta(seconds=5)
    assert next_try_at(1, T0, backoff, retryable=True, retry_after_seconds=20) == T0 + timedelta(seconds=20)
    assert next_try_at(3, T0, backoff, retryable=True, retry_after_seconds=None) is None  # retries used up
    assert next_try_at(1, T0, backoff, retryable=False, retry_after_seconds=None) is None  # e.g. unknown user
    # a provider asking for longer than the longest backoff: the next channel reaches the crew sooner
    assert next_try_at(1, T0, backoff, retryable=True, retry_after_seconds=3600) is None


# --- what operators see -------------------------------------------------------------------------------------


def addressed(notification: str) -> NotificationAddressed:
    line = delivery_key(notification, "somchai", "line")
    return NotificationAddressed(at=T0 + minutes(1), notification_key=notification, kind="dispatched",
                                 incident_id=INCIDENT, deliveries=(
        PlannedDelivery(delivery_key=delivery_key(notification, "somchai", "app"), person_id="somchai", channel="app"),
        PlannedDelivery(delivery_key=line, person_id="somchai", channel="line"),
        PlannedDelivery(delivery_key=delivery_key(notification, "somchai", "sms"), person_id="somchai",
                        channel="sms", fallback_for=line)), unreachable=("nok",))


def outbox_after(*events: object) -> tuple[dict[str, str], dict[str, object]]:
    rows = replay_in_memory(Outbox(), stored(*events))  # type: ignore[arg-type]
    deliveries = {row["channel"]: row["status"] for row in rows.rows("deliveries")}
    [notification] = rows.rows("notifications")
    return deliveries, notification


def test_a_dispatch_is_in_the_outbox_as_soon_as_it_is_projected() -> None:
    deliveries, notification = outbox_after(incident_reported(), resource_dispatched())
    assert deliveries == {} and notification["status"] == "pending" and notification["notification_key"] == "2.0"


def test_line_fails_over_to_sms_and_the_person_reached_by_sms_counts_as_reached() -> None:
    line = delivery_key("2.0", "somchai", "line")
    sms = delivery_key("2.0", "somchai", "sms")

    def event(kind: type, key: str, **fields: object) -> object:
        return kind(at=T0 + minutes(2), delivery_key=key, notification_key="2.0", **fields)

    deliveries, notification = outbox_after(incident_reported(), resource_dispatched(), addressed("2.0"))
    assert deliveries == {"app": "posted", "line": "queued", "sms": "standby"}
    assert (notification["status"], notification["people"], notification["failed"]) == ("sending", 2, 1)

    given_up = [event(DeliveryAttempted, line, attempt=1, channel="line"),
                event(DeliveryAttemptFailed, line, attempt=1, error="rejected", status_code=400)]
    deliveries, notification = outbox_after(incident_reported(), resource_dispatched(), addressed("2.0"), *given_up)
    assert deliveries == {"app": "posted", "line": "failed_over", "sms": "queued"}

    reached = [event(DeliveryAttempted, sms, attempt=1, channel="sms"), event(DeliverySucceeded, sms, attempt=1)]
    deliveries, notification = outbox_after(incident_reported(), resource_dispatched(), addressed("2.0"), *given_up,
                                            *reached)
    assert deliveries["sms"] == "delivered"
    # somchai was reached; nok had no LINE id and no phone: the notice failed for one person, visibly
    assert (notification["status"], notification["reached"], notification["failed"]) == ("failed", 1, 1)


def test_a_person_reached_on_line_is_not_sent_the_sms_too() -> None:
    line = delivery_key("2.0", "somchai", "line")
    events = [DeliveryAttempted(at=T0, delivery_key=line, notification_key="2.0", attempt=1, channel="line"),
              DeliverySucceeded(at=T0, delivery_key=line, notification_key="2.0", attempt=1)]
    deliveries, _ = outbox_after(incident_reported(), resource_dispatched(), addressed("2.0"), *events)
    assert deliveries == {"app": "posted", "line": "delivered", "sms": "skipped"}
