"""runhub's watchdog with a real worker (spoc/home/management/commands/runhub.py): a worker that
is alive but takes nothing (stopped with SIGSTOP) is ended and a new one started, which consumes
the canaries. The marks' clock is moved with time-machine and the watchdog's own clock is given
to it; nothing waits for the 120 s."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from spoc.core.models import Heartbeat
from spoc.core.queues import QUEUES, queue_name
from spoc.core.tasks import canary_task
from spoc.home.management.commands import runhub
from spoc.home.management.commands.runhub import Command as RunHub
from spoc.home.management.commands.runhub import WorkerWatchdog
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def beat_sends_canaries() -> None:
    """Beat's mark and a canary to each queue, as beat sends them every 30 s."""
    Heartbeat.objects.update_or_create(name="beat", defaults={"beat_at": timezone.now()})
    for queue in QUEUES:
        canary_task.apply_async((queue,), queue=queue_name(queue))


def canaries_consumed_since(moment: Any) -> int:
    return Heartbeat.objects.filter(name__startswith="canary:", beat_at__gte=moment).count()


def test_runhub_restarts_a_worker_that_takes_nothing_and_the_new_one_consumes(
    start_celery_worker: Callable[..., subprocess.Popen[bytes]], monkeypatch: Any
) -> None:
    monkeypatch.setattr(runhub, "WORKER_STOP_GRACE_SECONDS", 1.0)
    procs = {"worker": start_celery_worker()}
    first = procs["worker"]
    started = timezone.now()
    Heartbeat.objects.create(name="beat-started", beat_at=started)
    beat_sends_canaries()
    wait_for(lambda: canaries_consumed_since(started) == len(QUEUES), timeout=30)

    def start(name: str) -> None:
        procs[name] = start_celery_worker()

    errors = StringIO()
    command = RunHub(stdout=StringIO(), stderr=errors)
    seconds = [0.0]
    watchdog = WorkerWatchdog(
        stalled=command._worker_stalled,
        restart=lambda: command._restart_worker(procs, start),
        clock=lambda: seconds[0],
    )
    assert watchdog.check() is False  # consuming, and within its first 120 s anyway

    # Alive, taking nothing (the drill's worker after the Redis stall).
    os.killpg(first.pid, signal.SIGSTOP)
    later = timezone.now() + timedelta(seconds=settings.WORKER_RESTART_AFTER_SECONDS + 5)
    with time_machine.travel(later, tick=True):
        beat_sends_canaries()  # beat runs; these canaries wait for a worker
        seconds[0] += settings.WORKER_RESTART_AFTER_SECONDS + 5
        assert watchdog.check() is True

        # The stopped worker is gone; a new process took its place and consumes the canaries
        # (beat's next round: a canary that Redis handed to the stopped worker's waiting read
        # went with it).
        assert first.poll() is not None
        assert procs["worker"].pid != first.pid and procs["worker"].poll() is None
        beat_sends_canaries()
        wait_for(lambda: canaries_consumed_since(later) == len(QUEUES), timeout=60)
        assert command._worker_stalled() is False
        # Restarted once: the new worker has its own 120 s before it is judged.
        seconds[0] += runhub.PIPELINE_CHECK_SECONDS
        assert watchdog.check() is False
    assert "restarting it" in errors.getvalue()
