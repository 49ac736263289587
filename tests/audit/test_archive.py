"""Old months of the access log: written to a checksummed file, removed from the table only after
the file is written, fsynced and read back, readable again, and nothing lost when a step fails."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse

from spoc.audit import archive as archive_module
from spoc.audit.archive import ArchiveError, access_log_archive_due, archive_verify
from spoc.audit.integrity import access_log_chain_verify
from spoc.audit.models import AccessLog, AccessLogArchive
from spoc.audit.services import access_log_record

# Rows in October, November and December 2025 and in December 2026; run on 6 December 2026 with
# 12 months online, October and November 2025 are past retention.
MOMENTS = [
    datetime(2025, 10, 3, 9, tzinfo=UTC),
    datetime(2025, 10, 31, 23, 30, tzinfo=UTC),  # 31 Oct, still October in London (GMT)
    datetime(2025, 11, 14, 12, tzinfo=UTC),
    datetime(2025, 12, 1, 8, tzinfo=UTC),
    datetime(2026, 12, 5, 8, tzinfo=UTC),
]
NOW = datetime(2026, 12, 6, 3, tzinfo=UTC)


@pytest.fixture
def archive_dir(settings: Any, tmp_path: Path) -> Path:
    settings.ACCESS_LOG_ARCHIVE_DIR = tmp_path / "archive"
    settings.ACCESS_LOG_ONLINE_MONTHS = 12
    return tmp_path / "archive"


def log_rows() -> list[AccessLog]:
    rows = []
    for n, moment in enumerate(MOMENTS):
        with time_machine.travel(moment, tick=False):
            rows.append(
                access_log_record(
                    action=AccessLog.Action.VIEW,
                    username=f"nurse{n}",
                    object_type="patient",
                    object_id=str(40 + n),
                    patient_id=40 + n,
                    detail={"n": n},
                )
            )
    return rows


@pytest.mark.django_db
def test_months_past_retention_are_archived_then_removed(
    archive_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = log_rows()
    # Each fsync of the file sees every row still in the table.
    in_table_at_fsync: list[int] = []
    real_fsync = os.fsync

    def fsync_seeing_the_table(fd: int) -> None:
        real_fsync(fd)
        in_table_at_fsync.append(AccessLog.objects.count())

    monkeypatch.setattr(archive_module.os, "fsync", fsync_seeing_the_table)
    with time_machine.travel(NOW, tick=False):
        done = access_log_archive_due()

    assert [f"{a.month:%Y-%m}" for a in done] == ["2025-10", "2025-11"]
    # File then directory, per month; the table full at the first month's, less October at the
    # second month's.
    assert in_table_at_fsync == [5, 5, 3, 3]
    assert list(AccessLog.objects.order_by("id").values_list("id", flat=True)) == [
        rows[3].pk,
        rows[4].pk,
    ]
    october, november = AccessLogArchive.objects.order_by("month")
    assert (october.rows, october.first_id, october.last_id) == (2, rows[0].pk, rows[1].pk)
    assert (november.rows, november.previous_hash) == (1, october.last_hash)
    assert november.last_hash == rows[2].row_hash
    # The file: its SHA-256 as recorded, its rows with every field, its own chain.
    path = archive_dir / october.file_name
    assert hashlib.sha256(path.read_bytes()).hexdigest() == october.sha256
    with gzip.open(path, "rb") as stream:
        lines = [json.loads(line) for line in stream]
    assert lines[0]["month"] == "2025-10" and lines[0]["previous_hash"] == "0" * 64
    assert [(r["id"], r["row_hash"], r["username"]) for r in lines[1:]] == [
        (rows[0].pk, rows[0].row_hash, "nurse0"),
        (rows[1].pk, rows[1].row_hash, "nurse1"),
    ]
    assert archive_verify(october).rows == 2
    assert not list(archive_dir.glob(".*partial"))
    # The chain of the rows left goes on from the archive.
    report = access_log_chain_verify()
    assert (report.intact, report.broken_at) == (2, None)
    # Run again: nothing more is due.
    with time_machine.travel(NOW, tick=False):
        assert access_log_archive_due() == []


@pytest.mark.django_db
def test_a_failure_mid_way_loses_nothing(
    archive_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_rows()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(archive_module.os, "fsync", disk_full)
    with time_machine.travel(NOW, tick=False), pytest.raises(OSError):
        access_log_archive_due()
    assert AccessLog.objects.count() == 5
    assert not AccessLogArchive.objects.exists()
    assert not (archive_dir / "access-log-2025-10.jsonl.gz").exists()

    # The file written and checked, but the removal takes other rows than those written: the
    # transaction is rolled back, every row stays, and the next run archives the month again.
    monkeypatch.undo()
    monkeypatch.setattr(archive_module, "_DELETE", archive_module._DELETE + " AND id < 0")
    with time_machine.travel(NOW, tick=False), pytest.raises(ArchiveError, match="0 removed"):
        access_log_archive_due()
    assert AccessLog.objects.count() == 5
    assert not AccessLogArchive.objects.exists()
    monkeypatch.undo()
    with time_machine.travel(NOW, tick=False):
        done = access_log_archive_due()
    assert [f"{a.month:%Y-%m}" for a in done] == ["2025-10", "2025-11"]
    assert AccessLog.objects.count() == 2
    assert access_log_chain_verify().broken_at is None


@pytest.mark.django_db
def test_the_database_refuses_to_delete_a_row_no_archive_covers(archive_dir: Path) -> None:
    log_rows()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_accesslog")
    with time_machine.travel(NOW, tick=False):
        access_log_archive_due()
    # Archived rows are gone; the others still cannot be deleted, nor any row changed.
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_accesslog")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_accesslog SET reason = 'x'")
    assert AccessLog.objects.count() == 2


@pytest.mark.django_db
def test_the_command_lists_verifies_and_reads_an_archive(archive_dir: Path) -> None:
    log_rows()
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("archive_access_log", stdout=out)
    assert "2025-10: 2 rows written to" in out.getvalue()
    assert "2 month(s) archived; rows from 2025-12 on stay online." in out.getvalue()

    out = StringIO()
    call_command("archive_access_log", "--list", stdout=out)
    assert "2025-11  1 rows" in out.getvalue()

    out = StringIO()
    call_command("archive_access_log", "--verify", stdout=out)
    assert out.getvalue().count("SHA-256 and chain as recorded") == 2

    out = StringIO()
    call_command("archive_access_log", "--read", "2025-10", "--patient", "41", stdout=out)
    read = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["username"], r["patient_id"], r["detail"]) for r in read] == [
        ("nurse1", 41, {"n": 1})
    ]
    # The reading is itself logged.
    logged = AccessLog.objects.get(object_type="access_log_archive")
    assert (logged.action, logged.object_id, logged.patient_id) == ("EXPORT", "2025-10", 41)

    # A file changed on disk is found.
    path = archive_dir / "access-log-2025-11.jsonl.gz"
    path.write_bytes(
        gzip.compress(gzip.decompress(path.read_bytes()).replace(b"nurse2", b"nurse9"))
    )
    err = StringIO()
    with pytest.raises(CommandError, match="1 archive file"):
        call_command("archive_access_log", "--verify", stdout=StringIO(), stderr=err)
    assert "access-log-2025-11.jsonl.gz: its SHA-256 is" in err.getvalue()
    assert "its chain breaks at row" in err.getvalue()
    with pytest.raises(CommandError, match="its SHA-256 is"):
        call_command("archive_access_log", "--read", "2025-11", stdout=StringIO())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--read", "2025-13"], "'2025-13' is not a month: write it as YYYY-MM"),
        (["--read", "last month"], "is not a month"),
        (["--read", "2024-01"], "2024-01 is not archived"),
        (["--verify", "2024-01"], "2024-01 is not archived"),
        (["--patient", "3"], "--patient goes with --read"),
    ],
)
def test_the_command_explains_bad_input(archive_dir: Path, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("archive_access_log", *args, stdout=StringIO())


@pytest.mark.django_db
def test_the_access_log_page_says_what_is_archived(
    client: Any, auditor: Any, archive_dir: Path
) -> None:
    log_rows()
    client.force_login(auditor)
    assert b"access-log-archived" not in client.get(reverse("audit:access-log")).content
    with time_machine.travel(NOW, tick=False):
        access_log_archive_due()
    page = client.get(reverse("audit:access-log")).content.decode()
    assert "Months from October 2025 to November 2025 (3 rows) are archived" in page
    assert "manage.py archive_access_log --read YYYY-MM" in page
