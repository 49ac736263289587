"""Session rules of docs/design.md §10: idle timeout, and MFA before anything else."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from spoc.audit.context import is_poll

LAST_ACTIVITY_KEY = "last_activity"
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


class IdleTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "_auth_user_id" in request.session:
            now = int(time.time())
            last = request.session.get(LAST_ACTIVITY_KEY, now)
            if now - last > settings.SESSION_IDLE_TIMEOUT_SECONDS:
                from spoc.accounts.tokens import session_tokens_revoke

                session_tokens_revoke(request=request)
                logout(request)
                if request.headers.get("HX-Request") or is_poll(request):
                    return JsonResponse({"detail": "Signed out after inactivity."}, status=401)
                messages.info(request, "You were signed out after a period of inactivity.")
                login_url = reverse("login") + "?" + urlencode({"next": request.path})
                return HttpResponseRedirect(login_url)
            if not is_poll(request):
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
            from django_otp import user_has_device

            if user_has_device(user, confirmed=True):
                return HttpResponseRedirect(
                    reverse("mfa-verify") + "?" + urlencode({"next": request.get_full_path()})
                )
            if settings.MFA_REQUIRED or request.session.get(MFA_ENROL_REQUIRED_KEY):
                return HttpResponseRedirect(reverse("mfa-enrol"))
        return self.get_response(request)
