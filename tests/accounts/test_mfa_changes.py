"""Two-factor authentication cannot be replaced with a password (docs/security.md)."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from spoc.accounts.models import ApiToken
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from tests.accounts.test_mfa import code_for
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db
ENROL = "/accounts/mfa/enrol/"


def sign_in(client, username="handler1"):
    response = client.post(reverse("login"), {"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return response


def verify(client, device):
    response = client.post(reverse("mfa-verify"), {"token": code_for(device), "next": "/"})
    assert response.status_code == 302


def a_code_other_than(device):
    return "000000" if code_for(device) != "000000" else "111111"


def test_a_password_alone_cannot_replace_the_authenticator(client, handler):
    """The takeover: someone with the password but not the phone signs in, starts set-up, reads
    the new secret and confirms it. Every step is refused and the device survives."""
    device = TOTPDevice.objects.create(user=handler, name="phone", confirmed=True)
    sign_in(client)

    start = client.post(ENROL, {"start": "1"})
    assert start.status_code == 403
    assert not TOTPDevice.objects.filter(user=handler, confirmed=False).exists()
    page = client.get(ENROL)
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("mfa-verify"))

    # A pending device the attacker could have read (made some other way) cannot be confirmed
    # by this session either.
    pending = TOTPDevice.objects.create(user=handler, name="attacker", confirmed=False)
    confirm = client.post(ENROL, {"token": code_for(pending)})
    assert confirm.status_code == 403

    assert list(TOTPDevice.objects.filter(user=handler, confirmed=True)) == [device]
    pending.refresh_from_db()
    assert not pending.confirmed
    assert client.get("/").status_code == 302  # still asked for a code from the real device
    assert not AccessLog.objects.filter(action=AccessLog.Action.MFA_ENROL).exists()


def test_a_session_verified_with_the_current_device_may_replace_it(client, handler):
    old = TOTPDevice.objects.create(user=handler, name="old phone", confirmed=True)
    sign_in(client)
    verify(client, old)
    assert client.post(ENROL, {"start": "1"}).status_code == 302
    new = TOTPDevice.objects.get(user=handler, confirmed=False)
    assert b"This replaces your current authenticator" in client.get(ENROL).content
    response = client.post(ENROL, {"token": code_for(new)})
    assert response.status_code == 302
    assert list(TOTPDevice.objects.filter(user=handler)) == [new]
    new.refresh_from_db()
    assert new.confirmed
    removal = AccessLog.objects.get(action=AccessLog.Action.MFA_REMOVE)
    assert (removal.user, removal.object_id) == (handler, str(handler.pk))
    enrolment = AccessLog.objects.get(action=AccessLog.Action.MFA_ENROL)
    assert (enrolment.user, enrolment.detail["replaced"]) == (handler, 1)
    assert client.get("/").status_code == 200


def test_first_enrolment_is_allowed_with_a_password_and_logged(client, handler):
    sign_in(client)
    client.post(ENROL, {"start": "1"})
    device = TOTPDevice.objects.get(user=handler, confirmed=False)
    assert client.post(ENROL, {"token": code_for(device)}).status_code == 302
    row = AccessLog.objects.get(action=AccessLog.Action.MFA_ENROL)
    assert (row.user, row.object_type, row.object_id, row.detail["replaced"]) == (
        handler,
        "user",
        str(handler.pk),
        0,
    )


def test_a_pending_device_belongs_to_the_session_that_started_it(handler):
    """Someone with the password of an account without a device starts set-up and reads the
    secret; the owner's own set-up must not reuse that secret."""
    attacker, owner = Client(), Client()
    sign_in(attacker)
    attacker.post(ENROL, {"start": "1"})
    read_by_attacker = TOTPDevice.objects.get(user=handler, confirmed=False)

    sign_in(owner)
    assert b"Start set-up" in owner.get(ENROL).content  # the attacker's set-up is not shown
    owner.post(ENROL, {"start": "1"})
    owners = TOTPDevice.objects.get(user=handler, confirmed=False)
    assert owners.pk != read_by_attacker.pk
    assert owners.key != read_by_attacker.key
    # The attacker's session can no longer confirm its device: it is gone.
    assert attacker.post(ENROL, {"token": code_for(read_by_attacker)}).status_code == 200
    assert not TOTPDevice.objects.filter(user=handler, confirmed=True).exists()


def test_reloading_the_enrolment_page_keeps_the_secret(client, handler):
    sign_in(client)
    client.post(ENROL, {"start": "1"})
    first = client.get(ENROL).context["secret"]
    client.post(ENROL, {"start": "1"})
    assert client.get(ENROL).context["secret"] == first
    assert TOTPDevice.objects.filter(user=handler).count() == 1


# --- The system admin's reset ---------------------------------------------------------------


@pytest.fixture
def sysadmin(make_user):
    return make_user(Role.SYSTEM_ADMIN, username="sysadmin1", is_staff=True)


def reset_url(user):
    return reverse("mfa-reset", kwargs={"user_id": user.pk})


def test_only_a_system_admin_may_open_the_reset_page(client, handler, make_user):
    assert client.get(reset_url(handler))["Location"].startswith(reverse("login"))
    lead = make_user(Role.TEAM_LEAD, username="lead1")
    client.force_login(lead)
    assert client.get(reset_url(handler)).status_code == 403
    assert client.post(reset_url(handler), {"reason": "lost phone"}).status_code == 403
    client.force_login(handler)  # nor the user themselves
    assert client.post(reset_url(handler), {"reason": "lost phone"}).status_code == 403


def test_the_reset_page_changes_nothing_on_get_and_needs_a_reason(client, handler, sysadmin):
    TOTPDevice.objects.create(user=handler, name="phone", confirmed=True)
    client.force_login(sysadmin)
    page = client.get(reset_url(handler))
    assert page.status_code == 200
    assert b"Reason for the reset" in page.content
    blank = client.post(reset_url(handler), {"reason": "   "})
    assert blank.status_code == 200
    assert b"Enter the reason for the reset" in blank.content
    assert TOTPDevice.objects.filter(user=handler).exists()
    assert not AccessLog.objects.filter(action=AccessLog.Action.MFA_RESET).exists()


def test_reset_removes_the_devices_ends_sessions_and_tokens_and_forces_enrolment(
    client, handler, sysadmin
):
    device = TOTPDevice.objects.create(user=handler, name="phone", confirmed=True)
    api = APIClient()
    token = api.post(
        "/api/v1/auth/token/",
        {"username": "handler1", "password": TEST_PASSWORD, "otp_token": code_for(device)},
        format="json",
    ).json()["token"]
    users_browser = Client()
    sign_in(users_browser)
    with time_machine.travel(timezone.now() + timedelta(seconds=40)):  # the next TOTP step
        verify(users_browser, device)
    assert users_browser.get("/").status_code == 200

    client.force_login(sysadmin)
    response = client.post(reset_url(handler), {"reason": "Phone lost; identity checked by phone"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=handler).exists()
    assert not ApiToken.objects.filter(user=handler).exists()
    row = AccessLog.objects.get(action=AccessLog.Action.MFA_RESET)
    assert (row.user, row.object_id, row.reason) == (
        sysadmin,
        str(handler.pk),
        "Phone lost; identity checked by phone",
    )
    assert AccessLog.objects.filter(
        action=AccessLog.Action.CREDENTIALS_REVOKED, object_id=str(handler.pk)
    ).exists()

    # The user's browser is signed out, their token refused.
    assert users_browser.get("/")["Location"].startswith(reverse("login"))
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/me/").status_code == 401
    # At next sign-in they must enrol, although MFA is optional under these settings.
    sign_in(users_browser)
    assert users_browser.get("/")["Location"] == reverse("mfa-enrol")
    assert users_browser.get("/api/v1/me/").status_code in (401, 403)
    # ... and the token endpoint refuses a password alone until they have.
    refused = APIClient().post(
        "/api/v1/auth/token/", {"username": "handler1", "password": TEST_PASSWORD}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "mfa_enrolment_required"
    users_browser.post(ENROL, {"start": "1"})
    new = TOTPDevice.objects.get(user=handler, confirmed=False)
    assert users_browser.post(ENROL, {"token": code_for(new)}).status_code == 302
    assert users_browser.get("/").status_code == 200


def test_the_token_endpoint_needs_the_code_of_a_user_with_a_device(handler):
    device = TOTPDevice.objects.create(user=handler, name="phone", confirmed=True)
    api = APIClient()
    missing = api.post(
        "/api/v1/auth/token/", {"username": "handler1", "password": TEST_PASSWORD}, format="json"
    )
    assert (missing.status_code, missing.json()["code"]) == (400, "otp_required")
    wrong = api.post(
        "/api/v1/auth/token/",
        {"username": "handler1", "password": TEST_PASSWORD, "otp_token": a_code_other_than(device)},
        format="json",
    )
    assert (wrong.status_code, wrong.json()["code"]) == (400, "otp_required")
    assert not ApiToken.objects.exists()


def test_the_key_to_type_is_the_base32_of_the_qr_code(client, handler):
    """Apps take a typed key in base32: the page shows the same key the QR code carries."""
    import base64
    from urllib.parse import parse_qs, urlparse

    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(handler)
    client.post(ENROL, {"start": "1"})
    shown = client.get(ENROL).context["secret"].replace(" ", "")
    device = TOTPDevice.objects.get(user=handler, confirmed=False)
    assert shown == parse_qs(urlparse(device.config_url).query)["secret"][0]
    assert base64.b32decode(shown + "=" * (-len(shown) % 8)) == device.bin_key
