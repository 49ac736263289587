from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from referrals.models import Referral
from referrals.services import sweeper
from referrals.services.sweeper import routing_sweep
from referrals.transitions import ReferralStatus
from services.codes import ServiceType
from spoc.core.models import Heartbeat
from tests.conftest import wait_for
from tests.referrals.factories import ReferralFactory
from tests.services.directory_fixtures import make_service

pytestmark = pytest.mark.django_db


def aged(seconds: int, **fields):
    referral = ReferralFactory(**fields)
    Referral.objects.filter(pk=referral.pk).update(
        created_at=timezone.now() - timedelta(seconds=seconds),
        updated_at=timezone.now() - timedelta(seconds=seconds),
    )
    return referral


def test_sweeper_re_enqueues_only_referrals_waiting_over_a_minute(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(sweeper.route_referral_task, "delay", sent.append)
    old = aged(61)
    aged(30)
    aged(120, status=ReferralStatus.CANCELLED)
    assert routing_sweep() == 1
    assert sent == [old.pk]


def test_sweeper_survives_a_broker_fault(monkeypatch):
    def fail(referral_id: int) -> None:
        raise BrokerError("redis down")

    monkeypatch.setattr(sweeper.route_referral_task, "delay", fail)
    aged(61)
    assert routing_sweep() == 0


def test_healthz_reports_referrals_waiting_over_five_minutes(client):
    Heartbeat.objects.create(name="worker", beat_at=timezone.now())
    aged(120)
    assert (
        client.get("/healthz", HTTP_AUTHORIZATION=f"Bearer {settings.HEALTHZ_TOKEN}").json()[
            "routing"
        ]["ok"]
        is True
    )
    waiting = aged(301)
    body = client.get("/healthz", HTTP_AUTHORIZATION=f"Bearer {settings.HEALTHZ_TOKEN}")
    assert body.status_code == 503
    assert body.json()["routing"]["waiting_over_alert_age"] == 1
    assert body.json()["routing"]["oldest_waiting_since"].startswith(
        Referral.objects.get(pk=waiting.pk).updated_at.isoformat()[:16]
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_sweeper_recovers_a_referral_whose_task_was_lost(celery_worker_process):
    make_service(
        "Community Palliative Care", ServiceType.COMMUNITY_SPC, open_24_7=True, areas=("L9",)
    )
    make_service("SPOC Coordination", ServiceType.SPOC, open_24_7=True, areas=())
    # Saved, but its routing task never reached the broker.
    lost = aged(90)
    assert routing_sweep() == 1
    wait_for(lambda: Referral.objects.get(pk=lost.pk).status == ReferralStatus.QUEUED, timeout=30)
    team = Referral.objects.get(pk=lost.pk).team
    assert team is not None and team.name == "Community Palliative Care team"
