"""`manage.py seed_demo`: the demo area, its staff and patients (docs/design.md §12); `--scale N`
adds bulk data for benchmarks (docs/performance.md)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from devtools.demo.deprivation import seed_deprivation
from devtools.demo.directory import seed_directory
from devtools.demo.feedback import seed_feedback
from devtools.demo.partners import seed_partners
from devtools.demo.patients import DEMO_NHS_RESERVED, DEMO_PATIENTS, seed_patients
from devtools.demo.rota import seed_rota
from devtools.demo.users import demo_login_lines, seed_users


@contextmanager
def _tasks_run_inline() -> Iterator[None]:
    """Run Celery tasks in this process while seeding.

    The demo history is routed synchronously, as it happened; ``call_submit`` still enqueues
    routing when the seed commits. Inline, those tasks find their referral already queued and
    return, and no broker is needed (or waited for) to seed.
    """
    from spoc.celery import app

    eager = app.conf.task_always_eager
    # One INFO line per no-op task would bury the summary.
    trace_log = logging.getLogger("celery.app.trace")
    level = trace_log.level
    app.conf.task_always_eager = True
    trace_log.setLevel(logging.WARNING)
    try:
        # History is not news: no "new referral" emails for it.
        with override_settings(NOTIFY_NEW_REFERRALS=False):
            yield
    finally:
        app.conf.task_always_eager = eager
        trace_log.setLevel(level)


class Command(BaseCommand):
    help = (
        "Build the fictional demo area, its staff and a few hundred patients with three months of "
        "calls, care plans and referrals. Idempotent; refused in production. --scale N then adds "
        "N generated patients with calls and referrals over 12 months, in bulk, for benchmarks "
        "(PostgreSQL COPY; bulk_create on SQLite). NHS numbers come only from the reserved test "
        "range 999 000 0000-999 999 9999, which holds 909,091 valid numbers: patients beyond "
        "that get no NHS number and status 03 (trace required)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale",
            type=int,
            default=0,
            metavar="N",
            help="also generate N more patients with calls and referrals (adds N on every run)",
        )
        parser.add_argument(
            "--patients",
            type=int,
            default=DEMO_PATIENTS,
            metavar="N",
            help=f"how many demo patients (default {DEMO_PATIENTS}); those already there are kept",
        )
        parser.add_argument(
            "--chunk",
            type=int,
            default=50_000,
            metavar="ROWS",
            help="patients per COPY round (each round is one transaction); default 50,000",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_DATA_ALLOWED:
            raise CommandError("Demo data is never created under production settings.")
        scale: int = options["scale"]
        if scale < 0:
            raise CommandError("--scale must be zero or more.")
        if options["chunk"] < 1:
            raise CommandError("--chunk must be at least 1.")
        if not 0 <= options["patients"] <= DEMO_NHS_RESERVED:
            raise CommandError(f"--patients must be 0 to {DEMO_NHS_RESERVED}.")
        started = time.perf_counter()
        with _tasks_run_inline(), transaction.atomic():
            self.stdout.write("Demo data: users and roles...")
            users = seed_users(password=settings.DEMO_PASSWORD)
            self.stdout.write("Demo data: the service directory and GP practices...")
            services = seed_directory(users=users)
            seed_rota(users=users, services=services, now=timezone.now())
            self.stdout.write("Demo data: the fake NHS 111 provider, a partner system...")
            seed_partners(data_dir=settings.DATA_DIR)
            self.stdout.write("Demo data: SYNTHETIC deprivation deciles of the demo postcodes...")
            seed_deprivation()
            self.stdout.write(
                f"Demo data: {options['patients']:,} patients with their calls, referrals and deaths..."
            )
            summary = seed_patients(
                users=users,
                services=services,
                now=timezone.now(),
                count=options["patients"],
                progress=self.stdout.write,
            )
            self.stdout.write("Demo data: feedback texts and answers...")
            feedback = seed_feedback(users=users, now=timezone.now())
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready ({time.perf_counter() - started:.1f} s).")
        )
        for line in summary.lines():
            self.stdout.write(f"  {line}")
        self.stdout.write(
            f"  Feedback: {feedback['invitations']} consents to a text, "
            f"{feedback['answers']} answered"
        )
        if scale:
            from devtools.demo.scale import seed_scale

            result = seed_scale(
                count=scale,
                users=users,
                services=services,
                now=timezone.now(),
                chunk=options["chunk"],
                progress=self.stdout.write,
            )
            for line in result.lines():
                self.stdout.write(f"  {line}")
        self.stdout.write(f"Demo logins (password: {settings.DEMO_PASSWORD}):")
        for line in demo_login_lines():
            self.stdout.write(line)
