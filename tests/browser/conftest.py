"""Browser journeys: every one runs at one fixed moment, in all the processes that take part."""

import os
from datetime import UTC, datetime

import pytest
import time_machine

from tests.clock import WEEKDAY_MORNING

# Django refuses database access from inside Playwright's event loop unless told it is safe
# (the live server runs in its own thread).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# The moment of every browser journey (tests/clock.py): Wednesday 10 June 2026, 10:30 in London,
# a weekday mid-morning, not a bank holiday, far from midnight and the clock changes, so the
# services the journeys open from 09:00 to 17:00 are open. A journey about another moment travels
# itself.
JOURNEY_MOMENT = WEEKDAY_MORNING


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


@pytest.fixture(scope="session")
def base_url(pytestconfig):
    """pytest-playwright's ``base_url`` (its ``--base-url`` option or ``base_url`` ini value), as a
    module-level fixture: pytest-playwright 0.10 defines it as an instance method of a plugin class
    (``_BaseUrlFallback``, used when pytest-base-url is not installed), which pytest 9 warns about
    (PytestRemovedIn10Warning) in the first test that opens a ``page``."""
    return pytestconfig.getoption("--base-url") or pytestconfig.getini("base_url") or None
