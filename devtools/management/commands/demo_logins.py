"""`manage.py demo_logins`: the demo users and their password, which `runhub` prints once the hub
has started."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from devtools.demo.users import demo_login_lines


class Command(BaseCommand):
    help = "List the demo users that seed_demo creates, with their role and password."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Demo logins, password {settings.DEMO_PASSWORD!r}:")
        for line in demo_login_lines():
            self.stdout.write(line)
