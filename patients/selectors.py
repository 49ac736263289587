"""Reads of patient records. Callers pass the queryset they may see (the permission selector
`referrals.selectors.patients_visible_to`), so list and detail can never disagree."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connections
from django.db.models import Case, CharField, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import Collate, Concat

from patients.carers import ASSESSMENT_VALID_FOR
from patients.models import (
    CarePlan,
    CarerAssessment,
    DeathCorrection,
    DeathRecord,
    JustInCaseMedicine,
    Patient,
    RelatedPerson,
)
from patients.names import fold
from patients.nhs_number import looks_like_nhs_number
from services.postcodes import InvalidPostcode, normalise_postcode
from spoc.audit.services import access_log_read

SEARCH_LIMIT = 25
_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d-%b-%Y", "%d %b %Y", "%d%m%Y")
# The separators looks_like_nhs_number ignores: whitespace, hyphens and the Unicode dashes a word
# processor substitutes for them.
_NHS_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]")
_POSTCODE_PAIR = re.compile(r"\b([A-Za-z]{1,2}[0-9][A-Za-z0-9]?)\s+([0-9][A-Za-z]{2})\b")


@dataclass(frozen=True)
class ParsedQuery:
    nhs_number: str | None = None
    date_of_birth: date | None = None
    postcode: str | None = None
    name_parts: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.nhs_number or self.date_of_birth or self.postcode or self.name_parts)


def _parse_date(token: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(token, fmt).date()  # noqa: DTZ007 (a date, no time of day)
        except ValueError:
            continue
    return None


def parse_patient_query(query: str) -> ParsedQuery:
    """One search box: an NHS number (with or without spaces), a date of birth, a postcode and
    name parts, in any order. Name parts match the start or middle of either name, accent- and
    case-insensitive."""
    text = " ".join(query.split())[:200]
    if looks_like_nhs_number(text):
        return ParsedQuery(nhs_number=_NHS_SEPARATORS.sub("", text))
    postcode = None
    match = _POSTCODE_PAIR.search(text)
    if match:
        try:
            postcode = normalise_postcode(match.group(0))
            text = (text[: match.start()] + " " + text[match.end() :]).strip()
        except InvalidPostcode:
            postcode = None
    dob = None
    names: list[str] = []
    tokens = text.split()
    i = 0
    while i < len(tokens):
        # "22 Nov 1950" is three tokens.
        three = " ".join(tokens[i : i + 3])
        if len(tokens) - i >= 3 and (parsed := _parse_date(three)):
            dob, i = parsed, i + 3
            continue
        token = tokens[i]
        parsed = _parse_date(token)
        if parsed:
            dob = parsed
        elif postcode is None and re.fullmatch(
            r"[A-Za-z]{1,2}[0-9][A-Za-z0-9]?[0-9][A-Za-z]{2}", token
        ):
            try:
                postcode = normalise_postcode(token)
            except InvalidPostcode:
                names.append(fold(token))
        else:
            folded = fold(token)
            if folded:
                names.append(folded)
        i += 1
    return ParsedQuery(date_of_birth=dob, postcode=postcode, name_parts=tuple(names))


def patient_search(
    *, patients: QuerySet[Patient], query: str, limit: int = SEARCH_LIMIT
) -> list[Patient]:
    """Patients matching every part of the query, at most `limit`: those whose family name
    starts with a name part typed first ("hall": Hall and Halliday before Birchall), each group
    in the order of the folded name (family then given, accents and case ignored), namesakes in
    registration order.

    NHS number, date of birth and postcode use their indexes, and with any of them one query
    sorts the few patients left. Names alone use the folded search column: the family names
    starting with a part come in order from its byte-ordered index (`patient_search_name_c`), so
    a common name reads 25 index entries, not every patient whose name holds it; the other
    matches (the trigram index) are asked for only when those are fewer than `limit`. One query,
    or two."""
    parsed = parse_patient_query(query)
    if parsed.is_empty:
        return []
    rows = patients
    if parsed.nhs_number:
        rows = rows.filter(nhs_number=parsed.nhs_number)
    if parsed.date_of_birth:
        rows = rows.filter(date_of_birth=parsed.date_of_birth)
    if parsed.postcode:
        rows = rows.filter(postcode=parsed.postcode)
    # Name order is byte order: COLLATE "C" on PostgreSQL, as its index `patient_search_name_c`
    # holds it (SQLite's own order of text is bytes). `sorted_once_found` is the same order for
    # rows the other indexes find: told to follow the name's index, PostgreSQL may walk it from
    # the start, reading patient after patient, when the matches are few or late in the
    # alphabet (a third of a second over a million patients).
    name = "search_name"
    if connections[rows.db].vendor == "postgresql":
        rows = rows.alias(name_in_bytes=Collate("search_name", "C"))
        name = "name_in_bytes"
    sorted_once_found = Concat(name, Value(""), output_field=CharField())
    parts = parsed.name_parts
    if not parts:
        return list(rows.order_by(sorted_once_found, "id")[:limit])
    starts = Q()
    for part in parts:
        starts |= Q(**{f"{name}__startswith": part})
    contains = [Q(search_name__contains=part) for part in parts]
    if parsed.nhs_number or parsed.date_of_birth or parsed.postcode:
        # Their indexes leave a few patients: one query, the two groups sorted once found.
        group = Case(When(starts, then=Value(0)), default=Value(1))
        return list(rows.filter(*contains).order_by(group, sorted_once_found, "id")[:limit])
    if len(parts) == 1:
        # Read in order from the name's index: a common name costs 25 entries.
        first = rows.filter(starts).order_by(name, "id")
    else:
        first = rows.filter(starts, *contains).order_by(sorted_once_found, "id")
    found = list(first[:limit])
    if len(found) < limit:
        others = rows.filter(*contains).exclude(starts)
        found += others.order_by(sorted_once_found, "id")[: limit - len(found)]
    return found


def patient_possible_duplicates(
    *, given_name: str, family_name: str, date_of_birth: date, postcode: str
) -> QuerySet[Patient]:
    """Same name and date of birth, or same date of birth and postcode (DESIGN: warn, and
    register only with an explicit confirmation)."""
    from patients.names import search_form

    same_name = Q(search_name=search_form(given_name, family_name))
    same_postcode = Q(postcode=postcode) if postcode else Q(pk__in=[])
    return Patient.objects.filter(
        Q(date_of_birth=date_of_birth) & (same_name | same_postcode)
    ).order_by("id")


def patient_shown(
    *,
    patients: QuerySet[Patient],
    patient_id: int,
    detail: dict[str, str] | None = None,
) -> Patient | None:
    """One of ``patients`` (the user's visible patients) for a page or an API answer: its read is
    access-logged (``detail``: where it was shown)."""
    patient = patients.filter(pk=patient_id).first()
    if patient is not None:
        access_log_read(
            object_type="patient", object_id=patient.pk, patient_id=patient.pk, detail=detail
        )
    return patient


def death_record_shown(*, patients: QuerySet[Patient], patient_id: int) -> DeathRecord | None:
    """The death recorded for one of ``patients`` (the user's visible patients), its read
    access-logged; None when there is none or the patient is not theirs to see."""
    record = (
        DeathRecord.objects.recorded()
        .select_related("recorded_by")
        .filter(patient_id=patient_id, patient__in=patients)
        .first()
    )
    if record is not None:
        access_log_read(
            object_type="death_record", object_id=record.pk, patient_id=record.patient_id
        )
    return record


def deaths_of(*, patient: Patient) -> list[DeathRecord]:
    """Every death recorded for ``patient`` (the standing one and any withdrawn as entered in
    error), newest recorded first, each with its corrections and who made them: the patient
    page's death card and its history (the page's read of the patient logs the access)."""
    return list(
        DeathRecord.objects.filter(patient=patient)
        .select_related("recorded_by")
        .prefetch_related(
            Prefetch(
                "corrections",
                queryset=DeathCorrection.objects.select_related("corrected_by").order_by(
                    "corrected_at", "pk"
                ),
            )
        )
        .order_by("-recorded_at", "-pk")
    )


def care_plan_current(*, patient: Patient) -> CarePlan | None:
    return (
        CarePlan.objects.filter(patient=patient, is_current=True)
        .select_related("cpr_recorded_by")
        .first()
    )


def care_plan_shown(*, patient: Patient) -> CarePlan | None:
    """The current care plan for the page that shows it with its history: a read of the
    patient's record, access-logged (the plan's id; none when there is no plan)."""
    current = care_plan_current(patient=patient)
    access_log_read(
        object_type="care_plan", object_id=current.pk if current else "", patient_id=patient.pk
    )
    return current


def care_plan_history(*, patient: Patient) -> QuerySet[CarePlan]:
    return (
        CarePlan.objects.filter(patient=patient).select_related("created_by").order_by("-version")
    )


def jic_medicines_current(*, patient: Patient) -> list[JustInCaseMedicine]:
    """The just-in-case medicines still in ``patient``'s home, by name: one query."""
    return list(JustInCaseMedicine.objects.filter(patient=patient, removed_at__isnull=True))


def jic_medicines_shown(*, patient: Patient) -> list[JustInCaseMedicine]:
    """Every just-in-case medicine ever recorded for ``patient``, those still at home first, then
    the removed ones, latest removal first, with who recorded and removed them; for the page
    that shows the record and its history, so the read is access-logged."""
    rows = list(
        JustInCaseMedicine.objects.filter(patient=patient).select_related(
            "recorded_by", "removed_by"
        )
    )
    current = [row for row in rows if row.removed_at is None]
    removed = sorted(
        (row for row in rows if row.removed_at is not None),
        key=lambda row: row.removed_at or row.recorded_at,
        reverse=True,
    )
    access_log_read(
        object_type="jic_medicines",
        object_id=patient.pk,
        patient_id=patient.pk,
        detail={"medicines": len(rows)},
    )
    return current + removed


def age_on(date_of_birth: date, day: date) -> int:
    return (
        day.year
        - date_of_birth.year
        - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))
    )


def carer_assessments_shown(*, carer: RelatedPerson) -> list[CarerAssessment]:
    """A carer's assessments, latest first, with who assessed; the read access-logged against the
    patient they care for."""
    access_log_read(object_type="carer_assessment", object_id=carer.pk, patient_id=carer.patient_id)
    return list(carer.assessments.select_related("assessed_by"))


def carer_assessment_in_force(
    *, patient_id: int, person_id: int | None, today: date
) -> CarerAssessment | None:
    """The latest assessment still in force on ``today`` (ASSESSMENT_VALID_FOR) of the carer
    carer support is for: the person ``person_id`` of this patient, else the patient's main
    carer; None when there is none. One query, with the carer."""
    carers = Q(carer_id=person_id) if person_id is not None else Q(carer__is_main_carer=True)
    return (
        CarerAssessment.objects.filter(
            carers,
            carer__patient_id=patient_id,
            assessment_date__gte=today - ASSESSMENT_VALID_FOR,
        )
        .select_related("carer")
        .first()
    )
