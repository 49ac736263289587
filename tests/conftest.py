"""Shared fixtures: users per role, a real Celery worker process, Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from spoc.accounts.roles import Role, roles_sync

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
TEST_PASSWORD = "correct-horse-battery"


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    """make_user(role=Role.CALL_HANDLER, username=..., **fields) -> User with that role."""
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    def make(role: str | None = None, **fields: Any) -> Any:
        roles_sync()
        user = UserFactory(**fields)
        if role is not None:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def handler(make_user: Callable[..., Any]) -> Any:
    return make_user(Role.CALL_HANDLER, username="handler1")


@pytest.fixture
def auditor(make_user: Callable[..., Any]) -> Any:
    return make_user(Role.AUDITOR, username="auditor1")


# --- A real Celery worker ------------------------------------------------------------------------


@pytest.fixture
def celery_worker_process(transactional_db: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A `celery worker` process on the *test* database and the test Redis database.

    Tests using it see the worker's writes only through committed data, so they are
    transactional.
    """
    from spoc.celery import app

    # A queue of this run's own, so two test runs sharing one Redis never take each other's tasks.
    queue = f"test-{os.getpid()}"
    app.conf.task_default_queue = queue
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "spoc.settings.test",
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "WORKER_HEARTBEAT_SECONDS": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "spoc", "worker", "--loglevel", "WARNING",
         "--concurrency", "1", "--pool", "prefork", "--without-gossip", "--without-mingle",
         "--hostname", f"{queue}@%h", "--queues", queue],
        cwd=ROOT,
        env=env,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
        pytest.fail("Chromium is missing: run 'apt-get install chromium' (make test does this as root).")
    return {
        **browser_type_launch_args,
        "executable_path": executable,
        "args": [
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run",
        ],
    }


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
