"""Services that compose several apps in one transaction (docs/architecture.md, "Apps and
layering"): recording a death (docs/design.md §7).

In one transaction, with the patient row locked: the ``DeathRecord`` with the preferred places of
death in force and whether one was achieved; ``Patient.died_at``; every open referral closed
(``referrals_close_on_death``); every pending call-back cancelled (``call_backs_cancel_on_death``);
the bereavement referrals (``bereavement_referrals_create``); and an access-log row. Routing of the
bereavement referrals is enqueued after the commit. The patient page and the API both call
``death_record``, which returns a ``DeathRecorded``: the record and exactly what saving it did, so
the page's message and the API's answer say what happened.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from calls.services.reviews import call_backs_cancel_on_death
from patients.models import DeathRecord, Patient, RelatedPerson
from patients.selectors import care_plan_current
from referrals.models import Referral
from referrals.selectors import patients_visible_to
from referrals.services.deaths import (
    DeathAlreadyRecorded,
    Errors,
    bereavement_referrals_create,
    death_place_fields,
    death_problems,
    may_record_death,
    referrals_close_on_death,
)
from referrals.services.enqueue import routing_enqueue_after_commit
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record


@dataclass(frozen=True)
class DeathRecorded:
    """What ``death_record`` did. ``closed`` are the referrals closed, with their team loaded
    (``team`` is None for one not yet routed); ``bereavement`` the bereavement referrals made,
    with ``for_person`` loaded, in the order the people were given; ``already_supported`` the
    people ticked who already had an open bereavement referral, so were not given a second."""

    record: DeathRecord
    closed: tuple[Referral, ...]
    bereavement: tuple[Referral, ...]
    already_supported: tuple[RelatedPerson, ...]
    call_backs_cancelled: int


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
    ``bereavement_for``) having saved
    nothing. ``request`` only adds the client address to the access log.
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
        existing = DeathRecord.objects.filter(patient=patient).first()
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
            raise DeathAlreadyRecorded(DeathRecord.objects.get(patient=patient)) from None
        Patient.objects.filter(pk=patient.pk).update(died_at=died_at, updated_at=now)
        patient.died_at = died_at
        closed = referrals_close_on_death(patient=patient, user=user, record=record, now=now)
        cancelled = call_backs_cancel_on_death(patient=patient, user=user, now=now)
        bereavement = bereavement_referrals_create(
            patient=patient, people=people, user=user, died_at=died_at, record=record, now=now
        )
        access_log_record(
            action=AccessLog.Action.CREATE,
            user=user,
            request=request,
            object_type="death_record",
            object_id=record.pk,
            patient_id=patient.pk,
            detail={
                "referrals_closed": len(closed),
                "call_backs_cancelled": cancelled,
                "bereavement_referrals": len(bereavement),
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
    )
