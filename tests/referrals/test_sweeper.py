from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from referrals.models import Referral
from referrals.services import enqueue
from referrals.services.sweeper import routing_sweep
from referrals.tasks import route_referral_task
from referrals.transitions import ReferralStatus
from services.codes import Priority, ServiceType
from spoc.core.models import Heartbeat
from spoc.core.queues import ROUTING, ROUTING_URGENT, queue_name
from tests.conftest import wait_for
from tests.referrals.factories import ReferralFactory
from tests.services.directory_fixtures import make_service

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_enqueued_marks() -> None:
    """The marks of earlier tests (the test settings' cache is this process's memory)."""
    cache.clear()


def aged(seconds: int, **fields):
    referral = ReferralFactory(**fields)
    Referral.objects.filter(pk=referral.pk).update(
        created_at=timezone.now() - timedelta(seconds=seconds),
        updated_at=timezone.now() - timedelta(seconds=seconds),
    )
    return referral


@pytest.fixture
def sent(monkeypatch) -> list[tuple[int, str]]:
    """The routing tasks published, as (referral id, queue); the broker is not reached."""
    published: list[tuple[int, str]] = []

    def apply_async(args: tuple[int], *, queue: str) -> None:
        published.append((args[0], queue))

    monkeypatch.setattr(route_referral_task, "apply_async", apply_async)
    return published


def test_sweeper_re_enqueues_only_referrals_waiting_over_a_minute(sent):
    old = aged(61)
    aged(30)
    aged(120, status=ReferralStatus.CANCELLED)
    assert routing_sweep() == 1
    assert [pk for pk, _ in sent] == [old.pk]


def test_sweeper_survives_a_broker_fault(monkeypatch):
    def fail(args: tuple[int], *, queue: str) -> None:
        raise BrokerError("redis down")

    monkeypatch.setattr(route_referral_task, "apply_async", fail)
    aged(61)
    assert routing_sweep() == 0


def test_sweeper_sends_p1_p2_first_to_the_urgent_routing_queue(sent):
    routine = aged(300, priority=Priority.P5)
    urgent = aged(61, priority=Priority.P1)
    soon = aged(90, priority=Priority.P2)
    assert routing_sweep() == 3
    assert sent == [
        (urgent.pk, queue_name(ROUTING_URGENT)),
        (soon.pk, queue_name(ROUTING_URGENT)),
        (routine.pk, queue_name(ROUTING)),
    ]


def test_the_sweeper_never_fans_out_a_referral_enqueued_lately(sent, settings):
    settings.ROUTING_REENQUEUE_AFTER_SECONDS = 300
    waiting = aged(61)
    assert routing_sweep() == 1
    # Still queued behind a backlog: the sweeps that follow add no copies.
    assert routing_sweep() == 0
    assert routing_sweep() == 0
    assert [pk for pk, _ in sent] == [waiting.pk]
    # Enqueued at commit, then left waiting past the sweep age: not sent again either.
    committed = aged(61)
    enqueue.routing_task_send(committed.pk, priority=committed.priority)
    assert routing_sweep() == 0
    # Once the mark has expired the referral is sent again (its task may have been lost).
    with time_machine.travel(timezone.now() + timedelta(seconds=301)):
        assert routing_sweep() == 2
    assert [pk for pk, _ in sent] == [waiting.pk, committed.pk, waiting.pk, committed.pk]


def test_a_cache_that_cannot_be_read_enqueues_rather_than_skips(sent, monkeypatch):
    def unreachable(*args: object, **kwargs: object) -> None:
        raise ConnectionError("cache down")

    monkeypatch.setattr(enqueue.cache, "get_many", unreachable)
    monkeypatch.setattr(enqueue.cache, "set_many", unreachable)
    waiting = aged(61)
    assert routing_sweep() == 1
    assert routing_sweep() == 1
    assert [pk for pk, _ in sent] == [waiting.pk, waiting.pk]


def test_queued_sweeps_expire_before_the_next_one_is_due():
    from spoc.celery import app

    job = app.conf.beat_schedule["sweep-routing"]
    assert job["options"]["expires"] < job["schedule"]


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
