"""Routing through the real broker and a real worker process (docs/design.md §5, §11)."""

from __future__ import annotations

import pytest

from referrals.models import Referral, ReferralEvent
from referrals.services.enqueue import routing_task_send
from referrals.transitions import ReferralStatus
from services.codes import Need, Priority, ServiceType
from tests.conftest import wait_for
from tests.referrals.conftest import drained
from tests.referrals.factories import PatientFactory
from tests.services.directory_fixtures import make_service

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_submitted_calls_referrals_reach_their_team_queues_exactly_once(
    submit_call, celery_worker_process
):
    # Open around the clock, so the answer does not depend on when the test runs.
    community = make_service("Community Palliative Care", ServiceType.COMMUNITY_SPC, open_24_7=True)
    carers = make_service("Carers Centre", ServiceType.CARER_SUPPORT, open_24_7=True)
    make_service("SPOC Coordinators", ServiceType.SPOC, open_24_7=True, areas=())
    patient = PatientFactory(postcode="L9 7AL")

    result = submit_call(
        patient, Need.URGENT_HOME_VISIT, Need.CARER_SUPPORT, idempotency_key="worker-test"
    )
    ids = [r.pk for r in result.referrals]

    def all_queued() -> bool:
        return Referral.objects.filter(pk__in=ids, status=ReferralStatus.QUEUED).count() == 2

    wait_for(all_queued, timeout=30)
    teams = dict(Referral.objects.filter(pk__in=ids).values_list("need", "team_id"))
    assert teams == {Need.URGENT_HOME_VISIT: community.team.pk, Need.CARER_SUPPORT: carers.team.pk}

    # A second delivery of the same task is harmless. The heartbeat queued after it shows that the
    # one-process worker has taken the redelivery off its queue before we count.
    routing_task_send(ids[0], priority=Priority.P2)
    drained("after-redelivery")
    assert (
        ReferralEvent.objects.filter(referral_id=ids[0], kind=ReferralEvent.Kind.ROUTED).count()
        == 1
    )
    assert Referral.objects.get(pk=ids[0]).routing_attempt == 1
