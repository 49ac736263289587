"""The access log shows people: who acted (name and roles) and which patient (name and NHS
number), on the page and in the CSV, in a fixed number of queries; the rows and their chain are
read, never changed."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from spoc.accounts.roles import Role
from spoc.audit.integrity import access_log_chain_verify
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record
from tests.referrals.factories import PatientFactory

pytestmark = pytest.mark.django_db
URL = reverse("audit:access-log")


@pytest.fixture
def lead(make_user: Any) -> Any:
    user = make_user(
        Role.SPECIALIST_NURSE, username="nurse_ng", first_name="Siân", last_name="Nguyễn"
    )
    user.groups.add(Group.objects.get(name=Role.TEAM_LEAD))
    return user


def _csv(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def _viewed_by(user: Any, *, patient_id: int) -> None:
    access_log_record(
        action=AccessLog.Action.VIEW,
        user=user,
        object_type="patient",
        object_id=patient_id,
        patient_id=patient_id,
    )


def test_each_row_shows_the_users_name_and_roles_and_the_patients_name_and_nhs_number(
    client, auditor, lead
):
    patient = PatientFactory(given_name="Mary", family_name="O'Hara", nhs_number="9990000018")
    _viewed_by(lead, patient_id=patient.pk)
    client.force_login(auditor)
    response = client.get(URL, {"action": "VIEW"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "NGUYỄN, Siân" in html
    assert "Specialist nurse, Team lead" in html
    assert "O&#x27;HARA, Mary" in html
    assert "999 000 0018" in html
    assert f"Patient id {patient.pk}" in html


def test_rows_about_no_patient_a_patient_without_a_number_or_one_no_longer_on_record(
    client, auditor, lead
):
    unnumbered = PatientFactory(given_name="Ada", family_name="Lovelace", nhs_number=None)
    _viewed_by(lead, patient_id=unnumbered.pk)
    _viewed_by(lead, patient_id=987654)
    access_log_record(action=AccessLog.Action.LOGIN_FAILED, username="typo-name")
    client.force_login(auditor)
    html = client.get(URL).content.decode()
    assert (
        "LOVELACE, Ada" in html
        and 'NHS number <span data-testid="patient-nhs-number">Not known' in html
    )
    assert "No record of patient 987654" in html
    # A failed sign-in names what was typed, and says it is no user of the hub.
    assert "typo-name" in html and "Not a user of the hub" in html


def test_the_csv_has_the_same_people_in_columns_after_the_old_ones(client, auditor, lead):
    patient = PatientFactory(given_name="Mary", family_name="O'Hara", nhs_number="9990000018")
    _viewed_by(lead, patient_id=patient.pk)
    access_log_record(action=AccessLog.Action.LOGIN, user=lead)
    client.force_login(auditor)
    response = client.get(URL, {"format": "csv", "username": "nurse_ng"})
    assert response.status_code == 200
    rows = _csv(response)
    header = ",".join(rows[0])
    assert header.startswith(
        "at,username,action,object_type,object_id,patient_id,client_ip,reason,flagged,"
    )
    viewed = next(r for r in rows if r["action"] == "VIEW")
    assert {
        k: viewed[k] for k in ("user_name", "user_roles", "patient_name", "patient_nhs_number")
    } == {
        "user_name": "NGUYỄN, Siân",
        "user_roles": "Specialist nurse, Team lead",
        "patient_name": "O'HARA, Mary",
        "patient_nhs_number": "999 000 0018",
    }
    signed_in = next(r for r in rows if r["action"] == "LOGIN")
    assert (signed_in["user_name"], signed_in["patient_name"], signed_in["patient_nhs_number"]) == (
        "NGUYỄN, Siân",
        "",
        "",
    )
    # The export is itself logged, as before; the page is not.
    assert (
        AccessLog.objects.filter(
            action=AccessLog.Action.EXPORT, user=auditor, object_type="access_log"
        ).count()
        == 1
    )


def _rows(count: int, make_user: Any) -> None:
    """`count` rows, each by a user of their own with a role, about a patient of their own."""
    for n in range(count):
        user = make_user(Role.SPECIALIST_NURSE, username=f"reader{n}")
        patient = PatientFactory()
        access_log_record(
            action=AccessLog.Action.VIEW,
            user=user,
            object_type="patient",
            object_id=patient.pk,
            patient_id=patient.pk,
        )


# The page's queries, whatever the number of rows: the session, the auditor, their two-factor
# device, their roles with every permission they hold (1), the row count, the page's rows with
# each row's user and patient (one query) and those users' roles (one query), the archived
# months, if any.
PAGE_QUERIES = 8
# The export's: the session, the auditor, their device, their roles and permissions (1), the
# export's own log row, the rows with their users and patients (one cursor) and those users'
# roles (one query per 2,000 rows).
CSV_QUERIES = 7


@pytest.mark.parametrize("count", [1, 50])
def test_the_page_takes_the_same_queries_for_1_and_50_rows(
    client, auditor, make_user, count, django_assert_num_queries
):
    _rows(count, make_user)
    client.force_login(auditor)
    with django_assert_num_queries(PAGE_QUERIES):
        response = client.get(URL, {"action": "VIEW"})
    assert len(response.context["entries"]) == count
    assert response.content.decode().count('data-testid="patient-nhs-number"') == count


@pytest.mark.parametrize("count", [1, 50])
def test_the_csv_takes_the_same_queries_for_1_and_50_rows(
    client, auditor, make_user, count, django_assert_num_queries
):
    _rows(count, make_user)
    client.force_login(auditor)
    with django_assert_num_queries(CSV_QUERIES):
        rows = _csv(client.get(URL, {"action": "VIEW", "format": "csv"}))
    assert len(rows) == count
    assert all(r["patient_nhs_number"] and r["user_roles"] == "Specialist nurse" for r in rows)


def test_reading_the_log_changes_no_row_and_keeps_the_chain(client, auditor, lead):
    for n in range(3):
        access_log_record(
            action=AccessLog.Action.VIEW,
            user=lead,
            object_type="patient",
            object_id=n,
            patient_id=PatientFactory().pk,
        )
    client.force_login(auditor)
    before = list(AccessLog.objects.order_by("pk").values_list("pk", "row_hash"))
    assert client.get(URL).status_code == 200
    b"".join(client.get(URL, {"format": "csv"}).streaming_content)
    after = list(AccessLog.objects.order_by("pk").values_list("pk", "row_hash"))
    # The page wrote nothing; the export wrote its one EXPORT row, chained after the others.
    assert after[: len(before)] == before
    assert [r.action for r in AccessLog.objects.filter(pk__gt=before[-1][0])] == [
        AccessLog.Action.EXPORT
    ]
    report = access_log_chain_verify()
    assert (report.intact, report.broken_at) == (len(after), None)
