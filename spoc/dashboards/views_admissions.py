"""Recording a patient's hospital admissions (feeds the 90-day indicator). The patient page links
here; the service is ``patients.admissions.admission_record``."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from patients.admissions import admission_record
from patients.selectors import patient_shown
from referrals.access import visible_patients, writable_patient
from spoc.accounts.roles import may_write_clinical
from spoc.core.forms import NhsFormMixin


class AdmissionForm(NhsFormMixin, forms.Form):
    admitted_on = forms.DateField(
        label="Admitted on", widget=forms.DateInput(attrs={"type": "date"})
    )
    discharged_on = forms.DateField(
        label="Discharged on",
        required=False,
        help_text="Leave empty while the patient is still in hospital.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    kind = forms.ChoiceField(
        label="Type of admission",
        widget=forms.RadioSelect,
        choices=[("emergency", "Emergency"), ("elective", "Elective")],
    )


@login_required
def patient_admissions(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = patient_shown(
        patients=visible_patients(request), patient_id=patient_id, detail={"page": "admissions"}
    )
    if patient is None:
        raise Http404("No such patient, or not one you may open")
    if request.method == "POST":
        # Reading (break-glass included) shows the list; recording needs a patient in the
        # user's care and a role that writes clinical records.
        if not may_write_clinical(request.user):
            raise PermissionDenied("Your role does not record admissions.")
        patient = writable_patient(request, patient_id)
    form = AdmissionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            admission_record(
                patient=patient,
                admitted_on=data["admitted_on"],
                discharged_on=data["discharged_on"],
                emergency=data["kind"] == "emergency",
                user=request.user,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Admission recorded.")
            return redirect("dashboards:admissions", patient_id=patient.pk)
    return render(
        request,
        "dashboards/admissions.html",
        {"patient": patient, "form": form, "admissions": patient.admissions.all()},
        status=400 if form.errors else 200,
    )
