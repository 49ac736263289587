"""`manage.py` in a child process, for tests that need a fresh process: another database, the
embedded SQLite default, or a command's exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

# What points a process at PostgreSQL and Redis (or at the test settings); without them the
# embedded default uses SQLite and the filesystem broker.
_SERVER_SETTINGS = {
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_MIGRATE_URL",
    "DATABASE_APP_ROLE",
}


def embedded_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """This process's environment for the embedded default (`spoc.settings.local`) keeping its
    data in `data_dir`, with `extra` variables set."""
    env = {k: v for k, v in os.environ.items() if k not in _SERVER_SETTINGS}
    env.update({"DJANGO_SETTINGS_MODULE": "spoc.settings.local", "SPOC_DATA_DIR": str(data_dir)})
    env.update(extra)
    return env


def manage_run(
    env: dict[str, str], *args: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`manage.py <args>` run to its end in `env`; `timeout` bounds a hung command."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def manage_ok(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    """`manage_run`, asserting that the command succeeded; returns what it printed."""
    result = manage_run(env, *args, timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
