"""Start the whole hub: web (gunicorn), Celery worker and Celery beat, until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run web, worker and beat together; Ctrl-C stops them all."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default=os.environ.get("SPOC_BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")

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
            "web": [
                os.path.join(bin_dir, "gunicorn"),
                "spoc.wsgi",
                "-c",
                "gunicorn.conf.py",
                "--bind",
                options["bind"],
                "--workers",
                str(options["workers"]),
            ],
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
        procs: dict[str, subprocess.Popen[bytes]] = {}
        for name, cmd in commands.items():
            # Each child in its own process group, so Ctrl-C reaches them through us, in order.
            procs[name] = subprocess.Popen(
                cmd, env=env, cwd=settings.BASE_DIR, start_new_session=True
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
                    if name == "partner":  # a demo aid: the hub runs on without it
                        self.stderr.write(f"The fake partner exited with {proc.returncode}.")
                        del procs[name]
                        continue
                    self.stderr.write(f"{name} exited with {proc.returncode}; stopping the hub.")
                    stopping, exit_code = True, 1
                    break
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
