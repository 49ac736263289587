"""Writes to accounts that other parts of the hub call: ending a user's sessions and tokens."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest

from spoc.accounts.models import ApiToken, User
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record


@transaction.atomic
def user_credentials_revoke(
    *, user: User, reason: str, by: User | None = None, request: HttpRequest | None = None
) -> int:
    """End every session and API token of `user` (password change, role change, MFA reset,
    deactivation). Sessions end because the epoch is part of the session hash
    (User.get_session_auth_hash): each is refused at its next request. Writes one access-log row;
    returns how many tokens were removed."""
    tokens, _ = ApiToken.objects.filter(user=user).delete()
    User.objects.filter(pk=user.pk).update(credentials_epoch=F("credentials_epoch") + 1)
    user.refresh_from_db(fields=["credentials_epoch"])
    access_log_record(
        action=AccessLog.Action.CREDENTIALS_REVOKED,
        user=by,
        request=request,
        object_type="user",
        object_id=user.pk,
        reason=reason,
        detail={"tokens": tokens, "subject": user.get_username()},
    )
    return tokens


@transaction.atomic
def user_password_set(
    *, user: User, password: str, by: User | None = None, request: HttpRequest | None = None
) -> None:
    """Set a new password (already validated by the caller's form) and end every session and API
    token of the user: a stolen token must not outlive the password it was issued for. A caller
    that keeps the current browser session signed in (the user changing their own password)
    calls django.contrib.auth.update_session_auth_hash afterwards."""
    user.set_password(password)
    user.save(update_fields=["password"])
    user_credentials_revoke(user=user, reason="Password changed", by=by or user, request=request)


@transaction.atomic
def user_deactivate(
    *, user: User, by: User | None = None, reason: str = "", request: HttpRequest | None = None
) -> None:
    """Deactivate an account and end its sessions and API tokens, so that reactivating it later
    brings none of them back. The admin calls this (or `user_deactivated`) for a user saved with
    is_active False."""
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    user_deactivated(user=user, by=by, reason=reason, request=request)


def user_deactivated(
    *, user: User, by: User | None = None, reason: str = "", request: HttpRequest | None = None
) -> None:
    """Hook for a form that has already saved `user` with is_active False (the user admin's
    save_model): ends their sessions and API tokens. Does nothing for an active user."""
    if user.is_active:
        return
    user_credentials_revoke(
        user=user,
        reason=f"Account deactivated: {reason}" if reason else "Account deactivated",
        by=by,
        request=request,
    )


# --- Roles: nobody promotes themselves (docs/security.md) ----------------------------------------


class RoleChangeRefused(PermissionDenied):
    """The change of roles is not allowed: one's own, by someone without manage_users, or of a
    superuser by someone who is not one. Nothing was changed."""


@transaction.atomic
def user_roles_set(
    *, user: User, roles: Iterable[str], by: User, request: HttpRequest | None = None
) -> tuple[list[str], list[str]]:
    """Give `user` exactly `roles` (names of spoc.accounts.roles.Role); returns the roles granted
    and the roles removed, by name.

    Nobody changes their own roles, only a user with manage_users changes anyone's, and only a
    superuser changes a superuser's (RoleChangeRefused); an unknown role is a ValidationError on
    `groups`. Each role granted or removed is one access-log row (ROLE_GRANT, ROLE_REVOKE) naming
    who (`by`), what (`detail.role`) and to whom (`object_id`, `detail.subject`). Any change ends
    the user's sessions and API tokens (user_credentials_revoke), so it applies from their next
    request rather than whenever they next sign in."""
    if by.pk == user.pk:
        raise RoleChangeRefused(
            "You cannot change your own roles: ask another system administrator."
        )
    if not (by.is_active and by.has_perm("accounts.manage_users")):
        raise RoleChangeRefused("Only system administrators change roles.")
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.is_superuser and not by.is_superuser:
        raise RoleChangeRefused("A superuser's roles are changed on the server only.")
    wanted = set(roles)
    unknown = sorted(wanted - set(Role.values))
    if unknown:
        raise ValidationError({"groups": [f"Not a role: {', '.join(unknown)}."]})
    current = set(locked.groups.values_list("name", flat=True))
    granted, removed = sorted(wanted - current), sorted(current - wanted)
    if not granted and not removed:
        return [], []
    locked.groups.set(Group.objects.filter(name__in=wanted))
    subject = locked.get_username()
    for action, names in (
        (AccessLog.Action.ROLE_GRANT, granted),
        (AccessLog.Action.ROLE_REVOKE, removed),
    ):
        for name in names:
            access_log_record(
                action=action,
                user=by,
                request=request,
                object_type="user",
                object_id=locked.pk,
                detail={"role": name, "subject": subject},
            )
    user_credentials_revoke(user=locked, reason="Roles changed", by=by, request=request)
    user.refresh_from_db(fields=["credentials_epoch"])
    return granted, removed
