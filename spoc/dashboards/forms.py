"""The dashboard's filters, shared by the page, the CSV export and the API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from services.codes import Priority
from services.models import Organisation, Team
from spoc.core.forms import NhsFormMixin

# A period longer than this is refused: the summaries hold it, but no one reads a 5-year tile.
MAX_PERIOD_DAYS = 3 * 366
DEFAULT_PERIOD_DAYS = 365


class DashboardFilterForm(NhsFormMixin, forms.Form):
    """NHS.UK form controls (spoc/core/forms.py): each date input and select is labelled, in its
    form group, with its error class when it is wrong."""

    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.order_by("name"),
        required=False,
        empty_label="All organisations",
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"), required=False, empty_label="All teams"
    )
    priority = forms.ChoiceField(
        choices=[("", "All priorities"), *Priority.choices], required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = timezone.localdate()
        date_to: date = data.get("date_to") or today
        date_from: date = data.get("date_from") or date_to - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
        if date_from > date_to:
            self.add_error("date_from", "The start of the period must be on or before its end.")
        elif (date_to - date_from).days >= MAX_PERIOD_DAYS:
            self.add_error("date_from", "The period can be at most 3 years long.")
        team = data.get("team")
        organisation = data.get("organisation")
        if (
            team is not None
            and organisation is not None
            and team.service.organisation_id != organisation.pk
        ):
            self.add_error("team", "This team does not belong to the organisation chosen.")
        data["date_from"], data["date_to"] = date_from, date_to
        return data

    def scope_filters(self) -> dict[str, Any]:
        """The valid form's choices as the filters of `dashboard_scope`."""
        data = self.cleaned_data
        return {
            "date_from": data["date_from"],
            "date_to": data["date_to"],
            "priority": data.get("priority") or None,
            "organisation_id": data["organisation"].pk if data.get("organisation") else None,
            "team_id": data["team"].pk if data.get("team") else None,
        }
