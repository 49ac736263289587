"""Import GP practices from a CSV file (docs/directory.md, "GP practices")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from services.practices import gp_practices_import


class Command(BaseCommand):
    help = "Create or update GP practices from a CSV file with the header ods_code,name,postcode,endpoint."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        result = gp_practices_import(text.splitlines())
        if result.rejected:
            raise CommandError(
                "Nothing imported:\n"
                + "\n".join(f"  line {line}: {why}" for line, why in result.rejected)
            )
        self.stdout.write(f"{result.created} practices added, {result.updated} updated.")
