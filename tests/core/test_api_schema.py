"""The API answers as its OpenAPI schema says (docs/security.md, "API errors").

Schemathesis loads the schema from the app (``/api/schema/``), then sends every operation a few
generated requests, valid and invalid, as a SPOC coordinator with an API token, through the WSGI
application in this process. Every answer must be no server error, a documented status code, a
documented content type and a body that matches the documented schema. The examples are few and
derandomised, so the run is the same every time and takes well under a minute.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from spoc.accounts.models import ApiToken
from spoc.accounts.roles import Role
from spoc.accounts.tokens import hash_key
from tests.referrals.factories import PatientFactory, ReferralFactory

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_auth(make_user: Any) -> dict[str, str]:
    """A SPOC coordinator's token, and a patient and referral for the generated ids to find."""
    user = make_user(Role.SPOC_COORDINATOR, username="schemathesis")
    key = secrets.token_urlsafe(32)
    now = timezone.now()
    ApiToken.objects.create(
        user=user, key_hash=hash_key(key), created_at=now, expires_at=now + timedelta(hours=1)
    )
    patient = PatientFactory(nhs_number="9990000018")
    ReferralFactory(call__patient=patient, patient=patient)
    return {"Authorization": f"Token {key}"}


def _schema_document() -> dict[str, Any]:
    """The OpenAPI document the app serves at /api/schema/, as JSON."""
    generator = SchemaGenerator()
    document: dict[str, Any] = json.loads(
        OpenApiJsonRenderer().render(generator.get_schema(request=None, public=True))
    )
    return document


# Built when the module is collected (no database needed), so that each operation is a test of
# its own; schemathesis' lazy loader (`from_fixture`) does not run under pytest 9.
schema = schemathesis.openapi.from_dict(_schema_document())
schema.app = WSGIHandler()


@pytest.fixture
def in_test_transaction() -> Iterator[None]:
    """The app runs in this thread, inside the test's transaction: like Django's own test client,
    keep the connection open across requests instead of closing it at each one."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_the_app_serves_the_schema_under_test(client, api_auth):
    response = client.get(
        "/api/schema/", {"format": "json"}, HTTP_AUTHORIZATION=api_auth["Authorization"]
    )
    assert response.status_code == 200
    assert json.loads(response.content) == schema.raw_schema


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=6,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_every_operation_answers_as_documented(
    case: Any, api_auth: dict[str, str], in_test_transaction: None
) -> None:
    case.call_and_validate(headers=api_auth, checks=CHECKS)
