"""`manage.py fake_partner`: a partner to talk to (devtools/fake_partner.py; docs/interop.md, "A
partner to talk to"). Serves the fake NHS 111 provider's and GP practices' endpoints and the page
that shows what the hub sent them; sends the hub referrals from files or made up."""

from __future__ import annotations

import json
import random
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from devtools.demo.partners import CREDENTIALS_FILE, FAKE_PARTNER_PORT
from devtools.fake_partner import (
    Hub,
    Journal,
    add_server_arguments,
    make_server,
    referral_message,
    send_messages,
)


class Command(BaseCommand):
    help = (
        "Play an NHS 111 provider and the demo's GP practices: serve their endpoints and a page of "
        "what the hub sent them (http://127.0.0.1:8070/), and send the hub BaRS referrals. "
        "--send FILE (repeat) or --generate N sends and exits; --every S sends a made-up referral "
        "every S seconds while serving. Credentials come from seed_demo."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_server_arguments(parser, port=FAKE_PARTNER_PORT, hub=settings.HUB_URL)
        parser.add_argument(
            "--credentials",
            default=str(settings.DATA_DIR / CREDENTIALS_FILE),
            help="JSON with the 111 provider's client_id and client_secret (seed_demo writes it).",
        )
        parser.add_argument("--send", action="append", default=[], metavar="FILE")
        parser.add_argument("--generate", type=int, default=0, metavar="N")
        parser.add_argument("--every", type=float, default=0.0, metavar="SECONDS")
        parser.add_argument("--seed", type=int, default=None, help="Make-up the same referrals.")

    def handle(self, *args: Any, **options: Any) -> None:
        journal = Journal(settings.DATA_DIR / "fake_partner" / "log.jsonl")
        rng = random.Random(options["seed"])  # noqa: S311 (made-up demo people, not secrets)
        if options["send"] or options["generate"]:
            hub = self._hub(options)
            messages = [
                json.loads(Path(name).read_text(encoding="utf-8")) for name in options["send"]
            ]
            messages += [
                referral_message(rng, now=datetime.now(UTC)) for _ in range(options["generate"])
            ]
            statuses = send_messages(hub, journal, messages)
            for entry in journal.all():
                self.stdout.write(f"{entry.status} {entry.summary}")
            if any(status >= 300 for status in statuses):
                raise CommandError("The hub refused a message (above).")
            return
        server = make_server(journal, host=options["host"], port=options["port"])
        stop = threading.Event()
        if options["every"] > 0:
            try:
                hub = self._hub(options)
            except CommandError as exc:  # serve anyway: the hub may still send it messages
                self.stderr.write(f"{exc} Serving without sending.")
                options["every"] = 0
        if options["every"] > 0:
            threading.Thread(
                target=self._send_every,
                args=(hub, journal, rng, options["every"], stop),
                daemon=True,
            ).start()
        self.stdout.write(
            f"Fake partner at http://{options['host']}:{options['port']}/ (Ctrl-C to stop)"
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            server.server_close()

    def _hub(self, options: dict[str, Any]) -> Hub:
        path = Path(options["credentials"])
        try:
            credentials = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(
                f"No partner credentials in {path}: run `manage.py seed_demo` first."
            ) from exc
        return Hub(
            url=options["hub"].rstrip("/"),
            client_id=credentials["client_id"],
            client_secret=credentials["client_secret"],
        )

    def _send_every(
        self, hub: Hub, journal: Journal, rng: random.Random, seconds: float, stop: threading.Event
    ) -> None:
        # The first referral once the hub has had time to start.
        while not stop.wait(seconds):
            try:
                send_messages(hub, journal, [referral_message(rng, now=datetime.now(UTC))])
            # ValueError: the hub's answer was not JSON. Any of these ends this referral only:
            # the thread keeps sending.
            except (OSError, RuntimeError, ValueError) as exc:
                self.stderr.write(f"Fake partner: could not send a referral: {exc}")
