"""Partner systems (spoc/accounts/partners.py): registered with credentials of their own, a
bearer token by OAuth 2.0 client credentials, scopes, rotation and revocation, and never a way
into the staff API."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import path
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from spoc.accounts.authentication import ExpiringTokenAuthentication, PartnerTokenAuthentication
from spoc.accounts.models import ApiToken, PartnerSecret, PartnerSystem, PartnerToken
from spoc.accounts.partners import (
    MaySendReferrals,
    Scope,
    partner_deactivate,
    partner_for_token,
    partner_register,
    partner_secret_rotate,
    partner_secrets_revoke,
)
from spoc.accounts.roles import Role
from spoc.accounts.tokens import hash_key
from spoc.accounts.views import PartnerTokenApi
from spoc.audit.models import AccessLog

pytestmark = pytest.mark.django_db

TOKEN_URL = "/oauth2/token"


def _register(**kwargs):
    values = {
        "name": "NHS 111 North West",
        "ods_code": "nlo01",
        "endpoint": "https://111.example.nhs.uk/bars",
    }
    return partner_register(**{**values, **kwargs})


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _token(client_id: str, secret: str, **form) -> dict:
    response = APIClient().post(
        TOKEN_URL,
        {"grant_type": "client_credentials", **form},
        HTTP_AUTHORIZATION=_basic(client_id, secret),
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_register_partner_prints_its_credentials_once_and_keeps_only_a_hash():
    out = StringIO()
    call_command(
        "register_partner",
        "--name",
        "Mersey GP Federation",
        "--ods",
        "a81001",
        "--endpoint",
        "https://gp.example.nhs.uk/inbox",
        stdout=out,
    )
    printed = json.loads(out.getvalue())
    assert set(printed) == {"client_id", "client_secret", "token_url"}
    assert printed["token_url"].endswith("/oauth2/token")
    partner = PartnerSystem.objects.get(client_id=printed["client_id"])
    assert (partner.ods_code, partner.scopes) == ("A81001", sorted(Scope.ALL))
    stored = PartnerSecret.objects.get(partner=partner).secret_hash
    assert printed["client_secret"] not in stored
    assert _token(printed["client_id"], printed["client_secret"])["token_type"] == "Bearer"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "Ward 7", "--ods", "R!"], "ods_code: Enter the ODS code"),
        (["--name", " ", "--ods", "RTH"], "name: Enter the partner system's name."),
        (
            ["--name", "Ward 7", "--ods", "RTH", "--endpoint", "javascript:alert(1)"],
            "endpoint: Enter the endpoint",
        ),
        (
            ["--name", "Ward 7", "--ods", "RTH", "--endpoint", "http://wards.example.nhs.uk/bars"],
            "endpoint: Enter the endpoint as a full https address",
        ),
        (["--name", "x" * 201, "--ods", "RTH"], "name: The name must be 200 characters or fewer."),
    ],
)
def test_register_partner_refuses_bad_input_with_a_clear_message(args, message):
    with pytest.raises(CommandError, match=message.replace("!", r"\!")):
        call_command("register_partner", *args, stdout=StringIO())
    assert not PartnerSystem.objects.exists()


def test_names_are_kept_as_typed():
    issued = _register(name="O'Brien & Nguyễn <script>alert(1)</script> Siân")
    assert PartnerSystem.objects.get().name == "O'Brien & Nguyễn <script>alert(1)</script> Siân"
    assert issued.partner.ods_code == "NLO01"


def test_the_token_answer_is_rfc_6749_and_never_cached():
    issued = _register()
    response = APIClient().post(
        TOKEN_URL,
        {
            "grant_type": "client_credentials",
            "client_id": issued.partner.client_id,
            "client_secret": issued.client_secret,
        },
        REMOTE_ADDR="192.0.2.40",
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"].split() == sorted(Scope.ALL)
    assert response["Cache-Control"] == "no-store" and response["Pragma"] == "no-cache"
    row = AccessLog.objects.get(action=AccessLog.Action.LOGIN, object_type="partner_token")
    assert row.user is None and row.username == f"partner:{issued.partner.client_id}"
    assert row.client_ip == "192.0.2.40" and row.detail == {"scopes": sorted(Scope.ALL)}


def test_a_token_carries_only_the_scopes_asked_for():
    issued = _register()
    body = _token(issued.partner.client_id, issued.client_secret, scope=Scope.SEND_REFERRALS)
    partner = partner_for_token(body["access_token"])
    assert partner is not None and partner.scopes == {Scope.SEND_REFERRALS}


@pytest.mark.parametrize(
    ("form", "auth", "status", "error"),
    [
        ({"grant_type": "password"}, True, 400, "unsupported_grant_type"),
        (
            {"grant_type": "client_credentials", "scope": "patients:delete"},
            True,
            400,
            "invalid_scope",
        ),
        ({"grant_type": "client_credentials"}, False, 401, "invalid_client"),
    ],
)
def test_token_request_errors(form, auth, status, error):
    issued = _register(scopes=[Scope.READ_DIRECTORY])
    api = APIClient()
    if auth:
        api.credentials(HTTP_AUTHORIZATION=_basic(issued.partner.client_id, issued.client_secret))
    response = api.post(TOKEN_URL, form)
    assert response.status_code == status
    assert response.json()["error"] == error and response.json()["error_description"]
    assert not PartnerToken.objects.exists()


def test_a_wrong_secret_is_invalid_client_and_logged_as_a_failed_sign_in():
    issued = _register()
    response = APIClient().post(
        TOKEN_URL,
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=_basic(issued.partner.client_id, "guessed"),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"] == 'Basic realm="spoc"'
    row = AccessLog.objects.get(action=AccessLog.Action.LOGIN_FAILED)
    assert row.username == f"partner:{issued.partner.client_id}" and row.user is None


def test_rotation_keeps_the_old_secret_until_it_is_revoked_and_revoking_ends_its_tokens():
    issued = _register()
    client_id, old = issued.partner.client_id, issued.client_secret
    old_token = _token(client_id, old)["access_token"]
    new = partner_secret_rotate(partner=issued.partner)
    assert _token(client_id, new)["access_token"] and _token(client_id, old)["access_token"]
    assert partner_secrets_revoke(partner=issued.partner, keep_newest=True) == 1
    assert partner_for_token(old_token) is None
    refused = APIClient().post(
        TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=_basic(client_id, old)
    )
    assert refused.status_code == 401
    assert partner_for_token(_token(client_id, new)["access_token"]) is not None


def test_a_deactivated_partner_gets_no_token_and_its_tokens_stop_working():
    issued = _register()
    key = _token(issued.partner.client_id, issued.client_secret)["access_token"]
    partner_deactivate(partner=issued.partner)
    assert partner_for_token(key) is None
    response = APIClient().post(
        TOKEN_URL,
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=_basic(issued.partner.client_id, issued.client_secret),
    )
    assert response.status_code == 401


def test_a_token_expires():
    issued = _register()
    key = _token(issued.partner.client_id, issued.client_secret)["access_token"]
    assert partner_for_token(key) is not None
    assert partner_for_token(key, now=timezone.now() + timedelta(minutes=61)) is None


def test_a_partner_token_opens_no_staff_endpoint():
    issued = _register()
    key = _token(issued.partner.client_id, issued.client_secret)["access_token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    for url in (
        "/api/v1/patients/?q=smith",
        "/api/v1/referrals/",
        "/api/v1/me/",
        "/api/v1/services/",
    ):
        assert api.get(url).status_code == 401, url
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/me/").status_code == 401


class _SendView(APIView):
    """An endpoint built for partners that send referrals, as the FHIR API declares them."""

    authentication_classes = [PartnerTokenAuthentication, ExpiringTokenAuthentication]
    permission_classes = [MaySendReferrals]

    def post(self, request):
        return Response({"from": request.user.get_username()})


urlpatterns = [path("send/", _SendView.as_view()), path("oauth2/token", PartnerTokenApi.as_view())]


@override_settings(ROOT_URLCONF=__name__)
def test_only_a_partner_with_the_scope_passes_a_partner_endpoint(handler):
    sender = _register(scopes=[Scope.SEND_REFERRALS])
    reader = _register(name="Ward system", ods_code="RTH", scopes=[Scope.READ_DIRECTORY])
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"Bearer {_token(sender.partner.client_id, sender.client_secret)['access_token']}"
    )
    assert api.post("/send/").json() == {"from": f"partner:{sender.partner.client_id}"}
    api.credentials(
        HTTP_AUTHORIZATION=f"Bearer {_token(reader.partner.client_id, reader.client_secret)['access_token']}"
    )
    assert api.post("/send/").status_code == 403
    # A staff token, whatever its role, is no partner.
    now = timezone.now()
    ApiToken.objects.create(
        user=handler,
        key_hash=hash_key("staff-key"),
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )
    api.credentials(HTTP_AUTHORIZATION="Token staff-key")
    assert api.post("/send/").status_code == 403
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert api.post("/send/").status_code == 401


def test_a_system_admin_registers_a_partner_in_the_admin_and_sees_the_secret_once(
    client, make_user
):
    admin_user = make_user(Role.SYSTEM_ADMIN, username="sysadmin1", is_staff=True)
    client.force_login(admin_user)
    response = client.post(
        "/admin/accounts/partnersystem/add/",
        {
            "name": "Royal Liverpool wards",
            "ods_code": "rq6",
            "endpoint": "https://wards.example.nhs.uk/bars",
            "scopes": [Scope.SEND_REFERRALS, Scope.READ_OWN_REFERRALS],
        },
        follow=True,
    )
    assert response.status_code == 200
    partner = PartnerSystem.objects.get()
    assert (partner.ods_code, partner.scopes) == (
        "RQ6",
        sorted([Scope.SEND_REFERRALS, Scope.READ_OWN_REFERRALS]),
    )
    shown = [str(m) for m in response.context["messages"] if partner.client_id in str(m)]
    secret = shown[0].split("client secret ")[1].split(":")[0]
    assert (
        _token(partner.client_id, secret)["scope"]
        == f"{Scope.READ_OWN_REFERRALS} {Scope.SEND_REFERRALS}"
    )
    row = AccessLog.objects.get(action=AccessLog.Action.CREATE, object_type="partner_system")
    assert row.user == admin_user


def test_the_admin_refuses_a_bad_ods_code_and_saves_nothing(client, make_user):
    client.force_login(make_user(Role.SYSTEM_ADMIN, username="sysadmin1", is_staff=True))
    response = client.post(
        "/admin/accounts/partnersystem/add/",
        {"name": "Ward", "ods_code": "<b>", "endpoint": "", "scopes": [Scope.READ_DIRECTORY]},
    )
    assert response.status_code == 200
    assert "Enter the ODS code" in response.content.decode()
    assert not PartnerSystem.objects.exists()
