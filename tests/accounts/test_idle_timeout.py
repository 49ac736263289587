from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from spoc.accounts.middleware import ACTIVITY_RECORD_SECONDS, LAST_ACTIVITY_KEY
from tests.clock import WEEKDAY_MORNING
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db

START = WEEKDAY_MORNING
TIMEOUT = 600


@pytest.fixture
def clock(client, handler, settings) -> Iterator[time_machine.Traveller]:
    """A signed-in session with a 10-minute idle timeout that loaded a page at START; the clock
    stands still until a test moves it."""
    settings.SESSION_IDLE_TIMEOUT_SECONDS = TIMEOUT
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(handler)
        assert client.get("/").status_code == 200
        yield traveller


def at(clock: time_machine.Traveller, seconds: int) -> None:
    clock.move_to(START + timedelta(seconds=seconds))


def session_writes(client, path: str = "/") -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return sum('UPDATE "django_session"' in q["sql"] for q in queries.captured_queries)


def test_idle_session_is_signed_out_with_a_message(client, clock):
    # The last request's time was recorded (the first of the session), so the timeout waits the
    # recording's minute more: TIMEOUT + ACTIVITY_RECORD_SECONDS.
    at(clock, TIMEOUT + ACTIVITY_RECORD_SECONDS)
    response = client.get("/", follow=True)
    assert response.redirect_chain[0][0] == "/accounts/login/?next=%2F"
    assert b"signed out after a period of inactivity" in response.content


def test_activity_extends_the_session(client, clock):
    at(clock, 500)
    assert client.get("/").status_code == 200
    at(clock, 1000)
    assert client.get("/").status_code == 200


def test_pages_within_a_minute_of_the_recorded_time_do_not_write_the_session(client, clock):
    at(clock, ACTIVITY_RECORD_SECONDS - 1)
    assert session_writes(client) == 0
    assert client.session[LAST_ACTIVITY_KEY] == int(START.timestamp())
    at(clock, ACTIVITY_RECORD_SECONDS)
    assert session_writes(client) == 1
    assert client.session[LAST_ACTIVITY_KEY] == int(START.timestamp()) + ACTIVITY_RECORD_SECONDS


def test_a_session_is_never_signed_out_before_the_timeout_after_its_last_page(client, clock):
    # The last page, 59 s after the recorded one, is not recorded itself...
    last = ACTIVITY_RECORD_SECONDS - 1
    at(clock, last)
    assert session_writes(client) == 0
    # ...yet the session lasts the whole timeout after it (polls do not extend it), and here
    # not a second more.
    at(clock, last + TIMEOUT)
    assert client.get("/", HTTP_X_SPOC_POLL="1").status_code == 200
    at(clock, last + TIMEOUT + 1)
    assert client.get("/", HTTP_X_SPOC_POLL="1").status_code == 401


def test_a_session_whose_last_page_was_recorded_ends_within_a_minute_of_the_timeout(client, clock):
    at(clock, TIMEOUT + ACTIVITY_RECORD_SECONDS - 1)
    assert client.get("/", HTTP_X_SPOC_POLL="1").status_code == 200
    at(clock, TIMEOUT + ACTIVITY_RECORD_SECONDS)
    assert client.get("/", HTTP_X_SPOC_POLL="1").status_code == 401


def test_queue_polls_do_not_extend_the_session(client, clock):
    at(clock, 500)
    assert client.get("/healthz/live", HTTP_X_SPOC_POLL="1").status_code == 200
    at(clock, 700)
    response = client.get("/", HTTP_X_SPOC_POLL="1")
    assert response.status_code == 401


def test_stay_signed_in_keeps_the_session_without_a_page_load(client, clock):
    at(clock, 550)
    response = client.post("/accounts/keepalive/")
    assert response.status_code == 200
    assert response.json() == {"idle_timeout_seconds": 600}
    at(clock, 1100)
    assert client.get("/").status_code == 200


def test_page_carries_the_idle_warning_settings(client, handler, settings):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 1800
    settings.SESSION_IDLE_WARNING_SECONDS = 180
    client.force_login(handler)
    content = client.get("/").content.decode()
    assert 'data-idle-timeout="1800"' in content
    assert 'data-idle-warning="180"' in content
    assert 'id="idle-warning"' in content


def test_the_idle_clock_starts_at_sign_in_so_the_first_pages_write_nothing(client, handler):
    with time_machine.travel(START, tick=False) as traveller:
        response = client.post(
            "/accounts/login/", {"username": "handler1", "password": TEST_PASSWORD}
        )
        assert response.status_code == 302
        assert client.session[LAST_ACTIVITY_KEY] == int(START.timestamp())
        traveller.move_to(START + timedelta(seconds=30))
        assert session_writes(client) == 0
