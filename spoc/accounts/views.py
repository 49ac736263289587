from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from spoc.accounts import mfa
from spoc.accounts.tokens import TokenRefused, api_token_issue
from spoc.core.forms import NhsFormMixin


class PasswordChangeForm(NhsFormMixin, auth_forms.PasswordChangeForm):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = PasswordChangeForm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


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


@login_required
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    """GET shows the pending authenticator (if set-up was started); POST `start` creates one
    (nothing changes on GET), POST `token` confirms it."""
    user = request.user
    if request.method == "POST" and "start" in request.POST:
        mfa.totp_device_pending(user=user)  # type: ignore[arg-type]
        return redirect("mfa-enrol")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()  # type: ignore[misc]
    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST" and device is not None and form.is_valid():
        confirmed = mfa.totp_confirm(user=user, token=form.cleaned_data["token"])  # type: ignore[arg-type]
        if confirmed is not None:
            otp_login(request, confirmed)
            messages.success(request, "Two-factor authentication is set up.")
            return redirect("home")
        form.add_error("token", "That code did not match. Check the time on your phone and try again.")
    context: dict[str, object] = {"form": form, "device": device}
    if device is not None:
        context.update(qr_svg=mfa.totp_qr_svg(device=device), secret=device.bin_key.hex())
    return render(request, "accounts/mfa_enrol.html", context)


@login_required
def mfa_verify(request: HttpRequest) -> HttpResponse:
    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = mfa.totp_verify(user=request.user, token=form.cleaned_data["token"])  # type: ignore[arg-type]
        if device is not None:
            otp_login(request, device)
            return redirect(_safe_next(request))
        form.add_error("token", "That code did not match. Check the time on your phone and try again.")
    has_device = TOTPDevice.objects.filter(user=request.user, confirmed=True).exists()  # type: ignore[misc]
    return render(
        request, "accounts/mfa_verify.html", {"form": form, "next": _safe_next(request), "has_device": has_device}
    )


@require_POST
def keepalive(request: HttpRequest) -> JsonResponse:
    """'Stay signed in': any non-poll request counts as activity (IdleTimeoutMiddleware), so this
    only answers how long the session now has, without reloading the page or losing a form."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "Signed out."}, status=401)
    from django.conf import settings

    return JsonResponse({"idle_timeout_seconds": settings.SESSION_IDLE_TIMEOUT_SECONDS})


class TokenInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)
    otp_token = serializers.RegexField(r"^\d{6}$", required=False, allow_blank=True)


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()


class TokenObtainApi(APIView):
    """POST username and password (and, under production settings, otp_token) for a token."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    serializer_class = TokenInputSerializer

    def post(self, request: Request) -> Response:
        data = TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            issued = api_token_issue(request=request._request, **data.validated_data)
        except TokenRefused as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response(
            TokenOutputSerializer({"token": issued.key, "expires_at": issued.expires_at}).data
        )


class MeOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    is_clinician = serializers.BooleanField()


class MeApi(APIView):
    """Who the token or session belongs to, and their roles."""

    serializer_class = MeOutputSerializer

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
