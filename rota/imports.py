"""Importing a team's shift patterns from a CSV file (docs/operations.md "The duty rota"): every
row is checked first and the errors of every row are reported; nothing is saved unless every row
is right.

The header row names the columns, in any order (case and spaces around names ignored):

``person``         the hub user: username or email address, of a role that works shifts
``role``           the role on the shift: Specialist nurse, Coordinator, Doctor, Team lead,
                   Call handler
``phone``          the UK number to reach them on, like 07700 900123
``days``           ``Mon-Fri``, ``Sat Sun``, ``Mon, Wed, Fri``, ``Every day``
``start``, ``end`` 24-hour times (``22:00``, ``08:00``: an end at or before the start ends the next day)
``from``           the first day, ``2026-12-01`` or ``01/12/2026``
``until``          the last day (optional)
``bank holidays``  ``yes`` (also runs on bank holidays, the default) or ``no`` (optional)
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.core.exceptions import ValidationError

from rota.models import ShiftRole
from rota.phones import PHONE_MESSAGE, uk_phone
from rota.selectors import shift_workers

REQUIRED_COLUMNS = ("person", "role", "phone", "days", "start", "end", "from")
OPTIONAL_COLUMNS = ("until", "bank holidays")
MAX_ROWS = 500
MAX_BYTES = 512 * 1024
_DAY_NAMES = {
    name: index
    for index, names in enumerate(
        (
            ("mon", "monday"),
            ("tue", "tues", "tuesday"),
            ("wed", "wednesday"),
            ("thu", "thur", "thurs", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        )
    )
    for name in names
}
_ROLES = {label.lower(): value for value, label in ShiftRole.choices} | {
    value.lower(): value for value in ShiftRole.values
}


@dataclass
class RowProblem:
    row: int  # the line of the file, the header being line 1
    column: str
    message: str


@dataclass
class ImportReport:
    problems: list[RowProblem] = field(default_factory=list)
    # (line of the file, shift_pattern_create's arguments)
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


class RotaImportInvalid(Exception):
    """The file, or some of its rows, cannot be imported; ``problems`` says where and why."""

    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the file")
        self.problems = problems


def parse_days(text: str) -> list[int]:
    """``Mon-Fri`` -> [0..4]; ``Sat Sun``; ``Mon, Wed``; ``Every day``. ValueError otherwise."""
    words = text.strip().lower()
    if words in ("every day", "daily", "all"):
        return list(range(7))
    days: set[int] = set()
    for part in re.split(r"[\s,;/]+", words):
        if not part:
            continue
        if "-" in part:
            first, _, last = part.partition("-")
            if first not in _DAY_NAMES or last not in _DAY_NAMES:
                raise ValueError(part)
            low, high = _DAY_NAMES[first], _DAY_NAMES[last]
            days.update(range(low, high + 1) if low <= high else [*range(low, 7), *range(high + 1)])
        elif part in _DAY_NAMES:
            days.add(_DAY_NAMES[part])
        else:
            raise ValueError(part)
    if not days:
        raise ValueError(text)
    return sorted(days)


def _parse_time(text: str) -> time:
    for fmt in ("%H:%M", "%H.%M", "%H%M"):
        try:
            return datetime.strptime(text.strip(), fmt).time()  # noqa: DTZ007 (a wall time)
        except ValueError:
            continue
    raise ValueError(text)


def _parse_date(text: str) -> date:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()  # noqa: DTZ007 (a date)
        except ValueError:
            continue
    raise ValueError(text)


def _read(data: bytes) -> tuple[list[str], list[list[str]]]:
    if len(data) > MAX_BYTES:
        raise RotaImportInvalid(
            [RowProblem(0, "", f"The file is larger than {MAX_BYTES // 1024} KB: split it.")]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RotaImportInvalid(
            [RowProblem(0, "", 'The file is not UTF-8 text: save it as "CSV UTF-8".')]
        ) from None
    if "\x00" in text:
        raise RotaImportInvalid([RowProblem(0, "", "The file is not a CSV text file.")])
    try:
        lines = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise RotaImportInvalid([RowProblem(0, "", f"The file is not valid CSV: {exc}.")]) from None
    lines = [line for line in lines if any(cell.strip() for cell in line)]
    if not lines:
        raise RotaImportInvalid([RowProblem(0, "", "The file is empty.")])
    header = [cell.strip().lower() for cell in lines[0]]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise RotaImportInvalid(
            [
                RowProblem(
                    1,
                    "",
                    "The header row has no column " + ", ".join(f'"{m}"' for m in missing) + ".",
                )
            ]
        )
    if len(lines) - 1 > MAX_ROWS:
        raise RotaImportInvalid(
            [RowProblem(0, "", f"The file has more than {MAX_ROWS} rows: split it.")]
        )
    return header, lines[1:]


def rota_import_check(*, team_id: int, data: bytes) -> ImportReport:
    """Every row of the file read and checked against the team; raises RotaImportInvalid with
    every problem found. The rows returned are ``shift_pattern_create``'s arguments."""
    header, lines = _read(data)
    staff = list(shift_workers())
    by_username = {user.username.lower(): user for user in staff}
    by_email = {user.email.lower(): user for user in staff if user.email}
    report = ImportReport()
    for number, cells in enumerate(lines, start=2):
        row = dict(zip(header, [c.strip() for c in cells], strict=False))
        problems: list[RowProblem] = []

        def problem(
            column: str,
            message: str,
            *,
            problems: list[RowProblem] = problems,
            number: int = number,
        ) -> None:
            problems.append(RowProblem(number, column, message))

        values: dict[str, Any] = {}
        person = row.get("person", "").lower()
        user = by_username.get(person) or by_email.get(person)
        if user is None:
            problem("person", "No member of staff who works shifts has this username or email.")
        else:
            values["person_id"] = user.pk
        role = _ROLES.get(row.get("role", "").lower())
        if role is None:
            problem("role", "Give one of: " + ", ".join(ShiftRole.labels) + ".")
        values["role"] = role
        try:
            values["phone"] = uk_phone(row.get("phone", ""))
        except ValidationError:
            problem("phone", PHONE_MESSAGE)
        try:
            values["weekdays"] = parse_days(row.get("days", ""))
        except ValueError:
            problem("days", "Give days like Mon-Fri, Sat Sun or Every day.")
        for column, key in (("start", "start_time"), ("end", "end_time")):
            try:
                values[key] = _parse_time(row.get(column, ""))
            except ValueError:
                problem(column, "Give a 24-hour time, like 08:00 or 22:00.")
        try:
            values["valid_from_date"] = _parse_date(row.get("from", ""))
        except ValueError:
            problem("from", "Give a date like 2026-12-01 or 01/12/2026.")
        values["valid_until_date"] = None
        if row.get("until"):
            try:
                values["valid_until_date"] = _parse_date(row["until"])
            except ValueError:
                problem("until", "Give a date like 2026-12-31 or 31/12/2026, or leave it empty.")
        if (
            values.get("valid_until_date")
            and values.get("valid_from_date")
            and values["valid_until_date"] < values["valid_from_date"]
        ):
            problem("until", "The last day must be on or after the first day.")
        bank = row.get("bank holidays", "").lower()
        if bank not in ("", "yes", "y", "no", "n"):
            problem("bank holidays", "Give yes or no, or leave it empty (yes).")
        values["runs_on_bank_holidays"] = bank not in ("no", "n")
        report.problems.extend(problems)
        if not problems:
            report.rows.append((number, values))
    if not report.rows and not report.problems:
        report.problems.append(RowProblem(0, "", "The file has a header row and no shifts."))
    if report.problems:
        raise RotaImportInvalid(report.problems)
    return report
