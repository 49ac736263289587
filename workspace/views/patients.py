"""Patient pages. They compose patients, calls and referrals, so they live here, in the highest
app they need (docs/design.md §2)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from calls.selectors import patient_banner_for
from patients.carers import CarerOutcome
from patients.forms import (
    BreakGlassForm,
    CarePlanForm,
    CarerAssessmentForm,
    JustInCaseMedicineForm,
    MedicineRemoveForm,
    PatientForm,
    RelatedPersonForm,
)
from patients.medicines import jic_medicine_add, jic_medicine_remove
from patients.models import DeathRecord, JustInCaseMedicine, Patient, RelatedPerson
from patients.selectors import (
    care_plan_current,
    care_plan_history,
    care_plan_shown,
    carer_assessments_shown,
    deaths_of,
    jic_medicines_current,
    jic_medicines_shown,
    patient_shown,
)
from patients.services import (
    DuplicateNhsNumber,
    PossibleDuplicates,
    care_plan_update,
    carer_assessment_record,
    patient_register,
    patient_update,
    related_person_save,
)
from referrals.access import break_glass_open, visible_patients, writable_patient
from referrals.selectors import patients_visible_to, patients_writable_by, sees_all_patients
from referrals.services.deaths import may_correct_death
from services.deprivation import deprivation_decile
from spoc.accounts.roles import may_break_glass, may_write_clinical
from spoc.core.htmx import render_page
from workspace.selectors import patient_timeline, patients_found
from workspace.views.deaths import corrections_worded


def _form_errors_from(form: Any, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@login_required
def patient_search_page(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").replace("\x00", "").strip()[:200]
    results: list[Patient] = []
    if query:
        results = patients_found(patients=visible_patients(request), query=query)
    context = {
        "query": query,
        "results": results,
        "today": timezone.localdate(),
        "can_register": sees_all_patients(request.user),
    }
    return render_page(request, "patients/search.html", context, fragment="results")


@login_required
def patient_register_page(request: HttpRequest) -> HttpResponse:
    if not (sees_all_patients(request.user) and may_write_clinical(request.user)):
        raise PermissionDenied("Only call handlers and coordinators register patients.")
    form = PatientForm(request.POST or None)
    duplicates: list[Patient] = []
    existing: Patient | None = None
    if request.method == "POST" and form.is_valid():
        try:
            patient = patient_register(
                data=form.patient_data(),
                user=request.user,
                confirmed_not_duplicate=form.cleaned_data["confirm_not_duplicate"],
            )
        except DuplicateNhsNumber as exc:
            existing = exc.existing
            _form_errors_from(form, exc)
        except PossibleDuplicates as exc:
            duplicates = exc.matches
            _form_errors_from(form, exc)
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(request, "Patient registered.")
            next_url = request.POST.get("next", "")
            if next_url.startswith("/calls/"):
                return redirect(f"{next_url}?patient={patient.pk}")
            return redirect("patients:detail", patient_id=patient.pk)
    return render(
        request,
        "patients/register.html",
        {
            "form": form,
            "duplicates": duplicates,
            "existing": existing,
            "next": request.GET.get("next", request.POST.get("next", "")),
        },
    )


def _patient_or_break_glass(request: HttpRequest, patient_id: int) -> Patient | HttpResponse:
    # Who registered the record, a member of staff or a partner system, is on the page.
    patients = visible_patients(request).select_related("created_by", "created_by_partner")
    patient = patient_shown(patients=patients, patient_id=patient_id)
    if patient is not None:
        return patient
    # A role that may not break glass is not told that the patient exists.
    if not may_break_glass(request.user) or not Patient.objects.filter(pk=patient_id).exists():
        raise Http404("No such patient")
    return redirect("patients:break-glass", patient_id=patient_id)


@login_required
def patient_detail(request: HttpRequest, patient_id: int) -> HttpResponse:
    found = _patient_or_break_glass(request, patient_id)
    if isinstance(found, HttpResponse):
        return found
    patient = found
    can_write = patients_writable_by(request.user).filter(pk=patient.pk).exists()
    deaths = corrections_worded(deaths_of(patient=patient))
    return render(
        request,
        "patients/detail.html",
        {
            "patient": patient,
            "banner": patient_banner_for(patient=patient),
            "care_plan": care_plan_current(patient=patient),
            "medicines": jic_medicines_current(patient=patient)
            if request.user.is_clinician  # type: ignore[union-attr]
            else [],
            "deprivation_decile": deprivation_decile(postcode=patient.postcode),
            "related_people": patient.related_people.all(),
            "timeline": patient_timeline(patient=patient, user=request.user),
            "now": timezone.now(),
            "show_access_information": request.user.is_clinician,  # type: ignore[union-attr]
            "can_write": can_write,
            "death": next((d for d in deaths if d.status == DeathRecord.Status.RECORDED), None),
            "withdrawn_deaths": [d for d in deaths if d.status == DeathRecord.Status.WITHDRAWN],
            "can_correct_death": can_write
            and may_correct_death(request.user)
            and may_write_clinical(request.user),
            "can_edit_care_plan": can_write and request.user.is_clinician,  # type: ignore[union-attr]
            "can_edit_patient": can_write
            and (sees_all_patients(request.user) or request.user.is_clinician),  # type: ignore[union-attr]
        },
    )


@login_required
def patient_break_glass(request: HttpRequest, patient_id: int) -> HttpResponse:
    if not Patient.objects.filter(pk=patient_id).exists():
        raise Http404("No such patient")
    if patients_visible_to(request.user).filter(pk=patient_id).exists():
        return redirect("patients:detail", patient_id=patient_id)
    if not may_break_glass(request.user):
        raise PermissionDenied(
            "Only call handlers, specialist nurses, team leads and coordinators "
            "may open a record outside their care."
        )
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        break_glass_open(request, patient_id=patient_id, reason=form.cleaned_data["reason"])
        return redirect("patients:detail", patient_id=patient_id)
    return render(request, "patients/break_glass.html", {"form": form, "patient_id": patient_id})


@login_required
def patient_edit(request: HttpRequest, patient_id: int) -> HttpResponse:
    if not (
        may_write_clinical(request.user)
        and (sees_all_patients(request.user) or request.user.is_clinician)  # type: ignore[union-attr]
    ):
        raise PermissionDenied
    patient = writable_patient(request, patient_id, shows="patient", page="edit")
    initial = {
        name: getattr(patient, name) for name in PatientForm.base_fields if hasattr(patient, name)
    }
    initial["nhs_number"] = patient.nhs_number or ""
    form = PatientForm(request.POST or None, initial=initial)
    is_clinician = request.user.is_clinician  # type: ignore[union-attr]
    if not is_clinician:
        # Access information (key safe) is for clinicians' eyes only: not even a disabled field.
        del form.fields["access_information"]
    if request.method == "POST" and form.is_valid():
        data = form.patient_data()
        if not is_clinician:
            data.access_information = patient.access_information
        try:
            patient_update(patient=patient, data=data, user=request.user)
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(request, "Patient details saved.")
            return redirect("patients:detail", patient_id=patient.pk)
    return render(
        request,
        "patients/edit.html",
        {"form": form, "patient": patient, "banner": patient_banner_for(patient=patient)},
    )


@login_required
def related_person_edit(
    request: HttpRequest, patient_id: int, person_id: int | None = None
) -> HttpResponse:
    if not (
        may_write_clinical(request.user)
        and (sees_all_patients(request.user) or request.user.is_clinician)  # type: ignore[union-attr]
    ):
        raise PermissionDenied("Only call handlers, coordinators and clinicians record carers.")
    patient = writable_patient(
        request, patient_id, shows="related_person", object_id=person_id or ""
    )
    person = None
    if person_id is not None:
        person = RelatedPerson.objects.filter(patient=patient, pk=person_id).first()
        if person is None:
            raise Http404("No such person")
    initial = (
        {name: getattr(person, name) for name in RelatedPersonForm.base_fields} if person else {}
    )
    form = RelatedPersonForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            related_person_save(
                patient=patient, user=request.user, values=form.values(), person=person
            )
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("patients:detail", patient_id=patient.pk)
    return render(
        request,
        "patients/related_person.html",
        {
            "form": form,
            "patient": patient,
            "person": person,
            "banner": patient_banner_for(patient=patient),
        },
    )


def _clinical_patient(request: HttpRequest, patient_id: int, *, refused: str) -> Patient:
    """The patient for a page only clinicians who write clinical records use (the care plan, the
    just-in-case medicines): 403 with ``refused`` for anyone else (writable_patient: 403 or 404
    for a patient they may not change)."""
    if not (may_write_clinical(request.user) and request.user.is_clinician):  # type: ignore[union-attr]
        raise PermissionDenied(refused)
    return writable_patient(request, patient_id)


@login_required
def care_plan_edit(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _clinical_patient(
        request, patient_id, refused="Only clinicians can change the care plan."
    )
    current = (
        care_plan_shown(patient=patient)
        if request.method == "GET"
        else care_plan_current(patient=patient)
    )
    initial = (
        {
            name: getattr(current, name)
            for name in CarePlanForm.base_fields
            if name != "base_version"
        }
        if current
        else {}
    )
    initial["base_version"] = current.version if current else 0
    form = CarePlanForm(request.POST or None, initial=initial)
    can_record_cpr = request.user.has_perm("accounts.record_cpr_decision")
    if not can_record_cpr:
        for name in ("cpr_decision", "cpr_decision_date", "cpr_review_date", "respect_cpr"):
            form.fields[name].disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            care_plan_update(
                patient=patient,
                user=request.user,
                values=form.values(),
                base_version=form.cleaned_data["base_version"],
            )
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(request, "Care plan saved as a new version.")
            return redirect("patients:detail", patient_id=patient.pk)
    return render(
        request,
        "patients/care_plan.html",
        {
            "form": form,
            "patient": patient,
            "banner": patient_banner_for(patient=patient),
            "history": care_plan_history(patient=patient),
            "can_record_cpr": can_record_cpr,
            "cancel_url": reverse("patients:detail", args=[patient.pk]),
        },
    )


def _carer_of(patient: Patient, person_id: int) -> RelatedPerson:
    person = RelatedPerson.objects.filter(patient=patient, pk=person_id).first()
    if person is None:
        raise Http404("No such person")
    return person


@login_required
def carer_assessments(request: HttpRequest, patient_id: int, person_id: int) -> HttpResponse:
    """A carer's needs assessments, latest first, each with its answers and the priority it
    suggests for their support (docs/triage.md, "A carer's needs assessment")."""
    found = _patient_or_break_glass(request, patient_id)
    if isinstance(found, HttpResponse):
        return found
    carer = _carer_of(found, person_id)
    return render(
        request,
        "patients/carer_assessments.html",
        {
            "patient": found,
            "carer": carer,
            "banner": patient_banner_for(patient=found),
            "assessments": carer_assessments_shown(carer=carer),
            "can_assess": _may_assess(request)
            and patients_writable_by(request.user).filter(pk=found.pk).exists(),
            "outcomes": CarerOutcome.choices,
        },
    )


def _may_assess(request: HttpRequest) -> bool:
    """Clinicians who may change records: the nurses, leads and coordinators (as the care plan)."""
    return bool(may_write_clinical(request.user) and request.user.is_clinician)  # type: ignore[union-attr]


@login_required
def carer_assessment_new(request: HttpRequest, patient_id: int, person_id: int) -> HttpResponse:
    if not _may_assess(request):
        raise PermissionDenied("Only clinicians record a carer's needs assessment.")
    patient = writable_patient(request, patient_id)
    carer = _carer_of(patient, person_id)
    form = CarerAssessmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            assessment = carer_assessment_record(carer=carer, user=request.user, **form.values())
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(
                request,
                f"Assessment saved: it suggests {assessment.suggested_priority} for their support.",
            )
            return redirect("patients:carer-assessments", patient_id=patient.pk, person_id=carer.pk)
    return render(
        request,
        "patients/carer_assessment_new.html",
        {
            "form": form,
            "patient": patient,
            "carer": carer,
            "banner": patient_banner_for(patient=patient),
        },
    )


_MEDICINES_REFUSED = "Only clinicians record just-in-case medicines."


@login_required
def jic_medicines_page(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The medicines at home and their history, and the form to record one (POST-redirect-GET)."""
    patient = _clinical_patient(request, patient_id, refused=_MEDICINES_REFUSED)
    form = JustInCaseMedicineForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            jic_medicine_add(patient=patient, user=request.user, data=form.medicine_data())
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(request, "Just-in-case medicine recorded.")
            return redirect("patients:medicines", patient_id=patient.pk)
    return _medicines_page(request, patient, form=form, remove_form=MedicineRemoveForm())


@login_required
def jic_medicine_remove_page(
    request: HttpRequest, patient_id: int, medicine_id: int
) -> HttpResponse:
    """Remove one medicine with a reason (POST only); a bad reason redraws the page with it."""
    patient = _clinical_patient(request, patient_id, refused=_MEDICINES_REFUSED)
    if request.method != "POST":
        return redirect("patients:medicines", patient_id=patient.pk)
    form = MedicineRemoveForm(request.POST)
    if form.is_valid():
        try:
            jic_medicine_remove(
                patient=patient,
                user=request.user,
                medicine_id=medicine_id,
                reason=form.cleaned_data["removed_reason"],
            )
        except JustInCaseMedicine.DoesNotExist:
            raise Http404("No such medicine") from None
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(request, "Just-in-case medicine removed; it stays in the history.")
            return redirect("patients:medicines", patient_id=patient.pk)
    return _medicines_page(
        request, patient, form=JustInCaseMedicineForm(), remove_form=form, removing=medicine_id
    )


def _medicines_page(
    request: HttpRequest,
    patient: Patient,
    *,
    form: JustInCaseMedicineForm,
    remove_form: MedicineRemoveForm,
    removing: int | None = None,
) -> HttpResponse:
    medicines = jic_medicines_shown(patient=patient)
    return render(
        request,
        "patients/medicines.html",
        {
            "patient": patient,
            "banner": patient_banner_for(patient=patient),
            "current": [m for m in medicines if m.removed_at is None],
            "removed": [m for m in medicines if m.removed_at is not None],
            "form": form,
            "remove_form": remove_form,
            "removing": removing,
        },
    )
