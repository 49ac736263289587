"""Reads for telephony (docs/telephony.md): the screen pop a handler's browser polls for, the phone
call the call screen is opened for, who a caller's number belongs to, and the missed calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from calls.models import CallBack, TelephonyCall
from calls.telephony import national
from patients.models import Patient, RelatedPerson
from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_list_shown, access_log_read

# A call answered longer ago than this is no longer "incoming": the handler has long since opened
# the call screen by hand, or the call was a wrong number nobody recorded.
SCREEN_POP_WITHIN = timedelta(minutes=30)
# Once a call has ended, its pop stays this long, so a short call can still be recorded from it.
SCREEN_POP_AFTER_END = timedelta(minutes=10)
# People offered for one number: a number shared by more is a switchboard, not a person.
MATCH_LIMIT = 10
# The missed-calls list: every missed call still to call back, and those of the last day.
MISSED_RECENT = timedelta(hours=24)


def screen_pop_for(*, user: Any) -> TelephonyCall | None:
    """The newest phone call this user answered (on their extension) that is still incoming: no
    call recorded for it yet, answered within SCREEN_POP_WITHIN, not ended more than
    SCREEN_POP_AFTER_END ago. Reads no patient data, so the poll writes no access-log row."""
    if not getattr(user, "phone_extension", ""):
        return None
    now = timezone.now()
    return (
        TelephonyCall.objects.filter(
            answered_by=user, call__isnull=True, answered_at__gte=now - SCREEN_POP_WITHIN
        )
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=now - SCREEN_POP_AFTER_END))
        .order_by("-answered_at", "-id")
        .first()
    )


def telephony_call_to_record(*, telephony_call_id: int) -> TelephonyCall | None:
    """A phone call the call screen may be opened for: one with no call recorded yet."""
    return TelephonyCall.objects.filter(pk=telephony_call_id, call__isnull=True).first()


@dataclass(frozen=True)
class PhoneMatch:
    """A patient a number may belong to: the patient's own, or one of their related people's
    (``person``). ``rank``: 0 the patient's own number, 1 the main carer, 2 next of kin or
    attorney, 3 anyone else recorded."""

    patient: Patient
    person: RelatedPerson | None
    rank: int

    @property
    def whose(self) -> str:
        if self.person is None:
            return "Patient's own number"
        flags = [
            label
            for flag, label in (
                (self.person.is_main_carer, "main carer"),
                (self.person.is_next_of_kin, "next of kin"),
                (self.person.has_lpa, "attorney"),
            )
            if flag
        ]
        role = self.person.get_relationship_display()
        extra = f" ({', '.join(flags)})" if flags else ""
        return f"{self.person.given_name} {self.person.family_name}, {role.lower()}{extra}"


def _stored_forms(numbers: set[str]) -> list[str]:
    """The forms ``numbers`` (E.164) may be stored in: E.164 for a valid number; as typed for one
    the numbering plan does not know (Ofcom's drama range ``07700 900xxx`` is stored as typed),
    so with or without the national spaces too."""
    forms = set(numbers)
    for number in numbers:
        typed = national(number)
        forms.update({typed, typed.replace(" ", "")})
    return sorted(form for form in forms if form)


def _numbers_of(row: Patient | RelatedPerson) -> set[str]:
    """A patient's or related person's numbers in E.164 (the telephony tables' form)."""
    return {number.as_e164 for number in (row.phone, row.phone_alt) if number}


def _rank(person: RelatedPerson) -> int:
    if person.is_main_carer:
        return 1
    if person.is_next_of_kin or person.has_lpa:
        return 2
    return 3


def phone_matches(*, patients: QuerySet[Patient], number: str) -> list[PhoneMatch]:
    """Who ``number`` (E.164) may belong to, among ``patients`` (the user's visible patients):
    patients whose own number it is, and patients one of whose related people has it (a carer's
    number offers the patient they care for). Living patients first, then by rank, then by name;
    MATCH_LIMIT at most. Two queries; logged as a search, with its count only, like the patient
    search."""
    if not number:
        return []
    forms = _stored_forms({number})
    by_number = Q(phone__in=forms) | Q(phone_alt__in=forms)
    own = [
        PhoneMatch(patient=patient, person=None, rank=0)
        for patient in patients.filter(by_number).order_by("id")[:MATCH_LIMIT]
    ]
    related = [
        PhoneMatch(patient=person.patient, person=person, rank=_rank(person))
        for person in RelatedPerson.objects.filter(by_number, patient__in=patients)
        .select_related("patient")
        .order_by("id")[:MATCH_LIMIT]
    ]
    matches = sorted(
        own + related,
        key=lambda m: (
            m.patient.died_at is not None,
            m.rank,
            m.patient.family_name,
            m.patient.given_name,
            m.patient.pk,
        ),
    )[:MATCH_LIMIT]
    access_log_read(
        action=AccessLog.Action.SEARCH,
        object_type="phone_match",
        detail={"results": len(matches)},
    )
    return matches


@dataclass(frozen=True)
class MissedCall:
    telephony_call: TelephonyCall
    call_back: CallBack | None
    matches: list[PhoneMatch]


def missed_calls(*, patients: QuerySet[Patient], limit: int = 200) -> list[MissedCall]:
    """The calls nobody answered (missed, abandoned, voicemail): those whose call-back is still
    pending, and those of the last MISSED_RECENT; newest first, each with its call-back and who
    the number may belong to among ``patients``. A fixed number of queries however many rows;
    logged as a list, with the count of patients it offered."""
    since = timezone.now() - MISSED_RECENT
    rows = list(
        TelephonyCall.objects.filter(
            outcome__in=[
                TelephonyCall.Outcome.MISSED,
                TelephonyCall.Outcome.ABANDONED,
                TelephonyCall.Outcome.VOICEMAIL,
            ]
        )
        .filter(Q(call_back__status=CallBack.Status.PENDING) | Q(rang_at__gte=since))
        .select_related("call_back", "call_back__done_by")
        .prefetch_related("call_back__attempts")
        .order_by("-rang_at", "-id")[:limit]
    )
    numbers = {row.caller_number for row in rows if row.caller_number}
    by_number: dict[str, list[PhoneMatch]] = {}
    if numbers:
        forms = _stored_forms(numbers)
        for patient in patients.filter(Q(phone__in=forms) | Q(phone_alt__in=forms)):
            for number in _numbers_of(patient) & numbers:
                by_number.setdefault(number, []).append(PhoneMatch(patient, None, 0))
        for person in RelatedPerson.objects.filter(
            Q(phone__in=forms) | Q(phone_alt__in=forms), patient__in=patients
        ).select_related("patient"):
            for number in _numbers_of(person) & numbers:
                by_number.setdefault(number, []).append(
                    PhoneMatch(person.patient, person, _rank(person))
                )
    for found in by_number.values():
        found.sort(key=lambda m: (m.patient.died_at is not None, m.rank, m.patient.family_name))
    missed = [
        MissedCall(
            telephony_call=row,
            call_back=getattr(row, "call_back", None),
            matches=by_number.get(row.caller_number, [])[:MATCH_LIMIT],
        )
        for row in rows
    ]
    access_log_list_shown(
        object_type="missed_calls",
        patient_ids=(m.patient.pk for item in missed for m in item.matches),
    )
    return missed


def call_back_to_make(*, call_back_id: int) -> CallBack | None:
    """A call-back still pending, with what the call screen needs to make it."""
    return (
        CallBack.objects.filter(pk=call_back_id, status=CallBack.Status.PENDING)
        .select_related("call", "telephony_call", "patient")
        .first()
    )


def call_back_number(call_back: CallBack) -> str:
    """The number to ring for a call-back, as people read it: the missed caller's, else the
    number the caller gave, else the patient's own; blank when none is known."""
    if call_back.telephony_call is not None and call_back.telephony_call.caller_number:
        return national(call_back.telephony_call.caller_number)
    if call_back.call is not None and call_back.call.caller_phone:
        return str(call_back.call.caller_phone.as_national)
    if call_back.patient is not None and call_back.patient.phone:
        return str(call_back.patient.phone.as_national)
    return ""
