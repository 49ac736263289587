"""API tokens (docs/architecture.md, "Security"; docs/security.md): issued for a password (and, where the user has or must have an
authenticator, a one-time code), expiring after API_TOKEN_TTL, revoked by their holder, at
sign-out of the browser session that asked for them, and with all of the user's credentials
(spoc.accounts.services.user_credentials_revoke: password change, two-factor reset,
deactivation)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import authenticate, get_user
from django.http import HttpRequest
from django.utils import timezone
from django_otp import user_has_device

from spoc.accounts.mfa import mfa_enrolment_required, totp_verify
from spoc.accounts.models import ApiToken, User
from spoc.accounts.sessions import key_digest
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record


class TokenRefused(Exception):
    """Credentials or one-time code not accepted; the message is safe to show."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class IssuedToken:
    id: int
    user_id: int
    key: str
    expires_at: datetime


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def otp_is_valid(*, user: User, otp_token: str) -> bool:
    return totp_verify(user=user, token=otp_token) is not None


def api_token_issue(
    *, request: HttpRequest, username: str, password: str, otp_token: str = ""
) -> IssuedToken:
    """Check the credentials (through django-axes, so lock-out applies) and issue a token.

    The second factor follows the web sign-in: a user with an authenticator must send a valid
    code; a user who must have one (MFA_REQUIRED, or reset by a system admin) and has none is
    refused until they enrol in the web app. Only a full success resets the lock-out count of
    this username from this address, as a web sign-in does.

    Raises TokenRefused when the password is wrong, the user is locked out, or a one-time code is
    required and missing or wrong.
    """
    user = authenticate(request=request, username=username, password=password)
    if user is None:
        raise TokenRefused(
            "Unable to sign in with the username and password provided.", "invalid_credentials"
        )
    assert isinstance(user, User)
    if user_has_device(user, confirmed=True):
        if not otp_token or not otp_is_valid(user=user, otp_token=otp_token):
            raise TokenRefused("A valid one-time code (otp_token) is required.", "otp_required")
    elif mfa_enrolment_required(user=user):
        raise TokenRefused(
            "Set up two-factor authentication in the web app first.", "mfa_enrolment_required"
        )
    # django-axes resets the failures on Django's user_logged_in signal, which a token never
    # sends: reset them here, through the same handler.
    AxesProxyHandler.user_logged_in(sender=api_token_issue, request=request, user=user)
    key = secrets.token_urlsafe(32)
    now = timezone.now()
    expires_at = now + settings.API_TOKEN_TTL
    token = ApiToken.objects.create(
        user=user, key_hash=hash_key(key), created_at=now, expires_at=expires_at
    )
    access_log_record(
        action=AccessLog.Action.LOGIN,
        user=user,
        request=request,
        object_type="api_token",
        object_id=token.pk,
    )
    return IssuedToken(id=token.pk, user_id=user.pk, key=key, expires_at=expires_at)


def session_token_remember(*, request: HttpRequest, token: IssuedToken) -> None:
    """A token asked for with a signed-in browser session, for that session's own user, belongs
    to the session: the token's row names it (by a digest of its key), and it is revoked when the
    session signs out (session_tokens_revoke). A token asked for without a session, or for
    another user, is left to expire or be revoked. The link is on the token's row, not in the
    session, so no copy of the session kept in Redis can lose it (spoc/accounts/sessions.py).

    Reads the session itself (django.contrib.auth.get_user, which checks the session hash): the
    token endpoint authenticates nobody, so DRF has set request.user to anonymous."""
    user = get_user(request)
    session_key = request.session.session_key
    if not user.is_authenticated or user.pk != token.user_id or not session_key:
        return
    ApiToken.objects.filter(pk=token.id).update(session_digest=key_digest(session_key))


def session_tokens_revoke(*, request: HttpRequest) -> int:
    """Revoke the tokens that this browser session asked for; called just before it signs out
    (the sign-out button, the idle timeout). Returns how many were removed."""
    user = getattr(request, "user", None)
    session_key = request.session.session_key
    if user is None or not user.is_authenticated or not session_key:
        return 0
    removed, _ = ApiToken.objects.filter(user=user, session_digest=key_digest(session_key)).delete()
    return removed


def api_tokens_revoke(
    *, user: User, token: ApiToken, all_tokens: bool = False, request: HttpRequest | None = None
) -> int:
    """Revoke `token` (the one the request came with), or every token of `user` with
    `all_tokens`. Written to the access log as a sign-out; returns how many were removed."""
    tokens = ApiToken.objects.filter(user=user)
    if not all_tokens:
        tokens = tokens.filter(pk=token.pk)
    removed, _ = tokens.delete()
    access_log_record(
        action=AccessLog.Action.LOGOUT,
        user=user,
        request=request,
        object_type="api_token",
        object_id="all" if all_tokens else token.pk,
        detail={"tokens": removed},
    )
    return removed
