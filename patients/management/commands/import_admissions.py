"""``manage.py import_admissions FILE.csv``: validated, atomic, reports rejected rows by line."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from patients.admissions import IMPORT_COLUMNS, admissions_import


class Command(BaseCommand):
    help = (
        f"Import hospital admissions from a CSV file with the columns {', '.join(IMPORT_COLUMNS)} "
        "(type: emergency or elective). Nothing is saved if any row is rejected."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with open(options["file"], encoding="utf-8-sig", newline="") as handle:
                result = admissions_import(lines=handle)
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{options['file']} is not UTF-8 text.") from exc
        if result.rejected:
            for line, message in result.rejected:
                self.stderr.write(f"line {line}: {message}")
            raise CommandError(f"{len(result.rejected)} row(s) rejected; nothing imported.")
        self.stdout.write(f"Imported {result.imported} admission(s).")
