"""Two database connections racing, for the tests that show an outcome holds whichever comes
first: a thread with a connection of its own, and a wait until it has finished or waits for a
row that another connection holds."""

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection

WAIT_SECONDS = 30


class Racer(threading.Thread):
    """Runs ``work`` on a connection of its own (closed at the end), after noting the PostgreSQL
    backend that serves it; what it raised is kept in ``error``."""

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__()
        self.work = work
        self.backend: int | None = None
        self.connected = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.backend = cursor.fetchone()[0]
            self.connected.set()
            self.work()
        except BaseException as error:  # kept for the test to assert on
            self.error = error
        finally:
            self.connected.set()
            connection.close()


def done_or_waiting_for_a_lock(racer: Racer) -> None:
    """Returns once ``racer`` has finished or its own backend waits for a lock that another holds
    (PostgreSQL's ``pg_blocking_pids``: not another test's wait elsewhere on the server),
    whichever is first; at the latest after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    racer.connected.wait(WAIT_SECONDS)
    while racer.is_alive() and not _blocked(racer.backend) and time.monotonic() < deadline:
        time.sleep(0.01)


def _blocked(backend: int | None) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", [backend])
        return bool(cursor.fetchone()[0])
