"""Old months of the access log, written to compressed files and then removed from the table
(docs/security.md, "Old months of the access log are archived").

A month is archived when it is older than ``ACCESS_LOG_ONLINE_MONTHS`` whole months before the
current one, the oldest month first, one month per file under ``ACCESS_LOG_ARCHIVE_DIR``:

1. its rows, in id order, are written as gzip-compressed JSON lines (a header line, then one line
   per row with its id, its stored hash and every hashed field) to a temporary file, flushed and
   fsynced, renamed into place and the directory fsynced;
2. the file is read back: its SHA-256, its row count and its own hash chain (from the hash the
   month's first row links to, to the last row's) must match what was written;
3. in one transaction, the archive's row (file name, SHA-256, rows, ids, first and last hash) is
   written and the rows removed. The database's append-only trigger lets a row be deleted only
   when an archive row covers its id (migration 0006), and the transaction fails unless exactly
   the rows written were removed.

A failure at any step leaves the rows in the table; the next run writes the file again. The rows
taken are an id range, so the chain of the rows left goes on from the archive's last hash
(`spoc/audit/integrity.py`). The newest row is never archived: the next row links to it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from spoc.audit.chain import FIELDS, GENESIS, ChainReport, chain_check
from spoc.audit.models import AccessLog, AccessLogArchive
from spoc.core.dbroles import migrate_connection

logger = logging.getLogger(__name__)

FORMAT = "spoc-access-log-archive"
FORMAT_VERSION = 1
_PAGE = 5000
# The rows of one archive; the append-only trigger refuses any row no archive row covers.
_DELETE = "DELETE FROM audit_accesslog WHERE id > %s AND id <= %s"


class ArchiveError(Exception):
    """An archive file that is missing or does not match its record."""


@dataclass(frozen=True)
class ArchiveCheck:
    """What reading an archive file back found."""

    sha256: str
    rows: int
    chain: ChainReport


def archive_dir() -> Path:
    return Path(settings.ACCESS_LOG_ARCHIVE_DIR)


def _months_later(month: date, months: int) -> date:
    """The first day of the month ``months`` after (or, negative, before) ``month``'s."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _month_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day.replace(day=1), time.min))


def online_from(now: datetime | None = None) -> date:
    """The first day of the oldest month kept in the table: months before it are archived."""
    today = timezone.localdate(now or timezone.now())
    return _months_later(today, -settings.ACCESS_LOG_ONLINE_MONTHS)


def _rows(first_after: int, last_id: int) -> Iterator[dict[str, Any]]:
    """Rows with ids (first_after, last_id], in id order, a page at a time."""
    after = first_after
    while True:
        page = list(
            AccessLog.objects.filter(id__gt=after, id__lte=last_id)
            .order_by("id")
            .values_list("id", "row_hash", *FIELDS)[:_PAGE]
        )
        for row_id, row_hash, *values in page:
            yield {"id": row_id, "row_hash": row_hash, **dict(zip(FIELDS, values, strict=True))}
        if len(page) < _PAGE:
            return
        after = page[-1][0]


def _line(row: dict[str, Any]) -> bytes:
    row = dict(row, at=row["at"].isoformat(timespec="microseconds"))
    return json.dumps(row, sort_keys=True, ensure_ascii=False).encode() + b"\n"


class _Hashing:
    """A binary file that hashes what is written through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.hash = raw, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


def _write(path: Path, header: dict[str, Any], rows: Iterator[dict[str, Any]]) -> tuple[str, int]:
    """Write the file at ``path`` durably (temporary file, fsync, rename, fsync of the
    directory); return its SHA-256 and the rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial")
    count = 0
    with temporary.open("wb") as raw:
        hashing = _Hashing(raw)
        with gzip.GzipFile(filename="", mode="wb", fileobj=hashing, mtime=0) as out:  # type: ignore[arg-type]
            out.write(json.dumps(header, sort_keys=True).encode() + b"\n")
            for row in rows:
                out.write(_line(row))
                count += 1
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return hashing.hash.hexdigest(), count


def archive_header(path: Path) -> dict[str, Any]:
    """The first line of an archive file: its format, month, ids and first hash."""
    with gzip.open(path, "rb") as stream:
        header: dict[str, Any] = json.loads(stream.readline())
    if header.get("format") != FORMAT:
        raise ArchiveError(f"{path.name} is not an access-log archive.")
    return header


def archive_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of an archive file in id order, each as the table held it (``at`` aware)."""
    with gzip.open(path, "rb") as stream:
        stream.readline()
        for line in stream:
            row = json.loads(line)
            row["at"] = datetime.fromisoformat(row["at"])
            yield row


def archive_check(path: Path) -> ArchiveCheck:
    """Read a file back: its SHA-256, its rows and its own chain from the header's first hash."""
    if not path.is_file():
        raise ArchiveError(f"The archive file {path} is missing.")
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        for block in iter(lambda: raw.read(1 << 20), b""):
            digest.update(block)
    header = archive_header(path)
    rows = archive_rows(path)
    counted = 0

    def chained() -> Iterator[tuple[int, str, dict[str, Any]]]:
        nonlocal counted
        for row in rows:
            counted += 1
            yield row["id"], row["row_hash"], {name: row[name] for name in FIELDS}

    report = chain_check(chained(), previous=header["previous_hash"])
    for _ in rows:  # a broken chain stops the walk: count the rest
        counted += 1
    return ArchiveCheck(sha256=digest.hexdigest(), rows=counted, chain=report)


def archive_verify(archive: AccessLogArchive) -> ArchiveCheck:
    """Check an archive's file against its record; raise ArchiveError on any difference."""
    check = archive_check(archive_dir() / archive.file_name)
    problems = []
    if check.sha256 != archive.sha256:
        problems.append(f"its SHA-256 is {check.sha256}, {archive.sha256} was recorded")
    if check.rows != archive.rows:
        problems.append(f"it holds {check.rows} rows, {archive.rows} were recorded")
    if check.chain.broken_at is not None:
        problems.append(f"its chain breaks at row {check.chain.broken_at}")
    elif check.chain.head != archive.last_hash:
        problems.append("its last hash is not the one recorded")
    if problems:
        raise ArchiveError(f"{archive.file_name}: " + "; ".join(problems) + ".")
    return check


def _archive_oldest_month(before: date) -> AccessLogArchive | None:
    """Archive the oldest month still in the table if it ends on or before ``before``."""
    last = AccessLogArchive.objects.order_by("-last_id").first()
    after_id, previous_hash = (last.last_id, last.last_hash) if last else (0, GENESIS)
    oldest = AccessLog.objects.filter(id__gt=after_id).order_by("id").values("at").first()
    if oldest is None:
        return None
    month = timezone.localtime(oldest["at"]).date().replace(day=1)
    month_end = _months_later(month, 1)
    if month_end > before:
        return None
    newest = AccessLog.objects.aggregate(Max("id"))["id__max"]
    last_id = (
        AccessLog.objects.filter(id__gt=after_id, at__lt=_month_start(month_end)).aggregate(
            Max("id")
        )["id__max"]
        or after_id
    )
    if last_id >= newest:
        # The next row written links to the newest one: it stays.
        logger.warning("access log: %s not archived, it holds the newest row", f"{month:%Y-%m}")
        return None
    first_id = (
        AccessLog.objects.filter(id__gt=after_id).order_by("id").values_list("id", flat=True)[0]
    )
    last_hash = AccessLog.objects.values_list("row_hash", flat=True).get(id=last_id)
    file_name = f"access-log-{month:%Y-%m}.jsonl.gz"
    header = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "month": f"{month:%Y-%m}",
        "first_id": first_id,
        "last_id": last_id,
        "previous_hash": previous_hash,
        "fields": ["id", "row_hash", *FIELDS],
    }
    sha256, rows = _write(archive_dir() / file_name, header, _rows(after_id, last_id))
    archive = AccessLogArchive(
        month=month,
        file_name=file_name,
        sha256=sha256,
        rows=rows,
        first_id=first_id,
        last_id=last_id,
        previous_hash=previous_hash,
        last_hash=last_hash,
        archived_at=timezone.now(),
    )
    archive_verify(archive)
    with transaction.atomic():
        archive.save()
        with connection.cursor() as cursor:
            cursor.execute(_DELETE, [after_id, last_id])
            removed = cursor.rowcount
        if removed != rows:
            raise ArchiveError(
                f"{file_name}: {rows} rows written but {removed} removed; nothing was removed."
            )
    logger.info("access log: %s archived, %s rows in %s", f"{month:%Y-%m}", rows, file_name)
    return archive


def access_log_archive_due(*, now: datetime | None = None) -> list[AccessLogArchive]:
    """Archive every month older than the months kept online, the oldest first. Runs as the
    database's owner when DATABASE_MIGRATE_URL is set (the app's role may not delete from the
    access log)."""
    before = online_from(now)
    done: list[AccessLogArchive] = []
    with migrate_connection(using="default"):
        if not _may_delete():
            raise ArchiveError(
                "This database role may not delete from the access log: run "
                "`manage.py archive_access_log` where DATABASE_MIGRATE_URL names the owner."
            )
        while (archive := _archive_oldest_month(before)) is not None:
            done.append(archive)
    return done


def _may_delete() -> bool:
    """Whether the connected role may delete from the access log (the app's role may not:
    spoc/core/dbroles.py), asked before any file is written."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_table_privilege('audit_accesslog', 'DELETE')")
        return bool(cursor.fetchone()[0])


def archive_chain_start() -> tuple[str, int | None]:
    """The hash the first row in the table links to, and the last archived id before it."""
    last = AccessLogArchive.objects.order_by("-last_id").first()
    return (last.last_hash, last.last_id) if last else (GENESIS, None)
