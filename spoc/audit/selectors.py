from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.apps import apps
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from patients.names import display_name
from patients.nhs_number import InvalidNhsNumber, format_nhs_number
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
    rows = _with_people(AccessLog.objects.all())
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


def _with_people(rows: QuerySet[AccessLog]) -> QuerySet[AccessLog]:
    """The rows with who acted (the user and, in one more query for any number of rows, their
    roles) and the patient's name and NHS number, read in the same query as the rows.

    The log stores the patient as a plain id, not a foreign key (docs/architecture.md): it sits
    below the patients app and must outlive any record it names. So the patient is read by app
    label, as a subquery on the patient's primary key, and a row whose patient no longer exists
    still shows its id. Reading adds nothing to the rows, so their hash chain is as it was."""
    patient = apps.get_model("patients", "Patient").objects.filter(pk=OuterRef("patient_id"))
    return rows.select_related("user").prefetch_related("user__groups").annotate(
        patient_given_name=Subquery(patient.values("given_name")[:1]),
        patient_family_name=Subquery(patient.values("family_name")[:1]),
        patient_nhs_number=Subquery(patient.values("nhs_number")[:1]),
    )


@dataclass(frozen=True)
class AccessLogPeople:
    """Who a row is about, as the auditor reads it (every value plain text, "" when none)."""

    user_name: str  # "FAMILY, Given", or what was typed at a failed sign-in
    user_roles: str  # "Call handler, Team lead"
    patient_name: str  # "NGUYỄN, Siân"; "No record of patient 12" once the record is gone
    patient_nhs_number: str  # "943 476 5919", "Not known", or "" for a row about no patient


def access_log_people(row: AccessLog) -> AccessLogPeople:
    """The people of a row of `access_log_list` (no query: they were read with the rows)."""
    user = row.user
    if user is not None:
        user_name = user.display_name()
        roles = ", ".join(sorted(group.name for group in user.groups.all()))
    else:
        user_name, roles = row.username, ""
    # The annotations of _with_people.
    given, family = getattr(row, "patient_given_name", None), getattr(row, "patient_family_name", None)
    if row.patient_id is None:
        patient_name = nhs_number = ""
    elif given is None and family is None:
        patient_name, nhs_number = f"No record of patient {row.patient_id}", ""
    else:
        patient_name = display_name(given or "", family or "")
        nhs_number = _nhs_number_shown(getattr(row, "patient_nhs_number", None))
    return AccessLogPeople(user_name=user_name, user_roles=roles, patient_name=patient_name,
                           patient_nhs_number=nhs_number)


def _nhs_number_shown(digits: str | None) -> str:
    if not digits:
        return "Not known"
    try:
        return format_nhs_number(digits)
    except InvalidNhsNumber:  # display never fails on a record: show what is stored
        return digits


def access_log_csv_rows(rows: QuerySet[AccessLog]) -> Iterator[list[Any]]:
    """The export's header and rows, as plain values: spoc.core.exports.csv_response
    neutralises every cell for a spreadsheet. The people's columns come last, so the columns of
    earlier exports keep their places. `rows` come from `access_log_list` (the people read with
    them, the roles a chunk at a time)."""
    yield ["at", "username", "action", "object_type", "object_id", "patient_id", "client_ip", "reason", "flagged",
           "user_name", "user_roles", "patient_name", "patient_nhs_number"]
    for row in rows.iterator(chunk_size=2000):
        people = access_log_people(row)
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
            people.user_name,
            people.user_roles,
            people.patient_name,
            people.patient_nhs_number,
        ]
