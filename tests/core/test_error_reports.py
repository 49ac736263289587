"""Error reports to Sentry (spoc/core/error_reports.py, spoc/settings/production.py): only with
`SENTRY_DSN`, and carrying no patient identifiers, cookies or query strings.

The hub under production settings runs in a process of its own (Sentry's integrations patch
Django and Celery for the life of a process), posts a form that fails to a view, and its report
goes to a local server that answers as Sentry's ingest endpoint does."""

from __future__ import annotations

import gzip
import json
import os
import runpy
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.conf import settings

from spoc.core.error_reports import error_report_scrubbed

NHS_NUMBER = "9990001234"
PATIENT_NAME = "Adaeze Okonkwo-Testpatient"
COOKIE_VALUE = "cookie-9f3e1d"
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "spoc.settings.production",
    "DJANGO_SECRET_KEY": "x" * 50,
    "DATABASE_URL": "postgres://nobody@127.0.0.1:5432/no_such_database",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "DJANGO_ALLOWED_HOSTS": "testserver",
}

# Runs under production settings: a view that fails holding patient data in a local variable,
# called through Django's WSGI application (as gunicorn calls it) with a form, a query string,
# cookies and a Referer that all carry patient data. (No session cookie: the session would be
# read from a database this process does not have.)
PROBE = f"""
import io, sys, types
import django
django.setup()
import sentry_sdk
from django.core.wsgi import get_wsgi_application
from django.test import override_settings
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

@csrf_exempt
def failing_view(request):
    patient_name = request.POST["name"]
    raise RuntimeError("the directory search failed")

urls = types.ModuleType("probe_urls")
urls.urlpatterns = [path("patients/search/", failing_view)]
sys.modules["probe_urls"] = urls
body = b"name={PATIENT_NAME.replace(" ", "+")}&nhs_number={NHS_NUMBER}"
environ = {{
    "REQUEST_METHOD": "POST", "PATH_INFO": "/patients/search/", "QUERY_STRING": "q={NHS_NUMBER}",
    "SERVER_NAME": "testserver", "SERVER_PORT": "443", "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_HOST": "testserver", "HTTP_X_FORWARDED_PROTO": "https", "REMOTE_ADDR": "10.0.0.9",
    "HTTP_COOKIE": "csrftoken={COOKIE_VALUE}; last_search={NHS_NUMBER}",
    "HTTP_REFERER": "https://testserver/patients/?q={NHS_NUMBER}",
    "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
    "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.url_scheme": "https",
    "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
}}
statuses = []
with override_settings(ROOT_URLCONF="probe_urls"):
    b"".join(get_wsgi_application()(environ, lambda status, headers, exc_info=None: statuses.append(status)))
print(statuses[0].split()[0], sentry_sdk.get_client().is_active())
sentry_sdk.flush(timeout=10)
"""


class _Ingest(BaseHTTPRequestHandler):
    """Answers as Sentry's ingest endpoint (`POST /api/<project>/envelope/`), keeping what it got."""

    received: list[tuple[str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def ingest() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    received: list[tuple[str, bytes]] = []
    handler = type("Ingest", (_Ingest,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://key@127.0.0.1:{server.server_address[1]}/1", received
    finally:
        server.shutdown()
        server.server_close()


def _events(received: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
    """The event items of the envelopes received (one JSON header line, then item header and
    payload lines in turn)."""
    events = []
    for _path, body in received:
        lines = body.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                events.append(json.loads(payload))
    return events


def test_a_failing_request_reaches_sentry_without_patient_data(
    ingest: tuple[str, list[tuple[str, bytes]]],
) -> None:
    dsn, received = ingest
    env = {
        **os.environ,
        **PRODUCTION_ENV,
        "SENTRY_DSN": dsn,
        "SENTRY_ENVIRONMENT": "test-area",
        "SENTRY_RELEASE": "spoc-hub@test",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["500", "True"]
    assert received and all(path == "/api/1/envelope/" for path, _ in received)
    (event,) = _events(received)
    (exception,) = event["exception"]["values"]
    assert (
        exception["type"] == "RuntimeError" and exception["value"] == "the directory search failed"
    )
    assert event["environment"] == "test-area" and event["release"] == "spoc-hub@test"
    assert event["request"]["method"] == "POST"
    assert event["request"]["url"] == "https://testserver/patients/search/"
    assert all("vars" not in frame for frame in exception["stacktrace"]["frames"])
    everything = b"".join(body for _, body in received).decode()
    for secret in (NHS_NUMBER, PATIENT_NAME, COOKIE_VALUE, "last_search", "csrftoken", "q="):
        assert secret not in everything


def test_without_a_dsn_nothing_is_initialised(monkeypatch: pytest.MonkeyPatch) -> None:
    import sentry_sdk

    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    production = runpy.run_module("spoc.settings.production")
    assert production["SENTRY_DSN"] == "" and not sentry_sdk.get_client().is_active()


def test_a_report_loses_bodies_cookies_query_strings_local_variables_and_breadcrumbs() -> None:
    event = {
        "request": {
            "method": "GET",
            "url": f"https://hub/patients/?q={NHS_NUMBER}",
            "query_string": f"q={NHS_NUMBER}",
            "data": {"name": PATIENT_NAME},
            "cookies": {"sessionid": COOKIE_VALUE},
            "env": {"REMOTE_ADDR": "10.0.0.9"},
            "headers": {
                "Cookie": f"sessionid={COOKIE_VALUE}",
                "Referer": f"https://hub/?q={NHS_NUMBER}",
                "User-Agent": "Firefox",
            },
        },
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": f"no match for /patients/?q={NHS_NUMBER}",
                    "stacktrace": {
                        "frames": [{"function": "search", "vars": {"name": PATIENT_NAME}}]
                    },
                }
            ]
        },
        "threads": {
            "values": [{"stacktrace": {"frames": [{"function": "run", "vars": {"n": NHS_NUMBER}}]}}]
        },
        "breadcrumbs": {"values": [{"message": f"searched for {PATIENT_NAME}"}]},
        "logentry": {
            "message": "search %s",
            "params": [NHS_NUMBER],
            "formatted": f"search /p/?q={NHS_NUMBER}",
        },
    }
    scrubbed = error_report_scrubbed(event, {})
    assert scrubbed["request"] == {
        "method": "GET",
        "url": "https://hub/patients/",
        "headers": {"User-Agent": "Firefox"},
    }
    text = json.dumps(scrubbed)
    assert NHS_NUMBER not in text and PATIENT_NAME not in text and COOKIE_VALUE not in text
    assert "breadcrumbs" not in scrubbed and '"vars"' not in text
    assert scrubbed["exception"]["values"][0]["value"] == "no match for /patients/?[query hidden]"
