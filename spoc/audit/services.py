"""The one way to write the access log (DESIGN.md §10)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from spoc.audit.models import AccessLog


def client_ip(request: HttpRequest | None) -> str | None:
    """The client address (REMOTE_ADDR; behind proxies, set from X-Forwarded-For by
    TrustedProxyMiddleware for the configured number of trusted hops only)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def access_log_record(
    *,
    action: str,
    user: Any = None,
    request: HttpRequest | None = None,
    object_type: str = "",
    object_id: object = "",
    patient_id: int | None = None,
    reason: str = "",
    detail: dict[str, Any] | None = None,
    username: str = "",
) -> AccessLog:
    """Append one row. `user` defaults to the request's user; never pass patient identifiers or
    search text in `detail` (counts only)."""
    if user is None and request is not None and request.user.is_authenticated:
        user = request.user
    return AccessLog.objects.create(
        at=timezone.now(),
        user=user if user is not None and user.is_authenticated else None,
        username=(user.get_username() if user is not None else username)[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:64],
        patient_id=patient_id,
        client_ip=client_ip(request),
        reason=reason,
        detail=detail or {},
        flagged=action == AccessLog.Action.BREAK_GLASS,
    )


def access_log_list_shown(
    *,
    request: HttpRequest,
    object_type: str,
    patient_ids: Iterable[int | None],
    object_id: object = "",
) -> AccessLog:
    """One row for a page or API list that showed patients (a team queue, a caseload, call-backs,
    my calls, the referral list): how many distinct patients it showed, never who. Callers skip
    the queue's polls, which show nothing new to a person."""
    shown = {pk for pk in patient_ids if pk is not None}
    return access_log_record(
        action=AccessLog.Action.LIST,
        request=request,
        object_type=object_type,
        object_id=object_id,
        detail={"patients": len(shown)},
    )
