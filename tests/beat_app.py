"""The hub's Celery app with one short schedule, for the beats of tests/core/test_beat_lock.py:
`celery -A tests.beat_app beat`, the schedule's queue, interval and expiry from the environment
that the test gives them (imported by a beat only: importing it replaces the app's schedule). The
beat keeps the hub's scheduler (SingleBeatScheduler)."""

import os

from spoc.celery import app

app.conf.beat_schedule = {
    "every-interval": {
        "task": "core.canary",
        "schedule": float(os.environ["BEAT_TEST_INTERVAL_SECONDS"]),
        "args": ("beat-lock-test",),
        "options": {
            "queue": os.environ["BEAT_TEST_QUEUE"],
            "expires": int(os.environ["BEAT_TEST_EXPIRES_SECONDS"]),
        },
    }
}
