"""Writes to patient records. Every change is validated in full before anything is saved, and
written to the access log with the patient's id (docs/design.md §10)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from patients.carers import CARER_RULES_VERSION, InvalidCarerAnswers, carer_assessment_suggest
from patients.codes import (
    CprDecision,
    DiagnosisGroup,
    EthnicCategory,
    NhsNumberStatus,
    PatientLocation,
)
from patients.models import CarePlan, CarerAssessment, Patient, PossibleMatch, RelatedPerson
from patients.names import InvalidName, search_form, validate_person_name
from patients.nhs_number import InvalidNhsNumber, normalise_nhs_number
from patients.selectors import patient_possible_duplicates
from services.postcodes import InvalidPostcode, normalise_postcode
from services.practices import practice_for
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record
from spoc.core.dates import nhs_date

# Oldest plausible date of birth; a later one is a typing error more often than a record.
MAX_AGE_YEARS = 120
# docs/reference.md: a care plan's review date is no more than 3 months ahead (calendar months).
CARE_PLAN_REVIEW_MAX_MONTHS = 3

PATIENT_FIELDS = (
    "nhs_number",
    "nhs_number_status",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "address",
    "postcode",
    "phone",
    "phone_alt",
    "gp_practice",
    "usual_residence",
    "location",
    "location_site",
    "interpreter_needed",
    "language",
    "ethnic_category",
    "diagnosis_group",
    "access_information",
)


class DuplicateNhsNumber(ValidationError):
    """Another patient already has this NHS number: link to them instead (a 409 in the API)."""

    code = "duplicate_nhs_number"

    def __init__(self, existing: Patient) -> None:
        super().__init__({"nhs_number": ["A patient with this NHS number is already registered."]})
        self.existing = existing


class PossibleDuplicates(ValidationError):
    """Patients with the same name and date of birth, or the same date of birth and postcode:
    registering needs an explicit confirmation (a 409 in the API)."""

    code = "possible_duplicates"

    def __init__(self, matches: list[Patient]) -> None:
        super().__init__({"__all__": ["This may be a patient who is already registered."]})
        self.matches = matches


@dataclass
class PatientData:
    given_name: str
    family_name: str
    date_of_birth: date
    nhs_number: str = ""
    nhs_number_status: str = NhsNumberStatus.NOT_TRACED
    sex: str = "unknown"
    address: str = ""
    postcode: str = ""
    phone: Any = ""
    phone_alt: Any = ""
    gp_practice: str = ""
    usual_residence: str = ""
    location: str = PatientLocation.HOME
    location_site: Any = None
    interpreter_needed: bool = False
    language: str = ""
    ethnic_category: str = EthnicCategory.NOT_KNOWN
    diagnosis_group: str = DiagnosisGroup.NOT_KNOWN
    access_information: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def months_after(day: date, months: int) -> date:
    """The same day of the month `months` later; the month's last day when it is shorter
    (30 November + 3 months = 28 February)."""
    year, month_index = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _clean_patient_data(data: PatientData, *, today: date) -> dict[str, Any]:
    """Normalise and check every rule; raises one ValidationError keyed by field."""
    errors: dict[str, list[str]] = {}
    values = {name: getattr(data, name) for name in PATIENT_FIELDS}
    for name_field in ("given_name", "family_name"):
        try:
            values[name_field] = validate_person_name(
                values[name_field] or "", field=name_field.replace("_", " ")
            )
        except InvalidName as exc:
            errors[name_field] = [str(exc)]
    raw_number = (values["nhs_number"] or "").strip()
    if raw_number:
        try:
            values["nhs_number"] = normalise_nhs_number(raw_number)
        except InvalidNhsNumber as exc:
            errors["nhs_number"] = [str(exc)]
    else:
        values["nhs_number"] = None
        if values["nhs_number_status"] in (NhsNumberStatus.VERIFIED, NhsNumberStatus.NOT_TRACED):
            errors.setdefault("nhs_number_status", []).append(
                "Without an NHS number, the status must say a trace is required or under way."
            )
    dob = values["date_of_birth"]
    if dob is not None:
        if dob > today:
            errors["date_of_birth"] = ["Date of birth must be today or in the past."]
        elif dob < years_before(today, MAX_AGE_YEARS):
            errors["date_of_birth"] = [
                f"Date of birth must be within the last {MAX_AGE_YEARS} years."
            ]
    if values["postcode"]:
        try:
            values["postcode"] = normalise_postcode(values["postcode"])
        except InvalidPostcode as exc:
            errors["postcode"] = [str(exc)]
    if values["location"] == PatientLocation.HOSPITAL and values["location_site"] is None:
        errors["location_site"] = ["Choose the hospital the patient is in."]
    if values["location"] != PatientLocation.HOSPITAL:
        values["location_site"] = None
    if values["ethnic_category"] not in EthnicCategory.values:
        errors["ethnic_category"] = [
            "Choose the ethnic category the patient states, or Not stated, or Not known."
        ]
    if values["diagnosis_group"] not in DiagnosisGroup.values:
        errors["diagnosis_group"] = ["Choose the group of the primary diagnosis, or Not known."]
    if errors:
        raise ValidationError(errors)
    values["gp_practice"] = (values["gp_practice"] or "").strip()
    values["registered_practice"] = practice_for(values["gp_practice"])
    return values


def _full_clean(instance: Any, *, exclude: list[str]) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc


@transaction.atomic
def patient_register(
    *, data: PatientData, user: Any, confirmed_not_duplicate: bool = False
) -> Patient:
    """Register a patient. Raises ValidationError (field-keyed), DuplicateNhsNumber when the
    number is already registered, and PossibleDuplicates unless `confirmed_not_duplicate`."""
    now = timezone.now()
    values = _clean_patient_data(data, today=timezone.localdate())
    if values["nhs_number"]:
        existing = Patient.objects.filter(nhs_number=values["nhs_number"]).first()
        if existing is not None:
            raise DuplicateNhsNumber(existing)
    if not confirmed_not_duplicate:
        matches = list(
            patient_possible_duplicates(
                given_name=values["given_name"],
                family_name=values["family_name"],
                date_of_birth=values["date_of_birth"],
                postcode=values["postcode"],
            )
        )
        if matches:
            raise PossibleDuplicates(matches)
    patient = Patient(
        **values,
        search_name=search_form(values["given_name"], values["family_name"]),
        created_at=now,
        created_by=user,
        updated_at=now,
    )
    _full_clean(patient, exclude=["created_by", "search_name"])
    _save_unique_nhs_number(patient)
    access_log_record(
        action=AccessLog.Action.CREATE,
        user=user,
        object_type="patient",
        object_id=patient.pk,
        patient_id=patient.pk,
    )
    return patient


@transaction.atomic
def patient_for_message(*, data: PatientData, partner: Any) -> Patient:
    """The patient a partner system's message is about (docs/interop.md, "Matching the patient"):
    the one registered with its NHS number (refused when the dates of birth differ); else a new
    record registered from the message. When
    the new record has the name and date of birth, or the date of birth and postcode, of a
    patient the hub knows (and no NHS number tells them apart), a PossibleMatch asks a
    coordinator whether they are the same person: records are never merged silently.

    Raises ValidationError keyed by field for what cannot be accepted (an NHS number that fails
    its check digit, a date of birth in the future, ...)."""
    values = _clean_patient_data(data, today=timezone.localdate())
    if values["nhs_number"]:
        existing = Patient.objects.filter(nhs_number=values["nhs_number"]).first()
        if existing is not None:
            _same_date_of_birth(existing, values["date_of_birth"])
            return existing
    now = timezone.now()
    patient = Patient(
        **values,
        search_name=search_form(values["given_name"], values["family_name"]),
        created_at=now,
        created_by_partner=partner,
        updated_at=now,
    )
    _full_clean(patient, exclude=["created_by", "created_by_partner", "search_name"])
    try:
        _save_unique_nhs_number(patient)
    except DuplicateNhsNumber as exc:  # registered by someone else a moment ago
        _same_date_of_birth(exc.existing, patient.date_of_birth)
        return exc.existing
    candidates = patient_possible_duplicates(
        given_name=patient.given_name,
        family_name=patient.family_name,
        date_of_birth=patient.date_of_birth,
        postcode=patient.postcode,
    ).exclude(pk=patient.pk)
    if patient.nhs_number:
        # Two different NHS numbers are two people.
        candidates = candidates.filter(nhs_number__isnull=True)
    label = (
        f"{patient}, born {nhs_date(patient.date_of_birth)}, {patient.postcode or 'no postcode'}"
    )
    PossibleMatch.objects.bulk_create(
        PossibleMatch(patient=patient, candidate=candidate, patient_label=label[:300], found_at=now)
        for candidate in candidates
    )
    access_log_record(
        action=AccessLog.Action.CREATE,
        object_type="patient",
        object_id=patient.pk,
        patient_id=patient.pk,
        detail={"source": "message"},
    )
    return patient


def _same_date_of_birth(patient: Patient, date_of_birth: date) -> None:
    """A message's NHS number names ``patient`` only if the dates of birth agree: otherwise one
    of the two is wrong, and the referral must not land on someone else's record. The patient's
    own date of birth is not said back."""
    if patient.date_of_birth != date_of_birth:
        raise ValidationError(
            {
                "nhs_number": [
                    "This NHS number belongs to a patient with another date of birth: check the "
                    "NHS number and the date of birth."
                ]
            }
        )


def _save_unique_nhs_number(patient: Patient) -> None:
    """Save; when another patient took the same NHS number at the same moment (two handlers at
    once: the unique constraint decides), raise DuplicateNhsNumber naming that patient."""
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError as exc:
        existing = (
            Patient.objects.filter(nhs_number=patient.nhs_number).exclude(pk=patient.pk).first()
        )
        if patient.nhs_number and existing is not None:
            raise DuplicateNhsNumber(existing) from exc
        raise


@transaction.atomic
def patient_update(*, patient: Patient, data: PatientData, user: Any) -> Patient:
    values = _clean_patient_data(data, today=timezone.localdate())
    if (
        values["nhs_number"]
        and Patient.objects.filter(nhs_number=values["nhs_number"]).exclude(pk=patient.pk).exists()
    ):
        raise DuplicateNhsNumber(Patient.objects.get(nhs_number=values["nhs_number"]))
    changed = [name for name, value in values.items() if getattr(patient, name) != value]
    for name, value in values.items():
        setattr(patient, name, value)
    patient.search_name = search_form(patient.given_name, patient.family_name)
    patient.updated_at = timezone.now()
    _full_clean(patient, exclude=["created_by", "search_name"])
    _save_unique_nhs_number(patient)
    access_log_record(
        action=AccessLog.Action.UPDATE,
        user=user,
        object_type="patient",
        object_id=patient.pk,
        patient_id=patient.pk,
        detail={"fields": sorted(changed)},
    )
    return patient


RELATED_FIELDS = (
    "given_name",
    "family_name",
    "relationship",
    "phone",
    "phone_alt",
    "address",
    "postcode",
    "date_of_birth",
    "is_main_carer",
    "is_next_of_kin",
    "has_lpa",
    "consent_to_contact",
)


@transaction.atomic
def related_person_save(
    *, patient: Patient, user: Any, values: dict[str, Any], person: RelatedPerson | None = None
) -> RelatedPerson:
    """Create or update a carer / next of kin / LPA. Making someone the main carer removes the
    flag from the previous main carer (one per patient)."""
    values = dict(values)  # normalised below; the caller's dict is left as it was
    errors: dict[str, list[str]] = {}
    for name_field in ("given_name", "family_name"):
        try:
            values[name_field] = validate_person_name(
                values.get(name_field) or "", field=name_field.replace("_", " ")
            )
        except InvalidName as exc:
            errors[name_field] = [str(exc)]
    if values.get("postcode"):
        try:
            values["postcode"] = normalise_postcode(values["postcode"])
        except InvalidPostcode as exc:
            errors["postcode"] = [str(exc)]
    dob = values.get("date_of_birth")
    if dob and dob > timezone.localdate():
        errors["date_of_birth"] = ["Date of birth must be today or in the past."]
    if errors:
        raise ValidationError(errors)
    creating = person is None
    person = person or RelatedPerson(patient=patient, created_at=timezone.now())
    for name in RELATED_FIELDS:
        if name in values:
            setattr(person, name, values[name])
    if person.is_main_carer:
        RelatedPerson.objects.filter(patient=patient, is_main_carer=True).exclude(
            pk=person.pk
        ).update(is_main_carer=False)
    _full_clean(person, exclude=["patient"])
    person.save()
    access_log_record(
        action=AccessLog.Action.CREATE if creating else AccessLog.Action.UPDATE,
        user=user,
        object_type="related_person",
        object_id=person.pk,
        patient_id=patient.pk,
    )
    return person


@transaction.atomic
def related_person_for_message(*, patient: Patient, values: dict[str, Any]) -> RelatedPerson:
    """The carer or relative a partner's message names for ``patient`` (docs/interop.md, "A
    referral for a carer or relative"): one already recorded with the same name (accents and
    case aside) and no other date of birth, else a new record, registered as
    ``related_person_save`` would (names, postcode and date of birth checked the same way). A
    person found is left as recorded: the message does not overwrite what the hub's staff wrote.
    Raises ValidationError keyed by field."""
    wanted = search_form(values.get("given_name") or "", values.get("family_name") or "")
    birth = values.get("date_of_birth")
    for person in RelatedPerson.objects.filter(patient=patient).order_by("pk"):
        same_birth = birth is None or person.date_of_birth in (None, birth)
        if search_form(person.given_name, person.family_name) == wanted and same_birth:
            return person
    return related_person_save(patient=patient, user=None, values=values)


# CarerAssessment.notes' max_length.
CARER_NOTES_MAX = 2000


@transaction.atomic
def carer_assessment_record(
    *,
    carer: RelatedPerson,
    user: Any,
    assessment_date: date,
    health: str,
    outcomes: dict[str, str],
    significant_impact: bool,
    notes: str = "",
) -> CarerAssessment:
    """Record a carer's needs assessment with the priority it suggests (patients/carers.py), and
    its access-log row. Raises ValidationError keyed by argument name, saving nothing: a date in
    the future or before the carer was recorded as too old to judge (over a year), an unknown or
    missing answer, over-long notes."""
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    if assessment_date > today:
        errors["assessment_date"] = ["The assessment cannot be dated in the future."]
    elif assessment_date < years_before(today, 1):
        errors["assessment_date"] = ["Record assessments of the last 12 months only."]
    notes = (notes or "").strip()
    if len(notes) > CARER_NOTES_MAX:
        errors["notes"] = [f"This is {len(notes)} characters long; the most is {CARER_NOTES_MAX}."]
    if "\x00" in notes:
        errors.setdefault("notes", []).append("Remove the null character pasted into this text.")
    try:
        suggestion = carer_assessment_suggest(
            health=health, outcomes=outcomes, significant_impact=significant_impact
        )
    except InvalidCarerAnswers as exc:
        errors["outcomes"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    assessment = CarerAssessment(
        carer=carer,
        assessment_date=assessment_date,
        health=health,
        outcomes=dict(outcomes),
        significant_impact=significant_impact,
        notes=notes,
        suggested_priority=suggestion.priority,
        reasons=list(suggestion.reasons),
        rules_version=CARER_RULES_VERSION,
        assessed_by=user,
        recorded_at=timezone.now(),
    )
    _full_clean(assessment, exclude=["carer", "assessed_by"])
    assessment.save()
    access_log_record(
        action=AccessLog.Action.CREATE,
        user=user,
        object_type="carer_assessment",
        object_id=assessment.pk,
        patient_id=carer.patient_id,
        detail={"suggested_priority": assessment.suggested_priority},
    )
    return assessment


CARE_PLAN_FIELDS = (
    "ppd_first",
    "ppd_second",
    "ppd_not_stated",
    "ppc",
    "cpr_decision",
    "cpr_decision_date",
    "cpr_review_date",
    "respect_exists",
    "respect_cpr",
    "respect_care_focus",
    "respect_kept_at",
    "respect_date",
    "consent_to_share",
    "key_worker_name",
    "key_worker_phone",
    "primary_diagnosis",
    "prognosis",
    "carer_aware_of_prognosis",
    "anticipatory_meds_issued",
    "anticipatory_meds_location",
    "review_date",
)
CPR_FIELDS = ("cpr_decision", "cpr_decision_date", "cpr_review_date", "respect_cpr")


def _default(name: str) -> Any:
    model_field = CarePlan._meta.get_field(name)
    assert isinstance(model_field, models.Field)
    return model_field.get_default()


@transaction.atomic
def care_plan_update(
    *, patient: Patient, user: Any, values: dict[str, Any], base_version: int | None = None
) -> CarePlan:
    """Record a new version of the care plan (history kept; one current). Fields missing from
    `values` keep their value in the current version.

    Only clinicians edit the care plan; a change to the CPR decision needs the permission
    `record_cpr_decision` (a senior responsible clinician, docs/reference.md). Raises
    PermissionDenied or ValidationError (field-keyed); saves nothing then. `base_version` is the
    version the editor saw (0: none): if someone saved another since, ValidationError, so a stale
    form never silently undoes a newer decision (such as a DNACPR).
    """
    if not getattr(user, "is_clinician", False):
        raise PermissionDenied("Only clinicians can change the care plan.")
    # Lock the patient row: also serialises two first saves, when no plan row exists to lock.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    current = CarePlan.objects.select_for_update().filter(patient=patient, is_current=True).first()
    if base_version is not None and base_version != (current.version if current else 0):
        changed_by = current.created_by.display_name() if current else "someone"
        raise ValidationError(
            {
                "__all__": [
                    f"The care plan was changed by {changed_by} since you opened it. "
                    "Reload the page, check their changes, and make yours again."
                ]
            }
        )
    old = {name: getattr(current, name) if current else _default(name) for name in CARE_PLAN_FIELDS}
    # A field left out of `values` keeps its current value (its default on a first plan): the
    # permission check and the saved version must agree on that, or a partial update by a
    # clinician without the CPR permission would silently reset a recorded DNACPR decision.
    values = {name: values.get(name, old[name]) for name in CARE_PLAN_FIELDS}
    cpr_changed = any(values[n] != old[n] for n in CPR_FIELDS)
    if cpr_changed and not user.has_perm("accounts.record_cpr_decision"):
        raise PermissionDenied("Only a senior clinician can record a CPR decision.")
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    review = values.get("review_date")
    if review and review > months_after(today, CARE_PLAN_REVIEW_MAX_MONTHS):
        errors["review_date"] = ["Set a review date no more than 3 months ahead."]
    if values.get("ppd_first") and values.get("ppd_not_stated"):
        errors["ppd_not_stated"] = ["Leave this blank when a preferred place is recorded."]
    if values.get("ppd_second") and not values.get("ppd_first"):
        errors["ppd_second"] = ["Record the first preference before the second."]
    if values.get("ppd_second") and values.get("ppd_second") == values.get("ppd_first"):
        errors["ppd_second"] = ["The second preference must differ from the first."]
    decision = values.get("cpr_decision", CprDecision.UNKNOWN)
    if decision != CprDecision.UNKNOWN and not values.get("cpr_decision_date"):
        errors["cpr_decision_date"] = ["Record the date of the CPR decision."]
    if values.get("cpr_decision_date") and values["cpr_decision_date"] > today:
        errors["cpr_decision_date"] = ["The decision date cannot be in the future."]
    if errors:
        raise ValidationError(errors)
    if current is not None:
        current.is_current = False
        current.save(update_fields=["is_current"])
    plan = CarePlan(
        patient=patient,
        version=(current.version + 1) if current else 1,
        is_current=True,
        created_at=timezone.now(),
        created_by=user,
    )
    for name in CARE_PLAN_FIELDS:
        setattr(plan, name, values[name])
    plan.cpr_recorded_by = user if cpr_changed else (current.cpr_recorded_by if current else None)
    _full_clean(plan, exclude=["patient", "created_by", "cpr_recorded_by"])
    plan.save()
    changed = sorted(n for n in CARE_PLAN_FIELDS if getattr(plan, n) != old[n])
    access_log_record(
        action=AccessLog.Action.UPDATE,
        user=user,
        object_type="care_plan",
        object_id=plan.pk,
        patient_id=patient.pk,
        detail={"fields": changed, "version": plan.version},
    )
    return plan
