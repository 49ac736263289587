"""Production logs: one JSON object per line, with a request's method, path and status and never
its query string (spoc/core/logs.py, spoc/settings/production.py)."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import runpy
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.http import HttpResponseNotFound
from django.test import RequestFactory
from django.utils.log import configure_logging, log_response

from spoc.core.logs import JsonLogFormatter

PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "x" * 50,
    "DATABASE_URL": "postgres://u@127.0.0.1:5432/spoc",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DJANGO_ALLOWED_HOSTS": "spoc.example.nhs.uk",
}
NHS_NUMBER = "9990001234"


@pytest.fixture
def production_logging(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[dict[str, Any], io.StringIO]]:
    """The process logs as production does for the test, its console handler writing to a buffer
    rather than the standard output, then as the test settings say again."""
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    production = runpy.run_module("spoc.settings.production")
    logging.config.dictConfig(production["LOGGING"])
    out = io.StringIO()
    (console,) = (
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and isinstance(h.formatter, JsonLogFormatter)
    )
    console.setStream(out)
    try:
        yield production, out
    finally:
        configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)


def test_production_logs_each_record_as_one_json_line_without_query_strings(
    production_logging: tuple[dict[str, Any], io.StringIO],
) -> None:
    production, out = production_logging
    assert production["LOGGING"]["handlers"]["console"]["stream"] == "ext://sys.stdout"
    request = RequestFactory().get("/patients/search/", {"q": NHS_NUMBER})
    log_response("Not Found: %s", request.path, response=HttpResponseNotFound(), request=request)
    logging.getLogger("referrals.services.routing").info("Routed %s", "REF-000123")
    try:
        raise ValueError(f"bad search /patients/search/?q={NHS_NUMBER}")
    except ValueError:
        logging.getLogger("django.request").exception(
            "Internal Server Error: %s",
            request.path,
            extra={"status_code": 500, "request": request},
        )
    text = out.getvalue()
    lines = text.splitlines()
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    assert {"level", "logger", "message", "time"} <= records[1].keys()
    assert records[0] | {"time": "-"} == {
        "level": "WARNING",
        "logger": "django.request",
        "message": "Not Found: /patients/search/",
        "time": "-",
        "method": "GET",
        "path": "/patients/search/",
        "status": 404,
    }
    assert records[1]["message"] == "Routed REF-000123" and records[1]["level"] == "INFO"
    assert records[1]["time"].endswith("+00:00") and "method" not in records[1]
    assert records[2]["status"] == 500 and "ValueError" in records[2]["exc_info"]
    assert NHS_NUMBER not in text and "?[query hidden]" in records[2]["exc_info"]


def test_production_runs_celery_under_its_own_logging(
    production_logging: tuple[dict[str, Any], io.StringIO],
) -> None:
    assert production_logging[0]["CELERY_WORKER_HIJACK_ROOT_LOGGER"] is False


def test_a_gunicorn_access_line_has_its_request_fields() -> None:
    # gunicorn passes the access line's atoms as the record's arguments (gunicorn/glogging.py).
    atoms = {
        "h": "10.0.0.1",
        "m": "GET",
        "U": "/patients/",
        "s": "200",
        "M": 12,
        "q": f"q={NHS_NUMBER}",
    }
    record = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, '"%(m)s %(U)s" %(s)s', (atoms,), None
    )
    line = JsonLogFormatter().format(record)
    assert "\n" not in line and NHS_NUMBER not in line
    assert json.loads(line) | {"time": "-"} == {
        "level": "INFO",
        "logger": "gunicorn.access",
        "message": '"GET /patients/" 200',
        "time": "-",
        "method": "GET",
        "path": "/patients/",
        "status": 200,
        "duration_ms": 12,
    }
