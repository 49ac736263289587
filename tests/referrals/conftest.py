"""Fixtures shared by the referrals tests: a partner team, another team, and a nurse of the first;
the morning partners' messages are sent; a district nurse's call saved through the call screen's
service."""

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from calls.services.intake import CallInput, CallSubmitResult, NeedRequest, call_submit
from referrals.codes import CallReason, Disposition
from services.codes import CallerType, Priority
from spoc.core.models import Heartbeat
from spoc.core.queues import ROUTING, queue_name
from spoc.core.tasks import heartbeat_task
from tests.conftest import wait_for
from tests.referrals.alerting import alert_area, duty_rota, enqueued, texts  # noqa: F401 (fixtures)
from tests.referrals.factories import member
from tests.services.directory_fixtures import every_day, make_service


@pytest.fixture
def team():
    return make_service("Community Palliative Care", "COMMUNITY_SPC", hours=every_day(8, 20)).team


@pytest.fixture
def other_team():
    return make_service("Hospice at Home", "HOSPICE_AT_HOME", hours=every_day(8, 22)).team


@pytest.fixture
def nurse(make_user, team):
    return member(make_user, team, "nurse1")


# A Wednesday morning, when the messages of tests/interop/bars_messages.py are sent (their breach
# time is 12:00 that day): the community team (08:00-20:00) is open.
MORNING = "2026-12-02T10:00:00+00:00"


@pytest.fixture
def morning() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def submit_call(handler: Any) -> Callable[..., CallSubmitResult]:
    """submit_call(patient, *needs, idempotency_key=None) -> the result of ``call_submit``: the
    handler's call from a district nurse asking a visit for a patient in overwhelming pain, at P2
    (the handler is not a clinician: no Phase of Illness), received two minutes ago, with a
    referral for each need."""

    def submit(patient: Any, *needs: str, idempotency_key: str | None = None) -> CallSubmitResult:
        return call_submit(
            data=CallInput(
                received_at=timezone.now() - timedelta(minutes=2),
                caller_type=CallerType.DISTRICT_NURSE,
                patient_id=patient.pk,
                reason=CallReason.REQUEST_VISIT,
                ipos={"PAIN": 4},
                red_flags=(),
                chosen_priority=Priority.P2,
                disposition=Disposition.REFERRALS_CREATED,
                needs=tuple(NeedRequest(need) for need in needs),
                idempotency_key=idempotency_key,
            ),
            user=handler,
        )

    return submit


def drained(name: str) -> None:
    """Wait until a one-process worker has run every routing task queued before this call: a
    heartbeat task sent to the routing queue has run. The worker takes P1-P2 routing first and
    each queue first in, first out, so it reaches the heartbeat only when nothing is ahead."""
    heartbeat_task.apply_async((name,), queue=queue_name(ROUTING))
    wait_for(lambda: Heartbeat.objects.filter(name=name).exists(), timeout=30)
