"""Partner systems (docs/security.md, "Partner systems"): other NHS systems, not people, with
credentials of their own, OAuth 2.0 client credentials (RFC 6749 §4.4) for a bearer token, and
scopes that say what they may do.

A partner's token authenticates only on the endpoints built for partners (the FHIR API); the
staff API and pages do not accept it, and a staff session or token never carries a partner's
scope. Every step is in the access log as the partner (``partner:<client id>``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.permissions import BasePermission

from spoc.accounts.models import PartnerSecret, PartnerSystem, PartnerToken
from spoc.accounts.tokens import hash_key
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record
from spoc.core.identifiers import ENDPOINT_RULE, is_endpoint, is_ods_code


class Scope:
    """What a partner may do. A partner is registered with some of them; a token carries those
    it asked for (all of the partner's when it asked for none)."""

    SEND_REFERRALS = "referrals:send"
    READ_OWN_REFERRALS = "referrals:read"
    READ_DIRECTORY = "directory:read"
    ALL = (SEND_REFERRALS, READ_OWN_REFERRALS, READ_DIRECTORY)


NAME_MAX = 200


@dataclass(frozen=True)
class Partner:
    """Who a partner's request is from, as ``request.user``. It answers the questions Django and
    the REST framework ask of a user, and holds no staff permission whatever."""

    system: PartnerSystem
    scopes: frozenset[str]
    token_id: int
    is_authenticated: bool = field(default=True, init=False)
    is_anonymous: bool = field(default=False, init=False)
    is_active: bool = field(default=True, init=False)
    is_staff: bool = field(default=False, init=False)
    is_superuser: bool = field(default=False, init=False)
    is_clinician: bool = field(default=False, init=False)

    @property
    def pk(self) -> str:
        """Rate limits count per partner (the REST framework keys them by the user's pk); no
        query filters by it: partners reach only the endpoints built for them."""
        return f"partner-{self.system.pk}"

    def get_username(self) -> str:
        return f"partner:{self.system.client_id}"

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def has_perms(self, perms: Any, obj: Any = None) -> bool:
        return False

    def get_all_permissions(self, obj: Any = None) -> set[str]:
        return set()

    def __str__(self) -> str:
        return str(self.system)


@dataclass(frozen=True)
class IssuedCredentials:
    partner: PartnerSystem
    client_secret: str


@dataclass(frozen=True)
class IssuedPartnerToken:
    key: str
    scopes: tuple[str, ...]
    expires_in: int


class TokenRequestRefused(Exception):
    """An OAuth 2.0 error response (RFC 6749 §5.2): ``error`` is the code a client reads,
    ``status`` 400, or 401 for a client that did not authenticate."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def partner_values(*, name: str, ods_code: str, endpoint: str, scopes: list[str]) -> dict[str, Any]:
    """The partner's fields, cleaned; raises ValidationError naming each bad one."""
    errors: dict[str, str] = {}
    name = name.strip()
    ods_code = ods_code.strip().upper()
    endpoint = endpoint.strip()
    if not name:
        errors["name"] = "Enter the partner system's name."
    elif len(name) > NAME_MAX:
        errors["name"] = f"The name must be {NAME_MAX} characters or fewer."
    if not is_ods_code(ods_code):
        errors["ods_code"] = "Enter the ODS code: 3 to 10 letters and digits, like RTH or A81001."
    if endpoint and not is_endpoint(endpoint):
        errors["endpoint"] = f"Enter the endpoint as {ENDPOINT_RULE}."
    unknown = sorted(set(scopes) - set(Scope.ALL))
    if unknown or not scopes:
        errors["scopes"] = f"Choose scopes from {', '.join(Scope.ALL)}."
    if errors:
        raise ValidationError(errors)
    return {"name": name, "ods_code": ods_code, "endpoint": endpoint, "scopes": sorted(set(scopes))}


def _new_secret(partner: PartnerSystem) -> str:
    secret = secrets.token_urlsafe(32)
    PartnerSecret.objects.create(
        partner=partner, secret_hash=make_password(secret), created_at=timezone.now()
    )
    return secret


def partner_register(
    *, name: str, ods_code: str, endpoint: str = "", scopes: list[str] | None = None, by: Any = None
) -> IssuedCredentials:
    """Register a partner system with its first secret (shown once: only its hash is kept).
    Raises ValidationError naming each bad field."""
    values = partner_values(
        name=name,
        ods_code=ods_code,
        endpoint=endpoint,
        scopes=list(Scope.ALL) if scopes is None else scopes,
    )
    with transaction.atomic():
        partner = PartnerSystem.objects.create(
            client_id=f"spoc-{secrets.token_hex(12)}", created_at=timezone.now(), **values
        )
        secret = _new_secret(partner)
        access_log_record(
            action=AccessLog.Action.CREATE,
            user=by,
            object_type="partner_system",
            object_id=partner.pk,
            detail={"scopes": partner.scopes},
        )
    return IssuedCredentials(partner=partner, client_secret=secret)


def partner_secret_rotate(*, partner: PartnerSystem, by: Any = None) -> str:
    """A new secret for the partner; the ones it has keep working until they are revoked."""
    with transaction.atomic():
        secret = _new_secret(partner)
        access_log_record(
            action=AccessLog.Action.UPDATE,
            user=by,
            object_type="partner_system",
            object_id=partner.pk,
            detail={"changed": "new secret"},
        )
    return secret


def partner_secrets_revoke(
    *, partner: PartnerSystem, keep_newest: bool = False, by: Any = None
) -> int:
    """Revoke the partner's secrets (all, or all but the newest after a rotation) and end the
    tokens issued for them. Returns how many secrets were revoked."""
    live = PartnerSecret.objects.filter(partner=partner, revoked_at__isnull=True).order_by(
        "-created_at", "-id"
    )
    ids = list(live.values_list("id", flat=True))[1 if keep_newest else 0 :]
    with transaction.atomic():
        PartnerToken.objects.filter(secret_id__in=ids).delete()
        revoked = PartnerSecret.objects.filter(pk__in=ids).update(revoked_at=timezone.now())
        access_log_record(
            action=AccessLog.Action.CREDENTIALS_REVOKED,
            user=by,
            object_type="partner_system",
            object_id=partner.pk,
            detail={"secrets": revoked},
        )
    return revoked


def partner_deactivate(*, partner: PartnerSystem, by: Any = None) -> None:
    """The partner can no longer get or use a token (its secrets stay, for reactivation)."""
    with transaction.atomic():
        PartnerSystem.objects.filter(pk=partner.pk).update(is_active=False)
        removed, _ = PartnerToken.objects.filter(partner=partner).delete()
        access_log_record(
            action=AccessLog.Action.CREDENTIALS_REVOKED,
            user=by,
            object_type="partner_system",
            object_id=partner.pk,
            detail={"deactivated": True, "tokens": removed},
        )
    partner.is_active = False


def partner_token_issue(
    *, request: HttpRequest, client_id: str, client_secret: str, grant_type: str, scope: str = ""
) -> IssuedPartnerToken:
    """The client credentials grant: check the client and issue a bearer token for the scopes
    asked (space-separated; none asked: all of the partner's). Raises TokenRequestRefused."""
    if grant_type != "client_credentials":
        raise TokenRequestRefused(
            "unsupported_grant_type", "Only the client_credentials grant is supported."
        )
    partner = (
        PartnerSystem.objects.filter(client_id=client_id[:64], is_active=True).first()
        if client_id
        else None
    )
    secret = None
    if partner is not None:
        secret = next(
            (
                s
                for s in PartnerSecret.objects.filter(partner=partner, revoked_at__isnull=True)
                if check_password(client_secret, s.secret_hash)
            ),
            None,
        )
    if partner is None or secret is None:
        access_log_record(
            action=AccessLog.Action.LOGIN_FAILED,
            request=request,
            user=None,
            username=f"partner:{client_id[:100]}",
            object_type="partner_token",
        )
        raise TokenRequestRefused("invalid_client", "Client authentication failed.", status=401)
    asked = scope.split()
    if any(s not in partner.scopes for s in asked):
        raise TokenRequestRefused(
            "invalid_scope", f"This client may ask for: {' '.join(partner.scopes)}."
        )
    scopes = tuple(sorted(set(asked))) if asked else tuple(partner.scopes)
    key = secrets.token_urlsafe(32)
    now = timezone.now()
    ttl = settings.PARTNER_TOKEN_TTL
    with transaction.atomic():
        token = PartnerToken.objects.create(
            partner=partner,
            secret=secret,
            key_hash=hash_key(key),
            scopes=list(scopes),
            created_at=now,
            expires_at=now + ttl,
        )
        access_log_record(
            action=AccessLog.Action.LOGIN,
            request=request,
            user=None,
            username=f"partner:{partner.client_id}",
            object_type="partner_token",
            object_id=token.pk,
            detail={"scopes": list(scopes)},
        )
    return IssuedPartnerToken(key=key, scopes=scopes, expires_in=int(ttl.total_seconds()))


def partner_for_token(key: str, *, now: datetime | None = None) -> Partner | None:
    """The partner a bearer token belongs to, or None when it is unknown, expired, or its
    partner or secret has been turned off."""
    token = (
        PartnerToken.objects.select_related("partner", "secret")
        .filter(key_hash=hash_key(key))
        .first()
    )
    if (
        token is None
        or token.expires_at <= (now or timezone.now())
        or not token.partner.is_active
        or token.secret.revoked_at is not None
    ):
        return None
    return Partner(system=token.partner, scopes=frozenset(token.scopes), token_id=token.pk)


class PartnerScope(BasePermission):
    """Only a partner whose token carries ``scope`` (subclasses name it): staff sessions and
    staff tokens never pass, whatever their role."""

    scope = ""
    message = "This needs a partner system's token with the right scope."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return isinstance(user, Partner) and self.scope in user.scopes


class MaySendReferrals(PartnerScope):
    scope = Scope.SEND_REFERRALS


class MayReadOwnReferrals(PartnerScope):
    scope = Scope.READ_OWN_REFERRALS


class MayReadDirectory(PartnerScope):
    scope = Scope.READ_DIRECTORY
