"""Register a partner system from a script: prints its credentials as JSON, the secret once."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from spoc.accounts.partners import Scope, partner_register


class Command(BaseCommand):
    help = (
        "Register a partner system (NHS 111, a GP practice system, a hospital) and print "
        '{"client_id", "client_secret", "token_url"} as JSON. The secret is shown only now.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--ods", required=True, help="The partner's ODS code, e.g. A81001.")
        parser.add_argument(
            "--endpoint", default="", help="Where the hub sends the partner its responses."
        )
        parser.add_argument(
            "--scope",
            action="append",
            choices=Scope.ALL,
            dest="scopes",
            help="A scope to grant (repeat for more); default: all of them.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            issued = partner_register(
                name=options["name"],
                ods_code=options["ods"],
                endpoint=options["endpoint"],
                scopes=options["scopes"],
            )
        except ValidationError as exc:
            raise CommandError(
                "; ".join(
                    f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()
                )
            ) from exc
        self.stdout.write(
            json.dumps(
                {
                    "client_id": issued.partner.client_id,
                    "client_secret": issued.client_secret,
                    "token_url": f"{settings.HUB_URL}{reverse('oauth2-token')}",
                }
            )
        )
