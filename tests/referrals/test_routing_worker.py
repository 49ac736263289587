"""Routing through the real broker and a real worker process (docs/design.md §5, §11)."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone

from referrals.models import Referral, ReferralEvent
from referrals.services.enqueue import routing_task_send
from referrals.transitions import ReferralStatus
from services.codes import CapacityRag, Need, Priority, ServiceStatus, ServiceType
from services.hours import LONDON, Window
from services.services import capacity_report, closure_create, closure_delete
from tests.conftest import wait_for
from tests.factories import UserFactory
from tests.referrals.conftest import drained
from tests.referrals.factories import PatientFactory, member
from tests.services.directory_fixtures import make_service, service_edit

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


def test_one_worker_process_routes_on_every_directory_edit_committed_before_the_routing(
    submit_call, make_user, celery_worker_process
):
    # One worker process of concurrency 1: every routing below runs in the same pool process,
    # which keeps the directory between them (docs/routing.md "The directory kept in the routing
    # worker"). Each edit is committed before the next call is saved.
    community = make_service("Community Palliative Care", ServiceType.COMMUNITY_SPC, open_24_7=True)
    hah = make_service("Hospice at Home", ServiceType.HOSPICE_AT_HOME, open_24_7=True)
    make_service("SPOC Coordinators", ServiceType.SPOC, open_24_7=True, areas=())
    patient = PatientFactory(postcode="L9 7AL")
    editor = UserFactory()
    now = timezone.now()

    def routed_to() -> str:
        referral = submit_call(patient, Need.URGENT_HOME_VISIT).referrals[0]
        wait_for(
            lambda: Referral.objects.filter(pk=referral.pk, status=ReferralStatus.QUEUED).exists(),
            timeout=30,
        )
        team = Referral.objects.select_related("team").get(pk=referral.pk).team
        assert team is not None
        return team.name

    assert routed_to() == "Community Palliative Care team"
    # A closure, and its removal.
    closure = closure_create(
        service=community,
        user=editor,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
        reason="Staff training",
    )
    assert routed_to() == "Hospice at Home team"
    closure_delete(service=community, user=editor, closure_id=closure.pk)
    assert routed_to() == "Community Palliative Care team"
    # Opening hours: one hour, three days from now, long after the P2 deadline.
    weekday = (now.astimezone(LONDON).weekday() + 3) % 7
    service_edit(community, open_24_7=False, windows=[Window(weekday, time(10), time(11))])
    assert routed_to() == "Hospice at Home team"
    # Coverage: open again, but no longer in L9.
    service_edit(community, open_24_7=True, windows=[], areas=["L10"])
    assert routed_to() == "Hospice at Home team"
    service_edit(community, areas=["L9"])
    assert routed_to() == "Community Palliative Care team"
    # Capacity: RED with no units comes after any other eligible service.
    lead = member(make_user, community.team, "community-lead", lead=True)
    capacity_report(service=community, user=lead, rag=CapacityRag.RED, units=0)
    assert routed_to() == "Hospice at Home team"
    # Status, then a new service.
    service_edit(hah, status=ServiceStatus.INACTIVE)
    assert routed_to() == "Community Palliative Care team"
    make_service("A Night Service", ServiceType.NIGHT_SERVICE, open_24_7=True)
    assert routed_to() == "A Night Service team"
