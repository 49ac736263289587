"""A request's access to patients: the break-glass grants in its session, the patients it may
read, and a patient it may change (the pages of every app use these, over the permission
selectors in referrals/selectors/__init__.py)."""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from patients.models import Patient
from referrals.selectors import patients_visible_to, patients_writable_by
from spoc.accounts.roles import may_break_glass
from spoc.audit.context import BREAK_GLASS_REASONS_KEY, BREAK_GLASS_SESSION_KEY
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_read, access_log_record

# A break-glass grant lasts this long in the session; after that the reason is asked again.
BREAK_GLASS_SECONDS = 60 * 60


def break_glass_ids(request: HttpRequest) -> list[int]:
    """The patients this session opened by break-glass whose window has not ended (none for a
    role that may not break glass). They are for reading only."""
    if not may_break_glass(request.user):
        return []
    now = time.time()
    grants: dict[str, float] = request.session.get(BREAK_GLASS_SESSION_KEY, {})
    return [int(pid) for pid, expires in grants.items() if expires > now]


def visible_patients(request: HttpRequest) -> Any:
    return patients_visible_to(request.user, break_glass_ids=break_glass_ids(request))


def break_glass_open(request: HttpRequest, *, patient_id: int, reason: str) -> None:
    """Open a record outside the user's care for BREAK_GLASS_SECONDS, for reading: a flagged row
    with the reason in the access log, and a grant with the reason in the session."""
    access_log_record(
        action=AccessLog.Action.BREAK_GLASS,
        request=request,
        object_type="patient",
        object_id=patient_id,
        patient_id=patient_id,
        reason=reason,
    )
    grants = request.session.get(BREAK_GLASS_SESSION_KEY, {})
    grants[str(patient_id)] = time.time() + BREAK_GLASS_SECONDS
    request.session[BREAK_GLASS_SESSION_KEY] = grants
    # Every read of the record during the window is logged with this reason (spoc/audit/context.py).
    reasons = request.session.get(BREAK_GLASS_REASONS_KEY, {})
    reasons[str(patient_id)] = reason
    request.session[BREAK_GLASS_REASONS_KEY] = reasons


def writable_patient(
    request: HttpRequest,
    patient_id: int,
    *,
    shows: str = "",
    object_id: object = None,
    page: str = "",
) -> Patient:
    """The patient for a page that changes their record: 403 when the user may read it but not
    write it (opened by break-glass, or a role that only reads), 404 when they may not read it.

    ``shows``: what of the record the page shows as it stands (``object_id``: which one, the
    patient by default; ``page``: which page), so that its GET, a read, is access-logged; its POST
    writes, and the service logs the write."""
    patient = patients_writable_by(request.user).filter(pk=patient_id).first()
    if patient is not None:
        if shows and request.method == "GET":
            access_log_read(
                object_type=shows,
                object_id=patient.pk if object_id is None else object_id,
                patient_id=patient.pk,
                detail={"page": page} if page else None,
            )
        return patient
    if visible_patients(request).filter(pk=patient_id).exists():
        raise PermissionDenied(
            "You may read this record but not change it: break-glass and "
            "read-only roles never write."
        )
    raise Http404("No such patient")
