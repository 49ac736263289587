"""Services that compose several apps in one transaction (docs/architecture.md, "Apps and
layering"): recording a death (docs/design.md §7).

In one transaction, with the patient row locked: the ``DeathRecord`` with the preferred places of
death in force and whether one was achieved; ``Patient.died_at``; the patient's own open
referrals closed (``referrals_close_on_death``; those for relatives and for support after a death
stay open); the pending call-backs to the patient cancelled (``call_backs_cancel_on_death``; the
relatives' stay pending); the bereavement referrals (``bereavement_referrals_create``); and an access-log row. Routing of the
bereavement referrals is enqueued after the commit. The patient page and the API both call
``death_record``, which returns a ``DeathRecorded``: the record and exactly what saving it did, so
the page's message and the API's answer say what happened.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from calls.models import CallBack
from calls.services.reviews import call_backs_cancel_on_death, call_backs_restore_on_withdrawal
from experience.services import invitation_consent_record
from patients.models import DeathCorrection, DeathRecord, Patient, RelatedPerson
from patients.selectors import care_plan_current
from referrals.models import GpLetter, Referral
from referrals.selectors import patients_visible_to, patients_writable_by
from referrals.services.acting import text_required
from referrals.services.bereavement import bereavement_screens_check
from referrals.services.deaths import (
    CORRECT_REFUSED,
    NOTHING_CHANGED,
    REASON_MAX,
    DeathAlreadyRecorded,
    Errors,
    bereavement_cancel_on_withdrawal,
    bereavement_referrals_create,
    death_place_fields,
    death_problems,
    may_correct_death,
    may_record_death,
    referrals_close_on_death,
    referrals_reopen_on_withdrawal,
)
from referrals.services.enqueue import routing_enqueue_after_commit
from referrals.transitions import ReferralStatus
from spoc.accounts.roles import may_write_clinical
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record


@dataclass(frozen=True)
class DeathRecorded:
    """What ``death_record`` did. ``closed`` are the referrals closed, with their team loaded
    (``team`` is None for one not yet routed); ``kept_open`` the open referrals left open, support
    for the living (for a related person, or for a need of ``AFTER_DEATH_NEEDS``), team and
    person loaded; ``bereavement`` the bereavement referrals made, with ``for_person`` loaded, in
    the order the people were given; ``already_supported`` the people ticked who already had an
    open bereavement referral, so were not given a second; ``call_backs_kept`` the relatives'
    pending call-backs, left pending."""

    record: DeathRecord
    closed: tuple[Referral, ...]
    bereavement: tuple[Referral, ...]
    already_supported: tuple[RelatedPerson, ...]
    call_backs_cancelled: int
    kept_open: tuple[Referral, ...] = ()
    call_backs_kept: tuple[CallBack, ...] = ()


def death_record(
    *,
    patient_id: int,
    user: Any,
    died_at: datetime,
    place: str,
    expected: bool | None,
    verified_by: str,
    bereavement_for: list[int],
    last_days_place: str = "",
    survey_to: str = "",
    bereavement_screens: Mapping[int, Mapping[str, str]] | None = None,
    break_glass_ids: Collection[int] = (),
    request: HttpRequest | None = None,
) -> DeathRecorded:
    """Record the death of patient ``patient_id`` and everything that follows from it (see the
    module docstring). Returns the saved ``DeathRecord`` with what was done (``DeathRecorded``).

    Raises ``PermissionDenied`` when ``user`` may not record deaths (``may_record_death``),
    ``Patient.DoesNotExist`` when the patient does not exist or is not visible to the user
    (``patients_visible_to``, with the session's break-glass grants), ``DeathAlreadyRecorded``
    when the death is already recorded, and ``ValidationError`` keyed by argument name
    (``died_at``, ``place``, ``last_days_place``, ``expected``, ``verified_by``,
    ``bereavement_for``, ``survey_to``) having saved nothing. ``survey_to``: who agreed to the
    bereaved relatives' survey (``experience.selectors.feedback_options`` with ``survey``; empty:
    nobody), recorded in the same transaction (docs/operations.md, "Feedback texts").
    ``bereavement_screens``: the bereavement risk screen answered for people in
    ``bereavement_for``, by person id (docs/triage.md, "Bereavement risk screen"; a person left
    out, or with nothing answered, is not screened); its problems are on ``bereavement_screens``.
    ``request``
    only adds the client address to the access log.
    """
    if not may_record_death(user):
        raise PermissionDenied(
            "Only clinicians working a team queue and coordinators record deaths."
        )
    with transaction.atomic():
        patient = (
            patients_visible_to(user, break_glass_ids=break_glass_ids)
            .select_for_update(of=("self",))
            .get(pk=patient_id)
        )
        existing = DeathRecord.objects.recorded().filter(patient=patient).first()
        if existing is not None:
            raise DeathAlreadyRecorded(existing)
        now = timezone.now()
        errors: Errors = {}
        people = death_problems(
            errors,
            patient=patient,
            died_at=died_at,
            place=place,
            expected=expected,
            verified_by=verified_by,
            bereavement_for=bereavement_for,
            last_days_place=last_days_place,
            now=now,
        )
        screens, screen_errors = bereavement_screens_check(
            bereavement_screens, people_ids=[person.pk for person in people]
        )
        if screen_errors:
            errors["bereavement_screens"] = screen_errors
        if errors:
            raise ValidationError(errors)
        plan = care_plan_current(patient=patient)
        first = plan.ppd_first if plan is not None else ""
        second = plan.ppd_second if plan is not None else ""
        care_preferred = plan.ppc if plan is not None else ""
        record = DeathRecord(
            patient=patient,
            died_at=died_at,
            expected=expected,
            verified_by=verified_by.strip(),
            **death_place_fields(
                place=place,
                first=first,
                second=second,
                care_preferred=care_preferred,
                last_days_place=last_days_place,
            ),
            recorded_at=now,
            recorded_by=user,
        )
        try:
            with transaction.atomic():
                record.save()
        except IntegrityError:
            # Recorded by someone else between our check and our insert.
            raise DeathAlreadyRecorded(
                DeathRecord.objects.recorded().get(patient=patient)
            ) from None
        Patient.objects.filter(pk=patient.pk).update(died_at=died_at, updated_at=now)
        patient.died_at = died_at
        closed, kept_open = referrals_close_on_death(
            patient=patient, user=user, record=record, now=now
        )
        cancelled, call_backs_kept = call_backs_cancel_on_death(
            patient=patient, user=user, now=now, record=record
        )
        bereavement = bereavement_referrals_create(
            patient=patient,
            people=people,
            user=user,
            died_at=died_at,
            record=record,
            now=now,
            screens=screens,
        )
        # The survey is about the care of the team of the patient's latest referral.
        cared_by = next((r for r in closed if r.team_id is not None), None)
        survey = invitation_consent_record(
            patient=patient,
            to=survey_to,
            user=user,
            now=now,
            referral_id=cared_by.pk if cared_by else None,
            team_id=cared_by.team_id if cared_by else None,
            field="survey_to",
        )
        _death_logged(
            record,
            action=AccessLog.Action.CREATE,
            user=user,
            request=request,
            detail={
                "referrals_closed": len(closed),
                "referrals_kept_open": len(kept_open),
                "call_backs_cancelled": cancelled,
                "call_backs_kept": len(call_backs_kept),
                "bereavement_referrals": len(bereavement),
                **({"survey_invitation": survey.pk} if survey else {}),
            },
        )
        for referral in bereavement:
            routing_enqueue_after_commit(referral.pk, priority=referral.priority)
    offered = {referral.for_person_id for referral in bereavement}
    return DeathRecorded(
        record=record,
        closed=tuple(closed),
        bereavement=tuple(bereavement),
        already_supported=tuple(person for person in people if person.pk not in offered),
        call_backs_cancelled=cancelled,
        kept_open=tuple(kept_open),
        call_backs_kept=tuple(call_backs_kept),
    )


@dataclass(frozen=True)
class DeathCorrected:
    """What ``death_correct`` or ``death_withdraw`` did: the record as it now stands, the
    correction row (before and after), and for a withdrawal the referrals reopened
    (``reopened``) or left as they were because they changed since (``left_closed``), the
    bereavement referrals entered in error (``bereavement_cancelled``) or kept because their team
    is in contact with the person (``bereavement_kept``), the call-backs pending again, and
    whether a letter about the death had already gone to the GP practice."""

    record: DeathRecord
    correction: DeathCorrection
    reopened: tuple[Referral, ...] = ()
    left_closed: tuple[Referral, ...] = ()
    bereavement_cancelled: tuple[Referral, ...] = ()
    bereavement_kept: tuple[Referral, ...] = ()
    call_backs_restored: tuple[int, ...] = ()
    gp_letter_sent: bool = False


# The fields of a death a correction may change, as the correction row keeps them.
CORRECTABLE = ("died_at", "place", "last_days_place", "expected", "verified_by")


def _kept_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


@contextmanager
def _death_correcting(
    *, patient_id: int, user: Any, reason: str
) -> Iterator[tuple[Patient, DeathRecord, str, datetime, Errors]]:
    """Check who may correct, lock the patient (one the user may write) and the death standing;
    yields them with the stripped reason, now, and the errors so far (the reason's), for the
    caller to add its own to and raise. Raises ``PermissionDenied`` and
    ``Patient.DoesNotExist`` / ``DeathRecord.DoesNotExist`` (a 404)."""
    if not (may_correct_death(user) and may_write_clinical(user)):
        raise PermissionDenied(CORRECT_REFUSED)
    with transaction.atomic():
        patient = patients_writable_by(user).select_for_update(of=("self",)).get(pk=patient_id)
        record = DeathRecord.objects.recorded().select_for_update().get(patient=patient)
        errors: Errors = {}
        try:
            reason = text_required(reason, field="reason", max_length=REASON_MAX)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        yield patient, record, reason, timezone.now(), errors


def death_correct(
    *,
    patient_id: int,
    user: Any,
    reason: str,
    changes: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> DeathCorrected:
    """Correct the death standing for ``patient_id`` with a reason (docs/patients-and-calls.md,
    "Correcting or withdrawing a death"): ``changes`` gives new values of some of
    ``CORRECTABLE`` (the others keep theirs), checked as when recording (``death_problems``).
    Keeps the values before and after in a ``DeathCorrection``; every "preferred place" flag is
    worked out again from the preferences kept on the record (``death_place_fields``); ``Patient.died_at`` follows.
    Raises as ``_death_correcting``, and ``ValidationError`` (keyed by argument name) for a bad
    value, a missing reason or a correction that changes nothing."""
    with _death_correcting(patient_id=patient_id, user=user, reason=reason) as (
        patient,
        record,
        reason,
        now,
        errors,
    ):
        wanted = {name: changes.get(name, getattr(record, name)) for name in CORRECTABLE}
        death_problems(errors, patient=patient, bereavement_for=[], now=now, **wanted)
        if errors:
            raise ValidationError(errors)
        wanted["verified_by"] = wanted["verified_by"].strip()
        changed = [name for name in CORRECTABLE if getattr(record, name) != wanted[name]]
        if not changed:
            raise ValidationError({NON_FIELD_ERRORS: [NOTHING_CHANGED]})
        before = {name: _kept_value(getattr(record, name)) for name in changed}
        for name in changed:
            setattr(record, name, wanted[name])
        derived = death_place_fields(
            place=record.place,
            first=record.preferred_place_first,
            second=record.preferred_place_second,
            care_preferred=record.preferred_place_of_care,
            last_days_place=record.last_days_place,
        )
        for name, value in derived.items():
            if value != getattr(record, name):
                before[name] = getattr(record, name)
                setattr(record, name, value)
        after = {name: _kept_value(getattr(record, name)) for name in before}
        record.save()
        if "died_at" in changed:
            Patient.objects.filter(pk=patient.pk).update(died_at=record.died_at, updated_at=now)
        correction = _correction_saved(
            record=record,
            kind=DeathCorrection.Kind.CORRECTED,
            before=before,
            after=after,
            reason=reason,
            user=user,
            now=now,
            request=request,
        )
    return DeathCorrected(
        record=record, correction=correction, gp_letter_sent=_gp_letter_sent(record)
    )


def death_withdraw(
    *, patient_id: int, user: Any, reason: str, request: HttpRequest | None = None
) -> DeathCorrected:
    """Withdraw the death standing for ``patient_id`` as entered in error, with a reason
    (docs/patients-and-calls.md, "Correcting or withdrawing a death"): the record stays, marked
    ``WITHDRAWN``; ``Patient.died_at`` is cleared; the referrals it closed are reopened where it
    left them (routing enqueued after commit for those awaiting it); the bereavement referrals it
    made that nobody has contacted are entered in error; the call-backs it cancelled are pending
    again. Raises as ``_death_correcting``."""
    with _death_correcting(patient_id=patient_id, user=user, reason=reason) as (
        patient,
        record,
        reason,
        now,
        errors,
    ):
        if errors:
            raise ValidationError(errors)
        record.status = DeathRecord.Status.WITHDRAWN
        record.save(update_fields=["status"])
        Patient.objects.filter(pk=patient.pk).update(died_at=None, updated_at=now)
        correction = _correction_saved(
            record=record,
            kind=DeathCorrection.Kind.WITHDRAWN,
            before={"status": DeathRecord.Status.RECORDED},
            after={"status": DeathRecord.Status.WITHDRAWN},
            reason=reason,
            user=user,
            now=now,
            request=request,
        )
        reopened, left = referrals_reopen_on_withdrawal(
            record=record, correction_id=correction.pk, reason=reason, user=user
        )
        cancelled, kept = bereavement_cancel_on_withdrawal(
            record=record, correction_id=correction.pk, reason=reason, user=user
        )
        restored = call_backs_restore_on_withdrawal(record=record, user=user)
        correction.effects = {
            "referrals_reopened": [r.pk for r in reopened],
            "referrals_left_closed": [r.pk for r in left],
            "bereavement_cancelled": [r.pk for r in cancelled],
            "bereavement_kept": [r.pk for r in kept],
            "call_backs_restored": restored,
        }
        correction.save(update_fields=["effects"])
        for referral in reopened:
            if referral.status == ReferralStatus.AWAITING_ROUTING:
                routing_enqueue_after_commit(referral.pk, priority=referral.priority)
    return DeathCorrected(
        record=record,
        correction=correction,
        reopened=tuple(reopened),
        left_closed=tuple(left),
        bereavement_cancelled=tuple(cancelled),
        bereavement_kept=tuple(kept),
        call_backs_restored=tuple(restored),
        gp_letter_sent=_gp_letter_sent(record),
    )


def _correction_saved(
    *,
    record: DeathRecord,
    kind: str,
    before: dict[str, Any],
    after: dict[str, Any],
    reason: str,
    user: Any,
    now: datetime,
    request: HttpRequest | None,
) -> DeathCorrection:
    """The correction row and its access-log row. The summary job reads new corrections by id
    and recomputes the patient's death figures on the old and the new dates."""
    correction = DeathCorrection(
        record=record,
        patient_id=record.patient_id,
        kind=kind,
        before=before,
        after=after,
        reason=reason,
        corrected_at=now,
        corrected_by=user,
    )
    correction.full_clean()
    correction.save()
    _death_logged(
        record,
        action=AccessLog.Action.UPDATE,
        user=user,
        request=request,
        detail={"correction": kind, "correction_id": correction.pk, "fields": sorted(before)},
    )
    return correction


def _death_logged(
    record: DeathRecord,
    *,
    action: str,
    user: Any,
    request: HttpRequest | None,
    detail: dict[str, Any],
) -> None:
    """The access-log row of a death recorded or corrected."""
    access_log_record(
        action=action,
        user=user,
        request=request,
        object_type="death_record",
        object_id=record.pk,
        patient_id=record.patient_id,
        detail=detail,
    )


def _gp_letter_sent(record: DeathRecord) -> bool:
    return GpLetter.objects.filter(death=record).exists()
