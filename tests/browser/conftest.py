"""Browser journeys: every one runs at one fixed moment, in all the processes that take part."""

import os
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

# Django refuses database access from inside Playwright's event loop unless told it is safe
# (the live server runs in its own thread).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

LONDON = ZoneInfo("Europe/London")

# The moment of every browser journey: Wednesday 10 June 2026, 10:30 in London (BST). A weekday
# mid-morning, not an England and Wales bank holiday, weeks from a clock change and hours from
# midnight, so the services the journeys open from 09:00 to 17:00 are open and every "today",
# "this week" and "next Monday" is an ordinary one. A journey about another moment travels itself.
JOURNEY_MOMENT = datetime(2026, 6, 10, 10, 30, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def journey_clock(browser, monkeypatch):
    """Put the test process (and so the live server's thread), the Celery worker and the browser on
    JOURNEY_MOMENT, ticking from there.

    - test process and live server: ``time_machine.travel(..., tick=True)`` patches the whole
      process, threads included;
    - Celery worker: ``start_celery_worker`` (tests/conftest.py) starts it on the test's clock
      while this travel is on; an autouse fixture is set up before the test's other fixtures of
      the same scope, ``celery_worker_process`` included;
    - browser: every context (the ``page`` fixture's and ``browser.new_context()``) gets Playwright's
      fake clock installed at the test's now, its timers running on from there, and London's
      time zone.
    """
    with time_machine.travel(JOURNEY_MOMENT, tick=True):
        new_context = browser.new_context

        def new_context_on_the_test_clock(**kwargs):
            context = new_context(**{"timezone_id": "Europe/London", **kwargs})
            context.clock.install(time=datetime.now(UTC))
            return context

        monkeypatch.setattr(browser, "new_context", new_context_on_the_test_clock)
        yield JOURNEY_MOMENT


@pytest.fixture
def live_url(live_server):
    return live_server.url
