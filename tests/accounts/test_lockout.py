"""Lock-out and password spraying (docs/security.md, "Passwords, lock-out and spraying")."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import TEST_PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
TOKEN_URL = "/api/v1/auth/token/"
SPRAYER = "10.20.30.40"
SPRAYED_PASSWORD = "Winter2026!spring"


def sign_in(username, password, address=SPRAYER):
    return Client().post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def token(username, password, address=SPRAYER):
    return APIClient().post(
        TOKEN_URL, {"username": username, "password": password}, format="json", REMOTE_ADDR=address
    )


# Each way in, with its answer to a wrong password (a 400 from the token endpoint, the form again
# from the page) and to the right one.
WAYS_IN = [pytest.param(token, 400, 200, id="token"), pytest.param(sign_in, 200, 302, id="sign-in")]


@pytest.mark.parametrize(("attempt", "refused", "accepted"), WAYS_IN)
def test_a_success_resets_the_failure_count_of_that_user(handler, attempt, refused, accepted):
    for _ in range(4):
        assert attempt("handler1", "wrong").status_code == refused
    assert attempt("handler1", TEST_PASSWORD).status_code == accepted
    for _ in range(4):
        assert attempt("handler1", "wrong").status_code == refused
    # Without the reset, this would be the ninth failure in a row and refused.
    assert attempt("handler1", TEST_PASSWORD).status_code == accepted


def test_the_token_endpoint_and_the_sign_in_page_share_one_count(handler):
    for _ in range(3):
        token("handler1", "wrong")
    for _ in range(2):
        sign_in("handler1", "wrong")
    assert token("handler1", TEST_PASSWORD).status_code == 429
    assert sign_in("handler1", TEST_PASSWORD).status_code == 429


def test_spraying_one_password_at_many_usernames_from_one_address_is_stopped(settings):
    """Thirty accounts, one password each, from one address: once the address has
    AXES_ADDRESS_FAILURE_LIMIT (20) failures, every username from it waits for the cool-off,
    even one whose password is right, while the same user elsewhere signs in."""
    users = [UserFactory(username=f"staff{n:02d}") for n in range(30)]
    statuses = [sign_in(user.username, SPRAYED_PASSWORD).status_code for user in users]
    limit = settings.AXES_ADDRESS_FAILURE_LIMIT
    assert limit == 20
    assert statuses[: limit - 1] == [200] * (limit - 1)  # each a plain wrong password
    assert statuses[limit - 1 :] == [429] * (30 - limit + 1)
    locked = sign_in("staff29", TEST_PASSWORD)
    assert locked.status_code == 429
    assert b"from this computer" in locked.content
    assert token("staff29", TEST_PASSWORD).json()["code"] == "locked_out"
    # Another address is unaffected, for the same accounts.
    assert sign_in("staff29", TEST_PASSWORD, address="10.99.0.7").status_code == 302
    assert token("staff00", TEST_PASSWORD, address="10.99.0.7").status_code == 200
    # The pause ends after the cool-off: never a permanent lock-out.
    with time_machine.travel(
        timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(minutes=1), tick=False
    ):
        assert sign_in("staff29", TEST_PASSWORD).status_code == 302


def test_spraying_through_the_token_endpoint_is_stopped_too():
    users = [UserFactory(username=f"staff{n:02d}") for n in range(21)]
    statuses = [token(user.username, SPRAYED_PASSWORD).status_code for user in users]
    assert statuses[:19] == [400] * 19
    assert statuses[19:] == [429, 429]


def test_a_success_does_not_reset_the_address_count_of_other_usernames(handler):
    for n in range(19):
        sign_in(f"nobody{n:02d}", SPRAYED_PASSWORD)
    assert sign_in("handler1", TEST_PASSWORD).status_code == 302
    assert sign_in("nobody19", SPRAYED_PASSWORD).status_code == 429


def test_one_user_failing_five_times_does_not_lock_the_address(handler, make_user):
    make_user(username="colleague")
    for _ in range(5):
        sign_in("handler1", "wrong")
    assert sign_in("handler1", TEST_PASSWORD).status_code == 429
    assert sign_in("colleague", TEST_PASSWORD).status_code == 302
