"""Bad input and edge cases around calls, care plans, the access log and the directory."""

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from calls.models import Call
from patients.models import CarePlan
from patients.services import care_plan_update
from services.models import Service
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record
from tests.referrals.factories import CallFactory, PatientFactory
from tests.referrals.test_call_screen import payload
from tests.services.directory_fixtures import small_directory

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def test_call_screen_opened_in_the_repeated_october_hour_saves(client, handler):
    patient = PatientFactory()
    # 01:30 on 25-Oct-2026 happens twice in London; the form carries UTC with its offset. Signed
    # in at that moment too: an hour of a day long past, or to come, would be an idle session.
    with time_machine.travel(
        datetime(2026, 10, 25, 1, 30, tzinfo=LONDON).astimezone(ZoneInfo("UTC")), tick=True
    ):
        client.force_login(handler)
        page = client.get(reverse("calls:new"))
        data = payload(
            patient,
            received_at=page.context["form"].initial["received_at"],
            idempotency_key=page.context["form"].initial["idempotency_key"],
        )
        response = client.post(reverse("calls:new"), data)
    assert response.status_code == 302, response.context["form"].errors
    assert Call.objects.count() == 1


def test_a_call_started_over_12_hours_ago_is_refused(client, handler):
    patient = PatientFactory()
    client.force_login(handler)
    old = (timezone.now() - timedelta(hours=13)).isoformat()
    response = client.post(reverse("calls:new"), payload(patient, received_at=old))
    assert "over 12 hours ago" in str(response.context["form"].errors)
    assert not Call.objects.exists()


@pytest.fixture
def clinician(make_user):
    user = make_user(Role.SPECIALIST_NURSE, is_clinician=True)
    user.user_permissions.add(Permission.objects.get(codename="record_cpr_decision"))
    return type(user).objects.get(pk=user.pk)


def test_a_stale_care_plan_form_never_undoes_a_newer_dnacpr(clinician):
    patient = PatientFactory()
    care_plan_update(patient=patient, user=clinician, values={"ppd_first": "21"}, base_version=0)
    care_plan_update(
        patient=patient,
        user=clinician,
        base_version=1,
        values={"cpr_decision": "450476008", "cpr_decision_date": timezone.localdate()},
    )
    with pytest.raises(ValidationError, match="changed by"):
        care_plan_update(
            patient=patient,
            user=clinician,
            values={"cpr_decision": "450475007", "cpr_decision_date": timezone.localdate()},
            base_version=1,
        )
    assert CarePlan.objects.get(patient=patient, is_current=True).cpr_decision == "450476008"


def test_the_respect_cpr_recommendation_needs_the_cpr_permission(make_user):
    nurse = make_user(Role.SPECIALIST_NURSE, is_clinician=True)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        care_plan_update(patient=PatientFactory(), user=nurse, values={"respect_cpr": "450476008"})


def test_a_poll_header_on_a_full_page_is_still_logged(client, handler):
    call = CallFactory(handled_by=handler)
    client.force_login(handler)
    client.get(reverse("calls:detail", args=[call.pk]), HTTP_X_SPOC_POLL="1")
    assert AccessLog.objects.filter(object_type="call", object_id=str(call.pk)).count() == 1


@pytest.mark.parametrize("role", [Role.MANAGER, Role.DIRECTORY_ADMIN])
def test_only_handlers_coordinators_and_clinicians_record_carers(client, make_user, role):
    patient = PatientFactory()
    user = make_user(role)
    client.force_login(user)
    session = client.session
    session["break_glass"] = {str(patient.pk): timezone.now().timestamp() + 600}
    session.save()
    assert client.get(reverse("patients:person-add", args=[patient.pk])).status_code == 403


def test_access_log_csv_neutralises_formulas(client, auditor, handler):
    access_log_record(
        action=AccessLog.Action.BREAK_GLASS,
        user=handler,
        object_type="patient",
        object_id=1,
        patient_id=1,
        reason='=HYPERLINK("http://x")',
    )
    client.force_login(auditor)
    response = client.get(reverse("audit:access-log"), {"format": "csv", "action": "BREAK_GLASS"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][7].startswith("'=")


@pytest.mark.parametrize("url", ["calls:review", "calls:call-back-done"])
def test_unknown_ids_are_404_not_500(client, make_user, url):
    client.force_login(make_user(Role.SPOC_COORDINATOR))
    assert (
        client.post(
            reverse(url, args=[999999]), {"comment": "fine", "outcome": "REACHED"}
        ).status_code
        == 404
    )


def test_nul_bytes_in_a_search_are_harmless(client, handler):
    client.force_login(handler)
    assert client.get(reverse("patients:search"), {"q": "\x00abc"}).status_code == 200


@pytest.mark.parametrize("at", ["9999-12-31T23:59", "0001-01-01T00:00"])
def test_directory_search_far_from_today_is_refused_politely(client, handler, at):
    small_directory()
    client.force_login(handler)
    response = client.get(
        reverse("services:search"), {"need": "URGENT_HOME_VISIT", "postcode": "L9 7AL", "at": at}
    )
    assert response.status_code == 200
    assert b"within a year of today" in response.content


def test_access_log_far_dates_are_refused_politely(client, auditor):
    client.force_login(auditor)
    response = client.get(reverse("audit:access-log"), {"date_to": "9999-12-31"})
    assert response.status_code == 200
    assert b"between 2000 and 2100" in response.content


def test_a_bad_clock_override_does_not_stop_the_search(client, handler):
    directory = small_directory()
    Service.objects.filter(pk=directory["ipu"].pk).update(clock_overrides={"P9": {"x": 1}})
    client.force_login(handler)
    response = client.get(
        reverse("services:search"), {"need": "URGENT_HOME_VISIT", "postcode": "L9 7AL"}
    )
    assert response.status_code == 200
    with pytest.raises(ValidationError):
        Service.objects.get(pk=directory["ipu"].pk).full_clean()
