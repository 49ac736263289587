"""What the workspace's screens read that no lower app can: the patient's timeline of calls,
referrals and care-plan changes, and the access log with the people each row names."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from calls.models import Call
from patients.models import CarePlan, Patient
from patients.names import display_name
from patients.nhs_number import InvalidNhsNumber, format_nhs_number
from patients.selectors import patient_search
from referrals.models import Referral
from referrals.selectors import referrals_visible_to
from spoc.audit import chain
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_read


def patients_found(*, patients: QuerySet[Patient], query: str) -> list[Patient]:
    """A patient search for a page or an API answer (patients.selectors.patient_search): the
    access log keeps how many were found, never the search text (it holds patient identifiers)."""
    results = patient_search(patients=patients, query=query)
    access_log_read(
        action=AccessLog.Action.SEARCH, object_type="patient", detail={"results": len(results)}
    )
    return results


def patient_timeline(*, patient: Patient, user: Any) -> list[dict[str, Any]]:
    """Calls, referrals (with their live status) and care-plan changes, newest first.

    Referrals the user may not see in full (another team's, for a nurse) appear as summary
    lines: team, need, status and dates, without notes. Four queries whatever the history."""
    visible_ids = set(
        referrals_visible_to(user).filter(patient=patient).values_list("pk", flat=True)
    )
    items: list[dict[str, Any]] = []
    for call in Call.objects.filter(patient=patient).select_related(
        "handled_by", "follow_up__done_by"
    ):
        items.append({"kind": "call", "at": call.received_at, "call": call})
    for referral in Referral.objects.filter(patient=patient).select_related(
        "team", "owner", "sender"
    ):
        items.append(
            {
                "kind": "referral",
                "at": referral.created_at,
                "referral": referral,
                "full": referral.pk in visible_ids,
            }
        )
    for plan in CarePlan.objects.filter(patient=patient).select_related("created_by"):
        items.append({"kind": "care_plan", "at": plan.created_at, "plan": plan})
    items.sort(key=lambda item: item["at"], reverse=True)
    return items


def access_log_with_people(rows: QuerySet[AccessLog]) -> QuerySet[AccessLog]:
    """The rows with who acted (the user and, in one more query for any number of rows, their
    roles) and the patient's name and NHS number, read in the same query as the rows.

    The log stores the patient as a plain id, not a foreign key (docs/architecture.md): it sits
    below the patients app and must outlive any record it names. So the patient is read as a
    subquery on the patient's primary key, and a row whose patient no longer exists still shows
    its id. Reading adds nothing to the rows, so their hash chain is as it was."""
    patient = Patient.objects.filter(pk=OuterRef("patient_id"))
    return (
        rows.select_related("user")
        .prefetch_related("user__groups")
        .annotate(
            patient_given_name=Subquery(patient.values("given_name")[:1]),
            patient_family_name=Subquery(patient.values("family_name")[:1]),
            patient_nhs_number=Subquery(patient.values("nhs_number")[:1]),
        )
    )


@dataclass(frozen=True)
class AccessLogPeople:
    """Who a row is about, as the auditor reads it (every value plain text, "" when none)."""

    user_name: str  # "FAMILY, Given", or what was typed at a failed sign-in
    user_roles: str  # "Call handler, Team lead"
    patient_name: str  # "NGUYỄN, Siân"; "No record of patient 12" once the record is gone
    patient_nhs_number: str  # "943 476 5919", "Not known", or "" for a row about no patient


def access_log_people(row: AccessLog) -> AccessLogPeople:
    """The people of a row of `access_log_with_people` (no query: they were read with the rows)."""
    user = row.user
    if user is not None:
        user_name = user.display_name()
        roles = ", ".join(sorted(group.name for group in user.groups.all()))
    else:
        user_name, roles = row.username, ""
    # The annotations of access_log_with_people.
    given, family = (
        getattr(row, "patient_given_name", None),
        getattr(row, "patient_family_name", None),
    )
    if row.patient_id is None:
        patient_name = nhs_number = ""
    elif given is None and family is None:
        patient_name, nhs_number = f"No record of patient {row.patient_id}", ""
    else:
        patient_name = display_name(given or "", family or "")
        nhs_number = _nhs_number_shown(getattr(row, "patient_nhs_number", None))
    return AccessLogPeople(
        user_name=user_name,
        user_roles=roles,
        patient_name=patient_name,
        patient_nhs_number=nhs_number,
    )


def _nhs_number_shown(digits: str | None) -> str:
    if not digits:
        return "Not known"
    try:
        return format_nhs_number(digits)
    except InvalidNhsNumber:  # display never fails on a record: show what is stored
        return digits


def access_log_csv_rows(rows: QuerySet[AccessLog], *, filters: list[str]) -> Iterator[list[Any]]:
    """The export's header and rows, as plain values: spoc.core.exports.csv_response
    neutralises every cell for a spreadsheet. The people's columns come last, so the columns of
    earlier exports keep their places. `rows` come from `access_log_with_people` (the people read
    with them, the roles a chunk at a time). The export itself is logged, with the names of the
    ``filters`` used, before a row is read."""
    access_log_read(
        action=AccessLog.Action.EXPORT, object_type="access_log", detail={"filters": filters}
    )
    return _access_log_csv_rows(rows)


# The log's own columns, in the order of the first exports: the fields the chain hashes but the
# user's id (the username names the user) and the detail. The people's columns come after them.
_LOG_COLUMNS = [name for name in chain.FIELDS if name not in ("user_id", "detail")]
_PEOPLE_COLUMNS = ["user_name", "user_roles", "patient_name", "patient_nhs_number"]


def _access_log_csv_rows(rows: QuerySet[AccessLog]) -> Iterator[list[Any]]:
    yield [*_LOG_COLUMNS, *_PEOPLE_COLUMNS]
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
