"""Two database connections racing, for the tests that show an outcome holds whichever comes
first: wait until a thread has finished or is waiting for a row another connection holds."""

import threading
import time

from django.db import connection

WAIT_SECONDS = 30


def done_or_waiting_for_a_lock(thread: threading.Thread) -> None:
    """Returns once ``thread`` has finished or some connection waits for a lock (PostgreSQL's
    ``pg_locks``), whichever is first; at the latest after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while thread.is_alive() and not _a_lock_awaited() and time.monotonic() < deadline:
        time.sleep(0.01)


def _a_lock_awaited() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return bool(cursor.fetchone()[0])
