"""API tokens (DESIGN.md §9): issued for a password (and, where MFA is required, a one-time
code), expiring after API_TOKEN_TTL."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils import timezone
from django_otp import devices_for_user, user_has_device

from spoc.accounts.models import ApiToken, User


class TokenRefused(Exception):
    """Credentials or one-time code not accepted; the message is safe to show."""


@dataclass(frozen=True)
class IssuedToken:
    key: str
    expires_at: datetime


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def otp_is_valid(*, user: User, otp_token: str) -> bool:
    return any(
        device.verify_token(otp_token) for device in devices_for_user(user, confirmed=True)
    )


def api_token_issue(
    *, request: HttpRequest, username: str, password: str, otp_token: str = ""
) -> IssuedToken:
    """Check the credentials (through django-axes, so lock-out applies) and issue a token.

    Raises TokenRefused when the password is wrong, the user is locked out, or a one-time code is
    required (MFA_REQUIRED, or the user has a device) and missing or wrong.
    """
    user = authenticate(request=request, username=username, password=password)
    if user is None:
        raise TokenRefused("Unable to sign in with the username and password provided.")
    assert isinstance(user, User)
    if settings.MFA_REQUIRED or user_has_device(user, confirmed=True):
        if not user_has_device(user, confirmed=True):
            raise TokenRefused("Set up two-factor authentication in the web app first.")
        if not otp_token or not otp_is_valid(user=user, otp_token=otp_token):
            raise TokenRefused("A valid one-time code (otp_token) is required.")
    key = secrets.token_urlsafe(32)
    now = timezone.now()
    expires_at = now + settings.API_TOKEN_TTL
    ApiToken.objects.create(user=user, key_hash=hash_key(key), created_at=now, expires_at=expires_at)
    return IssuedToken(key=key, expires_at=expires_at)
