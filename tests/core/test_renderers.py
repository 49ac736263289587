"""The API's JSON renderer (spoc/core/renderers.py): orjson writes the same JSON as DRF's own
renderer did, for every kind of value the hub's answers hold, and the browsable API and the
OpenAPI schema still render."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from spoc.accounts.roles import Role
from spoc.core.renderers import ApiJsonRenderer
from tests.clients import api_client

ANSWER: dict[str, Any] = {
    "id": 2**63 - 1,
    "name": "NGUYỄN, Siân",
    "note": "Line one\u2028line two\u2029",
    "empty": None,
    "ok": True,
    "share": 0.25,
    "at": datetime(2026, 12, 2, 10, 30, 5, 123456, tzinfo=UTC),
    "at_whole_second": datetime(2026, 12, 2, 10, 30, tzinfo=UTC),
    "date_of_birth": date(1948, 3, 14),
    "opens_at": time(8, 0),
    "waited": timedelta(minutes=90),
    "bed_days_cost": Decimal("400.50"),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "label": gettext_lazy("Not found."),
    "codes": ("P1", "P2"),
    "nested": [{"team": {"id": 3, "name": "Night team"}}],
    # A field error of a list item is keyed by the item's index.
    "needs": {0: ["Choose a need."]},
}


def test_orjson_writes_the_bytes_drfs_renderer_wrote():
    assert ApiJsonRenderer().render(ANSWER) == JSONRenderer().render(ANSWER)


def test_datetimes_keep_drfs_form_in_utc_with_z():
    body = json.loads(ApiJsonRenderer().render(ANSWER))
    assert body["at"] == "2026-12-02T10:30:05.123456Z"
    assert body["bed_days_cost"] == 400.5 and body["label"] == "Not found."
    assert body["needs"] == {"0": ["Choose a need."]}


def test_a_value_neither_encoder_knows_is_an_error_not_a_null():
    with pytest.raises(TypeError):
        ApiJsonRenderer().render({"x": object()})


@pytest.mark.django_db
def test_api_answers_are_rendered_by_orjson_as_json(make_user):
    response = api_client(make_user(Role.SPOC_COORDINATOR)).get("/api/v1/me/")
    assert response.status_code == 200
    assert isinstance(response.accepted_renderer, ApiJsonRenderer)
    assert response["Content-Type"] == "application/json"
    assert response.json()["username"]


@pytest.mark.django_db
def test_the_browsable_api_shows_the_answer_indented(client, make_user):
    client.force_login(make_user(Role.SPOC_COORDINATOR, username="browsing"))
    response = client.get("/api/v1/me/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert "&quot;username&quot;: &quot;browsing&quot;" in response.content.decode()
