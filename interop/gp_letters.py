"""The GP hears back (docs/interop.md): a beat job turns each completion of a referral and each
death, for a patient with a registered GP practice, into one letter (interop/letters.py) and its
outbox message; the outbox's delivery job sends it (interop/outbox.py, ``letter_send``).

Like the responses to senders, it reads what the referrals and the death service wrote
(docs/architecture.md, "Apps and layering"): nothing is enqueued at the moment of the change, so
a completion made while the broker or beat is down gets its letter once they are back."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from django.utils import timezone

from interop.letters import letter_document, letter_pdf
from interop.outbox import hub_fhir_base
from referrals.letters import LetterData
from referrals.models import GpLetter
from referrals.selectors.letters import (
    letter_facts_completion,
    letter_facts_death,
    letters_due,
)
from referrals.services.letters import gp_letter_add

logger = logging.getLogger(__name__)


def _add(data: LetterData, **keys: int | str | None) -> bool:
    pdf = letter_pdf(data)
    return (
        gp_letter_add(
            patient_id=data.patient_id,
            letter_id=data.letter_id,
            pdf=pdf,
            document=letter_document(data, pdf, base=hub_fhir_base()),
            now=data.written_at,
            **keys,  # type: ignore[arg-type]
        )
        is not None
    )


def gp_letters_feed(*, now: datetime | None = None) -> int:
    """Make the letters owed (``letters_due``), each with its outbox message. Safe to run twice,
    or twice at once: a completion or a death has one letter (unique constraints). Returns how
    many it made."""
    now = now or timezone.now()
    events, deaths = letters_due(now=now)
    made = 0
    for event in events:
        data = letter_facts_completion(event=event, letter_id=str(uuid.uuid4()), now=now)
        made += _add(
            data,
            kind=GpLetter.Kind.COMPLETION,
            practice_id=event.referral.patient.registered_practice_id,
            event_id=event.pk,
            referral_id=event.referral_id,
        )
    for record in deaths:
        data = letter_facts_death(record=record, letter_id=str(uuid.uuid4()), now=now)
        made += _add(
            data,
            kind=GpLetter.Kind.DEATH,
            practice_id=record.patient.registered_practice_id,
            death_id=record.pk,
        )
    if made:
        logger.info("GP letters: %d letter(s) to send to practices.", made)
    return made
