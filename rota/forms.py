"""The rota's forms. Their field names are the keyword arguments of the services they feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from rota.models import ShiftRole
from rota.phones import PHONE_MESSAGE, uk_phone
from services.models import WEEKDAYS
from spoc.core.forms import THIS_YEAR_HINT, NhsDateField, NhsFormMixin

TIME_HINT = "24-hour clock, for example 08:00 or 22:00"


class PhoneField(forms.CharField):
    """A UK phone number as rota.phones reads it, cleaned to a PhoneNumber."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 30)
        kwargs.setdefault("help_text", "The number to reach them on during the shift")
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        if not text:
            return text
        try:
            return uk_phone(text)
        except ValidationError:
            raise ValidationError(PHONE_MESSAGE, code="invalid") from None


class TimeField(forms.TimeField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", TIME_HINT)
        kwargs.setdefault("input_formats", ["%H:%M", "%H.%M", "%H%M"])
        kwargs.setdefault(
            "widget", forms.TimeInput(format="%H:%M", attrs={"class": "nhsuk-input--width-5"})
        )
        kwargs["error_messages"] = {
            "invalid": "Enter a time on the 24-hour clock, like 08:00 or 22:00",
            **kwargs.get("error_messages", {}),
        }
        super().__init__(**kwargs)


class LocalDateTimeField(forms.DateTimeField):
    """A date and time typed in London time (the browser's datetime-local box)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.DateTimeInput(attrs={"type": "datetime-local"}))
        kwargs.setdefault("input_formats", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
        kwargs["error_messages"] = {
            "invalid": "Enter a date and time, like 2026-12-24 20:00",
            **kwargs.get("error_messages", {}),
        }
        super().__init__(**kwargs)

    def clean(self, value: Any) -> datetime | None:
        moment = super().clean(value)
        if moment is not None and timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment


def _people_choices(people: list[Any]) -> list[tuple[str, str]]:
    return [("", "Choose…")] + [(str(p.pk), p.display_name()) for p in people]


class _ShiftForm(NhsFormMixin, forms.Form):
    """Who works a shift, as what, on which phone; ``people`` are those who may be chosen."""

    person_id = forms.TypedChoiceField(
        label="Person", coerce=int, error_messages={"required": "Choose who works the shift"}
    )
    role = forms.ChoiceField(
        label="Role on the shift",
        choices=[("", "Choose…"), *ShiftRole.choices],
        error_messages={"required": "Choose their role on the shift"},
    )
    phone = PhoneField(error_messages={"required": "Enter the phone number to reach them on"})

    def __init__(self, *args: Any, people: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person_id"].choices = _people_choices(people)  # type: ignore[attr-defined]


class PatternForm(_ShiftForm):
    weekdays = forms.TypedMultipleChoiceField(
        label="Days",
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one day of the week"},
    )
    start_time = TimeField(
        label="Starts at", error_messages={"required": "Enter when the shift starts"}
    )
    end_time = TimeField(
        label="Ends at",
        help_text=f"{TIME_HINT}. A time at or before the start ends the next day",
        error_messages={"required": "Enter when the shift ends"},
    )
    valid_from_date = NhsDateField(label="First day", subject="first day", help_text=THIS_YEAR_HINT)
    valid_until_date = NhsDateField(
        label="Last day (optional)",
        subject="last day",
        required=False,
        help_text=f"Leave empty while the pattern runs on. {THIS_YEAR_HINT}",
    )
    runs_on_bank_holidays = forms.BooleanField(label="Also runs on bank holidays", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("valid_from_date"), data.get("valid_until_date")
        if first and last and last < first:
            self.add_error("valid_until_date", "The last day must be on or after the first day")
        return data


class ExtraShiftForm(_ShiftForm):
    starts_at = LocalDateTimeField(
        label="Starts", error_messages={"required": "Enter when the shift starts"}
    )
    ends_at = LocalDateTimeField(
        label="Ends", error_messages={"required": "Enter when the shift ends"}
    )
    reason = forms.CharField(label="Reason (optional)", required=False, max_length=200)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", "The shift must end after it starts")
        return data


class CancelShiftForm(NhsFormMixin, forms.Form):
    """Cancel an occurrence, or replace it with someone else's shift (a person chosen)."""

    person_id = forms.TypedChoiceField(
        label="Replace with (optional)",
        coerce=int,
        required=False,
        empty_value=None,
        help_text="Leave empty to cancel the shift with nobody in its place",
    )
    phone = PhoneField(
        label="Their phone (optional)",
        required=False,
        help_text="Leave empty to keep the shift's phone",
    )
    reason = forms.CharField(label="Reason (optional)", required=False, max_length=200)

    def __init__(self, *args: Any, people: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person_id"].choices = [("", "Nobody: cancel the shift")] + [  # type: ignore[attr-defined]
            (str(p.pk), p.display_name()) for p in people
        ]


class EndPatternForm(NhsFormMixin, forms.Form):
    last_date = NhsDateField(label="Last day", subject="last day", help_text=THIS_YEAR_HINT)


class RotaImportForm(NhsFormMixin, forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="One shift pattern a row, with the header row described below",
        error_messages={"required": "Choose a CSV file", "empty": "The file is empty"},
    )
