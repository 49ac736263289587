from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Max, Min, QuerySet, Sum
from django.utils import timezone

from spoc.audit.models import AccessLog, AccessLogArchive


@dataclass(frozen=True)
class ArchivedMonths:
    """What of the access log is no longer in the table (spoc/audit/archive.py)."""

    first: date
    last: date
    rows: int


def access_log_list(
    *,
    username: str = "",
    patient_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    action: str = "",
    flagged_only: bool = False,
) -> QuerySet[AccessLog]:
    """Rows matching every given filter, newest first. Dates are local (Europe/London) and
    inclusive."""
    rows = AccessLog.objects.all()
    if username:
        rows = rows.filter(username__iexact=username)
    if patient_id is not None:
        rows = rows.filter(patient_id=patient_id)
    if date_from:
        rows = rows.filter(at__gte=_local_midnight(date_from))
    if date_to:
        rows = rows.filter(at__lt=_local_midnight(date_to + timedelta(days=1)))
    if action:
        rows = rows.filter(action=action)
    if flagged_only:
        rows = rows.filter(flagged=True)
    return rows


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def access_log_archived() -> ArchivedMonths | None:
    """The months archived out of the table, if any: the access-log page says so."""
    found = AccessLogArchive.objects.aggregate(
        first=Min("month"), last=Max("month"), rows=Sum("rows")
    )
    if found["first"] is None:
        return None
    return ArchivedMonths(first=found["first"], last=found["last"], rows=found["rows"])
