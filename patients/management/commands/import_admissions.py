"""``manage.py import_admissions FILE.csv``: validated, atomic, reports rejected rows by line."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from patients.admissions import IMPORT_COLUMNS, admissions_import
from spoc.core.csv_import import csv_import_file


class Command(BaseCommand):
    help = (
        f"Import hospital admissions from a CSV file with the columns {', '.join(IMPORT_COLUMNS)} "
        "(type: emergency or elective). Nothing is saved if any row is rejected."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
        result = csv_import_file(
            self, options["file"], lambda lines: admissions_import(lines=lines)
        )
        self.stdout.write(f"Imported {result.imported} admission(s).")
