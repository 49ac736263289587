from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from spoc.accounts.roles import Role
from spoc.core.models import Heartbeat
from spoc.core.pipeline import canary_mark
from spoc.core.queues import QUEUES
from spoc.core.tasks import heartbeat_task
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db


def monitor() -> dict[str, str]:
    """The header a monitoring system sends to read every check."""
    return {"HTTP_AUTHORIZATION": f"Bearer {django_settings.HEALTHZ_TOKEN}"}


def pipeline_running() -> None:
    """Beat has scheduled the canaries and a worker has consumed each, just now."""
    now = timezone.now()
    for name in ("beat", *(canary_mark(queue) for queue in QUEUES)):
        Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": now})


def test_healthz_is_503_without_a_worker_heartbeat(client):
    response = client.get("/healthz", **monitor())
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert body["worker"] == {"ok": False, "error": "no heartbeat yet"}


def test_healthz_is_503_when_the_worker_heartbeat_is_stale(client, settings):
    settings.WORKER_HEARTBEAT_STALE_SECONDS = 30
    Heartbeat.objects.create(name="worker", beat_at=timezone.now() - timedelta(seconds=31))
    body = client.get("/healthz", **monitor()).json()
    assert body["worker"]["ok"] is False


def test_healthz_is_503_when_the_broker_is_down(client, settings):
    from spoc.celery import app

    Heartbeat.objects.create(name="worker", beat_at=timezone.now())
    original = app.conf.broker_url
    # Item assignment: the stubs type conf.broker_url as read-only, Celery sets the key either way.
    app.conf["broker_url"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/healthz", **monitor())
    finally:
        app.conf["broker_url"] = original
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False


def test_liveness_only_says_the_web_process_answers(client):
    assert client.get("/healthz/live").json() == {"status": "ok"}


@pytest.mark.worker
def test_real_worker_round_trips_a_task_and_healthz_follows_it(
    client, celery_worker_process, settings
):
    heartbeat_task.delay("roundtrip")
    wait_for(lambda: Heartbeat.objects.filter(name="roundtrip").exists(), timeout=30)
    pipeline_running()  # no beat here: its marks stand in for it
    wait_for(lambda: client.get("/healthz").status_code == 200, timeout=30)
    # Stop the worker: its heartbeat goes stale and /healthz says so.
    celery_worker_process.terminate()
    celery_worker_process.wait(timeout=20)
    settings.WORKER_HEARTBEAT_STALE_SECONDS = 2
    response = wait_for(
        lambda: (r := client.get("/healthz", **monitor())).status_code == 503 and r, timeout=15
    )
    assert response.json()["worker"]["ok"] is False


# --- Who sees the detail -----------------------------------------------------------------------


def test_a_stranger_gets_the_status_only_with_the_same_http_status(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "fail"}
    Heartbeat.objects.create(name="worker", beat_at=timezone.now())
    pipeline_running()
    healthy = client.get("/healthz")
    assert healthy.status_code == 200
    assert healthy.json() == {"status": "ok"}
    assert "no-store" in healthy["Cache-Control"]


def test_the_monitoring_token_shows_every_check(client):
    Heartbeat.objects.create(name="worker", beat_at=timezone.now())
    pipeline_running()
    body = client.get("/healthz", **monitor()).json()
    assert body["status"] == "ok"
    assert {"database", "broker", "worker", "canary", "beat", "routing", "escalation"} <= set(body)
    assert body["worker"]["age_seconds"] >= 0


@pytest.mark.parametrize(
    "header",
    [
        "Bearer wrong-token",
        "Bearer test-healthz-token-and-more",
        "Token test-healthz-token",
        "test-healthz-token",
        "Bearer ",
    ],
)
def test_a_wrong_or_malformed_token_gets_the_status_only(client, header):
    response = client.get("/healthz", HTTP_AUTHORIZATION=header)
    assert response.json() == {"status": "fail"}


def test_no_token_is_accepted_while_none_is_configured(client, settings):
    settings.HEALTHZ_TOKEN = ""
    assert client.get("/healthz", HTTP_AUTHORIZATION="Bearer ").json() == {"status": "fail"}
    assert client.get("/healthz", HTTP_AUTHORIZATION="Bearer  ").json() == {"status": "fail"}


def test_a_signed_in_system_admin_or_superuser_sees_every_check(client, make_user):
    client.force_login(make_user(Role.SYSTEM_ADMIN, username="sysadmin"))
    assert client.get("/healthz").json()["worker"] == {"ok": False, "error": "no heartbeat yet"}
    client.force_login(make_user(username="root", is_superuser=True))
    assert "worker" in client.get("/healthz").json()


@pytest.mark.parametrize("role", [role for role in Role if role != Role.SYSTEM_ADMIN])
def test_other_roles_get_the_status_only(client, make_user, role):
    client.force_login(make_user(role, username="staff"))
    assert client.get("/healthz").json() == {"status": "fail"}


def test_a_system_admin_who_has_not_passed_the_second_factor_gets_the_status_only(
    client, make_user, settings
):
    admin = make_user(Role.SYSTEM_ADMIN, username="sysadmin")
    TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    client.force_login(admin)  # the password only: /healthz is outside the two-factor middleware
    assert client.get("/healthz").json() == {"status": "fail"}
    TOTPDevice.objects.filter(user=admin).delete()
    settings.MFA_REQUIRED = True
    assert client.get("/healthz").json() == {"status": "fail"}
