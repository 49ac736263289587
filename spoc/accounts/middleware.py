"""Session rules of docs/design.md §10: idle timeout, and MFA before anything else."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from spoc.audit.context import is_poll

LAST_ACTIVITY_KEY = "last_activity"
# The time of the last activity is written to the session at most this often, not on every
# request: a write is an UPDATE of the session row, and most pages are loaded within a minute of
# the one before. The recorded time is then up to a minute behind the last request, so the
# timeout waits that minute more: a session ends no sooner than SESSION_IDLE_TIMEOUT_SECONDS after
# its last request that was not a poll, and less than a minute after that. The page signs itself
# out at the timeout to the second (static/js/app.js), so this only moves the server's backstop.
ACTIVITY_RECORD_SECONDS = 60
# Set at sign-in for a user who must enrol an authenticator although MFA is optional here (a
# system admin reset theirs: spoc.accounts.mfa.mfa_enrolment_required).
MFA_ENROL_REQUIRED_KEY = "mfa_enrol_required"

# Paths that never need a second factor or an active session: signing in and out, health checks,
# static assets.
OPEN_PREFIXES = (
    "/static/",
    "/healthz",
    "/accounts/login/",
    "/accounts/logout/",
    "/api/",
    "/fhir/",
    "/oauth2/",
)


def activity_record_at_sign_in(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    """The idle clock starts at sign-in (Django's ``user_logged_in``), in the session write that
    signing in makes anyway, so the pages of the first minute write nothing."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_ACTIVITY_KEY] = int(time.time())


class IdleTimeoutMiddleware:
    """Signs out a session idle for SESSION_IDLE_TIMEOUT_SECONDS (docs/design.md §10): no request
    but queue polls in that time, to within ACTIVITY_RECORD_SECONDS."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "_auth_user_id" in request.session:
            now = int(time.time())
            last = request.session.get(LAST_ACTIVITY_KEY)
            idle = 0 if last is None else now - last
            # The recorded time lags the last request by less than ACTIVITY_RECORD_SECONDS.
            if idle >= settings.SESSION_IDLE_TIMEOUT_SECONDS + ACTIVITY_RECORD_SECONDS:
                from spoc.accounts.tokens import session_tokens_revoke

                session_tokens_revoke(request=request)
                logout(request)
                if request.headers.get("HX-Request") or is_poll(request):
                    return JsonResponse({"detail": "Signed out after inactivity."}, status=401)
                messages.info(request, "You were signed out after a period of inactivity.")
                login_url = reverse("login") + "?" + urlencode({"next": request.path})
                return HttpResponseRedirect(login_url)
            if not is_poll(request) and (last is None or idle >= ACTIVITY_RECORD_SECONDS):
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)


class MFARequiredMiddleware:
    """A user with a confirmed TOTP device must enter a code after the password; where
    MFA_REQUIRED is set (production), or after a system admin reset their authenticator, a user
    without one must enrol first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(OPEN_PREFIXES)
            and not request.path.startswith("/accounts/mfa/")
            and not user.is_verified()
        ):
            from spoc.accounts.devices import has_confirmed_device

            if has_confirmed_device(user):
                return HttpResponseRedirect(
                    reverse("mfa-verify") + "?" + urlencode({"next": request.get_full_path()})
                )
            if settings.MFA_REQUIRED or request.session.get(MFA_ENROL_REQUIRED_KEY):
                return HttpResponseRedirect(reverse("mfa-enrol"))
        return self.get_response(request)
