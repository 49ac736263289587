"""Follow-ups of urgent dispositions (docs/patients-and-calls.md, "Follow-ups").

A call whose outcome was "Advised to ring 999" or "Warm transfer" hands the patient to someone
else, and the SPOC hears nothing back unless it asks. ``call_submit`` makes a pending
``CallFollowUp`` with such a call, in its transaction (``call_follow_up_for``); a coordinator
confirms what happened and records it here (``call_follow_up_record``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from calls.models import Call, CallFollowUp
from referrals.codes import Disposition
from referrals.selectors import patients_writable_by
from referrals.services.acting import text_required
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record
from spoc.core.api import DomainConflict

# The dispositions that hand the patient to another service: what happened must be confirmed.
FOLLOW_UP_DISPOSITIONS = frozenset({Disposition.ADVISED_999.value, Disposition.WARM_TRANSFER.value})
NOTE_LIMIT = 1000


class FollowUpAlreadyRecorded(DomainConflict):
    code: ClassVar[str] = "follow_up_already_recorded"


def call_follow_up_for(call: Call, *, now: datetime) -> CallFollowUp | None:
    """The unsaved follow-up a call with this disposition needs, due ``CALL_FOLLOW_UP_MINUTES``
    after ``now`` (when the call is saved); None for the other dispositions."""
    if call.disposition not in FOLLOW_UP_DISPOSITIONS:
        return None
    return CallFollowUp(call=call, due_at=now + timedelta(minutes=settings.CALL_FOLLOW_UP_MINUTES))


def call_follow_up_record(
    *, follow_up_id: int, user: Any, outcome: str, note: str = ""
) -> CallFollowUp:
    """Record what happened after the call: its outcome (``CallFollowUp.Outcome``, required),
    a note (up to 1,000 characters), who and when, with the access-log row, in one transaction.

    Raises ``ValidationError`` keyed ``outcome`` / ``note`` (nothing saved),
    ``CallFollowUp.DoesNotExist`` for an unknown id or one about a patient whose record the user
    may not change, and ``FollowUpAlreadyRecorded`` when someone
    recorded it first (a follow-up's outcome is never overwritten).
    """
    if outcome not in CallFollowUp.Outcome.values:
        raise ValidationError({"outcome": ["Select what happened after the call."]})
    text = text_required(note, field="note", required=False, max_length=NOTE_LIMIT)
    with transaction.atomic():
        follow_up = (
            CallFollowUp.objects.select_for_update(of=("self",))
            .filter(Q(call__patient__isnull=True) | Q(call__patient__in=patients_writable_by(user)))
            .select_related("call", "done_by")
            .get(pk=follow_up_id)
        )
        if follow_up.status != CallFollowUp.Status.PENDING:
            who = follow_up.done_by.display_name() if follow_up.done_by else "someone"
            raise FollowUpAlreadyRecorded(
                f"{who} already recorded this follow-up: "
                f"{follow_up.get_outcome_display().lower()}. Nothing was changed."
            )
        follow_up.status = CallFollowUp.Status.DONE
        follow_up.outcome = outcome
        follow_up.note = text
        follow_up.done_at = timezone.now()
        follow_up.done_by = user
        follow_up.full_clean(exclude=["call", "done_by"])
        follow_up.save(update_fields=["status", "outcome", "note", "done_at", "done_by"])
        access_log_record(
            action=AccessLog.Action.UPDATE,
            user=user,
            object_type="call_follow_up",
            object_id=follow_up.pk,
            patient_id=follow_up.call.patient_id,
            detail={"outcome": outcome},
        )
    return follow_up
