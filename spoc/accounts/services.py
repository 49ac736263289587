"""Writes to accounts that other parts of the hub call: ending a user's sessions and tokens."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest

from spoc.accounts.models import ApiToken, User
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
