"""Shared fixtures: users per role, a real Celery worker process, Debian's Chromium; a Redis
database per pytest-xdist worker."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import time_machine
from django.conf import settings
from django.db import connection

from spoc.accounts.roles import Role, roles_sync
from tests.worker_clock import CLOCK_AT, clock_env

if TYPE_CHECKING:
    from spoc.accounts.models import User

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
TEST_PASSWORD = "correct-horse-battery"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock",
        metavar="ISO_MOMENT",
        default=None,
        help="start every test at this moment (time-machine, ticking), e.g. 2026-12-31T23:59:30+00:00: "
        "shows which tests depend on when they run (docs/testing.md, 'Time in tests')",
    )


# Redis has 16 databases (0 to 15) unless its configuration says otherwise.
REDIS_DATABASES = 16


def redis_url_of_worker(url: str, worker: str) -> str:
    """The test Redis database of pytest-xdist worker ``worker`` ("gw0", "gw1", ...): the one in
    ``url`` for gw0, the next for gw1, and so on. A worker's Celery workers take their tasks on
    it, so no two xdist workers share a broker's keys (Kombu keeps its unacknowledged messages
    under keys of the database, not of a queue)."""
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0) + int(worker.removeprefix("gw"))
    if database >= REDIS_DATABASES:
        raise pytest.UsageError(
            f"xdist worker {worker} would use Redis database {database}, past the last one "
            f"({REDIS_DATABASES - 1}): start from a lower database in REDIS_URL, or run fewer "
            "workers (-n)."
        )
    return urlunsplit(parts._replace(path=f"/{database}"))


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (``-n``), each worker process has a test database of its own
    (pytest-django adds ``_gw0``, ``_gw1``... to its name) and here a Redis database of its own:
    the settings (read by the Celery app and by ``start_celery_worker``) and the environment
    (inherited by any process a test starts) name it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not settings.REDIS_URL:
        return
    url = redis_url_of_worker(settings.REDIS_URL, worker)
    settings.REDIS_URL = settings.CELERY_BROKER_URL = os.environ["REDIS_URL"] = url
    from spoc.celery import app

    # Item assignment, as in broker_at below: the stubs type conf.broker_url as read-only.
    app.conf["broker_url"] = url


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Under ``--cov`` (``make coverage``), one line with the total: the share of the hub's lines
    that ran (what is measured is in pyproject.toml, ``[tool.coverage.run]``)."""
    controller = getattr(config.pluginmanager.getplugin("_cov"), "cov_controller", None)
    if controller is None or controller.cov is None:
        return
    total = controller.cov.report(file=io.StringIO())
    terminalreporter.write_line(f"Coverage of the hub's packages: {total:.1f}% of lines")


@contextmanager
def _at_the_clock_option(config: pytest.Config) -> Iterator[None]:
    """Travel (ticking) to the moment of ``--clock`` while inside, if one was given."""
    at = config.getoption("--clock")
    if not at:
        yield
        return
    with time_machine.travel(datetime.fromisoformat(at), tick=True):
        yield


@pytest.fixture(autouse=True, scope="session")
def _clock_option_for_the_run(request: pytest.FixtureRequest) -> Iterator[None]:
    """With ``--clock``, what is built once for a module or the whole run (the URL x role
    matrix's signed-in users, tests/core/test_authorization_matrix.py) is built on that clock
    too, not on the real one; each test then starts at the moment again (``_clock_option``)."""
    with _at_the_clock_option(request.config):
        yield


@pytest.fixture(autouse=True)
def _clock_option(request: pytest.FixtureRequest) -> Iterator[None]:
    """With ``--clock``, every test (and any worker it starts) begins at that moment; a test that
    travels itself still does, from inside this travel."""
    with _at_the_clock_option(request.config):
        yield


@pytest.fixture(autouse=True)
def _empty_queue_cache() -> None:
    """Each test starts with no team queue kept from another, and neither the queue's cache nor
    the default one (of the sessions, roles, team memberships and authenticators:
    spoc/core/pauses.py) resting after another's fault."""
    from django.core.cache import caches

    from referrals.selectors.queue import QUEUE_CACHE
    from spoc.accounts.roles import ROLES_CACHE

    caches["queue"].clear()
    QUEUE_CACHE.pause.clear()
    ROLES_CACHE.pause.clear()


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    """make_user(role=Role.CALL_HANDLER, username=..., **fields) -> User with that role."""
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    def make(role: str | None = None, **fields: Any) -> User:
        roles_sync()
        user = UserFactory(**fields)
        if role is not None:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def handler(make_user: Callable[..., User]) -> User:
    return make_user(Role.CALL_HANDLER, username="handler1")


@pytest.fixture
def auditor(make_user: Callable[..., User]) -> User:
    return make_user(Role.AUDITOR, username="auditor1")


# --- A real Celery worker ------------------------------------------------------------------------


def _worker_queues() -> str:
    # Every queue of the hub (spoc/core/queues.py), named with this run's prefix (the test
    # settings' TASK_QUEUE_PREFIX), so two test runs sharing one Redis never take each other's
    # tasks; in the order a worker takes from them (P1-P2 routing first).
    from spoc.core.queues import QUEUES, queue_name

    return ",".join(queue_name(queue) for queue in QUEUES)


def subprocess_database_url() -> str:
    """The test database's URL, for the Celery processes a test starts."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def stop_process_group(proc: subprocess.Popen[bytes]) -> None:
    """Warm shutdown, then SIGKILL for anything left of the process's group (a worker's pool
    children too, which outlive a main process killed with SIGKILL)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


@contextmanager
def stopped_on_exit(started: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    """Stop the group of every process in ``started`` (as it stands then) on the way out."""
    try:
        yield
    finally:
        for proc in started:
            stop_process_group(proc)


def real_time() -> float:
    """The real clock's time (seconds since the epoch), whatever clock this process travels on."""
    if not time_machine.escape_hatch.is_travelling():
        return time.time()
    return time_machine.escape_hatch.time.time()


def _test_clock_env() -> dict[str, str]:
    """The worker's clock: this process's when a test travels in time (time-machine), else none
    (the worker keeps the real clock). See tests/worker_clock.py."""
    if not time_machine.escape_hatch.is_travelling():
        return {CLOCK_AT: ""}
    return clock_env(now=datetime.now(UTC), real_now=real_time())


@pytest.fixture
def start_celery_worker(transactional_db: Any) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """start_celery_worker(broker_url=None, concurrency=1, env=None) -> a `celery worker` process
    on the *test* database, consuming every queue of this run on ``broker_url`` (default: the
    test Redis database). ``env`` adds environment variables, e.g. shorter broker timeouts.

    Each worker leads a process group of its own, so a test can SIGKILL it with its pool children
    (``os.killpg(proc.pid, signal.SIGKILL)``). Every worker started is stopped after the test.
    Tests see the worker's writes only through committed data, so they are transactional.
    A worker started while the test travels in time (time-machine) runs on the test's clock.
    """
    database_url = subprocess_database_url()
    started: list[subprocess.Popen[bytes]] = []

    def start(
        *, broker_url: str | None = None, concurrency: int = 1, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            # Through tests/worker_clock.py: a test travelling in time takes its worker along.
            [
                sys.executable,
                "-m",
                "tests.worker_clock",
                "-A",
                "spoc",
                "worker",
                "--loglevel",
                "WARNING",
                "--concurrency",
                str(concurrency),
                "--pool",
                "prefork",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"test-{os.getpid()}-{len(started)}@%h",
                "--queues",
                _worker_queues(),
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "spoc.settings.test",
                "DATABASE_URL": database_url,
                "REDIS_URL": broker_url or settings.CELERY_BROKER_URL,
                "WORKER_HEARTBEAT_SECONDS": "1",
                **_test_clock_env(),
                **(env or {}),
            },
            start_new_session=True,
        )
        started.append(proc)
        return proc

    with stopped_on_exit(started):
        yield start


@pytest.fixture
def celery_worker_process(
    start_celery_worker: Callable[..., subprocess.Popen[bytes]],
) -> subprocess.Popen[bytes]:
    """One `celery worker` process on the test database and the test Redis database."""
    return start_celery_worker()


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Publish from this (the web) process to the broker at ``url`` inside the block: the Celery
    app's broker URL is switched and its pools forgotten (not closed: Kombu shares a pool among
    all apps publishing to one URL), both ways."""
    from spoc.celery import app

    def switch(to: str) -> None:
        # Item assignment is what attribute assignment does on Celery's settings (their
        # __setattr__ sets the key); the stubs type conf.broker_url as a read-only property.
        app.conf["broker_url"] = to
        # Celery declares both pools as class attributes, celery-types leaves them out; Celery
        # has no public way to forget a pool without closing it.
        app._pool = None  # type: ignore[attr-defined]  # Celery._pool, missing from the stubs
        app.amqp._producer_pool = None  # type: ignore[attr-defined]  # likewise

    original = app.conf.broker_url
    switch(url)
    try:
        yield
    finally:
        switch(original)


def wait_for(condition: Callable[[], Any], *, timeout: float = 15.0, interval: float = 0.1) -> Any:
    """Poll until condition() is truthy; generous bounds (seconds), never a latency assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


# --- Debian's Chromium for pytest-playwright ----------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "Chromium is missing: run 'apt-get install chromium' (make test does this as root)."
        )
    return {
        **browser_type_launch_args,
        "executable_path": executable,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def playwright(playwright: Any) -> Iterator[Any]:
    """pytest-playwright's ``playwright``, closing this thread's database connections before it
    stops. Between its sync calls, Playwright marks its event loop as this thread's running loop,
    from its start to its stop at the end of the session. Django keeps a thread's connections per
    async context while a loop runs, apart from those it keeps while none does (asgiref's Local). So
    a test after the first browser test, browser test or not, opens a connection of its own.
    A transactional test closes that connection when it ends; any other test leaves it open.
    When pytest-django drops the test database at the end of the session, Playwright has stopped,
    so Django would not close the connection, and PostgreSQL would refuse to drop the database
    while it is open."""
    from django.db import connections

    yield playwright
    connections.close_all()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """screenshot(page, "step-name") saves artifacts/screenshots/<test>/<step>.png."""

    def take(page: Any, step: str) -> Path:
        folder = ARTIFACTS / "screenshots" / request.node.name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
