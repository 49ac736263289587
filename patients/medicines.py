"""Just-in-case medicines on the patient's record: recording one, and removing one that is no
longer in the home (docs/patients-and-calls.md, "Just-in-case medicines"; hazard H-033).

Only clinicians write them, as for the care plan. Each write is one transaction with its
access-log row; nothing is ever updated in place or deleted, so the history stays whole.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone

from patients.models import JustInCaseMedicine, Patient
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record

# What the form's boxes are called in messages, mid-sentence.
_WHAT = {
    "name": "the medicine",
    "dose_route": "the dose and route",
    "quantity": "the quantity",
    "kept_at": "where they are kept",
    "prescribed_by": "who prescribed it",
    "removed_reason": "why it was removed",
}


@dataclass(frozen=True)
class MedicineData:
    """One medicine as the prescription wrote it; text is kept as typed (stripped)."""

    name: str
    dose_route: str
    quantity: str
    kept_at: str
    prescribed_by: str
    prescribed_date: date | None


def _may_write(user: Any) -> None:
    if not getattr(user, "is_clinician", False):
        raise PermissionDenied("Only clinicians record just-in-case medicines.")


def _text(errors: dict[str, list[str]], name: str, value: Any) -> str:
    """``value`` stripped, with a message in ``errors`` when it is missing, too long or holds a
    character PostgreSQL cannot store."""
    text = value.strip() if isinstance(value, str) else ""
    model_field = JustInCaseMedicine._meta.get_field(name)
    assert isinstance(model_field, models.CharField) and model_field.max_length is not None
    limit = model_field.max_length
    if not text:
        errors.setdefault(name, []).append(f"Enter {_WHAT[name]}.")
    elif len(text) > limit:
        errors.setdefault(name, []).append(
            f"This is {len(text)} characters long; the most is {limit}."
        )
    elif "\x00" in text:
        errors.setdefault(name, []).append("Remove the null character pasted into this text.")
    return text


def jic_medicine_add(*, patient: Patient, user: Any, data: MedicineData) -> JustInCaseMedicine:
    """Record one medicine kept in ``patient``'s home; return it.

    Raises PermissionDenied for a user who is not a clinician, and ValidationError keyed by field
    (every text required and within its column; the prescription date not in the future nor
    before the patient's birth), having saved nothing.
    """
    _may_write(user)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {
        item.name: _text(errors, item.name, getattr(data, item.name))
        for item in fields(MedicineData)
        if item.name != "prescribed_date"
    }
    prescribed = data.prescribed_date
    if prescribed is None:
        errors["prescribed_date"] = ["Enter the date it was prescribed."]
    elif prescribed > timezone.localdate():
        errors["prescribed_date"] = ["The date prescribed cannot be in the future."]
    elif prescribed < patient.date_of_birth:
        errors["prescribed_date"] = ["The date prescribed cannot be before the patient was born."]
    if errors or prescribed is None:
        raise ValidationError(errors)
    with transaction.atomic():
        medicine = JustInCaseMedicine(
            patient=patient,
            prescribed_date=prescribed,
            recorded_at=timezone.now(),
            recorded_by=user,
            **values,
        )
        medicine.full_clean(exclude=["patient", "recorded_by", "removed_by"])
        medicine.save()
        access_log_record(
            action=AccessLog.Action.CREATE,
            user=user,
            object_type="jic_medicine",
            object_id=medicine.pk,
            patient_id=patient.pk,
        )
    return medicine


def jic_medicine_remove(
    *, patient: Patient, user: Any, medicine_id: int, reason: str
) -> JustInCaseMedicine:
    """Record that a medicine is no longer in the home (used, destroyed, changed); return it.

    Raises PermissionDenied for a user who is not a clinician, JustInCaseMedicine.DoesNotExist
    for a medicine that is not this patient's, and ValidationError (``removed_reason``) for a
    missing or over-long reason or a medicine already removed, having changed nothing.
    """
    _may_write(user)
    errors: dict[str, list[str]] = {}
    text = _text(errors, "removed_reason", reason)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        medicine = JustInCaseMedicine.objects.select_for_update().get(
            pk=medicine_id, patient=patient
        )
        if medicine.removed_at is not None:
            raise ValidationError({"removed_reason": ["This medicine was already removed."]})
        medicine.removed_at = timezone.now()
        medicine.removed_by = user
        medicine.removed_reason = text
        medicine.save(update_fields=["removed_at", "removed_by", "removed_reason"])
        access_log_record(
            action=AccessLog.Action.UPDATE,
            user=user,
            object_type="jic_medicine",
            object_id=medicine.pk,
            patient_id=patient.pk,
            detail={"removed": True},
        )
    return medicine
