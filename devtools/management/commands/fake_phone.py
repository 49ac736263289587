"""`manage.py fake_phone`: a phone system to test with (devtools/fake_phone.py; docs/telephony.md,
"A phone to test with"). Serves a page of buttons at http://127.0.0.1:8072/ that ring the SPOC
from a demo carer's number, answer on an extension, hang up or give up, each sending the hub a
signed event; or plays a script from the command line and exits."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from devtools.fake_partner import add_server_arguments, serve_until_interrupted
from devtools.fake_phone import (
    ACTIONS,
    DEFAULT_EXTENSION,
    DEFAULT_SECRET,
    FAKE_PHONE_PORT,
    Phone,
    make_server,
)

# When the demo has no carer with a phone (seed_demo not run): a number of Ofcom's drama range.
FALLBACK_CALLER = "07700 900123"


def demo_carer_number() -> str:
    """A demo main carer's phone, so the screen pop offers the patient they care for."""
    from django.db import DatabaseError

    from patients.models import RelatedPerson

    try:
        carer = (
            RelatedPerson.objects.filter(is_main_carer=True, patient__died_at__isnull=True)
            .exclude(phone="")
            .order_by("id")
            .first()
        )
    except DatabaseError:  # no database yet: the phone still rings, from a number of its own
        return FALLBACK_CALLER
    return carer.phone.as_national if carer is not None else FALLBACK_CALLER


class Command(BaseCommand):
    help = (
        "Play the SPOC's phone system: a page of buttons (http://127.0.0.1:8072/) that send the hub "
        "signed call events. --play ring answer hangup (or abandon, voicemail) sends those events "
        "for one call and exits."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_server_arguments(parser, port=FAKE_PHONE_PORT, hub=settings.HUB_URL)
        parser.add_argument(
            "--secret",
            default=getattr(settings, "TELEPHONY_WEBHOOK_SECRET", "") or DEFAULT_SECRET,
            help="The shared secret events are signed with (TELEPHONY_WEBHOOK_SECRET).",
        )
        parser.add_argument("--caller", default="", help="Default: a demo carer's number.")
        parser.add_argument("--extension", default=DEFAULT_EXTENSION)
        parser.add_argument(
            "--play", nargs="+", choices=sorted(ACTIONS), default=[], metavar="STEP"
        )
        parser.add_argument(
            "--pause", type=float, default=2.0, help="Seconds between the steps of --play."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        phone = Phone(
            hub_url=options["hub"].rstrip("/"),
            secret=options["secret"],
            caller=options["caller"] or demo_carer_number(),
            extension=options["extension"],
        )
        if options["play"]:
            failed = False
            for n, step in enumerate(options["play"]):
                if n:
                    time.sleep(options["pause"])
                status = ACTIONS[step](phone)
                self.stdout.write(phone.log[-1])
                failed = failed or not 200 <= status < 300
            if failed:
                raise CommandError("The hub refused an event (above).")
            return
        server = make_server(phone, host=options["host"], port=options["port"])
        self.stdout.write(
            f"Fake phone at http://{options['host']}:{options['port']}/, ringing from "
            f"{phone.caller} (Ctrl-C to stop)"
        )
        serve_until_interrupted(server)
