"""CSV exports that a spreadsheet opens as data, never as formulas.

Every CSV the hub sends goes through `csv_response`, which passes every cell through `csv_cell`:
a user, team or service name such as ``=HYPERLINK("http://x","y")`` must not become a live
formula in the manager's or auditor's spreadsheet (OWASP "CSV Injection",
https://owasp.org/www-community/attacks/CSV_Injection).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse

# OWASP CSV Injection: the characters with which Excel, LibreOffice and Google Sheets start a
# formula (or, tab and carriage return, hide one after leading whitespace).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """The value as a spreadsheet must read it: None is empty; a real number (int, float,
    Decimal, so -3 too) stays a number; any other value is text, and text starting with a
    formula character is prefixed with ``'`` so the spreadsheet shows it as text. "-inf" is
    text too: a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if (
        isinstance(value, int)
        or (isinstance(value, float) and math.isfinite(value))
        or (isinstance(value, Decimal) and value.is_finite())
    ):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _Echo:
    """A file-like object for csv.writer that hands each written line back (for streaming)."""

    def write(self, value: str) -> str:
        return value


def csv_response(*, rows: Iterable[Sequence[Any]], filename: str) -> StreamingHttpResponse:
    """A streamed CSV download of `rows` (the header row first), every cell neutralised with
    `csv_cell` and quoted: a ``;`` inside a name cannot start a new cell where a spreadsheet's
    list separator is ``;``. `rows` may be a generator, so a long export is never held in
    memory."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    response = StreamingHttpResponse(
        (writer.writerow([csv_cell(value) for value in row]) for row in rows),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
