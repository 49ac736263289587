"""Exit non-zero when the task pipeline has stopped: the containers' healthchecks
(docker-compose.yml) run it, and so may any supervisor (docs/operations.md, "Health checks").

    manage.py check_pipeline worker   # each queue's canary consumed lately (or start-up grace)
    manage.py check_pipeline worker --queues routing-urgent,routing   # these queues only
    manage.py check_pipeline beat     # beat scheduled a canary lately

Reads the marks in the database only: no broker round trip, no `celery inspect`. Exit status 3:
that part has stopped (a supervisor may restart it); 1: the marks could not be read (the
database is down: restarting the worker or beat would not help).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from spoc.core.pipeline import beat_state, pipeline_marks, queues_needing_restart
from spoc.core.queues import QUEUES

STOPPED = 3


class Command(BaseCommand):
    help = "Exit 1 when the worker takes no tasks (worker) or beat has stopped (beat)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("part", choices=("worker", "beat"))
        parser.add_argument(
            "--queues",
            default=",".join(QUEUES),
            help="worker: the queues it consumes, comma-separated (default: every queue)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        queues = tuple(q.strip() for q in options["queues"].split(",") if q.strip())
        unknown = sorted(set(queues) - set(QUEUES))
        if unknown or not queues:
            raise CommandError(f"unknown queues {unknown}; the queues are {', '.join(QUEUES)}")
        try:
            marks = pipeline_marks(queues)
        except Exception as exc:
            raise CommandError(f"pipeline marks unreadable: {exc.__class__.__name__}") from exc
        now = timezone.now()
        if options["part"] == "beat":
            state = beat_state(
                marks=marks[queues[0]], now=now, stale_after=settings.BEAT_STALE_SECONDS
            )
            if not state["ok"]:
                raise CommandError(f"beat: {state['error']}", returncode=STOPPED)
            self.stdout.write(f"beat: ok ({state['age_seconds']} s since it scheduled)")
            return
        # The worker is failed on the restart threshold, not the alert age: /healthz alerts
        # first, a restart follows if the alert does not clear. With beat stopped no canary
        # is sent, so the worker is not blamed (beat's own check fails instead).
        restart_after = settings.WORKER_RESTART_AFTER_SECONDS
        stalled = queues_needing_restart(marks=marks, now=now, restart_after=restart_after)
        if stalled:
            raise CommandError(
                f"worker: no canary task consumed for over {restart_after} s on "
                f"{', '.join(stalled)} while beat runs",
                returncode=STOPPED,
            )
        self.stdout.write(f"worker: ok ({', '.join(queues)})")
