"""Recording a death from the patient page (DESIGN.md §7): one form, one call to
``referrals.services.deaths.death_record``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from patients.codes import PlaceOfDeath
from patients.models import DeathRecord, RelatedPerson
from patients.names import display_name
from referrals.selectors import patient_banner_for
from referrals.services.deaths import DeathAlreadyRecorded, death_record, may_record_death
from referrals.views.patients import writable_patient
from spoc.accounts.roles import may_write_clinical
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record
from spoc.core.forms import THIS_YEAR_HINT, NhsDateField, NhsFormMixin

TIME = forms.TimeInput(attrs={"inputmode": "numeric", "autocomplete": "off", "class": "nhsuk-input--width-4"}, format="%H:%M")
EXPECTED_CHOICES = [("yes", "Yes"), ("no", "No"), ("unknown", "Not known")]
# Service argument -> form field, for the service's messages.
_FIELD_OF = {"died_at": "died_date"}


class DeathForm(NhsFormMixin, forms.Form):
    """Parses the page; the rules (not in the future, not before birth, consent) are the
    service's."""

    died_date = NhsDateField(label="Date of death", subject="date of death", help_text=THIS_YEAR_HINT)
    died_time = forms.TimeField(label="Time of death", widget=TIME, help_text="24-hour clock, for example 14:30")
    place = forms.ChoiceField(label="Place of death", choices=PlaceOfDeath.choices, widget=forms.RadioSelect)
    expected = forms.ChoiceField(label="Was the death expected?", choices=EXPECTED_CHOICES,
                                 widget=forms.RadioSelect, initial="unknown")
    verified_by = forms.CharField(label="Verified by", required=False, max_length=200,
                                  help_text="Name and role of who verified the death")
    bereavement_for = forms.TypedMultipleChoiceField(
        label="Offer bereavement support to", required=False, coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only people who have consented to be contacted can be offered support.",
    )

    def __init__(self, *args: Any, people: list[RelatedPerson], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["bereavement_for"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = [(person.pk, _person_label(person)) for person in people]

    def died_at(self) -> datetime:
        """Date and time as entered, in Europe/London (the hub's time zone)."""
        moment = datetime.combine(self.cleaned_data["died_date"], self.cleaned_data["died_time"])
        return timezone.make_aware(moment)

    def expected_value(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.cleaned_data["expected"])


def _person_label(person: RelatedPerson) -> str:
    roles = [person.get_relationship_display()]
    if person.is_main_carer:
        roles.append("main carer")
    if person.is_next_of_kin:
        roles.append("next of kin")
    consent = "" if person.consent_to_contact else " (no consent to be contacted)"
    return f"{display_name(person.given_name, person.family_name)}: {', '.join(roles)}{consent}"


@login_required
def patient_death_record(request: HttpRequest, patient_id: int) -> HttpResponse:
    if not (may_record_death(request.user) and may_write_clinical(request.user)):
        raise PermissionDenied("Only clinicians working a team queue and coordinators record deaths.")
    # A patient in the user's care: break-glass opens a record for reading only.
    patient = writable_patient(request, patient_id)
    if DeathRecord.objects.filter(patient=patient).exists():
        messages.info(request, "This patient's death is already recorded.")
        return redirect("patients:detail", patient_id=patient.pk)
    people = list(patient.related_people.all())
    form = DeathForm(request.POST or None, people=people)
    if request.method == "GET":
        access_log_record(action=AccessLog.Action.VIEW, request=request, object_type="patient",
                          object_id=patient.pk, patient_id=patient.pk, detail={"page": "death"})
    if request.method == "POST" and form.is_valid():
        try:
            death_record(
                patient_id=patient.pk, user=request.user, died_at=form.died_at(),
                place=form.cleaned_data["place"], expected=form.expected_value(),
                verified_by=form.cleaned_data["verified_by"],
                bereavement_for=list(form.cleaned_data["bereavement_for"]),
                request=request,
            )
        except DeathAlreadyRecorded as exc:
            messages.info(request, str(exc))
            return redirect("patients:detail", patient_id=patient.pk)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                target = _FIELD_OF.get(name, name)
                form.add_error(target if target in form.fields else None, errors)
        else:
            messages.success(request, "Death recorded. Open referrals are closed; bereavement "
                                      "referrals are being routed.")
            return redirect("patients:detail", patient_id=patient.pk)
    return render(request, "patients/death.html", {
        "form": form, "patient": patient, "banner": patient_banner_for(patient=patient),
        "has_people": bool(people),
    })
