"""Error reports to Sentry, when production settings are given `SENTRY_DSN` (docs/architecture.md,
"Logs and error reports").

No patient data leaves the hub: searches carry NHS numbers and names in the query string, forms
carry patient details in their bodies, cookies hold the session, and a frame's local variables
can hold any of them. The SDK is told to send none of these, and `error_report_scrubbed` removes
them again from every event before it is sent, in case an integration added them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from spoc.core.logs import query_strings_hidden

# Request headers an error report keeps; others (Cookie, Authorization, Referer with its query
# string, X-Forwarded-For) are dropped.
KEPT_HEADERS = frozenset({"host", "user-agent", "content-type", "content-length", "accept"})


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _frames(event: dict[str, Any]) -> list[dict[str, Any]]:
    stacks = [
        value.get("stacktrace") for value in (event.get("exception") or {}).get("values") or []
    ]
    stacks += [
        thread.get("stacktrace") for thread in (event.get("threads") or {}).get("values") or []
    ]
    stacks.append(event.get("stacktrace"))
    return [frame for stack in stacks if stack for frame in stack.get("frames") or []]


def error_report_scrubbed(
    event: dict[str, Any], hint: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The event without request body, cookies, query string, headers other than
    ``KEPT_HEADERS``, the request's environment, local variables or breadcrumbs (a breadcrumb
    is an earlier log message, which may name a patient), and with any query string in a message
    hidden. Sentry's ``before_send``."""
    request = event.get("request")
    if isinstance(request, dict):
        headers = request.get("headers") or {}
        event["request"] = {
            "method": request.get("method"),
            "url": _without_query(str(request.get("url") or "")),
            "headers": {
                name: value for name, value in headers.items() if name.lower() in KEPT_HEADERS
            },
        }
    for frame in _frames(event):
        frame.pop("vars", None)
    event.pop("breadcrumbs", None)
    # A message may quote a path with its query string, as logs may (spoc/core/logs.py).
    for value in (event.get("exception") or {}).get("values") or []:
        if isinstance(value.get("value"), str):
            value["value"] = query_strings_hidden(value["value"])
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        logentry.pop("params", None)
        for key in ("message", "formatted"):
            if isinstance(logentry.get(key), str):
                logentry[key] = query_strings_hidden(logentry[key])
    return event


def sentry_options(*, dsn: str, environment: str = "", release: str = "") -> dict[str, Any]:
    """The arguments of ``sentry_sdk.init`` for the hub: the Django and Celery integrations, no
    personal data, no request bodies, no local variables, and ``error_report_scrubbed`` last."""
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    options: dict[str, Any] = {
        "dsn": dsn,
        "integrations": [DjangoIntegration(), CeleryIntegration()],
        "send_default_pii": False,
        "max_request_body_size": "never",
        "include_local_variables": False,
        "max_breadcrumbs": 0,
        "before_send": error_report_scrubbed,
    }
    if environment:
        options["environment"] = environment
    if release:
        options["release"] = release
    return options
