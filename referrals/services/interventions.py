"""What a nurse does for a referral: interventions (docs/reference.md intervention list, with the
admission avoided, bed days saved and primary-care contact avoided that the outcome measures
count) and clinical review
assessments (Phase of Illness, AKPS, IPOS; docs/reference.md "Clinical measures").

Both are actions of the transition map that keep the referral's status; each writes its
ReferralEvent and its access-log row in the same transaction (`referrals.services.claims`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from patients.codes import AssessmentSource, IposItem, PhaseOfIllness
from patients.models import Assessment
from referrals.codes import InterventionType
from referrals.models import Intervention, ReferralEvent
from referrals.services.acting import referral_acting, referral_record, text_required, to_the_minute
from referrals.transitions import Action, check_action

NOTES_MAX = 2000
# A clinician's estimate of the hospital stay avoided; a year is the most anyone attests.
BED_DAYS_MAX = 365
# AKPS: 0-100 in steps of 10 (docs/reference.md).
AKPS_VALUES = frozenset(range(0, 101, 10))
IPOS_MAX = 4


def _bed_days(admission_avoided: bool, bed_days_saved: int | None) -> int | None:
    if not admission_avoided:
        if bed_days_saved is not None:
            raise ValidationError(
                {"bed_days_saved": ["Bed days saved only count when an admission was avoided."]}
            )
        return None
    if bed_days_saved is None:
        raise ValidationError({"bed_days_saved": ["Estimate the bed days saved (1 to 365)."]})
    if not 1 <= bed_days_saved <= BED_DAYS_MAX:
        raise ValidationError(
            {"bed_days_saved": [f"Bed days saved must be between 1 and {BED_DAYS_MAX}."]}
        )
    return bed_days_saved


def intervention_record(
    *,
    referral_id: int,
    user: Any,
    kind: str,
    at: datetime,
    notes: str = "",
    admission_avoided: bool = False,
    bed_days_saved: int | None = None,
    primary_care_contact_avoided: bool = False,
) -> Intervention:
    """Record an intervention (a visit, advice, a shift...) on an accepted or in-progress
    referral. ``at`` is when it happened: not in the future, not before the referral. Raises
    ValidationError (field errors), ActionNotPermitted, IllegalAction."""
    if kind not in InterventionType.values:
        raise ValidationError({"kind": ["Choose what was done."]})
    if at is None:
        raise ValidationError({"at": ["Enter when it happened."]})
    if at > timezone.now():
        raise ValidationError({"at": ["An intervention cannot be in the future."]})
    notes = text_required(notes, field="notes", required=False, max_length=NOTES_MAX)
    bed_days = _bed_days(admission_avoided, bed_days_saved)
    with referral_acting(referral_id=referral_id, user=user, action=Action.INTERVENTION) as (
        referral,
        before,
    ):
        referral.status = check_action(Action.INTERVENTION, before)
        if at < to_the_minute(referral.created_at):
            raise ValidationError(
                {"at": ["An intervention cannot be before the referral was made."]}
            )
        intervention = Intervention(
            referral=referral,
            kind=kind,
            at=at,
            by=user,
            notes=notes,
            admission_avoided=admission_avoided,
            bed_days_saved=bed_days,
            primary_care_contact_avoided=primary_care_contact_avoided,
            recorded_at=timezone.now(),
        )
        intervention.full_clean()
        intervention.save()
        referral_record(
            referral,
            kind=ReferralEvent.Kind.INTERVENTION,
            user=user,
            from_status=before,
            data={
                "intervention_id": intervention.pk,
                "kind": kind,
                "at": at.isoformat(),
                "admission_avoided": admission_avoided,
                "bed_days_saved": bed_days,
                "primary_care_contact_avoided": primary_care_contact_avoided,
            },
        )
    return intervention


def _ipos(ipos: Mapping[str, Any] | None) -> dict[str, int]:
    scores: dict[str, int] = {}
    for item, score in (ipos or {}).items():
        if score is None or score == "":
            continue
        if item not in IposItem.values:
            raise ValidationError({"ipos": [f"Unknown IPOS item: {item}."]})
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= IPOS_MAX:
            raise ValidationError(
                {f"ipos_{item}": [f"{IposItem(item).label}: score 0 to {IPOS_MAX}."]}
            )
        scores[item] = score
    return scores


def assessment_record(
    *,
    referral_id: int,
    user: Any,
    phase: str = "",
    akps: int | None = None,
    ipos: Mapping[str, Any] | None = None,
) -> Assessment:
    """A clinician's review of the referral's patient: Phase of Illness, AKPS (0-100, steps of
    10) and IPOS items (0-4), at least one of them. Raises ValidationError (field errors),
    ActionNotPermitted, IllegalAction."""
    if phase and phase not in PhaseOfIllness.values:
        raise ValidationError({"phase": ["Choose a phase of illness."]})
    if akps is not None and (isinstance(akps, bool) or akps not in AKPS_VALUES):
        raise ValidationError({"akps": ["AKPS is 0 to 100 in steps of 10."]})
    scores = _ipos(ipos)
    if not phase and akps is None and not scores:
        raise ValidationError(
            {"phase": ["Record at least the phase of illness, AKPS or one IPOS score."]}
        )
    with referral_acting(referral_id=referral_id, user=user, action=Action.ASSESS) as (
        referral,
        before,
    ):
        referral.status = check_action(Action.ASSESS, before)
        assessment = Assessment(
            patient_id=referral.patient_id,
            source=AssessmentSource.CLINICIAN_REVIEW,
            phase=phase,
            akps=akps,
            ipos=scores,
            assessed_at=timezone.now(),
            assessed_by=user,
        )
        assessment.full_clean()
        assessment.save()
        referral_record(
            referral,
            kind=ReferralEvent.Kind.ASSESSED,
            user=user,
            from_status=before,
            data={
                "assessment_id": assessment.pk,
                "phase": phase,
                "akps": akps,
                "ipos": scores,
            },
        )
    return assessment
