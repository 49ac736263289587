"""Passwords as every mode but the tests stores them: the hasher list of spoc/settings/base.py
(the test settings keep a fast one), Argon2id first, PBKDF2 after it for the hashes written
before."""

from collections.abc import Callable

import pytest
from argon2 import Type, extract_parameters
from django.contrib.auth.hashers import (
    Argon2PasswordHasher,
    BasePasswordHasher,
    identify_hasher,
    make_password,
)
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from spoc.accounts.hashers import OwaspArgon2PasswordHasher
from spoc.accounts.models import User
from spoc.accounts.roles import Role
from spoc.settings import base
from tests.accounts.test_mfa import code_for
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db

# OWASP Password Storage Cheat Sheet, "Argon2id": 19 MiB, 2 passes, 1 lane.
OWASP_ARGON2 = "argon2$argon2id$v=19$m=19456,t=2,p=1$"


@pytest.fixture(autouse=True)
def _production_hashers(settings) -> None:
    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS


@pytest.fixture
def user_stored_as(make_user: Callable[..., User]) -> Callable[[str | BasePasswordHasher], User]:
    """A call handler whose password TEST_PASSWORD is stored by that hasher (or the listed hasher
    of that algorithm)."""

    def make(hasher: str | BasePasswordHasher) -> User:
        user = make_user(Role.CALL_HANDLER, username="handler1")
        user.password = make_password(TEST_PASSWORD, hasher=hasher)
        user.save(update_fields=["password"])
        return user

    return make


def sign_in(client: Client, password: str = TEST_PASSWORD):
    return client.post(reverse("login"), {"username": "handler1", "password": password})


def test_new_passwords_are_argon2id_at_owasps_cost():
    stored = make_password(TEST_PASSWORD)
    assert stored.startswith(OWASP_ARGON2)
    assert isinstance(identify_hasher(stored), OwaspArgon2PasswordHasher)
    parameters = extract_parameters(stored.removeprefix("argon2"))
    assert (parameters.type, parameters.memory_cost, parameters.time_cost) == (Type.ID, 19456, 2)
    assert parameters.parallelism == 1


def test_pbkdf2_stays_after_argon2_so_old_hashes_still_check():
    assert base.PASSWORD_HASHERS[0] == "spoc.accounts.hashers.OwaspArgon2PasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in base.PASSWORD_HASHERS[1:]


def test_a_pbkdf2_user_signs_in_and_is_then_stored_as_argon2(user_stored_as):
    user = user_stored_as("pbkdf2_sha256")
    assert user.password.startswith("pbkdf2_sha256$")
    response = sign_in(Client())
    assert response.status_code == 302
    assert response["Location"] == "/"
    user.refresh_from_db()
    assert user.password.startswith(OWASP_ARGON2)
    # And the new hash signs them in next time.
    assert sign_in(Client()).status_code == 302


def test_a_wrong_password_leaves_the_old_hash_alone(user_stored_as):
    user = user_stored_as("pbkdf2_sha256")
    before = user.password
    assert sign_in(Client(), password="not-the-password").status_code == 200
    user.refresh_from_db()
    assert user.password == before


def test_an_argon2_hash_of_other_parameters_is_rehashed_at_sign_in(user_stored_as):
    # Django's own Argon2 defaults (100 MiB, 8 lanes): the same algorithm name, another cost.
    user = user_stored_as(Argon2PasswordHasher())
    assert f"p={Argon2PasswordHasher.parallelism}$" in user.password
    assert sign_in(Client()).status_code == 302
    user.refresh_from_db()
    assert user.password.startswith(OWASP_ARGON2)


def test_a_pbkdf2_user_with_an_authenticator_signs_in_with_the_code(user_stored_as):
    user = user_stored_as("pbkdf2_sha256")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    assert sign_in(client).status_code == 302
    response = client.get("/")
    assert response["Location"].startswith(reverse("mfa-verify"))
    response = client.post(reverse("mfa-verify"), {"token": code_for(device), "next": "/"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    user.refresh_from_db()
    assert user.password.startswith(OWASP_ARGON2)
