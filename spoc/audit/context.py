"""The request a piece of code runs for, so the access log knows who, from where and why.

AccessContextMiddleware holds the current request for as long as Django handles it. The access
log (spoc/audit/services.py) reads the user and the client address from it, and, for a read of a
patient opened by break-glass, the reason given for opening it (the grants in the session), so a
selector that shows patient data, or a service that writes a row, needs no request passed down to
it. Outside a request (Celery tasks, management commands) there is none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

_current: ContextVar[HttpRequest | None] = ContextVar("spoc_audit_request", default=None)

# A request with this header (htmx polling of queues and counters) does not count as activity, and
# its fragment is not written to the access log: it shows a person nothing new.
POLL_HEADER = "HTTP_X_SPOC_POLL"


def is_poll(request: HttpRequest) -> bool:
    return request.META.get(POLL_HEADER) == "1"


def is_polled_fragment(request: HttpRequest) -> bool:
    """An htmx poll redrawing part of a page the person already has open: not written to the
    access log. The poll header alone, on a full page, is: it cannot hide a read."""
    return is_poll(request) and bool(request.headers.get("HX-Request"))


# A session's break-glass grants (referrals/access.py writes them): the patient's id to when the
# window ends, and to the reason given.
BREAK_GLASS_SESSION_KEY = "break_glass"
BREAK_GLASS_REASONS_KEY = "break_glass_reasons"


def current_request() -> HttpRequest | None:
    return _current.get()


def break_glass_reason(request: HttpRequest | None, patient_id: int | None) -> str:
    """Why ``request``'s session opened ``patient_id`` by break-glass, while the window lasts;
    empty for a patient in the user's care (no grant) or outside a request."""
    session = getattr(request, "session", None)
    if session is None or patient_id is None:
        return ""
    key = str(patient_id)
    if session.get(BREAK_GLASS_SESSION_KEY, {}).get(key, 0) <= time.time():
        return ""
    return str(session.get(BREAK_GLASS_REASONS_KEY, {}).get(key, ""))


class AccessContextMiddleware:
    """Make the request being handled the access log's context. After the authentication
    middleware; API token authentication happens later, in the view, and sets the same request's
    user (Django REST framework's Request does), which the log reads when it writes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current.set(request)
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
