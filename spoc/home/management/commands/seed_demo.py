from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from spoc.home.demo.directory import seed_directory
from spoc.home.demo.users import DEMO_USERS, seed_users


class Command(BaseCommand):
    help = "Build the fictional demo area and its staff. Idempotent; refused in production."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_DATA_ALLOWED:
            raise CommandError("Demo data is never created under production settings.")
        with transaction.atomic():
            users = seed_users(password=settings.DEMO_PASSWORD)
            seed_directory(users=users)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"Demo logins (password: {settings.DEMO_PASSWORD}):")
        for user in DEMO_USERS:
            self.stdout.write(f"  {user.username:<12} {user.role}")
