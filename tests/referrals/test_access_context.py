"""The access log's request context (spoc/audit/context.py): rows written by services during a
request carry the client's address; reads are written by the selectors, never by hand in a view."""

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from referrals.services.claims import referral_claim
from referrals.transitions import ReferralStatus
from spoc.audit.context import current_request
from spoc.audit.models import AccessLog
from tests.conftest import TEST_PASSWORD
from tests.packages import HUB_PACKAGES
from tests.referrals.factories import PatientFactory, ReferralFactory, member

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
LOGGERS = {"access_log_record", "access_log_read", "access_log_list_shown"}
# The directory holds no patient data; its export authenticates API tokens itself, outside the
# REST framework, and logs who exported it.
NOT_PATIENT_DATA = {"services/oruk_views.py"}


def _view_modules():
    for package in HUB_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            parts = relative.parts
            if (
                "views" in parts
                or "api" in parts
                or path.stem.startswith(("views", "api"))
                or path.stem.endswith("_views")
            ):
                yield relative


def test_the_view_modules_are_found():
    found = {str(path) for path in _view_modules()}
    assert {
        "calls/views/__init__.py",
        "calls/views/telephony.py",
        "workspace/views/patients.py",
        "referrals/api/referrals.py",
        "workspace/api/patients.py",
        "spoc/dashboards/views_admissions.py",
        "interop/views.py",
    } <= found


@pytest.mark.parametrize("path", list(_view_modules()), ids=str)
def test_no_view_or_api_writes_the_access_log_by_hand(path):
    if str(path) in NOT_PATIENT_DATA:
        return
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    called = {
        node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert not called & LOGGERS, (
        f"{path} writes the access log itself: read through a selector that logs"
    )


def test_a_service_writing_in_a_request_records_the_client_address(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    referral = ReferralFactory(
        status=ReferralStatus.QUEUED, team=team, contact_by=timezone.now() + timedelta(hours=2)
    )
    client.force_login(nurse)
    response = client.post(
        reverse("queue:action", args=[referral.pk, "claim"]),
        {"next": "/queue/"},
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 302
    row = AccessLog.objects.get(
        action=AccessLog.Action.UPDATE, object_type="referral", object_id=str(referral.pk)
    )
    assert row.user == nurse and row.client_ip == "203.0.113.9"
    # The page read after it, by the selector, is the same person from the same address.
    client.get(reverse("queue:referral", args=[referral.pk]), REMOTE_ADDR="203.0.113.9")
    view = AccessLog.objects.get(
        action=AccessLog.Action.VIEW, object_type="referral", object_id=str(referral.pk)
    )
    assert (view.user, view.client_ip, view.patient_id) == (
        nurse,
        "203.0.113.9",
        referral.patient_id,
    )


def test_outside_a_request_there_is_no_context(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    client.force_login(nurse)
    client.get(reverse("queue:caseload"), REMOTE_ADDR="203.0.113.9")
    assert current_request() is None
    referral = ReferralFactory(
        status=ReferralStatus.QUEUED, team=team, contact_by=timezone.now() + timedelta(hours=2)
    )
    referral_claim(referral_id=referral.pk, user=nurse)
    row = AccessLog.objects.get(action=AccessLog.Action.UPDATE, object_id=str(referral.pk))
    assert row.user == nurse and row.client_ip is None


def test_an_api_token_read_is_logged_as_the_token_user(handler):
    # The token is checked inside the view, after the middleware: the log still knows who it was.
    api = APIClient(REMOTE_ADDR="198.51.100.4")
    token = api.post(
        "/api/v1/auth/token/", {"username": "handler1", "password": TEST_PASSWORD}, format="json"
    ).json()["token"]
    patient = PatientFactory()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get(f"/api/v1/patients/{patient.pk}/").status_code == 200
    row = AccessLog.objects.get(action=AccessLog.Action.VIEW, object_type="patient")
    assert (row.user, row.client_ip, row.patient_id) == (handler, "198.51.100.4", patient.pk)
