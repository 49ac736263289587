"""Lock-out (django-axes): per username and address, and per address across usernames.

django-axes counts failures per username-and-address (AXES_LOCKOUT_PARAMETERS) and compares
every counted combination with one AXES_FAILURE_LIMIT. An address needs a higher limit than a
username does (many staff can sign in from one ward computer or one hospital proxy), and a
success must reset only the count of the user who succeeded, not the address's: listing
"ip_address" among django-axes' parameters would do neither (one limit for both; a success
resets every combination). So the handler below adds the address limit on the same rows
django-axes already keeps: the failures from one address within the cool-off, whatever the
username, compared with AXES_ADDRESS_FAILURE_LIMIT.
"""

from __future__ import annotations

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def address_failures(request: HttpRequest) -> int:
    """Failed sign-ins from the request's address within the cool-off, for any username. The
    address is the client address (TrustedProxyMiddleware), as django-axes sees it."""
    AxesProxyHandler.update_request(request)  # sets axes_ip_address and axes_attempt_time, once
    address = request.axes_ip_address  # type: ignore[attr-defined]
    if not address:
        return 0
    total = AccessAttempt.objects.filter(
        ip_address=address, attempt_time__gte=get_cool_off_threshold(request)
    ).aggregate(total=Sum("failures_since_start"))["total"]
    return int(total or 0)


def address_is_locked(request: HttpRequest) -> bool:
    return address_failures(request) >= settings.AXES_ADDRESS_FAILURE_LIMIT


class AddressLimitAxesHandler(AxesDatabaseHandler):
    """django-axes' database handler, plus a per-address limit (AXES_HANDLER).

    get_failures is what django-axes compares with AXES_FAILURE_LIMIT, before authenticating
    (is_locked) and after each failure (to lock out): an address over its own limit counts as
    at the username limit, so every username from it waits for the cool-off. The username's own
    count, and its reset on success (reset_user_attempts), are unchanged."""

    def get_failures(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        failures = super().get_failures(request, credentials)
        if address_is_locked(request):
            return max(failures, get_failure_limit(request, credentials))
        return failures


def lockout_response(
    request: HttpRequest, response: Any = None, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    """What a locked-out user sees (AXES_LOCKOUT_CALLABLE): HTTP 429, JSON under /api/."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    if address_is_locked(request):
        message = (
            f"Too many failed sign-in attempts from this computer. Try again in {minutes} "
            f"minutes, or ask a system administrator."
        )
    else:
        message = (
            f"Too many failed sign-in attempts for this username from this computer. "
            f"Try again in {minutes} minutes, or ask a system administrator to unlock your account."
        )
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "code": "locked_out"}, status=429)
    return render(request, "accounts/locked_out.html", {"message": message}, status=429)
