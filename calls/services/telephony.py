"""Telephony events in (docs/telephony.md): each event the phone system sends is kept once, and
its phone call's times, outcome and handler are folded again from all of the call's events, so
repeats and events out of order give the same answer. A call nobody answered becomes a call-back
due by the missed-call policy; a call answered after all cancels it. A try at a call-back that
reaches nobody is recorded on it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from calls import telephony as rules
from calls.models import Call, CallBack, CallBackAttempt, TelephonyCall, TelephonyEvent
from calls.services.reviews import call_back_change_logged
from services.selectors import spoc_hours
from spoc.accounts.models import User

logger = logging.getLogger(__name__)


class DuplicateEvent(Exception):
    """An event id the hub has already received: refused, nothing changed."""


def _event_in(row: TelephonyEvent) -> rules.TelephonyEventIn:
    return rules.TelephonyEventIn(
        event_id=row.event_id,
        call_id="",
        kind=rules.EventKind(row.kind),
        occurred_at=row.occurred_at,
        caller=row.caller_number,
        line=row.line,
        extension=row.extension,
        recording_url=row.recording_url,
    )


def telephony_event_record(*, event: rules.TelephonyEventIn) -> TelephonyCall:
    """Keep ``event`` and bring its phone call up to date, in one transaction: its times,
    outcome, extension and the user on it; the linked ``Call``'s times; a call-back for a call
    nobody answered (or its cancellation once an answer arrives).

    Raises ``DuplicateEvent`` (having changed nothing) when the event id was received before.
    """
    now = timezone.now()
    with transaction.atomic():
        phone_call, _ = TelephonyCall.objects.select_for_update().get_or_create(
            external_id=event.call_id,
            defaults={
                "rang_at": event.occurred_at,
                "outcome": TelephonyCall.Outcome.RINGING,
                "created_at": now,
                "updated_at": now,
            },
        )
        try:
            with transaction.atomic():
                TelephonyEvent.objects.create(
                    event_id=event.event_id,
                    telephony_call=phone_call,
                    kind=event.kind.value,
                    occurred_at=event.occurred_at,
                    received_at=now,
                    caller_number=event.caller,
                    line=event.line,
                    extension=event.extension,
                    recording_url=event.recording_url,
                )
        except IntegrityError as exc:
            raise DuplicateEvent(event.event_id) from exc
        state = rules.call_state(_event_in(row) for row in phone_call.events.all())
        _apply(phone_call, state, now=now)
    return phone_call


def _apply(phone_call: TelephonyCall, state: rules.CallState, *, now: Any) -> None:
    phone_call.caller_number = state.caller
    phone_call.line = state.line
    assert state.rang_at is not None  # a call with events has a first one
    phone_call.rang_at = state.rang_at
    phone_call.answered_at = state.answered_at
    phone_call.ended_at = state.ended_at
    phone_call.outcome = state.outcome.value
    phone_call.recording_url = state.recording_url
    if state.extension != phone_call.extension or phone_call.answered_by_id is None:
        phone_call.extension = state.extension
        phone_call.answered_by = (
            User.objects.filter(phone_extension=state.extension, is_active=True).first()
            if state.extension
            else None
        )
    phone_call.updated_at = now
    phone_call.save()
    if phone_call.call_id is not None:
        times = {"received_at": state.rang_at, "answered_at": state.answered_at}
        if state.ended_at is not None:  # else the time the handler saved it stands
            times["ended_at"] = state.ended_at
        Call.objects.filter(pk=phone_call.call_id).update(**times)
    _call_back_follow(phone_call, state, now=now)


def _call_back_follow(phone_call: TelephonyCall, state: rules.CallState, *, now: Any) -> None:
    """A call nobody answered gets one call-back, due by the missed-call policy; an answer that
    arrives late cancels it if nobody has called back yet."""
    existing = CallBack.objects.filter(telephony_call=phone_call).first()
    if state.outcome in rules.CALL_BACK_OUTCOMES and state.ended_at is not None:
        if existing is None:
            hours = spoc_hours(at=state.ended_at)
            CallBack.objects.create(
                telephony_call=phone_call,
                due_at=rules.missed_call_due_at(
                    ended_at=state.ended_at,
                    open_then=hours.open_now if hours else None,
                    opens_at=hours.opens_at if hours else None,
                ),
                note=f"{phone_call.get_outcome_display()}: call back "
                f"{rules.national(state.caller) or '(number withheld)'}",
            )
    elif existing is not None and existing.status == CallBack.Status.PENDING:
        existing.status = CallBack.Status.CANCELLED
        existing.done_at = now
        existing.save(update_fields=["status", "done_at"])


class CallBackClosed(Exception):
    """The call-back is done or cancelled: no more attempts are recorded on it."""


def call_back_attempt_record(
    *, call_back_id: int, user: Any, outcome: str, note: str = ""
) -> CallBackAttempt:
    """Record a try at a call-back that did not reach the person; the call-back stays pending.
    Raises ``CallBack.DoesNotExist``, ``CallBackClosed``, or ``ValidationError`` for an outcome
    or note out of bounds."""
    with transaction.atomic():
        call_back = CallBack.objects.select_for_update().get(pk=call_back_id)
        if call_back.status != CallBack.Status.PENDING:
            raise CallBackClosed(call_back_id)
        attempt = CallBackAttempt(
            call_back=call_back,
            attempted_at=timezone.now(),
            attempted_by=user,
            outcome=outcome,
            note=note.strip(),
        )
        attempt.full_clean(exclude=["call_back", "attempted_by"])
        attempt.save()
        call_back_change_logged(call_back=call_back, user=user, detail={"attempt": outcome})
    return attempt
