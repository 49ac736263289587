"""The one way to write the access log (docs/design.md §10)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Field
from django.http import HttpRequest
from django.utils import timezone

from spoc.audit import chain
from spoc.audit.context import break_glass_reason, current_request, is_polled_fragment
from spoc.audit.models import AccessLog

# The chain's lock on PostgreSQL, taken by the insert trigger of migration 0005 (any constant
# will do: it only has to differ from the hub's other advisory locks, e.g.
# spoc/dashboards/services.py).
CHAIN_LOCK_KEY = 7_000_101


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
    """Append one row, chained to the row before it (spoc/audit/chain.py). `request` defaults to
    the one being handled (spoc/audit/context.py), so the row has the client address wherever it is
    written; `user` defaults to the request's user unless `username` names who acted. Never pass
    patient identifiers or search text in `detail` (counts only).

    Writers take turns, so two rows never link to the same predecessor. On PostgreSQL the INSERT
    sends the row's digest and the database's trigger (migration 0005) takes a transaction-scoped
    advisory lock, reads the last row's hash and stores the link: one statement, as before the
    chain. On SQLite the link is made here, inside the IMMEDIATE transaction that already holds the
    database's write lock. Either way the lock is held until the transaction ends: called inside a
    longer transaction, it waits for that one, so callers write their log row last.
    """
    if request is None:
        request = current_request()
    if user is None and not username and request is not None:
        requester = getattr(request, "user", None)
        if requester is not None and requester.is_authenticated:
            user = requester
    # A partner system (spoc/accounts/partners.py) is no person: it is named, not linked.
    person = user if isinstance(user, get_user_model()) and user.is_authenticated else None
    entry = AccessLog(
        at=timezone.now(),
        user=person,
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
    entry.row_hash = chain.digest(chain.canonical(**_as_stored(entry)))
    if connection.vendor == "postgresql":
        # The trigger replaces the digest with the link; Django reads it back (RETURNING).
        entry.save(force_insert=True)
        return entry
    # No savepoint: as before, a failed insert fails the caller's transaction.
    with transaction.atomic(savepoint=False):
        previous = AccessLog.objects.order_by("-id").values_list("row_hash", flat=True).first()
        entry.row_hash = chain.link(previous=previous or chain.GENESIS, digest=entry.row_hash)
        entry.save(force_insert=True)
    return entry


def _as_stored(entry: AccessLog) -> dict[str, Any]:
    """The hashed fields as they will read back (a patient id given as "7" is stored as 7)."""
    values = {}
    for name in chain.FIELDS:
        field = AccessLog._meta.get_field(name)
        assert isinstance(field, Field)
        values[name] = field.to_python(getattr(entry, name))
    return values


def access_log_read(
    *,
    object_type: str,
    object_id: object = "",
    patient_id: int | None = None,
    action: str = AccessLog.Action.VIEW,
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> AccessLog | None:
    """A read of patient data for the request being handled: what the selectors that return
    patient data for a page or an API answer call, so that no view writes the log itself. A
    polled fragment (spoc/audit/context.py) shows a person nothing new and is not written. A read
    of a patient the session opened by break-glass carries the reason given for opening it."""
    request = current_request()
    if request is not None and is_polled_fragment(request):
        return None
    return access_log_record(
        action=action,
        request=request,
        object_type=object_type,
        object_id=object_id,
        patient_id=patient_id,
        reason=reason or break_glass_reason(request, patient_id),
        detail=detail,
    )


def access_log_list_shown(
    *,
    object_type: str,
    patient_ids: Iterable[int | None],
    object_id: object = "",
) -> AccessLog | None:
    """One row for a page or API list that showed patients (a team queue, a caseload, call-backs,
    my calls, the referral list): how many distinct patients it showed, never who."""
    shown = {pk for pk in patient_ids if pk is not None}
    return access_log_read(
        action=AccessLog.Action.LIST,
        object_type=object_type,
        object_id=object_id,
        detail={"patients": len(shown)},
    )
