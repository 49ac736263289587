"""The access log's hash chain: each row is linked to the one before, writers never fork it, and
`manage.py verify_access_log` names the first row that a superuser changed or removed."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import TypedDict, Unpack
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction

from spoc.audit import chain
from spoc.audit.integrity import access_log_chain_verify
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record
from tests.factories import UserFactory

WHEN = datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=UTC)


class Row(TypedDict, total=False):
    """The keyword arguments of `chain.canonical` (every one is given; a change gives a few)."""

    at: datetime
    user_id: int | None
    username: str
    action: str
    object_type: str
    object_id: str
    patient_id: int | None
    client_ip: str | None
    reason: str
    detail: object
    flagged: bool


def fields(**changes: Unpack[Row]) -> Row:
    row: Row = {
        "at": WHEN,
        "user_id": 3,
        "username": "nurse1",
        "action": "VIEW",
        "object_type": "patient",
        "object_id": "42",
        "patient_id": 42,
        "client_ip": "192.0.2.7",
        "reason": "",
        "detail": {"b": 1, "a": [1, 2.5]},
        "flagged": False,
    }
    row.update(changes)
    return row


# --- The canonical form and the walk, without a database -----------------------------------------


def test_canonical_form_is_the_same_however_the_values_are_spelt():
    same = chain.canonical(
        **fields(
            at=WHEN.astimezone(ZoneInfo("Europe/London")),
            detail={"a": (1, 2.5), "b": 1},
        )
    )
    assert chain.canonical(**fields()) == same
    # One IPv4-mapped IPv6 address, as PostgreSQL and Python may each print it.
    assert chain.canonical(**fields(client_ip="::ffff:1.2.3.4")) == chain.canonical(
        **fields(client_ip="::ffff:102:304")
    )


@pytest.mark.parametrize(
    "change",
    [
        {"at": WHEN + timedelta(microseconds=1)},
        {"user_id": 4},
        {"username": "nurse2"},
        {"action": "EXPORT"},
        {"object_type": "referral"},
        {"object_id": "43"},
        {"patient_id": None},
        {"client_ip": "192.0.2.8"},
        {"reason": "x"},
        {"detail": {"b": 1, "a": [1, 2.6]}},
        {"flagged": True},
    ],
)
def test_every_field_counts_in_the_hash(change):
    assert chain.canonical(**fields(**change)) != chain.canonical(**fields())


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        chain.canonical(**fields(at=WHEN.replace(tzinfo=None)))


def walk(rows: list[Row]) -> list[tuple[int, str, Row]]:
    linked, previous = [], chain.GENESIS
    for row_id, row in enumerate(rows, start=1):
        previous = chain.link(previous=previous, digest=chain.digest(chain.canonical(**row)))
        linked.append((row_id, previous, row))
    return linked


def test_chain_check_counts_an_intact_chain_and_names_its_head():
    rows = walk([fields(object_id=str(n)) for n in range(5)])
    assert chain.chain_check(rows) == chain.ChainReport(intact=5, head=rows[-1][1])
    assert chain.chain_check([]) == chain.ChainReport(intact=0, head=chain.GENESIS)


def test_chain_check_names_a_changed_row_and_the_row_after_a_removed_one():
    rows = walk([fields(object_id=str(n)) for n in range(5)])
    changed = [*rows[:2], (3, rows[2][1], fields(object_id="2", reason="edited")), *rows[3:]]
    assert chain.chain_check(changed) == chain.ChainReport(
        intact=2, head=rows[1][1], broken_at=3, after=2
    )
    removed = [*rows[:2], *rows[3:]]
    assert chain.chain_check(removed) == chain.ChainReport(
        intact=2, head=rows[1][1], broken_at=4, after=2
    )
    assert chain.chain_check(rows[1:]).broken_at == 2


# --- Rows written by access_log_record (PostgreSQL) -------------------------------------------------


def write_rows(count: int, user=None) -> list[AccessLog]:
    return [
        access_log_record(
            action=AccessLog.Action.VIEW,
            user=user,
            object_type="patient",
            object_id=n,
            patient_id=n,
            detail={"n": n},
        )
        for n in range(count)
    ]


def verify() -> str:
    out = StringIO()
    call_command("verify_access_log", stdout=out)
    return out.getvalue()


def tamper(sql: str, row: AccessLog) -> None:
    """Run ``sql`` on ``row`` (its id is the one parameter) past the log's append-only trigger, as
    only the database's superuser could."""
    with connection.cursor() as cursor:
        # The rows' deferred foreign-key checks first: ALTER TABLE refuses to run with them pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE audit_accesslog DISABLE TRIGGER audit_accesslog_append_only")
        cursor.execute(sql, [row.pk])
        cursor.execute("ALTER TABLE audit_accesslog ENABLE TRIGGER audit_accesslog_append_only")


@pytest.mark.django_db
def test_each_row_links_to_the_one_before():
    rows = write_rows(3)
    stored = AccessLog.objects.filter(pk=rows[0].pk).values_list(*chain.FIELDS).get()
    first = chain.digest(chain.canonical(**dict(zip(chain.FIELDS, stored, strict=True))))
    assert rows[0].row_hash == chain.link(previous=chain.GENESIS, digest=first)
    assert len({r.row_hash for r in rows}) == 3
    assert AccessLog.objects.get(pk=rows[2].pk).row_hash == rows[2].row_hash


@pytest.mark.django_db
def test_verify_access_log_says_the_chain_is_intact_with_the_count():
    user = UserFactory()
    write_rows(120, user=user)
    access_log_record(
        action=AccessLog.Action.BREAK_GLASS,
        user=user,
        object_type="patient",
        object_id=9,
        patient_id=9,
        reason="Urgent call, own nurse unreachable – “quoted”",
    )
    # Small pages, so that the walk crosses several of them.
    assert access_log_chain_verify(batch_size=7).intact == 121
    assert "Access log chain intact: 121 rows" in verify()


@pytest.mark.django_db
def test_a_reason_changed_by_the_superuser_is_found_with_its_row_id():
    rows = write_rows(5)
    tamper("UPDATE audit_accesslog SET reason = 'nothing to see' WHERE id = %s", rows[2])
    with pytest.raises(
        CommandError, match=rf"broken at row {rows[2].pk} \(after row {rows[1].pk}; 2 rows"
    ):
        verify()


@pytest.mark.django_db
def test_a_row_deleted_from_the_middle_is_found():
    rows = write_rows(5)
    tamper("DELETE FROM audit_accesslog WHERE id = %s", rows[2])
    with pytest.raises(
        CommandError, match=rf"broken at row {rows[3].pk} \(after row {rows[1].pk};"
    ):
        verify()


@pytest.mark.django_db
def test_a_rolled_back_row_leaves_no_gap_in_the_chain():
    write_rows(2)
    with pytest.raises(RuntimeError), transaction.atomic():
        write_rows(1)
        raise RuntimeError("the caller's transaction fails after its log row")
    write_rows(2)
    assert access_log_chain_verify().intact == 4


@pytest.mark.django_db(transaction=True)
def test_writers_in_many_threads_never_fork_the_chain():
    threads, per_thread, errors = 6, 40, []
    start = threading.Barrier(threads)

    def writer() -> None:
        try:
            start.wait()
            for n in range(per_thread):
                # Half the rows inside a caller's own transaction, as services write them.
                if n % 2:
                    with transaction.atomic():
                        write_rows(1)
                else:
                    write_rows(1)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=writer) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    report = access_log_chain_verify()
    assert (report.intact, report.broken_at) == (threads * per_thread, None)
