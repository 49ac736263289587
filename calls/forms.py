from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.urls import reverse_lazy
from phonenumber_field.formfields import PhoneNumberField

from calls.models import CallBack, CallBackAttempt, CallFollowUp
from calls.triage import OWN_DEFAULT_NEEDS
from patients.codes import IPOS_SCORES, IposItem, PatientLocation, PhaseOfIllness
from patients.forms import PHONE_ERROR, blank
from patients.models import RelatedPerson
from patients.names import display_name
from referrals.codes import CallReason, CarerCoping, Disposition, RedFlag
from services.codes import PERSON_NEEDS, CallerType, Need, Priority
from services.models import Site
from spoc.core.forms import NhsFormMixin, nhs_field_classes

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def ipos_field_name(item: str) -> str:
    return f"ipos_{item.lower()}"


def need_note_field_name(need: str) -> str:
    return f"note_{need.lower()}"


def need_priority_field_name(need: str) -> str:
    return f"priority_{need.lower()}"


def need_override_field_name(need: str) -> str:
    """The same name as call_submit's error key for this need's reason."""
    return f"override_reason_{need.lower()}"


def need_for_field_name(need: str) -> str:
    """Who the need is for; the same name as call_submit's error key."""
    return f"for_person_{need.lower()}"


def need_consent_field_name(need: str) -> str:
    """Their consent to be contacted; the same name as call_submit's error key."""
    return f"for_person_consent_{need.lower()}"


def person_choice_label(person: RelatedPerson) -> str:
    """``O'BRIEN, Siân (Son or daughter, main carer)``: who, and how they are related."""
    roles = [str(person.get_relationship_display())]
    if person.is_main_carer:
        roles.append("main carer")
    if person.is_next_of_kin:
        roles.append("next of kin")
    return f"{display_name(person.given_name, person.family_name)} ({', '.join(roles)})"


class NeedCheckboxes(forms.CheckboxSelectMultiple):
    """Each need's box controls the call screen's conditional reveal of its note, priority and
    reason (NHS.UK checkboxes: ``aria-controls`` names the block; nhsuk-frontend's script shows it
    while the box is ticked, and sets ``aria-expanded``)."""

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        if option["attrs"].get("id"):
            option["attrs"]["aria-controls"] = f"conditional-{option['attrs']['id']}"
        return option


# The red flags' "None of these": asked, and none is present (docs/triage.md, "Not asked is not
# absent"). Nothing ticked: not asked.
NO_RED_FLAGS = "NONE"


class RedFlagCheckboxes(forms.CheckboxSelectMultiple):
    """NHS.UK checkboxes with an exclusive "None of these" (nhsuk-frontend's checkboxes script
    unticks the flags when it is ticked, and it when a flag is)."""

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        if option["value"] == NO_RED_FLAGS:
            option["attrs"]["data-behaviour"] = "exclusive"
        return option


class RedFlagsField(forms.MultipleChoiceField):
    """The red flags, tri-state: ``None`` when none is ticked (not asked), ``()`` for "None of
    these" (asked, none present), else the flags present, as the triage rules take them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            label="Red flags",
            required=False,
            choices=[*RedFlag.choices, (NO_RED_FLAGS, "None of these (asked, none present)")],
            widget=RedFlagCheckboxes,
            **kwargs,
        )

    def clean(self, value: Any) -> tuple[str, ...] | None:  # type: ignore[override]
        codes = super().clean(value)
        if not codes:
            return None
        if NO_RED_FLAGS in codes:
            if len(codes) > 1:
                raise forms.ValidationError(
                    "Untick “None of these” or the red flags you ticked: not both."
                )
            return ()
        return tuple(codes)


class CallForm(NhsFormMixin, forms.Form):
    """Parses the call screen; the rules (triage, overrides, needs) live in call_submit."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    received_at = forms.DateTimeField(widget=forms.HiddenInput)
    patient = forms.IntegerField(widget=forms.HiddenInput, required=False)
    # The phone call the screen was opened for from a screen pop (docs/telephony.md).
    telephony_call = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    # Calling back from the call-backs list: an outbound call that makes the call-back.
    call_back = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    caller_type = forms.ChoiceField(
        label="Who is calling", choices=blank(CallerType.choices, "Choose")
    )
    caller_name = forms.CharField(label="Caller's name", required=False, max_length=200)
    caller_phone = PhoneNumberField(
        label="Caller's phone", required=False, region="GB", error_messages=PHONE_ERROR
    )
    caller_relationship = forms.CharField(
        label="Relationship to the patient", required=False, max_length=100
    )
    caller_organisation = forms.CharField(
        label="Caller's organisation", required=False, max_length=200
    )
    reason = forms.ChoiceField(
        label="Reason for the call", choices=blank(CallReason.choices, "Choose")
    )
    notes = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )
    phase = forms.ChoiceField(
        label="Phase of illness",
        required=False,
        choices=blank(PhaseOfIllness.choices, "Not assessed"),
    )
    red_flags = RedFlagsField()
    carer_coping = forms.ChoiceField(
        label="Carer coping", required=False, choices=blank(CarerCoping.choices, "Not asked")
    )
    patient_location = forms.ChoiceField(
        label="Where the patient is now",
        required=False,
        choices=blank(PatientLocation.choices, "Not asked"),
    )
    patient_site = forms.ModelChoiceField(
        label="Hospital site", required=False, queryset=Site.objects.order_by("name")
    )
    chosen_priority = forms.ChoiceField(
        label="Priority",
        choices=blank(Priority.choices, "Use the suggestion"),
        required=False,
        help_text="For the clinical needs. Each need can have its own, under Needs.",
    )
    override_reason = forms.CharField(
        label="Reason for choosing another priority",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    needs = forms.MultipleChoiceField(
        label="Needs", required=False, choices=Need.choices, widget=NeedCheckboxes
    )
    disposition = forms.ChoiceField(
        label="Outcome of the call", choices=blank(Disposition.choices, "Choose")
    )
    callback_due_at = forms.DateTimeField(label="Call back at", required=False, widget=DATETIME)
    callback_note = forms.CharField(label="Call-back note", required=False, max_length=500)

    def __init__(self, *args: Any, clinician: bool = True, **kwargs: Any) -> None:
        """``clinician``: False leaves out the Phase of Illness, a clinician's rating
        (docs/triage.md, "Phase of Illness is a clinician's rating")."""
        super().__init__(*args, **kwargs)
        if not clinician:
            del self.fields["phase"]

    def offer_people(self, people: Iterable[RelatedPerson]) -> None:
        """Offer the patient's carers and relatives for the needs that may be for one of them."""
        choices = [("", "The patient"), *((p.pk, person_choice_label(p)) for p in people)]
        for need in PERSON_NEEDS:
            widget = self.fields[need_for_field_name(need)].widget
            assert isinstance(widget, forms.Select)
            widget.choices = choices

    def need_for_fields(self, need: str) -> tuple[Any, Any] | None:
        """(who it is for, their consent) for a need that may be for a related person."""
        if need not in PERSON_NEEDS:
            return None
        return self[need_for_field_name(need)], self[need_consent_field_name(need)]

    def ipos_scores(self) -> dict[str, int]:
        data = getattr(self, "cleaned_data", {})
        return {
            item.value: score
            for item in IposItem
            if (score := data.get(ipos_field_name(item.value))) is not None
        }

    def ipos_fields(self) -> list[Any]:
        return [self[ipos_field_name(item.value)] for item in IposItem]

    def need_rows(self) -> list[tuple[Any, Any]]:
        """(checkbox, note field) for each need, in the code list's order."""
        boxes = list(self["needs"])
        return [
            (box, self[need_note_field_name(need.value)])
            for box, need in zip(boxes, Need, strict=True)
        ]

    def need_choices(self) -> list[tuple[str, Any, Any, Any, Any]]:
        """(need code, checkbox, note, priority select, override reason) for each need."""
        return [
            (
                need.value,
                box,
                note,
                self[need_priority_field_name(need.value)],
                self[need_override_field_name(need.value)],
            )
            for need, (box, note) in zip(Need, self.need_rows(), strict=True)
        ]


def _call_form_fields() -> None:
    """Adds to CallForm's fields those the code lists make (an IPOS item's score; each need's
    note, priority, reason for another priority and, for a need that may be for a carer or
    relative, whom it is for and their consent), in the order the call screen draws them, so
    the error summary lists problems in page order. Made once, when the module is loaded: each
    form copies them, as it does its declared fields, instead of building 78 fields a request."""
    fields = CallForm.base_fields
    for item in IposItem:
        fields[ipos_field_name(item.value)] = forms.TypedChoiceField(
            label=item.label,
            required=False,
            coerce=int,
            empty_value=None,
            choices=[("", "Not asked"), *IPOS_SCORES],
            widget=forms.Select(attrs={"class": "nhsuk-select hub-triage"}),
        )
    for need in Need:
        fields[need_note_field_name(need.value)] = forms.CharField(
            label=f"Note for {need.label.lower()}",
            required=False,
            max_length=2000,
            widget=forms.Textarea(attrs={"rows": 1, "class": "nhsuk-textarea"}),
        )
    for need in Need:
        follows = "As suggested" if need.value in OWN_DEFAULT_NEEDS else "The call's priority"
        fields[need_priority_field_name(need.value)] = forms.ChoiceField(
            label=f"Priority for {need.label.lower()}",
            required=False,
            choices=blank(Priority.choices, follows),
            widget=forms.Select(
                attrs={
                    "class": "nhsuk-select nhsuk-select--small",
                    "aria-describedby": f"need-suggested-{need.value.lower()}",
                }
            ),
        )
        fields[need_override_field_name(need.value)] = forms.CharField(
            label=f"Reason for another priority for {need.label.lower()}",
            required=False,
            max_length=1000,
            widget=forms.TextInput(attrs={"class": "nhsuk-input"}),
        )
    for need in Need:
        if need.value not in PERSON_NEEDS:
            continue
        fields[need_for_field_name(need.value)] = forms.IntegerField(
            label=f"Who is {need.label.lower()} for",
            required=False,
            min_value=1,
            # Carer support's suggestion follows the chosen carer's assessment: redrawn on
            # a change, as for a triage answer (docs/triage.md).
            widget=forms.Select(
                attrs={
                    "class": "nhsuk-select",
                    "hx-post": reverse_lazy("calls:suggestion"),
                    "hx-trigger": "change",
                    "hx-include": "#call-form",
                    "hx-target": "#suggestion",
                    "hx-swap": "outerHTML",
                },
                choices=[("", "The patient")],
            ),
            help_text="The patient, or one of the carers and relatives on their record.",
        )
        fields[need_consent_field_name(need.value)] = forms.BooleanField(
            label="They agree to be contacted about it",
            required=False,
            help_text="Ask them on this call. Not needed when it is for the patient.",
        )
    for name in ("phase", "red_flags", "carer_coping", "reason", "patient_location"):
        # After the design system's class, as a form made with it draws them.
        nhs_field_classes(fields[name], in_error=False)
        fields[name].widget.attrs["class"] = (
            fields[name].widget.attrs.get("class", "") + " hub-triage"
        ).strip()
    order = [
        "caller_type",
        "caller_name",
        "caller_phone",
        "caller_relationship",
        "caller_organisation",
        "reason",
        "notes",
        "phase",
        "carer_coping",
        "patient_location",
        "patient_site",
        "red_flags",
        *(ipos_field_name(item.value) for item in IposItem),
        "needs",
        *(
            name
            for need in Need
            for name in (
                need_note_field_name(need.value),
                need_priority_field_name(need.value),
                need_override_field_name(need.value),
                need_for_field_name(need.value),
                need_consent_field_name(need.value),
            )
        ),
        "chosen_priority",
        "override_reason",
        "disposition",
        "callback_due_at",
        "callback_note",
    ]
    ordered = {name: fields.pop(name) for name in order if name in fields}
    CallForm.base_fields = {**ordered, **fields}


_call_form_fields()


class TriageForm(forms.Form):
    """Just the triage answers, for the live suggestion (no validation of the rest of the call)."""

    phase = CallForm.base_fields["phase"]
    red_flags = CallForm.base_fields["red_flags"]
    carer_coping = CallForm.base_fields["carer_coping"]
    reason = forms.ChoiceField(required=False, choices=blank(CallReason.choices))
    patient_location = CallForm.base_fields["patient_location"]

    def __init__(self, *args: Any, clinician: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not clinician:
            del self.fields["phase"]
        for item in IposItem:
            self.fields[ipos_field_name(item.value)] = forms.TypedChoiceField(
                required=False, coerce=int, empty_value=None, choices=[("", ""), *IPOS_SCORES]
            )


class SeniorReviewForm(NhsFormMixin, forms.Form):
    comment = forms.CharField(
        label="Review comment",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write a review comment before saving."},
    )


class CallBackAttemptForm(NhsFormMixin, forms.Form):
    """A try at a call-back that did not reach the person (docs/telephony.md, "Calling back")."""

    outcome = forms.ChoiceField(
        label="What happened",
        choices=blank(CallBackAttempt.Outcome.choices, "Choose"),
        error_messages={
            "required": "Select what happened when you called.",
            "invalid_choice": "Select what happened from the list.",
        },
    )
    note = forms.CharField(label="Note", required=False, max_length=500)


class CallBackDoneForm(NhsFormMixin, forms.Form):
    """What happened, to mark a call-back done (docs/telephony.md, "Calling back")."""

    outcome = forms.ChoiceField(
        label="Outcome",
        choices=blank(CallBack.Outcome.choices, "Choose"),
        error_messages={
            "required": "Select the call-back's outcome.",
            "invalid_choice": "Select the call-back's outcome from the list.",
        },
    )


class CallFollowUpForm(NhsFormMixin, forms.Form):
    """What happened after a 999 advice or a warm transfer (docs/patients-and-calls.md,
    "Follow-ups")."""

    outcome = forms.ChoiceField(
        label="What happened",
        choices=blank(CallFollowUp.Outcome.choices, "Choose"),
        error_messages={
            "required": "Select what happened after the call.",
            "invalid_choice": "Select what happened from the list.",
        },
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Who you spoke to and what they said.",
    )
