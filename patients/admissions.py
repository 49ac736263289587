"""Hospital admissions: recorded on the patient, or imported from a CSV file (docs/design.md §3, §8).

They feed the "3+ emergency admissions in the last 90 days of life" indicator. The dashboards sit
above this app, so these services do not recompute anything there: the dashboards' summary job
picks new admissions up by their id and recomputes the patient's death outcome
(docs/metrics.md "How the figures are kept").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from patients.models import HospitalAdmission, Patient
from patients.nhs_number import InvalidNhsNumber, normalise_nhs_number
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record
from spoc.core.csv_import import csv_reader

# The import's columns, in any order (header row required).
IMPORT_COLUMNS = ("nhs_number", "admitted", "discharged", "type")
_TYPES = {"emergency": True, "elective": False}


def admission_record(
    *,
    patient: Patient,
    admitted_on: date,
    discharged_on: date | None,
    emergency: bool,
    user: Any,
    source: str = HospitalAdmission.Source.RECORDED,
) -> HospitalAdmission:
    """Record one admission, in the access log too. Raises ValidationError (field by field) when
    the dates are wrong or the patient already has an admission of that type that day."""
    errors: dict[str, str] = {}
    today = timezone.localdate()
    if admitted_on > today:
        errors["admitted_on"] = "The admission date cannot be in the future."
    if discharged_on is not None and discharged_on < admitted_on:
        errors["discharged_on"] = "The discharge date must be on or after the admission date."
    if discharged_on is not None and discharged_on > today:
        errors["discharged_on"] = "The discharge date cannot be in the future."
    if (
        not errors
        and HospitalAdmission.objects.filter(
            patient=patient, admitted_on=admitted_on, emergency=emergency
        ).exists()
    ):
        errors["admitted_on"] = "This patient already has an admission of this type on that day."
    if errors:
        raise ValidationError(errors)
    by = user if user is not None and user.is_authenticated else None
    with transaction.atomic():
        admission = HospitalAdmission.objects.create(
            patient=patient,
            admitted_on=admitted_on,
            discharged_on=discharged_on,
            emergency=emergency,
            source=source,
            recorded_at=timezone.now(),
            recorded_by=by,
        )
        access_log_record(
            action=AccessLog.Action.CREATE,
            user=by,
            object_type="admission",
            object_id=admission.pk,
            patient_id=patient.pk,
        )
    return admission


@dataclass
class ImportResult:
    imported: int = 0
    # (line number, message) for every rejected row; nothing is saved when there is any.
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _date(text: str, label: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"{label} must be a date like 2026-03-14, not {text.strip()!r}") from exc


def admissions_import(*, lines: Iterable[str], user: Any = None) -> ImportResult:
    """Import admissions from CSV text (header: nhs_number, admitted, discharged, type).

    Atomic: every row is validated first; if any row is rejected, nothing is saved and every
    rejected row is reported by its line number (the header is line 1)."""
    result = ImportResult()
    reader = csv_reader(lines, columns=IMPORT_COLUMNS, rejected=result.rejected)
    if reader is None:
        return result
    rows: list[tuple[int, str, date, date | None, bool]] = []
    seen: set[tuple[str, date, bool]] = set()
    for row in reader:
        line = reader.line_num
        try:
            number = normalise_nhs_number(row.get("nhs_number") or "")
            admitted = _date(row.get("admitted") or "", "admitted")
            discharged = (
                _date(row["discharged"], "discharged")
                if (row.get("discharged") or "").strip()
                else None
            )
            kind = (row.get("type") or "").strip().lower()
            if kind not in _TYPES:
                raise ValueError(f"type must be emergency or elective, not {kind!r}")
            if discharged is not None and discharged < admitted:
                raise ValueError("discharged is before admitted")
            if admitted > timezone.localdate():
                raise ValueError("admitted is in the future")
            key = (number, admitted, _TYPES[kind])
            if key in seen:
                raise ValueError("the same admission appears twice in the file")
            seen.add(key)
            rows.append((line, number, admitted, discharged, _TYPES[kind]))
        except (InvalidNhsNumber, ValueError) as exc:
            result.rejected.append((line, str(exc)))
    patients = dict(
        Patient.objects.filter(nhs_number__in={r[1] for r in rows}).values_list("nhs_number", "pk")
    )
    existing = set(
        HospitalAdmission.objects.filter(patient_id__in=patients.values()).values_list(
            "patient_id", "admitted_on", "emergency"
        )
    )
    for line, number, admitted, _discharged, emergency in rows:
        if number not in patients:
            result.rejected.append((line, "no patient with this NHS number"))
        elif (patients[number], admitted, emergency) in existing:
            result.rejected.append((line, "this admission is already recorded"))
    if result.rejected:
        result.rejected.sort()
        return result
    now = timezone.now()
    by = user if user is not None and user.is_authenticated else None
    with transaction.atomic():
        created = HospitalAdmission.objects.bulk_create(
            [
                HospitalAdmission(
                    patient_id=patients[number],
                    admitted_on=admitted,
                    discharged_on=discharged,
                    emergency=emergency,
                    source=HospitalAdmission.Source.IMPORTED,
                    recorded_at=now,
                    recorded_by=by,
                )
                for _line, number, admitted, discharged, emergency in rows
            ]
        )
        # Every change to a patient's record is in the access log (docs/design.md §10), imports too.
        for admission in created:
            access_log_record(
                action=AccessLog.Action.CREATE,
                user=by,
                username="" if by else "import_admissions",
                object_type="admission",
                object_id=admission.pk,
                patient_id=admission.patient_id,
                detail={"source": "import"},
            )
    result.imported = len(rows)
    return result
