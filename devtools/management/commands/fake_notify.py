"""`manage.py fake_notify`: a GOV.UK Notify to text (devtools/fake_notify.py; docs/operations.md,
"Urgent alerts and acknowledgement"). Takes the hub's text messages with Notify's checks, sends
their delivery receipts back to the hub, and lists them at http://127.0.0.1:8071/."""

from __future__ import annotations

import urllib.parse
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from devtools.fake_notify import Service, make_server
from devtools.fake_partner import add_server_arguments, serve_until_interrupted


def default_port() -> int:
    """The port of NOTIFY_BASE_URL, where the hub sends its texts (8071 in development)."""
    return urllib.parse.urlsplit(settings.NOTIFY_BASE_URL).port or 8071


class Command(BaseCommand):
    help = (
        "Play GOV.UK Notify for the hub's text messages: its v2 API with Notify's checks, "
        "delivery receipts to the hub, and a page of every text sent. Uses the hub's "
        "NOTIFY_API_KEY, NOTIFY_TEMPLATES and NOTIFY_CALLBACK_TOKEN."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_server_arguments(parser, port=default_port(), hub=settings.HUB_URL)
        parser.add_argument(
            "--receipt-after",
            type=float,
            default=2.0,
            metavar="SECONDS",
            help="Seconds before a text's delivery receipt is sent.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            service = Service.for_key(
                settings.NOTIFY_API_KEY,
                settings.NOTIFY_TEMPLATES,
                callback_url=options["hub"].rstrip("/") + reverse("alerts:notify-receipt"),
                callback_token=settings.NOTIFY_CALLBACK_TOKEN,
                receipt_after_seconds=options["receipt_after"],
                log=settings.DATA_DIR / "fake_notify" / "log.jsonl",
            )
        except ValueError as exc:
            raise CommandError(f"NOTIFY_API_KEY: {exc}") from exc
        server = make_server(service, host=options["host"], port=options["port"])
        self.stdout.write(
            f"Fake GOV.UK Notify at http://{options['host']}:{options['port']}/ (Ctrl-C to stop)"
        )
        serve_until_interrupted(server)
