"""Submitting a call: the call, its triage and its referrals in one transaction (docs/design.md §3-§5).

The call screen and the API both call ``call_submit``. Everything is validated before anything is
saved; errors come back as one ``ValidationError`` keyed by ``CallInput`` field name (``needs``
for problems with the needs), so a form can show each message next to its field. The suggested
priority is always computed here by the triage rules (``calls.triage``), never taken from the
client. Routing runs after commit, in the worker.

Each need has its own priority (docs/triage.md "Each need's priority"): the triage rules suggest
one per need (``suggest_need_priority``); a need's chosen priority is its own ``NeedRequest.priority``
when given, else, for a clinical need, the call's ``chosen_priority``, else the need's suggestion. A
priority other than the need's suggestion needs a reason: the need's own ``override_reason``, or for
a clinical need following the call's priority, the call's. The call keeps the highest suggested and
the highest chosen priority of its needs (the triage suggestion when it has none).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber, to_python

from calls import triage as rules
from calls.models import Call, CallBack, TelephonyCall
from calls.services.follow_ups import call_follow_up_for
from patients.codes import AssessmentSource, PatientLocation
from patients.models import Assessment, Patient, RelatedPerson
from patients.names import display_name
from patients.selectors import carer_assessment_in_force
from referrals.codes import CallDirection, CallReason, Disposition
from referrals.models import Referral, ReferralEvent
from referrals.services.enqueue import routing_enqueue_after_commit
from referrals.transitions import ReferralStatus
from services.codes import (
    AFTER_DEATH_NEEDS,
    PERSON_NEEDS,
    CallerType,
    Need,
    Priority,
    after_death_needs_words,
)
from services.models import Site
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record

logger = logging.getLogger(__name__)

# Handsets and PCs disagree about the time by a few seconds; a minute is plenty.
CLOCK_SKEW = timedelta(minutes=1)
# A call screen left open longer than this is stale (and a forged old time would start clocks
# that have already run out).
MAX_CALL_AGE = timedelta(hours=12)
# AKPS: 0-100 in steps of 10 (docs/reference.md "Clinical measures").
AKPS_VALUES = frozenset(range(0, 101, 10))

# Free-text fields of CallInput and their limits (the model columns' max_length).
TEXT_LIMITS: dict[str, int] = {
    "caller_name": 200,
    "caller_organisation": 200,
    "caller_relationship": 100,
    "notes": 5000,
    "override_reason": 1000,
    "callback_note": 500,
    "idempotency_key": 64,
}
NEED_NOTE_LIMIT = 2000

# Model field -> CallInput field, for the messages of full_clean().
_MODEL_TO_INPUT = {
    "patient": "patient_id",
    "patient_site": "patient_site_id",
    "due_at": "callback_due_at",
    "need": "needs",
    "priority": "chosen_priority",
}

Errors = dict[str, list[str]]

PHASE_NOT_CLINICIAN = (
    "Phase of Illness is a clinician's rating: only a clinician records it. Leave it out, and "
    "the call records it as not assessed."
)


def phase_recordable_by(user: Any) -> bool:
    """Whether ``user`` may record a Phase of Illness: OACC's Phase of Illness is a clinician's
    rating, so a handler who is not a clinician records it as not assessed (docs/triage.md)."""
    return bool(getattr(user, "is_clinician", False))


@dataclass(frozen=True)
class NeedRequest:
    """A need the handler picked (docs/patients-and-calls.md, the call screen), with an optional note for the receiving team.

    ``priority`` left out (``None`` or blank): the call's chosen priority for a clinical need, the
    need's own suggestion for carer or bereavement support. ``override_reason`` is needed when the
    need's priority differs from its suggestion.

    ``for_person_id``: one of the patient's related people the need is for (carer or bereavement
    support only, ``PERSON_NEEDS``), with ``for_person_consent``: they agreed, on this call, to be
    contacted about it (docs/routing.md, "Who a referral is for"). Left out: the patient.
    """

    need: str
    note: str = ""
    priority: str | None = None
    override_reason: str = ""
    for_person_id: int | None = None
    for_person_consent: bool = False


def need_field_name(prefix: str, need: str) -> str:
    """``override_reason_carer_support``: the error key (and form field) of one need's value."""
    return f"{prefix}_{need.lower()}"


@dataclass(frozen=True)
class _NeedPlan:
    """One need, checked: its note, suggestion, chosen priority and override reason."""

    need: str
    note: str
    suggestion: rules.Suggestion
    priority: str
    override_reason: str
    for_person: RelatedPerson | None = None


@dataclass(frozen=True, kw_only=True)
class CallInput:
    """Everything the handler recorded about one call. Codes are the code lists' values;
    blank strings mean "not recorded"."""

    received_at: datetime
    ended_at: datetime | None = None
    direction: str = CallDirection.INBOUND
    caller_type: str
    caller_name: str = ""
    caller_phone: str = ""
    caller_organisation: str = ""
    caller_relationship: str = ""
    patient_id: int | None = None
    reason: str
    notes: str = ""
    # A clinician's rating (OACC): only a clinician records it (``phase_recordable_by``).
    phase: str | None = ""
    ipos: Mapping[str, int] = field(default_factory=dict, hash=False)
    akps: int | None = None
    # None: not asked; (): asked, none present (docs/triage.md, "Not asked is not absent").
    red_flags: tuple[str, ...] | None = None
    carer_coping: str | None = ""
    patient_location: str | None = ""
    patient_site_id: int | None = None
    chosen_priority: str
    override_reason: str = ""
    disposition: str
    needs: tuple[NeedRequest, ...] = ()
    callback_due_at: datetime | None = None
    callback_note: str = ""
    idempotency_key: str | None = None
    # The phone call this call records: its times come from the phone system (docs/telephony.md).
    telephony_call_id: int | None = None
    # The call-back this call makes (an outbound call from the call-backs list): done once saved.
    call_back_id: int | None = None


@dataclass
class CallSubmitResult:
    call: Call
    referrals: list[Referral]
    # False when the idempotency key matched an earlier submission (nothing was saved).
    created: bool


def call_submit(
    *, data: CallInput, user: Any, request: HttpRequest | None = None
) -> CallSubmitResult:
    """Save a call with its triage assessment, its referrals (one per need, awaiting routing),
    their CREATED events, an optional call-back, the follow-up of a 999 advice or a warm transfer
    and an access-log row, in one transaction.

    A repeated ``idempotency_key`` of the same handler returns the first call with
    ``created=False`` and changes nothing, also when two submissions race. Raises
    ``ValidationError`` keyed by ``CallInput`` field name, having saved nothing. After the commit,
    routing of each referral is enqueued; a broker failure then is logged, never raised (the
    sweeper re-enqueues referrals left awaiting routing). ``request`` only adds the client
    address to the access log.
    """
    key = (data.idempotency_key or "").strip() or None
    with transaction.atomic():
        if key is not None and (earlier := _earlier_submission(user=user, key=key)) is not None:
            return earlier
        phone_call = _phone_call(data)
        if phone_call is not None:
            data = replace(
                data,
                received_at=phone_call.rang_at,
                ended_at=phone_call.ended_at or data.ended_at,
            )
        assessment, call, referrals, call_back = _validated(data, user=user, key=key)
        if phone_call is not None:
            call.answered_at = phone_call.answered_at
        try:
            with transaction.atomic():
                _save(assessment=assessment, call=call, referrals=referrals, call_back=call_back)
                if phone_call is not None and not _phone_call_link(phone_call, call):
                    raise ValidationError(
                        {"telephony_call_id": ["This phone call was recorded by someone else."]}
                    )
                if data.call_back_id is not None and not _call_back_made(
                    data.call_back_id, user=user
                ):
                    raise ValidationError(
                        {"call_back_id": ["This call-back was already done or cancelled."]}
                    )
        except IntegrityError:
            # The same key committed by a concurrent submission while we validated.
            if key is not None and (earlier := _earlier_submission(user=user, key=key)) is not None:
                return earlier
            raise
        access_log_record(
            action=AccessLog.Action.CREATE,
            user=user,
            request=request,
            object_type="call",
            object_id=call.pk,
            patient_id=call.patient_id,
            detail={"referrals": len(referrals), "disposition": call.disposition},
        )
        for referral in referrals:
            routing_enqueue_after_commit(referral.pk, priority=referral.priority)
    return CallSubmitResult(call=call, referrals=referrals, created=True)


def _phone_call(data: CallInput) -> TelephonyCall | None:
    """The phone call ``data`` records, locked; ValidationError when there is none to record."""
    if data.telephony_call_id is None:
        return None
    phone_call = (
        TelephonyCall.objects.select_for_update()
        .filter(pk=data.telephony_call_id, call__isnull=True)
        .first()
    )
    if phone_call is None:
        raise ValidationError(
            {"telephony_call_id": ["This phone call is unknown or already recorded."]}
        )
    return phone_call


def _phone_call_link(phone_call: TelephonyCall, call: Call) -> bool:
    """Link the phone call to its call, unless another call took it meanwhile."""
    return bool(TelephonyCall.objects.filter(pk=phone_call.pk, call__isnull=True).update(call=call))


def _call_back_made(call_back_id: int, *, user: Any) -> bool:
    """Mark the call-back this call makes done, unless it is no longer pending."""
    return bool(
        CallBack.objects.filter(pk=call_back_id, status=CallBack.Status.PENDING).update(
            status=CallBack.Status.DONE,
            done_at=timezone.now(),
            done_by=user,
            outcome=CallBack.Outcome.REACHED,
        )
    )


def _earlier_submission(*, user: Any, key: str) -> CallSubmitResult | None:
    call = (
        Call.objects.filter(handled_by=user, idempotency_key=key)
        .select_related("patient")
        .prefetch_related("referrals")
        .first()
    )
    if call is None:
        return None
    return CallSubmitResult(
        call=call, referrals=sorted(call.referrals.all(), key=lambda r: r.pk), created=False
    )


def _save(
    *, assessment: Assessment, call: Call, referrals: list[Referral], call_back: CallBack | None
) -> None:
    assessment.save()
    call.triage = assessment
    call.save()
    for referral in referrals:
        referral.call = call
    Referral.objects.bulk_create(referrals)
    ReferralEvent.objects.bulk_create(
        [
            ReferralEvent(
                referral=referral,
                kind=ReferralEvent.Kind.CREATED,
                at=referral.created_at,
                actor=call.handled_by,
                from_status="",
                to_status=referral.status,
                data={
                    "need": referral.need,
                    "priority": referral.priority,
                    "call_id": call.pk,
                    **({"for_person_id": referral.for_person_id} if referral.for_person_id else {}),
                },
            )
            for referral in referrals
        ]
    )
    if call_back is not None:
        call_back.call = call
        call_back.save()
    # Advised 999 or transferred: the coordinators confirm what happened (docs/patients-and-calls.md, "Follow-ups").
    follow_up = call_follow_up_for(call, now=timezone.now())
    if follow_up is not None:
        follow_up.save()


def _validated(
    data: CallInput, *, user: Any, key: str | None
) -> tuple[Assessment, Call, list[Referral], CallBack | None]:
    """The unsaved rows for ``data``, or ``ValidationError`` with every problem found."""
    now = timezone.now()
    errors: Errors = {}
    text = {
        name: _text(errors, name, getattr(data, name) or "", limit)
        for name, limit in TEXT_LIMITS.items()
    }
    _moments(errors, data, now=now)
    for name, choices in (
        ("direction", CallDirection),
        ("caller_type", CallerType),
        ("reason", CallReason),
        ("disposition", Disposition),
        ("chosen_priority", Priority),
    ):
        if getattr(data, name) not in choices.values:
            errors.setdefault(name, []).append("Choose one of the options.")
    phone = _phone(errors, data.caller_phone)
    triage = _triage(errors, data)
    if data.phase and not phase_recordable_by(user):
        errors.setdefault("phase", []).append(PHASE_NOT_CLINICIAN)
    if data.akps is not None and (isinstance(data.akps, bool) or data.akps not in AKPS_VALUES):
        errors.setdefault("akps", []).append("AKPS is 0 to 100 in steps of 10.")
    patient = _patient(errors, data.patient_id)
    site = _site(errors, data)
    needs = _needs(errors, data, patient=patient)
    people = _people(errors, needs, patient=patient)
    carer = _carer_assessed(needs, patient=patient, errors=errors)

    suggestion = rules.suggest_priority(triage) if triage is not None else None
    if (
        suggestion is not None
        and data.chosen_priority in Priority.values
        and data.chosen_priority != suggestion.priority
        and not text["override_reason"]
    ):
        errors.setdefault("override_reason", []).append(
            f"Say why you chose {data.chosen_priority} instead of the suggested {suggestion.priority}."
        )
    plans = (
        _need_plans(
            errors,
            data,
            needs,
            people,
            triage=triage,
            call_reason=text["override_reason"],
            carer=carer,
        )
        if triage is not None
        else []
    )
    if data.callback_due_at is None and text["callback_note"]:
        errors.setdefault("callback_due_at", []).append("Give a time for the call-back.")
    if errors or suggestion is None or triage is None:
        raise ValidationError(errors)
    if plans:
        call_suggested = rules.highest_priority([plan.suggestion.priority for plan in plans])
        call_chosen = rules.highest_priority([plan.priority for plan in plans])
        call_override = _call_override_reason(text["override_reason"], plans)
    else:
        call_suggested, call_chosen = suggestion.priority, data.chosen_priority
        call_override = text["override_reason"]
    if call_chosen != call_suggested and not call_override:
        # The call's constraint (call_override_needs_reason), checked here without a query.
        errors.setdefault("override_reason", []).append(
            f"Say why you chose {call_chosen} instead of the suggested {call_suggested}."
        )

    assessment = Assessment(
        patient=patient,
        source=AssessmentSource.CALL_TRIAGE,
        phase=data.phase or "",
        akps=data.akps,
        ipos=dict(triage.ipos),
        assessed_at=data.received_at,
        assessed_by=user,
    )
    call = Call(
        received_at=data.received_at,
        ended_at=data.ended_at,
        direction=data.direction,
        caller_type=data.caller_type,
        caller_name=text["caller_name"],
        caller_phone=phone,
        caller_organisation=text["caller_organisation"],
        caller_relationship=text["caller_relationship"],
        patient=patient,
        reason=data.reason,
        notes=text["notes"],
        red_flags=list(triage.red_flags or ()),
        red_flags_asked=triage.red_flags_asked,
        carer_coping=data.carer_coping or "",
        patient_location=data.patient_location or "",
        patient_site=site,
        suggested_priority=call_suggested,
        suggestion_reasons=_call_reasons(suggestion, plans),
        triage_rules_version=rules.TRIAGE_RULES_VERSION,
        chosen_priority=call_chosen,
        override_reason=call_override,
        disposition=data.disposition,
        handled_by=user,
        needs_senior_review=(
            data.disposition == Disposition.ADVICE_GIVEN
            and not getattr(user, "is_clinician", False)
        ),
        idempotency_key=key,
    )
    referrals = [
        Referral(
            patient=patient,
            for_person=plan.for_person,
            # The handler asked and the person agreed on this call (_people).
            for_person_consent_at=now if plan.for_person is not None else None,
            for_person_consent_by=user if plan.for_person is not None else None,
            need=plan.need,
            note=plan.note,
            priority=plan.priority,
            suggested_priority=plan.suggestion.priority,
            override_reason=plan.override_reason,
            # docs/reference.md: the first-contact clock runs from the moment the call is saved.
            status=ReferralStatus.AWAITING_ROUTING,
            clock_started_at=now,
            created_at=now,
            created_by=user,
            updated_at=now,
        )
        for plan in plans
    ]
    call_back = None
    if data.callback_due_at is not None:
        call_back = CallBack(
            patient=patient,
            due_at=data.callback_due_at,
            assigned_to=user,
            note=text["callback_note"],
        )
    # The assessment's one constraint (AKPS at most 100) is checked above, with a clearer
    # message: Django would check it again with a query of its own.
    _full_clean(errors, assessment, exclude=["patient", "assessed_by"], constraints=False)
    # Its override constraint is checked above; its unique key is the handler's (left out
    # here), which the transaction and _earlier_submission look after.
    _full_clean(
        errors,
        call,
        exclude=["patient", "patient_site", "triage", "handled_by", "reviewed_by"],
        constraints=False,
    )
    for referral in referrals:
        # suggested_priority comes from the rules, never the client. Every constraint of a
        # referral names a field left out here (or the sender, which a call's referral has not),
        # so Django would only build a query for each and drop it: the database enforces them.
        _full_clean(
            errors,
            referral,
            constraints=False,
            exclude=[
                "patient",
                "call",
                "created_by",
                "team",
                "owner",
                "for_person",
                "for_person_consent_by",
                "suggested_priority",
            ],
            rename={
                "note": "needs",
                "override_reason": need_field_name("override_reason", referral.need),
            },
        )
    if call_back is not None:
        # Its one constraint names the call, left out here (set when saved).
        _full_clean(
            errors,
            call_back,
            constraints=False,
            exclude=["call", "patient", "assigned_to", "done_by"],
            rename={"note": "callback_note"},
        )
    if errors:
        raise ValidationError(errors)
    return assessment, call, referrals, call_back


def _need_plans(
    errors: Errors,
    data: CallInput,
    needs: list[tuple[NeedRequest, str]],
    people: Mapping[int, RelatedPerson],
    *,
    triage: rules.TriageInput,
    call_reason: str,
    carer: rules.CarerAssessed | None = None,
) -> list[_NeedPlan]:
    """Each need's suggestion, chosen priority and override reason; a missing reason or an
    unknown priority is an error keyed ``override_reason_<need>`` / ``priority_<need>``."""
    plans = []
    for request, note in needs:
        suggestion = rules.suggest_need_priority(triage, request.need, carer=carer)
        own = request.priority or None
        reason_key = need_field_name("override_reason", request.need)
        reason = _text(
            errors, reason_key, request.override_reason or "", TEXT_LIMITS["override_reason"]
        )
        if own is not None and own not in Priority.values:
            errors.setdefault(need_field_name("priority", request.need), []).append(
                "Choose one of the options."
            )
            continue
        follows_call = (
            own is None
            and request.need not in rules.OWN_DEFAULT_NEEDS
            and data.chosen_priority in Priority.values
        )
        if follows_call:
            chosen = data.chosen_priority
            reason = reason or call_reason
        else:
            chosen = own or suggestion.priority
        if chosen == suggestion.priority:
            # A reason is kept only with an override, so a reason on a referral means one.
            reason = ""
        elif not reason and not follows_call:  # (the call's missing reason is already reported)
            errors.setdefault(reason_key, []).append(
                f"Say why you chose {chosen} for {Need(request.need).label.lower()} instead of "
                f"the suggested {suggestion.priority}."
            )
        plans.append(
            _NeedPlan(
                need=request.need,
                note=note,
                suggestion=suggestion,
                priority=chosen,
                override_reason=reason,
                for_person=people.get(request.for_person_id or 0),
            )
        )
    return plans


def _call_override_reason(call_reason: str, plans: list[_NeedPlan]) -> str:
    """The call's reason, else each overridden need's, one line each, within the column's limit."""
    if call_reason:
        return call_reason
    lines = [
        f"{Need(plan.need).label}: {plan.override_reason}" for plan in plans if plan.override_reason
    ]
    joined = "\n".join(lines)
    limit = TEXT_LIMITS["override_reason"]
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


def _call_reasons(suggestion: rules.Suggestion, plans: list[_NeedPlan]) -> list[str]:
    """The triage rules' reasons, then those of each need with its own default."""
    reasons = list(suggestion.reasons)
    for plan in plans:
        if plan.need in rules.OWN_DEFAULT_NEEDS:
            reasons.extend(r for r in plan.suggestion.reasons if r not in reasons)
    return reasons


def _text(errors: Errors, name: str, value: str, limit: int) -> str:
    if not isinstance(value, str):
        errors.setdefault(name, []).append("Enter text.")
        return ""
    value = value.strip()
    if len(value) > limit:
        errors.setdefault(name, []).append(
            f"This is {len(value)} characters long; the most is {limit}."
        )
    if "\x00" in value:
        # PostgreSQL cannot store NUL in text; it only comes from pasted binary junk.
        errors.setdefault(name, []).append("Remove the null character pasted into this text.")
    return value


def _aware(value: datetime) -> bool:
    return (
        isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None
    )


def _moments(errors: Errors, data: CallInput, *, now: datetime) -> None:
    if not _aware(data.received_at):
        errors.setdefault("received_at", []).append("Give the time the call was received.")
        return
    if data.received_at > now + CLOCK_SKEW:
        errors.setdefault("received_at", []).append("A call cannot be received in the future.")
    elif data.received_at < now - MAX_CALL_AGE:
        errors.setdefault("received_at", []).append(
            "This call was started over 12 hours ago: start a new call so its clocks are right."
        )
    if data.ended_at is not None:
        if not _aware(data.ended_at):
            errors.setdefault("ended_at", []).append("Give the time the call ended.")
        elif data.ended_at < data.received_at:
            errors.setdefault("ended_at", []).append("A call cannot end before it was received.")
        elif data.ended_at > now + CLOCK_SKEW:
            errors.setdefault("ended_at", []).append("A call cannot end in the future.")
    if data.callback_due_at is not None and (
        not _aware(data.callback_due_at) or data.callback_due_at <= now
    ):
        errors.setdefault("callback_due_at", []).append("A call-back must be due in the future.")


def _phone(errors: Errors, raw: str) -> PhoneNumber | str:
    if not raw or not raw.strip():
        return ""
    number = to_python(raw.strip())
    if not isinstance(number, PhoneNumber) or not number.is_valid():
        errors.setdefault("caller_phone", []).append(
            "Enter a UK phone number, such as 0151 529 3000 or 07911 123456."
        )
        return ""
    return number


def _triage(errors: Errors, data: CallInput) -> rules.TriageInput | None:
    """The triage rules' own checks, one field at a time so each message lands on its field."""
    parts: dict[str, dict[str, Any]] = {
        "phase": {"phase": data.phase or None},
        "ipos": {"ipos": data.ipos or {}},
        "red_flags": {"red_flags": data.red_flags},
        "carer_coping": {"carer_coping": data.carer_coping or None},
        "patient_location": {"patient_location": data.patient_location or None},
    }
    for name, kwargs in parts.items():
        try:
            rules.TriageInput(**kwargs)
        except rules.InvalidTriage as exc:
            errors.setdefault(name, []).append(str(exc))
        except (TypeError, AttributeError, KeyError):
            errors.setdefault(name, []).append("Choose from the options.")
    if any(name in errors for name in parts):
        return None
    reason = data.reason if data.reason in CallReason.values else None
    merged = {k: v for kwargs in parts.values() for k, v in kwargs.items()}
    return rules.TriageInput(reason=reason, **merged)


def _patient(errors: Errors, patient_id: int | None) -> Patient | None:
    if patient_id is None:
        return None
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        errors.setdefault("patient_id", []).append("This patient record does not exist.")
    return patient


def _site(errors: Errors, data: CallInput) -> Site | None:
    if data.patient_location == PatientLocation.HOSPITAL and data.patient_site_id is None:
        errors.setdefault("patient_site_id", []).append("Choose the hospital the patient is in.")
        return None
    if data.patient_site_id is None:
        return None
    if data.patient_location not in (PatientLocation.HOSPITAL, PatientLocation.HOSPICE):
        errors.setdefault("patient_site_id", []).append(
            "Record a site only when the patient is in hospital or a hospice."
        )
        return None
    site = Site.objects.filter(pk=data.patient_site_id).first()
    if site is None:
        errors.setdefault("patient_site_id", []).append("This site does not exist.")
    return site


def _needs(
    errors: Errors, data: CallInput, *, patient: Patient | None
) -> list[tuple[NeedRequest, str]]:
    """The needs with their stripped notes; one referral per need per call."""
    problems: list[str] = []
    needs: list[tuple[NeedRequest, str]] = []
    seen: set[str] = set()
    for request in data.needs:
        if not isinstance(request, NeedRequest) or request.need not in Need.values:
            problems.append("Choose needs from the list.")
            continue
        label = Need(request.need).label
        if request.need in seen:
            problems.append(f"{label} is chosen twice: one referral per need.")
            continue
        seen.add(request.need)
        if (
            patient is not None
            and patient.died_at is not None
            and request.need not in AFTER_DEATH_NEEDS
        ):
            problems.append(
                f"The patient has died: {label} cannot be referred. Only "
                f"{after_death_needs_words()} can."
            )
            continue
        note = request.note.strip() if isinstance(request.note, str) else ""
        if len(note) > NEED_NOTE_LIMIT:
            problems.append(
                f"The note for {label} is {len(note)} characters long; the most is "
                f"{NEED_NOTE_LIMIT}."
            )
        needs.append((request, note))
    if data.needs and data.patient_id is None:
        problems.append("Identify the patient before creating referrals.")
    if data.disposition == Disposition.REFERRALS_CREATED and not data.needs:
        problems.append("Choose at least one need, or another outcome of the call.")
    if (
        data.needs
        and data.disposition in Disposition.values
        and data.disposition != Disposition.REFERRALS_CREATED
    ):
        errors.setdefault("disposition", []).append(
            "Choose “Referrals created” when the call creates referrals, or untick the needs."
        )
    if problems:
        errors.setdefault("needs", []).extend(problems)
    return needs


def _people(
    errors: Errors, needs: list[tuple[NeedRequest, str]], *, patient: Patient | None
) -> dict[int, RelatedPerson]:
    """The related people the needs are for, by id (one query), each checked: one of this
    patient's people (another patient's is not named), for a need of the people around the patient
    (``PERSON_NEEDS``), who agreed to be contacted. Problems are keyed ``for_person_<need>`` and
    ``for_person_consent_<need>``, next to the need's own fields."""
    wanted = {
        request.need: request.for_person_id
        for request, _note in needs
        if request.for_person_id is not None
    }
    if not wanted:
        return {}
    found = (
        {
            person.pk: person
            for person in RelatedPerson.objects.filter(
                patient=patient, pk__in=[i for i in wanted.values() if isinstance(i, int)]
            )
        }
        if patient is not None
        else {}
    )
    for request, _note in needs:
        if request.for_person_id is None:
            continue
        label = Need(request.need).label
        person = (
            found.get(request.for_person_id) if isinstance(request.for_person_id, int) else None
        )
        if person is None:
            errors.setdefault(need_field_name("for_person", request.need), []).append(
                f"Choose who {label.lower()} is for from this patient's carers and relatives."
            )
        elif request.need not in PERSON_NEEDS:
            errors.setdefault(need_field_name("for_person", request.need), []).append(
                f"{label} is the patient's own care: it cannot be for "
                f"{display_name(person.given_name, person.family_name)}. Only carer support and "
                "bereavement support can be for someone else."
            )
        elif request.for_person_consent is not True:
            errors.setdefault(need_field_name("for_person_consent", request.need), []).append(
                f"{display_name(person.given_name, person.family_name)} has not agreed to be "
                f"contacted about {label.lower()}: ask them and record that they agree, or make it "
                "for the patient."
            )
    return found


def carer_assessed(*, patient_id: int | None, person_id: int | None) -> rules.CarerAssessed | None:
    """What the latest carer's needs assessment in force says, for carer support for the person
    ``person_id`` of the patient, else for the patient's main carer (docs/triage.md, "A carer's
    needs assessment"); None without one. One query. The call screen's live suggestion and
    ``call_submit`` both ask this."""
    if patient_id is None:
        return None
    assessment = carer_assessment_in_force(
        patient_id=patient_id, person_id=person_id, today=timezone.localdate()
    )
    if assessment is None:
        return None
    reasons = assessment.reasons or [assessment.suggested_priority]
    return rules.CarerAssessed(
        who=display_name(assessment.carer.given_name, assessment.carer.family_name),
        assessment_date=assessment.assessment_date,
        priority=assessment.suggested_priority,
        reason=str(reasons[0]),
    )


def _carer_assessed(
    needs: list[tuple[NeedRequest, str]], *, patient: Patient | None, errors: Errors
) -> rules.CarerAssessed | None:
    request = next((r for r, _note in needs if r.need == Need.CARER_SUPPORT), None)
    if request is None or patient is None or errors:
        return None
    person_id = request.for_person_id if isinstance(request.for_person_id, int) else None
    return carer_assessed(patient_id=patient.pk, person_id=person_id)


def _full_clean(
    errors: Errors,
    instance: Any,
    *,
    exclude: list[str],
    rename: Mapping[str, str] | None = None,
    constraints: bool = True,
) -> None:
    """The model's own checks, as a safety net behind the ones above, keyed by CallInput names.
    ``constraints=False`` leaves the model's constraints to the database, for a model whose
    constraints the checks above already make true or Django cannot check here (each one Django
    checks costs a query, and building one even when it cannot)."""
    if errors:
        return
    try:
        instance.full_clean(exclude=exclude, validate_constraints=constraints)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            target = (rename or {}).get(name) or _MODEL_TO_INPUT.get(name, name)
            errors.setdefault(target, []).extend(messages)
