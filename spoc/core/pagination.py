"""Paging of long lists by cursor: the API's (docs/patients-and-calls.md, "The API"), FHIR
searches' and the access log's.

A list that grows while a client reads it (referrals arrive all day) is paged by a cursor on a
stable order, newest first, not by page number: a page number shifts by every referral that
arrives between two requests, so a client paging through would see some twice and miss others,
and numbering pages means counting every row the user may see, which at millions of referrals
costs more than the page itself. A cursor names the last row read, so the next page is an index
seek from there however deep it is, and nothing is counted.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

INVALID_CURSOR = "This cursor is not one the list gave: start again from the first page."

Row = TypeVar("Row", bound=Model)


def rows_after(
    rows: QuerySet[Row], *, field: str, value: Any, pk: int, descending: bool
) -> QuerySet[Row]:
    """The rows that come after the row (``value``, ``pk``) in the order by (``field``, id),
    descending or not: the one condition FHIR searches and the access log page by. The bound on
    ``field`` alone is implied by the rest, but said alone it is what an index on the field (alone
    or after a filter's column) is scanned from."""
    beyond = "lt" if descending else "gt"
    return rows.filter(
        Q(**{f"{field}__{beyond}": value}) | Q(**{field: value, f"pk__{beyond}": pk}),
        **{f"{field}__{beyond}e": value},
    )


class NewestFirstCursorPagination(CursorPagination):
    """DRF's cursor pagination on ``(-created_at, -id)``: the cursor carries the last
    ``created_at`` read (rows created in the same instant are told apart by an offset within it,
    which DRF caps at 1,000). A cursor that was not made here is a 404 ``not_found``, never a
    500: its position must be an ISO 8601 moment with an offset."""

    ordering = ("-created_at", "-id")
    invalid_cursor_message = INVALID_CURSOR

    def decode_cursor(self, request: Request) -> Cursor | None:
        cursor: Cursor | None = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                moment = parse_datetime(str(cursor.position))
            except ValueError:
                moment = None
            if moment is None or moment.tzinfo is None:
                raise NotFound(self.invalid_cursor_message)
        return cursor
