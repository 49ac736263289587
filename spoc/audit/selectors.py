from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from spoc.audit.models import AccessLog


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
    rows = AccessLog.objects.select_related("user")
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


def access_log_csv_rows(rows: QuerySet[AccessLog]) -> Iterator[list[Any]]:
    """The export's header and rows, as plain values: spoc.core.exports.csv_response
    neutralises every cell for a spreadsheet."""
    yield ["at", "username", "action", "object_type", "object_id", "patient_id", "client_ip", "reason", "flagged"]
    for row in rows.iterator(chunk_size=2000):
        yield [
            timezone.localtime(row.at).isoformat(timespec="seconds"),
            row.username,
            row.action,
            row.object_type,
            row.object_id,
            row.patient_id,
            row.client_ip,
            row.reason,
            "yes" if row.flagged else "no",
        ]
