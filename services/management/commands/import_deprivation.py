"""``manage.py import_deprivation FILE.csv``: postcode,decile rows, validated, atomic, idempotent."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from services.deprivation import IMPORT_COLUMNS, deprivation_import
from spoc.core.csv_import import csv_import_file


class Command(BaseCommand):
    help = (
        f"Import area deprivation deciles from a CSV file with the columns "
        f"{', '.join(IMPORT_COLUMNS)} (1 most deprived to 10 least). Nothing is saved if any row "
        "is rejected; importing the same file again changes nothing. Run rebuild_summaries after "
        "an import that changed deciles, so the dashboards use them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
        result = csv_import_file(
            self, options["file"], lambda lines: deprivation_import(lines=lines)
        )
        self.stdout.write(
            f"Imported deprivation deciles: {result.added} postcode(s) added, {result.changed} "
            f"changed, {result.unchanged} unchanged."
        )
        if result.added or result.changed:
            self.stdout.write(
                "Run manage.py rebuild_summaries so that the dashboards use the new deciles."
            )
