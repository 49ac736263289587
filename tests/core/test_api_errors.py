"""Every error under /api/ is JSON with a stable code (docs/security.md, "API errors"): Django's
404 and 500, plain views, DRF's own errors, the services' domain errors, and a database that cannot
be reached (a real refused connection, not a mock)."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.test import override_settings
from django.urls import include, path
from django.utils import timezone
from rest_framework.exceptions import Throttled
from rest_framework.test import APIClient
from rest_framework.views import APIView

from services.codes import ServiceType
from spoc.accounts.models import ApiToken
from spoc.accounts.roles import Role
from spoc.accounts.tokens import hash_key
from tests.clients import api_client
from tests.referrals.builders import queued
from tests.referrals.factories import member
from tests.services.directory_fixtures import every_day, make_service

pytestmark = pytest.mark.django_db


def _json(response: Any) -> dict[str, Any]:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body: dict[str, Any] = response.json()
    return body


def _token_for(user: Any) -> str:
    key = secrets.token_urlsafe(32)
    now = timezone.now()
    ApiToken.objects.create(
        user=user, key_hash=hash_key(key), created_at=now, expires_at=now + timedelta(hours=1)
    )
    return key


# --- Django's own 404 and 500 under /api/ ----------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/patients/abc/",
        "/api/v1/no-such-thing/",
        "/api/v2/",
        "/api/v1/referrals/1/claim/extra/",
    ],
)
def test_a_malformed_id_or_unknown_path_under_api_is_a_json_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert _json(response) == {"detail": "Not found.", "code": "not_found"}


def test_an_unknown_page_outside_api_is_still_the_html_page(client, handler):
    client.force_login(handler)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def crashing_view(request):  # type: ignore[no-untyped-def]
    raise RuntimeError("a bug")


class ThrottledApi(APIView):
    permission_classes: list[Any] = []

    def get(self, request: Any) -> Any:
        raise Throttled(wait=7)


urlpatterns = [
    path("api/crash/", crashing_view),
    path("api/throttled/", ThrottledApi.as_view()),
    path("", include("spoc.urls")),
]


@override_settings(ROOT_URLCONF=__name__)
def test_a_server_error_under_api_is_a_json_500(client):
    client.raise_request_exception = False
    response = client.get("/api/crash/")
    assert response.status_code == 500
    body = _json(response)
    assert body["code"] == "server_error"
    assert "a bug" not in body["detail"]


@override_settings(ROOT_URLCONF=__name__)
def test_throttling_is_429_with_its_code_and_retry_after(client):
    response = client.get("/api/throttled/")
    assert response.status_code == 429
    assert _json(response)["code"] == "throttled"
    assert response["Retry-After"] == "7"


def test_a_plain_view_under_api_answers_a_wrong_method_in_json(client, handler):
    client.force_login(handler)
    response = client.post("/api/oruk/services")
    assert response.status_code == 405
    assert _json(response) == {"detail": "Method Not Allowed.", "code": "method_not_allowed"}
    assert response["Allow"] == "GET"


def test_the_schema_refuses_strangers_in_json(client):
    response = client.get("/api/schema/")
    assert response.status_code == 401
    assert _json(response)["code"] == "not_authenticated"


# --- A database that cannot be reached -------------------------------------------------------


@pytest.fixture
def database_down(transactional_db: Any) -> Iterator[None]:
    """Point the default connection at a port where nothing listens: every query now fails as it
    would with PostgreSQL down (connection refused), through the real driver."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    connection = connections["default"]
    saved = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = closed_port
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = saved


@pytest.fixture
def coordinator_token(make_user: Any) -> str:
    return _token_for(make_user(Role.SPOC_COORDINATOR, username="coord1"))


@pytest.mark.parametrize("url", ["/api/v1/referrals/", "/api/v1/me/", "/api/oruk/services"])
def test_a_database_that_cannot_be_reached_is_a_503_with_retry_after(
    coordinator_token, database_down, url
):
    client = APIClient()
    client.raise_request_exception = False
    response = client.get(url, HTTP_AUTHORIZATION=f"Token {coordinator_token}")
    assert response.status_code == 503
    assert _json(response)["code"] == "database_unavailable"
    assert int(response["Retry-After"]) > 0


# --- Codes of DRF's errors and the domain errors ---------------------------------------------


def test_no_credentials_is_401_not_authenticated(client):
    response = client.get("/api/v1/referrals/")
    assert response.status_code == 401
    assert _json(response)["code"] == "not_authenticated"


def test_an_unknown_token_is_401_authentication_failed(client):
    response = client.get("/api/v1/referrals/", HTTP_AUTHORIZATION="Token not-a-real-key")
    assert response.status_code == 401
    assert _json(response)["code"] == "authentication_failed"


def test_bad_input_is_400_invalid_with_the_field_errors_beside(make_user):
    api = api_client(make_user(Role.CALL_HANDLER, username="handler2"))
    response = api.get("/api/v1/patients/", {"q": ""})
    assert response.status_code == 400
    body = _json(response)
    assert body["code"] == "invalid" and body["detail"]
    assert isinstance(body["q"], list)


def test_not_found_from_a_view_has_its_code(make_user):
    api = api_client(make_user(Role.SPOC_COORDINATOR, username="coord2"))
    response = api.get("/api/v1/services/999999/")
    assert response.status_code == 404
    assert _json(response) == {"detail": "No such service.", "code": "not_found"}


@pytest.fixture
def area() -> dict[str, Any]:
    return {
        "community": make_service(
            "Community Palliative Care", ServiceType.COMMUNITY_SPC, hours=every_day(0, 23)
        ),
        "hah": make_service("Hospice at Home", ServiceType.HOSPICE_AT_HOME, hours=every_day(0, 23)),
    }


def test_an_action_the_role_may_not_take_is_403_not_permitted(make_user, area):
    referral = queued(area["hah"].team)
    nurse = member(make_user, area["hah"].team, "nurse1")
    response = api_client(nurse).post(
        f"/api/v1/referrals/{referral.pk}/reroute/",
        {"reason": "x", "team": area["community"].team.pk},
        format="json",
    )
    assert response.status_code == 403
    body = _json(response)
    assert body["code"] == "not_permitted"
    assert "Route by hand" in body["detail"]


def test_a_referral_claimed_by_another_is_409_already_claimed(make_user, area):
    referral = queued(area["community"].team)
    first = member(make_user, area["community"].team, "nurse1")
    second = member(make_user, area["community"].team, "nurse2")
    assert (
        api_client(first)
        .post(f"/api/v1/referrals/{referral.pk}/claim/", {}, format="json")
        .status_code
        == 200
    )
    response = api_client(second).post(f"/api/v1/referrals/{referral.pk}/claim/", {}, format="json")
    assert response.status_code == 409
    assert _json(response)["code"] == "already_claimed"


def test_an_action_the_status_does_not_allow_is_409_illegal_transition(make_user, area):
    referral = queued(area["community"].team)
    nurse = member(make_user, area["community"].team, "nurse1")
    api = api_client(nurse)
    api.post(f"/api/v1/referrals/{referral.pk}/claim/", {}, format="json")
    response = api.post(
        f"/api/v1/referrals/{referral.pk}/complete/", {"outcome": "NEEDS_MET"}, format="json"
    )
    assert response.status_code == 409
    assert _json(response)["code"] == "illegal_transition"


def test_a_dashboard_the_role_may_not_see_is_403_not_permitted(make_user):
    response = api_client(make_user(Role.CALL_HANDLER, username="handler3")).get(
        "/api/v1/dashboard/"
    )
    assert response.status_code == 403
    assert _json(response)["code"] == "not_permitted"
