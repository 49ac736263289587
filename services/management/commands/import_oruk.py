from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from services.oruk import OrukImportError, directory_import


class Command(BaseCommand):
    help = (
        "Create or update the service directory from an Open Referral UK JSON file. "
        "All or nothing: any invalid record refuses the whole file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the JSON file (as written by export_oruk)")
        parser.add_argument(
            "--dry-run", action="store_true", help="check the file and count, but save nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror or error}.") from error
        except UnicodeDecodeError as error:
            raise CommandError(f"{path} is not UTF-8 text: {error}.") from error
        except json.JSONDecodeError as error:
            raise CommandError(
                f"{path} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
            ) from error
        try:
            result = directory_import(data, dry_run=options["dry_run"])
        except OrukImportError as error:
            raise CommandError(str(error)) from error
        for line in result.lines():
            self.stdout.write(line)
