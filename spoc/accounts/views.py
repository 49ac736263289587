from __future__ import annotations

import base64
from typing import Any
from urllib.parse import unquote_plus, urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from spoc.accounts import mfa, services
from spoc.accounts.authentication import ExpiringTokenAuthentication
from spoc.accounts.middleware import MFA_ENROL_REQUIRED_KEY
from spoc.accounts.models import ApiToken, User
from spoc.accounts.partners import TokenRequestRefused, partner_token_issue
from spoc.accounts.tokens import (
    TokenRefused,
    api_token_issue,
    api_tokens_revoke,
    session_token_remember,
    session_tokens_revoke,
)
from spoc.core.forms import NhsFormMixin


class PasswordChangeForm(NhsFormMixin, auth_forms.PasswordChangeForm):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    """Changing one's password ends every other session and every API token of the user; this
    browser stays signed in."""

    template_name = "accounts/password_change.html"
    form_class = PasswordChangeForm

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:  # type: ignore[override]
        services.user_password_set(
            user=form.user,
            password=form.cleaned_data["new_password1"],
            by=form.user,
            request=self.request,
        )
        update_session_auth_hash(self.request, form.user)
        return redirect(self.get_success_url())


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: auth_forms.AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        user = form.get_user()
        if not user_has_device(user, confirmed=True) and mfa.mfa_enrolment_required(user=user):
            # MFARequiredMiddleware sends this session to enrol before anything else.
            self.request.session[MFA_ENROL_REQUIRED_KEY] = True
        return response


class LogoutView(auth_views.LogoutView):
    """Signing out also revokes the API tokens this session asked for."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        session_tokens_revoke(request=request)
        return super().post(request, *args, **kwargs)


class OneTimeCodeForm(NhsFormMixin, forms.Form):
    token = forms.RegexField(
        label="Code from your authenticator app",
        regex=r"^\d{6}$",
        error_messages={"invalid": "Enter the 6-digit code shown in your app."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/"


# The session's own pending authenticator (mfa.totp_device_pending), so that reloading the page
# keeps its secret and no other session can confirm it.
MFA_PENDING_KEY = "mfa_pending_device_id"


@login_required
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    """GET shows the pending authenticator (if set-up was started in this session); POST `start`
    creates one (nothing changes on GET), POST `token` confirms it. A user who already has an
    authenticator needs a session verified with it: otherwise GET sends them to enter a code and
    POST is refused (403), so a password alone never replaces a second factor."""
    user: Any = request.user
    verified_device = user.otp_device
    pending_id = request.session.get(MFA_PENDING_KEY)
    has_device = user_has_device(user, confirmed=True)
    if has_device and not user.is_verified():
        if request.method == "POST":
            return render(request, "accounts/mfa_enrol_refused.html", status=403)
        return redirect(reverse("mfa-verify") + "?" + urlencode({"next": request.get_full_path()}))
    form = OneTimeCodeForm(request.POST or None)
    try:
        if request.method == "POST" and "start" in request.POST:
            device = mfa.totp_device_pending(
                user=user, verified_device=verified_device, pending_id=pending_id
            )
            request.session[MFA_PENDING_KEY] = device.pk
            return redirect("mfa-enrol")
        device = mfa.totp_device_pending_get(user=user, pending_id=pending_id)
        if request.method == "POST" and device is not None and form.is_valid():
            confirmed = mfa.totp_confirm(
                user=user,
                token=form.cleaned_data["token"],
                verified_device=verified_device,
                pending_id=pending_id,
                request=request,
            )
            if confirmed is not None:
                otp_login(request, confirmed)
                request.session.pop(MFA_PENDING_KEY, None)
                request.session.pop(MFA_ENROL_REQUIRED_KEY, None)
                messages.success(request, "Two-factor authentication is set up.")
                return redirect("home")
            form.add_error(
                "token", "That code did not match. Check the time on your phone and try again."
            )
    except mfa.MfaChangeRefused:
        return render(request, "accounts/mfa_enrol_refused.html", status=403)
    context: dict[str, object] = {"form": form, "device": device, "has_device": has_device}
    if device is not None:
        # Authenticator apps take a typed key in base32 (RFC 4648), in groups of four to read aloud.
        key = base64.b32encode(device.bin_key).decode().rstrip("=")
        context.update(
            qr_svg=mfa.totp_qr_svg(device=device),
            secret=" ".join(key[i : i + 4] for i in range(0, len(key), 4)),
        )
    return render(request, "accounts/mfa_enrol.html", context)


class MfaResetForm(NhsFormMixin, forms.Form):
    reason = forms.CharField(
        label="Reason for the reset",
        help_text="For example: phone lost, reported by telephone, identity checked by the team lead.",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Enter the reason for the reset."},
    )

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data["reason"]).strip()
        if not reason:
            raise forms.ValidationError("Enter the reason for the reset.")
        return reason


@login_required
@permission_required("accounts.manage_users", raise_exception=True)
def mfa_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    """A system admin resets a lost authenticator (GET shows the form, POST with a reason resets):
    the user's devices are removed, they enrol again at next sign-in, and all their sessions and
    API tokens end."""
    subject = get_object_or_404(User, pk=user_id)
    form = MfaResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        removed = mfa.mfa_reset(
            user=subject,
            by=request.user,  # type: ignore[arg-type]
            reason=form.cleaned_data["reason"],
            request=request,
        )
        messages.success(
            request,
            f"Two-factor authentication of {subject.get_username()} was reset ({removed} authenticator"
            f"{'' if removed == 1 else 's'} removed). They have been signed out everywhere and will "
            f"set up a new authenticator when they next sign in.",
        )
        return redirect("mfa-reset", user_id=subject.pk)
    devices = TOTPDevice.objects.filter(user=subject, confirmed=True).count()
    return render(
        request, "accounts/mfa_reset.html", {"form": form, "subject": subject, "devices": devices}
    )


@login_required
def mfa_verify(request: HttpRequest) -> HttpResponse:
    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = mfa.totp_verify(user=request.user, token=form.cleaned_data["token"])  # type: ignore[arg-type]
        if device is not None:
            otp_login(request, device)
            return redirect(_safe_next(request))
        form.add_error(
            "token", "That code did not match. Check the time on your phone and try again."
        )
    has_device = TOTPDevice.objects.filter(user=request.user, confirmed=True).exists()  # type: ignore[misc]
    return render(
        request,
        "accounts/mfa_verify.html",
        {"form": form, "next": _safe_next(request), "has_device": has_device},
    )


@require_POST
def keepalive(request: HttpRequest) -> JsonResponse:
    """'Stay signed in': any non-poll request counts as activity (IdleTimeoutMiddleware), so this
    only answers how long the session now has, without reloading the page or losing a form."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "Signed out."}, status=401)
    from django.conf import settings

    return JsonResponse({"idle_timeout_seconds": settings.SESSION_IDLE_TIMEOUT_SECONDS})


class AuthErrorSerializer(serializers.Serializer):
    """An error of the authentication endpoints; a 400 for bad input adds field errors beside
    `detail` and `code`."""

    detail = serializers.CharField(help_text="What went wrong, for a person to read.")
    code = serializers.CharField(
        help_text="What went wrong, for a program: invalid, invalid_credentials, otp_required, "
        "mfa_enrolment_required, not_authenticated, authentication_failed, not_permitted, locked_out."
    )


_ERRORS = {
    401: OpenApiResponse(
        AuthErrorSerializer, description="No token, or the token is unknown or expired."
    ),
    403: OpenApiResponse(AuthErrorSerializer, description="Not permitted."),
    429: OpenApiResponse(
        AuthErrorSerializer,
        description="Locked out (`locked_out`): too many failed sign-ins for this username from this "
        "address, or from this address for any username. Wait for the cool-off.",
    ),
}


class TokenInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    # No upper limit below 64 characters (ASVS 5.0 6.2.9); 256 only bounds the work of hashing.
    password = serializers.CharField(max_length=256, trim_whitespace=False)
    otp_token = serializers.RegexField(r"^\d{6}$", required=False, allow_blank=True)


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()


class TokenObtainApi(APIView):
    """POST username and password (and, for a user with an authenticator, otp_token) for a token.
    Called with a signed-in browser session of the same user, the token belongs to that session
    and is revoked when it signs out."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    serializer_class = TokenInputSerializer

    @extend_schema(
        operation_id="auth_token_create",
        summary="Obtain an API token",
        request=TokenInputSerializer,
        responses={
            200: TokenOutputSerializer,
            400: OpenApiResponse(
                AuthErrorSerializer,
                description="Bad input (`invalid`, with field errors), wrong username or password "
                "(`invalid_credentials`), a one-time code missing or wrong (`otp_required`), or an "
                "authenticator to set up in the web app first (`mfa_enrolment_required`).",
            ),
            429: _ERRORS[429],
        },
    )
    def post(self, request: Request) -> Response:
        data = TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            issued = api_token_issue(request=request._request, **data.validated_data)
        except TokenRefused as exc:
            return Response({"detail": str(exc), "code": exc.code}, status=400)
        session_token_remember(request=request._request, token=issued)
        return Response(
            TokenOutputSerializer({"token": issued.key, "expires_at": issued.expires_at}).data
        )


class PartnerTokenApi(APIView):
    """The OAuth 2.0 token endpoint for partner systems (RFC 6749 §4.4, client credentials):
    `grant_type=client_credentials`, the client authenticated by HTTP Basic or by `client_id` and
    `client_secret` in the form, an optional space-separated `scope`. Answers as the RFC says:
    `access_token`, `token_type` Bearer, `expires_in`, `scope`; errors as `error` and
    `error_description`, never cached."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_scope = "partner_token"

    # Not in the REST API's OpenAPI schema: its answers are RFC 6749's, not the API's
    # {detail, code}; docs/security.md, "Partner systems are not people", describes it.
    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        client_id, client_secret = _client_credentials(request)
        try:
            if not client_id or not client_secret:
                raise TokenRequestRefused(
                    "invalid_client", "Send the client's id and secret.", status=401
                )
            issued = partner_token_issue(
                request=request._request,
                client_id=client_id,
                client_secret=client_secret,
                grant_type=str(request.data.get("grant_type", "")),
                scope=str(request.data.get("scope", "")),
            )
        except TokenRequestRefused as exc:
            response = Response(
                {"error": exc.error, "error_description": exc.description}, status=exc.status
            )
            if exc.status == 401:
                response["WWW-Authenticate"] = 'Basic realm="spoc"'
        else:
            response = Response(
                {
                    "access_token": issued.key,
                    "token_type": "Bearer",
                    "expires_in": issued.expires_in,
                    "scope": " ".join(issued.scopes),
                }
            )
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response


def _client_credentials(request: Request) -> tuple[str, str]:
    """The client's id and secret from HTTP Basic (RFC 6749 §2.3.1: each form-urlencoded), else
    from the form."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return "", ""
        client_id, _, client_secret = decoded.partition(":")
        return unquote_plus(client_id), unquote_plus(client_secret)
    return str(request.data.get("client_id", "")), str(request.data.get("client_secret", ""))


class TokenRevokeInputSerializer(serializers.Serializer):
    all = serializers.BooleanField(
        default=False, help_text="Revoke every token of the user, not only this one."
    )


class TokenRevokeOutputSerializer(serializers.Serializer):
    revoked = serializers.IntegerField(help_text="How many tokens were revoked.")


class TokenRevokeApi(APIView):
    """POST with `Authorization: Token <key>`: that token stops working; with `{"all": true}`,
    every token of the user does."""

    authentication_classes = [ExpiringTokenAuthentication]
    permission_classes = [IsAuthenticated]
    serializer_class = TokenRevokeInputSerializer

    @extend_schema(
        operation_id="auth_token_revoke",
        summary="Revoke this API token, or all of the user's",
        request=TokenRevokeInputSerializer,
        responses={
            200: TokenRevokeOutputSerializer,
            400: OpenApiResponse(
                AuthErrorSerializer, description="Bad input (`invalid`, with field errors)."
            ),
            401: _ERRORS[401],
            403: _ERRORS[403],
        },
    )
    def post(self, request: Request) -> Response:
        data = TokenRevokeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, token = request.user, request.auth
        # ExpiringTokenAuthentication, the view's only one, gives a user and their ApiToken.
        assert isinstance(user, User) and isinstance(token, ApiToken)
        revoked = api_tokens_revoke(
            user=user,
            token=token,
            all_tokens=data.validated_data["all"],
            request=request._request,
        )
        return Response(TokenRevokeOutputSerializer({"revoked": revoked}).data)


class MeOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    is_clinician = serializers.BooleanField()


class MeApi(APIView):
    """Who the token or session belongs to, and their roles."""

    serializer_class = MeOutputSerializer

    @extend_schema(
        operation_id="me_retrieve",
        summary="The signed-in user and their roles",
        responses={200: MeOutputSerializer, 401: _ERRORS[401], 403: _ERRORS[403]},
    )
    def get(self, request: Request) -> Response:
        from spoc.accounts.roles import roles_of

        user = request.user
        return Response(
            MeOutputSerializer(
                {
                    "username": user.get_username(),
                    "display_name": user.display_name(),  # type: ignore[union-attr]
                    "roles": roles_of(user),
                    "is_clinician": user.is_clinician,  # type: ignore[union-attr]
                }
            ).data
        )
