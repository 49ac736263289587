"""Password policy to OWASP ASVS 5.0 level 2, V6.2 (docs/security.md)."""

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from devtools.demo.users import seed_users
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def change(client, new):
    return client.post(
        reverse("password_change"),
        {"old_password": TEST_PASSWORD, "new_password1": new, "new_password2": new},
    )


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("tidal-42-ok", b"at least 12 characters"),  # 11 characters
        ("password1234", b"too common"),
        ("qwertyuiop12", b"too common"),
    ],
)
def test_short_or_common_passwords_are_refused(client, handler, password, message):
    client.force_login(handler)
    response = change(client, password)
    assert response.status_code == 200
    assert message in response.content
    handler.refresh_from_db()
    assert handler.check_password(TEST_PASSWORD)


@pytest.mark.parametrize(
    "password",
    [
        "tidal-42-okk",  # 12 characters
        "730194628501",  # digits only: no rule on which characters (ASVS 6.2.5)
        "a" * 3 + "-river-stone-lantern-" * 3 + "x" * 4,  # 70 characters
        "ümlaut ünd späces, ok? " * 5 + "🙂",  # 116 characters, any Unicode
    ],
)
def test_long_and_any_composition_passwords_work_everywhere(client, handler, password):
    client.force_login(handler)
    assert change(client, password).status_code == 302
    fresh = Client()
    assert (
        fresh.post(reverse("login"), {"username": "handler1", "password": password}).status_code
        == 302
    )
    api = APIClient().post(
        "/api/v1/auth/token/", {"username": "handler1", "password": password}, format="json"
    )
    assert api.status_code == 200


def test_a_password_is_not_truncated(client, handler):
    long = "correct horse battery staple " * 3  # 87 characters
    client.force_login(handler)
    assert change(client, long).status_code == 302
    assert (
        Client().post(reverse("login"), {"username": "handler1", "password": long[:64]}).status_code
        == 200
    )


def test_the_demo_password_passes_the_policy_and_signs_the_demo_users_in(client):
    validate_password(settings.DEMO_PASSWORD)
    seed_users(password=settings.DEMO_PASSWORD)
    response = client.post(
        reverse("login"), {"username": "nurse", "password": settings.DEMO_PASSWORD}
    )
    assert response.status_code == 302


def test_the_old_demo_password_is_too_short():
    with pytest.raises(ValidationError):
        validate_password("spoc-demo")
