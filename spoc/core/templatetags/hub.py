"""Template filters for dates, times and numbers in the NHS.UK style: ``{% load hub %}``.

    {{ referral.accept_by|nhs_datetime }}        today 14:32 / 2 December 2026, 14:32
    {{ row.at|nhs_datetime_short }}              2 Dec 2026, 14:32 (tables)
    {{ row.at|nhs_datetime_short:"seconds" }}    2 Dec 2026, 14:32:05
    {{ patient.date_of_birth|nhs_date }}         15 March 1948
    {{ now|nhs_time }}                           14:32
    {{ total|nhs_number_format }}                3,000
    {{ referral.created_at|nhs_since:now }}      1 hour 5 minutes

The functions are in spoc.core.dates. And a form's field in its NHS.UK form group:

    {% form_field form.nhs_number %}
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

from spoc.core import dates
from spoc.core.form_renderer import form_group

register = template.Library()


@register.filter
def nhs_date(value: date | datetime | str | None) -> str:
    return dates.nhs_date(value)


@register.filter
def nhs_date_short(value: date | datetime | str | None) -> str:
    return dates.nhs_date_short(value)


@register.filter
def nhs_month(value: date | datetime | str | None) -> str:
    return dates.nhs_month(value)


@register.filter
def nhs_weekday_date(value: date | datetime | str | None) -> str:
    return dates.nhs_weekday_date(value)


@register.filter
def nhs_time(value: datetime | time | None, arg: str = "") -> str:
    return dates.nhs_time(value, seconds=arg == "seconds")


@register.filter
def nhs_datetime(value: datetime | None, arg: str = "") -> str:
    return dates.nhs_datetime(value, seconds=arg == "seconds")


@register.filter
def nhs_datetime_short(value: datetime | None, arg: str = "") -> str:
    return dates.nhs_datetime_short(value, seconds=arg == "seconds")


@register.filter
def nhs_number_format(value: int | float | Decimal | str | None) -> str:
    return dates.nhs_number_format(value)


@register.filter
def nhs_since(value: datetime | None, now: datetime) -> str:
    """How long ago ``value`` was at ``now``, as ``nhs_duration`` says it."""
    return "" if value is None else dates.nhs_duration(now - value)


@register.simple_tag
def form_field(field: BoundField, label_size: str = "") -> SafeString:
    """``{% form_field form.name %}`` (``label_size="s"``: a larger label): the field in its NHS.UK
    form group, with its label, hint and error message (spoc.core.form_renderer.form_group)."""
    return form_group(field, label_size)
