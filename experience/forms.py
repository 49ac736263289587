"""The feedback form and the bereaved relatives' survey (docs/metrics.md, "Feedback"): the
questions, worded once, here."""

from __future__ import annotations

from typing import Any

from django import forms
from rest_framework import serializers

from experience.codes import DiedWhereWanted, FamilySupport, FftAnswer
from experience.models import WHY_MAX
from spoc.core.forms import NhsFormMixin

# NHS England, Friends and Family Test guidance (2020): the question, worded exactly so.
FFT_QUESTION = "Overall, how was your experience of our service?"
FFT_WHY = "Please can you tell us why you gave your answer?"
WHY_HINT = f"Optional. Please do not include names. Up to {WHY_MAX:,} characters."


NOBODY = "Nobody: not asked, or did not agree"


def consent_field(label: str, help_text: str) -> forms.ChoiceField:
    """The question that records who agreed to a text (docs/operations.md, "Feedback texts"):
    its choices, the people with a mobile number on their record, are the view's
    (``experience.selectors.feedback_options``); nothing is chosen for the user."""
    return forms.ChoiceField(
        label=label,
        required=False,
        choices=[],
        help_text=help_text,
        widget=forms.Select(attrs={"class": "nhsuk-select"}),
        error_messages={"invalid_choice": "Choose who agreed from the list"},
    )


def consent_input(help_text: str) -> serializers.CharField:
    """The same question in the API: a choice of ``feedback_options`` by its value, empty for
    nobody."""
    return serializers.CharField(
        max_length=40, required=False, allow_blank=True, default="", help_text=help_text
    )


def _radios(label: str, choices: Any, *, required: bool = True) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=choices,
        required=required,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose one answer", "invalid_choice": "Choose one answer"},
    )


def _why(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=WHY_MAX,
        help_text=WHY_HINT,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"max_length": f"Your answer must be {WHY_MAX:,} characters or fewer"},
    )


class FftForm(NhsFormMixin, forms.Form):
    rating = _radios(FFT_QUESTION, FftAnswer.choices)
    why = _why(FFT_WHY)


class BereavedSurveyForm(NhsFormMixin, forms.Form):
    """Our own questions, after the national bereavement survey's short form (VOICES-SF): the
    care overall, the place of death, the family's support, and their own words."""

    rating = _radios(
        "Overall, how would you rate the care they received in the last months of their life?",
        FftAnswer.choices,
    )
    died_where_wanted = _radios(
        "Do you feel they died where they wanted to?", DiedWhereWanted.choices, required=False
    )
    family_support = _radios(
        "Did you and your family get the support you wanted from the people caring for them?",
        FamilySupport.choices,
        required=False,
    )
    why = _why("Is there anything else you would like to tell us about their care?")
