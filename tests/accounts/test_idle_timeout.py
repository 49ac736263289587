from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

pytestmark = pytest.mark.django_db


def test_idle_session_is_signed_out_with_a_message(client, handler, settings):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 600
    client.force_login(handler)
    assert client.get("/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=601), tick=False):
        response = client.get("/", follow=True)
    assert response.redirect_chain[0][0] == "/accounts/login/?next=%2F"
    assert b"signed out after a period of inactivity" in response.content


@pytest.fixture
def start(client, handler, settings):
    """When a signed-in session with a 10-minute idle timeout last loaded a page: now."""
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 600
    client.force_login(handler)
    loaded = timezone.now()
    client.get("/")
    return loaded


def test_activity_extends_the_session(client, start):
    with time_machine.travel(start + timedelta(seconds=500), tick=False):
        assert client.get("/").status_code == 200
    with time_machine.travel(start + timedelta(seconds=1000), tick=False):
        assert client.get("/").status_code == 200


def test_queue_polls_do_not_extend_the_session(client, start):
    with time_machine.travel(start + timedelta(seconds=500), tick=False):
        assert client.get("/healthz/live", HTTP_X_SPOC_POLL="1").status_code == 200
    with time_machine.travel(start + timedelta(seconds=700), tick=False):
        response = client.get("/", HTTP_X_SPOC_POLL="1")
    assert response.status_code == 401


def test_stay_signed_in_keeps_the_session_without_a_page_load(client, start):
    with time_machine.travel(start + timedelta(seconds=550), tick=False):
        response = client.post("/accounts/keepalive/")
        assert response.status_code == 200
        assert response.json() == {"idle_timeout_seconds": 600}
    with time_machine.travel(start + timedelta(seconds=1100), tick=False):
        assert client.get("/").status_code == 200


def test_page_carries_the_idle_warning_settings(client, handler, settings):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 1800
    settings.SESSION_IDLE_WARNING_SECONDS = 180
    client.force_login(handler)
    content = client.get("/").content.decode()
    assert 'data-idle-timeout="1800"' in content
    assert 'data-idle-warning="180"' in content
    assert 'id="idle-warning"' in content
