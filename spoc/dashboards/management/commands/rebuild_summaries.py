"""``manage.py rebuild_summaries``: recompute every dashboard summary from the raw rows."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from spoc.dashboards.services import summaries_rebuild


class Command(BaseCommand):
    help = "Rebuild the dashboard summary tables from calls, referrals, events, interventions and deaths."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            result = summaries_rebuild()
        except NotImplementedError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Rebuilt {result.dates} days and {result.deaths_patients} death outcomes "
            f"in {time.monotonic() - started:.1f} s."
        )
