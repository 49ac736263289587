"""Keeping the letters to GP practices (docs/interop.md, "The GP hears back"): a letter and its
outbox message are added together, once per completion or death; interop/gp_letters.py makes
them and interop/outbox.py delivers them with the responses to senders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from referrals.models import GpLetter, OutboxMessage


def gp_letter_add(
    *,
    kind: str,
    patient_id: int,
    practice_id: int,
    letter_id: str,
    pdf: bytes,
    document: dict[str, Any],
    now: datetime,
    event_id: int | None = None,
    referral_id: int | None = None,
    death_id: int | None = None,
) -> GpLetter | None:
    """Add the letter for a completion (``event_id``, ``referral_id``) or a death
    (``death_id``) and its outbox message, due now, whose body is ``document``. Returns None,
    adding nothing, when that completion or death already has its letter (the unique
    one-to-ones decide, however many feeds run at once)."""
    try:
        with transaction.atomic():
            letter = GpLetter.objects.create(
                kind=kind,
                patient_id=patient_id,
                practice_id=practice_id,
                referral_id=referral_id,
                event_id=event_id,
                death_id=death_id,
                letter_id=letter_id,
                created_at=now,
                pdf=pdf,
            )
            OutboxMessage.objects.create(
                letter=letter,
                kind=OutboxMessage.Kind.GP_LETTER,
                body=document,
                created_at=now,
                next_attempt_at=now,
            )
    except IntegrityError:
        return None
    return letter
