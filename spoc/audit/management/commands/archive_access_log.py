"""``manage.py archive_access_log``: archive the access log's months past retention, list,
verify and read the archives (docs/security.md, "Old months of the access log are archived")."""

from __future__ import annotations

import getpass
import json
import re
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from spoc.audit.archive import (
    ArchiveError,
    access_log_archive_due,
    archive_dir,
    archive_rows,
    archive_verify,
    online_from,
)
from spoc.audit.models import AccessLog, AccessLogArchive
from spoc.audit.services import access_log_record

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _month(value: str) -> date:
    match = _MONTH.match(value)
    if not match or not 1 <= int(match[2]) <= 12:
        raise CommandError(f"{value!r} is not a month: write it as YYYY-MM, e.g. 2025-11.")
    return date(int(match[1]), int(match[2]), 1)


class Command(BaseCommand):
    help = (
        "Without options: write every month of the access log older than ACCESS_LOG_ONLINE_MONTHS "
        "to a compressed file in ACCESS_LOG_ARCHIVE_DIR, check it, and only then remove its rows "
        "from the table (what the daily beat task does). --list shows the archives, --verify "
        "checks their files against the SHA-256, row counts and hashes recorded, --read prints "
        "an archived month's rows as JSON lines (the reading is written to the access log)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        what = parser.add_mutually_exclusive_group()
        what.add_argument("--list", action="store_true", help="List the archived months.")
        what.add_argument(
            "--verify",
            nargs="?",
            const="all",
            metavar="YYYY-MM",
            help="Check one archived month's file, or every one.",
        )
        what.add_argument(
            "--read", metavar="YYYY-MM", help="Print an archived month's rows as JSON lines."
        )
        parser.add_argument(
            "--patient", type=int, help="With --read: only the rows about this patient id."
        )

    def _archive(self, month: date) -> AccessLogArchive:
        archive = AccessLogArchive.objects.filter(month=month).first()
        if archive is None:
            raise CommandError(f"{month:%Y-%m} is not archived (see --list).")
        return archive

    def handle(self, *args: Any, **options: Any) -> None:
        if options["patient"] is not None and not options["read"]:
            raise CommandError("--patient goes with --read.")
        if options["list"]:
            self._list()
        elif options["verify"]:
            self._verify(options["verify"])
        elif options["read"]:
            self._read(_month(options["read"]), options["patient"])
        else:
            done = access_log_archive_due()
            for archive in done:
                self.stdout.write(
                    f"{archive.month:%Y-%m}: {archive.rows} rows written to "
                    f"{archive_dir() / archive.file_name} (SHA-256 {archive.sha256}) and removed "
                    "from the table."
                )
            self.stdout.write(
                f"{len(done)} month(s) archived; rows from {online_from():%Y-%m} on stay online."
            )

    def _list(self) -> None:
        archives = list(AccessLogArchive.objects.all())
        for archive in archives:
            self.stdout.write(
                f"{archive.month:%Y-%m}  {archive.rows} rows  ids {archive.first_id}-"
                f"{archive.last_id}  {archive.file_name}  SHA-256 {archive.sha256}"
            )
        self.stdout.write(f"{len(archives)} month(s) archived in {archive_dir()}.")

    def _verify(self, which: str) -> None:
        archives = (
            list(AccessLogArchive.objects.all())
            if which == "all"
            else [self._archive(_month(which))]
        )
        failed = []
        for archive in archives:
            try:
                check = archive_verify(archive)
            except ArchiveError as exc:
                failed.append(str(exc))
                self.stderr.write(str(exc))
            else:
                self.stdout.write(
                    f"{archive.month:%Y-%m}: {check.rows} rows, SHA-256 and chain as recorded."
                )
        if failed:
            raise CommandError(f"{len(failed)} archive file(s) do not match their records.")

    def _read(self, month: date, patient_id: int | None) -> None:
        archive = self._archive(month)
        try:
            archive_verify(archive)
        except ArchiveError as exc:
            raise CommandError(str(exc)) from exc
        access_log_record(
            action=AccessLog.Action.EXPORT,
            username=f"{getpass.getuser()} (manage.py archive_access_log)",
            object_type="access_log_archive",
            object_id=f"{month:%Y-%m}",
            patient_id=patient_id,
        )
        for row in archive_rows(archive_dir() / archive.file_name):
            if patient_id is None or row["patient_id"] == patient_id:
                row["at"] = row["at"].isoformat()
                self.stdout.write(json.dumps(row, sort_keys=True, ensure_ascii=False))
