from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def login(client, username, password):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR="10.1.2.3"
    )


def test_login_lands_on_home_and_logs_it(client, handler):
    response = login(client, "handler1", TEST_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    row = AccessLog.objects.get(action=AccessLog.Action.LOGIN)
    assert row.user == handler
    assert row.client_ip == "10.1.2.3"


def test_wrong_password_shows_a_clear_message_and_logs_a_failed_login(client, handler):
    response = login(client, "handler1", "wrong")
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    row = AccessLog.objects.get(action=AccessLog.Action.LOGIN_FAILED)
    assert row.username == "handler1"
    assert row.user is None
    assert row.client_ip == "10.1.2.3"


def test_logout_is_a_post_and_is_logged(client, handler):
    client.force_login(handler)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert AccessLog.objects.filter(action=AccessLog.Action.LOGOUT, user=handler).exists()
    assert client.get("/").status_code == 302


def test_five_failures_lock_the_user_out_from_that_address_only(client, handler):
    for _ in range(5):
        login(client, "handler1", "wrong")
    response = login(client, "handler1", TEST_PASSWORD)
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content
    # The same user from another computer is not locked out: an attacker cannot lock a
    # clinician out of the hub for good.
    other = Client()
    response = other.post(
        reverse("login"),
        {"username": "handler1", "password": TEST_PASSWORD},
        REMOTE_ADDR="10.9.9.9",
    )
    assert response.status_code == 302


def test_lock_out_ends_after_the_cool_off(client, handler):
    for _ in range(5):
        login(client, "handler1", "wrong")
    assert login(client, "handler1", TEST_PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        assert login(client, "handler1", TEST_PASSWORD).status_code == 302


def test_csrf_failure_gets_a_clear_page():
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert b"Your form has expired" in response.content


def test_password_change(client, make_user):
    user = make_user(Role.SPECIALIST_NURSE, username="nurse1")
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "a-much-longer-passphrase-42",
            "new_password2": "a-much-longer-passphrase-42",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-much-longer-passphrase-42")


def test_home_page_for_an_expired_session_redirects_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
