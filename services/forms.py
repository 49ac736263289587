from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from services.codes import SITE_NEEDS, CallerType, CapacityRag, Need, Priority
from services.hours import Window
from services.models import WEEKDAYS, Service, Site
from services.postcodes import InvalidPostcode, normalise_postcode
from services.services import OUT_OF_HOURS_FIELDS, SERVICE_DETAIL_FIELDS
from spoc.core.forms import NhsFormMixin

# The directory's hours and closures are meaningful for about a year either way.
SEARCH_WINDOW = timedelta(days=366)


class DirectorySearchForm(NhsFormMixin, forms.Form):
    # In the order the search page draws them (templates/services/directory_search.html), which
    # is the order of its error summary.
    need = forms.ChoiceField(choices=Need.choices)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.P3)
    postcode = forms.CharField(required=False, max_length=10, help_text="For example L9 7AL")
    site = forms.ModelChoiceField(
        queryset=Site.objects.order_by("name"),
        required=False,
        label="Hospital site",
        help_text="For a hospital specialist review",
    )
    at = forms.DateTimeField(
        required=False,
        label="Open at",
        help_text="Leave blank for now",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    age = forms.IntegerField(required=False, min_value=0, max_value=130)
    referrer_type = forms.ChoiceField(
        choices=[("", "Any"), *CallerType.choices], required=False, label="Referrer"
    )

    def clean_postcode(self) -> str:
        raw = self.cleaned_data.get("postcode", "")
        if not raw.strip():
            return ""
        try:
            return normalise_postcode(raw)
        except InvalidPostcode as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        need = data.get("need")
        if need in SITE_NEEDS and not data.get("site"):
            self.add_error("site", "Choose the hospital site the patient is in.")
        elif (
            need
            and need not in SITE_NEEDS
            and not data.get("postcode")
            and "postcode" not in self.errors
        ):
            self.add_error("postcode", "Enter the patient's postcode.")
        return data

    def clean_at(self) -> datetime | None:
        at = self.cleaned_data.get("at")
        if at is not None and abs(at - timezone.now()) > SEARCH_WINDOW:
            raise forms.ValidationError("Choose a time within a year of today.")
        return at

    def search_at(self) -> datetime:
        return self.cleaned_data.get("at") or timezone.now()


# The order the edit page draws them (templates/services/service_edit.html), which is the order
# of its error summary; "coverage" is the form's own field, saved as CoverageArea rows.
_EDIT_PAGE_ORDER = [
    *SERVICE_DETAIL_FIELDS,
    "coverage",
    "sites",
    "clock_overrides",
    "open_24_7",
    "closed_on_bank_holidays",
    *OUT_OF_HOURS_FIELDS,
]


class ServiceForm(NhsFormMixin, forms.ModelForm):
    referrer_types = forms.MultipleChoiceField(
        choices=CallerType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Accepted referrers",
        help_text="None ticked: accepts every referrer.",
    )
    coverage = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Postcode areas covered",
        help_text="Outward codes (L9) or sectors (L9 7), separated by commas or new lines.",
    )
    clock_overrides = forms.JSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text='Optional, e.g. {"P2": {"contact_within_minutes": 180}}',
    )

    field_order = _EDIT_PAGE_ORDER

    class Meta:
        model = Service
        fields = _EDIT_PAGE_ORDER
        widgets = {
            "sites": forms.CheckboxSelectMultiple,
            "assured_date": forms.DateInput(attrs={"type": "date"}),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.initial.get("clock_overrides"):
            self.initial["clock_overrides"] = None

    def clean_clock_overrides(self) -> dict[str, Any]:
        return self.cleaned_data.get("clock_overrides") or {}


class WindowForm(NhsFormMixin, forms.Form):
    # The blank choice lets an empty extra row stay unchanged (and be skipped). A closing time
    # earlier than the opening runs past midnight (said under the table, not in each row).
    weekday = forms.TypedChoiceField(
        label="Day",
        choices=[("", "Choose a day"), *WEEKDAYS],
        coerce=int,
        error_messages={"required": "Choose the day"},
    )
    opens = forms.TimeField(
        label="Opens",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={
            "required": "Enter the opening time",
            "invalid": "Enter a real time, like 08:00",
        },
    )
    closes = forms.TimeField(
        label="Closes",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={
            "required": "Enter the closing time",
            "invalid": "Enter a real time, like 20:00",
        },
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("opens") is not None and data.get("opens") == data.get("closes"):
            self.add_error(
                "closes", "Closing time must differ from opening time (tick open 24/7 for all day)."
            )
        return data

    def window(self) -> Window:
        return Window(
            weekday=self.cleaned_data["weekday"],
            opens=self.cleaned_data["opens"],
            closes=self.cleaned_data["closes"],
        )


WindowFormSet = forms.formset_factory(WindowForm, extra=2, can_delete=True, max_num=28)


class ClosureForm(NhsFormMixin, forms.Form):
    starts_at = forms.DateTimeField(
        label="Closed from", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label="Until", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    reason = forms.CharField(max_length=200)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", "The closure must end after it starts.")
        return data


class CapacityForm(NhsFormMixin, forms.Form):
    rag = forms.ChoiceField(
        choices=CapacityRag.choices,
        widget=forms.RadioSelect,
        label="Capacity now",
        error_messages={"required": "Choose the capacity now: green, amber or red"},
    )
    units = forms.IntegerField(
        required=False, min_value=0, max_value=10_000, label="Available units (beds, visits)"
    )
    note = forms.CharField(required=False, max_length=200)
