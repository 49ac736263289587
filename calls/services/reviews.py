"""Senior review of advice given by non-clinical handlers, and call-backs (docs/design.md §1, §7)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from calls.models import Call, CallBack
from patients.models import DeathRecord, Patient
from services.codes import CallerType
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


def relatives_call_backs(patient: Patient) -> Q:
    """The call-backs owed to the people around ``patient`` rather than to the patient: those of a
    call from a carer or family member, or to a number of one of the patient's related people
    (the call's caller, or the phone call nobody answered). A death leaves them open."""
    phones = [
        str(number)
        for pair in patient.related_people.values_list("phone", "phone_alt")
        for number in pair
        if number
    ]
    return (
        Q(call__caller_type=CallerType.CARER_FAMILY)
        | Q(call__caller_phone__in=phones)
        | Q(telephony_call__caller_number__in=phones)
    )


def call_backs_cancel_on_death(
    *, patient: Patient, user: Any, now: datetime, record: DeathRecord
) -> tuple[int, list[CallBack]]:
    """Nobody rings a patient who has died: pending call-backs about them are cancelled, naming
    the death (``cancelled_by_death``, so that withdrawing it restores them). The relatives'
    (``relatives_call_backs``) stay pending: returns how many were cancelled and those kept."""
    pending = CallBack.objects.filter(
        Q(patient=patient) | Q(call__patient=patient), status=CallBack.Status.PENDING
    )
    relatives = relatives_call_backs(patient)
    kept = list(pending.filter(relatives).select_related("call").order_by("due_at", "pk"))
    cancelled = pending.exclude(pk__in=[cb.pk for cb in kept]).update(
        status=CallBack.Status.CANCELLED, done_at=now, done_by=user, cancelled_by_death=record
    )
    return cancelled, kept


def call_backs_restore_on_withdrawal(*, record: DeathRecord, user: Any) -> list[int]:
    """The call-backs recording ``record`` cancelled, pending again (a death entered in error
    must not leave a call unreturned); ``cancelled_by_death`` stays as their history. One done
    or cancelled since by someone else is left as it is. Returns their ids; each change is
    access-logged. Inside the caller's transaction."""
    call_backs = list(
        CallBack.objects.select_for_update()
        .filter(cancelled_by_death=record, status=CallBack.Status.CANCELLED)
        .order_by("pk")
    )
    for call_back in call_backs:
        call_back.status = CallBack.Status.PENDING
        call_back.done_at = None
        call_back.done_by = None
        call_back.save(update_fields=["status", "done_at", "done_by"])
        call_back_change_logged(
            call_back=call_back, user=user, detail={"restored": True, "death_record_id": record.pk}
        )
    return [call_back.pk for call_back in call_backs]
