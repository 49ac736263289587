"""The request a piece of code runs for, so the access log knows who and from where.

AccessContextMiddleware holds the current request for as long as Django handles it. The access
log (spoc/audit/services.py) reads the user and the client address from it, so a selector that
shows patient data, or a service that writes a row, needs no request passed down to it. Outside a
request (Celery tasks, management commands) there is none.
"""

from __future__ import annotations

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


def current_request() -> HttpRequest | None:
    return _current.get()


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
