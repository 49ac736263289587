from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from spoc.accounts.models import ApiToken
from tests.accounts.test_mfa import code_for
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db
URL = "/api/v1/auth/token/"


@pytest.fixture
def api():
    return APIClient()


def test_token_for_a_password_authenticates_api_requests(api, handler):
    response = api.post(URL, {"username": "handler1", "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    stored = ApiToken.objects.get(user=handler)
    assert token not in stored.key_hash  # only a hash is stored
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json() == {
        "username": "handler1",
        "display_name": handler.display_name(),
        "roles": ["Call handler"],
        "is_clinician": False,
    }


def test_wrong_password_is_refused_with_json(api, handler):
    response = api.post(URL, {"username": "handler1", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert "Unable to sign in" in response.json()["detail"]
    assert response.json()["code"] == "invalid_credentials"


def test_missing_fields_get_field_level_errors(api):
    response = api.post(URL, {}, format="json")
    assert response.status_code == 400
    assert {"username", "password"} <= set(response.json())


def test_token_expires_after_twelve_hours(api, handler):
    token = api.post(
        URL, {"username": "handler1", "password": TEST_PASSWORD}, format="json"
    ).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    with time_machine.travel(timezone.now() + timedelta(hours=12, minutes=1), tick=False):
        response = api.get("/api/v1/me/")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_production_requires_a_one_time_code(api, handler, settings):
    settings.MFA_REQUIRED = True
    no_device = api.post(URL, {"username": "handler1", "password": TEST_PASSWORD}, format="json")
    assert no_device.status_code == 400
    device = TOTPDevice.objects.create(user=handler, name="phone", confirmed=True)
    missing = api.post(URL, {"username": "handler1", "password": TEST_PASSWORD}, format="json")
    assert missing.status_code == 400
    assert "one-time code" in missing.json()["detail"]
    ok = api.post(
        URL,
        {"username": "handler1", "password": TEST_PASSWORD, "otp_token": code_for(device)},
        format="json",
    )
    assert ok.status_code == 200


def test_locked_out_user_gets_json_429(api, handler):
    for _ in range(5):
        api.post(URL, {"username": "handler1", "password": "nope"}, format="json")
    response = api.post(URL, {"username": "handler1", "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"


def test_unauthenticated_api_request_is_refused_with_json(api):
    response = api.get("/api/v1/me/")
    assert response.status_code in (401, 403)
    assert "detail" in response.json()


def test_a_session_without_its_second_factor_cannot_use_the_api(client, handler, settings):
    settings.MFA_REQUIRED = True
    client.post("/accounts/login/", {"username": "handler1", "password": TEST_PASSWORD})
    response = client.get("/api/v1/me/")
    assert response.status_code in (401, 403)
    TOTPDevice.objects.create(user=handler, name="phone", confirmed=True)
    assert client.get("/api/v1/me/").status_code in (401, 403)
    device = TOTPDevice.objects.get(user=handler)
    client.post("/accounts/mfa/verify/", {"token": code_for(device), "next": "/"})
    assert client.get("/api/v1/me/").status_code == 200
