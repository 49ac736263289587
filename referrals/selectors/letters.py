"""The letters to patients' GP practices (docs/interop.md, "The GP hears back"): which
completions and deaths are owed one, the facts each letter states (``referrals/letters.py``),
and the letters a referral's page offers, read through the permission selectors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, Q, QuerySet

from patients.codes import PlaceOfDeath
from patients.models import DeathRecord
from referrals.codes import InterventionType, ReferralOutcome
from referrals.letters import (
    LetterData,
    LetterDeath,
    LetterIntervention,
    LetterKind,
    LetterOrganisation,
    LetterReferral,
)
from referrals.models import GpLetter, Intervention, Referral, ReferralEvent
from referrals.selectors import referrals_visible_to, sees_all_patients
from services.codes import CallerType, Need, Priority, ServiceType
from services.models import Organisation, Service
from spoc.audit.services import access_log_read

# The coordinators sign a death letter: the hub speaks for every team the patient had.
HUB_TEAM = "SPOC coordinators"


def _since(now: datetime) -> datetime:
    return now - timedelta(days=settings.GP_LETTER_LOOKBACK_DAYS)


def letters_due(*, now: datetime, limit: int = 50) -> tuple[list[ReferralEvent], list[DeathRecord]]:
    """The completions and the deaths owed a letter: a referral completed by someone (not
    closed by the death, whose own letter tells of it) or a death recorded, for a patient with a
    registered practice, with no letter yet, no older than GP_LETTER_LOOKBACK_DAYS (history
    loaded or restored is not sent), oldest first, at most ``limit`` of each."""
    events = list(
        ReferralEvent.objects.filter(
            kind=ReferralEvent.Kind.COMPLETED,
            at__gte=_since(now),
            referral__patient__registered_practice__isnull=False,
            gp_letter__isnull=True,
        )
        .exclude(data__has_key="death_record_id")
        .select_related("referral__patient__registered_practice")
        .order_by("id")[:limit]
    )
    deaths = list(
        DeathRecord.objects.recorded()
        .filter(
            recorded_at__gte=_since(now),
            patient__registered_practice__isnull=False,
            gp_letter__isnull=True,
        )
        .select_related("patient__registered_practice")
        .order_by("id")[:limit]
    )
    return events, deaths


def _organisation(organisation: Organisation) -> LetterOrganisation:
    return LetterOrganisation(organisation.ods_code, organisation.name, organisation.postcode)


def _asked_by(referral: Referral) -> str:
    if referral.sender is not None:
        who = f"{referral.sender.name} ({referral.sender.ods_code})"
        return (
            f"{who}, requested by {referral.sender_requester}" if referral.sender_requester else who
        )
    call = referral.call
    if call is None:
        return ""
    kind = CallerType(call.caller_type).label
    return f"{kind}, {call.caller_organisation}" if call.caller_organisation else kind


def _referral_facts(
    referral: Referral, interventions: list[Intervention], *, outcome: str, closed_at: datetime
) -> LetterReferral:
    return LetterReferral(
        reference=f"REF-{referral.pk:06d}",
        need=Need(referral.need).label,
        priority=Priority(referral.priority).label,
        asked_at=referral.created_at,
        asked_by=_asked_by(referral),
        team=referral.team.name if referral.team is not None else "",
        interventions=tuple(
            LetterIntervention(item.at, InterventionType(item.kind).label)
            for item in interventions
            if item.at <= closed_at
        ),
        outcome=ReferralOutcome(outcome).label if outcome in ReferralOutcome.values else "",
        closed_at=closed_at,
    )


def _referrals(ids: list[int]) -> dict[int, Referral]:
    return {
        referral.pk: referral
        for referral in Referral.objects.filter(pk__in=ids).select_related(
            "call", "sender", "team__service__organisation"
        )
    }


def _interventions(ids: list[int]) -> dict[int, list[Intervention]]:
    found: dict[int, list[Intervention]] = {pk: [] for pk in ids}
    for item in Intervention.objects.filter(referral_id__in=ids).order_by("at", "id"):
        found[item.referral_id].append(item)
    return found


def _hub_organisation() -> LetterOrganisation:
    """The organisation of the coordinators' own service: the hub, as the directory holds it."""
    service = (
        Service.objects.filter(service_type=ServiceType.SPOC)
        .select_related("organisation")
        .order_by("id")
        .first()
    )
    if service is None:
        return LetterOrganisation("", "SPOC hub")
    return _organisation(service.organisation)


def _patient_facts(patient: Any) -> dict[str, Any]:
    return {
        "patient_id": patient.pk,
        "nhs_number": patient.nhs_number or "",
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "date_of_birth": patient.date_of_birth,
        "sex": patient.sex,
        "practice": _organisation(patient.registered_practice),
    }


def letter_facts_completion(*, event: ReferralEvent, letter_id: str, now: datetime) -> LetterData:
    """The letter for a referral's completion (``event``, loaded by ``letters_due``): the
    referral as its completion left it, its interventions up to then, signed by its team."""
    referral = _referrals([event.referral_id])[event.referral_id]
    patient = event.referral.patient
    team = referral.team
    author = _organisation(team.service.organisation) if team is not None else _hub_organisation()
    facts = _referral_facts(
        referral,
        _interventions([referral.pk])[referral.pk],
        outcome=str(event.data.get("outcome", "")),
        closed_at=event.at,
    )
    return LetterData(
        letter_id=letter_id,
        kind=LetterKind.COMPLETION,
        written_at=now,
        author=author,
        signed_by=team.name if team is not None else HUB_TEAM,
        referrals=(facts,),
        **_patient_facts(patient),
    )


def letter_facts_death(*, record: DeathRecord, letter_id: str, now: datetime) -> LetterData:
    """The letter for a death (``record``, loaded by ``letters_due``): the referrals the death
    closed, with what was done on each, the place of death and whether it was the preferred
    place (as the death record kept them), signed by the coordinators."""
    closed = list(
        ReferralEvent.objects.filter(
            kind=ReferralEvent.Kind.COMPLETED, data__death_record_id=record.pk
        ).order_by("referral_id")
    )
    ids = [event.referral_id for event in closed]
    referrals = _referrals(ids)
    interventions = _interventions(ids)
    preferred = tuple(
        PlaceOfDeath(code).label
        for code in (record.preferred_place_first, record.preferred_place_second)
        if code
    )
    return LetterData(
        letter_id=letter_id,
        kind=LetterKind.DEATH,
        written_at=now,
        author=_hub_organisation(),
        signed_by=HUB_TEAM,
        referrals=tuple(
            _referral_facts(
                referrals[event.referral_id],
                interventions[event.referral_id],
                outcome=str(event.data.get("outcome", "")),
                closed_at=event.at,
            )
            for event in closed
        ),
        death=LetterDeath(
            died_at=record.died_at,
            place=PlaceOfDeath(record.place).label,
            preferred=preferred,
            achieved=record.preferred_place_achieved,
            expected=record.expected,
        ),
        **_patient_facts(record.patient),
    )


# --- The referral page ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralLetters:
    """What the referral page says about letters to the GP: the letters about this referral
    (its completion, the patient's death) and the practice they go to, or none."""

    letters: list[GpLetter]
    practice: Organisation | None


def _closed_unseen(referral: Referral, visible: QuerySet[Referral]) -> QuerySet[ReferralEvent]:
    """The closings, by the patient's death, of referrals outside ``visible``: a patient dies
    once, so the referrals the death closed are the patient's with a COMPLETED event naming a
    death record (referrals/services/deaths.py)."""
    return (
        ReferralEvent.objects.filter(
            kind=ReferralEvent.Kind.COMPLETED,
            referral__patient_id=referral.patient_id,
            data__has_key="death_record_id",
        )
        .exclude(referral__in=visible)
        .order_by()
    )


def _about(referral: Referral, user: Any, visible: QuerySet[Referral]) -> Q:
    """The letters about ``referral`` that ``user`` (who may see ``visible``) may read: its
    completion's, and the patient's death's, which lists every referral the death closed (other
    teams' interventions and outcomes too), so only for a user who may see each of those
    referrals, or who sees every patient."""
    death = Q(kind=GpLetter.Kind.DEATH, patient_id=referral.patient_id)
    if not sees_all_patients(user):
        death &= ~Q(Exists(_closed_unseen(referral, visible)))
    return Q(referral_id=referral.pk) | death


def referral_letters(*, referral: Referral, user: Any) -> ReferralLetters:
    """For the page of ``referral`` (already read through ``referral_page``, which logged it):
    its letters that ``user`` may read (``_about``), oldest first, without their PDFs, and the
    patient's registered practice (one query each, and one more to check a death letter for a
    user who does not see every patient)."""
    letters = list(
        GpLetter.objects.filter(
            Q(referral_id=referral.pk) | Q(kind=GpLetter.Kind.DEATH, patient_id=referral.patient_id)
        )
        .defer("pdf")
        .select_related("practice", "outbox_message")
        .order_by("id")
    )
    if (
        any(letter.kind == GpLetter.Kind.DEATH for letter in letters)
        and not sees_all_patients(user)
        and _closed_unseen(referral, referrals_visible_to(user)).exists()
    ):
        letters = [letter for letter in letters if letter.kind != GpLetter.Kind.DEATH]
    practice = (
        Organisation.objects.filter(pk=referral.patient.registered_practice_id).first()
        if referral.patient.registered_practice_id
        else None
    )
    return ReferralLetters(letters=letters, practice=practice)


def gp_letter_shown(*, user: Any, referral_id: int, letter_id: int) -> GpLetter | None:
    """A letter about a referral the user may see (its completion, or the patient's death when
    the user may see every referral the death closed), with its PDF, its read access-logged;
    None when the user may not see the referral or the letter."""
    visible = referrals_visible_to(user)
    referral = visible.filter(pk=referral_id).first()
    if referral is None:
        return None
    letter = GpLetter.objects.filter(_about(referral, user, visible), pk=letter_id).first()
    if letter is not None:
        access_log_read(
            object_type="gp_letter",
            object_id=letter.pk,
            patient_id=letter.patient_id,
            detail={"referral_id": referral.pk},
        )
    return letter
