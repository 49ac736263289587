"""Start the whole hub: web (gunicorn), Celery worker and Celery beat, until Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand
from django.utils import timezone

from spoc.core.pipeline import pipeline_marks, queues_needing_restart

# How often the supervisor loop reads the pipeline marks (one small query).
PIPELINE_CHECK_SECONDS = 15
# A stalled worker is given this long for its warm shutdown before it is killed.
WORKER_STOP_GRACE_SECONDS = 10.0


class Command(BaseCommand):
    help = "Run web, worker and beat together; Ctrl-C stops them all."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default=os.environ.get("SPOC_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="gunicorn workers (default: gunicorn.conf.py's, the setup measured there)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        python = sys.executable
        bin_dir = os.path.dirname(python)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get(
                "DJANGO_SETTINGS_MODULE", "spoc.settings.local"
            ),
        }
        commands = {
            "web": web_command(bin_dir, bind=options["bind"], workers=options["workers"]),
            "worker": [
                os.path.join(bin_dir, "celery"),
                "-A",
                "spoc",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--hostname",
                "worker@%h",
            ],
            "beat": [
                os.path.join(bin_dir, "celery"),
                "-A",
                "spoc",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(settings.CELERY_BEAT_SCHEDULE_FILENAME),
            ],
        }
        # The development tools' fake partner (devtools/fake_partner.py), asked for by name as
        # the demo logins below: it plays an NHS 111 provider that sends a made-up referral every
        # two minutes, and the GP practices, and shows what the hub sent them.
        if "fake_partner" in get_commands():
            commands["partner"] = [
                python,
                "manage.py",
                "fake_partner",
                "--hub",
                f"http://{options['bind']}",
                "--every",
                "120",
            ]
        # The development tools' fake GOV.UK Notify (devtools/fake_notify.py), asked for by name
        # too: it takes the hub's urgent alert texts where NOTIFY_BASE_URL points (port 8071 by
        # default), sends their delivery receipts back, and lists every text sent.
        if "fake_notify" in get_commands():
            commands["notify"] = [
                python,
                "manage.py",
                "fake_notify",
                "--hub",
                f"http://{options['bind']}",
            ]
        # The development tools' fake phone (devtools/fake_phone.py), asked for by name too: buttons
        # that ring the SPOC from a demo carer's number, answer on the demo handler's extension,
        # hang up or give up, so the demo shows a screen pop and a missed call.
        if "fake_phone" in get_commands():
            commands["phone"] = [
                python,
                "manage.py",
                "fake_phone",
                "--hub",
                f"http://{options['bind']}",
            ]
        procs: dict[str, subprocess.Popen[bytes]] = {}

        def start(name: str) -> None:
            # Each child in its own process group, so Ctrl-C reaches them through us, in order.
            procs[name] = subprocess.Popen(
                commands[name], env=env, cwd=settings.BASE_DIR, start_new_session=True
            )

        for name in commands:
            start(name)
        watchdog = WorkerWatchdog(
            stalled=self._worker_stalled, restart=lambda: self._restart_worker(procs, start)
        )

        database = (
            "PostgreSQL"
            if settings.DATABASE_URL
            else f"SQLite ({settings.DATABASES['default']['NAME']})"
        )
        broker = "Redis" if settings.REDIS_URL else f"filesystem broker ({settings.BROKER_DIR})"
        self.stdout.write(self.style.SUCCESS(f"\nSPOC hub at http://{options['bind']}/"))
        self.stdout.write(f"Database: {database}; broker: {broker}")
        # The demo logins belong to the development tools (devtools), installed under local and
        # test settings only; the hub never imports them, so it asks for their command by name.
        if "demo_logins" in get_commands():
            call_command("demo_logins", stdout=self.stdout)
        if "partner" in commands:
            self.stdout.write("Fake partner (NHS 111 and GP practices): http://127.0.0.1:8070/")
        if "notify" in commands:
            self.stdout.write(f"Fake GOV.UK Notify (the texts sent): {settings.NOTIFY_BASE_URL}/")
        if "phone" in commands:
            self.stdout.write("Fake phone (rings the SPOC's line): http://127.0.0.1:8072/")
        self.stdout.write("Press Ctrl-C to stop.\n")

        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        try:
            while not stopping:
                for name, proc in list(procs.items()):
                    if proc.poll() is None:
                        continue
                    # Demo aids: the hub runs on without them.
                    if name in ("partner", "notify", "phone"):
                        self.stderr.write(f"The fake {name} exited with {proc.returncode}.")
                        del procs[name]
                        continue
                    self.stderr.write(f"{name} exited with {proc.returncode}; stopping the hub.")
                    stopping, exit_code = True, 1
                    break
                if not stopping:
                    watchdog.check()
                time.sleep(0.5)
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.terminate()  # the leader shuts its own children down
            deadline = time.monotonic() + 15
            for proc in procs.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        if exit_code:
            sys.exit(exit_code)

    def _restart_worker(
        self, procs: dict[str, subprocess.Popen[bytes]], start: Callable[[str], None]
    ) -> None:
        self.stderr.write(
            "The worker has consumed no canary task for over "
            f"{settings.WORKER_RESTART_AFTER_SECONDS} s while beat runs "
            "(alive, but taking no tasks); restarting it."
        )
        _end(procs["worker"], grace=WORKER_STOP_GRACE_SECONDS)
        start("worker")

    def _worker_stalled(self) -> bool:
        """The rule of `check_pipeline worker` (spoc/core/pipeline.py); a database that cannot
        be read restarts nothing (the worker could not help it)."""
        try:
            marks = pipeline_marks()
        except Exception as exc:
            self.stderr.write(f"Pipeline marks unreadable ({exc.__class__.__name__}).")
            return False
        # One worker consumes every queue here: any queue taking nothing restarts it.
        return bool(
            queues_needing_restart(
                marks=marks,
                now=timezone.now(),
                restart_after=settings.WORKER_RESTART_AFTER_SECONDS,
            )
        )


def web_command(bin_dir: str, *, bind: str, workers: int | None) -> list[str]:
    """gunicorn as gunicorn.conf.py sets it up (docs/performance.md, "Mixed load"), on ``bind``,
    with ``workers`` processes when given."""
    return [
        os.path.join(bin_dir, "gunicorn"),
        "spoc.wsgi",
        "-c",
        "gunicorn.conf.py",
        "--bind",
        bind,
        *(["--workers", str(workers)] if workers else []),
    ]


class WorkerWatchdog:
    """Every PIPELINE_CHECK_SECONDS, asks ``stalled()`` (the rule of `check_pipeline worker`),
    and calls ``restart()`` when it says so, at most once per WORKER_RESTART_AFTER_SECONDS: a
    worker just started has that long before it is judged. ``clock`` is monotonic seconds."""

    def __init__(
        self,
        *,
        stalled: Callable[[], bool],
        restart: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stalled, self.restart, self.clock = stalled, restart, clock
        self.worker_started = self.next_check = clock()

    def check(self) -> bool:
        """Returns whether the worker was restarted."""
        now = self.clock()
        if now < self.next_check:
            return False
        self.next_check = now + PIPELINE_CHECK_SECONDS
        if now - self.worker_started < settings.WORKER_RESTART_AFTER_SECONDS:
            return False
        if not self.stalled():
            return False
        self.restart()
        self.worker_started = self.clock()
        return True


def _end(proc: subprocess.Popen[bytes], *, grace: float) -> None:
    """Warm shutdown, then SIGKILL for the whole process group (a stalled or stopped worker may
    never finish its warm shutdown). Its unacknowledged tasks are handed out again (acks_late)."""
    if proc.poll() is None:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
