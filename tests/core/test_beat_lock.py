"""Exactly one beat (spoc/core/beat.py): two real `celery beat` processes on the test Redis
database send each scheduled task once per interval, and the second takes over when the first
dies, carrying on from its last send."""

import itertools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings

from spoc.celery import app
from spoc.core.beat import SingleBeatScheduler, beat_keys
from tests.conftest import ROOT, stopped_on_exit, subprocess_database_url, wait_for

# Short, so that a take-over happens within the test: the holder renews every second.
LOCK_SECONDS = 3
# The beats' one task (tests/beat_app.py): every second, to a queue of the test's own (with the
# run's prefix) that no worker consumes, so the test reads what was sent from it. Its "expires"
# is the send time plus EXPIRES_SECONDS: when each was sent.
INTERVAL_SECONDS = 1.0
BEAT_TEST_QUEUE = f"{settings.TASK_QUEUE_PREFIX}beat-lock-test"
EXPIRES_SECONDS = 600


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    """The test Redis database, without this run's beat keys and test queue before and after."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    keys = [*beat_keys(), BEAT_TEST_QUEUE]
    client.delete(*keys)
    yield client
    client.delete(*keys)


@pytest.fixture
def start_beat(
    transactional_db: Any, tmp_path: Path, broker: redis.Redis
) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    """start_beat(name) -> a `celery beat` of tests/beat_app.py on the test database and Redis
    database, with a schedule file of its own; every beat started is stopped after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.beat_app",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(tmp_path / f"{name}-schedule"),
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "spoc.settings.test",
                "DATABASE_URL": subprocess_database_url(),
                "REDIS_URL": settings.CELERY_BROKER_URL,
                "BEAT_LOCK_SECONDS": str(LOCK_SECONDS),
                "BEAT_STANDBY_SECONDS": "1",
                "BEAT_TEST_QUEUE": BEAT_TEST_QUEUE,
                "BEAT_TEST_INTERVAL_SECONDS": str(INTERVAL_SECONDS),
                "BEAT_TEST_EXPIRES_SECONDS": str(EXPIRES_SECONDS),
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(proc)
        return proc

    with stopped_on_exit(started):
        yield start


def sends(broker: redis.Redis) -> list[tuple[float, int]]:
    """The test task's sends so far, in the order sent: (when, the sending beat's process id)."""
    found = []
    for raw in broker.lrange(BEAT_TEST_QUEUE, 0, -1):
        headers = json.loads(raw)["headers"]
        sent = datetime.fromisoformat(headers["expires"]).timestamp() - EXPIRES_SECONDS
        # Celery names a process that is not a worker "gen<pid>@<host>".
        pid = int(headers["origin"].split("@")[0].removeprefix("gen"))
        found.append((sent, pid))
    return sorted(found)


def assert_once_per_interval(found: list[tuple[float, int]]) -> None:
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(found)]
    # A second beat sending too would put two sends within an interval (a gap near 0).
    assert min(gaps) > INTERVAL_SECONDS / 2, gaps


@pytest.mark.worker
def test_two_beats_send_each_task_once_per_interval_and_the_second_takes_over(
    start_beat: Callable[[str], subprocess.Popen[bytes]], broker: redis.Redis
) -> None:
    beats = {proc.pid: proc for proc in (start_beat("first"), start_beat("second"))}
    found = wait_for(lambda: (s := sends(broker)) and len(s) >= 6 and s, timeout=60)
    holders = {pid for _, pid in found}
    assert len(holders) == 1 and holders <= beats.keys()
    assert_once_per_interval(found)

    # The holder dies without giving the lock up: the other waits for it to expire, then sends.
    (holder,) = holders
    os.killpg(holder, signal.SIGKILL)
    beats[holder].wait()
    (standby,) = beats.keys() - holders
    after = wait_for(
        lambda: (s := sends(broker)) and sum(pid == standby for _, pid in s) >= 3 and s,
        timeout=60,
    )
    assert_once_per_interval(after)
    # One after the other: every send of the standby comes after the last of the dead holder.
    last_of_holder = max(at for at, pid in after if pid == holder)
    assert all(at > last_of_holder for at, pid in after if pid == standby)


def scheduler(schedule_file: Path) -> SingleBeatScheduler:
    """A scheduler of the hub's own schedule, in this process, on the test Redis database."""
    return SingleBeatScheduler(app=app, schedule_filename=str(schedule_file))


def test_a_second_scheduler_waits_and_carries_on_from_the_last_send(
    broker: redis.Redis, tmp_path: Path
) -> None:
    first, second = scheduler(tmp_path / "first"), scheduler(tmp_path / "second")
    try:
        assert first.holds_lock()
        assert not second.holds_lock()
        # The first sends "escalate" (as apply_entry records it), then stops and gives the lock up.
        sent: Any = first.reserve(first.schedule["escalate"])
        broker.hset(beat_keys()[1], "escalate", sent.last_run_at.isoformat())
        first.close()
        assert second.holds_lock()
        assert second.schedule["escalate"].last_run_at == sent.last_run_at
        assert first.holds_lock() is False
    finally:
        second.close()
