"""Dates, times and numbers as people read them, in the NHS.UK content style.

"2 December 2026", "2 Dec 2026" in tables, 24-hour "14:32", "today 14:32" and "yesterday 09:10"
for recent moments. Aware datetimes are shown in the hub's time zone (Europe/London), so a time
is the one on the wall clock whichever side of a clock change it falls. Every function returns
"" for None, so a template can chain ``|default:"Not set"``. Plain functions: the template
filters in spoc.core.templatetags.hub and Python code that writes messages both call these.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils import timezone

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Moment = date | datetime | str | None
# No value: None, or the "" a template gives for a missing one. A date, time or datetime is never false.
Blank = Literal[""] | None


def _local(value: datetime) -> datetime:
    # The hub's zone (settings.TIME_ZONE): no other is ever activated, and this is the one
    # Django keeps ready (a table formats hundreds of moments; the active zone is a slower read).
    return (
        value.astimezone(timezone.get_default_timezone())
        if value.utcoffset() is not None
        else value
    )


def _clock(moment: datetime | time, seconds: bool) -> str:
    """``14:32`` or ``14:32:05``: strftime's ``%H:%M(:%S)``, a quarter of its cost (a table draws
    hundreds)."""
    clock = f"{moment.hour:02d}:{moment.minute:02d}"
    return f"{clock}:{moment.second:02d}" if seconds else clock


def _day(value: date | datetime | str) -> date:
    if isinstance(value, str):  # an ISO date, as the dashboard figures carry them
        return date.fromisoformat(value)
    return _local(value).date() if isinstance(value, datetime) else value


def nhs_date(value: Moment) -> str:
    """``2 December 2026``."""
    if value is None or value == "":
        return ""
    day = _day(value)
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def nhs_month(value: Moment) -> str:
    """``December 2026``: a whole month, as the archived months of the access log."""
    if value is None or value == "":
        return ""
    day = _day(value)
    return f"{MONTHS[day.month - 1]} {day.year}"


def nhs_date_short(value: Moment) -> str:
    """``2 Dec 2026``, for tables. September is "Sep" (the design system's short months)."""
    if value is None or value == "":
        return ""
    day = _day(value)
    return f"{day.day} {MONTHS[day.month - 1][:3]} {day.year}"


def nhs_date_banner(value: Moment) -> str:
    """``02-Dec-2026``: the date of birth in a patient banner outside the hub's pages (the GP
    letters), the NHS common user interface's dd-Mmm-yyyy. Its own month names, never the
    locale's (``%b``)."""
    if value is None or value == "":
        return ""
    day = _day(value)
    return f"{day.day:02d}-{MONTHS[day.month - 1][:3]}-{day.year}"


def nhs_weekday_date(value: Moment) -> str:
    """``Wednesday 2 December 2026``."""
    if value is None or value == "":
        return ""
    return f"{DAYS[_day(value).weekday()]} {nhs_date(value)}"


def nhs_time(value: datetime | time | Blank, *, seconds: bool = False) -> str:
    """``14:32`` (24-hour; ``14:32:05`` with seconds)."""
    if not value:
        return ""
    moment = _local(value) if isinstance(value, datetime) else value
    return _clock(moment, seconds)


def _relative_day(day: date, today: date | None) -> str | None:
    today = today or timezone.localdate()
    if day == today:
        return "today"
    if day == today - timedelta(days=1):
        return "yesterday"
    if day == today + timedelta(days=1):
        return "tomorrow"
    return None


def nhs_datetime(
    value: datetime | Blank, *, today: date | None = None, seconds: bool = False
) -> str:
    """``2 December 2026, 14:32``; ``today 14:32``, ``yesterday 09:10`` or ``tomorrow 08:00``
    when the London date is that near ``today`` (the London date now unless given)."""
    if not value:
        return ""
    # Converted to London time once: a table of deadlines formats hundreds of them.
    local = _local(value)
    when = _clock(local, seconds)
    relative = _relative_day(local.date(), today)
    return f"{relative} {when}" if relative else f"{nhs_date(local.date())}, {when}"


def nhs_datetime_short(
    value: datetime | Blank, *, today: date | None = None, seconds: bool = False
) -> str:
    """``2 Dec 2026, 14:32`` for tables, with today, yesterday and tomorrow as in nhs_datetime."""
    if not value:
        return ""
    local = _local(value)
    when = _clock(local, seconds)
    relative = _relative_day(local.date(), today)
    return f"{relative} {when}" if relative else f"{nhs_date_short(local.date())}, {when}"


def nhs_duration(value: timedelta) -> str:
    """``25 minutes``, ``1 minute``, ``2 hours 5 minutes``, ``3 days 4 hours``: whole minutes,
    rounded down, at most two units; ``0 minutes`` for less than a minute or a negative span."""
    total = max(int(value.total_seconds() // 60), 0)
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    units = [(days, "day"), (hours, "hour"), (mins, "minute")]
    parts = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in units if n]
    return " ".join(parts[:2]) or "0 minutes"


def nhs_number_format(value: int | float | Decimal | str | None) -> str:
    """A number with thousands separators: ``3,000``, ``12,345.5``; ``""`` for None. Django's
    ``intcomma`` without localisation, so the digits are those of ``str(value)`` (decimals are
    not rounded) and text that is not a number (``<5``, ``12%``) is returned as it is."""
    if value is None or value == "" or isinstance(value, bool):
        return "" if value is None or value == "" else str(value)
    return str(intcomma(value, use_l10n=False))
