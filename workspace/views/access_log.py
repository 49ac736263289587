"""The auditor's access log page and its CSV export: the rows of `access_log_list` with the people
they name (the patient's name and NHS number come from patients, so the page lives here)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from spoc.audit.models import AccessLog
from spoc.audit.selectors import access_log_archived, access_log_list, access_log_page
from spoc.core.exports import csv_response
from spoc.core.forms import NhsFormMixin
from workspace.selectors import access_log_csv_rows, access_log_people, access_log_with_people


class AccessLogFilterForm(NhsFormMixin, forms.Form):
    username = forms.CharField(required=False, max_length=150)
    patient_id = forms.IntegerField(required=False, min_value=1, label="Patient id")
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    action = forms.ChoiceField(required=False, choices=[("", "Any"), *AccessLog.Action.choices])
    flagged_only = forms.BooleanField(required=False, label="Break-glass only")

    def clean_date_to(self) -> Any:
        return self._within_range(self.cleaned_data.get("date_to"))

    def clean_date_from(self) -> Any:
        return self._within_range(self.cleaned_data.get("date_from"))

    @staticmethod
    def _within_range(day: Any) -> Any:
        if day is not None and not (date(2000, 1, 1) <= day <= date(2100, 12, 31)):
            raise forms.ValidationError("Enter a date between 2000 and 2100.")
        return day

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date must be on or after the start date.")
        return data


@login_required
@permission_required("accounts.audit_access", raise_exception=True)
def access_log(request: HttpRequest) -> HttpResponseBase:
    form = AccessLogFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = access_log_with_people(
        access_log_list(**{k: v for k, v in filters.items() if v not in (None, "")})
    )
    if request.GET.get("format") == "csv" and form.is_valid():
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return csv_response(
            rows=access_log_csv_rows(rows, filters=sorted(k for k, v in filters.items() if v)),
            filename=f"access-log-{stamp}.csv",
        )
    page = access_log_page(
        rows, before=request.GET.get("before", ""), after=request.GET.get("after", "")
    )
    entries = [(row, access_log_people(row)) for row in page.rows]
    query = request.GET.copy()
    for cursor in ("before", "after", "page"):
        query.pop(cursor, None)
    return render(
        request,
        "audit/access_log.html",
        {
            "form": form,
            "page": page,
            "entries": entries,
            "query": query.urlencode(),
            "archived": access_log_archived(),
        },
    )
