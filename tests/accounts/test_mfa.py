from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from spoc.accounts.roles import Role
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def test_production_sends_a_user_without_a_device_to_enrol(client, handler, settings):
    settings.MFA_REQUIRED = True
    client.post(reverse("login"), {"username": "handler1", "password": TEST_PASSWORD})
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa-enrol")


def test_enrolment_confirms_with_a_code_and_opens_the_hub(client, handler, settings):
    settings.MFA_REQUIRED = True
    client.force_login(handler)
    assert b"Start set-up" in client.get(reverse("mfa-enrol")).content
    assert not TOTPDevice.objects.filter(user=handler).exists()  # nothing changes on GET
    page = client.post(reverse("mfa-enrol"), {"start": "1"}, follow=True)
    assert b"<svg" in page.content
    device = TOTPDevice.objects.get(user=handler, confirmed=False)
    wrong = client.post(
        reverse("mfa-enrol"), {"token": "000000" if code_for(device) != "000000" else "111111"}
    )
    assert b"That code did not match" in wrong.content
    # django-otp throttles a device after a wrong code; try again once the pause is over.
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        response = client.post(reverse("mfa-enrol"), {"token": code_for(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/").status_code == 200


def test_a_user_with_a_device_must_enter_a_code_after_the_password(client, handler):
    device = TOTPDevice.objects.create(user=handler, name="phone", confirmed=True)
    client.post(reverse("login"), {"username": "handler1", "password": TEST_PASSWORD})
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa-verify"))
    bad = client.post(reverse("mfa-verify"), {"token": "12ab"})
    assert b"Enter the 6-digit code" in bad.content
    response = client.post(reverse("mfa-verify"), {"token": code_for(device), "next": "/"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_verify_never_redirects_off_site(client, handler):
    device = TOTPDevice.objects.create(user=handler, name="phone", confirmed=True)
    client.force_login(handler)
    response = client.post(
        reverse("mfa-verify"), {"token": code_for(device), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_mfa_is_optional_outside_production(client, make_user):
    user = make_user(Role.MANAGER)
    client.force_login(user)
    assert client.get("/").status_code == 200
