"""Feedback in the demo area (docs/operations.md, "Feedback texts"; docs/metrics.md, "Friends
and Family Test", "Bereaved relatives' survey"), so the referral page, the dashboards and the
fake Notify show it.

- Each main carer gets a mobile number on their record (Ofcom's range for drama, 07700 900100 to
  900999) where they have none, so the Complete form offers them a feedback text.
- About half the completed referrals of the demo's teams have a consent, by the patient or the
  main carer, recorded by whoever completed the referral; its text went at the next sending
  moment; about seven in ten were answered within three days, some with a comment.
- Each death with a main carer has a survey consent, recorded by whoever recorded the death; the
  surveys due by now were sent and most answered (the local settings send them 28 days after a
  death, so the demo's three months show some).
- The surveys not due yet wait: the beat job texts them on their day (under `make run`, to the
  fake Notify).

Deterministic (each row's choices from a random generator seeded by its id) and idempotent: a
referral or a death with an invitation already, or a carer with a mobile already, is left as it
is, and one passed over is passed over again."""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from experience.codes import DiedWhereWanted, FamilySupport, FftAnswer
from experience.models import Answer, Invitation
from experience.rules import survey_due, within_sending_hours
from patients.models import DeathRecord, RelatedPerson
from referrals.models import Referral, ReferralEvent
from referrals.transitions import ReferralStatus
from spoc.accounts.models import User

FFT_WEIGHTS = {
    FftAnswer.VERY_GOOD: 55,
    FftAnswer.GOOD: 25,
    FftAnswer.NEITHER: 6,
    FftAnswer.POOR: 4,
    FftAnswer.VERY_POOR: 3,
    FftAnswer.DONT_KNOW: 7,
}
PLACE_WEIGHTS = {
    DiedWhereWanted.YES: 60,
    DiedWhereWanted.NO: 20,
    DiedWhereWanted.NOT_SAID: 15,
    DiedWhereWanted.DONT_KNOW: 5,
}
SUPPORT_WEIGHTS = {
    FamilySupport.ENOUGH: 50,
    FamilySupport.SOME: 30,
    FamilySupport.NONE: 10,
    FamilySupport.NOT_WANTED: 5,
    FamilySupport.DONT_KNOW: 5,
}
GOOD_WORDS = (
    "The nurse came within the hour and stayed until Mum was settled.",
    "Kind, calm and clear about what would happen next. Thank you.",
    "Excellent – one phone call and everything was arranged.",
    "They listened to Dad and to us, and nothing was too much trouble.",
    "Rhian on the phone was wonderful at 3am.",
)
POOR_WORDS = (
    "We waited a long time overnight and nobody rang to say when someone would come.",
    "The line was engaged twice before we got through.",
    "Please could the night team ring before they visit?",
)
SURVEY_WORDS = (
    "The last weeks at home were what he wanted; the nurses made it possible.",
    "We did not know who to call at weekends until the very end.",
    "Thank you for sitting with us on the last night.",
)


def _pick(rng: random.Random, weights: Mapping[Any, int]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _mobile(rng: random.Random) -> str:
    return f"+447700900{rng.randrange(100, 1000):03d}"


def _rng(kind: str, pk: int) -> random.Random:
    return random.Random(f"{kind}-{pk}")  # noqa: S311 (demo data, not secrets)


def _carers_with_mobiles() -> dict[int, RelatedPerson]:
    """Each patient's main carer, given a mobile number where they had none."""
    carers: dict[int, RelatedPerson] = {}
    for person in RelatedPerson.objects.filter(is_main_carer=True).order_by("pk"):
        mobile = _mobile(_rng("carer", person.pk))
        if not person.phone_alt:
            RelatedPerson.objects.filter(pk=person.pk).update(phone_alt=mobile)
            person.phone_alt = mobile  # type: ignore[assignment]
        carers[person.patient_id] = person
    return carers


def _sent_and_answered(
    rng: random.Random, invitation: Invitation, *, now: datetime, answers: dict[str, Any]
) -> bool:
    """Send the invitation when due (by now) and, seven times in ten, answer it within three
    days (by now). Returns whether it was answered."""
    sent_at = invitation.due_at + timedelta(minutes=1)
    if sent_at > now:
        return False
    invitation.sent_at = invitation.status_at = sent_at
    invitation.status = "delivered"
    invitation.send_tries = 1
    invitation.notify_id = uuid.UUID(int=rng.getrandbits(128))
    invitation.token_hash = hashlib.sha256(str(invitation.notify_id).encode()).hexdigest()
    invitation.expires_at = sent_at + timedelta(days=settings.FEEDBACK_LINK_DAYS)
    answered_at = sent_at + timedelta(minutes=rng.randrange(20, 72 * 60))
    answered = rng.random() < 0.7 and answered_at <= now
    if answered:
        invitation.answered_at = answered_at
    invitation.save()
    if answered:
        Answer.objects.create(
            invitation=invitation,
            kind=invitation.kind,
            team_id=invitation.team_id,
            received_at=answered_at,
            **answers,
        )
    return answered


def _fft_answers(rng: random.Random) -> dict[str, Any]:
    rating = _pick(rng, FFT_WEIGHTS)
    words = POOR_WORDS if rating in (FftAnswer.POOR, FftAnswer.VERY_POOR) else GOOD_WORDS
    return {"rating": rating, "why": rng.choice(words) if rng.random() < 0.4 else ""}


def _survey_answers(rng: random.Random) -> dict[str, Any]:
    return {
        "rating": _pick(rng, FFT_WEIGHTS),
        "died_where_wanted": _pick(rng, PLACE_WEIGHTS),
        "family_support": _pick(rng, SUPPORT_WEIGHTS),
        "why": rng.choice(SURVEY_WORDS) if rng.random() < 0.5 else "",
    }


def _invitation(
    kind: str,
    *,
    referral: Referral,
    carer: RelatedPerson,
    by_id: int,
    at: datetime,
    due: datetime,
) -> Invitation:
    """The carer's consent to a text about ``referral``'s patient, recorded by ``by_id`` at
    ``at``, due at ``due``."""
    return Invitation.objects.create(
        kind=kind,
        patient_id=referral.patient_id,
        referral=referral,
        team_id=referral.team_id,
        related_person=carer,
        phone=str(carer.phone_alt),
        consent_recorded_by_id=by_id,
        consent_recorded_at=at,
        due_at=due,
    )


def seed_feedback(*, users: Mapping[str, User], now: datetime) -> dict[str, int]:
    """Consents, texts and answers for the demo (module docstring). Returns what was made."""
    carers = _carers_with_mobiles()
    made = {"invitations": 0, "answers": 0}
    nurse = users["nurse"]
    done_by = dict(
        ReferralEvent.objects.filter(kind=ReferralEvent.Kind.COMPLETED, actor__isnull=False)
        .order_by("at")
        .values_list("referral_id", "actor_id")
    )
    completed = (
        Referral.objects.filter(
            status=ReferralStatus.COMPLETED, team__isnull=False, closed_at__isnull=False
        )
        .exclude(pk__in=Invitation.objects.filter(referral__isnull=False).values("referral_id"))
        .select_related("patient")
        .order_by("pk")
    )
    for referral in completed:
        rng = _rng("fft", referral.pk)
        carer = carers.get(referral.patient_id)
        if carer is None or referral.patient.died_at is not None or rng.random() < 0.5:
            continue
        assert referral.closed_at is not None
        invitation = _invitation(
            Invitation.Kind.FFT,
            referral=referral,
            carer=carer,
            by_id=done_by.get(referral.pk, nurse.pk),
            at=referral.closed_at,
            due=within_sending_hours(referral.closed_at),
        )
        made["invitations"] += 1
        made["answers"] += _sent_and_answered(rng, invitation, now=now, answers=_fft_answers(rng))
    surveyed = set(
        Invitation.objects.filter(kind=Invitation.Kind.BEREAVED).values_list(
            "patient_id", flat=True
        )
    )
    for death in DeathRecord.objects.recorded().exclude(patient_id__in=surveyed).order_by("pk"):
        rng = _rng("survey", death.pk)
        carer = carers.get(death.patient_id)
        latest = (
            Referral.objects.filter(patient_id=death.patient_id, team__isnull=False)
            .order_by("-created_at")
            .first()
        )
        if carer is None or latest is None:
            continue
        invitation = _invitation(
            Invitation.Kind.BEREAVED,
            referral=latest,
            carer=carer,
            by_id=death.recorded_by_id,
            at=death.recorded_at,
            due=survey_due(died_at=death.died_at, after_days=settings.BEREAVED_SURVEY_AFTER_DAYS),
        )
        made["invitations"] += 1
        made["answers"] += _sent_and_answered(
            rng, invitation, now=now, answers=_survey_answers(rng)
        )
    return made
