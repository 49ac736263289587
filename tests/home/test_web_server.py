"""The web server's setup (gunicorn.conf.py; docs/performance.md, "Mixed load") and how runhub
starts it."""

from __future__ import annotations

import os
from typing import Any

import pytest

from spoc.home.management.commands.runhub import web_command
from tests.conftest import ROOT


def gunicorn_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("GUNICORN_WORKERS", "GUNICORN_WORKER_CLASS", "GUNICORN_THREADS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    namespace: dict[str, Any] = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), namespace)  # noqa: S102 (our own config file)
    return namespace


def test_gunicorn_runs_sync_workers_two_per_core_and_one_more(monkeypatch):
    settings = gunicorn_settings(monkeypatch)

    assert settings["worker_class"] == "sync"
    assert settings["threads"] == 1
    assert settings["workers"] == 2 * len(os.sched_getaffinity(0)) + 1


def test_the_environment_chooses_another_setup(monkeypatch):
    settings = gunicorn_settings(
        monkeypatch, GUNICORN_WORKERS="3", GUNICORN_WORKER_CLASS="gthread", GUNICORN_THREADS="2"
    )

    assert (settings["workers"], settings["worker_class"], settings["threads"]) == (
        3,
        "gthread",
        2,
    )


def test_runhub_leaves_the_number_of_workers_to_the_config_unless_told():
    default = web_command("/venv/bin", bind="127.0.0.1:8000", workers=None)
    told = web_command("/venv/bin", bind="127.0.0.1:8000", workers=1)

    assert default == [
        "/venv/bin/gunicorn",
        "spoc.wsgi",
        "-c",
        "gunicorn.conf.py",
        "--bind",
        "127.0.0.1:8000",
    ]
    assert told == [*default, "--workers", "1"]
