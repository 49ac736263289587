"""``python -m tests.worker_clock <celery arguments>``: the ``celery`` command on the test's clock.

A Celery worker is a process of its own, so time-machine travelling in the test process does not
move the worker's clock. ``start_celery_worker`` (tests/conftest.py) starts every test worker
through this module and, when the test is travelling, passes two environment variables:

- ``TEST_CLOCK_AT``: the test's "now" when the worker was started (ISO 8601, with its offset);
- ``TEST_CLOCK_REAL_AT``: the real Unix time at that instant.

The worker travels to ``TEST_CLOCK_AT`` plus the real time elapsed since ``TEST_CLOCK_REAL_AT``,
ticking, before Celery is imported, so its clock reads what the test's clock reads (within
milliseconds), including the ETAs and countdowns the two exchange. The prefork pool's children are
forked from this process and inherit the travel. Without ``TEST_CLOCK_AT`` the worker keeps the
real clock.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta
from typing import Any

CLOCK_AT = "TEST_CLOCK_AT"
CLOCK_REAL_AT = "TEST_CLOCK_REAL_AT"


def clock_env(*, now: datetime, real_now: float) -> dict[str, str]:
    """The environment that puts a worker started at real time ``real_now`` on a clock that
    reads ``now`` (an aware datetime) at that instant."""
    return {CLOCK_AT: now.isoformat(), CLOCK_REAL_AT: repr(real_now)}


def travel_from_env() -> Any:
    """Start travelling (ticking) as the environment says and return the started
    ``time_machine.travel``, or ``None`` when the environment names no moment."""
    at = os.environ.get(CLOCK_AT)
    if not at:
        return None
    import time

    import time_machine

    moment = datetime.fromisoformat(at)
    real_at = float(os.environ.get(CLOCK_REAL_AT) or time.time())
    moment += timedelta(seconds=max(0.0, time.time() - real_at))
    traveller = time_machine.travel(moment, tick=True)
    traveller.start()
    return traveller


def main() -> None:
    travel_from_env()
    from celery.__main__ import main as celery_main

    sys.argv[0] = "celery"
    celery_main()


if __name__ == "__main__":
    main()
