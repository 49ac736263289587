"""``manage.py verify_access_log``: check the access log's hash chain from its first row."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from spoc.audit.integrity import access_log_chain_verify


class Command(BaseCommand):
    help = (
        "Walk the access log's hash chain in id order. Exits 0 and prints the row count and the "
        "last hash when every row holds; exits 1 naming the first row that does not (a row "
        "changed, or a row removed or inserted just before it)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="Rows read per query (default 5000)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = access_log_chain_verify(batch_size=options["batch_size"])
        if report.broken_at is not None:
            after = f"row {report.after}" if report.after is not None else "the start of the log"
            raise CommandError(
                f"Access log chain broken at row {report.broken_at} (after {after}; "
                f"{report.intact} rows before it hold): that row was changed, or a row was "
                "removed or inserted just before it."
            )
        self.stdout.write(
            f"Access log chain intact: {report.intact} rows; last hash {report.head}."
        )
