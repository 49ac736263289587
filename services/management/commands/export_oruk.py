from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from services.oruk import directory_export


class Command(BaseCommand):
    help = "Write the service directory as Open Referral UK JSON, to FILE or to standard output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="where to write (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        text = json.dumps(directory_export(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        if options["file"] is None:
            self.stdout.write(text, ending="")
            return
        try:
            Path(options["file"]).write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(
                f"Cannot write {options['file']}: {error.strerror or error}."
            ) from error
        self.stderr.write(f"Directory written to {options['file']}.")
