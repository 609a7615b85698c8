"""How a referral check becomes an RQ job: its id (valid for RQ, namespaced by the queue) and its time.

The deadline queue (dispatch/app/deadline_queue.py) imports the Redis and RQ clients, so these checks of its
pure helpers sit in the integration tier, where those drivers are installed; they need no server.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import import_module

import pytest
from rq.job import JOB_ID_PATTERN

from dispatch.app.deadline_queue import CHECK_DEADLINE_JOB, CHECK_PREDICTION_JOB, job_id_in, not_before


def test_job_ids_carry_the_queue_name_so_two_deployments_can_share_a_redis() -> None:
    made = job_id_in("dispatch-referrals", "referral-breach-inc-1-r1")
    assert made == "dispatch-referrals-referral-breach-inc-1-r1"
    assert job_id_in("a", "referral-breach-x") != job_id_in("b", "referral-breach-x")


@pytest.mark.parametrize("incident_id", ["inc.2026:07", "inc/7", "อุบัติเหตุ-1"])
def test_ids_with_characters_rq_refuses_become_valid_and_stay_distinct(incident_id: str) -> None:
    made = job_id_in("q", f"referral-breach-{incident_id}-r1")
    assert JOB_ID_PATTERN.fullmatch(made)
    assert made != job_id_in("q", "referral-breach-inc_2026_07-r1")


def test_a_deadline_is_scheduled_at_the_next_whole_second_never_before() -> None:
    # RQ truncates a scheduled time to the second; rounding up keeps the check from running early
    assert not_before(datetime(2026, 3, 14, 8, 20, 0, 700_000, tzinfo=UTC)) == datetime(
        2026, 3, 14, 8, 20, 1, tzinfo=UTC
    )
    assert not_before(datetime(2026, 3, 14, 8, 20, tzinfo=UTC)) == datetime(2026, 3, 14, 8, 20, tzinfo=UTC)


def test_the_job_paths_name_the_job_functions() -> None:
    for path, name in [(CHECK_DEADLINE_JOB, "check_referral_deadline"),
                       (CHECK_PREDICTION_JOB, "check_referral_prediction")]:
        module, _, function = path.rpartition(".")
        assert function == name
        assert callable(getattr(import_module(module), function))
