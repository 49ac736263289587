"""Recording a death from the patient page (docs/design.md §7): one form, one call to
``workspace.services.death_record``, and a message saying what it did."""

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

from calls.selectors import patient_banner_for
from patients.codes import PlaceOfDeath
from patients.models import DeathRecord, Patient, RelatedPerson
from patients.names import display_name
from referrals.access import writable_patient
from referrals.services.deaths import DeathAlreadyRecorded, death_problems, may_record_death
from spoc.accounts.roles import may_write_clinical
from spoc.core.dates import nhs_date
from spoc.core.forms import THIS_YEAR_HINT, NhsDateField, NhsFormMixin
from workspace.services import DeathRecorded, death_record

TIME = forms.TimeInput(
    attrs={
        "inputmode": "numeric",
        "autocomplete": "off",
        "spellcheck": "false",
        "class": "nhsuk-input--width-4",
    },
    format="%H:%M",
)
EXPECTED_CHOICES = [("yes", "Yes"), ("no", "No"), ("unknown", "Not known")]
# Service argument -> form field, for the service's messages.
_FIELD_OF = {"died_at": "died_date"}


class _Choices(forms.RadioSelect):
    """Radios whose field points at its first option, so the error summary's link lands on it."""

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return super().id_for_label(id_, "0" if index is None else index)


class _Boxes(forms.CheckboxSelectMultiple):
    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return super().id_for_label(id_, "0" if index is None else index)


def offered_by_default(person: RelatedPerson) -> bool:
    """Ticked when the form first shows: the main carer and the next of kin, when they consented
    to be contacted (the service refuses anyone who has not, so ticking them would only make the
    page fail)."""
    return person.consent_to_contact and (person.is_main_carer or person.is_next_of_kin)


class DeathForm(NhsFormMixin, forms.Form):
    """Parses the page; the rules (not in the future, not before birth, consent) are the
    service's (``death_problems``)."""

    use_required_attribute = False  # the page's own messages, not the browser's

    died_date = NhsDateField(
        label="Date of death", subject="date of death", help_text=THIS_YEAR_HINT
    )
    died_time = forms.TimeField(
        label="Time of death",
        widget=TIME,
        input_formats=["%H:%M", "%H.%M", "%H:%M:%S"],
        help_text="Use the 24-hour clock, for example 14:30. England's time (as on a clock here).",
        error_messages={
            "required": "Enter the time of death",
            "invalid": "Enter the time of death on the 24-hour clock, like 14:30",
        },
    )
    place = forms.ChoiceField(
        label="Place of death",
        choices=PlaceOfDeath.choices,
        widget=_Choices,
        help_text="Where the patient died. Each place has its national death location code.",
        error_messages={"required": "Select the place of death"},
    )
    last_days_place = forms.ChoiceField(
        label="Where was the patient cared for in the last days of life?",
        required=False,
        choices=[("", "Not known"), *PlaceOfDeath.choices],
        help_text="Where they were for most of their last days, which may differ from where they "
        "died. Compared with the preferred place of care.",
    )
    expected = forms.ChoiceField(
        label="Was the death expected?",
        choices=EXPECTED_CHOICES,
        widget=_Choices,
        initial="unknown",
    )
    verified_by = forms.CharField(
        label="Verified by (optional)",
        required=False,
        max_length=200,
        help_text="Name and role of who verified the death",
    )
    bereavement_for = forms.TypedMultipleChoiceField(
        label="Offer bereavement support to",
        required=False,
        coerce=int,
        widget=_Boxes,
        help_text="The main carer and next of kin who consented to be contacted are ticked. "
        "Only people who have consented can be offered support. Select all that apply.",
    )

    def __init__(self, *args: Any, people: list[RelatedPerson], **kwargs: Any) -> None:
        self.people = people
        # Only the first showing is pre-ticked: a bound form (a re-display after an error) shows
        # the user's own choice.
        kwargs.setdefault(
            "initial", {"bereavement_for": [p.pk for p in people if offered_by_default(p)]}
        )
        super().__init__(*args, **kwargs)
        field = self.fields["bereavement_for"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = [
            (person.pk, display_name(person.given_name, person.family_name)) for person in people
        ]

    def died_at(self) -> datetime | None:
        """Date and time as entered, in Europe/London (the hub's time zone); None until both
        have been read."""
        day, at = self.cleaned_data.get("died_date"), self.cleaned_data.get("died_time")
        if day is None or at is None:
            return None
        return timezone.make_aware(datetime.combine(day, at))

    def expected_value(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.cleaned_data.get("expected", ""))

    def person_rows(self) -> list[dict[str, Any]]:
        """For the checkboxes: each person's box, with who they are as its hint."""
        boxes = {str(option.data["value"]): option for option in self["bereavement_for"]}
        rows = []
        for person in self.people:
            roles = [person.get_relationship_display()]
            if person.is_main_carer:
                roles.append("main carer")
            if person.is_next_of_kin:
                roles.append("next of kin")
            rows.append(
                {
                    "box": boxes[str(person.pk)],
                    "roles": ", ".join(roles),
                    "consented": person.consent_to_contact,
                }
            )
        return rows


def death_message(patient: Patient, result: DeathRecorded) -> str:
    """What saving did, in words: the referrals closed (need and team), the bereavement referrals
    made and for whom, or that there were none."""
    parts = [f"Death recorded for {display_name(patient.given_name, patient.family_name)}."]
    if result.closed:
        closed = [
            f"{r.get_need_display().lower()} ({r.team.name if r.team else 'not yet routed to a team'})"
            for r in result.closed
        ]
        count = len(closed)
        parts.append(f"{count} open referral{'s' if count != 1 else ''} closed: {_join(closed)}.")
    else:
        parts.append("There were no open referrals to close.")
    if result.bereavement:
        people = [_person(r.for_person) for r in result.bereavement if r.for_person is not None]
        first = min(r.contact_not_before for r in result.bereavement if r.contact_not_before)
        parts.append(
            f"Bereavement support referral{'s' if len(people) != 1 else ''} made for "
            f"{_join(people)}: being routed now, with no contact before {nhs_date(first)}."
        )
    else:
        parts.append("No bereavement support referrals were made.")
    for person in result.already_supported:
        parts.append(
            f"{_person(person)} already has an open bereavement support referral, so no "
            f"second one was made."
        )
    if result.call_backs_cancelled:
        count = result.call_backs_cancelled
        parts.append(f"{count} pending call-back{'s' if count != 1 else ''} cancelled.")
    return " ".join(parts)


def _person(person: RelatedPerson) -> str:
    return f"{display_name(person.given_name, person.family_name)} ({person.get_relationship_display().lower()})"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


@login_required
def patient_death_record(request: HttpRequest, patient_id: int) -> HttpResponse:
    if not (may_record_death(request.user) and may_write_clinical(request.user)):
        raise PermissionDenied(
            "Only clinicians working a team queue and coordinators record deaths."
        )
    # A patient in the user's care: break-glass opens a record for reading only.
    patient = writable_patient(request, patient_id, shows="patient", page="death")
    if DeathRecord.objects.filter(patient=patient).exists():
        messages.info(request, "This patient's death is already recorded.")
        return redirect("patients:detail", patient_id=patient.pk)
    people = list(patient.related_people.all())
    form = DeathForm(request.POST if request.method == "POST" else None, people=people)
    if request.method == "POST" and not form.is_valid():
        # Some fields could not be read: check the rest too, so every problem shows at once.
        problems: dict[str, list[str]] = {}
        death_problems(
            problems,
            patient=patient,
            died_at=form.died_at(),
            place=form.cleaned_data.get("place"),
            last_days_place=form.cleaned_data.get("last_days_place", ""),
            expected=form.expected_value(),
            verified_by=form.cleaned_data.get("verified_by", ""),
            bereavement_for=list(form.cleaned_data.get("bereavement_for", [])),
        )
        _add_errors(form, problems, skip_broken=True)
    elif request.method == "POST":
        died_at = form.died_at()
        assert died_at is not None  # both parts were read
        try:
            result = death_record(
                patient_id=patient.pk,
                user=request.user,
                died_at=died_at,
                place=form.cleaned_data["place"],
                last_days_place=form.cleaned_data["last_days_place"],
                expected=form.expected_value(),
                verified_by=form.cleaned_data["verified_by"],
                bereavement_for=list(form.cleaned_data["bereavement_for"]),
                request=request,
            )
        except DeathAlreadyRecorded as exc:
            messages.info(request, str(exc))
            return redirect("patients:detail", patient_id=patient.pk)
        except ValidationError as exc:
            _add_errors(form, exc.message_dict)
        else:
            messages.success(request, death_message(patient, result))
            return redirect("patients:detail", patient_id=patient.pk)
    return render(
        request,
        "patients/death.html",
        {
            "form": form,
            "patient": patient,
            "banner": patient_banner_for(patient=patient),
            "has_people": bool(people),
        },
    )


def _add_errors(
    form: DeathForm, errors: dict[str, list[str]], *, skip_broken: bool = False
) -> None:
    """The service's messages at their fields. ``skip_broken``: leave out a field (or, for the
    date and time of death, the date) that already has its own error, and the service's "give
    the date and time" when the form has said which part is missing."""
    for name, messages_ in errors.items():
        target = _FIELD_OF.get(name, name)
        if skip_broken and (
            target in form.errors or (name == "died_at" and "died_time" in form.errors)
        ):
            continue
        form.add_error(target if target in form.fields else None, messages_)
