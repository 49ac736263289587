from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    TokenAuthentication,
    get_authorization_header,
)

from spoc.accounts.devices import has_confirmed_device
from spoc.accounts.middleware import MFA_ENROL_REQUIRED_KEY
from spoc.accounts.models import ApiToken
from spoc.accounts.partners import Partner, partner_for_token
from spoc.accounts.tokens import hash_key
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` against ApiToken, refused once the token has expired."""

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed("Token has expired; request a new one.")
        return token.user, token


class VerifiedSessionAuthentication(SessionAuthentication):
    """The browser session, but only once its second factor is verified where one is required
    (MFA_REQUIRED, the user has a device, or a system admin reset it and the user must enrol
    again): the API must not be a way round MFA."""

    def authenticate(self, request: Any) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        needs_second_factor = (
            settings.MFA_REQUIRED
            or bool(request._request.session.get(MFA_ENROL_REQUIRED_KEY))
            or has_confirmed_device(user)
        )
        if needs_second_factor and not getattr(user, "is_verified", lambda: False)():
            return None
        return result


class PartnerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>` from the partner token endpoint (spoc/accounts/partners.py):
    the request's user is then the Partner. Only the endpoints built for partners list this
    class; everywhere else a bearer token authenticates nobody."""

    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[Partner, str] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the token as: Authorization: Bearer <token>."
            )
        try:
            key = parts[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token.") from exc
        partner = partner_for_token(key)
        if partner is None:
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        # Every request of a partner is in the access log in its name, whatever it reads (the
        # path without its query string, which may hold an NHS number).
        access_log_record(
            action=AccessLog.Action.VIEW,
            user=partner,
            request=request._request,
            object_type="partner_request",
            detail={"method": request.method, "path": request._request.path[:200]},
        )
        return partner, key

    def authenticate_header(self, request: Any) -> str:
        return f'{self.keyword} realm="fhir"'
