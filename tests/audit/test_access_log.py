import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.db.utils import ProgrammingError
from django.urls import reverse

from spoc.accounts.roles import Role
from spoc.audit import selectors
from spoc.audit.models import AccessLog, AccessLogAppendOnly
from spoc.audit.selectors import access_log_list
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
    assert page.context["page"].matched == 2
    assert b"2 rows" in page.content
    flagged = client.get(URL, {"flagged_only": "on"})
    assert [r.action for r in flagged.context["page"].rows] == ["BREAK_GLASS"]
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


def _views(user, count: int, *, at: datetime, patient_id: int = 1) -> list[int]:
    """``count`` rows written at the same instant (so only their ids order them), oldest first."""
    with time_machine.travel(at, tick=False):
        return [
            access_log_record(
                action=AccessLog.Action.VIEW,
                user=user,
                object_type="patient",
                object_id=patient_id,
                patient_id=patient_id,
            ).pk
            for _ in range(count)
        ]


def _newest_first() -> list[int]:
    """Every row's id in the page's order (the auditor's own sign-in among them)."""
    return list(AccessLog.objects.order_by("-at", "-id").values_list("pk", flat=True))


def _page(client, **params: str) -> tuple[list[int], str, str]:
    response = client.get(URL, params)
    assert response.status_code == 200
    page = response.context["page"]
    return [row.pk for row in page.rows], page.newer, page.older


def test_pages_go_older_and_newer_by_cursor_through_rows_of_one_instant(client, auditor, handler):
    moment = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
    _views(handler, 70, at=moment - timedelta(seconds=1))
    _views(handler, 49, at=moment)
    client.force_login(auditor)
    newest_first = _newest_first()
    assert len(newest_first) == 120
    first, newer, older = _page(client)
    assert first == newest_first[:50] and newer == "" and older
    second, newer, older = _page(client, before=older)
    assert second == newest_first[50:100] and newer and older
    third, newer_of_third, older = _page(client, before=older)
    assert third == newest_first[100:] and older == ""
    back, _, _ = _page(client, after=newer_of_third)
    assert back == second
    top, newer, _ = _page(client, after=newer)
    assert top == first and newer == ""


def test_rows_written_while_paging_do_not_shift_the_older_pages(client, auditor, handler):
    _views(handler, 60, at=datetime(2026, 6, 15, 9, 0, tzinfo=UTC))
    client.force_login(auditor)
    before = _newest_first()
    _, _, older = _page(client)
    _views(handler, 5, at=datetime(2026, 6, 15, 10, 0, tzinfo=UTC))
    second, _, _ = _page(client, before=older)
    assert second == before[50:]


def test_the_paging_links_keep_the_filters(client, auditor, handler, make_user):
    nurse = make_user(Role.SPECIALIST_NURSE, username="nurse1")
    _views(handler, 55, at=datetime(2026, 6, 15, 9, 0, tzinfo=UTC))
    _views(nurse, 3, at=datetime(2026, 6, 15, 9, 5, tzinfo=UTC))
    client.force_login(auditor)
    response = client.get(URL, {"username": "HANDLER1"})
    older = response.context["page"].older
    assert f'href="?username=HANDLER1&amp;before={older}"'.encode() in response.content
    assert response.context["page"].matched == 55
    second, _, _ = _page(client, username="HANDLER1", before=older)
    assert len(second) == 5
    unfiltered = client.get(URL)
    assert f'href="?before={unfiltered.context["page"].older}"'.encode() in unfiltered.content
    assert set(AccessLog.objects.filter(pk__in=second).values_list("username", flat=True)) == {
        "handler1"
    }


@pytest.mark.parametrize("cursor", ["x", "12-", "99999999999999999-1", "1-2-3"])
def test_a_cursor_the_page_did_not_make_shows_the_newest_page(client, auditor, handler, cursor):
    _views(handler, 3, at=datetime(2026, 6, 15, 9, 0, tzinfo=UTC))
    client.force_login(auditor)
    assert _page(client, before=cursor)[0] == _newest_first()
    assert _page(client, after=cursor)[0] == _newest_first()


def test_a_cursor_past_the_newest_row_shows_the_newest_page(client, auditor, handler):
    _views(handler, 3, at=datetime(2026, 6, 15, 9, 0, tzinfo=UTC))
    client.force_login(auditor)
    newest_first = _newest_first()
    newest = selectors.access_log_cursor(AccessLog.objects.get(pk=newest_first[0]))
    assert _page(client, after=newest)[0] == newest_first


def test_the_count_stops_at_its_cap_and_says_more_than(client, auditor, handler, monkeypatch):
    _views(handler, 5, at=datetime(2026, 6, 15, 9, 0, tzinfo=UTC))
    client.force_login(auditor)  # the sixth row
    monkeypatch.setattr(selectors, "COUNT_CAP", 6)
    exact = client.get(URL)
    assert exact.context["page"].matched == 6
    assert b'data-testid="access-log-count">6 rows<' in exact.content
    monkeypatch.setattr(selectors, "COUNT_CAP", 5)
    capped = client.get(URL)
    assert capped.context["page"].matched is None
    assert b'data-testid="access-log-count">More than 5 rows<' in capped.content
    assert b"set the dates" in capped.content


def test_the_date_range_reaches_old_rows_and_pages_within_it(client, auditor, handler):
    old = _views(handler, 52, at=datetime(2026, 1, 10, 9, 0, tzinfo=UTC))
    _views(handler, 60, at=datetime(2026, 6, 15, 9, 0, tzinfo=UTC))
    client.force_login(auditor)
    first, _, older = _page(client, date_to="2026-01-31")
    assert first == old[::-1][:50]
    assert _page(client, date_to="2026-01-31", before=older)[0] == old[::-1][50:]


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"username": "Nurse"}, "accesslog_username_at"),
        ({"action": "BREAK_GLASS"}, "accesslog_action_at"),
        ({"flagged_only": True}, "accesslog_flagged_at"),
    ],
)
def test_each_filter_of_the_page_can_seek_its_own_index(filters, index):
    # Small tables are read whole whatever the indexes: forbid that, so the plan shows whether
    # the filter, as the ORM writes it, is one the index answers.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = access_log_list(**filters)[:50].explain()
    assert index in plan


def test_the_user_has_no_index_of_its_own_beside_user_and_time():
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, "audit_accesslog")
    on_user = [v["columns"] for v in indexes.values() if v["index"] and "user_id" in v["columns"]]
    assert on_user == [["user_id", "at"]]
