from datetime import timedelta

import pytest
from django.utils import timezone

from spoc.core.models import Heartbeat
from spoc.core.tasks import heartbeat_task
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db


def test_healthz_is_503_without_a_worker_heartbeat(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert body["worker"] == {"ok": False, "error": "no heartbeat yet"}


def test_healthz_is_503_when_the_worker_heartbeat_is_stale(client, settings):
    settings.WORKER_HEARTBEAT_STALE_SECONDS = 30
    Heartbeat.objects.create(name="worker", beat_at=timezone.now() - timedelta(seconds=31))
    body = client.get("/healthz").json()
    assert body["worker"]["ok"] is False


def test_healthz_is_503_when_the_broker_is_down(client, settings):
    from spoc.celery import app

    Heartbeat.objects.create(name="worker", beat_at=timezone.now())
    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False


def test_liveness_only_says_the_web_process_answers(client):
    assert client.get("/healthz/live").json() == {"status": "ok"}


@pytest.mark.worker
def test_real_worker_round_trips_a_task_and_healthz_follows_it(client, celery_worker_process, settings):
    heartbeat_task.delay("roundtrip")
    wait_for(lambda: Heartbeat.objects.filter(name="roundtrip").exists(), timeout=30)
    wait_for(lambda: client.get("/healthz").status_code == 200, timeout=30)
    # Stop the worker: its heartbeat goes stale and /healthz says so.
    celery_worker_process.terminate()
    celery_worker_process.wait(timeout=20)
    settings.WORKER_HEARTBEAT_STALE_SECONDS = 2
    response = wait_for(lambda: (r := client.get("/healthz")).status_code == 503 and r, timeout=15)
    assert response.json()["worker"]["ok"] is False
