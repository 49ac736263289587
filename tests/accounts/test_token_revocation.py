"""Sessions and tokens end when they should (docs/security.md)."""

import importlib
from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from spoc.accounts import services
from spoc.accounts.models import ApiToken
from spoc.accounts.sessions import key_digest
from spoc.accounts.tokens import hash_key
from spoc.audit.models import AccessLog
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db
TOKEN_URL = "/api/v1/auth/token/"
REVOKE_URL = "/api/v1/auth/token/revoke/"
NEW_PASSWORD = "a-much-longer-passphrase-42"


def new_token(client=None, password=TEST_PASSWORD):
    response = (client or APIClient()).post(
        TOKEN_URL, {"username": "handler1", "password": password}, format="json"
    )
    assert response.status_code == 200
    return response.json()["token"]


def api_for(token):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def test_a_password_change_revokes_every_token_and_other_session_but_keeps_this_one(
    client, handler
):
    token = new_token()
    other_browser = Client()
    other_browser.post(reverse("login"), {"username": "handler1", "password": TEST_PASSWORD})
    client.post(reverse("login"), {"username": "handler1", "password": TEST_PASSWORD})
    response = client.post(
        reverse("password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert api_for(token).get("/api/v1/me/").status_code == 401
    assert not ApiToken.objects.filter(user=handler).exists()
    assert client.get("/").status_code == 200  # this browser stays signed in
    assert other_browser.get("/").status_code == 302  # the other one does not
    row = AccessLog.objects.get(action=AccessLog.Action.CREDENTIALS_REVOKED)
    assert (row.user, row.reason) == (handler, "Password changed")
    # The new password gives a working token.
    assert api_for(new_token(password=NEW_PASSWORD)).get("/api/v1/me/").status_code == 200


def test_deactivation_revokes_tokens_for_good(handler):
    token = new_token()
    services.user_deactivate(user=handler, reason="Left the trust")
    assert api_for(token).get("/api/v1/me/").status_code == 401
    handler.is_active = True
    handler.save(update_fields=["is_active"])
    assert api_for(token).get("/api/v1/me/").status_code == 401  # reactivation brings none back
    assert (
        AccessLog.objects.get(action=AccessLog.Action.CREDENTIALS_REVOKED).reason
        == "Account deactivated: Left the trust"
    )


def test_deactivated_hook_revokes_only_an_inactive_user(handler):
    token = new_token()
    services.user_deactivated(user=handler)  # still active: nothing happens
    assert api_for(token).get("/api/v1/me/").status_code == 200
    handler.is_active = False
    handler.save(update_fields=["is_active"])
    services.user_deactivated(user=handler)
    assert not ApiToken.objects.filter(user=handler).exists()


def test_revoke_endpoint_revokes_the_callers_token_only(handler):
    mine, other = new_token(), new_token()
    response = api_for(mine).post(REVOKE_URL, {}, format="json")
    assert response.status_code == 200
    assert response.json() == {"revoked": 1}
    assert api_for(mine).get("/api/v1/me/").status_code == 401
    assert api_for(other).get("/api/v1/me/").status_code == 200
    row = AccessLog.objects.get(action=AccessLog.Action.LOGOUT, object_type="api_token")
    assert row.user == handler
    # Issuing each token was logged as a sign-in.
    assert (
        AccessLog.objects.filter(
            action=AccessLog.Action.LOGIN, object_type="api_token", user=handler
        ).count()
        == 2
    )


def test_revoke_endpoint_with_all_revokes_every_token_of_the_user(handler, make_user):
    someone_else = make_user(username="handler2")
    theirs = (
        APIClient()
        .post(TOKEN_URL, {"username": "handler2", "password": TEST_PASSWORD}, format="json")
        .json()["token"]
    )
    mine, other = new_token(), new_token()
    response = api_for(mine).post(REVOKE_URL, {"all": True}, format="json")
    assert response.json() == {"revoked": 2}
    assert api_for(other).get("/api/v1/me/").status_code == 401
    assert api_for(theirs).get("/api/v1/me/").status_code == 200
    assert ApiToken.objects.filter(user=someone_else).count() == 1


def test_revoke_endpoint_needs_a_token(client, handler):
    assert APIClient().post(REVOKE_URL, {}, format="json").status_code == 401
    client.force_login(handler)  # a browser session is not a token
    response = client.post(REVOKE_URL, {}, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_sign_out_revokes_the_token_the_session_asked_for(client, handler):
    client.post(reverse("login"), {"username": "handler1", "password": TEST_PASSWORD})
    sessions = client.post(
        TOKEN_URL,
        {"username": "handler1", "password": TEST_PASSWORD},
        content_type="application/json",
    )
    assert sessions.status_code == 200
    sessions_token = sessions.json()["token"]
    elsewhere = new_token()  # asked for without this session's cookie
    client.post(reverse("logout"))
    assert api_for(sessions_token).get("/api/v1/me/").status_code == 401
    assert api_for(elsewhere).get("/api/v1/me/").status_code == 200


def test_idle_timeout_revokes_the_token_the_session_asked_for(client, handler, settings):
    client.post(reverse("login"), {"username": "handler1", "password": TEST_PASSWORD})
    token = client.post(
        TOKEN_URL,
        {"username": "handler1", "password": TEST_PASSWORD},
        content_type="application/json",
    ).json()["token"]
    with time_machine.travel(
        timezone.now() + timedelta(seconds=settings.SESSION_IDLE_TIMEOUT_SECONDS + 60)
    ):
        assert client.get("/")["Location"].startswith(reverse("login"))
        assert api_for(token).get("/api/v1/me/").status_code == 401


def test_a_token_for_another_user_is_not_tied_to_the_session(client, handler, make_user):
    other = make_user(username="handler2")
    client.force_login(other)
    token = client.post(
        TOKEN_URL,
        {"username": "handler1", "password": TEST_PASSWORD},
        content_type="application/json",
    ).json()["token"]
    client.post(reverse("logout"))
    assert api_for(token).get("/api/v1/me/").status_code == 200


def test_token_endpoints_declare_their_bodies_in_the_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    obtain = schema["paths"][TOKEN_URL]["post"]
    revoke = schema["paths"][REVOKE_URL]["post"]
    me = schema["paths"]["/api/v1/me/"]["get"]
    ref = "#/components/schemas/{}".format

    def body(operation, status):
        return operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]

    assert body(obtain, "200") == ref("TokenOutput")
    assert body(revoke, "200") == ref("TokenRevokeOutput")
    assert body(me, "200") == ref("MeOutput")
    for operation, statuses in (
        (obtain, ("400", "429")),
        (revoke, ("400", "401", "403")),
        (me, ("401", "403")),
    ):
        for status in statuses:
            error = schema["components"]["schemas"][body(operation, status).rsplit("/", 1)[1]]
            assert {"detail", "code"} <= set(error["properties"])
    assert set(schema["components"]["schemas"]["TokenRevokeInput"]["properties"]) == {"all"}


def test_the_upgrade_links_the_tokens_an_open_session_listed_to_it(handler):
    """Before ApiToken.session_digest, a session listed the tokens it asked for: the migration
    that adds the column links them, so signing that session out still revokes them."""
    listed, other = (ApiToken.objects.get(key_hash=hash_key(new_token())) for _ in range(2))
    session = SessionStore()
    session["api_token_ids"] = [listed.pk]
    session.save()
    assert session.session_key is not None
    migration = importlib.import_module("spoc.accounts.migrations.0009_apitoken_session_digest")
    migration.link_listed_tokens(apps, None)
    listed.refresh_from_db()
    other.refresh_from_db()
    assert listed.session_digest == key_digest(session.session_key)
    assert other.session_digest == ""
