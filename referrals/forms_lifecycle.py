"""Forms for the actions on the referral page and the queue filters.

Each action form's cleaned data are exactly the keyword arguments of its service function
(`service_kwargs`), and its field names are the service's, so a ValidationError raised by the
service lands on the right field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone

from experience.forms import NOBODY, consent_field
from patients.codes import AKPS_SCORES, IPOS_SCORES, IposItem, PhaseOfIllness
from referrals.codes import DeclineReason, InterventionType, ReferralOutcome
from referrals.selectors.queue import FLAGS, QUEUE_STATUSES
from services.codes import Need, Priority
from spoc.core.forms import NhsFormMixin

REASON_MAX = 500
NOTES_MAX = 2000
DATETIME_WIDGET = forms.DateTimeInput(
    attrs={"type": "datetime-local", "class": "nhsuk-input nhsuk-input--width-20"},
    format="%Y-%m-%dT%H:%M",
)


def _this_minute() -> datetime:
    return timezone.localtime().replace(second=0, microsecond=0)


def _reason(
    label: str, *, required: bool = True, help_text: str = "", missing: str = ""
) -> forms.CharField:
    """A reason typed in a box; ``missing``: what the error summary says when it is left empty."""
    return forms.CharField(
        label=label,
        max_length=REASON_MAX,
        required=required,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 2, "class": "nhsuk-textarea"}),
        error_messages={"required": missing} if missing else None,
    )


def _choices(
    label: str, choices: Any, *, required: bool = True, missing: str = ""
) -> forms.ChoiceField:
    """A choice that starts empty ("Choose…"): nothing is chosen for the user."""
    return forms.ChoiceField(
        label=label,
        required=required,
        choices=[("", "Choose…"), *choices],
        widget=forms.Select(attrs={"class": "nhsuk-select"}),
        error_messages={"required": missing} if missing else None,
    )


class ActionForm(NhsFormMixin, forms.Form):
    """Base of the action forms. ``options``: the choices of the one field that depends on the
    referral (team members, teams), given by the view from a selector, after ``options_empty``.
    Nothing is chosen for the user: every choice starts empty, and the server validates
    (NhsFormMixin: no browser pop-up, the page's error summary says what is wrong)."""

    options_field = ""
    options_empty = "Choose…"

    def __init__(
        self, *args: Any, options: list[tuple[Any, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.options_field:
            field = self.fields[self.options_field]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [("", self.options_empty), *(options or [])]

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class EmptyForm(ActionForm):
    pass


class ContactForm(ActionForm):
    at = forms.DateTimeField(
        label="When was the first contact?",
        required=False,
        widget=DATETIME_WIDGET,
        help_text="Leave empty for now.",
        error_messages={"invalid": "Enter a real date and time"},
    )


class CompleteForm(ActionForm):
    options_field = "feedback_to"
    options_empty = NOBODY
    outcome = _choices(
        "Outcome", ReferralOutcome.choices, missing="Choose the outcome of the referral"
    )
    # docs/operations.md, "Feedback texts": a text only with consent, to the number on record.
    feedback_to = consent_field(
        "Who agreed to a text asking for their feedback?",
        "Ask first. Only people with a mobile number on their record are listed. "
        "After a death, a person around the patient may agree to a survey a few months later.",
    )


class ReassignForm(ActionForm):
    options_field = "to_user_id"
    options_empty = "Choose a team member"
    to_user_id = forms.TypedChoiceField(
        label="Give it to",
        coerce=int,
        choices=[],
        widget=forms.Select(attrs={"class": "nhsuk-select"}),
        error_messages={
            "required": "Choose who to give the referral to",
            "invalid_choice": "Choose a member of the team from the list",
        },
    )


class CancelForm(ActionForm):
    reason = _reason("Why cancel it?", missing="Say why the referral is cancelled")


class ReopenForm(ActionForm):
    note = _reason("Why reopen it?", missing="Say why the referral is reopened")


class EnterInErrorForm(ActionForm):
    reason = _reason(
        "What was wrong?",
        help_text="For example: the wrong patient, or entered twice.",
        missing="Say what was wrong with the referral",
    )


class InterventionForm(ActionForm):
    kind = _choices("What was done", InterventionType.choices, missing="Choose what was done")
    at = forms.DateTimeField(
        label="When",
        widget=DATETIME_WIDGET,
        initial=_this_minute,
        error_messages={
            "required": "Enter when it was done",
            "invalid": "Enter a real date and time",
        },
    )
    notes = forms.CharField(
        label="Notes",
        max_length=NOTES_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "nhsuk-textarea"}),
    )
    admission_avoided = forms.BooleanField(
        label="A hospital admission was avoided",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "nhsuk-checkboxes__input"}),
    )
    bed_days_saved = forms.IntegerField(
        label="Bed days saved (estimate, 1 to 365)",
        required=False,
        min_value=1,
        max_value=365,
        widget=forms.NumberInput(attrs={"class": "nhsuk-input nhsuk-input--width-4"}),
    )
    primary_care_contact_avoided = forms.BooleanField(
        label="A contact with the GP or other primary care was avoided",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "nhsuk-checkboxes__input"}),
    )


class AssessmentForm(ActionForm):
    phase = _choices("Phase of illness", PhaseOfIllness.choices, required=False)
    akps = forms.TypedChoiceField(
        label="AKPS",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Not assessed"), *AKPS_SCORES],
        widget=forms.Select(attrs={"class": "nhsuk-select"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for item in IposItem:
            self.fields[f"ipos_{item.value}"] = forms.TypedChoiceField(
                label=f"IPOS: {item.label}",
                required=False,
                coerce=int,
                empty_value=None,
                choices=[("", "Not scored"), *IPOS_SCORES],
                widget=forms.Select(attrs={"class": "nhsuk-select"}),
            )

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "phase": data.get("phase") or "",
            "akps": data.get("akps"),
            "ipos": {
                item.value: data.get(f"ipos_{item.value}")
                for item in IposItem
                if data.get(f"ipos_{item.value}") is not None
            },
        }


class DeclineForm(ActionForm):
    reason = _choices(
        "Why can the team not take it?",
        DeclineReason.choices,
        missing="Choose why the team cannot take the referral",
    )
    note = _reason("Note", required=False)


class RerouteForm(ActionForm):
    options_field = "team_id"
    options_empty = "Choose a team"
    team_id = forms.TypedChoiceField(
        label="Send it to",
        coerce=int,
        required=False,
        empty_value=None,
        choices=[],
        help_text="Leave empty to route it again automatically.",
        widget=forms.Select(attrs={"class": "nhsuk-select"}),
        error_messages={"invalid_choice": "Choose an active team from the list"},
    )
    reason = _reason("Why route it again?", missing="Say why the referral is routed again")

    def __init__(self, *args: Any, team_required: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if team_required:
            # Routing by hand is the only way on (team_must_be_chosen): a team must be chosen.
            field = self.fields["team_id"]
            field.required = True
            field.help_text = ""
            field.error_messages["required"] = "Choose the team to route the referral to"


class HoldForm(ActionForm):
    reason = _reason(
        "Why put it on hold?",
        help_text="For example: the patient is in hospital.",
        missing="Say why the referral is put on hold",
    )


class ResumeForm(ActionForm):
    note = _reason("Note", required=False)


class ReprioritiseForm(ActionForm):
    priority = _choices("New priority", Priority.choices, missing="Choose the new priority")
    reason = _reason("Why change the priority?", missing="Say why the priority changes")


class QueueFilterForm(NhsFormMixin, forms.Form):
    """The queue's filters (GET parameters, kept by the poll). Unknown values are ignored."""

    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any"), *[(s.value, s.label) for s in QUEUE_STATUSES]],
        widget=forms.Select(attrs={"class": "nhsuk-select"}),
    )
    priority = forms.ChoiceField(
        label="Priority",
        required=False,
        choices=[("", "Any"), *Priority.choices],
        widget=forms.Select(attrs={"class": "nhsuk-select"}),
    )
    need = forms.ChoiceField(
        label="Need",
        required=False,
        choices=[("", "Any"), *Need.choices],
        widget=forms.Select(attrs={"class": "nhsuk-select"}),
    )
    flag = forms.ChoiceField(
        label="Clocks",
        required=False,
        choices=[("", "Any"), *FLAGS.items()],
        widget=forms.Select(attrs={"class": "nhsuk-select"}),
    )

    def filters(self) -> dict[str, str]:
        self.is_valid()  # fills cleaned_data with the valid fields only
        return {
            name: self.cleaned_data.get(name, "") for name in ("status", "priority", "need", "flag")
        }
