"""Senior review of advice given by non-clinical handlers, and call-backs (docs/design.md §1, §7)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from calls.models import Call, CallBack
from patients.models import Patient
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record


def call_senior_review(*, call_id: int, user: Any, comment: str) -> Call:
    """A coordinator reviews a call's advice. Reviewing twice keeps the first review (returns the
    call unchanged): a double click must not overwrite who reviewed it."""
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call_id, needs_senior_review=True)
        if call.reviewed_at is None:
            call.reviewed_by = user
            call.reviewed_at = timezone.now()
            call.review_comment = comment.strip()
            call.save(update_fields=["reviewed_by", "reviewed_at", "review_comment"])
            access_log_record(
                action=AccessLog.Action.UPDATE,
                user=user,
                object_type="call",
                object_id=call.pk,
                patient_id=call.patient_id,
                detail={"senior_review": True},
            )
    return call


def call_back_complete(*, call_back_id: int, user: Any, outcome: str) -> CallBack:
    """Mark a pending call-back done with what happened (``CallBack.Outcome``); one already
    closed is left as it is."""
    with transaction.atomic():
        call_back = CallBack.objects.select_for_update().get(pk=call_back_id)
        if call_back.status == CallBack.Status.PENDING:
            call_back.status = CallBack.Status.DONE
            call_back.done_at = timezone.now()
            call_back.done_by = user
            call_back.outcome = CallBack.Outcome(outcome)
            call_back.save(update_fields=["status", "done_at", "done_by", "outcome"])
            call_back_change_logged(call_back=call_back, user=user)
    return call_back


def call_back_change_logged(
    *, call_back: CallBack, user: Any, detail: dict[str, Any] | None = None
) -> None:
    """The access-log row of a change to a call-back."""
    access_log_record(
        action=AccessLog.Action.UPDATE,
        user=user,
        object_type="call_back",
        object_id=call_back.pk,
        patient_id=call_back.patient_id,
        detail=detail,
    )


def call_backs_cancel_on_death(*, patient: Patient, user: Any, now: datetime) -> int:
    """Nobody rings a patient who has died: pending call-backs about them are cancelled."""
    return CallBack.objects.filter(
        Q(patient=patient) | Q(call__patient=patient),
        status=CallBack.Status.PENDING,
    ).update(status=CallBack.Status.CANCELLED, done_at=now, done_by=user)
