"""A Celery worker started by a test that travels in time runs on the test's clock
(tests/worker_clock.py, started by ``start_celery_worker`` in tests/conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from spoc.core.models import Heartbeat
from spoc.core.tasks import heartbeat_task
from tests.conftest import wait_for
from tests.worker_clock import CLOCK_AT, clock_env, travel_from_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Leap day, half a minute before midnight in London: far from the real clock whenever this runs.
MOMENT = datetime(2024, 2, 29, 23, 59, 30, tzinfo=ZoneInfo("Europe/London"))


def test_a_worker_started_while_the_test_travels_reads_the_tests_clock(
    start_celery_worker: Callable[..., Any],
) -> None:
    with time_machine.travel(MOMENT, tick=True):
        start_celery_worker()
        heartbeat_task.delay("clock-probe")
        probe = wait_for(lambda: Heartbeat.objects.filter(name="clock-probe").first(), timeout=30)
        beat = wait_for(lambda: Heartbeat.objects.filter(name="worker").first(), timeout=30)
        now = timezone.now()
    # The task ran in a prefork pool child, the heartbeat in the worker's main process: both
    # wrote the test's time, not the real one.
    assert MOMENT <= probe.beat_at <= now
    assert MOMENT <= beat.beat_at <= now


def test_the_worker_clock_goes_on_from_the_moment_it_was_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The worker starts a little after the test read its clock: it adds the real time between.
    env = clock_env(now=MOMENT, real_now=time.time() - 90)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    traveller = travel_from_env()
    try:
        now = timezone.now()
        # At least the 90 s that passed since, and still on the test's clock (2024), not the real
        # one: no bound that a slow machine could break.
        assert now >= MOMENT + timedelta(seconds=90)
        assert now.year == MOMENT.year and now.month == 3
    finally:
        traveller.stop()


def test_without_a_moment_the_worker_keeps_the_real_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLOCK_AT, "")
    # Travelling already only under --clock: nothing more is started.
    travelling = time_machine.escape_hatch.is_travelling()
    assert travel_from_env() is None
    assert time_machine.escape_hatch.is_travelling() is travelling
