import csv
import io

import pytest
from django.db import connection, transaction
from django.db.utils import ProgrammingError
from django.urls import reverse

from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog, AccessLogAppendOnly
from spoc.audit.services import access_log_record

pytestmark = pytest.mark.django_db
URL = reverse("audit:access-log")


def test_rows_cannot_be_edited_or_deleted_through_the_orm(handler):
    row = access_log_record(
        action=AccessLog.Action.VIEW, user=handler, object_type="patient", object_id=7, patient_id=7
    )
    row.reason = "changed"
    with pytest.raises(AccessLogAppendOnly):
        row.save()
    with pytest.raises(AccessLogAppendOnly):
        row.delete()
    with pytest.raises(AccessLogAppendOnly):
        AccessLog.objects.filter(pk=row.pk).update(reason="x")
    with pytest.raises(AccessLogAppendOnly):
        AccessLog.objects.filter(pk=row.pk).delete()


def test_the_database_refuses_updates_and_deletes(handler):
    row = access_log_record(
        action=AccessLog.Action.VIEW, user=handler, object_type="patient", object_id=7, patient_id=7
    )
    for statement in (
        "UPDATE audit_accesslog SET reason = 'x' WHERE id = %s",
        "DELETE FROM audit_accesslog WHERE id = %s",
    ):
        # The trigger's RAISE EXCEPTION (SQLSTATE P0001), which psycopg 3 classes as a ProgrammingError.
        with (
            pytest.raises(ProgrammingError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [row.pk])
    assert AccessLog.objects.get(pk=row.pk).reason == ""


def test_auditor_filters_by_user_patient_and_action(client, auditor, handler):
    access_log_record(
        action=AccessLog.Action.VIEW, user=handler, object_type="patient", object_id=1, patient_id=1
    )
    access_log_record(
        action=AccessLog.Action.VIEW, user=handler, object_type="patient", object_id=2, patient_id=2
    )
    access_log_record(
        action=AccessLog.Action.BREAK_GLASS,
        user=handler,
        object_type="patient",
        object_id=2,
        patient_id=2,
        reason="Urgent call, patient's own nurse unreachable",
    )
    client.force_login(auditor)
    page = client.get(URL, {"username": "handler1", "patient_id": 2})
    assert page.status_code == 200
    assert page.context["page"].paginator.count == 2
    flagged = client.get(URL, {"flagged_only": "on"})
    assert [r.action for r in flagged.context["page"]] == ["BREAK_GLASS"]
    assert b"Urgent call, patient&#x27;s own nurse unreachable" in flagged.content


def test_invalid_filter_gets_a_message_not_an_error(client, auditor):
    client.force_login(auditor)
    response = client.get(
        URL, {"date_from": "2026-11-20", "date_to": "2026-11-01", "patient_id": "abc"}
    )
    assert response.status_code == 200
    assert b"The end date must be on or after the start date." in response.content
    assert b"Enter a whole number." in response.content


def test_csv_export_matches_the_filter_and_is_itself_logged(client, auditor, handler):
    access_log_record(
        action=AccessLog.Action.VIEW, user=handler, object_type="patient", object_id=1, patient_id=1
    )
    client.force_login(auditor)
    response = client.get(URL, {"action": "VIEW", "format": "csv"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["at", "username", "action"]
    assert [r[1:3] for r in rows[1:]] == [["handler1", "VIEW"]]
    assert AccessLog.objects.filter(
        action=AccessLog.Action.EXPORT, user=auditor, object_type="access_log"
    ).exists()


@pytest.mark.parametrize("role", [r for r in Role if r != Role.AUDITOR])
def test_only_auditors_read_the_access_log(client, make_user, role):
    client.force_login(make_user(role))
    assert client.get(URL).status_code == 403


def test_access_log_page_query_count_is_constant(
    client, auditor, handler, django_assert_max_num_queries
):
    for i in range(120):
        access_log_record(
            action=AccessLog.Action.VIEW,
            user=handler,
            object_type="patient",
            object_id=i,
            patient_id=i,
        )
    client.force_login(auditor)
    # 4 fewer than before: no session save on each page (3: savepoint, update, release), the roles
    # read with the permissions (1); 1 more for the archived months the page mentions.
    with django_assert_max_num_queries(9):
        assert client.get(URL).status_code == 200
