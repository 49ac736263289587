from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Max, Min, QuerySet, Sum
from django.utils import timezone

from spoc.audit.models import AccessLog, AccessLogArchive
from spoc.core.pagination import rows_after


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


# The page counts the rows that match up to this many and then says "more than": a count stops
# after reading this many index entries whatever the filter, where counting every match of a
# year's log took seconds (docs/performance.md, "The biggest tables").
COUNT_CAP = 10_000
PAGE_SIZE = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"(\d{1,17})-(\d{1,19})")


@dataclass(frozen=True)
class AccessLogPage:
    """One page of the access log, newest first, and where the pages next to it start.

    ``matched`` is how many rows match the filters when that is at most ``cap``, else ``None``
    ("more than ``cap``"). ``newer`` and ``older`` are the cursors of the pages
    either side ("" when there is none): a cursor names a row by its time and id, so a page
    is an index seek from there however deep it is, and rows written meanwhile shift nothing."""

    rows: list[AccessLog]
    matched: int | None
    cap: int
    newer: str
    older: str


def access_log_cursor(row: AccessLog) -> str:
    """The row's place in the newest-first order, as the page's links carry it."""
    return f"{(row.at - _EPOCH) // timedelta(microseconds=1)}-{row.pk}"


def _cursor_parsed(cursor: str) -> tuple[datetime, int] | None:
    found = _CURSOR.fullmatch(cursor or "")
    if found is None:
        return None
    try:
        at = _EPOCH + timedelta(microseconds=int(found[1]))
    except OverflowError:
        return None
    return at, int(found[2])


def access_log_page(
    rows: QuerySet[AccessLog], *, before: str = "", after: str = "", size: int = PAGE_SIZE
) -> AccessLogPage:
    """The page of ``rows`` (any filter of `access_log_list`, ordered newest first) that comes
    just before the row of the cursor ``before`` (older rows) or just after the row of
    ``after`` (newer rows); the newest page when neither is given or the cursor is not one the
    page made. Two queries: the rows (one more than a page, to know whether there are more) and
    the count up to ``COUNT_CAP``; a cursor with nothing beyond it gives the newest page."""
    older_than, newer_than = _cursor_parsed(before), _cursor_parsed(after)
    if older_than is not None:
        at, pk = older_than
        found = list(rows_after(rows, field="at", value=at, pk=pk, descending=True)[: size + 1])
        shown, has_older, has_newer = found[:size], len(found) > size, True
    elif newer_than is not None:
        at, pk = newer_than
        newer = rows_after(rows, field="at", value=at, pk=pk, descending=False)
        found = list(newer.order_by("at", "pk")[: size + 1])
        shown, has_older, has_newer = found[:size][::-1], True, len(found) > size
    else:
        found = list(rows[: size + 1])
        shown, has_older, has_newer = found[:size], len(found) > size, False
    if not shown and (older_than or newer_than):
        # A cursor past either end (its neighbours archived, or the link edited): the newest page.
        return access_log_page(rows, size=size)
    cap = COUNT_CAP
    counted = rows.order_by().values("pk")[: cap + 1].count()
    return AccessLogPage(
        rows=shown,
        matched=counted if counted <= cap else None,
        cap=cap,
        newer=access_log_cursor(shown[0]) if has_newer and shown else "",
        older=access_log_cursor(shown[-1]) if has_older and shown else "",
    )


def access_log_archived() -> ArchivedMonths | None:
    """The months archived out of the table, if any: the access-log page says so."""
    found = AccessLogArchive.objects.aggregate(
        first=Min("month"), last=Max("month"), rows=Sum("rows")
    )
    if found["first"] is None:
        return None
    return ArchivedMonths(first=found["first"], last=found["last"], rows=found["rows"])
